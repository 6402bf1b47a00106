"""Slip on lateral films (spondylolisthesis, Meyerding grade) and lateral listhesis on AP films (CLINICAL.md).

Lateral slip: displacement of the posterior-inferior corner of the upper vertebra relative to the posterior-superior
corner of the lower vertebra, measured along the lower vertebra's superior endplate (toward its anterior corner);
slip % = that displacement / the lower endplate's length x 100. The direction comes from the named corners, so the sign
is anatomical whichever way the patient faces: **anterolisthesis positive, retrolisthesis negative**.

Lateral listhesis (AP): displacement of the midpoint of the upper body's inferior endplate relative to the midpoint of
the lower body's superior endplate, along the lower endplate (left -> right on the image); positive toward the image
right; % of the lower endplate's width.
"""

from __future__ import annotations

from dataclasses import replace

from fusionwatch._typing import Point
from fusionwatch.anatomy import Corner, Endplate, ImageSide, Level, ap_corner_name, corner_name
from fusionwatch.geometry import distance, midpoint, project_onto_line
from fusionwatch.measure._common import Frame, missing_points, mm_only, ratio
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit

__all__ = [
    "METHOD_SLIP",
    "METHOD_MEYERDING",
    "METHOD_LATERAL_LISTHESIS",
    "MEYERDING_NO_SLIP_PERCENT",
    "slip",
    "meyerding_grade",
    "lateral_listhesis",
    "measure_slips",
    "measure_lateral_listhesis",
]

METHOD_SLIP = "slip-posterior-corners-along-lower-endplate/1"
METHOD_MEYERDING = "meyerding-from-slip-percent/1"
METHOD_LATERAL_LISTHESIS = "lateral-listhesis-endplate-midpoints/1"

MEYERDING_NO_SLIP_PERCENT = 5.0
"""|slip %| below this is grade 0 ("no slip").

A setting, not a law: 5 % of a ~45 mm S1 endplate is ~2 mm, about the error of placing the two corners by hand
(CLINICAL.md: 1.2 mm systematic difference between observers for disc height); a smaller "slip" cannot be told from
landmark noise. Meyerding's own grades start at 0 %; pass 0.0 to use them as such."""

_MEYERDING_UPPER_BOUNDS = (25.0, 50.0, 75.0, 100.0)
"""Upper bounds (inclusive) of grades I-IV in slip %; above 100 % is grade V (CLINICAL.md "Slip")."""


def slip(
    upper_inferior_posterior: Point, lower_superior_posterior: Point, lower_superior_anterior: Point
) -> tuple[float, float]:
    """Slip of an upper vertebra on the one below.

    Parameters
    ----------
    upper_inferior_posterior : Point
        Posterior-inferior corner of the upper vertebra (e.g. ``L5.inferior.posterior``).
    lower_superior_posterior, lower_superior_anterior : Point
        Corners of the lower vertebra's superior endplate (e.g. S1). All ``(x, y)`` on any common axes, mm or px.

    Returns
    -------
    displacement, percent : float, float
        Displacement along the lower endplate in the unit of the points, positive when the upper corner lies anterior
        to the lower posterior corner (anterolisthesis), negative for retrolisthesis; and the same as a percentage of
        the lower endplate length (unitless, independent of calibration for square pixels).

    Raises
    ------
    ValueError
        If the lower endplate corners coincide.
    """
    t, _ = project_onto_line(upper_inferior_posterior, lower_superior_posterior, lower_superior_anterior)
    return t, 100.0 * t / distance(lower_superior_posterior, lower_superior_anterior)


def meyerding_grade(slip_percent: float, no_slip_percent: float = MEYERDING_NO_SLIP_PERCENT) -> int:
    """Meyerding grade from a slip percentage.

    Parameters
    ----------
    slip_percent : float
        Signed slip %; the grade uses its magnitude (a retrolisthesis of 30 % is graded II; the sign lives in the slip).
    no_slip_percent : float
        Magnitudes below this are grade 0 (:data:`MEYERDING_NO_SLIP_PERCENT`).

    Returns
    -------
    int
        0 = no slip (< ``no_slip_percent``); 1 = I (up to 25 %); 2 = II (> 25-50 %); 3 = III (> 50-75 %);
        4 = IV (> 75-100 %); 5 = V (> 100 %, spondyloptosis).

    Examples
    --------
    >>> [meyerding_grade(v) for v in (2.0, 25.0, 25.1, 60.0, 100.0, 130.0, -30.0)]
    [0, 1, 2, 3, 4, 5, 2]
    """
    magnitude = abs(slip_percent)
    if magnitude < no_slip_percent:
        return 0
    for grade, bound in enumerate(_MEYERDING_UPPER_BOUNDS, start=1):
        if magnitude <= bound:
            return grade
    return 5


def lateral_listhesis(
    upper_inferior_left: Point, upper_inferior_right: Point, lower_superior_left: Point, lower_superior_right: Point
) -> tuple[float, float]:
    """Coronal translation of an upper vertebra on the one below (AP film).

    Parameters
    ----------
    upper_inferior_left, upper_inferior_right : Point
        Corners of the upper body's inferior endplate, named by image side.
    lower_superior_left, lower_superior_right : Point
        Corners of the lower body's superior endplate. All on common axes (mm or px).

    Returns
    -------
    displacement, percent : float, float
        Offset of the upper endplate midpoint from the lower endplate midpoint along the lower endplate, positive toward
        the image right, in the unit of the points; and as a percentage of the lower endplate width.
    """
    base = midpoint(lower_superior_left, lower_superior_right)
    t, _ = project_onto_line(midpoint(upper_inferior_left, upper_inferior_right), base, lower_superior_right)
    return t, 100.0 * t / distance(lower_superior_left, lower_superior_right)


