"""Find pedicle screws, rods and the interbody cage (or its marker pins) on a post-operative film.

Metal is segmented as the very bright tail of the intensity distribution (a threshold set above the bone level measured
inside the vertebral bodies, :func:`metal_threshold`), then sorted by shape: rods are what survives a morphological
opening with a long line along the spine axis, screws are the remaining elongated pieces, and what is left inside the
L5-S1 disc space is the cage (one solid outline) or its marker pins (small pieces). Everything is in pixels; millimetres
only through :mod:`fusionwatch.units`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage
from skimage import filters, measure, morphology

from fusionwatch._typing import Point
from fusionwatch.anatomy import Endplate, ImageSide, Level, ap_corner_name
from fusionwatch.errors import LandmarkError
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.units import Spacing, to_mm

__all__ = [
    "Screw",
    "Rod",
    "Cage",
    "Implants",
    "detect_implants",
    "metal_threshold",
    "metal_valley",
    "body_polygons",
    "film_id",
    "distance_mm",
]

ROD_OPENING_FRACTION = 0.45
"""Line length of the rod opening, as a fraction of the mean endplate length: a rod (or each piece of a broken rod)
runs along the spine at least this far; screws, which cross the spine axis at more than ~25 deg, do not survive it."""
ROD_ANGLES_DEG = (-20.0, -10.0, 0.0, 10.0, 20.0)
"""Directions (from the spine axis) tried by the rod opening; rods follow the spine, with lordotic curvature."""
SCREW_MIN_LENGTH_FRACTION = 0.45
"""A screw is at least this fraction of the mean endplate length (pedicle screws are 35-55 mm; endplates ~40 mm)."""
MIN_ELONGATION = 2.5
"""Length / width ratio for a screw or rod piece."""
METAL_CONTRAST = 1.0
"""Metal threshold = bone level + this x (bone level - background level); see :func:`metal_threshold`."""
ENDPLATE_PER_SCREW_WIDTH = 6.0
"""Without landmarks the scale comes from the metal: a ~40 mm endplate is about six ~6.5 mm screw widths."""
METAL_TOP_FRACTION = 0.6
"""... or, on films whose bright end is compressed (windowed, saturated), this fraction of the way from the bone level
to the top of the intensity range (99.95th percentile); the lower of the two thresholds is used."""
COMPRESSED_MIN_HEADROOM = 0.25
"""The top-of-range rule applies only when the brightest pixels stand at least this fraction of (bone - background)
above the bone level; otherwise the film has no distinct bright tail (typically no metal)."""
VALLEY_BINS = 48
"""Histogram bins between the bone level and the film's maximum, for :func:`metal_valley`."""
VALLEY_DEPTH = 0.05
"""A valley counts when its (smoothed) bin holds at most this fraction of the anatomy mode's count: nearly empty."""
VALLEY_CLIFF = 10.0
"""A cliff: the count falls by at least this factor from one bin to the next..."""
VALLEY_CLIFF_MIN_SHARE = 0.25
"""... from a bin holding at least this share of the fullest bin below it (the anatomy's), and no bin above (but the
top two: the metal's plateau) holds more than a quarter of the bin before the cliff."""
VALLEY_EMPTY = 0.35
"""... and its emptiest (smoothed) bin holds at most this fraction of the median bin above it: a gap, emptier than the
metal's own blurred edges (the simulator's opaque metal: 2-6 pixels per bin in the gap against ~15-25 on the metal's
edge ramp at 400 x 500 px; a drawn screw whose blurred edge overlaps bone in intensity: a flat ramp, no gap)."""
VALLEY_MIN_METAL_FRACTION = 0.002
"""... and at least this fraction of the region's pixels lie above it (a screw at 400 x 500 px is ~300 px of a
~60 000 px region)."""
METAL_CORE_FRACTION = 0.85
"""Hysteresis: each metal piece must contain a pixel this far from the bone level to the top of the range."""
SEGMENT_SMOOTH_FRACTION = 0.01
"""Gaussian smoothing (sigma, fraction of the endplate length) of the film before metal thresholding, with landmarks."""
SPINE_REGION_GROWTH = 2.2
"""With landmarks, metal is looked for only inside the hull of the L4, L5 and S1 bodies grown this much about its
centre (screw heads and rods lie about one body depth behind the bodies)."""
SCREW_DIAMETER_RANGE = (0.07, 0.3)
"""With landmarks, a screw's width is this fraction of the mean endplate length (6.5 mm of ~40 mm = 0.16)."""
SHAFT_FIT_RANGE = (0.35, 0.95)
"""Part of a screw (fractions of its length from the head) whose pixels define its axis."""
CAGE_MIN_MARKERS = 2
"""A radiolucent cage is reported from at least this many marker pins (cages carry 2-4)."""
AGREE_DEG = 5.0
"""On a lateral film a screw found by the threshold is kept over the model-based fit when their tips agree and their
axes agree this well; either way the kept screw's axis is then refined on its metal edges (opaque metal)."""
ROD_MAX_GAP_FRACTION = 0.25
"""Collinear rod pieces are one broken rod only when the gap is below this fraction of the endplate length (~10 mm): a
fractured rod's ends stay close; pieces farther apart are separate metal (or bone) and no fracture is reported."""
COLLINEAR_DEG = 15.0
"""Two pieces whose axes differ by less than this, and which line up, are one broken screw or rod."""
ROD_DIP_FRACTION = 0.1
"""A fracture too narrow to split the metal mask (a 1-2 mm gap is 1-3 px on a small film, and the image blur fills it)
still shows as a dip along the rod's centre line: the intensity falls by at least this fraction of the rod's contrast
over its surroundings (rod level - local background), over at most :data:`ROD_DIP_MAX_WIDTH` rod widths, with rod on
both sides."""
ROD_DIP_MAX_WIDTH = 1.5
"""Longest dip (in rod widths) counted as a fracture gap; a longer one is the rod's end or an unrelated crossing."""
ROD_DIP_MIN_SD = 6.0
"""... and the dip must be deeper than this many noise SDs of the rod's own profile (robust, from its median absolute
deviation) so the texture of a non-saturated rod does not count."""
ROD_DIP_FLOOR = 0.25
"""... and it stays above the local background by at least this fraction of the rod's contrast, inside the metal mask
(a wider gap splits the mask into two pieces and is found as such; a centre line leaving the metal reaches the
background)."""
BRIDGE_COST = 20.0
"""Path cost of one pixel bridged by the closing (not metal), against ~0.3-2 for a metal pixel (1 / distance to the
metal edge): the AP rod path crosses a bridge only where the metal has no way round it."""
LATERAL_SCREW_LENGTH_MM = (25.0, 60.0)
"""Plausible projected length of a pedicle screw's visible shaft on a lateral film (35-55 mm screws converging by up to
~25 deg, partly hidden by the head): a threshold piece outside it is a fragment or screw + head + rod."""
LATERAL_SCREW_LENGTH_FRACTION = (0.6, 1.5)
"""The same for uncalibrated films, as a fraction of the mean endplate length (~40 mm)."""
AP_CLOSE_ANGLES_DEG = (-30.0, -15.0, 0.0, 15.0, 30.0)
"""Directions (from the spine axis) of the line closings that bridge a rod break on an AP film (rods run within about
30 deg of the spine axis there)."""
CLIP_MIN_PIXELS = 20
"""A film's display clips when at least this many pixels of the spine region sit at its maximum value."""
CLIPPED_HARDWARE_AREA = 0.3
"""A film whose bright bone leaves too little headroom for the compressed rule (:data:`COMPRESSED_MIN_HEADROOM`) still
has its metal looked for when at least this x the squared scale (mean endplate length) of the spine region clips: four
screws and two rods at L5-S1 clip over ~0.55 x scale^2 (SIM_VERSION 17 AP films of solid-fusion seed 25, which lost
all their metal), dense bone on pre-operative films over at most 0.14 x (the 120 pre-operative films of screw-loosening
and solid-fusion seeds 1-30, 400 x 500 px)."""
CLIP_CORE_SHARE = 0.8
"""On a clipping film without a metal gap in its histogram, a screw or rod counts only when its core reaches the clip
value along at least this share of its middle (20-80 % of its length): near-opaque titanium clips wherever the display
clips anything, dense bone only in spots. Simulator (SIM_VERSION 12, 400 x 500 px, 84 films of 42 journeys): every
post-operative screw without a gap 1.0; pre-operative false screws at most 0.6."""
CLIP_TOLERANCE = 0.01
"""A core value within this fraction of (clip value - bone level), or two noise SDs, below the clip value counts as
clipped."""
LOCAL_METAL_CONTRAST = 1.0
"""On a film with neither a metal gap in its histogram nor clipping, a screw or rod counts only when its core (maximum
across +/-0.3 widths, median over 20-80 % of its length) stands above the bone beside it (median 1-1.5 widths beyond
its edge, both sides) by at least this x (bone level - background): the old threshold rule's own assumption
(:data:`METAL_CONTRAST`) asked of the metal's surroundings rather than of the film's bone level. Metal that overlaps
bone in intensity without saturating (the drawn test films) stands 3.2-3.6 x above; the dense bone taken for screws
or rods on the simulator's pre-operative films without gap or clipping (SIM_VERSION 14, 400 x 500 px) at most 0.52 x.
On films that clip, metal is judged by :data:`CLIP_CORE_SHARE` instead (its local contrast there is compressed: 0.1-0.5
x on the simulator's post-operative films)."""
LOCAL_FLANK_WIDTHS = (1.0, 1.25, 1.5)
"""Distances beyond the metal edge (in metal widths) where the bone beside a screw or rod is sampled."""
LATERAL_SCREW_MAX_TILT_DEG = 35.0
"""On a lateral film a pedicle screw runs from posterior to anterior roughly along its vertebra's endplates (simulator:
2.6-11.6 deg to the superior endplate over 1460 true screws; S1 screws aimed at the promontory on real films up to
~30 deg): a "screw" more than this far from the body's antero-posterior axis is a vertebral wall or another bone edge
(the simulator's 1000 x 1250 px pre-operative films, clipping along their length: an L3 posterior wall at ~90 deg, a
dense band crossing the L5 body at 41 deg)."""
AP_HEAD_WIDENING = 1.6
"""On an AP film a screw ends (at its head) where the metal grows wider than this x the shaft's width."""
AP_HEAD_PEAK = 1.4
"""... or (AP screws) at the first width peak of the head: the route's metal width reaches this x the shaft's width and
no wider within the next :data:`AP_HEAD_PEAK_PX` px. On SIM_VERSION 17 AP films (400 x 500 px) the head is only ~1.6 x
the shaft in the metal mask (half-widths 8.0 vs 5.0 px), so the widening rule missed it by rounding and the S1 screw
ran on along the rod (58-78 px instead of ~40, 13-41 deg off)."""
AP_HEAD_PEAK_PX = 3
AP_SCREW_MIN_FRACTION = 0.15
"""Shortest AP screw shaft, as a fraction of the scale (converging screws are foreshortened on an AP film)."""
ROD_END_MARGIN = 1.0
"""Rod widths left out at each end of the centre line (the rod's ends fall off into the background)."""
AP_TIP_LEVEL = 0.5
"""On an AP film the screw's tip is where the intensity along its axis (the core: maximum across +/-0.3 widths) falls
this far from the metal level (median core over 40-70 % of the length) to the bone beside the tip (median 1-1.5 widths
beyond the metal edge over 70-95 % of the length, both sides): the half-height point of a blurred edge, measured in
that film's own local metal-over-bone contrast (:func:`_ap_tip_at_half_height`). Until 2026-11-24 (session 8) the tip
was the end of the metal mask, whose threshold lies in the histogram's valley, often just above the brightest bone:
where the tip touches bright bone (the sacrum's anterior cortex, a brighter vertebral rim) the mask ran on through it,
3.0-3.8 mm beyond the true tip (docs/implants.md "Rims, gas and thin bodies (session 8)")."""
AP_TIP_SEARCH = (0.6, 2.5)
"""The half-height tip is sought from this fraction of the screw's length from the head up to this many screw widths
beyond the mask's tip."""


