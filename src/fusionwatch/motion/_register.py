"""Flexion-extension motion by intensity-based rigid registration of each vertebral body.

The landmarks only give a starting pose and the region of each body. Each body (L4, L5, S1) is then registered from the
flexion film to the extension film with OpenCV's enhanced correlation coefficient (ECC, Evangelidis & Psarakis 2008,
``cv2.findTransformECCWithMask`` with ``MOTION_EUCLIDEAN``): a rigid 2-D transform maximising the zero-mean normalised
cross-correlation of the body region, optimised to sub-pixel precision. The motion of a segment is the relative
rotation and translation of its upper body against its lower body.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from fusionwatch.anatomy import Level
from fusionwatch.errors import FusionwatchError, LandmarkError, ViewError
from fusionwatch.landmarks import Landmarks, lateral_facing
from fusionwatch.motion._geometry import (
    S1_BODY_DEPTH_RATIO,
    Segment,
    apply,
    body_outline,
    parse_level,
    rigid_from_points,
    rotation_deg,
    segment_angle_deg,
    segment_points,
    slip_along,
)
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.units import Spacing, Unit

__all__ = [
    "METHOD",
    "LANDMARK_METHOD",
    "RegistrationError",
    "BodyRegistration",
    "LandmarkMotion",
    "MotionResult",
    "register_body",
    "register_motion",
    "landmark_motion",
]

METHOD = "body-registration/1"
LANDMARK_METHOD = "landmark-difference/1"

ROI_MARGINS: tuple[float, ...] = (0.12, 0.04, 0.20, 0.08, 0.16, 0.12, 0.12)
"""Growth of the body outline about its centre, per registration run (run 0 is the nominal one). Varying it changes
which pixels drive the fit, so the spread across runs reflects texture, noise and non-rigid neighbours, not only the
optimiser."""

AXIAL_MARGIN_RATIO = 0.3
"""Growth along the spine axis relative to growth along the endplates: discs are thin, neighbours close."""
INIT_ROTATION_SD_DEG = 1.5
"""SD of the random rotation added to the landmark initialisation in runs 1..N-1."""
INIT_SHIFT_SD_FRACTION = 0.03
"""SD of the random shift added to the initialisation, as a fraction of the body size."""
WORK_SIZE_PX = 180.0
"""Bodies larger than this (longest side, px) are registered on a downsampled copy (area interpolation)."""
ANGLE_MODEL_SD_DEG = 0.3
"""Error of the rigid 2-D model itself (overlapping structures at other depths and magnifications, out-of-plane
motion), added in quadrature to the run spread: on the simulator's (version 9) demo flexion/extension films with exact
landmarks the angle error was 0.25 deg RMS (max 0.7) while the run spread was ~0.05 deg (benchmarks/bench_motion.py,
docs/BENCHMARKS.md)."""
TRANSLATION_MODEL_SD_MM = 0.1
"""The same for translation: error SD 0.05-0.12 mm on simulated, drawn-with-implants and warped real films."""
TRANSLATION_MODEL_SD_PERCENT = 0.25
"""The translation model term on uncalibrated films, in % of the endplate depth (0.1 mm of a ~40 mm endplate)."""
UPSAMPLE = True
"""Bodies smaller than :data:`WORK_SIZE_PX` are registered on a cubic-upsampled copy (at most :data:`MAX_UPSAMPLE`
x). ECC warps with bilinear interpolation, whose bias towards whole pixels matters when a body is only ~60 px wide
(400 x 500 px films): on the simulator's films this alone cut the L4-L5 angle error SD from 1.0 to 0.65 deg."""
MAX_UPSAMPLE = 4.0
HIGHPASS_FRACTION = 0.03
"""After the unfiltered ECC passes, one more pass runs on high-passed pixels: each crop minus its Gaussian-smoothed
background, SD = this fraction x the body size (about 1.3 mm on a 45 mm body). X-ray consoles equalise large-scale
density (the simulator subtracts 85-95 % of a 22 mm background) and the background of a body differs between flexion
and extension (the neighbours, pelvis and soft tissue move differently); ECC is invariant only to a gain and an offset
in the region, not to the slope such a background leaves across it, which tilts the match. On the simulator's 400 x 500
px films the L4-L5 angle error SD went from 0.65 (upsampled) to 0.12 deg (robust SD), at 1000 x 1250 px from 0.29 to
0.11 deg (docs/motion.md). The correlation reported (and used for the weak-match checks) is that of the unfiltered
pass, whose thresholds were set on unfiltered pixels."""
BLURS = (9, 3)
"""Gaussian pre-filter sizes (working pixels) of ECC's coarse and fine passes."""
PELVIC_BLURS = (31, 15, 9)
"""Gaussian pre-filter sizes (kernel, working pixels) of the high-passed passes of the S1 pelvic region. The first
(31, added 2026-11-24) widens the capture range: high-passed texture decorrelates within a few pixels, and with
re-clicked landmarks (start ~1 deg off) plus the run perturbations most runs on some simulated pairs stopped with
ECC's "did not converge", which the run-agreement test read as "no pelvic structure" (5 of 24 pairs at 1000 x 1250
px, 5 of 24 at 400 x 500 px fell back to the S1 body; with the extra pass 2 and 1). The final pass sets the answer
(exact landmarks: identical S1 errors with and without the extra pass). The
lighter final smoothing of the lumbar bodies (3) lets the pelvic match lock onto one of the two iliac contours (the
hip bones lie at other magnifications, so their edges are doubled and move slightly differently from the sacrum):
on three simulated 1000 x 1250 px pairs the answer then sat 0.5-1.3 deg to one side of the truth or the other,
depending on the start. Ending at 9 (sigma ~1.7 working px) merges the doubled contour: S1 rotation error SD (one
run, exact landmarks) 0.33 -> 0.17 deg at 1000 x 1250 px, 0.20 -> 0.20 at 400 x 500 px."""
EXCLUDE_METAL = True
"""Leave bright outliers (metal, saturation) out of the correlation; see :func:`_bright_outlier_limit`."""
METAL_OUTLIER_SD = 4.0
"""A pixel more than this many robust SDs above the region's median is treated as metal."""
S1_PELVIC_DEPTH = 2.0
"""Depth (x the S1 endplate length, caudally from the endplate) of the S1 region: the **pelvic region**, most of the
sacrum with the overlapping iliac wings, not the S1 body alone. The sacrum and both hip bones are one rigid body: a
bending film turns the whole pelvis about the hip axis, so on the projection every part of it turns by the same angle
(the hip bones, at other depths and magnifications, only translate slightly differently). A small region near the S1
endplate sees a few strong edges of which some (an iliac edge, the blurred rim of an S1 screw) do not move exactly with
it, and is pulled by them; a large region averages many features that all turn alike. On the simulator's films (exact
landmarks, one run) the S1 rotation error SD fell from 1.96 deg (0.35-deep region) to 0.20 deg at 400 x 500 px and
from 0.33 to 0.25 deg (one washed-out pair left out) at 1000 x 1250 px (docs/motion.md)."""
S1_PELVIC_MARGIN = 0.6
"""Growth of the pelvic region along the endplate (about its centre; :data:`AXIAL_MARGIN_RATIO` x that along the
spine), replacing the 0.12 of the lumbar bodies: it takes in the front of the sacrum and the sacral canal."""
S1_PELVIC_DEPTHS = (S1_PELVIC_DEPTH, 1.6, 1.2)
"""Pelvic region depths tried when the deepest does not fit on both films (a film cut off below the sacrum): the
deepest that fits is used; when none fits, the S1 body region (:data:`S1_DEPTH_RATIOS`) is used as before."""
S1_PELVIC_CHECK_FRACTIONS = (0.8, 0.9, 1.0)
"""Depths of the pelvic region's variants, as fractions of the depth used (2.0 -> 1.6, 1.8, 2.0)."""
S1_DEPTH_RATIOS = (S1_BODY_DEPTH_RATIO, 0.75)
"""S1 body region depths, used when the pelvic region does not fit on the films, tried in turn: the shallow one
(least iliac overlap) first, a deeper one when it matches weakly."""
S1_MIN_ECC = 0.6
"""Nominal-run correlation below which the next S1 region depth is tried (the best one is kept)."""
S1_CHECK_DEPTHS = (0.25, 0.35, 0.5, 0.75)
"""S1 body region depths (x the endplate length) registered once each, both ways, to measure how much the S1 answer
depends on the drawn region (the pelvic region uses :data:`S1_PELVIC_CHECK_FRACTIONS`). The scatter (RMS deviation
of the segment's angle and translation from the nominal) is added to the uncertainty, and the answers are pooled
(:data:`S1_POOL_VARIANTS`)."""
S1_PELVIC_ANGLE_SD_DEG = 0.3
S1_PELVIC_TRANSLATION_SD_MM = 0.15
S1_PELVIC_TRANSLATION_SD_PERCENT = 0.4
"""Error of one pelvic S1 match, added in quadrature to the uncertainty of a segment with S1 (on top of the model
terms). Measured on the simulator's films with exact landmarks, one pelvic match (the nominal run, no pooling): S1
rotation error RMS 0.20 deg on 24 pairs at 400 x 500 px, 0.19 deg on 24 pairs and 0.44 deg on the 12 demo pairs at
1000 x 1250 px (two pre-op pairs with a washed-out flexion film 0.7 and 1.3 deg off), 0.30 deg over those 36; the S1
endplate centre moves by 0.15-0.21 mm RMS. The run spread does not see this error (every run sits in the same
optimum), nor does the region term (the variants share most pixels)."""
S1_PELVIC_LOOKS: dict[str, tuple[float, float, float]] = {
    "top-trimmed": (0.3, 0.3, 0.04),
    "front-trimmed": (0.05, 0.3, 0.04),
    "front-trimmed-wide": (0.05, 0.5, 0.04),
}
"""Other *looks* at the pelvic S1 region, pooled with the nominal one (:data:`S1_POOL_LOOKS`): (front, back, top) =
how far the region reaches in front of the anterior S1 corner and behind the posterior one (x the endplate length),
and above the endplate; all reach as deep as the nominal region. The nominal region reaches 0.3 in front and behind
and 0.18 above the endplate. Just above and in front of the S1 endplate lie L5's anterior-inferior lip, the L5-S1
disc, the pre-sacral soft tissue and the front of the iliac contours, which do not move with S1; where the sacrum's
own texture is weak (a washed-out film, the tone curve compressing the bone's contrast), they pull the match. On the
simulator's films, registering halves of the pelvic region separately, the anterior half was 1-2 deg off on such
pairs and the posterior half 0.2-0.7 deg. Each look excludes a different part of that content, so their errors are
partly independent (docs/motion.md, "S1 looks")."""
S1_POOL_LOOKS = True
S1_POOL_LOOKS_TRANSLATION = False
"""Pool the translation by the looks too. Off: the looks cut the L5-S1 translation error SD less well than the
median of the region variants (simulator, exact landmarks, 1000 x 1250 px: 0.12 mm with looks, 0.09 mm without), so
the translation keeps the region-variant pooling (:data:`S1_POOL_VARIANTS`); the looks still count in its region
term."""
S1_LOOK_TOLERANCE_DEG = 3.0
"""A look further than this from the nominal S1 rotation is taken to sit in another optimum: it is left out of the
mean (it still counts in the region term). On the washed-out demo pair the front-trimmed looks sat 2.0 deg from the
nominal on the other side of the truth (nominal -1.1 to -1.3 deg off, front-trimmed +0.7 to +0.9): both are honest
looks at an ambiguous match, and leaving one out (a tolerance of 2 deg) kept the nominal's error."""
"""Report the S1 rotation as the mean of the nominal pelvic match and its :data:`S1_PELVIC_LOOKS` (those within
:data:`S1_LOOK_TOLERANCE_DEG` of the nominal), instead of the median of the nominal and its region variants. One
forward match each, exact landmarks, S1 rotation error RMS (nominal -> mean of the four looks): 12 demo pairs
0.44 -> 0.19 deg, 24 simulated pairs at 400 x 500 px 0.21 -> 0.13 deg, 24 at 1000 x 1250 px 0.19 -> 0.12 deg."""
S1_LOCAL_DEPTH = S1_BODY_DEPTH_RATIO
S1_LOCAL_AGREEMENT = 0.055
"""Consistency check of the pelvic match: the S1 body alone (region :data:`S1_LOCAL_DEPTH` deep, the lumbar margin)
is registered too, and when its transform moves the S1 endplate centre by more than this fraction of the endplate
length (~2.5 mm) away from where the pelvic match puts it, the pelvic match is not used: S1 is registered on the S1
body alone (:data:`S1_LOCAL_FALLBACK`). The S1 body's own rotation is not trusted (0.3-2 deg errors from iliac and
screw edges) but its position is (0.1-0.3 mm): on a washed-out, noisy simulated pair the pelvic region once matched
its smooth background 5 mm off with a correlation of 0.9. Measured gap (nominal pelvic match, 2026-11-24): simulated
pairs at most 0.044 (400 x 500 px, exact or re-clicked landmarks, 47 pairs) and 0.013 (1000 x 1250 px, 47), demo
pairs at most 0.008; the test suite's drawn films without a pelvis 0.065-0.10 on 4 of 5 pairs (their pelvic match
slides 1.5-3 mm). Was 0.08, which left the drawn pair of seeds 6/7 at 1.86 +/- 0.71 mm (truth 0)."""
S1_LOCAL_FALLBACK = True
"""When the S1 body check disagrees (> :data:`S1_LOCAL_AGREEMENT`), register S1 on the S1 body alone (with a warning)
instead of keeping the pelvic match as an ambiguous one (weak-match floors)."""
S1_POOL_VARIANTS = True
"""Report the median of the nominal S1 answer and its region variants (the other depths and the other registration
direction) instead of the nominal alone, when the match is neither weak nor ambiguous (the translation always; the
angle only where there are no looks, i.e. with the S1 body region: see :data:`S1_POOL_LOOKS`). The S1 region is
small and overlapped by the iliac wings (at other magnifications), so each look has its own error: on the version-10
simulator's films the L5-S1 angle error SD fell from 0.42 to 0.38 deg (400 x 500 px, 48 levels) and from 0.22 to
0.19 deg (1000 x 1250 px, 24 levels). The region term of the uncertainty is the RMS deviation of the variants from the
nominal (with the pelvic region: of the variants and the looks from the pooled answer)."""
LOCAL_RETRY = True
"""When the best match of L4 or L5 lands more than :data:`LANDMARK_DEPARTURE_DEG` from its landmark start, the runs
are repeated from the landmark start on the high-passed crops only, without the coarse (strongly smoothed) pass, so
that they stay in the start's basin; if that optimum lies within the departure limit, it is kept (with a warning). On
the version-11 simulator's 400 x 500 px films bowel gas
over the anterior half of L4, static in the image, pulled 10 of 48 L4 matches 8-29 deg towards "no motion", with a
better correlation than the true pose; the retry recovered all 10 (L4-L5 error SD 0.32 deg, max 1.15, over the 48).
Landmarks place a body's rotation within ~1.3 deg SD, so an optimum 8+ deg away
is far less likely than a nearby one with a lower correlation."""
S1_CLEAR_SCATTER_DEG = 1.0
S1_CLEAR_RATIO = 5.0
"""When the two S1 registration directions disagree and one answer is steady across region depths (RMS scatter <=
:data:`S1_CLEAR_SCATTER_DEG`) while the other scatters at least :data:`S1_CLEAR_RATIO` times more, the unsteady
direction is a misplaced or wrongly matched region (docs/motion.md, "S1 both ways") and its answer is discarded
instead of being counted in the region term (which made a correct 6.6 +/- 0.5 deg result on a simulated 400 x 500 px
pseudarthrosis pair an "ambiguous" 6.6 +/- 5 deg). Otherwise both stay in the region term."""
WEAK_MATCH_ANGLE_SD_DEG = 5.0
WEAK_MATCH_TRANSLATION_SD_MM = 2.5
WEAK_MATCH_TRANSLATION_SD_PERCENT = 6.0
"""Floors of the reported SD when a body of the segment matches weakly (nominal correlation < :data:`MIN_ECC`, for S1
< :data:`S1_MIN_ECC`, the level that also triggers the S1 weak-match warning) or
ambiguously (S1 angle scatter between region depths > :data:`AMBIGUOUS_REGION_ANGLE_DEG`): the registration then says
little, and a confident number would let a classifier raise a false finding."""
AMBIGUOUS_REGION_ANGLE_DEG = 1.5
"""S1 region-depth angle scatter (RMS, deg) above which the S1 match is treated as ambiguous (weak-match floors)."""
OPTIMUM_TOLERANCE_DEG = 2.0
OPTIMUM_TOLERANCE_FRACTION = 0.05
"""Runs further than this (rotation, shift as a fraction of the body size) from the best-correlated run converged to
another optimum and are dropped."""
MIN_BODY_ASPECT = 0.4
"""A body outline lower than this fraction of its width is reported as doubtful (lumbar bodies are ~0.6-0.8)."""
MIN_ECC = 0.5
"""Correlation below which a body's registration is reported as doubtful."""
LANDMARK_DEPARTURE_DEG = 5.0
"""A body whose registered rotation differs from its landmark start by more than this is reported as doubtful
(weak-match floors, an angle SD of at least the departure and a translation SD of at least the departure (rad) x
the lower endplate depth): re-clicked landmarks give a body's rotation
within ~1.3 deg SD, so a larger departure means the registration found another optimum (a washed-out body on one film
gave a confident 20 deg error on the simulator's
400 x 500 px films) or the landmarks are wrong; either way the number is not to be trusted."""


