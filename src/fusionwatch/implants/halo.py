"""Width of the radiolucent rim (halo) around a pedicle screw, from intensity profiles across the screw axis."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fusionwatch.implants.detection import Screw
from fusionwatch.radiograph import Radiograph
from fusionwatch.units import to_mm

__all__ = [
    "Halo",
    "HaloChange",
    "halo_width",
    "halo_change",
    "HALO_MIN_CONTRAST_SD",
    "HALO_SHAFT_RANGE",
    "HALO_BAND_MM",
    "HALO_TAIL_MM",
    "HALO_CONTRAST_MM",
    "local_contrast",
]

HALO_SHAFT_RANGE = (0.3, 0.85)
"""Part of the screw, as fractions of its length from the head, where profiles are taken: the shaft inside bone, away
from the head (tulip, rod) and the tapered tip."""
HALO_REACH = 0.9
"""Profiles reach this many screw diameters beyond the metal edge (inside a ~28 mm body around a ~6.5 mm screw)."""
HALO_BONE_BAND = 0.3
"""The bone reference is the outermost band of the profile, this many screw diameters wide."""
HALO_MAX_DIP_OFFSET = 0.5
"""The darkest point of a rim lies within this many screw diameters of the metal edge (a rim touches the screw)."""
HALO_MIN_CONTRAST_SD = 6.0
"""A dip beside the screw counts as a halo only when it is deeper than this many noise SDs of the averaged profile."""


@dataclass(frozen=True, slots=True)
class Halo:
    """A radiolucent rim around a screw.

    Attributes
    ----------
    width_px : float
        Mean rim width on the two sides of the shaft, px; 0 when no rim darker than the bone is seen on both sides
        (a dip on one side only is more often a nearby endplate or disc than a loosening rim; see ``sides_px``).
    width_mm : float | None
        The same in mm at the spacing's plane; ``None`` on an uncalibrated film.
    sides_px : tuple[float, float]
        Width on each side of the screw (left and right of the head-to-tip direction).
    screw_radius_px : float
        Half the metal width measured on the same profiles.
    contrast : float
        Depth of the rim below the surrounding bone, in noise SDs of the averaged profile (mean of both sides).
    profiles : int
        Number of perpendicular profiles averaged.
    """

    width_px: float
    width_mm: float | None
    sides_px: tuple[float, float]
    screw_radius_px: float
    contrast: float
    profiles: int


def _crossing(d: np.ndarray, f: np.ndarray, level: float, start: int, rising: bool) -> float | None:
    """First distance after index ``start`` where ``f`` crosses ``level`` (upward if ``rising``), interpolated."""
    for i in range(max(start, 0), len(f) - 1):
        a, b = f[i], f[i + 1]
        if (a < level <= b) if rising else (a > level >= b):
            return float(d[i] + (level - a) / (b - a) * (d[i + 1] - d[i]))
    return None


def _side(d: np.ndarray, f: np.ndarray, noise: float, diameter: float) -> tuple[float, float, float]:
    """Halo width, metal edge and contrast (in noise SDs) on one side; ``d`` >= 0 from the axis."""
    metal = float(np.median(f[d < 0.25 * diameter]))
    far = d > d.max() - HALO_BONE_BAND * diameter
    bone = float(np.median(f[far]))
    edge_guess = _crossing(d, f, (metal + bone) / 2, 0, rising=False)
    if edge_guess is None:
        return 0.0, float("nan"), 0.0
    beyond = (d > edge_guess) & (d < edge_guess + HALO_MAX_DIP_OFFSET * diameter)  # a rim touches the screw
    window = np.flatnonzero(beyond)
    i_dip = int(window[np.argmin(f[beyond])])
    if i_dip == window[-1]:  # still falling at the end of the window: an anatomical edge, not a rim
        return 0.0, edge_guess, 0.0
    dip = float(f[i_dip])
    contrast = (bone - dip) / max(noise, 1e-12)
    if contrast < HALO_MIN_CONTRAST_SD:
        return 0.0, edge_guess, max(contrast, 0.0)
    edge = _crossing(d, f, (metal + dip) / 2, 0, rising=False)
    outer = _crossing(d, f, (dip + bone) / 2, i_dip, rising=True)
    if edge is None or outer is None:
        return 0.0, edge_guess, contrast
    return max(outer - edge, 0.0), edge, contrast


def _screw_frame(screw: Screw) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """``(head, tip, length_px, u, n)``: the screw's ends (pixel ``(x, y)``), its length, the unit vector head -> tip
    and its normal ``(-u_y, u_x)``. Raises ValueError for a screw under 4 px, too short to measure a halo."""
    head, tip = np.asarray(screw.head, float), np.asarray(screw.tip, float)
    length = float(np.hypot(*(tip - head)))
    if length < 4:
        raise ValueError(f"Screw is {length:.1f} px long; too short to measure a halo.")
    u = (tip - head) / length
    return head, tip, length, u, np.array([-u[1], u[0]])


def halo_width(radiograph: Radiograph, screw: Screw) -> Halo:
    """Measure the radiolucent rim around a screw's shaft.

    Profiles perpendicular to the screw axis are sampled every pixel along the shaft (:data:`HALO_SHAFT_RANGE`) out to
    :data:`HALO_REACH` screw diameters beyond the metal edge, and averaged. On each side, the metal edge is where the
    averaged profile falls half-way from the metal level to the darkest value beside the screw, and the rim's outer
    border is where it climbs back half-way from that darkest value to the bone level (the far end of the profile):
    full width at half depth, which is unbiased by the image blur for rims wider than the blur. A dip shallower than
    :data:`HALO_MIN_CONTRAST_SD` noise SDs counts as no rim.

    Parameters
    ----------
    radiograph : Radiograph
        The film the screw was found on.
    screw : Screw
        Head, tip and diameter in pixels (:func:`fusionwatch.implants.detect_implants`).

    Returns
    -------
    Halo
        Width in px and (calibrated films) mm. Plain films are insensitive to loosening: a zero width never excludes it.
    """
    img = np.asarray(radiograph.pixels, np.float64)
    head, tip, length, u, n = _screw_frame(screw)
    diameter = max(screw.diameter_px, 2.0)
    reach = diameter / 2 + HALO_REACH * diameter
    step = 0.25
    d = np.arange(0.0, reach + step, step)
    s = np.arange(HALO_SHAFT_RANGE[0] * length, HALO_SHAFT_RANGE[1] * length, 1.0)
    sides, edges, contrasts = [], [], []
    for sign in (1.0, -1.0):
        pts = head[None, None, :] + s[:, None, None] * u + sign * d[None, :, None] * n  # (S, D, 2) (x, y)
        prof = ndimage.map_coordinates(img, [pts[..., 1], pts[..., 0]], order=1, mode="nearest")
        mean = prof.mean(0)
        far = d > reach - HALO_BONE_BAND * diameter
        # texture is correlated along the shaft, so the averaged profile's own scatter far out is the noise floor too
        noise = max(float(prof[:, far].std(ddof=1)) / math.sqrt(max(len(s), 1)), float(mean[far].std(ddof=1)))
        w, e, c = _side(d, mean, noise, diameter)
        sides.append(w)
        edges.append(e)
        contrasts.append(c)
    # a loosening rim surrounds the screw: one-sided dips (a nearby endplate or disc) are not counted
    width_px = float(np.mean(sides)) if min(sides) > 0 else 0.0
    width_mm = None
    if radiograph.spacing is not None:
        mid = head + 0.5 * length * u
        width_mm = math.dist(
            to_mm(tuple(mid), radiograph.spacing), to_mm(tuple(mid + width_px * n), radiograph.spacing)
        )
    radius = float(np.nanmean(edges)) if not all(math.isnan(e) for e in edges) else float("nan")
    return Halo(width_px, width_mm, (sides[0], sides[1]), radius, float(np.mean(contrasts)), len(s))


HALO_BAND_MM = (0.3, 2.0)
"""Where a new halo darkens the bone beside a screw, mm beyond the metal edge: the band over which the darkening since
the baseline film is averaged (a 1-2 mm halo, blurred by the imaging, outside the blurred metal edge)."""
HALO_BONE_MM = (4.0, 5.5)
"""The bone reference beside the screw, mm beyond the metal edge (outside any halo of interest)."""
HALO_PROFILE_MM = 6.0
"""Profiles reach this far beyond the metal edge, mm."""


@dataclass(frozen=True, slots=True)
class HaloChange:
    """How much darker the bone beside a screw has become since the baseline film, per side of the shaft.

    Unit of ``darkening``, ``baseline_band`` and ``tail``: the anatomy's local contrast around the
    screw on each film (:func:`local_contrast`; each film's averaged profile is set to 0 at the bone
    :data:`HALO_BONE_MM` beyond the metal edge and divided by it; see :func:`halo_change`). Until 2026-11-24 the unit
    was the metal-over-bone contrast, which does not follow a change of the tone curve's slope at the bone (metal is
    displayed at the top of the grey scale whatever the bone does): docs/implants.md "Halo: the local unit".

    Attributes
    ----------
    darkening : tuple[float, float]
        Per side (left, right of the head-to-tip direction): baseline minus current normalised profile, median over
        :data:`HALO_ROWS` positions along the shaft, mean over :data:`HALO_BAND_MM` beyond the metal edge; positive =
        darker now. NaN for a side whose metal edge was not found on either film.
    relative : tuple[float, float]
        ``darkening`` divided by how dark that band already was on the baseline film (``-baseline_band``, at least
        :data:`HALO_RELATIVE_FLOOR`): a console's edge-enhancement undershoot darkens the band next to metal on every
        film, and its depth varies between films in proportion to itself; a new halo adds to it.
    baseline_band : tuple[float, float]
        The band's level on the baseline film (negative: darker than the bone; well above 0: other metal beside).
    width_mm : tuple[float, float]
        How far the darkening reaches beyond the metal edge, mm: where the baseline-minus-current profile falls below
        half its peak (peak within the band), outward; 0 when the side did not darken. Uncalibrated films: px.
    profiles : int
        Positions along the shaft compared (:data:`HALO_ROWS`).
    tail : tuple[float, float]
        Per side, the same darkening averaged over :data:`HALO_TAIL_MM` beyond the metal edge (between the band and
        the bone reference): a halo has an outer border and leaves it near 0, a deeper edge-enhancement undershoot
        decays slowly and still darkens it. NaN where ``darkening`` is NaN (and by default, for compatibility).
    baseline_share : tuple[float, float]
        Per side, the band's level on the baseline film as a share of that film's metal level over the bone
        (unit-free; 0 at the bone, 1 at the metal): well above 0 means other metal beside the screw. NaN by default
        (for compatibility).
    darkening_metal : tuple[float, float]
        ``darkening`` in units of each film's metal-over-bone contrast (the unit used until 2026-11-24): the check
        compares it with the other levels' too (:data:`fusionwatch.implants.checks.HALO_SPECIFICITY`). NaN by default.
    """

    darkening: tuple[float, float]
    relative: tuple[float, float]
    baseline_band: tuple[float, float]
    width_mm: tuple[float, float]
    profiles: int
    tail: tuple[float, float] = (float("nan"), float("nan"))
    baseline_share: tuple[float, float] = (float("nan"), float("nan"))
    darkening_metal: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def mean_width_mm(self) -> float:
        """Mean reach of the darkening over both sides (mm; px on uncalibrated films)."""
        return float(np.mean(self.width_mm))


HALO_TAIL_MM = (3.0, 4.0)
"""Where :attr:`HaloChange.tail` is measured, mm beyond the metal edge: outside a halo of up to ~2.5 mm (with its
sclerotic border), inside the bone reference :data:`HALO_BONE_MM`."""

HALO_RELATIVE_FLOOR = 0.3
"""Smallest baseline band darkness (local contrast units, :func:`local_contrast`) :attr:`HaloChange.relative` divides
by: a band no darker than the bone on the baseline film would otherwise make any small darkening look large. (0.1 in
the metal-over-bone unit used until 2026-11-24; the local unit is ~2-5x larger on the simulator's AP films.)"""


HALO_ROWS = 40
"""Positions along the shaft (evenly over :data:`HALO_SHAFT_RANGE`) where the two films' profiles are compared."""


HALO_CONTRAST_MM = 12.0
"""Half-size of the square around the shaft's middle where :func:`local_contrast` reads the anatomy's contrast, mm."""
HALO_CONTRAST_EXCLUDE_MM = 3.0
"""Pixels within this distance of metal are left out of :func:`local_contrast`: the blurred metal edge, the console's
undershoot beside it and any halo of interest (<= ~2.5 mm) must not set the unit the halo is measured in."""
HALO_CONTRAST_PERCENTILES = (10.0, 90.0)
"""The local contrast is the spread between these percentiles of the remaining pixels."""
HALO_CONTRAST_MIN_PIXELS = 50
"""Fewer remaining pixels than this: no local contrast (the side is not compared)."""


def _window_pixels(img: np.ndarray, screw: Screw, metal_cut: float, mm_per_px: float) -> np.ndarray:
    """The pixels of a square of +/- :data:`HALO_CONTRAST_MM` around the middle of the shaft, leaving out metal (pixels
    >= ``metal_cut``) and everything within :data:`HALO_CONTRAST_EXCLUDE_MM` of it."""
    head, tip = np.asarray(screw.head, float), np.asarray(screw.tip, float)
    cx, cy = (head + tip) / 2
    r = HALO_CONTRAST_MM / mm_per_px
    h, w = img.shape
    x0, x1 = max(int(math.floor(cx - r)), 0), min(int(math.ceil(cx + r)) + 1, w)
    y0, y1 = max(int(math.floor(cy - r)), 0), min(int(math.ceil(cy + r)) + 1, h)
    patch = img[y0:y1, x0:x1]
    if patch.size == 0:
        return patch.ravel()
    metal = patch >= metal_cut
    if not metal.any():
        return patch.ravel()
    drop = ndimage.distance_transform_edt(~metal) <= HALO_CONTRAST_EXCLUDE_MM / mm_per_px
    return patch[~drop]


def _spread(pixels: np.ndarray) -> float:
    if pixels.size < HALO_CONTRAST_MIN_PIXELS:
        return float("nan")
    lo, hi = np.percentile(pixels, HALO_CONTRAST_PERCENTILES)
    return float(hi - lo) if hi > lo else float("nan")


def local_contrast(img: np.ndarray, screw: Screw, metal_cut: float, mm_per_px: float) -> float:
    """The anatomy's contrast around a screw on one film: the 10th-90th percentile spread of the pixels in a square of
    +/- :data:`HALO_CONTRAST_MM` around the middle of the shaft, leaving out metal (pixels >= ``metal_cut``) and
    everything within :data:`HALO_CONTRAST_EXCLUDE_MM` of it. Grey levels; NaN when too few pixels remain.

    A smooth change of exposure or of the console's tone curve (a different visit, a darker film periphery) scales
    the grey levels around the screw by a local gain; the bone beside the screw, a halo in it and this spread scale
    alike, so a profile divided by it no longer depends on that gain (docs/implants.md "Halo: the local unit")."""
    return _spread(_window_pixels(img, screw, metal_cut, mm_per_px))


def _side_profiles(img: np.ndarray, screw: Screw, mm_per_px: float) -> tuple[list[tuple | None], np.ndarray]:
    """Per side, the perpendicular profiles at :data:`HALO_ROWS` positions over :data:`HALO_SHAFT_RANGE` (rows), each
    resampled every 0.1 mm beyond the metal edge of the side's averaged profile (its half-height crossing), in the
    film's grey levels, with the side's metal level and its bone level (:data:`HALO_BONE_MM`, on the averaged
    profile): ``(values, metal, bone)``, None for a side without a metal edge; and the grid (mm)."""
    head, tip, length, u, n = _screw_frame(screw)
    step = 0.25
    d = np.arange(0.0, screw.diameter_px / 2 + (HALO_PROFILE_MM + 2.0) / mm_per_px, step)
    s = np.linspace(HALO_SHAFT_RANGE[0] * length, HALO_SHAFT_RANGE[1] * length, HALO_ROWS)
    grid = np.arange(0.0, HALO_PROFILE_MM + 1e-9, 0.1)
    out: list[tuple | None] = []
    for sign in (1.0, -1.0):
        pts = head[None, None, :] + s[:, None, None] * u + sign * d[None, :, None] * n
        rows = ndimage.map_coordinates(img, [pts[..., 1], pts[..., 0]], order=1, mode="nearest")
        prof = rows.mean(0)
        metal = float(np.median(prof[d < 0.25 * max(screw.diameter_px, 2.0)]))
        dm = d * mm_per_px
        far = float(np.median(prof[dm > dm.max() - 2.0]))
        half = (metal + far) / 2
        idx = np.flatnonzero((prof[:-1] >= half) & (prof[1:] < half))
        if metal <= far or len(idx) == 0:
            out.append(None)
            continue
        i = int(idx[0])
        edge = d[i] + (prof[i] - half) / (prof[i] - prof[i + 1]) * step
        at = edge + grid / mm_per_px
        vals = np.stack([np.interp(at, d, r) for r in rows])  # (rows, grid)
        ref = (grid >= HALO_BONE_MM[0]) & (grid <= HALO_BONE_MM[1])
        bone = float(np.mean(np.interp(at, d, prof)[ref]))
        out.append((vals, metal, bone) if bone < metal else None)
    return out, grid


def _metal_cut(sides: list[tuple | None]) -> float:
    """Half-way from the bone to the metal, over the sides found (inf without any: nothing is metal)."""
    cuts = [(m + b) / 2 for v, m, b in (x for x in sides if x is not None)]
    return float(np.median(cuts)) if cuts else float("inf")


def halo_change(baseline: Radiograph, baseline_screw: Screw, current: Radiograph, screw: Screw) -> HaloChange:
    """Darkening of the bone beside a screw since the baseline film (the same screw found on both films).

    Each film is sampled in its own screw frame (the detected screw: registered on the metal), profiles perpendicular
    to the shaft over :data:`HALO_SHAFT_RANGE` averaged per side, aligned on their own half-height metal edge, set to
    0 at the bone beside the band and divided by the anatomy's local contrast around the screw on that film
    (:func:`local_contrast`; :class:`HaloChange`): a smooth difference of brightness and contrast between the films
    (exposure, the console's tone curve, a darker film periphery) cancels. A halo that formed since the baseline
    darkens the band next to the metal on both sides; bone remodelling beside a healthy screw, the other screw
    superimposed and noise move it by much less on the simulator's AP films (docs/implants.md "Halo").

    Parameters
    ----------
    baseline, current : Radiograph
        Early post-operative film and the later film, same view; pixel spacing needed for mm.
    baseline_screw, screw : Screw
        The same screw found on each.

    Returns
    -------
    HaloChange
        Per-side darkening (unit: the local contrast) and its reach in mm. Uncalibrated films use 1 mm/px for
        the band and return widths in px (the check then gives no finding).
    """
    mm_b = baseline.spacing.dx_mm if baseline.spacing is not None else 1.0
    mm_c = current.spacing.dx_mm if current.spacing is not None else 1.0
    img_b, img_c = np.asarray(baseline.pixels, np.float64), np.asarray(current.pixels, np.float64)
    sb, grid = _side_profiles(img_b, baseline_screw, mm_b)
    sc, _ = _side_profiles(img_c, screw, mm_c)
    unit_b = local_contrast(img_b, baseline_screw, _metal_cut(sb), mm_b)
    unit_c = local_contrast(img_c, screw, _metal_cut(sc), mm_c)
    band = (grid >= HALO_BAND_MM[0]) & (grid <= HALO_BAND_MM[1])
    tail_band = (grid >= HALO_TAIL_MM[0]) & (grid <= HALO_TAIL_MM[1])
    dark, rel, base, width, tail, share, dark_metal = [], [], [], [], [], [], []
    for side_b, side_c in zip(sb, sc, strict=True):
        if side_b is None or side_c is None or not (math.isfinite(unit_b) and math.isfinite(unit_c)):
            tail.append(float("nan"))
            dark.append(float("nan"))
            rel.append(float("nan"))
            base.append(float("nan"))
            share.append(float("nan"))
            dark_metal.append(float("nan"))
            width.append(0.0)
            continue
        (vb, metal_b, bone_b), (vc, metal_c, bone_c) = side_b, side_c
        # the band's level on the baseline film as a share of its metal's level over the bone (unit-free)
        share.append(float(np.mean(np.median(vb, axis=0)[band]) - bone_b) / (metal_b - bone_b))
        in_metal = np.median((vb - bone_b) / (metal_b - bone_b) - (vc - bone_c) / (metal_c - bone_c), axis=0)
        dark_metal.append(float(np.mean(in_metal[band])))
        b = (vb - bone_b) / unit_b
        c = (vc - bone_c) / unit_c
        # the same positions along the shaft on both films; the median over them ignores a bright or dark object
        # beside part of the shaft on one film only (marker pins, a rod, bowel gas): a halo runs along the shaft
        diff = np.median(b - c, axis=0)  # positive: darker now
        d_band = float(np.mean(diff[band]))
        tail.append(float(np.mean(diff[tail_band])))
        b_band = float(np.mean(np.median(b, axis=0)[band]))
        dark.append(d_band)
        base.append(b_band)
        rel.append(d_band / max(-b_band, HALO_RELATIVE_FLOOR))
        width.append(_reach(diff, grid))
    return HaloChange(
        (dark[0], dark[1]),
        (rel[0], rel[1]),
        (base[0], base[1]),
        (width[0], width[1]),
        HALO_ROWS,
        (tail[0], tail[1]),
        (share[0], share[1]),
        (dark_metal[0], dark_metal[1]),
    )


HALO_REACH_PEAK_MM = (0.6, 2.0)
"""Where :func:`_reach` looks for the darkening's peak, mm beyond the metal edge: the band without its inner 0.6 mm."""


def _reach(diff: np.ndarray, grid: np.ndarray) -> float:
    """Where ``diff`` (on ``grid``, mm beyond the edge) falls below half its peak, outward from the peak; the peak is
    sought over :data:`HALO_REACH_PEAK_MM`. 0 when that peak is not positive.

    Not from the metal edge itself (until 2026-11-24 the peak was sought from 0 mm): where the two films' tone curves
    differ, the half-height metal edge sits a little differently relative to the bone, and the difference of the two
    profiles has a narrow spike at the edge (0-0.5 mm); half of that spike cut a 2 mm halo's reach to 0.3 mm (seen
    with a per-film look-up-table power and darker flanks, docs/implants.md)."""
    sel = (grid >= HALO_REACH_PEAK_MM[0]) & (grid <= HALO_REACH_PEAK_MM[1])
    peak_i = int(np.argmax(np.where(sel, diff, -np.inf)))
    peak = float(diff[peak_i])
    if peak <= 0:
        return 0.0
    below = np.flatnonzero(diff[peak_i:] < peak / 2)
    if len(below) == 0:
        return float(grid[-1])
    j = peak_i + int(below[0])
    a, b = diff[j - 1], diff[j]
    return float(grid[j - 1] + (a - peak / 2) / (a - b) * (grid[j] - grid[j - 1]))
