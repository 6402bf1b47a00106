"""Disc heights and the disc height index on a lateral film (CLINICAL.md, "Disc height").

Two-point method (Dabbs): the anterior height is the distance between the anterior corners of the two endplates that
face each other across the disc (upper body's inferior endplate, lower body's superior endplate), the posterior height
the same for the posterior corners, the mean their average. The disc height index divides the mean height by the AP
depth of the upper body, measured as the length of its inferior endplate, so it needs no calibration.

Points are in the anatomical frame of :mod:`fusionwatch.measure._common` (mm, or px without spacing); distances do not
depend on the facing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fusionwatch._typing import Point
from fusionwatch.anatomy import Corner, Endplate, Level, corner_name
from fusionwatch.geometry import distance
from fusionwatch.measure._common import Frame, length, missing_points, ratio
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit

__all__ = ["METHOD_DISC_HEIGHT", "METHOD_DISC_HEIGHT_INDEX", "DiscHeights", "disc_heights", "measure_discs"]

METHOD_DISC_HEIGHT = "disc-height-two-point/1"
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
    anterior = distance(upper_inferior_anterior, lower_superior_anterior)
    posterior = distance(upper_inferior_posterior, lower_superior_posterior)
    mean = (anterior + posterior) / 2.0
    depth = distance(upper_inferior_anterior, upper_inferior_posterior)
    if depth < 1e-12:
        raise ValueError("disc_heights: the upper body's inferior endplate corners coincide, so its depth is zero.")
    return DiscHeights(anterior, posterior, mean, mean / depth)


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
            length(n_mean, (distance(p[ua], p[la]) + distance(p[up], p[lp])) / 2.0, frame, METHOD_DISC_HEIGHT, needed)
        )
        if heights is None:
            reason = f"{ua} and {up} coincide, so {upper.value} has no depth"
            out.append(Measurement.missing(n_index, Unit.RATIO, METHOD_DISC_HEIGHT_INDEX, reason, needed))
        else:
            out.append(ratio(n_index, heights.index, Unit.RATIO, METHOD_DISC_HEIGHT_INDEX, needed))
    return out
