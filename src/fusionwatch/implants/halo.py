"""Width of the radiolucent rim (halo) around a pedicle screw, from intensity profiles across the screw axis."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from fusionwatch.implants.detection import Screw
from fusionwatch.radiograph import Radiograph
from fusionwatch.units import to_mm

__all__ = ["Halo", "halo_width", "HALO_MIN_CONTRAST_SD", "HALO_SHAFT_RANGE"]

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
    head, tip = np.asarray(screw.head, float), np.asarray(screw.tip, float)
    length = float(np.hypot(*(tip - head)))
    if length < 4:
        raise ValueError(f"Screw is {length:.1f} px long; too short to measure a halo.")
    u = (tip - head) / length
    n = np.array([-u[1], u[0]])
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
