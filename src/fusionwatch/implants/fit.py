"""Model-based pedicle screw search on lateral films: a matched filter along screw-shaped lines placed by the landmarks.

On many films the metal does not stand out of the intensity distribution (dense sacrum and ilium overlap the S1 screws,
the bright end is windowed), so a global threshold misses it. Here each instrumented vertebra (L5, S1) is searched for
the best straight bright bar of screw length and width whose tip lies inside the vertebral body and whose direction is
within :data:`FIT_ANGLES_DEG` of the body's posterior-to-anterior axis: the score of a bar is its mean intensity minus
the mean of two flanking bands (local background, so the dense sacrum does not count), on a lightly smoothed film.
The pair of left and right screws superimposes on a lateral film and is found as one screw.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fusionwatch.anatomy import Level
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Radiograph

__all__ = ["FIT_ANGLES_DEG", "FIT_MIN_CONTRAST", "ScrewFit", "fit_lateral_screw"]

SCREW_LENGTH_MM = 45.0
"""Prior screw length (pedicle screws at L5/S1: 40-50 mm)."""
LENGTH_RANGE = (0.85, 1.15)
"""Refined screw lengths outside this range of the prior (40-50 mm of 45 mm) are replaced by the prior from the tip."""
SCREW_WIDTH_MM = 6.5
"""Prior screw width (6-7.5 mm)."""
ENDPLATE_MM = 40.0
"""Without a calibrated spacing, the mean endplate length stands for ~40 mm."""
FIT_ANGLES_DEG = tuple(float(a) for a in np.arange(-20.0, 20.1, 2.5))
"""Directions tried, relative to the body's posterior-to-anterior axis (screws converge and follow the endplates)."""
FIT_MIN_CONTRAST = 0.02
"""A bar counts as a screw when it stands above its flanks by this fraction of (bone level - background level)...
(see :data:`FIT_MIN_SNR`)."""
FIT_MIN_SNR = 5.0
"""... and by this many noise SDs of the bar mean (noise from the film's pixel-to-pixel scatter)."""
TIP_DEPTH_RANGE = (0.45, 0.95)
"""The tip lies this far (fraction of the body depth) from the posterior wall towards the anterior wall."""


class ScrewFit:
    """Result of :func:`fit_lateral_screw`: head/tip (px), width (px), contrast (intensity units) and SNR."""

    __slots__ = ("head", "tip", "width_px", "contrast", "snr")

    def __init__(self, head: np.ndarray, tip: np.ndarray, width_px: float, contrast: float, snr: float) -> None:
        self.head, self.tip, self.width_px, self.contrast, self.snr = head, tip, width_px, contrast, snr


def _px_per_mm(radiograph: Radiograph, scale_px: float) -> float:
    if radiograph.spacing is not None:
        return 1.0 / float(radiograph.spacing.dx_mm)
    return scale_px / ENDPLATE_MM


