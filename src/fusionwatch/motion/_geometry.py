"""Geometry shared by the registration and the landmark-difference method: body outlines, rigid transforms, the
segmental angle and the slip distance of one motion segment.

All points are ``(x, y)`` pixels (origin at the centre of the top-left pixel, x right, y down) unless a name says mm.
Rigid transforms are 3 x 3 homogeneous matrices acting on column vectors ``(x, y, 1)`` in full-resolution pixels of
the films they map between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fusionwatch.anatomy import Corner, Endplate, Level, corner_name
from fusionwatch.errors import InputError, LandmarkError
from fusionwatch.landmarks import Landmarks, lateral_facing
from fusionwatch.radiograph import Facing
from fusionwatch.units import Spacing

__all__ = [
    "Segment",
    "parse_level",
    "body_outline",
    "rigid_from_points",
    "rotation_deg",
    "segment_angle_deg",
    "slip_px_vector",
    "facing_sign",
]

S1_BODY_DEPTH_RATIO = 0.35
"""Height of the S1 region drawn below its superior endplate, as a fraction of the endplate length. Kept shallow: lower
down, the iliac wings overlap the sacrum at other depths (other magnifications), so on a lateral film they do not move
rigidly with it. On the simulator's films 0.35 gave an L5-S1 error SD of 0.11 deg against 0.33 deg with 0.75
(benchmarks/bench_motion.py)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """A motion segment: the upper vertebra over the lower one, e.g. L5 over S1."""

    upper: Level
    lower: Level

    @property
    def name(self) -> str:
        return f"{self.upper.value}-{self.lower.value}"


def parse_level(text: str) -> Segment:
    """``"L5-S1"`` -> Segment(L5, S1).

    Raises
    ------
    InputError
        If the text is not two adjacent levels joined by ``-``.
    """
    try:
        a, b = (Level(p.strip().upper()) for p in text.replace("_", "-").split("-"))
    except ValueError:
        raise InputError(f"Level must look like 'L5-S1' (two adjacent levels), got {text!r}.") from None
    if b.index != a.index + 1:
        raise InputError(f"Level {text!r} is not two adjacent vertebrae (e.g. 'L4-L5', 'L5-S1').")
    return Segment(a, b)


def _centroid(landmarks: Landmarks, level: Level) -> np.ndarray | None:
    pts = [p for n, p in landmarks.points.items() if n.startswith(level.value + ".")]
    return np.mean(np.asarray(pts, float), axis=0) if pts else None


def body_outline(landmarks: Landmarks, level: Level, s1_depth_ratio: float = S1_BODY_DEPTH_RATIO) -> np.ndarray:
    """Outline of a vertebral body as a (4, 2) array of pixel ``(x, y)``.

    L1-L5: the four corners in the order superior-anterior, superior-posterior, inferior-posterior, inferior-anterior.
    S1: its superior endplate corners (anterior, posterior) and two points drawn caudally, perpendicular to the
    endplate, :data:`S1_BODY_DEPTH_RATIO` x the endplate length away (the side away from L5).

    Raises
    ------
    LandmarkError
        If a needed corner is missing.
    """
    if level is not Level.S1:
        names = [
            corner_name(level, Endplate.SUPERIOR, Corner.ANTERIOR),
            corner_name(level, Endplate.SUPERIOR, Corner.POSTERIOR),
            corner_name(level, Endplate.INFERIOR, Corner.POSTERIOR),
            corner_name(level, Endplate.INFERIOR, Corner.ANTERIOR),
        ]
        return np.asarray(landmarks.require(*names), float)
    a, p = (
        np.asarray(q, float)
        for q in landmarks.require(
            corner_name(Level.S1, Endplate.SUPERIOR, Corner.ANTERIOR),
            corner_name(Level.S1, Endplate.SUPERIOR, Corner.POSTERIOR),
        )
    )
    d = p - a
    length = float(np.hypot(*d))
    if length < 2.0:
        raise LandmarkError(f"S1 endplate corners are {length:.1f} px apart; need at least 2 px.")
    n = np.array([-d[1], d[0]]) / length
    above = _centroid(landmarks, Level.L5)
    mid = (a + p) / 2
    if above is not None:
        if np.dot(above - mid, n) > 0:
            n = -n
    elif n[1] < 0:  # no L5: assume caudal is image-down
        n = -n
    h = s1_depth_ratio * length
    return np.stack([a, p, p + n * h, a + n * h])


