"""Coronal angles on an AP film: disc wedge angles and the lumbar coronal Cobb angle (CLINICAL.md, "Coronal").

AP points are named by **image side** (``L4.inferior.left``), because a film may be displayed either way round and the
patient's side cannot be told from the pixels alone. Signs are therefore stated in image terms. Points are in the AP
frame of :mod:`fusionwatch.measure._common`: X toward the image right, Y up the film, mm (or px without spacing).
"""

from __future__ import annotations

import itertools

from fusionwatch._typing import Point
from fusionwatch.anatomy import Endplate, ImageSide, Level, ap_corner_name
from fusionwatch.geometry import direction_deg, wrap_deg
from fusionwatch.measure._common import Frame, angle, missing_points
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit

__all__ = [
    "METHOD_DISC_WEDGE",
    "METHOD_CORONAL_COBB",
    "coronal_inclination_deg",
    "disc_wedge_deg",
    "coronal_cobb_deg",
    "measure_coronal",
]

METHOD_DISC_WEDGE = "disc-wedge-endplates/1"
METHOD_CORONAL_COBB = "coronal-cobb-max-endplate-pair/1"


def coronal_inclination_deg(left: Point, right: Point) -> float:
    """Tilt of an endplate on an AP film: positive when its image-right end is higher (AP frame, Y up).

    Returns
    -------
    float
        Degrees in ``(-180, 180]``, normally within +-45.
    """
    return direction_deg(left, right, y_down=False)


def disc_wedge_deg(upper_left: Point, upper_right: Point, lower_left: Point, lower_right: Point) -> float:
    """Disc wedge angle between the upper body's inferior endplate and the lower body's superior endplate.

    Returns
    -------
    float
        Degrees; **positive when the disc space is taller on the image-right side** (the endplates open toward the
        image right), negative when taller on the image left, 0 for parallel endplates.
    """
    return wrap_deg(coronal_inclination_deg(upper_left, upper_right) - coronal_inclination_deg(lower_left, lower_right))


def coronal_cobb_deg(endplates: dict[str, tuple[Point, Point]]) -> tuple[float, str, str]:
    """Largest angle between any two endplates (the lumbar coronal Cobb angle).

    Parameters
    ----------
    endplates : dict[str, tuple[Point, Point]]
        Endplate label -> (left corner, right corner), AP frame, at least two entries, top to bottom.

    Returns
    -------
    cobb, upper, lower : float, str, str
        The angle in degrees (>= 0, unsigned as Cobb angles are) and the labels of the two endplates that make it,
        upper first.
    """
    if len(endplates) < 2:
        raise ValueError(f"coronal_cobb_deg needs at least two endplates, got {len(endplates)}.")
    tilt = {k: coronal_inclination_deg(*v) for k, v in endplates.items()}
    best = (-1.0, "", "")
    for a, b in itertools.combinations(endplates, 2):  # insertion order is top to bottom, so a is above b
        value = abs(wrap_deg(tilt[a] - tilt[b]))
        if value > best[0]:
            best = (value, a, b)
    return best


def _endplate(level: Level, endplate: Endplate) -> tuple[str, str]:
    return ap_corner_name(level, endplate, ImageSide.LEFT), ap_corner_name(level, endplate, ImageSide.RIGHT)


_WEDGE = {
    MeasureName.DISC_WEDGE_L4_L5: (_endplate(Level.L4, Endplate.INFERIOR), _endplate(Level.L5, Endplate.SUPERIOR)),
    MeasureName.DISC_WEDGE_L5_S1: (_endplate(Level.L5, Endplate.INFERIOR), _endplate(Level.S1, Endplate.SUPERIOR)),
}

_COBB_ENDPLATES: tuple[tuple[str, str], ...] = (
    *(_endplate(lv, ep) for lv in (Level.L1, Level.L2, Level.L3, Level.L4, Level.L5) for ep in Endplate),
    _endplate(Level.S1, Endplate.SUPERIOR),
)


def measure_coronal(frame: Frame) -> list[Measurement]:
    """Disc wedge L4-L5 and L5-S1, then the L1-S1 coronal Cobb angle, from an AP frame."""
    p = frame.points
    out: list[Measurement] = []
    for name, (upper, lower) in _WEDGE.items():
        needed = (*upper, *lower)
        if absent := frame.missing_of(needed):
            out.append(missing_points(name, Unit.DEG, METHOD_DISC_WEDGE, absent, needed))
        elif p[upper[0]] == p[upper[1]] or p[lower[0]] == p[lower[1]]:
            out.append(
                Measurement.missing(name, Unit.DEG, METHOD_DISC_WEDGE, "an endplate's two corners coincide", needed)
            )
        else:
            out.append(
                angle(
                    name, disc_wedge_deg(p[upper[0]], p[upper[1]], p[lower[0]], p[lower[1]]), METHOD_DISC_WEDGE, needed
                )
            )

    present = {
        left.rsplit(".", 1)[0]: (p[left], p[right])
        for left, right in _COBB_ENDPLATES
        if left in p and right in p and p[left] != p[right]
    }
    if len(present) < 2:
        all_names = tuple(n for pair in _COBB_ENDPLATES for n in pair)
        out.append(
            Measurement.missing(
                MeasureName.CORONAL_COBB,
                Unit.DEG,
                METHOD_CORONAL_COBB,
                f"needs at least two complete L1-S1 endplates (both corners); found {len(present)}",
                all_names,
            )
        )
    else:
        cobb, top, bottom = coronal_cobb_deg(present)
        points = (f"{top}.left", f"{top}.right", f"{bottom}.left", f"{bottom}.right")
        out.append(angle(MeasureName.CORONAL_COBB, cobb, METHOD_CORONAL_COBB, points))
    return out