def film_id(radiograph: Radiograph) -> str:
    """The id used for a film in findings: its SOP Instance UID, else its source name."""
    return radiograph.ids.sop_uid or radiograph.source or "film"


def distance_mm(a: Point, b: Point, spacing: Spacing) -> float:
    """Distance in mm between two pixel points (via :func:`fusionwatch.units.to_mm`)."""
    return math.dist(to_mm(a, spacing), to_mm(b, spacing))


@dataclass(frozen=True, slots=True)
class Screw:
    """A pedicle screw in pixels.

    Attributes
    ----------
    head, tip : Point
        Ends of the screw, pixel ``(x, y)``; the tip is the end inside the vertebral body.
    diameter_px : float
        Mean width of the metal (shaft and head), px.
    level : Level | None
        The vertebra the tip sits in (from the landmarks), ``None`` when unclear.
    broken : bool
        The screw is in two collinear pieces with a gap (``gap`` gives the two facing ends).
    gap : tuple[Point, Point] | None
    axis_sd_deg : float | None
        SD of the axis direction, degrees, from the edge fit (:func:`fusionwatch.implants.fit.refine_screw_edges`);
        ``None`` when the edges could not be fitted.
    fitted : bool
        Placed by the model-based bar fit (:mod:`fusionwatch.implants.fit`) where the threshold found no screw. Its
        axis is refined on its metal edges like any screw; the angle check uses it with that axis SD.
    """

    head: Point
    tip: Point
    diameter_px: float
    level: Level | None = None
    broken: bool = False
    gap: tuple[Point, Point] | None = None
    axis_sd_deg: float | None = None
    fitted: bool = False

    @property
    def length_px(self) -> float:
        return math.dist(self.head, self.tip)

    def length_mm(self, spacing: Spacing) -> float:
        return distance_mm(self.head, self.tip, spacing)

    @property
    def axis(self) -> tuple[float, float]:
        """Unit vector from head to tip, pixel axes."""
        d = np.subtract(self.tip, self.head)
        n = float(np.hypot(*d)) or 1.0
        return (float(d[0] / n), float(d[1] / n))


@dataclass(frozen=True, slots=True)
class Rod:
    """A rod's centre line in pixels; ``gaps`` are discontinuities between pieces (facing ends)."""

    polyline: tuple[Point, ...]
    diameter_px: float
    gaps: tuple[tuple[Point, Point], ...] = ()

    @property
    def broken(self) -> bool:
        return bool(self.gaps)

    @property
    def length_px(self) -> float:
        return float(sum(math.dist(a, b) for a, b in zip(self.polyline, self.polyline[1:], strict=False)))


@dataclass(frozen=True, slots=True)
class Cage:
    """Interbody cage: ``outline`` (convex hull, px) of a radio-opaque cage, or the ``markers`` of a radiolucent one;
    ``centroid`` is the centre of whichever was seen."""

    centroid: Point
    outline: tuple[Point, ...] = ()
    markers: tuple[Point, ...] = ()

    @property
    def kind(self) -> str:
        return "solid" if self.outline else "markers"


@dataclass(frozen=True)
class Implants:
    """Metal found on one film (pixels)."""

    screws: tuple[Screw, ...]
    rods: tuple[Rod, ...]
    cage: Cage | None
    film: str
    view: View | None
    spacing: Spacing | None
    metal_threshold: float
    warnings: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------------------------------------------ helpers
def body_polygons(landmarks: Landmarks) -> dict[Level, np.ndarray]:
    """Outline of every vertebral body the landmarks allow, (4, 2) pixel arrays, lateral or AP names."""
    out: dict[Level, np.ndarray] = {}
    if landmarks.view is View.AP:
        for lv in Level:
            if lv is Level.S1:
                continue
            names = [
                ap_corner_name(lv, Endplate.SUPERIOR, ImageSide.LEFT),
                ap_corner_name(lv, Endplate.SUPERIOR, ImageSide.RIGHT),
                ap_corner_name(lv, Endplate.INFERIOR, ImageSide.RIGHT),
                ap_corner_name(lv, Endplate.INFERIOR, ImageSide.LEFT),
            ]
            if all(n in landmarks for n in names):
                out[lv] = np.asarray(landmarks.require(*names), float)
        names = [
            ap_corner_name(Level.S1, Endplate.SUPERIOR, ImageSide.LEFT),
            ap_corner_name(Level.S1, Endplate.SUPERIOR, ImageSide.RIGHT),
        ]
        if all(n in landmarks for n in names):
            a, b = (np.asarray(p, float) for p in landmarks.require(*names))
            d = b - a
            n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
            if n[1] < 0:
                n = -n
            out[Level.S1] = np.stack([a, b, b + n * 0.6 * np.hypot(*d), a + n * 0.6 * np.hypot(*d)])
        return out
    from fusionwatch.motion._geometry import body_outline

    for lv in Level:
        try:
            out[lv] = body_outline(landmarks, lv)
        except LandmarkError:
            continue
    return out


def _scale_px(bodies: dict[Level, np.ndarray], shape: tuple[int, int]) -> float:
    if not bodies:
        return min(shape) / 12.0
    return float(np.mean([np.hypot(*(b[1] - b[0])) for b in bodies.values()]))


def _scale_from_metal(metal: np.ndarray, shape: tuple[int, int]) -> float:
    """Without landmarks: endplate length ~ :data:`ENDPLATE_PER_SCREW_WIDTH` x the typical metal width (screw/rod),
    measured as twice the median distance-to-edge along the skeleton of the largest metal piece."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(metal, connectivity=8)
    if n <= 1:
        return min(shape) / 12.0
    largest = lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    dist = cv2.distanceTransform(largest.astype(np.uint8), cv2.DIST_L2, 5)
    ridge = morphology.skeletonize(largest)
    if not ridge.any():
        return min(shape) / 12.0
    return 2.0 * float(np.median(dist[ridge])) * ENDPLATE_PER_SCREW_WIDTH


def _spine_axis(bodies: dict[Level, np.ndarray]) -> np.ndarray:
    if len(bodies) >= 2:
        lv = sorted(bodies, key=lambda v: v.index)
        d = bodies[lv[-1]].mean(0) - bodies[lv[0]].mean(0)
        return d / max(float(np.hypot(*d)), 1e-9)
    return np.array([0.0, 1.0])


def _bone_level(img: np.ndarray, bodies: dict[Level, np.ndarray] | None) -> float:
    """Median intensity inside the vertebral body outlines (pixel polygons), else the film's 90th percentile."""
    inside = np.zeros(img.shape, np.uint8)
    for poly in (bodies or {}).values():
        cv2.fillPoly(inside, [np.round(poly).astype(np.int32)], 1)
    mask = inside.astype(bool)
    return float(np.median(img[mask])) if mask.sum() > 50 else float(np.percentile(img, 90))


def metal_threshold(
    pixels: np.ndarray,
    bodies: dict[Level, np.ndarray] | None = None,
    *,
    compressed_rule: bool = True,
    region: np.ndarray | None = None,
    headroom_guard: bool = True,
) -> float:
    """Intensity above which a pixel is taken as metal.

    The bone level ``B`` is the median inside the vertebral bodies (or the 90th percentile of the film without
    landmarks) and the background ``G`` the 5th percentile; the threshold is ``B + METAL_CONTRAST * (B - G)``: metal
    attenuates far more than bone, so it stands above the bone level by more than bone stands above soft tissue. On a
    film whose bright end is compressed (windowed, saturated) the threshold is instead :data:`METAL_TOP_FRACTION` of the
    way from ``B`` to the top of the range (99.95th percentile inside ``region``, a mask around the spine, when given:
    burned-in markers and collimation edges elsewhere on the film do not count), whichever is lower.
    """
    img = np.asarray(pixels, np.float32)
    bone = _bone_level(img, bodies)
    background = float(np.percentile(img, 5))
    contrast_rule = bone + METAL_CONTRAST * max(bone - background, 1e-6)
    if not compressed_rule:
        return contrast_rule
    top = _top(img, region)
    if headroom_guard and top - bone < COMPRESSED_MIN_HEADROOM * (bone - background):
        return contrast_rule  # nothing stands out above the bone: no compressed metal tail to find
    return min(contrast_rule, bone + METAL_TOP_FRACTION * max(top - bone, 1e-6))


