"""Landmarks: named points on one film, in pixels, with confidence and provenance.

Points are ``(x, y)`` pixels, origin at the centre of the top-left pixel, x right, y down. Names are those of
:mod:`fusionwatch.anatomy`. Missing points are simply absent. The JSON file format is in
:mod:`fusionwatch.io.landmark_json`
and documented in docs/landmarks.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from fusionwatch._typing import Point
from fusionwatch.anatomy import (
    AP_POINT_NAMES,
    FEMORAL_HEADS,
    LATERAL_POINT_NAMES,
    Corner,
    Endplate,
    ImageSide,
    Level,
    ap_corner_name,
    corner_name,
)
from fusionwatch.errors import LandmarkError
from fusionwatch.geometry import midpoint
from fusionwatch.radiograph import Facing, View

__all__ = [
    "Landmarks",
    "lateral_facing",
    "level_centre",
    "mirror",
    "check_inside_image",
    "check_vertebra_order",
    "hip_axis",
]


@dataclass(frozen=True)
class Landmarks:
    """Named points on one film.

    Attributes
    ----------
    points : Mapping[str, Point]
        Name -> ``(x, y)`` in pixels.
    width, height : int
        Size of the image the points belong to, in pixels.
    view : View
        ``View.AP`` uses AP names; lateral, flexion and extension use lateral names.
    confidence : Mapping[str, float]
        Name -> confidence in [0, 1]; absent for reader-placed points.
    source : str
        Who or what placed them: ``"model:lateral-unet/3"``, ``"reader:jdoe"``, ``"file:buu-lspine"``,
        ``"sim:ground-truth"``.
    needs_review : tuple[str, ...]
        Reasons a reader should check these points (low confidence, implausible geometry). Empty when none.
    """

    points: Mapping[str, Point]
    width: int
    height: int
    view: View = View.LATERAL
    confidence: Mapping[str, float] = field(default_factory=dict)
    source: str = ""
    needs_review: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        allowed = set(AP_POINT_NAMES if self.view is View.AP else LATERAL_POINT_NAMES)
        unknown = sorted(set(self.points) - allowed)
        if unknown:
            kind, other = ("AP", "lateral") if self.view is View.AP else ("lateral", "AP")
            other_names = set(LATERAL_POINT_NAMES if self.view is View.AP else AP_POINT_NAMES)
            if set(unknown) <= other_names:  # a whole file of the other view's names: say that, not 40 names
                raise LandmarkError(
                    f"The landmarks say view {self.view.value!r}, but {len(unknown)} of their points have {other} "
                    f"names ({unknown[0]}, ...): the view is wrong, or the points belong to another film. "
                    "See docs/landmarks.md."
                )
            raise LandmarkError(f"Unknown {kind} landmark name(s): {', '.join(unknown)}. See docs/landmarks.md.")
        for name, p in self.points.items():
            if len(p) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in p):
                raise LandmarkError(f"Landmark {name!r} must be two finite numbers [x, y], got {p!r}.")
        stray = sorted(set(self.confidence) - set(self.points))
        if stray:  # a confidence without its point: a misspelt name, or points left out by mistake
            raise LandmarkError(f"Confidence given for {', '.join(stray)}, which is not among the points: check the "
                                "name's spelling, or whether the point was left out. See docs/landmarks.md.")
        for name, c in self.confidence.items():
            if not 0.0 <= c <= 1.0:
                raise LandmarkError(f"Confidence of {name!r} must be in [0, 1], got {c!r}.")
        if self.width <= 0 or self.height <= 0:
            raise LandmarkError(f"Image size must be positive, got {self.width} x {self.height}.")

    def __contains__(self, name: object) -> bool:
        return name in self.points

    def get(self, name: str) -> Point | None:
        """The point, or ``None`` when absent."""
        p = self.points.get(name)
        return None if p is None else (float(p[0]), float(p[1]))

    def require(self, *names: str) -> list[Point]:
        """The named points, in order.

        Raises
        ------
        LandmarkError
            Naming every missing point.
        """
        missing = [n for n in names if n not in self.points]
        if missing:
            raise LandmarkError(f"Missing landmark(s): {', '.join(missing)}.")
        return [(float(self.points[n][0]), float(self.points[n][1])) for n in names]

    def corner(self, level: Level, endplate: Endplate, corner: Corner) -> Point | None:
        return self.get(corner_name(level, endplate, corner))

    def with_points(self, points: Mapping[str, Point], source: str | None = None) -> "Landmarks":
        """A copy with ``points`` replaced (confidence kept for unchanged names)."""
        conf = {n: c for n, c in self.confidence.items() if n in points and points[n] == self.points.get(n)}
        return Landmarks(
            dict(points), self.width, self.height, self.view, conf, source or self.source, self.needs_review
        )


def hip_axis(landmarks: Landmarks) -> Point | None:
    """Midpoint of the femoral head centres, or the one centre when only one is seen, or ``None``."""
    heads = [p for p in (landmarks.get(n) for n in FEMORAL_HEADS) if p is not None]
    if not heads:
        return None
    return (sum(p[0] for p in heads) / len(heads), sum(p[1] for p in heads) / len(heads))


def level_centre(landmarks: Landmarks, level: Level) -> Point | None:
    """Mean of the points named for ``level`` (its corners), in pixels; ``None`` when it has none."""
    pts = [p for n, p in landmarks.points.items() if n.startswith(level.value + ".")]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def _cranial_direction(landmarks: Landmarks) -> Point | None:
    """Image vector up the spine (toward L1): lowest level centre -> highest, else one body's inferior -> superior."""
    centres = [c for c in (level_centre(landmarks, lv) for lv in Level) if c is not None]
    if len(centres) >= 2 and centres[0] != centres[-1]:
        return (centres[0][0] - centres[-1][0], centres[0][1] - centres[-1][1])
    for level in Level:
        if level is Level.S1:
            continue
        sup = [landmarks.corner(level, Endplate.SUPERIOR, c) for c in Corner]
        inf = [landmarks.corner(level, Endplate.INFERIOR, c) for c in Corner]
        if None not in sup and None not in inf:
            s, i = midpoint(*sup), midpoint(*inf)  # type: ignore[arg-type]
            if s != i:
                return (s[0] - i[0], s[1] - i[1])
    return None