def rigid_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rigid transform (rotation + translation, no scaling) mapping ``src`` onto ``dst`` (Kabsch).

    Parameters
    ----------
    src, dst : (N, 2) ndarray
        Corresponding pixel points, N >= 2.

    Returns
    -------
    (3, 3) ndarray
        Homogeneous matrix ``M`` with ``dst ~ M @ [x, y, 1]``.
    """
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    cs, cd = src.mean(0), dst.mean(0)
    h = (src - cs).T @ (dst - cd)
    u, _, vt = np.linalg.svd(h)
    r = vt.T @ u.T
    if np.linalg.det(r) < 0:
        vt[-1] *= -1
        r = vt.T @ u.T
    m = np.eye(3)
    m[:2, :2] = r
    m[:2, 2] = cd - r @ cs
    return m


def rotation_deg(m: np.ndarray) -> float:
    """Rotation angle of a rigid 3 x 3 matrix in image axes (y down), degrees: positive = clockwise on screen."""
    return math.degrees(math.atan2(m[1, 0], m[0, 0]))


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3 x 3 homogeneous transform to (N, 2) points."""
    pts = np.asarray(pts, float)
    return pts @ m[:2, :2].T + m[:2, 2]


def facing_sign(facing: Facing) -> float:
    """+1 when the patient faces image-left, -1 when image-right.

    An image-axes angle (clockwise on screen positive) times this sign gives the anatomical sense in which lordosis
    (extension of the upper vertebra over the lower) is positive.
    """
    return 1.0 if facing is Facing.LEFT else -1.0


def _mm(v: np.ndarray, spacing: Spacing | None) -> np.ndarray:
    if spacing is None:
        return np.asarray(v, float)
    return np.asarray(v, float) * np.array([spacing.dx_mm, spacing.dy_mm])


def _endplate(landmarks: Landmarks, level: Level, endplate: Endplate) -> tuple[np.ndarray, np.ndarray]:
    a, p = landmarks.require(
        corner_name(level, endplate, Corner.ANTERIOR), corner_name(level, endplate, Corner.POSTERIOR)
    )
    return np.asarray(a, float), np.asarray(p, float)


def segment_angle_deg(
    upper_inferior: tuple[np.ndarray, np.ndarray],
    lower_superior: tuple[np.ndarray, np.ndarray],
    facing: Facing,
    spacing: Spacing | None = None,
) -> float:
    """Segmental angle between the upper body's inferior endplate and the lower body's superior endplate.

    Parameters
    ----------
    upper_inferior, lower_superior : (anterior, posterior) pairs of pixel points
    facing : Facing
        Which image side the patient faces.
    spacing : Spacing | None
        Used to compute the angle on millimetre coordinates when the pixels are not square.

    Returns
    -------
    float
        Degrees, lordosis positive (the endplates open anteriorly), kyphosis negative.
    """
    ua, up = (_mm(q, spacing) for q in upper_inferior)
    la, lp = (_mm(q, spacing) for q in lower_superior)
    u, v = up - ua, lp - la
    ang = math.degrees(math.atan2(u[1], u[0]) - math.atan2(v[1], v[0]))
    ang = (ang + 180.0) % 360.0 - 180.0
    return facing_sign(facing) * ang


def slip_px_vector(upper_inferior_posterior: np.ndarray, lower_superior: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Offset of the upper body's posterior-inferior corner from the lower body's posterior-superior corner, as a pixel
    vector, with the unit vector along the lower endplate from posterior to anterior (for projection)."""
    la, lp = lower_superior
    return np.asarray(upper_inferior_posterior, float) - lp


def slip_along(
    offset_px: np.ndarray, lower_superior: tuple[np.ndarray, np.ndarray], spacing: Spacing | None
) -> tuple[float, float]:
    """Slip distance (anterior positive) and the lower endplate depth, both in mm when ``spacing`` is given else px."""
    la, lp = (_mm(q, spacing) for q in lower_superior)
    d = la - lp
    depth = float(np.hypot(*d))
    return float(np.dot(_mm(offset_px, spacing), d / depth)), depth


def segment_points(landmarks: Landmarks, seg: Segment) -> dict[str, np.ndarray]:
    """The corners the motion definitions use, as pixel arrays."""
    ua, up = _endplate(landmarks, seg.upper, Endplate.INFERIOR)
    la, lp = _endplate(landmarks, seg.lower, Endplate.SUPERIOR)
    return {"upper_inf_ant": ua, "upper_inf_post": up, "lower_sup_ant": la, "lower_sup_post": lp}


def facing_of(landmarks: Landmarks) -> Facing:
    return lateral_facing(landmarks)