def _bar_kernels(length: float, width: float, angle_rad: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Two zero-sum correlation kernels anchored at the tip (kernel centre): +1/n on the bar from the tip back towards
    the head over (0.1..0.95) of ``length``, -1/n on one flanking band (one width wide, a half width off the metal)
    on either side; their mean is the bar's contrast over both flanks (a linear background ramp across the bar
    cancels)."""
    half = int(math.ceil(length + 2 * width)) + 1
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    d = np.array([math.cos(angle_rad), math.sin(angle_rad)], np.float32)  # head -> tip direction
    s = -(xx * d[0] + yy * d[1])  # distance back from the tip towards the head
    o = -xx * d[1] + yy * d[0]
    along = (s >= 0.1 * length) & (s <= 0.95 * length)
    bar = along & (np.abs(o) <= 0.35 * width)
    out = []
    for side in (1.0, -1.0):
        flank = along & (side * o >= width) & (side * o <= 2.0 * width)
        k = np.zeros(xx.shape, np.float32)
        k[bar] = 1.0 / bar.sum()
        k[flank] = -1.0 / flank.sum()
        out.append(k)
    return out[0], out[1], int(bar.sum())


def fit_lateral_screw(
    radiograph: Radiograph,
    landmarks: Landmarks,
    bodies: dict[Level, np.ndarray],
    level: Level,
    scale_px: float,
    levels_range: tuple[float, float],
    min_snr: float = FIT_MIN_SNR,
) -> ScrewFit | None:
    """Best screw-shaped bright bar with its tip in ``level``'s body on a lateral film, or ``None``.

    Parameters
    ----------
    radiograph : Radiograph
        Lateral film (higher value = more attenuation).
    landmarks : Landmarks
        Its landmarks (only used through ``bodies``; kept for the facing).
    bodies : dict[Level, numpy.ndarray]
        Body outlines (:func:`fusionwatch.implants.detection.body_polygons`): superior-anterior, superior-posterior,
        inferior-posterior, inferior-anterior corners (S1: endplate corners and two points drawn caudally).
    level : Level
        Vertebra searched (L5 or S1).
    scale_px : float
        Mean endplate length, px.
    levels_range : tuple[float, float]
        Bone level and background level of the film (intensity), for the contrast rule.
    min_snr : float
        Minimum contrast in noise SDs of the bar mean.
    """
    if level not in bodies:
        return None
    poly = bodies[level]
    img = np.asarray(radiograph.pixels, np.float32)
    ppm = _px_per_mm(radiograph, scale_px)
    length, width = SCREW_LENGTH_MM * ppm, SCREW_WIDTH_MM * ppm
    post = (poly[1] + poly[2]) / 2
    ant = (poly[0] + poly[3]) / 2
    if level is Level.S1:  # the S1 outline is a shallow band below the endplate, where S1 screws run
        post = poly[1] + (poly[2] - poly[1]) * 0.5
        ant = poly[0] + (poly[3] - poly[0]) * 0.5
    axis = ant - post
    depth = float(np.hypot(*axis))
    if depth < 5:
        return None
    base_angle = math.atan2(axis[1], axis[0])
    # crop around the level: the tip region plus one screw length towards the head
    pad = int(length + 3 * width)
    x0, y0 = (np.floor(poly.min(0)) - pad).astype(int)
    x1, y1 = (np.ceil(poly.max(0)) + pad).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
    crop = img[y0:y1, x0:x1]
    if crop.size == 0:
        return None
    smooth = cv2.GaussianBlur(crop, (0, 0), max(0.6, 0.1 * width))
    noise = float(np.median(np.abs(crop - cv2.GaussianBlur(crop, (0, 0), 1.5)))) * 1.4826 * 1.6
    # tips allowed: inside the body, between TIP_DEPTH_RANGE of the way from the posterior to the anterior wall
    tip_mask = np.zeros(crop.shape, np.uint8)
    cv2.fillPoly(tip_mask, [np.round(poly - [x0, y0]).astype(np.int32)], 1)
    yy, xx = np.mgrid[0 : crop.shape[0], 0 : crop.shape[1]]
    frac = ((xx + x0 - post[0]) * axis[0] + (yy + y0 - post[1]) * axis[1]) / depth**2
    tip_mask &= ((frac >= TIP_DEPTH_RANGE[0]) & (frac <= TIP_DEPTH_RANGE[1])).astype(np.uint8)
    if not tip_mask.any():
        return None
    best: tuple[float, float, int, int] | None = None
    n_bar = 1
    for da in FIT_ANGLES_DEG:
        ang = base_angle + math.radians(da)
        k1, k2, n_bar_k = _bar_kernels(length, width, ang)
        k = (k1 + k2) / 2  # the mean of both flanks cancels a linear background ramp across the bar
        resp = cv2.filter2D(smooth, cv2.CV_32F, k, borderType=cv2.BORDER_REPLICATE)
        resp[tip_mask == 0] = -np.inf
        i = int(np.argmax(resp))
        r, c = divmod(i, resp.shape[1])
        if best is None or resp[r, c] > best[0]:
            best, n_bar = (float(resp[r, c]), ang, c, r), n_bar_k
    if best is None or not np.isfinite(best[0]):
        return None
    score, ang, c, r = best
    bone, background = levels_range
    snr = score / max(noise / math.sqrt(max(n_bar / max(width * 0.35, 1.0), 1.0)), 1e-6)
    if score < FIT_MIN_CONTRAST * max(bone - background, 1e-6) or snr < min_snr:
        return None
    d = np.array([math.cos(ang), math.sin(ang)])
    tip = np.array([c + x0, r + y0], float)
    blurred = cv2.GaussianBlur(img, (0, 0), max(0.6, 0.1 * width))
    head, tip = _refine_axis(blurred, tip - d * length, tip, width)
    head, tip = _refine_ends(blurred, head, tip, width)
    found = float(np.hypot(*(tip - head)))
    if not LENGTH_RANGE[0] * length <= found <= LENGTH_RANGE[1] * length:
        # the head end ran into the rod and tulip (or stopped in a dark patch): keep the prior length from the tip
        head = tip - (tip - head) / max(found, 1e-9) * length
    return ScrewFit(head, tip, width, score, snr)


def _refine_axis(img: np.ndarray, head: np.ndarray, tip: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Refit the axis below the angle grid: at every pixel along the middle of the screw (20-90 % of its length from
    the head), the centre of the bar is the contrast-weighted mean offset across it (the flanks' linear trend removed);
    a straight line through those centres is the axis. Returns head and tip moved onto it (same positions along)."""
    from scipy import ndimage

    length = float(np.hypot(*(tip - head)))
    u = (tip - head) / max(length, 1e-9)
    n = np.array([-u[1], u[0]])
    s = np.arange(0.2 * length, 0.9 * length, 1.0)
    o = np.arange(-2.0 * width, 2.0 * width + 0.5, 0.5)
    pts = head[None, None, :] + s[:, None, None] * u + o[None, :, None] * n
    prof = ndimage.map_coordinates(img, [pts[..., 1], pts[..., 0]], order=1, mode="nearest")
    prof = ndimage.uniform_filter1d(prof, size=max(3, int(width)), axis=0)  # average along the screw: less noise
    flank = np.abs(o) >= width
    centres, weights = [], []
    for row in prof:
        trend = np.polyval(np.polyfit(o[flank], row[flank], 1), o)
        c = np.clip(row - trend, 0.0, None)
        core = np.abs(o) <= 0.75 * width
        if c[core].sum() <= 0:
            centres.append(0.0)
            weights.append(0.0)
            continue
        centres.append(float((c[core] * o[core]).sum() / c[core].sum()))
        weights.append(float(c[core].sum()))
    w = np.asarray(weights)
    if (w > 0).sum() < 5:
        return head, tip
    slope, offset = np.polyfit(s, np.asarray(centres), 1, w=np.sqrt(w))
    shift = lambda t: t * u + (slope * t + offset) * n  # noqa: E731
    new_head, new_tip = head + shift(0.0), head + shift(length)
    return new_head, new_tip