_SLIP_NAMES = {
    Level.L4: (MeasureName.SLIP_MM_L4_L5, MeasureName.SLIP_PERCENT_L4_L5, MeasureName.MEYERDING_GRADE_L4_L5),
    Level.L5: (MeasureName.SLIP_MM_L5_S1, MeasureName.SLIP_PERCENT_L5_S1, MeasureName.MEYERDING_GRADE_L5_S1),
}

_LATERAL_NAMES = {
    Level.L4: (MeasureName.LATERAL_LISTHESIS_MM_L4_L5, MeasureName.LATERAL_LISTHESIS_PERCENT_L4_L5),
    Level.L5: (MeasureName.LATERAL_LISTHESIS_MM_L5_S1, MeasureName.LATERAL_LISTHESIS_PERCENT_L5_S1),
}


def measure_slips(
    frame: Frame, levels: tuple[Level, ...] = (Level.L4, Level.L5), no_slip_percent: float = MEYERDING_NO_SLIP_PERCENT
) -> list[Measurement]:
    """Slip (mm; skipped without spacing), slip % and Meyerding grade at L4-L5 and L5-S1 on a lateral frame."""
    out: list[Measurement] = []
    for upper in levels:
        lower = upper.below
        n_mm, n_pct, n_grade = _SLIP_NAMES[upper]
        up = corner_name(upper, Endplate.INFERIOR, Corner.POSTERIOR)
        lp = corner_name(lower, Endplate.SUPERIOR, Corner.POSTERIOR)
        la = corner_name(lower, Endplate.SUPERIOR, Corner.ANTERIOR)
        needed = (up, lp, la)
        if absent := frame.missing_of(needed):
            out.append(missing_points(n_mm, Unit.MM, METHOD_SLIP, absent, needed))
            out.append(missing_points(n_pct, Unit.PERCENT, METHOD_SLIP, absent, needed))
            out.append(missing_points(n_grade, Unit.GRADE, METHOD_MEYERDING, absent, needed))
            continue
        p = frame.points
        if p[lp] == p[la]:
            reason = f"{lp} and {la} coincide, so the {lower.value} endplate has no direction"
            out += [
                Measurement.missing(n, u, m, reason, needed)
                for n, u, m in (
                    (n_mm, Unit.MM, METHOD_SLIP),
                    (n_pct, Unit.PERCENT, METHOD_SLIP),
                    (n_grade, Unit.GRADE, METHOD_MEYERDING),
                )
            ]
            continue
        displacement, percent = slip(p[up], p[lp], p[la])
        out.append(mm_only(n_mm, displacement, frame, METHOD_SLIP, needed, instead=n_pct.value))
        out.append(ratio(n_pct, percent, Unit.PERCENT, METHOD_SLIP, needed))
        grade = ratio(n_grade, meyerding_grade(percent, no_slip_percent), Unit.GRADE, METHOD_MEYERDING, needed)
        if percent < 0 and grade.value:
            grade = replace(grade, warnings=("retrolisthesis: graded by the magnitude of the slip",))
        out.append(grade)
    return out


def measure_lateral_listhesis(frame: Frame, levels: tuple[Level, ...] = (Level.L4, Level.L5)) -> list[Measurement]:
    """Lateral listhesis (mm; skipped without spacing) and % at L4-L5 and L5-S1 on an AP frame."""
    out: list[Measurement] = []
    for upper in levels:
        lower = upper.below
        n_mm, n_pct = _LATERAL_NAMES[upper]
        needed = (
            ap_corner_name(upper, Endplate.INFERIOR, ImageSide.LEFT),
            ap_corner_name(upper, Endplate.INFERIOR, ImageSide.RIGHT),
            ap_corner_name(lower, Endplate.SUPERIOR, ImageSide.LEFT),
            ap_corner_name(lower, Endplate.SUPERIOR, ImageSide.RIGHT),
        )
        if absent := frame.missing_of(needed):
            out.append(missing_points(n_mm, Unit.MM, METHOD_LATERAL_LISTHESIS, absent, needed))
            out.append(missing_points(n_pct, Unit.PERCENT, METHOD_LATERAL_LISTHESIS, absent, needed))
            continue
        p = frame.points
        if p[needed[2]] == p[needed[3]]:
            reason = f"{needed[2]} and {needed[3]} coincide, so the {lower.value} endplate has no width"
            out.append(Measurement.missing(n_mm, Unit.MM, METHOD_LATERAL_LISTHESIS, reason, needed))
            out.append(Measurement.missing(n_pct, Unit.PERCENT, METHOD_LATERAL_LISTHESIS, reason, needed))
            continue
        displacement, percent = lateral_listhesis(*(p[n] for n in needed))
        out.append(mm_only(n_mm, displacement, frame, METHOD_LATERAL_LISTHESIS, needed, instead=n_pct.value))
        out.append(ratio(n_pct, percent, Unit.PERCENT, METHOD_LATERAL_LISTHESIS, needed))
    return out