def lateral_facing(landmarks: Landmarks) -> Facing:
    """Which image side the patient faces, from the anterior vs posterior corners of every endplate present.

    Rotation-proof: each endplate's posterior -> anterior vector is compared with the direction up the spine (lowest
    level present -> highest), so a steep sacrum or a tilted film cannot fool it. With image axes (y down), anterior
    lying clockwise-on-screen of "up" means facing right. When the spine's direction is unknown (one endplate only), the
    anterior corner left or right of the posterior one in x decides.

    Raises
    ------
    LandmarkError
        If no endplate has both corners, or the endplates disagree (mislabelled anterior/posterior corners).
    """
    vectors: list[Point] = []
    for name in LATERAL_POINT_NAMES:
        if name.endswith(".anterior"):
            a, p = landmarks.get(name), landmarks.get(name.replace(".anterior", ".posterior"))
            if a is not None and p is not None:
                vectors.append((a[0] - p[0], a[1] - p[1]))
    if not vectors:
        raise LandmarkError("Cannot tell which way the patient faces: no endplate has both corners.")
    up = _cranial_direction(landmarks)
    # z of (anterior - posterior) x up on image numbers: negative when facing right (e.g. (1, 0) x (0, -1) = -1);
    # 0 (coincident corners, or an endplate along the spine) casts no vote
    right = [] if up is None else [c < 0 for v in vectors if (c := v[0] * up[1] - v[1] * up[0]) != 0]
    if not right:
        right = [v[0] > 0 for v in vectors if v[0] != 0]
    if not right:
        raise LandmarkError("Cannot tell which way the patient faces: every endplate's corners coincide.")
    if 0 < sum(right) < len(right):
        raise LandmarkError(
            f"Anterior and posterior corners disagree: {sum(right)} of {len(right)} endplates say the patient faces "
            "image-right, the others image-left. Check the corner labels."
        )
    return Facing.RIGHT if right[0] else Facing.LEFT