class RegistrationError(FusionwatchError):
    """A vertebral body could not be registered between the two films."""


@dataclass(frozen=True, slots=True)
class _Scheme:
    """How a body's region is drawn and registered: region depths (S1), margin offset, passes."""

    name: str
    depths: tuple[float, ...]
    check_depths: tuple[float, ...] = ()
    margin_offset: float = 0.0
    highpass_only: bool = False

    @property
    def margin(self) -> float:
        return ROI_MARGINS[0] + self.margin_offset


@dataclass(frozen=True, slots=True)
class BodyRegistration:
    """Rigid transforms of one body from the flexion to the extension film, one per run.

    Attributes
    ----------
    level : Level
    transforms : tuple of (3, 3) ndarray
        Homogeneous matrices mapping flexion pixels ``(x, y, 1)`` to extension pixels; index 0 is the best-correlated
        run, the others are the runs that converged to the same optimum.
    ecc : tuple[float, ...]
        Final correlation coefficient of each run (1 = perfect match).
    """

    level: Level
    transforms: tuple[np.ndarray, ...]
    ecc: tuple[float, ...]
    region_variants: tuple[np.ndarray, ...] = ()
    """Nominal transforms of the same body registered with other region depths (S1 only; see S1_CHECK_DEPTHS)."""
    landmark_rotation_deg: float = float("nan")
    """Rotation of the landmark start (flexion -> extension corners, least squares), degrees, image axes."""
    local_disagreement: float | None = None
    """S1 only: distance between the pelvic match's and the S1 body's own placement of the S1 endplate centre, as a
    fraction of the endplate length (see S1_LOCAL_AGREEMENT)."""
    looks: tuple[np.ndarray, ...] = ()
    """S1 pelvic region only: transforms of the other looks at the region (:data:`S1_PELVIC_LOOKS`), pooled with the
    nominal transform (:data:`S1_POOL_LOOKS`)."""
    region: str = ""
    """How the region was drawn: ``"body"`` (L1-L5 corners), ``"pelvic <depth>"`` or ``"s1-body <depth>"`` (S1)."""

    @property
    def nominal(self) -> np.ndarray:
        return self.transforms[0]


