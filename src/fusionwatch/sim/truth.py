"""Exact values of the core lateral measurements, computed from the simulator's own landmark positions.

An independent implementation of CLINICAL.md's definitions (deliberately not importing :mod:`fusionwatch.measure`), so
tests can check that measuring the ground-truth landmarks with the core reproduces these numbers.

Points are ``(a, s)`` millimetres in the anatomical frame: ``a`` toward the patient's front, ``s`` upward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

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


def _absent(P: Mapping[str, object], needed: tuple[str, ...]) -> str | None:
    """Why a measurement has no true value (some of its points are not on the film), or ``None``."""
    gone = [n for n in needed if n not in P]
    return f"missing landmark(s): {', '.join(gone)} (outside the film's collimated field)" if gone else None


def _put(
    out: dict[str, float | None],
    reasons: dict[str, str] | None,
    names: tuple[str, ...],
    why: str | None,
    values: Callable[[], tuple[float, ...]],
) -> None:
    """Store ``values()`` under ``names``, or ``None`` and the reason when points are missing."""
    if why is None:
        out.update(zip(names, values(), strict=True))
        return
    for n in names:
        out[n] = None
        if reasons is not None:
            reasons[n] = why


def lateral_truth(P: Mapping[str, np.ndarray], reasons: dict[str, str] | None = None) -> dict[str, float | None]:
    """Every lateral :class:`~fusionwatch.measurement.MeasureName` value from anatomical-frame points (mm, deg, %).

    A value whose points are not all in ``P`` (off the film) is ``None``; its reason goes into ``reasons`` (the text
    of :meth:`~fusionwatch.measurement.Measurement.missing`).
    """
    c = lambda lv, ep, co: P[f"{lv}.{ep}.{co}"]  # noqa: E731
    s1 = ("S1.superior.anterior", "S1.superior.posterior")
    l1 = ("L1.superior.anterior", "L1.superior.posterior")
    heads = ("femoral_head.1", "femoral_head.2")
    out: dict[str, float | None] = {}

    def ss() -> float:
        return abs(_incl(P[s1[0]], P[s1[1]]))

    def pt() -> float:
        hip = (P[heads[0]] + P[heads[1]]) / 2
        d = (P[s1[0]] + P[s1[1]]) / 2 - hip
        return math.degrees(math.atan2(-d[0], d[1]))

    def ll() -> float:
        return _incl(P[l1[0]], P[l1[1]]) - _incl(P[s1[0]], P[s1[1]])

    _put(out, reasons, (M.SACRAL_SLOPE.value,), _absent(P, s1), lambda: (ss(),))
    _put(out, reasons, (M.PELVIC_TILT.value,), _absent(P, s1 + heads), lambda: (pt(),))
    _put(out, reasons, (M.PELVIC_INCIDENCE.value,), _absent(P, s1 + heads), lambda: (pt() + ss(),))
    _put(out, reasons, (M.LUMBAR_LORDOSIS.value,), _absent(P, l1 + s1), lambda: (ll(),))
    _put(out, reasons, (M.PI_LL_MISMATCH.value,), _absent(P, l1 + s1 + heads), lambda: (pt() + ss() - ll(),))
    for up, lo in (("L4", "L5"), ("L5", "S1")):
        key = f"{up}_{lo}"
        needed = tuple(f"{up}.inferior.{co}" for co in ("anterior", "posterior")) + tuple(
            f"{lo}.superior.{co}" for co in ("anterior", "posterior")
        )

        def disc(up: str = up, lo: str = lo) -> tuple[float, ...]:
            ua, up_ = c(up, "inferior", "anterior"), c(up, "inferior", "posterior")
            la, lp = c(lo, "superior", "anterior"), c(lo, "superior", "posterior")
            ha, hp = float(np.linalg.norm(ua - la)), float(np.linalg.norm(up_ - lp))
            u = (la - lp) / np.linalg.norm(la - lp)
            slip = float((up_ - lp) @ u)
            pct = 100.0 * slip / float(np.linalg.norm(la - lp))
            return (
                _incl(ua, up_) - _incl(la, lp),
                ha,
                hp,
                (ha + hp) / 2,
                (ha + hp) / 2 / float(np.linalg.norm(ua - up_)),
                slip,
                pct,
                float(_meyerding(pct)),
            )

        names = tuple(
            f"{n}_{key}"
            for n in (
                "segmental_lordosis",
                "disc_height_anterior",
                "disc_height_posterior",
                "disc_height_mean",
                "disc_height_index",
                "slip_mm",
                "slip_percent",
                "meyerding_grade",
            )
        )
        _put(out, reasons, names, _absent(P, needed), disc)
    return out


def segment_motion(neutral: Mapping[str, float | None], moved: Mapping[str, float | None]) -> dict[str, float | None]:
    """Rotation (deg) and translation (mm) of L4-L5 and L5-S1 in a bent film relative to the neutral one."""
    out: dict[str, float | None] = {}
    for k in ("L4_L5", "L5_S1"):
        for what, src in (("rotation_deg", "segmental_lordosis"), ("translation_mm", "slip_mm")):
            a, b = neutral.get(f"{src}_{k}"), moved.get(f"{src}_{k}")
            out[f"{k}_{what}"] = None if a is None or b is None else float(b - a)
    return out


def ap_truth(
    points_px: Mapping[str, tuple[float, float]], spacing_mm: float, reasons: dict[str, str] | None = None
) -> dict[str, float | None]:
    """Every AP :class:`~fusionwatch.measurement.MeasureName` value from AP landmarks (image-side names, pixels).

    Frame: X toward the image right, Y up, mm. Disc wedge positive when the disc is taller on the image right; Cobb
    = the largest angle between any two of the L1..L5 / S1 endplates; lateral listhesis = offset of the upper endplate
    midpoint from the lower one along the lower endplate, positive toward the image right, and % of its width.
    A value whose points are off the film is ``None`` with its reason in ``reasons``.
    """
    P = {n: np.array([p[0] * spacing_mm, -p[1] * spacing_mm]) for n, p in points_px.items()}

    def tilt(prefix: str) -> float:
        d = P[f"{prefix}.right"] - P[f"{prefix}.left"]
        return math.degrees(math.atan2(d[1], d[0]))

    out: dict[str, float | None] = {}
    for up, lo in (("L4", "L5"), ("L5", "S1")):
        key = f"{up}_{lo}"
        needed = tuple(f"{lv}.{ep}.{sd}" for lv, ep in ((up, "inferior"), (lo, "superior")) for sd in ("left", "right"))
        why = _absent(P, needed)

        def wedge(up: str = up, lo: str = lo) -> tuple[float]:
            return (tilt(f"{up}.inferior") - tilt(f"{lo}.superior"),)

        _put(out, reasons, (f"disc_wedge_{key}",), why, wedge)

        def listhesis(up: str = up, lo: str = lo) -> tuple[float, float]:
            ul, ur = P[f"{up}.inferior.left"], P[f"{up}.inferior.right"]
            ll, lr = P[f"{lo}.superior.left"], P[f"{lo}.superior.right"]
            u = (lr - ll) / np.linalg.norm(lr - ll)
            t = float(((ul + ur) / 2 - (ll + lr) / 2) @ u)
            return t, 100.0 * t / float(np.linalg.norm(lr - ll))

        _put(out, reasons, (f"lateral_listhesis_mm_{key}", f"lateral_listhesis_percent_{key}"), why, listhesis)
    plates = [f"{lv}.{ep}" for lv in _LEVELS[:-1] for ep in ("superior", "inferior")] + ["S1.superior"]
    tilts = [tilt(p) for p in plates if f"{p}.left" in P and f"{p}.right" in P]
    cobb = lambda: (max(abs(a - b) for i, a in enumerate(tilts) for b in tilts[i + 1 :]),)  # noqa: E731
    _put(out, reasons, ("coronal_cobb",), None if len(tilts) > 1 else "fewer than two endplates on the film", cobb)
    return out
