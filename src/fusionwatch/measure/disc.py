"""Disc heights and the disc height index on a lateral film (CLINICAL.md, "Disc height").

Three methods from the four corners of the endplates that face each other across the disc (upper body's inferior
endplate, lower body's superior endplate), each a pure function with its method id:

- two-point (Dabbs), ``disc-height-two-point/1``: the mean of the anterior height (distance between the anterior
  corners) and the posterior height (the same for the posterior corners). **The one the measurements and the
  follow-up rules use** (``disc_height_mean_<L>``).
- centre (Hurxthal), ``disc-height-centre/1``: the distance between the midpoints of the two endplates.
- three-point, ``disc-height-three-point/1``: the mean of the anterior, centre and posterior heights.

The disc height index divides the two-point mean height by the AP depth of the upper body, measured as the length of
its inferior endplate, so it needs no calibration.

Points are in the anatomical frame of :mod:`fusionwatch.measure._common` (mm, or px without spacing); distances do not
depend on the facing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from fusionwatch._typing import Point
from fusionwatch.anatomy import Corner, Endplate, Level, corner_name
from fusionwatch.errors import InputError
from fusionwatch.geometry import distance, midpoint
from fusionwatch.measure._common import Frame, length, missing_points, ratio
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit

__all__ = [
    "METHOD_DISC_HEIGHT",
    "METHOD_DISC_HEIGHT_CENTRE",
    "METHOD_DISC_HEIGHT_THREE_POINT",
    "METHOD_DISC_HEIGHT_INDEX",
    "DISC_HEIGHT_METHODS",
    "DiscCorners",
    "DiscHeights",
    "disc_heights",
    "disc_height_two_point",
    "disc_height_centre",
    "disc_height_three_point",
    "disc_height",
    "measure_discs",
]

METHOD_DISC_HEIGHT = "disc-height-two-point/1"
"""Two-point (Dabbs): mean of the anterior and posterior corner-to-corner heights. Used by ``measure_discs``."""
METHOD_DISC_HEIGHT_CENTRE = "disc-height-centre/1"
"""Centre (Hurxthal): distance between the midpoints of the two endplates."""
METHOD_DISC_HEIGHT_THREE_POINT = "disc-height-three-point/1"
"""Three-point: mean of the anterior, centre and posterior heights."""
METHOD_DISC_HEIGHT_INDEX = "dhi-mean-height-over-upper-inferior-endplate/1"

_NAMES: dict[tuple[Level, Level], tuple[MeasureName, MeasureName, MeasureName, MeasureName]] = {
    (Level.L4, Level.L5): (
        MeasureName.DISC_HEIGHT_ANTERIOR_L4_L5,
        MeasureName.DISC_HEIGHT_POSTERIOR_L4_L5,
        MeasureName.DISC_HEIGHT_MEAN_L4_L5,
        MeasureName.DISC_HEIGHT_INDEX_L4_L5,
    ),
    (Level.L5, Level.S1): (
        MeasureName.DISC_HEIGHT_ANTERIOR_L5_S1,
        MeasureName.DISC_HEIGHT_POSTERIOR_L5_S1,
        MeasureName.DISC_HEIGHT_MEAN_L5_S1,
        MeasureName.DISC_HEIGHT_INDEX_L5_S1,
    ),
}


@dataclass(frozen=True, slots=True)
class DiscHeights:
    """Two-point disc heights: three lengths in the points' unit and the unitless index."""

    anterior: float
    posterior: float
    mean: float
    index: float


def disc_heights(
    upper_inferior_anterior: Point,
    upper_inferior_posterior: Point,
    lower_superior_anterior: Point,
    lower_superior_posterior: Point,
) -> DiscHeights:
    """Two-point disc heights and the disc height index.

    Parameters
    ----------
    upper_inferior_anterior, upper_inferior_posterior : Point
        Corners of the upper body's inferior endplate, ``(x, y)`` in mm (or px), any axes.
    lower_superior_anterior, lower_superior_posterior : Point
        Corners of the lower body's superior endplate, same unit.

    Returns
    -------
    DiscHeights
        Anterior height, posterior height, their mean (same unit as the points; >= 0) and the disc height index
        ``mean / |upper inferior endplate|`` (unitless).

    Raises
    ------
    ValueError
        If the upper inferior endplate corners coincide (no depth to divide by).
    """
    c = DiscCorners(
        upper_inferior_anterior, upper_inferior_posterior, lower_superior_anterior, lower_superior_posterior
    )
    mean = disc_height_two_point(c)
    depth = distance(upper_inferior_anterior, upper_inferior_posterior)
    if depth < 1e-12:
        raise ValueError("disc_heights: the upper body's inferior endplate corners coincide, so its depth is zero.")
    return DiscHeights(c.anterior_height, c.posterior_height, mean, mean / depth)