@dataclass(frozen=True, slots=True)
class LandmarkMotion:
    """The same motion measured the classic way: the difference of two landmark-based measurements.

    ``angle_deg`` = segmental angle on extension minus on flexion (lordosis positive); ``translation_*`` = slip on
    extension minus on flexion (anterior positive).
    """

    angle_deg: float
    translation_mm: float | None
    translation_percent: float
    method: str = LANDMARK_METHOD


@dataclass(frozen=True, slots=True)
class MotionResult:
    """Motion of one segment between a flexion and an extension film.

    Attributes
    ----------
    level : str
        ``"L5-S1"`` or ``"L4-L5"``.
    angle_deg : float
        Change of the segmental angle, extension minus flexion, degrees; lordosis positive, so a segment that extends
        normally gives a positive value. Its magnitude is the angular motion compared with thresholds.
    angle_sd_deg : float
        One standard deviation of ``angle_deg`` (spread over the registration runs; see docs/motion.md).
    translation_mm : float | None
        Change of the slip distance (upper body's posterior-inferior corner relative to the lower body's
        posterior-superior corner, along the lower endplate, anterior positive), extension minus flexion, mm at the
        spacing's plane; ``None`` when the films have no pixel spacing.
    translation_percent : float
        The same change as a percentage of the lower endplate's AP depth (needs no calibration).
    translation_sd : float
        One SD of the translation, in ``translation_sd_unit`` (mm when calibrated, % otherwise).
    translation_sd_unit : Unit
    method : str
    evidence : dict
        JSON-ready details: per-body rotation, shift and ECC, the runs, spacing source, facing.
    landmark_difference : LandmarkMotion
        The landmark-difference result on the same films, for comparison.
    warnings : tuple[str, ...]
    """

    level: str
    angle_deg: float
    angle_sd_deg: float
    translation_mm: float | None
    translation_percent: float
    translation_sd: float
    translation_sd_unit: Unit
    method: str
    evidence: dict[str, Any] = field(default_factory=dict)
    landmark_difference: LandmarkMotion | None = None
    warnings: tuple[str, ...] = ()

    @property
    def translation_percent_sd(self) -> float:
        """SD of ``translation_percent``."""
        return float(self.evidence.get("translation_percent_sd", float("nan")))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        lm = self.landmark_difference
        return {
            "level": self.level,
            "angle_deg": self.angle_deg,
            "angle_sd_deg": self.angle_sd_deg,
            "translation_mm": self.translation_mm,
            "translation_percent": self.translation_percent,
            "translation_sd": self.translation_sd,
            "translation_sd_unit": self.translation_sd_unit.value,
            "method": self.method,
            "evidence": self.evidence,
            "landmark_difference": None
            if lm is None
            else {
                "angle_deg": lm.angle_deg,
                "translation_mm": lm.translation_mm,
                "translation_percent": lm.translation_percent,
                "method": lm.method,
            },
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------------------------------------- helpers
def _crop_scale_matrix(origin: tuple[int, int], s: float) -> np.ndarray:
    """Full-resolution pixel -> pixel of a crop starting at ``origin`` (x0, y0) resized by ``s`` (centre-aligned)."""
    x0, y0 = origin
    return np.array([[s, 0.0, (0.5 - x0) * s - 0.5], [0.0, s, (0.5 - y0) * s - 0.5], [0.0, 0.0, 1.0]])


def _bbox(pts: np.ndarray, pad: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = shape
    x0 = int(max(0, math.floor(pts[:, 0].min() - pad)))
    y0 = int(max(0, math.floor(pts[:, 1].min() - pad)))
    x1 = int(min(w, math.ceil(pts[:, 0].max() + pad) + 1))
    y1 = int(min(h, math.ceil(pts[:, 1].max() + pad) + 1))
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise RegistrationError("A vertebral body lies (almost) outside the image; check the landmarks.")
    return x0, y0, x1, y1


def _crop(img: np.ndarray, box: tuple[int, int, int, int], s: float) -> np.ndarray:
    """Crop ``box`` of ``img``, resized by ``s`` (area-averaged down, cubic up)."""
    x0, y0, x1, y1 = box
    c = np.ascontiguousarray(img[y0:y1, x0:x1], dtype=np.float32)
    if s == 1.0:
        return c
    size = (max(8, round(c.shape[1] * s)), max(8, round(c.shape[0] * s)))
    return np.asarray(cv2.resize(c, size, interpolation=cv2.INTER_AREA if s < 1.0 else cv2.INTER_CUBIC), np.float32)


def _highpass(c: np.ndarray, sigma_px: float, valid: np.ndarray) -> np.ndarray:
    """``c`` minus its smooth background (Gaussian of SD ``sigma_px``, normalised over the ``valid`` pixels so that
    metal does not lift it)."""
    w = valid.astype(np.float32)
    num = cv2.GaussianBlur(c * w, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(w, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT)
    return np.asarray(c - num / np.maximum(den, 1e-3), np.float32)


def _bright_outlier_limit(values: np.ndarray) -> float:
    """Intensity above which a pixel of a body region is metal or saturation: median + 4 robust SDs of the region
    (1.4826 x the median absolute deviation), at least 25 % of the way from the median to the maximum."""
    med = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - med)))
    return max(med + METAL_OUTLIER_SD * mad, med + 0.25 * (float(values.max()) - med))


def _grow_mask(m: np.ndarray) -> np.ndarray:
    """Grow a boolean mask by 2 px (the blurred edge of metal is metal too)."""
    if not m.any():
        return m
    return cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def _grow(outline: np.ndarray, margin: float) -> np.ndarray:
    """Grow the outline about its centre: by ``margin`` along the endplates (AP), by :data:`AXIAL_MARGIN_RATIO` x
    ``margin`` along the spine, so that the region reaches the cortical edges without reaching into the neighbours."""
    c = outline.mean(0)
    along = outline[1] - outline[0]  # superior endplate direction
    ex = along / max(float(np.hypot(*along)), 1e-9)
    ey = np.array([-ex[1], ex[0]])
    rel = outline - c
    a, b = rel @ ex, rel @ ey
    return c + np.outer(a * (1.0 + margin), ex) + np.outer(b * (1.0 + AXIAL_MARGIN_RATIO * margin), ey)


