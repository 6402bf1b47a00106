"""Pure plane geometry on ``(x, y)`` points: directions, signed angles, distances, projections.

Coordinate conventions
----------------------
Unless a function says otherwise, points are ``(x, y)`` on **image axes**: origin at the centre of the top-left pixel,
x to the right, y *down*, in millimetres or pixels (every function here works in either, as long as all its arguments
share one unit; lengths come back in that unit). Angles are in degrees at every boundary.

Because y points down, "counter-clockwise as seen on the screen" is the mathematically *clockwise* direction of the
raw numbers. Every signed angle in this module is stated **as seen on the screen**: positive = counter-clockwise on the
displayed image. :func:`to_anatomical_frame` maps lateral-film points to a frame where x is anterior and y is up, which
is what the measurement modules use so that signs are anatomical whichever way the patient faces.

No logging, no settings, no I/O: numbers in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from fusionwatch._typing import Point
from fusionwatch.radiograph import Facing
from fusionwatch.units import Spacing

__all__ = [
    "distance",
    "midpoint",
    "direction_deg",
    "signed_angle_deg",
    "line_angle_deg",
    "wrap_deg",
    "signed_distance_to_line",
    "project_onto_line",
    "rotate",
    "scaled",
    "to_anatomical_frame",
]

_EPS = 1e-12


def distance(a: Point, b: Point) -> float:
    """Euclidean distance between ``a`` and ``b``, in the unit of the points."""
    return math.hypot(b[0] - a[0], b[1] - a[1])


def midpoint(a: Point, b: Point) -> Point:
    """The point half-way between ``a`` and ``b``."""
    return ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)


def wrap_deg(angle_deg: float) -> float:
    """Wrap an angle into ``(-180, 180]`` degrees.

    Examples
    --------
    >>> wrap_deg(190.0)
    -170.0
    >>> wrap_deg(-180.0)
    180.0
    """
    wrapped = math.fmod(angle_deg, 360.0)
    if wrapped <= -180.0:
        wrapped += 360.0
    elif wrapped > 180.0:
        wrapped -= 360.0
    return wrapped


def _check_length(a: Point, b: Point, what: str) -> tuple[float, float]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if math.hypot(dx, dy) < _EPS:
        raise ValueError(f"{what}: the two points coincide at {a!r}, so the line has no direction.")
    return dx, dy


def direction_deg(a: Point, b: Point, *, y_down: bool = True) -> float:
    """Direction of the vector from ``a`` to ``b``.

    Parameters
    ----------
    a, b : Point
        ``(x, y)`` in any common unit.
    y_down : bool
        ``True`` (default) for image axes (y down): the angle is counter-clockwise *as seen on the screen* from the
        +x (image right) direction. ``False`` for a y-up frame (ordinary mathematical convention).

    Returns
    -------
    float
        Degrees in ``(-180, 180]``: 0 points right, +90 points up the screen (toward smaller y on image axes).

    Raises
    ------
    ValueError
        If ``a`` and ``b`` coincide.

    Examples
    --------
    >>> direction_deg((0.0, 0.0), (1.0, -1.0))   # up and to the right on the screen
    45.0
    """
    dx, dy = _check_length(a, b, "direction_deg")
    return wrap_deg(math.degrees(math.atan2(-dy if y_down else dy, dx)))


def signed_angle_deg(u_from: Point, u_to: Point, v_from: Point, v_to: Point, *, y_down: bool = True) -> float:
    """Signed angle that turns the vector ``u_from -> u_to`` onto the vector ``v_from -> v_to``.

    Returns
    -------
    float
        Degrees in ``(-180, 180]``; positive when the turn is counter-clockwise as seen on the screen (image axes,
        ``y_down=True``) or counter-clockwise in a y-up frame (``y_down=False``).
    """
    return wrap_deg(direction_deg(v_from, v_to, y_down=y_down) - direction_deg(u_from, u_to, y_down=y_down))


def line_angle_deg(a1: Point, a2: Point, b1: Point, b2: Point) -> float:
    """Unsigned angle between the (undirected) lines ``a1-a2`` and ``b1-b2``.

    Returns
    -------
    float
        Degrees in ``[0, 90]``. Point order within each line does not matter; neither does the y direction.
    """
    angle = abs(signed_angle_deg(a1, a2, b1, b2))
    return 180.0 - angle if angle > 90.0 else angle


def signed_distance_to_line(p: Point, a: Point, b: Point, *, y_down: bool = True) -> float:
    """Perpendicular distance from ``p`` to the infinite line through ``a`` and ``b``.

    Returns
    -------
    float
        In the unit of the points; positive when ``p`` lies to the *left* of the direction ``a -> b`` as seen on the
        screen (image axes), or to the left in a y-up frame with ``y_down=False``. Zero on the line.
    """
    dx, dy = _check_length(a, b, "signed_distance_to_line")
    cross = dx * (p[1] - a[1]) - dy * (p[0] - a[0])  # z of (b - a) x (p - a) in the raw (x, y) numbers
    if y_down:
        cross = -cross  # on the screen y is flipped, so left and right swap
    return cross / math.hypot(dx, dy)


def project_onto_line(p: Point, a: Point, b: Point) -> tuple[float, Point]:
    """Orthogonal projection of ``p`` onto the line through ``a`` and ``b``.

    Returns
    -------
    t : float
        Signed distance from ``a`` to the foot of the perpendicular, measured along the direction ``a -> b``, in the
        unit of the points (negative when the foot lies behind ``a``).
    foot : Point
        The foot of the perpendicular.
    """
    dx, dy = _check_length(a, b, "project_onto_line")
    length = math.hypot(dx, dy)
    ux, uy = dx / length, dy / length
    t = (p[0] - a[0]) * ux + (p[1] - a[1]) * uy
    return t, (a[0] + t * ux, a[1] + t * uy)


def rotate(p: Point, centre: Point, angle_deg: float, *, y_down: bool = True) -> Point:
    """Rotate ``p`` about ``centre`` by ``angle_deg`` (counter-clockwise as seen on the screen when ``y_down``)."""
    theta = math.radians(-angle_deg if y_down else angle_deg)
    c, s = math.cos(theta), math.sin(theta)
    x, y = p[0] - centre[0], p[1] - centre[1]
    return (centre[0] + c * x - s * y, centre[1] + s * x + c * y)


def scaled(points: Mapping[str, Point], spacing: Spacing | None) -> dict[str, Point]:
    """Pixel points to millimetres (``x * dx_mm``, ``y * dy_mm``), or unchanged pixels when ``spacing`` is ``None``.

    Angles must be computed on the result, not on pixels: with anisotropic spacing (``dx_mm != dy_mm``) pixel angles
    are wrong.
    """
    if spacing is None:
        return {n: (float(p[0]), float(p[1])) for n, p in points.items()}
    return {n: (float(p[0]) * spacing.dx_mm, float(p[1]) * spacing.dy_mm) for n, p in points.items()}


def to_anatomical_frame(points: Mapping[str, Point] | Iterable[tuple[str, Point]], facing: Facing) -> dict[str, Point]:
    """Map lateral-film points from image axes to the anatomical frame (X anterior, Y up / cranial on the film).

    Parameters
    ----------
    points : Mapping[str, Point]
        ``(x, y)`` on image axes (y down), in mm or px.
    facing : Facing
        Which image side the patient's front is on (:func:`fusionwatch.landmarks.lateral_facing`).

    Returns
    -------
    dict[str, Point]
        ``(X, Y)`` with ``X = x`` when facing right and ``X = -x`` when facing left, and ``Y = -y``. Lengths are
        unchanged; signed angles in this frame (counter-clockwise positive, ``y_down=False``) no longer depend on which
        way the patient faces: a rotation that tips the front of a vertebra upward is positive.
    """
    sign = 1.0 if facing is Facing.RIGHT else -1.0
    items = points.items() if isinstance(points, Mapping) else points
    return {n: (sign * float(p[0]), -float(p[1])) for n, p in items}