def metal_valley(
    pixels: np.ndarray, bodies: dict[Level, np.ndarray] | None = None, region: np.ndarray | None = None
) -> float | None:
    """Threshold in the empty valley between the anatomy and a separate metal cluster at the top of the range.

    Titanium is near-opaque: a console (or the log signal alone) puts it above every bone, leaving a gap in the
    intensity histogram. Among the pixels of ``region`` (else the film) brighter than the bone level (median inside the
    bodies, else the 90th percentile), a histogram of :data:`VALLEY_BINS` bins up to the maximum is smoothed over three
    bins; the valley is its lowest bin above the anatomy's brightest mode. It counts when that bin holds at most
    :data:`VALLEY_DEPTH` of the anatomy mode's count and at least :data:`VALLEY_MIN_METAL_FRACTION` of the pixels lie
    above it. Returns the valley's centre, or ``None`` (no separate cluster: a film without metal, or metal that
    overlaps bone in intensity; :func:`metal_threshold` applies).
    """
    img = np.asarray(pixels, np.float32)
    vals = img[region.astype(bool)] if region is not None and region.any() else img.ravel()
    bone = _bone_level(img, bodies)
    top = float(vals.max())
    hi = vals[vals > bone]
    if top <= bone or hi.size < 100:
        return None
    counts, edges = np.histogram(hi, bins=VALLEY_BINS, range=(bone, top))
    sm = np.convolve(np.pad(counts.astype(float), 1, mode="edge"), np.ones(3) / 3, "valid")
    # a cliff: the anatomy piles up under the top of its window (a metal-aware console) and ends abruptly; above it
    # only metal (its blurred edges, then its plateau)
    for i in range(1, VALLEY_BINS - 2):
        prev, here = counts[i - 1], counts[i]
        if prev >= VALLEY_CLIFF_MIN_SHARE * counts[:i].max() and here * VALLEY_CLIFF <= prev:
            rest = counts[i + 1 : VALLEY_BINS - 2]
            above = int(counts[i:].sum())
            if (rest.size == 0 or rest.max() <= VALLEY_DEPTH * 5 * prev) and above >= max(
                20, VALLEY_MIN_METAL_FRACTION * vals.size
            ):
                return float((edges[i] + edges[i + 1]) / 2)
            break
    # the anatomy's mode in the lower part; the valley: the first run of nearly empty bins above it with enough
    # pixels beyond (the dimmest metal cluster: screws and rods, not only the densest pins)
    mode = int(np.argmax(sm[: VALLEY_BINS * 3 // 4]))
    low = sm <= VALLEY_DEPTH * sm[mode]
    j = mode + 1
    while j < VALLEY_BINS - 1:
        if low[j]:
            k = j
            while k + 1 < VALLEY_BINS - 1 and low[k + 1]:
                k += 1
            above = int(counts[k + 1 :].sum())
            i = j + int(np.argmin(counts[j : k + 1]))
            # a true gap is (nearly) empty; the blurred edge of metal that merely overlaps bone in intensity is a flat
            # ramp of edge pixels, not a gap
            if above >= max(20, VALLEY_MIN_METAL_FRACTION * vals.size) and sm[i] <= VALLEY_EMPTY * float(
                np.median(sm[k + 1 :])
            ):
                return float((edges[i] + edges[i + 1]) / 2)
            return None
        j += 1
    return None


def _top(img: np.ndarray, region: np.ndarray | None) -> float:
    vals = img[region.astype(bool)] if region is not None and region.any() else img
    return float(np.percentile(vals, 99.95))


def metal_core_threshold(
    pixels: np.ndarray, bodies: dict[Level, np.ndarray] | None = None, region: np.ndarray | None = None
) -> float:
    """Intensity every metal piece must reach somewhere: :data:`METAL_CORE_FRACTION` of the way from the bone level to
    the top of the intensity range (99.95th percentile)."""
    img = np.asarray(pixels, np.float32)
    inside = np.zeros(img.shape, bool)
    for poly in (bodies or {}).values():
        m = np.zeros(img.shape, np.uint8)
        cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
        inside |= m.astype(bool)
    bone = float(np.median(img[inside])) if inside.sum() > 50 else float(np.percentile(img, 90))
    return bone + METAL_CORE_FRACTION * max(_top(img, region) - bone, 1e-6)


def _line_kernel(length: int, angle_deg: float) -> np.ndarray:
    k = np.zeros((length, length), np.uint8)
    c = (length - 1) / 2
    a = math.radians(angle_deg)
    dx, dy = math.cos(a) * c, math.sin(a) * c
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1, 1)
    return k


def _axis_ends(coords_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Principal axis of a pixel cloud: the two extreme points on the axis, the unit direction and the mean width."""
    c = coords_xy.mean(0)
    u, s, vt = np.linalg.svd(coords_xy - c, full_matrices=False)
    d = vt[0]
    t = (coords_xy - c) @ d
    lo, hi = c + d * t.min(), c + d * t.max()
    length = float(t.max() - t.min()) + 1.0
    width = len(coords_xy) / length
    return lo, hi, d, width


def _polyline(coords_xy: np.ndarray, step: float) -> list[Point]:
    c = coords_xy.mean(0)
    _, _, vt = np.linalg.svd(coords_xy - c, full_matrices=False)
    d, n = vt[0], np.array([-vt[0][1], vt[0][0]])
    t, o = (coords_xy - c) @ d, (coords_xy - c) @ n
    edges = np.arange(t.min(), t.max() + step, step)
    pts = []
    for a, b in zip(edges, edges[1:], strict=False):
        sel = (t >= a) & (t < b)
        if sel.any():
            pts.append(c + d * t[sel].mean() + n * np.median(o[sel]))  # median: screws crossing the rod
    return [(float(p[0]), float(p[1])) for p in pts]


def _contains(poly: np.ndarray, p: np.ndarray) -> bool:
    return cv2.pointPolygonTest(poly.astype(np.float32), (float(p[0]), float(p[1])), False) >= 0


def _collinear_pairs(pieces: list[dict], max_gap: float) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Pairs of pieces lying on one line with a gap < max_gap: (i, j, facing end of i, facing end of j)."""
    pairs = []
    for i in range(len(pieces)):
        for j in range(i + 1, len(pieces)):
            a, b = pieces[i], pieces[j]
            cosang = abs(float(a["dir"] @ b["dir"]))
            if cosang < math.cos(math.radians(COLLINEAR_DEG)):
                continue
            ends = [(p, q) for p in a["ends"] for q in b["ends"]]
            p, q = min(ends, key=lambda e: float(np.hypot(*(e[0] - e[1]))))
            gap = float(np.hypot(*(p - q)))
            if gap > max_gap or gap < 1.0:
                continue
            # the gap must continue the pieces' line, not jump sideways
            d = a["dir"] + np.sign(float(a["dir"] @ b["dir"])) * b["dir"]
            d /= np.hypot(*d)
            side = abs(float((q - p) @ np.array([-d[1], d[0]])))
            if side > max(a["width"], b["width"]) * 1.5:
                continue
            pairs.append((i, j, p, q))
    return pairs


def detect_implants(radiograph: Radiograph, landmarks: Landmarks | None = None) -> Implants:
    """Find screws, rods and the interbody cage on a post-operative lateral or AP film.

    Parameters
    ----------
    radiograph : Radiograph
        Higher pixel value = more attenuation (metal brightest).
    landmarks : Landmarks | None
        Corner landmarks of the same film (pixels). They give the bone intensity, the spine axis, the scale, which
        vertebra each screw sits in and the L5-S1 disc space where the cage is looked for. Without them, the film
        centre region and 1/12 of the shorter image side are used and screws get no level.

    Returns
    -------
    Implants
        Pixel geometry. An empty result (no metal) is valid: a pre-operative film.
    """
    img = np.asarray(radiograph.pixels, np.float32)
    bodies = body_polygons(landmarks) if landmarks is not None else {}
    warnings: list[str] = []
    if landmarks is None:
        warnings.append("No landmarks: screw levels and the cage region are not known.")
    region = None
    if bodies:  # implants sit around the instrumented spine, not in the far pelvis, the femoral heads or the markers
        near = [bodies[lv] for lv in (Level.L4, Level.L5, Level.S1) if lv in bodies] or list(bodies.values())
        hull = cv2.convexHull(np.vstack(near).astype(np.float32)).reshape(-1, 2)
        centre = hull.mean(0)
        region = np.zeros(img.shape, np.uint8)
        cv2.fillPoly(region, [np.round(centre + (hull - centre) * SPINE_REGION_GROWTH).astype(np.int32)], 1)
        # smooth before thresholding so noise does not break thin metal into speckles
        img = np.asarray(
            cv2.GaussianBlur(img, (0, 0), SEGMENT_SMOOTH_FRACTION * _scale_px(bodies, img.shape)), np.float32
        )
    valley = metal_valley(img, bodies, region)
    if valley is not None:
        # the metal is a separate cluster at the top of the intensity range (opaque titanium): cut in the empty valley
        thr = core = valley
    else:
        thr = metal_threshold(img, bodies, region=region)
        if (
            bodies
            and thr >= _top(img, region)
            and _clips_like_hardware(radiograph, region, _scale_px(bodies, img.shape))
        ):
            # bright bone close under the top of the range leaves too little headroom for the compressed rule, but a
            # hardware-sized area clips: titanium at the clip value (the clipping rule below keeps only metal that does)
            thr = metal_threshold(img, bodies, region=region, headroom_guard=False)
        # On a film whose bright end is compressed (windowed or saturated: the threshold came from the top of the
        # range), dense bone reaches the threshold too: then each metal piece must also reach close to the top.
        compressed = thr < metal_threshold(img, bodies, compressed_rule=False)
        core = max(thr, metal_core_threshold(img, bodies, region)) if compressed else thr
    metal = filters.apply_hysteresis_threshold(img, thr, core).astype(np.uint8)
    scale = _scale_px(bodies, img.shape) if bodies else _scale_from_metal(metal, img.shape)
    if region is not None:
        metal &= region
    min_area = max(6, int((0.02 * scale) ** 2))
    metal = _drop_small(metal, min_area)

    # rods: long straight runs along the spine axis
    axis = _spine_axis(bodies)
    axis_deg = math.degrees(math.atan2(axis[1], axis[0]))
    length = max(5, int(round(ROD_OPENING_FRACTION * scale)) | 1)
    rod_mask = np.zeros_like(metal)
    for da in ROD_ANGLES_DEG:
        rod_mask |= cv2.morphologyEx(metal, cv2.MORPH_OPEN, _line_kernel(length, axis_deg + da))
    rods, rod_width = _rods(rod_mask, scale, check_width=bool(bodies))
    ap_screws: list[Screw] = []
    if radiograph.view is View.AP:
        centres = [bodies[lv].mean(0) for lv in (Level.L5, Level.S1) if lv in bodies]
        midline = np.mean(centres, axis=0) if centres else None
        sides: list[tuple[np.ndarray, tuple[int, int], np.ndarray]] = []
        ap_rods = _ap_rods(metal, img, axis, scale, midline, sides)
        if ap_rods:
            rods = ap_rods
            if bodies and midline is not None:
                ap_screws = _ap_screws(sides, bodies, midline, axis, scale)
    # screws: elongated pieces of what is left
    grow = max(1, int(round(rod_width * 0.6)))
    grown_rods = cv2.dilate(rod_mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    rest = (metal.astype(bool) & ~grown_rods.astype(bool)).astype(np.uint8)
    rest = _drop_small(rest, min_area)
    screws, leftovers = _screws(rest, bodies, scale, _disc_region(bodies, 1.0))
    metal_labels = measure.label(metal > 0, connectivity=2)
    screws = [_confirm_break(sc, metal_labels) for sc in screws]
    if ap_screws:
        # a screw is no wider than SCREW_DIAMETER_RANGE allows (dense bone routed as a "screw" can be a body wide)
        screws = [sc for sc in ap_screws if not bodies or _plausible_width(sc.diameter_px, scale)]
    elif bodies and radiograph.view is not View.AP:
        # a level whose threshold screw has an implausible length (a piece of it, or screw + head + rod) takes the
        # screw found from the body outwards when that one's length is plausible
        def plausible(sc: Screw) -> bool:
            return _plausible_length(sc, radiograph.spacing, scale)

        for lv, routed in _lateral_screws(metal, bodies, scale).items():
            same = [sc for sc in screws if sc.level is lv]
            if plausible(routed) and not any(plausible(sc) for sc in same):
                screws = [sc for sc in screws if sc.level is not lv] + [routed]
        screws.sort(key=screw_order)
    cage = _cage(leftovers, bodies, scale, img.shape)
    raw = np.asarray(radiograph.pixels, np.float32)
    clip = _clip_value(raw, region) if valley is None else None
    bone_level = _bone_level(raw, bodies)
    if clip is not None:  # no metal gap on a clipping film: keep only metal that clips (titanium), not dense bone
        screws, rods = _clipped_only(raw, screws, rods, clip, bone_level, region, warnings)
    elif valley is None:  # neither a gap nor clipping: keep only metal that stands out of the bone beside it
        screws, rods = _standing_out_only(raw, screws, rods, bone_level, warnings)
    if landmarks is not None and radiograph.view is not View.AP and (screws or rods or cage is not None):
        screws = _fill_by_fit(radiograph, landmarks, bodies, scale, screws, warnings)
        if clip is not None:
            screws, _ = _clipped_only(raw, screws, [], clip, bone_level, region, warnings)
        elif valley is None:
            screws, _ = _standing_out_only(raw, screws, [], bone_level, warnings)
    if bodies and radiograph.view is not View.AP:
        kept = [sc for sc in screws if _along_the_body(sc, bodies)]
        if len(kept) < len(screws):
            warnings.append(
                f"{len(screws) - len(kept)} screw candidate(s) refused: more than {LATERAL_SCREW_MAX_TILT_DEG:.0f} deg "
                "from their vertebra's antero-posterior axis (a vertebral wall or another bone edge, not a screw)."
            )
        screws = kept
    if bodies and rods and not screws:
        # a rod is fixed to pedicle screws: a lone "rod" is a bright bone edge that survived the rules above (seen on
        # the simulator's pre-operative lateral films whose dense bone clips along a posterior element)
        warnings.append(f"{len(rods)} rod candidate(s) refused: no screw on the film.")
        rods = []
    screws = [_refined(s, raw, shaft_only=radiograph.view is View.AP) for s in screws]
    if radiograph.view is View.AP:
        # Each candidate's tip where its route ended, judged against the other screws' metal up to their half-height
        # tips: a mask tip can run on through bright bone beyond the metal (the sacrum's anterior cortex), past where
        # a converging screw's metal ends, and a head piece has no axis to move its own tip along. The kept screws
        # then take their half-height tips, and the level of the body that holds the tip.
        moved = [_ap_tip_at_half_height(s, raw, thr) for s in screws]
        kept = [m for i, (s, m) in enumerate(zip(screws, moved, strict=True)) if not _tip_on_another(s.tip, i, moved)]
        if len(kept) < len(screws):
            warnings.append(
                f"{len(screws) - len(kept)} screw candidate(s) refused: the tip lies inside another screw's metal "
                "(that screw's head and the rod, not a screw)."
            )
        screws = sorted((_level_at_tip(s, bodies) for s in kept), key=screw_order)
    return Implants(
        tuple(screws), tuple(rods), cage, film_id(radiograph), radiograph.view, radiograph.spacing, thr, tuple(warnings)
    )


def screw_order(screw: Screw) -> tuple[int, float]:
    """The order screws are listed in: by level top to bottom (no level last), then by head x (image left first)."""
    return (screw.level.index if screw.level else 99, screw.head[0])


def _ap_tip_at_half_height(screw: Screw, raw: np.ndarray, metal_cut: float = -np.inf) -> Screw:
    """AP screw: the tip moved along the axis to the half-height point of the metal's end (:data:`AP_TIP_LEVEL`,
    :data:`AP_TIP_SEARCH`), or to where the intensity falls under ``metal_cut`` (the film's metal threshold) when that
    comes first (a threshold above half-height: nothing beyond it was taken for metal anyway); unchanged when the
    intensity along the axis does not fall to that level in the search range (no end seen), the metal does not
    stand above the bone beside the tip, or the screw is broken (its gap would cut the distal piece off).

    Units: the level is a fraction of this film's own metal-over-bone contrast at this screw, so a threshold placed
    just above the brightest bone (a valley in the histogram) does not let bright bone touching the tip (which the
    mask includes) set where the tip is.
    """
    if screw.broken:  # the intensity falls in the break's gap: the distal piece would be cut off
        return screw
    h, t = np.asarray(screw.head, float), np.asarray(screw.tip, float)
    length = float(np.hypot(*(t - h)))
    w = max(screw.diameter_px, 2.0)
    if length < 4:
        return screw
    u = (t - h) / length
    n = np.array([-u[1], u[0]])
    step = 0.25
    s = np.arange(0.4 * length, length + AP_TIP_SEARCH[1] * w, step)
    core = _core_values(raw, h + s[:, None] * u, n, w)
    metal = float(np.median(core[s <= 0.7 * length]))
    along = np.arange(0.7 * length, 0.95 * length, 1.0)
    bone = float(np.median(_flank_values(raw, h + along[:, None] * u, n, w))) if along.size else metal
    if metal <= bone:
        return screw
    level = min(max(bone + AP_TIP_LEVEL * (metal - bone), metal_cut), metal)
    below = np.flatnonzero((core < level) & (s > AP_TIP_SEARCH[0] * length))
    if len(below) == 0 or below[0] == 0:
        return screw
    # The crossing: the last sample still at or above the level before the first one under it past the search start
    # (it may lie a little before that start, as in a gap; interpolating with a sample already under the level gave
    # a tip extrapolated backwards, or (-inf, nan) across a flat stretch).
    above = np.flatnonzero(core[: int(below[0])] >= level)
    if len(above) == 0:
        return screw
    j = int(above[-1])
    end = s[j] + (core[j] - level) / (core[j] - core[j + 1]) * step
    return dataclasses.replace(screw, tip=_pt(h + end * u))


def _level_at_tip(screw: Screw, bodies: dict[Level, np.ndarray]) -> Screw:
    """The screw with :attr:`Screw.level` the body whose outline (pixel polygon) holds its tip, when one does;
    otherwise unchanged. An AP screw's level comes from the body its metal mask reached into; once its tip has moved
    to the metal's end (:func:`_ap_tip_at_half_height`) the tip can lie in another body (a mask that ran on through
    bone bridging the disc)."""
    tip = np.asarray(screw.tip, float)
    if screw.level in bodies and _contains(bodies[screw.level], tip):
        return screw
    inside = [lv for lv, poly in bodies.items() if _contains(poly, tip)]
    return dataclasses.replace(screw, level=inside[0]) if len(inside) == 1 else screw


AP_TIP_ON_SCREW = 0.5
"""An AP "screw" whose tip lies within this x the other screw's width of another screw's centre line (from one width
behind its head to its tip) is that screw's head (the tulip) and the rod: screws do not run into each other, and a
tip sits in bone. Seen where the rod's cranial end and the L5 head lie inside the L4 body outline (a short vertical
"L4 screw" with no axis, on the simulator's AP films of every version since 17)."""


def _tip_on_another(tip: Point, index: int, screws: list[Screw]) -> bool:
    """``tip`` (pixel ``(x, y)``) lies inside the metal of one of ``screws`` other than ``screws[index]``: within
    :data:`AP_TIP_ON_SCREW` x its width of its centre line, from one width behind its head to its tip."""
    p = np.asarray(tip, float)
    for j, b in enumerate(screws):
        if j == index:
            continue
        bh, bt = np.asarray(b.head, float), np.asarray(b.tip, float)
        length = float(np.hypot(*(bt - bh)))
        if length < 1:
            continue
        u = (bt - bh) / length
        along = float((p - bh) @ u)
        across = abs(float((p - bh) @ np.array([-u[1], u[0]])))
        if -b.diameter_px <= along <= length and across <= AP_TIP_ON_SCREW * b.diameter_px:
            return True
    return False


def _along_the_body(screw: Screw, bodies: dict[Level, np.ndarray]) -> bool:
    """Lateral film: the screw's axis is within :data:`LATERAL_SCREW_MAX_TILT_DEG` of its vertebra's antero-posterior
    axis (mid-anterior to mid-posterior wall of the body outline); a screw without a level or body passes."""
    if screw.level is None or screw.level not in bodies:
        return True
    poly = bodies[screw.level]
    ap = (poly[1] + poly[2]) / 2 - (poly[0] + poly[3]) / 2
    n = float(np.hypot(*ap))
    if n < 1e-9:
        return True
    cos = abs(float(np.dot(screw.axis, ap / n)))
    return cos >= math.cos(math.radians(LATERAL_SCREW_MAX_TILT_DEG))


def _confirm_break(screw: Screw, labels: np.ndarray) -> Screw:
    """A screw found in two collinear pieces is broken only when its two pieces are separate pieces of the metal itself
    (``labels``: connected components of the metal mask). The pieces are cut from the metal minus the grown rod mask,
    so on a lateral film a rod or head crossing an intact screw also splits it, while both parts stay joined through
    the rod and heads (seen on the simulator's 1000 x 1250 px adjacent-segment journey: a false break). A real break
    leaves the distal part isolated in bone."""
    if not screw.broken or screw.gap is None:
        return screw
    found = []
    for end in screw.gap:
        x, y = (int(round(v)) for v in end)
        win = labels[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3]
        vals = win[win > 0]
        found.append(int(np.bincount(vals).argmax()) if vals.size else 0)
    if found[0] > 0 and found[0] == found[1]:
        return dataclasses.replace(screw, broken=False, gap=None)
    return screw


def _clips_like_hardware(radiograph: Radiograph, region: np.ndarray | None, scale: float) -> bool:
    """The display clips (:func:`_clip_value`) over at least :data:`CLIPPED_HARDWARE_AREA` x scale^2 of the spine
    region: an L5-S1 construct's titanium, not spots of dense bone."""
    raw = np.asarray(radiograph.pixels, np.float32)
    clip = _clip_value(raw, region)
    if clip is None:
        return False
    vals = raw[region.astype(bool)] if region is not None and region.any() else raw
    return int(np.count_nonzero(vals >= clip)) >= CLIPPED_HARDWARE_AREA * scale**2


def _clip_value(raw: np.ndarray, region: np.ndarray | None) -> float | None:
    """The value at which the film's display clips (the maximum inside the spine region, when at least
    :data:`CLIP_MIN_PIXELS` pixels sit there), else ``None``."""
    vals = raw[region.astype(bool)] if region is not None and region.any() else raw.ravel()
    top = float(vals.max())
    return top if int((vals >= top).sum()) >= CLIP_MIN_PIXELS else None


def _keep_by_middle(
    screws: list[Screw],
    rods: list[Rod],
    score: Callable[[np.ndarray, np.ndarray, float, tuple[tuple[Point, Point], ...]], float],
    need: float,
    warnings: list[str],
    why: str,
) -> tuple[list[Screw], list[Rod]]:
    """The screws and rods whose ``score(centre, normal, width_px, gaps)`` over the middle of their length (20-80 %,
    1 px steps: centre-line points (N, 2) and unit normals (N, 2)) reaches ``need``; screws shorter than 1 px go.
    When something is refused, a warning saying how many and ``why`` is appended to ``warnings``."""
    kept_screws = []
    for sc in screws:
        h, t = np.asarray(sc.head, float), np.asarray(sc.tip, float)
        length = float(np.hypot(*(t - h)))
        if length < 1:
            continue
        u = (t - h) / length
        s = np.arange(0.2 * length, 0.8 * length, 1.0)
        normal = np.repeat([[-u[1], u[0]]], len(s), axis=0)
        gaps = (sc.gap,) if sc.gap is not None else ()
        if score(h + s[:, None] * u, normal, sc.diameter_px, gaps) >= need:
            kept_screws.append(sc)
    kept_rods = []
    for rod in rods:
        pts, dirs = _resample(rod.polyline, 1.0)
        n = len(pts)
        mid = slice(int(0.2 * n), max(int(0.8 * n), int(0.2 * n) + 1))
        normal = np.c_[-dirs[:, 1], dirs[:, 0]]
        if score(pts[mid], normal[mid], rod.diameter_px, rod.gaps) >= need:
            kept_rods.append(rod)
    dropped = len(screws) - len(kept_screws) + len(rods) - len(kept_rods)
    if dropped:
        warnings.append(f"{dropped} screw or rod candidate(s) refused: {why}.")
    return kept_screws, kept_rods


def _core_clipped_share(
    raw: np.ndarray,
    centre: np.ndarray,
    normal: np.ndarray,
    width: float,
    level: float,
    gaps: tuple[tuple[Point, Point], ...] = (),
) -> float:
    """Share of the centre-line points (N, 2) whose core (the maximum across +/-0.3 widths along ``normal``) reaches
    ``level``; points inside a gap (between its two facing ends, plus one width) are not counted."""
    keep = np.ones(len(centre), bool)
    for a, b in gaps:
        a_, b_ = np.asarray(a, float), np.asarray(b, float)
        d = b_ - a_
        n = float(d @ d)
        t = ((centre - a_) @ d) / n if n > 1e-9 else np.zeros(len(centre))
        foot = a_ + np.clip(t, 0.0, 1.0)[:, None] * d
        keep &= np.hypot(*(centre - foot).T) > width
    if not keep.any():
        return 0.0
    core = _core_values(raw, centre[keep], normal[keep], width)
    return float(np.mean(core >= level))


def _clipped_only(
    raw: np.ndarray,
    screws: list[Screw],
    rods: list[Rod],
    clip: float,
    bone: float,
    region: np.ndarray | None,
    warnings: list[str],
) -> tuple[list[Screw], list[Rod]]:
    """Screws and rods whose core clips along :data:`CLIP_CORE_SHARE` of their middle (see there); a warning when
    something was refused. "Clips" = within :data:`CLIP_TOLERANCE` of (clip - bone), or two noise SDs of the
    unclipped pixels, of the clip value."""
    inside = region.astype(bool) if region is not None and region.any() else np.ones(raw.shape, bool)
    resid = (raw - cv2.GaussianBlur(raw, (0, 0), 1.0))[inside & (raw < clip)]
    noise = 1.4826 * float(np.median(np.abs(resid))) if resid.size else 0.0
    level = clip - max(CLIP_TOLERANCE * max(clip - bone, 1e-6), 2.0 * noise)
    return _keep_by_middle(
        screws,
        rods,
        lambda c, n, w, g: _core_clipped_share(raw, c, n, w, level, g),
        CLIP_CORE_SHARE,
        warnings,
        "the film clips but their core does not (dense bone, not near-opaque metal)",
    )


def _local_contrast(
    raw: np.ndarray,
    centre: np.ndarray,
    normal: np.ndarray,
    width: float,
    gaps: tuple[tuple[Point, Point], ...] = (),
) -> float:
    """Median core value (maximum across +/-0.3 widths) along the centre-line points (N, 2) minus the median of the
    flanks 1-1.5 widths beyond the metal edge on both sides (``normal``: unit normals, (N, 2)); points inside a gap
    are left out. NaN when no point is left."""
    keep = np.ones(len(centre), bool)
    for a, b in gaps:
        a_, b_ = np.asarray(a, float), np.asarray(b, float)
        d = b_ - a_
        n = float(d @ d)
        t = ((centre - a_) @ d) / n if n > 1e-9 else np.zeros(len(centre))
        keep &= np.hypot(*(centre - (a_ + np.clip(t, 0.0, 1.0)[:, None] * d)).T) > width
    if not keep.any():
        return float("nan")
    c, nrm = centre[keep], normal[keep]
    return float(np.median(_core_values(raw, c, nrm, width)) - np.median(_flank_values(raw, c, nrm, width)))


def _core_values(raw: np.ndarray, centre: np.ndarray, normal: np.ndarray, width: float) -> np.ndarray:
    """The metal's core at each centre-line point (N, 2), pixel ``(x, y)``: the maximum of ``raw`` (bilinear) over 5
    points across +/-0.3 ``width`` (px) along ``normal`` (unit normals, (N, 2), or one (2,) for all points). (N,)."""
    offs = np.linspace(-0.3 * width, 0.3 * width, 5)
    nrm = np.broadcast_to(normal, centre.shape)
    pts = centre[:, None, :] + offs[None, :, None] * nrm[:, None, :]
    return ndimage.map_coordinates(raw, [pts[..., 1], pts[..., 0]], order=1, mode="nearest").max(1)


def _flank_values(raw: np.ndarray, centre: np.ndarray, normal: np.ndarray, width: float) -> np.ndarray:
    """``raw`` (bilinear) beside the metal at the centre-line points (N, 2): :data:`LOCAL_FLANK_WIDTHS` widths beyond
    its edge (half a ``width`` from the centre line) on both sides along ``normal`` ((N, 2) or (2,)); all samples,
    (2 x len(LOCAL_FLANK_WIDTHS) x N,)."""
    flank = []
    for sign in (-1.0, 1.0):
        for k in LOCAL_FLANK_WIDTHS:
            q = centre + sign * (0.5 + k) * width * normal
            flank.append(ndimage.map_coordinates(raw, [q[:, 1], q[:, 0]], order=1, mode="nearest"))
    return np.concatenate(flank)


def _standing_out_only(
    raw: np.ndarray, screws: list[Screw], rods: list[Rod], bone: float, warnings: list[str]
) -> tuple[list[Screw], list[Rod]]:
    """Film with neither a metal gap nor clipping: screws and rods whose core stands above the bone beside them by at
    least :data:`LOCAL_METAL_CONTRAST` x (bone level - background, the 5th percentile), over their middle (20-80 % of
    the length); a warning when something was refused. See :data:`LOCAL_METAL_CONTRAST`."""
    background = float(np.percentile(raw, 5))
    need = LOCAL_METAL_CONTRAST * max(bone - background, 1e-6)
    return _keep_by_middle(
        screws,
        rods,
        lambda c, n, w, g: _local_contrast(raw, c, n, w, g),
        need,
        warnings,
        "no metal gap, no clipping, and they do not stand out of the bone beside them (dense bone, not metal)",
    )


def _fill_by_fit(
    radiograph: Radiograph,
    landmarks: Landmarks,
    bodies: dict[Level, np.ndarray],
    scale: float,
    screws: list[Screw],
    warnings: list[str],
) -> list[Screw]:
    """Lateral film with metal: L5 and S1 screws the threshold did not find are looked for with the model-based
    matched filter (:func:`fusionwatch.implants.fit.fit_lateral_screw`); one screw stands for the superimposed pair."""
    from fusionwatch.implants.fit import fit_lateral_screw

    img = np.asarray(radiograph.pixels, np.float32)
    inside = np.zeros(img.shape, np.uint8)
    for poly in bodies.values():
        cv2.fillPoly(inside, [np.round(poly).astype(np.int32)], 1)
    if inside.sum() < 50:
        return screws
    levels = (float(np.median(img[inside > 0])), float(np.percentile(img, 5)))
    out = list(screws)
    for lv in (Level.L5, Level.S1):
        if lv not in bodies:
            continue
        fit = fit_lateral_screw(radiograph, landmarks, bodies, lv, scale, levels)
        if fit is None:
            continue
        fitted = Screw(_pt(fit.head), _pt(fit.tip), float(fit.width_px), lv, fitted=True)
        same = [s for s in out if s.level is lv]
        agree = [s for s in same if _agrees(s, fitted, scale)]
        if agree:  # the threshold found this screw: its metal edges are the sharper estimate
            out = [s for s in out if s.level is not lv or s in agree[:1]]
            continue
        if same:
            # titanium is near-opaque on real films (and on the simulator since version 10): the threshold's screw is
            # the metal itself, and the bar fit (made for metal barely above the bone) only fills a level it missed
            out = [s for s in out if s.level is not lv or s is max(same, key=lambda q: q.length_px)]
            continue
        out = [s for s in out if s.level is not lv] + [fitted]
        warnings.append(f"{lv.value} screw placed by the model-based fit (metal not separable by a threshold).")
    out.sort(key=screw_order)
    return out


def _agrees(a: Screw, b: Screw, scale: float) -> bool:
    """Same screw: tips within 0.1 endplate lengths and axes within :data:`AGREE_DEG` (the kept screw's axis is then
    refined on its metal edges, :func:`_refined`)."""
    cos = abs(float(np.dot(a.axis, b.axis)))
    return math.dist(a.tip, b.tip) < 0.1 * scale and cos > math.cos(math.radians(AGREE_DEG))


def _refined(screw: Screw, img: np.ndarray, shaft_only: bool = False) -> Screw:
    """The screw with its axis refitted on its metal edges and the axis SD (unchanged when the edges do not fit)."""
    from fusionwatch.implants.fit import refine_screw_edges

    got = refine_screw_edges(
        img, np.asarray(screw.head), np.asarray(screw.tip), screw.diameter_px, shaft_only=shaft_only
    )
    if got is None or not math.isfinite(got[3]):
        return screw
    head, tip, _, sd = got
    return Screw(_pt(head), _pt(tip), screw.diameter_px, screw.level, screw.broken, screw.gap, sd, screw.fitted)


def _drop_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[lab].astype(np.uint8)


def _pieces(mask: np.ndarray) -> list[dict]:
    out = []
    for r in measure.regionprops(measure.label(mask, connectivity=2)):
        xy = r.coords[:, ::-1].astype(float)  # (row, col) -> (x, y)
        if len(xy) < 3:
            continue
        lo, hi, d, width = _axis_ends(xy)
        out.append(
            {
                "xy": xy,
                "ends": (lo, hi),
                "dir": d,
                "width": width,
                "length": float(np.hypot(*(hi - lo))),
                "area": len(xy),
                "centroid": xy.mean(0),
            }
        )
    return out


def _rods(rod_mask: np.ndarray, scale: float, check_width: bool = True) -> tuple[list[Rod], float]:
    pieces = [
        p
        for p in _pieces(rod_mask)
        if p["length"] >= MIN_ELONGATION * p["width"] and (not check_width or _plausible_width(p["width"], scale))
    ]
    if not pieces:
        return [], 0.0
    groups = {i: [i] for i in range(len(pieces))}
    gaps: dict[int, list[tuple[Point, Point]]] = {i: [] for i in range(len(pieces))}
    for i, j, p, q in _collinear_pairs(pieces, max_gap=ROD_MAX_GAP_FRACTION * scale):
        gi = next(k for k, v in groups.items() if i in v)
        gj = next(k for k, v in groups.items() if j in v)
        if gi != gj:
            groups[gi] += groups.pop(gj)
            gaps[gi] += gaps.pop(gj)
        gaps[gi].append(((float(p[0]), float(p[1])), (float(q[0]), float(q[1]))))
    rods = []
    for k, members in groups.items():
        xy = np.vstack([pieces[m]["xy"] for m in members])
        width = float(np.median([pieces[m]["width"] for m in members]))
        rods.append(Rod(tuple(_polyline(xy, max(2.0, width))), width, tuple(gaps[k])))
    return rods, float(np.median([r.diameter_px for r in rods]))


def _resample(polyline: tuple[Point, ...], step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` px along a polyline, and the unit direction at each, (N, 2) each."""
    pts = np.asarray(polyline, float)
    seg = np.diff(pts, axis=0)
    seg_len = np.hypot(*seg.T)
    keep = seg_len > 1e-9
    pts = np.vstack([pts[:1], pts[1:][keep]])
    seg, seg_len = seg[keep], seg_len[keep]
    if len(seg) == 0:
        return np.empty((0, 2)), np.empty((0, 2))
    cum = np.r_[0.0, np.cumsum(seg_len)]
    s = np.arange(0.0, cum[-1] + 1e-9, step)
    i = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
    frac = (s - cum[i]) / seg_len[i]
    return pts[i] + seg[i] * frac[:, None], seg[i] / seg_len[i, None]


def _ap_rods(
    metal: np.ndarray,
    img: np.ndarray,
    axis: np.ndarray,
    scale: float,
    midline: np.ndarray | None = None,
    sides: list[tuple[np.ndarray, tuple[int, int], np.ndarray]] | None = None,
) -> list[Rod]:
    """AP film: one rod per side, as the ridge path through that side's metal from its cranial to its caudal end.

    On an AP film each side's rod, screw heads and screws are one piece of metal (the converging screws leave the heads
    medially), so a line opening cannot separate the rod. Each side of the midline is closed with lines of
    :data:`ROD_MAX_GAP_FRACTION` x the scale within :data:`AP_CLOSE_ANGLES_DEG` of the spine axis (gaps up to that size
    along the rod are bridged), each piece long enough along the
    spine axis (:data:`ROD_OPENING_FRACTION`) is a side, and its centre line is the cheapest path between its
    extreme points along the spine axis when every pixel costs 1 / (distance to the metal edge): the path keeps to the
    middle of the metal, through the screw heads and along the rod. Gaps are where the path crosses bridged pixels
    (mask gaps) or where the intensity dips along it (:func:`_rod_with_dips`)."""
    from skimage.graph import route_through_array

    r = max(1, int(round(0.5 * ROD_MAX_GAP_FRACTION * scale)))
    axis_deg = math.degrees(math.atan2(axis[1], axis[0]))
    # each side on its own (the midline: through the centre of the metal, along the spine axis), so that closing
    # cannot bridge the left and right hardware through screw tips that converge near the midline or a cage
    ys, xs = np.nonzero(metal)
    if len(xs) == 0:
        return []
    centre = np.array([xs.mean(), ys.mean()]) if midline is None else np.asarray(midline, float)
    yy, xx = np.mgrid[0 : metal.shape[0], 0 : metal.shape[1]]
    side = ((xx - centre[0]) * axis[1] - (yy - centre[1]) * axis[0]) > 0
    pieces = []
    for half in (side, ~side):
        m = metal & half.astype(np.uint8)
        closed = m.copy()
        for da in AP_CLOSE_ANGLES_DEG:  # a line closing bridges a gap along the rod; a disc would need to be wider
            closed |= cv2.morphologyEx(m, cv2.MORPH_CLOSE, _line_kernel(2 * r + 1, axis_deg + da))
        closed &= half.astype(np.uint8)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        pieces += [(lab, stats[k, :4], k) for k in range(1, n)]
    rods = []
    for lab, (x0, y0, w, h), k in pieces:
        sub = (lab[y0 : y0 + h, x0 : x0 + w] == k).astype(np.uint8)
        ys, xs = np.nonzero(sub)
        t = (xs + x0) * axis[0] + (ys + y0) * axis[1]
        if float(t.max() - t.min()) < ROD_OPENING_FRACTION * scale:
            continue
        sub_metal = sub & metal[y0 : y0 + h, x0 : x0 + w]
        dist = cv2.distanceTransform(np.pad(sub_metal, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        # bridged (closed, not metal) pixels are crossed only where the metal offers no way round: a gap
        cost = np.where(sub_metal > 0, 1.0 / (dist + 0.5), np.where(sub > 0, BRIDGE_COST, 1e6))
        i0, i1 = int(np.argmin(t)), int(np.argmax(t))
        path, _ = route_through_array(cost, (ys[i0], xs[i0]), (ys[i1], xs[i1]), fully_connected=True, geometric=True)
        path = np.asarray(path, float)[:, ::-1] + [x0, y0]  # (row, col) -> (x, y), full image
        if len(path) < 8:
            continue
        smooth = np.c_[
            np.convolve(np.pad(path[:, 0], 2, mode="edge"), np.ones(5) / 5, "valid"),
            np.convolve(np.pad(path[:, 1], 2, mode="edge"), np.ones(5) / 5, "valid"),
        ]
        step = max(2, int(round(len(smooth) / 40)))
        poly = [_pt(q) for q in smooth[::step]] + ([_pt(smooth[-1])] if (len(smooth) - 1) % step else [])
        ridge = dist[path[:, 1].astype(int) - y0, path[:, 0].astype(int) - x0]
        width = 2.0 * float(np.median(ridge))
        on_metal = metal[path[:, 1].astype(int), path[:, 0].astype(int)] > 0
        gaps: list[tuple[Point, Point]] = []
        lab_gap, n_gap = _runs(~on_metal)
        for g in range(1, n_gap + 1):
            idx = np.flatnonzero(lab_gap == g)
            a, b = idx[0], idx[-1]
            if a == 0 or b == len(path) - 1:
                continue
            gaps.append((_pt(path[a - 1]), _pt(path[b + 1])))
        rods.append(_rod_with_dips(Rod(tuple(poly), width, tuple(gaps)), img, metal))
        if sides is not None:
            sides.append((sub_metal, (int(x0), int(y0)), path))
    rods.sort(key=lambda rod: float(np.mean([p[0] for p in rod.polyline])))
    return rods


def _ap_screws(
    sides: list[tuple[np.ndarray, tuple[int, int], np.ndarray]],
    bodies: dict[Level, np.ndarray],
    midline: np.ndarray,
    axis: np.ndarray,
    scale: float,
) -> list[Screw]:
    """AP film: pedicle screws as the metal that reaches into a vertebral body from its side's rod.

    For each side's metal (:func:`_ap_rods`) and each body outline it enters, the tip is the metal pixel inside the
    body nearest the midline (converging screws point medially); the screw runs from there along the cheapest path
    through the metal (cost 1 / distance to the edge) back to the rod's centre line, and ends where that path enters
    the screw head (the metal grows wider than :data:`AP_HEAD_WIDENING` x the shaft). Screws shorter than
    :data:`AP_SCREW_MIN_FRACTION` of the scale are dropped."""
    out = []
    normal = np.array([axis[1], -axis[0]])
    for sub, (x0, y0), path in sides:
        h, w = sub.shape
        dist = cv2.distanceTransform(np.pad(sub, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        cost = np.where(sub > 0, 1.0 / (dist + 0.5), np.inf)
        # the rod's cranial end (the first point of the side's path): converging screws leave their heads medially
        # and caudally, so the way from a screw tip to it runs up the screw, through the head and along the rod
        top = (int(np.clip(path[0, 1] - y0, 0, h - 1)), int(np.clip(path[0, 0] - x0, 0, w - 1)))
        for lv, poly in bodies.items():
            m = np.zeros(sub.shape, np.uint8)
            cv2.fillPoly(m, [np.round(poly - [x0, y0]).astype(np.int32)], 1)
            ys, xs = np.nonzero(m.astype(bool) & (sub > 0))
            if len(xs) == 0:
                continue
            side_dist = np.abs((xs + x0 - midline[0]) * normal[0] + (ys + y0 - midline[1]) * normal[1])
            k = int(np.argmin(side_dist))
            tip = (int(ys[k]), int(xs[k]))
            screw = _screw_along_route(sub, dist, cost, tip, top, (x0, y0), lv, scale, head_peak=True)
            if screw is not None:
                out.append(screw)
    out.sort(key=screw_order)
    return out


def _screw_along_route(
    sub: np.ndarray,
    dist: np.ndarray,
    cost: np.ndarray,
    tip: tuple[int, int],
    target: tuple[int, int],
    origin: tuple[int, int],
    level: Level,
    scale: float,
    head_peak: bool = False,
) -> Screw | None:
    """The screw from ``tip`` (row, col in the crop ``sub`` at ``origin`` = (x0, y0)) along the cheapest path through
    the metal towards ``target``, up to where the metal widens into the head (:data:`AP_HEAD_WIDENING`; with
    ``head_peak``, AP screws, also at the head's first width peak, :data:`AP_HEAD_PEAK`); its axis is the
    principal axis of that stretch, its tip followed along the axis to the end of the metal."""
    from skimage.graph import MCP_Geometric

    h, w = sub.shape
    x0, y0 = origin
    mcp = MCP_Geometric(np.where(np.isfinite(cost), cost, 1e9), fully_connected=True)
    mcp.find_costs([tip], [target])
    route = np.asarray(mcp.traceback(target), float)  # tip -> target, (row, col)
    if len(route) < 4:
        return None
    widths = dist[route[:, 0].astype(int), route[:, 1].astype(int)]
    n_half = max(3, len(route) // 3)
    shaft_w = float(np.median(widths[1:n_half]))
    wide = widths > AP_HEAD_WIDENING * shaft_w
    if head_peak:  # or the first width peak of the head (the tulip), where the route turns into the rod
        ahead = np.array([widths[i + 1 : i + 1 + AP_HEAD_PEAK_PX].max(initial=0.0) for i in range(len(widths))])
        wide |= (widths >= AP_HEAD_PEAK * shaft_w) & (widths >= ahead)
    wide = np.flatnonzero(wide)
    wide = wide[wide >= n_half // 2]
    stop = int(wide[0]) if len(wide) else len(route) - 1
    shaft = route[: stop + 1][:, ::-1] + [x0, y0]  # (x, y)
    if len(shaft) < 3 or np.hypot(*(shaft[-1] - shaft[0])) < AP_SCREW_MIN_FRACTION * scale:
        return None
    c = shaft.mean(0)
    d = np.linalg.svd(shaft - c, full_matrices=False)[2][0]
    t = (shaft - c) @ d
    a_end, b_end = c + d * t.min(), c + d * t.max()
    tip_xy = np.array([tip[1] + x0, tip[0] + y0], float)
    near_b = np.hypot(*(b_end - tip_xy)) < np.hypot(*(a_end - tip_xy))
    head, tip_pt = (a_end, b_end) if near_b else (b_end, a_end)
    # the tip may lie beyond the body outline (a projected corner): follow the metal along the axis
    u = (tip_pt - head) / max(float(np.hypot(*(tip_pt - head))), 1e-9)
    q = tip_pt.copy()
    while True:
        nxt = q + 0.5 * u
        r, cc = int(round(nxt[1] - y0)), int(round(nxt[0] - x0))
        if not (0 <= r < h and 0 <= cc < w) or not sub[r, cc]:
            break
        q = nxt
    return Screw(_pt(head), _pt(q), 2.0 * shaft_w, level)


def _plausible_length(screw: Screw, spacing: Spacing | None, scale: float) -> bool:
    """A lateral screw's projected length is within :data:`LATERAL_SCREW_LENGTH_MM` (calibrated films) or within
    :data:`LATERAL_SCREW_LENGTH_FRACTION` of the endplate length (otherwise)."""
    if spacing is not None:
        lo, hi = LATERAL_SCREW_LENGTH_MM
        return lo <= screw.length_mm(spacing) <= hi
    lo, hi = LATERAL_SCREW_LENGTH_FRACTION
    return lo * scale <= screw.length_px <= hi * scale


def _lateral_screws(metal: np.ndarray, bodies: dict[Level, np.ndarray], scale: float) -> dict[Level, Screw]:
    """Lateral film: per instrumented body, the screw (the superimposed pair) as the metal reaching into it.

    The tip is the metal pixel inside the body farthest towards the anterior wall; the screw follows the metal from
    there towards the most posterior point of that piece of metal (the screw heads and the rod), up to where it widens
    into the head (:func:`_screw_along_route`). On films where the rod, heads and screws are one piece of metal (a
    line opening does not separate them), this keeps each screw to its own shaft."""
    out: dict[Level, Screw] = {}
    n, lab, stats, _ = cv2.connectedComponentsWithStats(metal.astype(np.uint8), connectivity=8)
    for lv in (Level.L4, Level.L5, Level.S1):
        if lv not in bodies:
            continue
        poly = bodies[lv]
        ant = (poly[0] + poly[3]) / 2 - (poly[1] + poly[2]) / 2
        ant = ant / max(float(np.hypot(*ant)), 1e-9)
        m = np.zeros(metal.shape, np.uint8)
        cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
        ys, xs = np.nonzero((m > 0) & (metal > 0))
        if len(xs) < 5:
            continue
        k = int(np.argmax(xs * ant[0] + ys * ant[1]))
        comp = lab[ys[k], xs[k]]
        x0, y0, w, h = stats[comp, :4]
        sub = (lab[y0 : y0 + h, x0 : x0 + w] == comp).astype(np.uint8)
        cy, cx = np.nonzero(sub)
        j = int(np.argmin((cx + x0) * ant[0] + (cy + y0) * ant[1]))
        dist = cv2.distanceTransform(np.pad(sub, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        cost = np.where(sub > 0, 1.0 / (dist + 0.5), np.inf)
        screw = _screw_along_route(
            sub, dist, cost, (int(ys[k] - y0), int(xs[k] - x0)), (int(cy[j]), int(cx[j])), (x0, y0), lv, scale
        )
        if screw is not None and screw.length_px >= SCREW_MIN_LENGTH_FRACTION * scale:
            out[lv] = screw
    return out


def _runs(mask: np.ndarray) -> tuple[np.ndarray, int]:
    from scipy import ndimage

    lab, n = ndimage.label(mask)
    return lab, int(n)


def _rod_with_dips(rod: Rod, img: np.ndarray, metal: np.ndarray) -> Rod:
    """Add the gaps seen as intensity dips along the rod's centre line (:data:`ROD_DIP_FRACTION`): a fracture gap
    narrower than the image blur leaves the metal mask in one piece, but the centre line darkens across it."""
    from scipy import ndimage

    w = max(rod.diameter_px, 2.0)
    pts, tang = _resample(rod.polyline, 0.5)
    if len(pts) < 8:
        return rod
    normal = np.c_[-tang[:, 1], tang[:, 0]]
    centre = ndimage.map_coordinates(img, [pts[:, 1], pts[:, 0]], order=1, mode="nearest")
    # the centre line of a binned polyline wanders by a pixel: take the brightest of three parallel lines
    for off in (-0.25 * w, 0.25 * w):
        q = pts + normal * off
        centre = np.maximum(centre, ndimage.map_coordinates(img, [q[:, 1], q[:, 0]], order=1, mode="nearest"))
    flanks = []
    for off in (-1.5 * w, 1.5 * w, -2.0 * w, 2.0 * w):
        q = pts + normal * off
        v = ndimage.map_coordinates(img, [q[:, 1], q[:, 0]], order=1, mode="nearest")
        inside = ndimage.map_coordinates(metal.astype(np.float32), [q[:, 1], q[:, 0]], order=0, mode="nearest") > 0
        flanks.append(v[~inside])
    flank = np.concatenate(flanks)
    if flank.size < 5:
        return rod
    s = np.arange(len(pts)) * 0.5
    core = (s >= ROD_END_MARGIN * w) & (s <= s[-1] - ROD_END_MARGIN * w)
    if core.sum() < 8:
        return rod
    level = float(np.median(centre[core]))
    background = float(np.median(flank))
    contrast = level - background
    noise = 1.4826 * float(np.median(np.abs(centre[core] - level)))
    if contrast <= 0:
        return rod
    limit = level - max(ROD_DIP_FRACTION * contrast, ROD_DIP_MIN_SD * noise)
    low = core & (centre < limit)
    grown = cv2.dilate(metal.astype(np.uint8), np.ones((3, 3), np.uint8))
    in_metal = ndimage.map_coordinates(grown.astype(np.float32), [pts[:, 1], pts[:, 0]], order=0, mode="nearest") > 0
    gaps = list(rod.gaps)
    lab, n = ndimage.label(low)
    for k in range(1, n + 1):
        idx = np.flatnonzero(lab == k)
        a, b = idx[0], idx[-1]
        if (b - a) * 0.5 > ROD_DIP_MAX_WIDTH * w or a == 0 or b == len(pts) - 1:
            continue
        if not (core[:a].any() and core[b + 1 :].any()):
            continue
        # a gap narrower than the blur stays inside the metal mask and does not reach the background; a centre line
        # that leaves the metal (a bend, a screw beside the rod) falls to the background: not a fracture
        if not in_metal[a : b + 1].all() or centre[a : b + 1].min() < background + ROD_DIP_FLOOR * contrast:
            continue
        # the rod must continue at its level on both sides of the dip
        before = centre[max(0, a - int(2 * w)) : a]
        after = centre[b + 1 : b + 1 + int(2 * w)]
        if before.size == 0 or after.size == 0 or min(before.max(), after.max()) < limit:
            continue
        ends = (_pt(pts[a]), _pt(pts[b]))
        if any(min(math.dist(ends[0], g[0]), math.dist(ends[0], g[1])) < w for g in gaps):
            continue  # already found as two pieces of the mask
        gaps.append(ends)
    return Rod(rod.polyline, rod.diameter_px, tuple(gaps)) if len(gaps) != len(rod.gaps) else rod


def _level_of(point: np.ndarray, bodies: dict[Level, np.ndarray], scale: float) -> Level | None:
    for lv, poly in bodies.items():
        if _contains(poly, point):
            return lv
    if not bodies:
        return None
    lv, poly = min(bodies.items(), key=lambda kv: float(np.hypot(*(kv[1].mean(0) - point))))
    return lv if float(np.hypot(*(poly.mean(0) - point))) < 0.6 * scale else None


def _orient(lo: np.ndarray, hi: np.ndarray, bodies: dict[Level, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(head, tip): the tip is the end nearer a vertebral body centre."""
    if not bodies:
        return lo, hi
    centres = np.array([b.mean(0) for b in bodies.values()])
    d_lo = np.min(np.hypot(*(centres - lo).T))
    d_hi = np.min(np.hypot(*(centres - hi).T))
    return (lo, hi) if d_hi <= d_lo else (hi, lo)


def _disc_region(bodies: dict[Level, np.ndarray], grow: float) -> np.ndarray | None:
    """The L5-S1 disc space (L5 inferior and S1 superior corners) grown about its centre, or ``None``."""
    if Level.L5 not in bodies or Level.S1 not in bodies:
        return None
    l5, s1 = bodies[Level.L5], bodies[Level.S1]
    disc = np.stack([l5[3], l5[2], s1[1], s1[0]])
    c = disc.mean(0)
    return c + (disc - c) * grow


def _shaft_axis(xy: np.ndarray, head: np.ndarray, tip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Refit the axis on the shaft only (:data:`SHAFT_FIT_RANGE` of the length from the head): the head, its tulip and
    the rod junction would tilt a fit of the whole piece. Returns head and tip projected onto the refitted line."""
    u = (tip - head) / max(float(np.hypot(*(tip - head))), 1e-9)
    t = (xy - head) @ u
    length = float(t.max())
    sel = (t >= SHAFT_FIT_RANGE[0] * length) & (t <= SHAFT_FIT_RANGE[1] * length)
    if sel.sum() < 10:
        return head, tip
    shaft = xy[sel]
    c = shaft.mean(0)
    d = np.linalg.svd(shaft - c, full_matrices=False)[2][0]
    if float(d @ u) < 0:
        d = -d
    t_all = (xy - c) @ d
    return c + d * t_all.min(), c + d * t_all.max()


def _plausible_width(width: float, scale: float) -> bool:
    lo, hi = SCREW_DIAMETER_RANGE
    return lo * scale <= width <= hi * scale


def _screws(
    mask: np.ndarray, bodies: dict[Level, np.ndarray], scale: float, disc: np.ndarray | None
) -> tuple[list[Screw], list[dict]]:
    pieces = _pieces(mask)
    if disc is not None:  # what sits in the disc space is cage, not screw
        in_disc = [p for p in pieces if _contains(disc, p["centroid"])]
        pieces = [p for p in pieces if not _contains(disc, p["centroid"])]
    else:
        in_disc = []
    elongated = [p for p in pieces if p["length"] >= MIN_ELONGATION * p["width"]]
    others = [p for p in pieces if p["length"] < MIN_ELONGATION * p["width"]] + in_disc
    # broken screws: two collinear elongated pieces with a short gap, together screw-long
    used: set[int] = set()
    screws: list[Screw] = []
    pairs = sorted(_collinear_pairs(elongated, max_gap=0.3 * scale), key=lambda e: float(np.hypot(*(e[2] - e[3]))))
    for i, j, end_i, end_j in pairs:
        if i in used or j in used:
            continue
        xy = np.vstack([elongated[i]["xy"], elongated[j]["xy"]])
        lo, hi, _, _ = _axis_ends(xy)
        if np.hypot(*(hi - lo)) < SCREW_MIN_LENGTH_FRACTION * scale:
            continue
        head, tip = _orient(lo, hi, bodies)
        width = float(np.median([elongated[i]["width"], elongated[j]["width"]]))
        level = _level_of(tip, bodies, scale)
        if bodies and (level is None or not _plausible_width(width, scale)):
            continue
        used |= {i, j}
        screws.append(Screw(_pt(head), _pt(tip), width, level, True, (_pt(end_i), _pt(end_j))))
    for k, piece in enumerate(elongated):
        if k in used:
            continue
        plausible = not bodies or _plausible_width(piece["width"], scale)
        if piece["length"] >= SCREW_MIN_LENGTH_FRACTION * scale and plausible:
            lo, hi = piece["ends"]
            head, tip = _shaft_axis(piece["xy"], *_orient(lo, hi, bodies))
            level = _level_of(tip, bodies, scale)
            if bodies and level is None:  # with landmarks, a screw's tip sits in a vertebral body
                others.append(piece)
                continue
            screws.append(Screw(_pt(head), _pt(tip), piece["width"], level))
        else:
            others.append(piece)
    screws.sort(key=screw_order)
    return screws, others


def _cage(pieces: list[dict], bodies: dict[Level, np.ndarray], scale: float, shape: tuple[int, int]) -> Cage | None:
    region = _disc_region(bodies, 1.3)
    if region is None:
        h, w = shape
        region = np.array([[w * 0.25, h * 0.25], [w * 0.75, h * 0.25], [w * 0.75, h * 0.75], [w * 0.25, h * 0.75]])
        if bodies:
            return None
    inside = [p for p in pieces if _contains(region, p["centroid"])]
    if not inside:
        return None
    big = [p for p in inside if p["area"] >= (0.15 * scale) ** 2]
    if big:
        xy = np.vstack([p["xy"] for p in big])
        hull = cv2.convexHull(xy.astype(np.float32)).reshape(-1, 2)
        return Cage(_pt(xy.mean(0)), tuple(_pt(p) for p in hull))
    if len(inside) < CAGE_MIN_MARKERS:  # a lone bright speck is not a radiolucent cage's marker set
        return None
    markers = tuple(_pt(p["centroid"]) for p in inside)
    return Cage(_pt(np.mean([p["centroid"] for p in inside], axis=0)), (), markers)


def _pt(p: np.ndarray) -> Point:
    return (float(p[0]), float(p[1]))