def register_body(
    flexion: np.ndarray,
    extension: np.ndarray,
    outline: np.ndarray,
    init: np.ndarray,
    *,
    margin: float = 0.12,
    coarse: bool = True,
    highpass_only: bool = False,
    region: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Register one body region from the flexion pixels to the extension pixels.

    Parameters
    ----------
    flexion, extension : (H, W) ndarray
        Pixel arrays (any gain and offset: ECC is invariant to both).
    outline : (N, 2) ndarray
        Body outline on the flexion film, pixel ``(x, y)``.
    init : (3, 3) ndarray
        Starting rigid transform flexion -> extension pixels (from the landmarks).
    margin : float
        The outline is grown about its centre by this fraction to include the cortical edges.
    coarse : bool
        Start with the unfiltered passes, the first strongly smoothed (wide capture range); ``False`` runs only the
        high-passed pass from ``init`` (stays in the start's basin; the correlation returned is then that pass's).
    highpass_only : bool
        Run both passes (:data:`PELVIC_BLURS`) on the high-passed crops, none on the crops as they are; the
        correlation returned is that of the crops as they are at the final pose (comparable with the default mode's).
        Used for the large S1 (pelvic) region, whose unfiltered match can lock onto the film's smooth background.
    region : (M, 2) ndarray, optional
        The region to match (flexion pixels), used as it is instead of ``outline`` grown by ``margin``.

    Returns
    -------
    transform : (3, 3) ndarray
        Rigid transform flexion -> extension, full-resolution pixels.
    ecc : float
        Final correlation coefficient.

    Raises
    ------
    RegistrationError
        If ECC does not converge.
    """
    roi = _grow(np.asarray(outline, float), margin) if region is None else np.asarray(region, float)
    size = float(np.ptp(roi, axis=0).max())
    s = min(MAX_UPSAMPLE, WORK_SIZE_PX / max(size, 1.0)) if UPSAMPLE else min(1.0, WORK_SIZE_PX / max(size, 1.0))
    hp = HIGHPASS_FRACTION * size * s
    tbox = _bbox(roi, 0.08 * size + 4 + 2 * hp / s, flexion.shape)
    ibox = _bbox(apply(init, roi), 0.35 * size + 10, extension.shape)
    template, image = _crop(flexion, tbox, s), _crop(extension, ibox, s)
    st, si = _crop_scale_matrix(tbox[:2], s), _crop_scale_matrix(ibox[:2], s)
    mask = np.zeros(template.shape, np.uint8)
    poly = apply(st, roi)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, lineType=cv2.LINE_8, shift=4)
    imask = np.full(image.shape, 255, np.uint8)
    if EXCLUDE_METAL:
        # metal (screws, rods, a cage) is far brighter than bone and, except the screws, does not move with the body:
        # leave it out of the correlation on both films
        limit = _bright_outlier_limit(template[mask > 0])
        mask[_grow_mask(template > limit)] = 0
        imask[_grow_mask(image > limit)] = 0
        if np.count_nonzero(mask) < 0.3 * np.count_nonzero(
            cv2.fillPoly(np.zeros_like(mask), [np.round(poly).astype(np.int32)], 1)
        ):
            raise RegistrationError("Most of the body region is metal or saturated; cannot register it.")
    valid_t = (template <= limit) if EXCLUDE_METAL else np.ones(template.shape, bool)
    warp = (si @ init @ np.linalg.inv(st))[:2].astype(np.float32)
    rho = float("nan")
    if highpass_only and hp > 0:
        return _register_highpass_only(template, image, mask, imask, valid_t, warp, hp, si, st)
    try:
        passes = ((BLURS[0], 100, 1e-5), (BLURS[1], 200, 1e-7)) if coarse else ()
        for blur, iters, eps in passes:
            criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iters, eps)
            rho, warp = cv2.findTransformECCWithMask(
                template, image, mask, imask, warp, cv2.MOTION_EUCLIDEAN, criteria, blur
            )
    except cv2.error as exc:
        raise RegistrationError(_ecc_failure(exc)) from None
    if hp > 0:  # see HIGHPASS_FRACTION
        # refinement on high-passed pixels: the film's smooth background (large-scale equalisation, soft tissue,
        # neighbours' halo) differs between the two films; ECC removes only its mean and gain, not its slope
        criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-7)
        try:
            rho_hp, warp = cv2.findTransformECCWithMask(
                _highpass(template, hp, valid_t),
                _highpass(image, hp, imask > 0),
                mask,
                imask,
                warp.copy(),
                cv2.MOTION_EUCLIDEAN,
                criteria,
                BLURS[1],
            )
            if not coarse:
                rho = rho_hp
        except cv2.error as exc:
            if not coarse:
                raise RegistrationError(_ecc_failure(exc)) from None
            # else keep the unfiltered answer
    w3 = np.vstack([warp.astype(float), [0.0, 0.0, 1.0]])
    m = np.linalg.inv(si) @ w3 @ st
    # re-orthonormalise (float32 warp): keep the rotation exactly rigid
    ang = math.atan2(m[1, 0], m[0, 0])
    m[:2, :2] = [[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]]
    return m, float(rho)


def _ecc_failure(exc: cv2.error) -> str:
    """Why the ECC match failed, in words (OpenCV's message names its source file, line and function: internals a
    reader cannot act on)."""
    if getattr(exc, "code", None) == cv2.Error.StsNoConv:
        if "nan" in str(getattr(exc, "err", exc)).lower():
            return ("the match broke down because the body region shows too little image structure on one of the "
                    "films (blank, washed out or covered)")
        return "the match did not converge because the body looks too different between the films"
    return "the body region could not be compared between the films"


def _to_full_resolution(warp: np.ndarray, si: np.ndarray, st: np.ndarray) -> np.ndarray:
    """Crop warp (template crop -> image crop) -> rigid flexion -> extension transform at full resolution."""
    w3 = np.vstack([warp.astype(float), [0.0, 0.0, 1.0]])
    m = np.linalg.inv(si) @ w3 @ st
    # re-orthonormalise (float32 warp): keep the rotation exactly rigid
    ang = math.atan2(m[1, 0], m[0, 0])
    m[:2, :2] = [[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]]
    return m


def _register_highpass_only(
    template: np.ndarray,
    image: np.ndarray,
    mask: np.ndarray,
    imask: np.ndarray,
    valid_t: np.ndarray,
    warp: np.ndarray,
    hp: float,
    si: np.ndarray,
    st: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Coarse-to-fine ECC (smoothing :data:`PELVIC_BLURS`) on the high-passed crops only; the correlation returned is
    that of the unfiltered crops at the final pose."""
    t_hp, i_hp = _highpass(template, hp, valid_t), _highpass(image, hp, imask > 0)
    try:
        passes = [(b, 100, 1e-5) for b in PELVIC_BLURS[:-1]] + [(PELVIC_BLURS[-1], 200, 1e-7)]
        for blur, iters, eps in passes:
            criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iters, eps)
            _, warp = cv2.findTransformECCWithMask(t_hp, i_hp, mask, imask, warp, cv2.MOTION_EUCLIDEAN, criteria, blur)
    except cv2.error as exc:
        raise RegistrationError(_ecc_failure(exc)) from None
    size = (template.shape[1], template.shape[0])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    back = cv2.warpAffine(image, warp, size, flags=flags)
    seen = cv2.warpAffine(imask, warp, size, flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP)
    both = np.where((mask > 0) & (seen > 0), 255, 0).astype(np.uint8)
    try:
        rho = float(cv2.computeECC(template, back, both)) if np.count_nonzero(both) > 16 else float("nan")
    except cv2.error:
        rho = float("nan")
    return _to_full_resolution(warp, si, st), rho


def _perturb(init: np.ndarray, centre: np.ndarray, size: float, rng: np.random.Generator) -> np.ndarray:
    a = math.radians(rng.normal(0.0, INIT_ROTATION_SD_DEG))
    t = rng.normal(0.0, INIT_SHIFT_SD_FRACTION * size, 2)
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    p = np.eye(3)
    p[:2, :2] = r
    p[:2, 2] = centre - r @ centre + t
    return init @ p


def _runs(
    flex: Radiograph,
    ext: Radiograph,
    outline: np.ndarray,
    init: np.ndarray,
    centre: np.ndarray,
    size: float,
    runs: int,
    rng: np.random.Generator,
    *,
    reverse: bool = False,
    coarse: bool = True,
    margin_offset: float = 0.0,
    highpass_only: bool = False,
) -> tuple[list[np.ndarray], list[float], list[str]]:
    """Run 0 from the landmark start, runs 1.. from perturbed starts and regions.

    With ``reverse`` the region is drawn on the extension film (``outline``, ``init`` extension -> flexion) and
    registered onto the flexion film; the transforms returned are still flexion -> extension."""
    transforms, eccs, failures = [], [], []
    src, dst = (ext, flex) if reverse else (flex, ext)
    for k in range(runs):
        start = init if k == 0 else _perturb(init, centre, size, rng)
        try:
            m, rho = register_body(
                src.pixels,
                dst.pixels,
                outline,
                start,
                margin=ROI_MARGINS[k % len(ROI_MARGINS)] + margin_offset,
                coarse=coarse,
                highpass_only=highpass_only,
            )
        except RegistrationError as exc:
            failures.append(str(exc))
            continue
        transforms.append(np.linalg.inv(m) if reverse else m)
        eccs.append(rho)
    return transforms, eccs, failures


def _s1_one_way(
    flex: Radiograph,
    ext: Radiograph,
    lm_f: Landmarks,
    lm_e: Landmarks,
    depth: float,
    *,
    reverse: bool,
    **opts: Any,
) -> np.ndarray | None:
    """One registration of the S1 region ``depth`` deep, as a flexion -> extension transform, or ``None`` if it fails.

    ``reverse``: the region is drawn on the extension film and registered onto the flexion film, and the transform
    inverted. ``opts`` go to :func:`register_body` (``margin``, ``highpass_only``).
    """
    of, oe = body_outline(lm_f, Level.S1, depth), body_outline(lm_e, Level.S1, depth)
    init = rigid_from_points(of, oe)
    try:
        if reverse:
            return np.linalg.inv(register_body(ext.pixels, flex.pixels, oe, np.linalg.inv(init), **opts)[0])
        return register_body(flex.pixels, ext.pixels, of, init, **opts)[0]
    except RegistrationError:
        return None


def _s1_both_ways(
    flex: Radiograph,
    ext: Radiograph,
    lm_f: Landmarks,
    lm_e: Landmarks,
    depth: float,
    forward: tuple[list[np.ndarray], list[float], list[str]],
    runs: int,
    rng: np.random.Generator,
    scheme: _Scheme,
) -> tuple[list[np.ndarray], list[float], list[str], bool, list[np.ndarray], list[str]]:
    """S1 registered both ways and with every region depth of :data:`S1_CHECK_DEPTHS`.

    The S1 region is drawn from two corners, so a misplaced S1 landmark on one film misplaces the region, and the
    iliac wings overlap the sacrum: the forward match (region drawn on the flexion film) can then land in a wrong
    optimum that still correlates well. The same region drawn on the extension film and registered onto the flexion
    film is a second, independent answer. When the two disagree (> :data:`OPTIMUM_TOLERANCE_DEG`), the direction whose
    answer depends less on the region depth is kept. The other direction's answer and the other depths are returned as
    region variants: their scatter goes into the uncertainty.

    Returns
    -------
    transforms, eccs, failures, reversed (the direction kept is the reverse one), region_variants, warnings
    """
    transforms, eccs, failures = forward

    opts: dict[str, Any] = {"margin": scheme.margin, "highpass_only": scheme.highpass_only}

    def nominal(reverse: bool, d: float) -> np.ndarray | None:
        return _s1_one_way(flex, ext, lm_f, lm_e, d, reverse=reverse, **opts)

    others = [d for d in scheme.check_depths if not math.isclose(d, depth)]
    fwd_var = [m for m in (nominal(False, d) for d in others) if m is not None]
    rev_nom = nominal(True, depth)
    rev_var = [m for m in (nominal(True, d) for d in others) if m is not None]
    if rev_nom is None:
        failed = ["S1: the reverse registration (extension as template) failed."]
        return transforms, eccs, failures, False, fwd_var, failed

    def scatter(ms: list[np.ndarray], ref: np.ndarray) -> float:
        return _rms_deviation([rotation_deg(m) for m in ms], rotation_deg(ref))

    gap = abs(rotation_deg(rev_nom) - rotation_deg(transforms[0]))
    if gap <= OPTIMUM_TOLERANCE_DEG:
        return transforms, eccs, failures, False, [*fwd_var, rev_nom], []
    s_f, s_r = scatter(fwd_var, transforms[0]), scatter(rev_var, rev_nom)
    warnings = [
        f"S1: the registrations with the region drawn on the flexion and on the extension film disagree by "
        f"{gap:.1f} deg (region-depth scatter {s_f:.1f} vs {s_r:.1f} deg); the steadier one was kept and the "
        "uncertainty includes the disagreement."
    ]
    clear = min(s_f, s_r) <= S1_CLEAR_SCATTER_DEG and max(s_f, s_r) >= S1_CLEAR_RATIO * max(min(s_f, s_r), 0.1)
    if clear:
        warnings.append(
            "S1: the other direction's answer moves by several degrees with the region depth and was discarded."
        )
    if s_r >= s_f:
        return transforms, eccs, failures, False, fwd_var if clear else [*fwd_var, rev_nom], warnings
    of, oe = body_outline(lm_f, Level.S1, depth), body_outline(lm_e, Level.S1, depth)
    init = np.linalg.inv(rigid_from_points(of, oe))
    size = float(np.ptp(oe, axis=0).max())
    r_t, r_e, r_f = _runs(
        flex,
        ext,
        oe,
        init,
        oe.mean(0),
        size,
        runs,
        rng,
        reverse=True,
        margin_offset=scheme.margin_offset,
        highpass_only=scheme.highpass_only,
    )
    if not r_t:
        return transforms, eccs, failures, False, [*fwd_var, rev_nom], warnings
    return r_t, r_e, r_f, True, rev_var if clear else [*rev_var, transforms[0]], warnings


def _look_region(lm: Landmarks, depth: float, look: tuple[float, float, float]) -> np.ndarray:
    """A look at the pelvic region (see :data:`S1_PELVIC_LOOKS`), pixel ``(x, y)``: ``look`` = (front, back, top) in
    endplate lengths; it reaches as deep as the nominal region drawn ``depth`` x the endplate below it."""
    o = body_outline(lm, Level.S1, 1.0)
    a, p, down = o[0], o[1], o[3] - o[0]  # anterior, posterior corner; one endplate length caudally
    front, back, top = look
    bottom = depth * (1.0 + AXIAL_MARGIN_RATIO * S1_PELVIC_MARGIN / 2.0)  # where the nominal region ends
    e = p - a
    return np.array(
        [
            a - front * e - top * down,
            p + back * e - top * down,
            p + back * e + bottom * down,
            a - front * e + bottom * down,
        ]
    )


def _pelvic_looks(
    flex: Radiograph, ext: Radiograph, lm_f: Landmarks, lm_e: Landmarks, depth: float, *, reverse: bool
) -> list[np.ndarray]:
    """One registration (flexion -> extension transform) of each :data:`S1_PELVIC_LOOKS` region, in the direction
    given; looks that fail are left out."""
    of, oe = body_outline(lm_f, Level.S1, depth), body_outline(lm_e, Level.S1, depth)
    init = rigid_from_points(of, oe)
    out = []
    for look in S1_PELVIC_LOOKS.values():
        try:
            if reverse:
                m, _ = register_body(
                    ext.pixels,
                    flex.pixels,
                    oe,
                    np.linalg.inv(init),
                    region=_look_region(lm_e, depth, look),
                    highpass_only=True,
                )
                out.append(np.linalg.inv(m))
            else:
                m, _ = register_body(
                    flex.pixels, ext.pixels, of, init, region=_look_region(lm_f, depth, look), highpass_only=True
                )
                out.append(m)
        except RegistrationError:
            continue
    return out


_LUMBAR = _Scheme("body", (S1_BODY_DEPTH_RATIO,))
_S1_BODY = _Scheme("s1-body", S1_DEPTH_RATIOS, S1_CHECK_DEPTHS)


def _s1_scheme(flex: Radiograph, ext: Radiograph, lm_f: Landmarks, lm_e: Landmarks) -> _Scheme:
    """The pelvic region (:data:`S1_PELVIC_DEPTH`) when it fits on both films (the deepest of
    :data:`S1_PELVIC_DEPTHS` that does, grown by the largest run margin), else the S1 body region."""
    offset = S1_PELVIC_MARGIN - ROI_MARGINS[0]
    widest = max(ROI_MARGINS) + offset
    for depth in S1_PELVIC_DEPTHS:
        fits = True
        for lm, film in ((lm_f, flex), (lm_e, ext)):
            roi = _grow(body_outline(lm, Level.S1, depth), widest)
            h, w = film.pixels.shape
            if roi.min() < 2 or roi[:, 0].max() > w - 3 or roi[:, 1].max() > h - 3:
                fits = False
        if fits:
            checks = tuple(round(depth * f, 4) for f in S1_PELVIC_CHECK_FRACTIONS)
            return _Scheme("pelvic", (depth,), checks, offset, True)
    return _S1_BODY


def _s1_local_disagreement(
    flex: Radiograph, ext: Radiograph, lm_f: Landmarks, lm_e: Landmarks, pelvic: np.ndarray
) -> float | None:
    """Distance (fraction of the endplate length) between where the pelvic S1 match and the S1 body alone (region
    :data:`S1_LOCAL_DEPTH` deep, registered both ways; the closer of the two) put the S1 endplate centre on the
    extension film; ``None`` if the body alone fails both ways."""
    of = body_outline(lm_f, Level.S1, S1_LOCAL_DEPTH)
    mid = of[:2].mean(0)[None]
    length = float(np.hypot(*(of[1] - of[0])))
    locals_ = (_s1_one_way(flex, ext, lm_f, lm_e, S1_LOCAL_DEPTH, reverse=r) for r in (False, True))
    gaps = [
        float(np.hypot(*(apply(m, mid)[0] - apply(pelvic, mid)[0]))) / max(length, 1e-9)
        for m in locals_
        if m is not None
    ]
    return min(gaps) if gaps else None


def _agreeing(transforms: Sequence[np.ndarray], eccs: Sequence[float], outline: np.ndarray) -> list[int]:
    """Indices of the runs that converged to the same optimum as the best-correlated run (listed first): within
    :data:`OPTIMUM_TOLERANCE_DEG` and :data:`OPTIMUM_TOLERANCE_FRACTION` x the body size of it."""
    if not transforms:
        return []
    centre, size = outline.mean(0), float(np.ptp(outline, axis=0).max())
    angles = np.array([rotation_deg(m) for m in transforms])
    shifts = np.array([apply(m, centre[None])[0] for m in transforms])
    ref = int(np.argmax(eccs))
    return [ref] + [
        i
        for i in range(len(transforms))
        if i != ref
        and abs(angles[i] - angles[ref]) < OPTIMUM_TOLERANCE_DEG
        and np.hypot(*(shifts[i] - shifts[ref])) < OPTIMUM_TOLERANCE_FRACTION * size
    ]


def _pelvic_fallback(
    flex: Radiograph,
    ext: Radiograph,
    lm_f: Landmarks,
    lm_e: Landmarks,
    level: Level,
    runs: int,
    rng: np.random.Generator,
    agreed: int | None = None,
    reason: str = "",
) -> tuple[BodyRegistration, list[str]]:
    """S1 registered on the S1 body alone, because only ``agreed`` of the pelvic region's runs agreed or for the
    ``reason`` given: the region holds too little structure that moves with S1 (e.g. a film without a visible
    pelvis)."""
    body, w = _register_level(flex, ext, lm_f, lm_e, level, runs, rng, _S1_BODY)
    why = reason or f"only {agreed} of {runs} registration runs on the pelvic region agreed"
    return body, [f"S1: {why}; S1 was registered on the S1 body alone (docs/motion.md).", *w]


def _register_level(
    flex: Radiograph,
    ext: Radiograph,
    lm_f: Landmarks,
    lm_e: Landmarks,
    level: Level,
    runs: int,
    rng: np.random.Generator,
    scheme: _Scheme | None = None,
) -> tuple[BodyRegistration, list[str]]:
    warnings = []
    forced = scheme is not None  # a fallback asked for by the caller, not a region that did not fit
    if scheme is None:
        scheme = _s1_scheme(flex, ext, lm_f, lm_e) if level is Level.S1 else _LUMBAR
    depths = scheme.depths
    best: tuple[list[np.ndarray], list[float], list[str], np.ndarray, float, float] | None = None
    for depth in depths:
        of, oe = body_outline(lm_f, level, depth), body_outline(lm_e, level, depth)
        init = rigid_from_points(of, oe)
        centre, size = of.mean(0), float(np.ptp(of, axis=0).max())
        transforms, eccs, failures = _runs(
            flex,
            ext,
            of,
            init,
            centre,
            size,
            runs,
            rng,
            margin_offset=scheme.margin_offset,
            highpass_only=scheme.highpass_only,
        )
        nominal = eccs[0] if eccs else -1.0
        if best is None or nominal > best[4]:
            best = (transforms, eccs, failures, of, nominal, depth)
        if nominal >= S1_MIN_ECC:
            break
        if level is Level.S1 and depth != depths[-1]:
            warnings.append(
                f"S1: weak match of the region near the endplate ({nominal:.2f}); a deeper region was tried."
            )
    assert best is not None
    transforms, eccs, failures, of, _, used_depth = best
    if level is not Level.S1 and transforms:
        # a body whose best match lies far from its landmark start: look for the optimum in the start's basin
        # (see LOCAL_RETRY)
        oe = body_outline(lm_e, level, used_depth)
        init = rigid_from_points(of, oe)
        start_rot = rotation_deg(init)
        far = abs(rotation_deg(transforms[int(np.argmax(eccs))]) - start_rot)
        if LOCAL_RETRY and far > LANDMARK_DEPARTURE_DEG:
            lt, le_, lf = _runs(
                flex, ext, of, init, of.mean(0), float(np.ptp(of, axis=0).max()), runs, rng, coarse=False
            )
            if lt and abs(rotation_deg(lt[int(np.argmax(le_))]) - start_rot) <= LANDMARK_DEPARTURE_DEG:
                warnings.append(
                    f"{level.value}: the best match lay {far:.0f} deg from the landmark start (overlapping gas or "
                    "bone that does not move with the body?); the match in the landmarks' basin was kept "
                    f"(correlation {max(le_):.2f} vs {max(eccs):.2f}): check the overlay."
                )
                transforms, eccs, failures = lt, le_, lf
    variants: list[np.ndarray] = []
    looks: list[np.ndarray] = []
    local_gap = None
    if scheme.name == "pelvic" and 2 * len(agreed := _agreeing(transforms, eccs, of)) < runs:
        # checked before the both-ways, depth and look registrations and the S1 body check, which would be wasted on
        # such a region (and again on the direction kept, below)
        return _pelvic_fallback(flex, ext, lm_f, lm_e, level, runs, rng, len(agreed))
    if level is Level.S1 and transforms:
        transforms, eccs, failures, reverse, variants, w = _s1_both_ways(
            flex, ext, lm_f, lm_e, used_depth, (transforms, eccs, failures), runs, rng, scheme
        )
        warnings.extend(w)
        if scheme.name == "pelvic" and 2 * len(agreed := _agreeing(transforms, eccs, of)) < runs:
            return _pelvic_fallback(flex, ext, lm_f, lm_e, level, runs, rng, len(agreed))
        if scheme.name != "pelvic":
            if not forced:
                warnings.append(
                    "S1: the pelvic region does not fit on both films (cut off below the sacrum?); S1 was registered "
                    "on the S1 body alone, which overlapping iliac and screw edges pull more (docs/motion.md)."
                )
        else:
            local_gap = _s1_local_disagreement(flex, ext, lm_f, lm_e, transforms[int(np.argmax(eccs))])
        if local_gap is not None and local_gap > S1_LOCAL_AGREEMENT:
            if S1_LOCAL_FALLBACK:
                return _pelvic_fallback(
                    flex,
                    ext,
                    lm_f,
                    lm_e,
                    level,
                    runs,
                    rng,
                    reason=f"the pelvic match and the S1 body alone place the S1 endplate {local_gap:.2f} x its "
                    "length apart (the pelvic match slid: too little pelvic structure that moves with S1?)",
                )
            warnings.append(
                f"S1: the pelvic match and the S1 body alone place the S1 endplate {local_gap:.2f} x its length "
                "apart: the S1 match is ambiguous; check the overlay."
            )
        if scheme.name == "pelvic":
            looks = _pelvic_looks(flex, ext, lm_f, lm_e, used_depth, reverse=reverse)
    width = float(np.hypot(*(of[1] - of[0])))
    height = float(np.hypot(*((of[3] + of[2]) / 2 - (of[0] + of[1]) / 2)))
    if level is not Level.S1 and height < MIN_BODY_ASPECT * width:  # the S1 region is drawn, not clicked
        warnings.append(
            f"{level.value}: the body outline is unusually thin (height/width {height / max(width, 1e-9):.2f}); "
            "check the landmarks: a thin region registers poorly."
        )
    if not transforms:
        raise RegistrationError(f"{level.value}: the body could not be registered between the films; {failures[0]}")
    if 2 * len(failures) >= runs:
        # a few perturbed starts failing to converge is routine (they are dropped); warn only when the spread of
        # the answer rests on fewer than half of the runs
        warnings.append(
            f"{level.value}: {len(failures)} of {runs} registration runs failed to converge; the uncertainty rests on "
            f"the other {runs - len(failures)}."
        )
    if eccs[0] < MIN_ECC:
        warnings.append(f"{level.value}: weak match between the films (correlation {eccs[0]:.2f} < {MIN_ECC}).")
    # runs that landed in another local optimum than the best-matching run (highest correlation) are dropped; the
    # best run is listed first
    keep = _agreeing(transforms, eccs, of)
    if scheme.name == "pelvic" and 2 * len(keep) < runs:
        return _pelvic_fallback(flex, ext, lm_f, lm_e, level, runs, rng, len(keep))
    if len(keep) < len(transforms):
        warnings.append(
            f"{level.value}: {len(transforms) - len(keep)} registration run(s) converged elsewhere and were dropped."
        )
    return (
        BodyRegistration(
            level,
            tuple(transforms[i] for i in keep),
            tuple(eccs[i] for i in keep),
            tuple(variants),
            rotation_deg(rigid_from_points(of, body_outline(lm_e, level, used_depth))),
            local_gap,
            tuple(looks),
            f"{scheme.name} {used_depth:g}" if level is Level.S1 else scheme.name,
        ),
        warnings,
    )


def _check_inputs(flexion: Radiograph, extension: Radiograph, lm_f: Landmarks, lm_e: Landmarks) -> list[str]:
    warnings: list[str] = []
    for film, name in ((flexion, "flexion"), (extension, "extension")):
        if film.view is View.AP:
            raise ViewError(f"The {name} film is an AP view; flexion-extension motion needs lateral films.")
    for lm, film, name in ((lm_f, flexion, "flexion"), (lm_e, extension, "extension")):
        if lm.view is View.AP:
            raise LandmarkError(f"The {name} landmarks are AP landmarks; lateral names are needed.")
        if (lm.width, lm.height) != (film.width, film.height):
            raise LandmarkError(
                f"The {name} landmarks belong to a {lm.width} x {lm.height} px image, but the film is "
                f"{film.width} x {film.height} px."
            )
    if flexion.view is View.EXTENSION and extension.view is View.FLEXION:
        warnings.append("The films look swapped: the 'flexion' film is labelled extension and vice versa.")
    sf, se = flexion.spacing, extension.spacing
    if (sf is None) != (se is None):
        warnings.append("Only one film has a pixel spacing: translation is given in % of endplate depth only.")
    elif sf is not None and se is not None and abs(sf.dx_mm / se.dx_mm - 1) > 0.02:
        warnings.append(f"Pixel spacings differ between the films ({sf} vs {se}); mm values use each film's own.")
    for s in (sf, se):
        if s is not None and abs(s.dx_mm / s.dy_mm - 1) > 0.01:
            warnings.append("Pixels are not square: rotations are registered in pixel space and slightly distorted.")
        if s is not None and s.source.warning:
            warnings.append(s.source.warning)
    return sorted(set(warnings), key=warnings.index)


def _slip_change(
    flex_anchors: tuple[np.ndarray, np.ndarray, np.ndarray],
    ext_anchors: tuple[np.ndarray, np.ndarray, np.ndarray],
    sf: Spacing | None,
    se: Spacing | None,
) -> tuple[float | None, float]:
    """Slip on extension minus on flexion from anchors (p, a, q) on each film: mm (or None), % of the flexion depth."""
    (pf, af, qf), (pe, ae, qe) = flex_anchors, ext_anchors
    slip_f_px, depth_px = slip_along(pf - qf, (af, qf), None)
    slip_e_px, _ = slip_along(pe - qe, (ae, qe), None)
    percent = (slip_e_px - slip_f_px) / depth_px * 100.0
    mm = None
    if sf is not None and se is not None:
        mm = slip_along(pe - qe, (ae, qe), se)[0] - slip_along(pf - qf, (af, qf), sf)[0]
    return mm, percent


def _rms_deviation(values: Sequence[float | None], ref: float | None) -> float:
    """RMS deviation of ``values`` from ``ref`` (0 when there are none)."""
    got = [v for v in values if v is not None]
    if not got or ref is None:
        return 0.0
    return math.sqrt(float(np.mean([(v - ref) ** 2 for v in got])))


def _segment_motion(
    pts_f: dict[str, np.ndarray],
    pts_e: dict[str, np.ndarray],
    mu: np.ndarray,
    ml: np.ndarray,
    sign: float,
    sf: Spacing | None,
    se: Spacing | None,
) -> tuple[float, float | None, float, float | None, float]:
    """Motion of one segment from one pair of body transforms (upper ``mu``, lower ``ml``, flexion -> extension).

    The slip anchors (upper posterior-inferior corner p, lower superior endplate a, q) are taken twice: from the flexion
    landmarks mapped forward by the transforms, and from the extension landmarks mapped back. The translation is the
    mean of the two; half their difference measures how much the answer depends on where the anchors were clicked
    (the body rotates between the films, so an anchor misplaced by d moves the slip change by ~ d x rotation).

    Returns
    -------
    angle_deg, translation_mm (None uncalibrated), translation_percent, anchor_term_mm, anchor_term_percent
    """
    angle = sign * (rotation_deg(mu) - rotation_deg(ml))
    angle = (angle + 180.0) % 360.0 - 180.0
    keys = ("upper_inf_post", "lower_sup_ant", "lower_sup_post")
    maps = (mu, ml, ml)
    fwd_f = tuple(pts_f[k] for k in keys)
    fwd_e = tuple(apply(m, q[None])[0] for m, q in zip(maps, fwd_f, strict=True))
    back_e = tuple(pts_e[k] for k in keys)
    back_f = tuple(apply(np.linalg.inv(m), q[None])[0] for m, q in zip(maps, back_e, strict=True))
    mm1, pc1 = _slip_change(fwd_f, fwd_e, sf, se)  # type: ignore[arg-type]
    mm2, pc2 = _slip_change(back_f, back_e, sf, se)  # type: ignore[arg-type]
    # the two landmark sets disagree (after registration) by r px per anchor; an anchor error e moves the slip change
    # by ~ e x the relative rotation, and the two sets' errors need not be independent (a detector's bias), so the
    # term is at least |rotation| x RMS disagreement
    r_px = math.sqrt(float(np.mean([np.sum((f - b) ** 2) for f, b in zip(fwd_f, back_f, strict=True)])))
    lever_px = abs(math.radians(angle)) * r_px
    depth_px = float(np.hypot(*(fwd_f[1] - fwd_f[2])))
    pct_term = max(abs(pc1 - pc2) / 2, lever_px / max(depth_px, 1e-9) * 100.0)
    mm = None if mm1 is None or mm2 is None else (mm1 + mm2) / 2
    mm_term = None
    if mm1 is not None and mm2 is not None and sf is not None:
        mm_term = max(abs(mm1 - mm2) / 2, lever_px * math.sqrt(sf.dx_mm * sf.dy_mm))
    return angle, mm, (pc1 + pc2) / 2, mm_term, pct_term


def landmark_motion(
    lm_flexion: Landmarks,
    lm_extension: Landmarks,
    level: str | Segment,
    spacing_flexion: Spacing | None = None,
    spacing_extension: Spacing | None = None,
) -> LandmarkMotion:
    """Motion by the landmark-difference method: the segmental angle and slip measured on each film, subtracted.

    Returns
    -------
    LandmarkMotion
        Extension minus flexion; angle in degrees (lordosis positive), translation in mm (``None`` unless both spacings
        are given) and in % of the lower endplate depth on the flexion film.
    """
    seg = parse_level(level) if isinstance(level, str) else level
    facing = lateral_facing(lm_flexion)
    pf, pe = segment_points(lm_flexion, seg), segment_points(lm_extension, seg)
    angles, slips_px, slips_mm = [], [], []
    for pts, sp in ((pf, spacing_flexion), (pe, spacing_extension)):
        lower = (pts["lower_sup_ant"], pts["lower_sup_post"])
        angles.append(segment_angle_deg((pts["upper_inf_ant"], pts["upper_inf_post"]), lower, facing))
        s_px, depth = slip_along(pts["upper_inf_post"] - lower[1], lower, None)
        slips_px.append((s_px, depth))
        slips_mm.append(slip_along(pts["upper_inf_post"] - lower[1], lower, sp)[0] if sp is not None else None)
    percent = slips_px[1][0] / slips_px[1][1] * 100.0 - slips_px[0][0] / slips_px[0][1] * 100.0
    mm = None if None in slips_mm else slips_mm[1] - slips_mm[0]  # type: ignore[operator]
    return LandmarkMotion(angles[1] - angles[0], mm, percent)


def register_motion(
    flexion: Radiograph,
    extension: Radiograph,
    lm_flexion: Landmarks,
    lm_extension: Landmarks,
    *,
    levels: Sequence[str] = ("L4-L5", "L5-S1"),
    runs: int = 7,
    seed: int = 0,
) -> list[MotionResult]:
    """Angular and translational motion of each segment between a flexion and an extension film.

    Parameters
    ----------
    flexion, extension : Radiograph
        Lateral films in flexion and extension (view ``FLEXION``/``EXTENSION``/``LATERAL`` or unknown; AP refused).
    lm_flexion, lm_extension : Landmarks
        Lateral corner landmarks of each film (pixels). They only initialise the registration and place each body's
        region; the motion comes from the image registration.
    levels : sequence of str
        Segments to report, e.g. ``("L4-L5", "L5-S1")``.
    runs : int
        Registration runs per body (run 0 nominal, the others with perturbed start and region); >= 3.
    seed : int
        Seed of the perturbations (results are reproducible).

    Returns
    -------
    list[MotionResult]
        One per level, in the order given. Signs: angle = extension minus flexion of the segmental angle (lordosis
        positive); translation = extension minus flexion of the slip (anterior positive).

    Raises
    ------
    ViewError
        If a film is an AP view.
    LandmarkError
        If a needed corner is missing or the landmarks do not fit the film.
    RegistrationError
        If a body cannot be registered at all.
    """
    if runs < 3:
        raise ValueError(f"runs must be at least 3 to estimate a spread, got {runs}.")
    warnings = _check_inputs(flexion, extension, lm_flexion, lm_extension)
    segments = [parse_level(lv) for lv in levels]
    facing = lateral_facing(lm_flexion)
    if lateral_facing(lm_extension) is not facing:
        raise LandmarkError("The flexion and extension landmarks face opposite ways; was one film mirrored?")
    sign = 1.0 if facing.value == "left" else -1.0
    rng = np.random.default_rng(seed)
    bodies: dict[Level, BodyRegistration] = {}
    for level in sorted({lv for s in segments for lv in (s.upper, s.lower)}, key=lambda lv: lv.index):
        bodies[level], w = _register_level(flexion, extension, lm_flexion, lm_extension, level, runs, rng)
        warnings.extend(w)
    sf, se = flexion.spacing, extension.spacing
    results = []
    for seg in segments:
        pts_f, pts_e = segment_points(lm_flexion, seg), segment_points(lm_extension, seg)
        bu, bl = bodies[seg.upper], bodies[seg.lower]
        n = min(len(bu.transforms), len(bl.transforms))
        per_run = [_segment_motion(pts_f, pts_e, bu.transforms[k], bl.transforms[k], sign, sf, se) for k in range(n)]
        ang = np.array([r[0] for r in per_run])
        pct = np.array([r[2] for r in per_run])
        mm = np.array([r[1] for r in per_run], float) if per_run[0][1] is not None else None
        # anchor term: flexion-anchored vs extension-anchored translation (run 0)
        anchor_mm, anchor_pct = per_run[0][3] or 0.0, per_run[0][4]
        # region term: the same segment with the other region depths of each body (S1), RMS deviation from run 0
        variants = [_segment_motion(pts_f, pts_e, m, bl.nominal, sign, sf, se) for m in bu.region_variants]
        variants += [_segment_motion(pts_f, pts_e, bu.nominal, m, sign, sf, se) for m in bl.region_variants]
        # S1 looks (pelvic region): the nominal answer and the looks within the optimum tolerance of it are pooled
        # by their mean (S1_POOL_LOOKS); every look counts in the region term, measured from the pooled answer
        looks = [_segment_motion(pts_f, pts_e, m, bl.nominal, sign, sf, se) for m in bu.looks]
        looks += [_segment_motion(pts_f, pts_e, bu.nominal, m, sign, sf, se) for m in bl.looks]
        pooled_looks = [per_run[0], *(v for v in looks if abs(v[0] - per_run[0][0]) <= S1_LOOK_TOLERANCE_DEG)]
        ref: tuple[float, float | None, float] = per_run[0][:3]
        if S1_POOL_LOOKS and looks:
            ref = (
                float(np.mean([v[0] for v in pooled_looks])),
                None if mm is None else float(np.mean([v[1] for v in pooled_looks])),
                float(np.mean([v[2] for v in pooled_looks])),
            )
        spread_of = [*variants, *looks]
        region_angle = _rms_deviation([v[0] for v in spread_of], ref[0])
        region_mm = _rms_deviation([v[1] for v in spread_of], ref[1]) if mm is not None else 0.0
        region_pct = _rms_deviation([v[2] for v in spread_of], ref[2])
        departed = [
            (b.level.value, d)
            for b in (bu, bl)
            if (d := abs(rotation_deg(b.nominal) - b.landmark_rotation_deg)) > LANDMARK_DEPARTURE_DEG
        ]
        weak = (
            bool(departed)
            or min(bu.ecc[0], bl.ecc[0]) < MIN_ECC
            or (bl.level is Level.S1 and bl.ecc[0] < S1_MIN_ECC)
            or region_angle > AMBIGUOUS_REGION_ANGLE_DEG
            or any((b.local_disagreement or 0.0) > S1_LOCAL_AGREEMENT for b in (bu, bl))
        )
        # a departed body may be off by the whole departure (the landmarks or the registration are wrong); turned by
        # that angle, a corner one endplate depth away moves by depth x angle (rad)
        lever = math.radians(max((d for _, d in departed), default=0.0))
        depth_px = float(np.hypot(*(pts_f["lower_sup_ant"] - pts_f["lower_sup_post"])))
        depth_mm = depth_px * math.sqrt(sf.dx_mm * sf.dy_mm) if sf is not None else 0.0
        floors = {
            "angle": max([WEAK_MATCH_ANGLE_SD_DEG if weak else 0.0, *(d for _, d in departed)]),
            "mm": max(WEAK_MATCH_TRANSLATION_SD_MM if weak else 0.0, lever * depth_mm),
            "percent": max(WEAK_MATCH_TRANSLATION_SD_PERCENT if weak else 0.0, lever * 100.0),
        }
        pelvic = any(b.region.startswith("pelvic") for b in (bu, bl))
        s1_terms = (
            (S1_PELVIC_ANGLE_SD_DEG, S1_PELVIC_TRANSLATION_SD_MM, S1_PELVIC_TRANSLATION_SD_PERCENT)
            if pelvic
            else (0.0, 0.0, 0.0)
        )
        extra = {
            "angle": (region_angle, s1_terms[0]),
            "mm": (region_mm, anchor_mm, s1_terms[1]),
            "percent": (region_pct, anchor_pct, s1_terms[2]),
        }
        # S1 region pooling: on a clean match the nominal S1 region and its variants (other depths, other direction)
        # are several looks at the same body with partly independent errors; their median is the better estimate
        # (see S1_POOL_VARIANTS). Not on a weak or ambiguous match, where a variant may sit in another optimum.
        shift = {"angle": 0.0, "mm": 0.0, "percent": 0.0}
        if S1_POOL_VARIANTS and variants and not weak:
            centre = {"angle": float(np.median(ang)), "percent": float(np.median(pct))}
            shift["angle"] = float(np.median([centre["angle"], *(v[0] for v in variants)])) - centre["angle"]
            shift["percent"] = float(np.median([centre["percent"], *(v[2] for v in variants)])) - centre["percent"]
            if mm is not None:
                c_mm = float(np.median(mm))
                shift["mm"] = float(np.median([c_mm, *(v[1] for v in variants if v[1] is not None)])) - c_mm
        if S1_POOL_LOOKS and looks and not weak:
            # the pooled looks are registered like run 0: shift the median over runs by the pooled - run 0 difference
            shift["angle"] = ref[0] - per_run[0][0]
            if S1_POOL_LOOKS_TRANSLATION:
                shift["percent"] = ref[2] - per_run[0][2]
                if mm is not None:
                    shift["mm"] = ref[1] - per_run[0][1]  # type: ignore[operator]
        own_warn = [
            f"{seg.name}: {lv} registered {d:.1f} deg away from its landmark start (more than "
            f"{LANDMARK_DEPARTURE_DEG:g} deg): another optimum or wrong landmarks; check the overlay."
            for lv, d in departed
        ]
        if region_angle > 2.0 * ANGLE_MODEL_SD_DEG:
            own_warn.append(
                f"{seg.name}: the result depends on the S1 region drawn (angle scatter {region_angle:.1f} deg "
                "between region depths): the S1 match is ambiguous; the uncertainty includes it."
            )

        def sd(a: np.ndarray, model: float, kind: str = "angle", floors: dict = floors, extra: dict = extra) -> float:
            spread = float(np.std(a, ddof=1)) if len(a) > 1 else 0.0
            return max(floors[kind], math.sqrt(spread**2 + model**2 + sum(t**2 for t in extra[kind])))

        def spread(a: np.ndarray) -> float:
            return round(float(np.std(a, ddof=1)), 4) if len(a) > 1 else float("nan")

        lm = landmark_motion(lm_flexion, lm_extension, seg, sf, se)
        evidence: dict[str, Any] = {
            "facing": facing.value,
            "runs": n,
            "angle_runs_deg": [round(float(a), 4) for a in ang],
            "translation_percent_runs": [round(float(p), 4) for p in pct],
            "translation_percent_sd": sd(pct, TRANSLATION_MODEL_SD_PERCENT, "percent"),
            "region_term": {
                "angle_deg": round(region_angle, 4),
                "translation_mm": round(region_mm, 4),
                "translation_percent": round(region_pct, 4),
                "variants": len(variants),
                "variant_angles_deg": [round(float(v[0]), 4) for v in variants],
                "looks": len(looks),
                "look_angles_deg": [round(float(v[0]), 4) for v in looks],
                "looks_pooled": len(pooled_looks) if looks else 0,
                "pooled_shift": {k: round(v, 4) for k, v in shift.items()},
            },
            "anchor_term": {"translation_mm": round(anchor_mm, 4), "translation_percent": round(anchor_pct, 4)},
            "s1_match_term": {
                "angle_deg": s1_terms[0],
                "translation_mm": s1_terms[1],
                "translation_percent": s1_terms[2],
            },
            "weak_match": weak,
            "landmark_departure_deg": {
                b.level.value: round(abs(rotation_deg(b.nominal) - b.landmark_rotation_deg), 4) for b in (bu, bl)
            },
            "angle_run_spread_deg": spread(ang),
            "translation_run_spread": spread(mm if mm is not None else pct),
            "spacing": None if sf is None else {"dx_mm": sf.dx_mm, "dy_mm": sf.dy_mm, "source": sf.source.value},
            "bodies": {
                b.level.value: {
                    "rotation_deg": round(rotation_deg(b.nominal), 4),
                    "transform": [[round(float(v), 6) for v in row] for row in b.nominal[:2]],
                    "shift_px": [round(float(v), 3) for v in b.nominal[:2, 2]],
                    "ecc": [round(e, 4) for e in b.ecc],
                    "region": b.region,
                    **(
                        {"local_disagreement": round(b.local_disagreement, 4)}
                        if b.local_disagreement is not None
                        else {}
                    ),
                }
                for b in (bu, bl)
            },
            "uncertainty": (
                "SD = sqrt(run spread^2 + model term^2 + S1 region-depth term^2 + S1 pelvic-match term^2 "
                "+ anchor term^2 (translation)), "
                f"model terms {ANGLE_MODEL_SD_DEG} deg, {TRANSLATION_MODEL_SD_MM} mm; at least "
                f"{WEAK_MATCH_ANGLE_SD_DEG} deg / {WEAK_MATCH_TRANSLATION_SD_MM} mm when a body matches weakly"
            ),
        }
        levels_named = tuple(lv.value + ":" for lv in Level)
        own = (seg.upper.value + ":", seg.lower.value + ":")
        seg_warn = tuple(w for w in warnings if not w.startswith(levels_named) or w.startswith(own)) + tuple(own_warn)
        results.append(
            MotionResult(
                level=seg.name,
                angle_deg=float(np.median(ang)) + shift["angle"],
                angle_sd_deg=sd(ang, ANGLE_MODEL_SD_DEG),
                translation_mm=None if mm is None else float(np.median(mm)) + shift["mm"],
                translation_percent=float(np.median(pct)) + shift["percent"],
                translation_sd=sd(mm, TRANSLATION_MODEL_SD_MM, "mm")
                if mm is not None
                else sd(pct, TRANSLATION_MODEL_SD_PERCENT, "percent"),
                translation_sd_unit=Unit.MM if mm is not None else Unit.PERCENT,
                method=METHOD,
                evidence=evidence,
                landmark_difference=lm,
                warnings=seg_warn,
            )
        )
    return results