def _refine_ends(img: np.ndarray, head: np.ndarray, tip: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Move head and tip along the fitted axis to where the bar's contrast over its flanks falls to half its median
    over the middle of the screw (the metal ends), searching up to 30 % of the length beyond either end."""
    from scipy import ndimage

    length = float(np.hypot(*(tip - head)))
    u = (tip - head) / max(length, 1e-9)
    n = np.array([-u[1], u[0]])
    s = np.arange(-0.3 * length, 1.3 * length, 0.5)
    offs_bar = np.linspace(-0.3 * width, 0.3 * width, 5)
    offs_fl = np.r_[np.linspace(width, 2 * width, 4), -np.linspace(width, 2 * width, 4)]

    def band(offs: np.ndarray) -> np.ndarray:
        pts = head[None, None, :] + s[:, None, None] * u + offs[None, :, None] * n
        return ndimage.map_coordinates(img, [pts[..., 1], pts[..., 0]], order=1, mode="nearest").mean(1)

    prof = ndimage.uniform_filter1d(band(offs_bar) - band(offs_fl), size=max(3, int(width)))
    mid = (s >= 0.25 * length) & (s <= 0.75 * length)
    half = 0.4 * float(np.median(prof[mid]))
    if half <= 0:
        return head, tip
    i_mid = int(np.flatnonzero(mid).mean())
    above = prof >= half
    j = i_mid
    while j + 1 < len(s) and above[j + 1]:
        j += 1
    i = i_mid
    while i - 1 >= 0 and above[i - 1]:
        i -= 1
    return head + u * s[i], head + u * s[j]


EDGE_RANGE = (0.05, 0.97)
"""Part of a screw (fractions of its length from the head) whose metal edges define the refined axis: nearly the whole
detected screw (the detected head end already stops where the screw meets the head and rod; on lateral films the
superimposed S1 pair is often detected over only ~75 % of its length, so every profile counts). Chosen on the
simulator's 400 x 500 px journeys (SIM_VERSION 12, 24 journeys, 112 angle changes): error rms 0.10 deg with (0.15,
0.92), 0.083 deg with (0.05, 0.97)."""
EDGE_DECORRELATION_WIDTHS = 0.5
"""Edge positions of neighbouring profiles are correlated over about this many screw widths along the screw (image
blur, thread): the axis SD is a delete-one-block jackknife with blocks this long."""
MIN_EDGE_PROFILES = 8
EDGE_LEVEL = 0.9
"""Where an edge is read on a profile across the screw: this fraction of the way from the local background (0) to the
metal level (1). Titanium is near-opaque (flat, often saturated top), so an edge read close to the metal level is set
by the metal and its blur, and barely moves when the bone beside the screw changes between films (graft maturing,
bridging, a halo): on the simulator's 400 x 500 px journeys (SIM_VERSION 12, 24 journeys, 112 screw-endplate angle
changes against the truth) the change's error rms is 0.30 deg at 0.5 (half height), 0.16 at 0.7, 0.11 at 0.85, 0.10
at 0.9 and 0.11 at 0.95. The screw width is still read at half height."""
EDGE_BIAS_PX = 0.08
"""Floor of the axis SD: an edge-centre bias of this many pixels at one end of the fitted stretch (the superimposed
contralateral screw, the head's shadow), which the scatter of the edge positions does not reveal. Calibrated on the
simulator's 400 x 500 px journeys (seed 1, SIM_VERSION 10 and 11, edges at half height). Checked again with the
:data:`EDGE_LEVEL` edges (SIM_VERSION 12 lateral films, 400 x 500 px, screw-loosening seeds 1-16 and solid-fusion 1-8:
112 screw-endplate angle changes; held out: screw-loosening 17-28 and solid-fusion 9-14, 82 changes): error / SD rms
0.53 and 0.71, every error inside its 95 % interval (max 1.58 and 1.91 SD). The SD stays conservative; it was not
shrunk to fit these films."""


SHAFT_HEAD_MARGIN = 1.0
"""``shaft_only`` (AP films): profiles nearer the detected head end than this many screw widths are left out. A
pedicle screw's tulip head is about twice as wide as its shaft (simulator: 12.4 vs 6.5 mm), so on a screw seen nearly
end-on its shadow, and the rod through it, cover about one shaft width of the shaft beyond the detected head end; there
the edges are the head's and the rod's (SIM_VERSION 17 AP films, 400 x 500 px: edge centres 0.3-1 px, up to 5 px, off
the true axis over the first ~1 width, mostly within 0.3 px beyond)."""
SHAFT_WIDTH_TOLERANCE = 0.1
"""``shaft_only``: a profile is across the shaft alone when its half-height width is within this fraction of the
median over the profiles beyond the head margin (the tapered tip, the head's rim and crossing metal are not)."""


def refine_screw_edges(
    img: np.ndarray, head: np.ndarray, tip: np.ndarray, width: float, *, shaft_only: bool = False
) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """Refine a screw's axis from its metal edges, with the axis SD.

    Profiles across the screw every pixel along :data:`EDGE_RANGE` of its length; on each, the two edges are where the
    profile crosses :data:`EDGE_LEVEL` of the way from the local background on that side (the median of the outer
    band, 1-1.5 widths from the axis) to the metal level (its maximum), interpolated; the centre is their mean. A
    straight line through the centres (least squares) is the axis; its slope SD is a delete-one-block jackknife
    (blocks :data:`EDGE_DECORRELATION_WIDTHS` screw widths long) with the :data:`EDGE_BIAS_PX` floor.

    Parameters
    ----------
    img : (H, W) ndarray
        Film pixels (metal bright).
    head, tip : (2,) ndarray
        Screw ends, pixel ``(x, y)``.
    width : float
        Approximate screw width, px.
    shaft_only : bool
        Fit only the profiles across the shaft alone (:func:`_shaft_profiles`: beyond :data:`SHAFT_HEAD_MARGIN` widths
        from the head end, width within :data:`SHAFT_WIDTH_TOLERANCE`), falling back to all beyond the margin, then to
        all, when fewer than :data:`MIN_EDGE_PROFILES` remain. For AP screws: seen nearly end-on (~20 px long at
        400 x 500 px) the head's and rod's profiles are a quarter of the screw and turned its axis 5-9 deg.

    Returns
    -------
    (head, tip, width, axis_sd_deg) | None
        Head and tip moved onto the refined line (same positions along it), the median half-height width (px) and the
        SD of the axis direction (deg); ``None`` when fewer than :data:`MIN_EDGE_PROFILES` profiles show two edges.
    """
    from scipy import ndimage

    head, tip = np.asarray(head, float), np.asarray(tip, float)
    length = float(np.hypot(*(tip - head)))
    if length < 8 or width < 1.5:
        return None
    u = (tip - head) / length
    n = np.array([-u[1], u[0]])
    s = np.arange(EDGE_RANGE[0] * length, EDGE_RANGE[1] * length, 1.0)
    d = np.arange(-1.5 * width, 1.5 * width + 0.125, 0.25)
    pts = head[None, None, :] + s[:, None, None] * u + d[None, :, None] * n
    prof = ndimage.map_coordinates(np.asarray(img, np.float64), [pts[..., 1], pts[..., 0]], order=1, mode="nearest")
    centres, used, half = [], [], []
    for k, row in enumerate(prof):
        inner = np.abs(d) <= 0.6 * width
        if not inner.any():
            continue
        j_max = int(np.flatnonzero(inner)[np.argmax(row[inner])])
        top = float(row[j_max])
        left_bg = float(np.median(row[d <= -1.0 * width]))
        right_bg = float(np.median(row[d >= 1.0 * width]))
        e_left = _edge(d, row, j_max, left_bg + EDGE_LEVEL * (top - left_bg), -1)
        e_right = _edge(d, row, j_max, right_bg + EDGE_LEVEL * (top - right_bg), +1)
        h_left = _edge(d, row, j_max, (top + left_bg) / 2, -1)
        h_right = _edge(d, row, j_max, (top + right_bg) / 2, +1)
        if e_left is None or e_right is None or top - max(left_bg, right_bg) <= 0:
            continue
        centres.append((e_left + e_right) / 2)
        half.append(h_right - h_left if h_left is not None and h_right is not None else np.nan)
        used.append(s[k])
    if len(used) < MIN_EDGE_PROFILES:
        return None
    s_all, c_all, w_all = np.asarray(used), np.asarray(centres), np.asarray(half)
    for sel in _shaft_profiles(s_all, w_all, width) if shaft_only else [np.ones(len(s_all), bool)]:
        if sel.sum() < MIN_EDGE_PROFILES:
            continue
        sv, cv = s_all[sel], c_all[sel]
        # robust: drop profiles whose centre is far off (a crossing rod or the other screw's end)
        med = np.median(cv)
        mad = 1.4826 * np.median(np.abs(cv - med)) + 0.05
        ok = np.abs(cv - med) <= 4 * mad + 0.02 * np.abs(sv - sv.mean())
        if ok.sum() >= MIN_EDGE_PROFILES:
            break
    else:
        return None
    sv, cv = sv[ok], cv[ok]
    slope, offset = np.polyfit(sv, cv, 1)
    sd_slope = _block_jackknife_sd(sv, cv, max(2.0, EDGE_DECORRELATION_WIDTHS * width))
    # a floor for what the scatter cannot show: a bias of EDGE_BIAS_PX at one end of the fitted stretch
    sd_slope = max(sd_slope, EDGE_BIAS_PX / max(float(np.ptp(sv)), 1.0))
    new_head = head + offset * n
    new_tip = head + length * u + (slope * length + offset) * n
    width_px = float(np.nanmedian(w_all)) if np.isfinite(w_all).any() else float(width)
    return new_head, new_tip, width_px, math.degrees(math.atan(sd_slope))


def _shaft_profiles(s: np.ndarray, half_width: np.ndarray, width: float) -> list[np.ndarray]:
    """Which profiles to fit on a screw seen nearly end-on, best first: those across the shaft alone (at least
    :data:`SHAFT_HEAD_MARGIN` screw widths from the head end, half-height width within :data:`SHAFT_WIDTH_TOLERANCE`
    of their median), then all beyond the head margin, then all."""
    beyond = s >= SHAFT_HEAD_MARGIN * width
    fine = beyond & np.isfinite(half_width)
    if fine.any():
        fine &= np.abs(half_width / float(np.median(half_width[fine])) - 1.0) <= SHAFT_WIDTH_TOLERANCE
    return [fine, beyond, np.ones(len(s), bool)]


def _block_jackknife_sd(s: np.ndarray, c: np.ndarray, block: float) -> float:
    """SD of the slope of ``c`` against ``s`` by the delete-one-block jackknife, blocks ``block`` long in ``s``:
    neighbouring edge positions are correlated (blur, thread), so single profiles are not independent samples."""
    edges = np.arange(s.min(), s.max() + block, block)
    ids = np.clip(np.digitize(s, edges) - 1, 0, len(edges) - 1)
    blocks = np.unique(ids)
    if len(blocks) < 4:
        return float("inf")
    slopes = []
    for b in blocks:
        keep = ids != b
        if keep.sum() < 3 or np.ptp(s[keep]) <= 0:
            return float("inf")
        slopes.append(np.polyfit(s[keep], c[keep], 1)[0])
    k = len(slopes)
    return float(math.sqrt((k - 1) / k * np.sum((np.asarray(slopes) - np.mean(slopes)) ** 2)))


def _edge(d: np.ndarray, row: np.ndarray, start: int, level: float, direction: int) -> float | None:
    """Where ``row`` first falls below ``level`` walking from index ``start`` in ``direction``, interpolated."""
    j = start
    while 0 <= j + direction < len(row):
        a, b = row[j], row[j + direction]
        if a >= level > b:
            return float(d[j] + (a - level) / (a - b) * (d[j + direction] - d[j]))
        j += direction
    return None