def mirror(landmarks: Landmarks) -> Landmarks:
    """Mirror the points about the vertical image centre line (x -> W - 1 - x).

    Lateral names stay as they are (anterior is still anterior, now on the other side); AP left/right names swap,
    because
    they name image sides.
    """
    w = landmarks.width

    def rename(name: str) -> str:
        if landmarks.view is not View.AP:
            return name
        if name.endswith(".left"):
            return name[: -len("left")] + "right"
        if name.endswith(".right"):
            return name[: -len("right")] + "left"
        return name

    points = {rename(n): (w - 1 - p[0], p[1]) for n, p in landmarks.points.items()}
    conf = {rename(n): c for n, c in landmarks.confidence.items()}
    return Landmarks(points, w, landmarks.height, landmarks.view, conf, landmarks.source, landmarks.needs_review)


def check_inside_image(landmarks: Landmarks, margin_px: float = 0.5) -> None:
    """Raise LandmarkError naming the points that lie outside the image (beyond ``margin_px`` of the border pixels)."""
    outside = [
        f"{n} ({p[0]:.1f}, {p[1]:.1f})"
        for n, p in landmarks.points.items()
        if not (
            -margin_px <= p[0] <= landmarks.width - 1 + margin_px
            and -margin_px <= p[1] <= landmarks.height - 1 + margin_px
        )
    ]
    if outside:
        raise LandmarkError(
            f"{len(outside)} landmark(s) fall outside the {landmarks.width} x {landmarks.height} px image: "
            f"{', '.join(outside)}. Was the landmark file made for another image?"
        )


def _level_centres(landmarks: Landmarks) -> list[tuple[Level, np.ndarray]]:
    return [(lv, np.asarray(c)) for lv in Level if (c := level_centre(landmarks, lv)) is not None]


def check_vertebra_order(landmarks: Landmarks) -> None:
    """Check that vertebrae follow each other L1 -> S1 down the spine and each superior endplate is above its inferior.

    The spine may be tilted on the film, so "down" is the direction from the first to the last level present, not the
    image y axis. Raises LandmarkError with the offending levels.
    """
    centres = _level_centres(landmarks)
    if len(centres) >= 2:
        axis = centres[-1][1] - centres[0][1]
        norm = float(np.linalg.norm(axis))
        if norm < 1e-6:
            raise LandmarkError("All vertebrae sit at the same place: the landmarks are degenerate.")
        axis /= norm
        proj = [(lv, float(np.dot(c, axis))) for lv, c in centres]
        for (upper, a), (lower, b) in zip(proj, proj[1:], strict=False):
            if b <= a:
                raise LandmarkError(
                    f"Vertebrae in impossible order: {lower.value} is not below {upper.value} along the spine. "
                    "Check the level labels."
                )
        down = axis
    else:
        down = np.array([0.0, 1.0])
    sides = (ImageSide.LEFT, ImageSide.RIGHT) if landmarks.view is View.AP else (Corner.ANTERIOR, Corner.POSTERIOR)
    for level in Level:
        if level is Level.S1:
            continue
        for side in sides:
            if landmarks.view is View.AP:
                sup_n = ap_corner_name(level, Endplate.SUPERIOR, side)  # type: ignore[arg-type]
                inf_n = ap_corner_name(level, Endplate.INFERIOR, side)  # type: ignore[arg-type]
            else:
                sup_n = corner_name(level, Endplate.SUPERIOR, side)  # type: ignore[arg-type]
                inf_n = corner_name(level, Endplate.INFERIOR, side)  # type: ignore[arg-type]
            sup, inf = landmarks.get(sup_n), landmarks.get(inf_n)
            if sup is not None and inf is not None and float(np.dot(np.subtract(inf, sup), down)) <= 0:
                raise LandmarkError(
                    f"{level.value}: the inferior endplate corner {inf_n} is not below the superior corner {sup_n}."
                )
