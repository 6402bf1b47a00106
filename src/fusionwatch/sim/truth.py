"""Exact values of the core lateral measurements, computed from the simulator's own landmark positions.

An independent implementation of CLINICAL.md's definitions (deliberately not importing :mod:`fusionwatch.measure`), so
tests can check that measuring the ground-truth landmarks with the core reproduces these numbers.

Points are ``(a, s)`` millimetres in the anatomical frame: ``a`` toward the patient's front, ``s`` upward.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from fusionwatch.measurement import MeasureName as M

__all__ = ["lateral_truth", "ap_truth", "to_anatomical", "segment_motion"]

_LEVELS = ("L1", "L2", "L3", "L4", "L5", "S1")


def _incl(a: np.ndarray, p: np.ndarray) -> float:
    """Inclination of the posterior->anterior endplate vector above the horizontal (deg; anterior end up positive)."""
    d = a - p
    return math.degrees(math.atan2(d[1], d[0]))


def to_anatomical(
    points_px: Mapping[str, tuple[float, float]], spacing_mm: float, facing_left: bool
) -> dict[str, np.ndarray]:
    """Pixel points -> anatomical-frame millimetres (square pixels of ``spacing_mm`` at the patient plane)."""
    sgn = -1.0 if facing_left else 1.0
    return {n: np.array([sgn * p[0] * spacing_mm, -p[1] * spacing_mm]) for n, p in points_px.items()}


def _meyerding(pct: float) -> int:
    if abs(pct) < 5.0:
        return 0
    for g, hi in enumerate((25.0, 50.0, 75.0, 100.0), start=1):
        if pct <= hi:
            return g
    return 5


def lateral_truth(P: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Every lateral :class:`~fusionwatch.measurement.MeasureName` value from anatomical-frame points (mm, deg, %)."""
    c = lambda lv, ep, co: P[f"{lv}.{ep}.{co}"]  # noqa: E731
    s1a, s1p = c("S1", "superior", "anterior"), c("S1", "superior", "posterior")
    hip = (P["femoral_head.1"] + P["femoral_head.2"]) / 2
    ss = abs(_incl(s1a, s1p))
    mid = (s1a + s1p) / 2
    d = mid - hip
    pt = math.degrees(math.atan2(-d[0], d[1]))
    pi = pt + ss
    ll = _incl(c("L1", "superior", "anterior"), c("L1", "superior", "posterior")) - _incl(s1a, s1p)
    out: dict[str, float] = {
        M.SACRAL_SLOPE.value: ss,
        M.PELVIC_TILT.value: pt,
        M.PELVIC_INCIDENCE.value: pi,
        M.LUMBAR_LORDOSIS.value: ll,
        M.PI_LL_MISMATCH.value: pi - ll,
    }
    for up, lo in (("L4", "L5"), ("L5", "S1")):
        ua, up_ = c(up, "inferior", "anterior"), c(up, "inferior", "posterior")
        la, lp = c(lo, "superior", "anterior"), c(lo, "superior", "posterior")
        key = f"{up}_{lo}"
        out[f"segmental_lordosis_{key}"] = _incl(ua, up_) - _incl(la, lp)
        ha, hp = float(np.linalg.norm(ua - la)), float(np.linalg.norm(up_ - lp))
        out[f"disc_height_anterior_{key}"] = ha
        out[f"disc_height_posterior_{key}"] = hp
        out[f"disc_height_mean_{key}"] = (ha + hp) / 2
        out[f"disc_height_index_{key}"] = (ha + hp) / 2 / float(np.linalg.norm(ua - up_))
        u = (la - lp) / np.linalg.norm(la - lp)
        slip = float((up_ - lp) @ u)
        pct = 100.0 * slip / float(np.linalg.norm(la - lp))
        out[f"slip_mm_{key}"] = slip
        out[f"slip_percent_{key}"] = pct
        out[f"meyerding_grade_{key}"] = float(_meyerding(pct))
    return out


def segment_motion(neutral: Mapping[str, float], moved: Mapping[str, float]) -> dict[str, float]:
    """Rotation (deg) and translation (mm) of L4-L5 and L5-S1 in a bent film relative to the neutral one."""
    return {
        f"{k}_{what}": float(moved[f"{src}_{k}"] - neutral[f"{src}_{k}"])
        for k in ("L4_L5", "L5_S1")
        for what, src in (("rotation_deg", "segmental_lordosis"), ("translation_mm", "slip_mm"))
    }


def ap_truth(points_px: Mapping[str, tuple[float, float]], spacing_mm: float) -> dict[str, float]:
    """Every AP :class:`~fusionwatch.measurement.MeasureName` value from AP landmarks (image-side names, pixels).

    Frame: X toward the image right, Y up, mm. Disc wedge positive when the disc is taller on the image right; Cobb
    = the largest angle between any two of the L1..L5 / S1 endplates; lateral listhesis = offset of the upper endplate
    midpoint from the lower one along the lower endplate, positive toward the image right, and % of its width.
    """
    P = {n: np.array([p[0] * spacing_mm, -p[1] * spacing_mm]) for n, p in points_px.items()}

    def tilt(prefix: str) -> float:
        d = P[f"{prefix}.right"] - P[f"{prefix}.left"]
        return math.degrees(math.atan2(d[1], d[0]))

    out: dict[str, float] = {}
    for up, lo in (("L4", "L5"), ("L5", "S1")):
        key = f"{up}_{lo}"
        out[f"disc_wedge_{key}"] = tilt(f"{up}.inferior") - tilt(f"{lo}.superior")
        ul, ur = P[f"{up}.inferior.left"], P[f"{up}.inferior.right"]
        ll, lr = P[f"{lo}.superior.left"], P[f"{lo}.superior.right"]
        base = (ll + lr) / 2
        u = (lr - ll) / np.linalg.norm(lr - ll)
        t = float(((ul + ur) / 2 - base) @ u)
        out[f"lateral_listhesis_mm_{key}"] = t
        out[f"lateral_listhesis_percent_{key}"] = 100.0 * t / float(np.linalg.norm(lr - ll))
    plates = [f"{lv}.{ep}" for lv in _LEVELS[:-1] for ep in ("superior", "inferior")] + ["S1.superior"]
    tilts = [tilt(p) for p in plates if f"{p}.left" in P]
    out["coronal_cobb"] = max(abs(a - b) for i, a in enumerate(tilts) for b in tilts[i + 1 :])
    return out