class DiscCorners(NamedTuple):
    """The four corners facing each other across one disc: ``(x, y)`` in mm (or px), any axes and facing.

    Heights are distances, so they are unsigned (>= 0; an overlapping disc is caught by the plausibility checks, not
    by a negative height) and do not change when the film is rotated, moved or mirrored.
    """

    upper_inferior_anterior: Point
    upper_inferior_posterior: Point
    lower_superior_anterior: Point
    lower_superior_posterior: Point

    @property
    def anterior_height(self) -> float:
        """Distance between the anterior corners, in the points' unit."""
        return distance(self.upper_inferior_anterior, self.lower_superior_anterior)

    @property
    def posterior_height(self) -> float:
        """Distance between the posterior corners, in the points' unit."""
        return distance(self.upper_inferior_posterior, self.lower_superior_posterior)

    @property
    def centre_height(self) -> float:
        """Distance between the midpoints of the two endplates, in the points' unit."""
        return distance(
            midpoint(self.upper_inferior_anterior, self.upper_inferior_posterior),
            midpoint(self.lower_superior_anterior, self.lower_superior_posterior),
        )


def disc_height_two_point(corners: DiscCorners) -> float:
    """Two-point (Dabbs) disc height: ``(anterior + posterior) / 2`` in the points' unit, >= 0.

    Method id :data:`METHOD_DISC_HEIGHT`; the one ``disc_height_mean_<L>`` and the follow-up rules use.
    """
    return (corners.anterior_height + corners.posterior_height) / 2.0


def disc_height_centre(corners: DiscCorners) -> float:
    """Centre (Hurxthal) disc height: the distance between the midpoints of the two endplates, points' unit, >= 0.

    Never larger than the two-point height (the midpoint gap is the average of the two corner gaps as vectors); equal to
    it when the anterior and posterior gaps point the same way (no slip). Method id :data:`METHOD_DISC_HEIGHT_CENTRE`.
    """
    return corners.centre_height


def disc_height_three_point(corners: DiscCorners) -> float:
    """Three-point disc height: ``(anterior + centre + posterior) / 3`` in the points' unit, >= 0.

    Equal to ``(2 * two_point + centre) / 3``, so it lies between the centre and the two-point heights. Method id
    :data:`METHOD_DISC_HEIGHT_THREE_POINT`.
    """
    return (corners.anterior_height + corners.centre_height + corners.posterior_height) / 3.0


DISC_HEIGHT_METHODS: dict[str, Callable[[DiscCorners], float]] = {
    METHOD_DISC_HEIGHT: disc_height_two_point,
    METHOD_DISC_HEIGHT_CENTRE: disc_height_centre,
    METHOD_DISC_HEIGHT_THREE_POINT: disc_height_three_point,
}
"""Method id -> function (two-point first: the default)."""


def disc_height(method: str, corners: DiscCorners) -> float:
    """Disc height by the method named by its id (:data:`DISC_HEIGHT_METHODS`), in the points' unit.

    Raises
    ------
    InputError
        For an unknown method id (the message lists the known ones).
    """
    try:
        fn = DISC_HEIGHT_METHODS[method]
    except KeyError:
        raise InputError(f"Unknown disc height method {method!r}; known: {', '.join(DISC_HEIGHT_METHODS)}.") from None
    return fn(corners)


def measure_discs(frame: Frame, levels: tuple[Level, ...] = (Level.L4, Level.L5)) -> list[Measurement]:
    """Anterior, posterior and mean heights and the index for the discs below each of ``levels``.

    Lengths are mm with the spacing source (and its warning) on a calibrated film, px otherwise; the index is always
    reported.
    """
    out: list[Measurement] = []
    for upper in levels:
        lower = upper.below
        n_ant, n_post, n_mean, n_index = _NAMES[(upper, lower)]
        ua = corner_name(upper, Endplate.INFERIOR, Corner.ANTERIOR)
        up = corner_name(upper, Endplate.INFERIOR, Corner.POSTERIOR)
        la = corner_name(lower, Endplate.SUPERIOR, Corner.ANTERIOR)
        lp = corner_name(lower, Endplate.SUPERIOR, Corner.POSTERIOR)
        needed = (ua, up, la, lp)
        lu = frame.length_unit
        p = frame.points
        for name, pair in ((n_ant, (ua, la)), (n_post, (up, lp))):
            if absent := frame.missing_of(pair):
                out.append(missing_points(name, lu, METHOD_DISC_HEIGHT, absent, pair))
            else:
                out.append(length(name, distance(p[pair[0]], p[pair[1]]), frame, METHOD_DISC_HEIGHT, pair))
        if absent := frame.missing_of(needed):
            out.append(missing_points(n_mean, lu, METHOD_DISC_HEIGHT, absent, needed))
            out.append(missing_points(n_index, Unit.RATIO, METHOD_DISC_HEIGHT_INDEX, absent, needed))
            continue
        heights = disc_heights(p[ua], p[up], p[la], p[lp]) if p[ua] != p[up] else None
        out.append(
            length(
                n_mean,
                disc_height_two_point(DiscCorners(p[ua], p[up], p[la], p[lp])),
                frame,
                METHOD_DISC_HEIGHT,
                needed,
            )
        )
        if heights is None:
            reason = f"{ua} and {up} coincide, so {upper.value} has no depth"
            out.append(Measurement.missing(n_index, Unit.RATIO, METHOD_DISC_HEIGHT_INDEX, reason, needed))
        else:
            out.append(ratio(n_index, heights.index, Unit.RATIO, METHOD_DISC_HEIGHT_INDEX, needed))
    return out
