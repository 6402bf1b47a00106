"""Sagittal angles on a lateral film: sacral slope, pelvic tilt, pelvic incidence, lordosis (CLINICAL.md, "Sagittal").

The pure functions take points in the **anatomical frame**: ``(X, Y)`` with X anterior (toward the patient's front) and
Y up the film (cranial when the patient stands upright), in millimetres -- or pixels on an uncalibrated film, where
square pixels are assumed. :func:`fusionwatch.geometry.to_anatomical_frame` produces that frame from image points, so
every sign below is anatomical whichever way the patient faces. Angles are degrees.
"""

from __future__ import annotations

import math

from fusionwatch._typing import Point
from fusionwatch.anatomy import Corner, Endplate, Level, corner_name
from fusionwatch.geometry import direction_deg, midpoint, wrap_deg
from fusionwatch.measure._common import HIP_AXIS, Frame, angle, missing_points
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit

__all__ = [
    "METHOD_SACRAL_SLOPE",
    "METHOD_PELVIC_TILT",
    "METHOD_PELVIC_INCIDENCE",
    "METHOD_LORDOSIS",
    "METHOD_PI_LL",
    "endplate_inclination_deg",
    "sacral_slope_deg",
    "pelvic_tilt_deg",
    "pelvic_incidence_deg",
    "lordosis_deg",
    "measure_sagittal",
]

METHOD_SACRAL_SLOPE = "ss-s1-endplate-vs-horizontal/1"
METHOD_PELVIC_TILT = "pt-hip-axis-to-s1-midpoint-vs-vertical/1"
METHOD_PELVIC_INCIDENCE = "pi-pt-plus-ss/1"
METHOD_LORDOSIS = "cobb-endplate-corners/1"
METHOD_PI_LL = "pi-minus-ll/1"


def endplate_inclination_deg(anterior: Point, posterior: Point) -> float:
    """Inclination of an endplate against the film horizontal, anatomical frame.

    Parameters
    ----------
    anterior, posterior : Point
        The endplate's corners, anatomical frame (X anterior, Y up), mm or px.

    Returns
    -------
    float
        Degrees in ``(-180, 180]``, normally within +-90: positive when the anterior corner is higher than the posterior
        corner (the endplate "looks up and forward"), 0 when level.

    Raises
    ------
    ValueError
        If the corners coincide.
    """
    return direction_deg(posterior, anterior, y_down=False)


def sacral_slope_deg(s1_anterior: Point, s1_posterior: Point) -> float:
    """Sacral slope: angle between the S1 superior endplate and the horizontal.

    Parameters
    ----------
    s1_anterior, s1_posterior : Point
        S1 superior endplate corners, anatomical frame (X anterior, Y up), mm or px.

    Returns
    -------
    float
        Degrees, positive when the anterior corner is lower than the posterior corner (the normal case, ~40 deg);
        negative for the rare endplate that tips backward. Equals ``-endplate_inclination_deg``.
    """
    return -endplate_inclination_deg(s1_anterior, s1_posterior)


def pelvic_tilt_deg(hip_axis: Point, s1_midpoint: Point) -> float:
    """Pelvic tilt: angle between the vertical and the line from the hip axis to the S1 endplate midpoint.

    Parameters
    ----------
    hip_axis : Point
        Midpoint of the femoral head centres (one centre when only one is seen), anatomical frame.
    s1_midpoint : Point
        Midpoint of the S1 superior endplate, anatomical frame.

    Returns
    -------
    float
        Degrees in ``(-180, 180]``: positive when the S1 midpoint lies posterior to the hip axis (the normal case,
        13 +- 6 deg; larger = more retroverted pelvis), negative when it lies anterior.

    Raises
    ------
    ValueError
        If the two points coincide.
    """
    dx, dy = s1_midpoint[0] - hip_axis[0], s1_midpoint[1] - hip_axis[1]
    if math.hypot(dx, dy) < 1e-12:
        raise ValueError("pelvic_tilt_deg: the hip axis coincides with the S1 endplate midpoint.")
    # atan2 of (posterior offset, upward offset): 0 when S1 is straight above the hip axis.
    return wrap_deg(math.degrees(math.atan2(-dx, dy)))


def pelvic_incidence_deg(s1_anterior: Point, s1_posterior: Point, hip_axis: Point) -> float:
    """Pelvic incidence: angle between the S1 endplate perpendicular at its midpoint and the line to the hip axis.

    Computed as ``pelvic_tilt_deg + sacral_slope_deg`` on the same points, which is the same angle: the downward
    perpendicular to the endplate is the vertical turned by SS, and the line to the hip axis is the vertical turned by
    PT the other way (CLINICAL.md: "PI = PT + SS exactly"). Building it this way makes the identity hold bit for bit;
    tests check it against the direct perpendicular construction.

    Returns
    -------
    float
        Degrees; positive when the hip axis lies anterior to the S1 endplate perpendicular (the normal case, 55 +- 10).
    """
    return pelvic_tilt_deg(hip_axis, midpoint(s1_anterior, s1_posterior)) + sacral_slope_deg(s1_anterior, s1_posterior)


def lordosis_deg(upper_anterior: Point, upper_posterior: Point, lower_anterior: Point, lower_posterior: Point) -> float:
    """Cobb angle between an upper and a lower endplate, lordosis positive.

    Parameters
    ----------
    upper_anterior, upper_posterior : Point
        Corners of the upper endplate (e.g. L1 superior, or L5 inferior for the L5-S1 segment), anatomical frame.
    lower_anterior, lower_posterior : Point
        Corners of the lower endplate (e.g. S1 superior), anatomical frame.

    Returns
    -------
    float
        Degrees in ``(-180, 180]``: positive when the two endplates open toward the front (lordosis), negative when
        they open toward the back (kyphosis). ``inclination(upper) - inclination(lower)``.
    """
    return wrap_deg(
        endplate_inclination_deg(upper_anterior, upper_posterior)
        - endplate_inclination_deg(lower_anterior, lower_posterior)
    )


def _endplate(level: Level, endplate: Endplate) -> tuple[str, str]:
    return corner_name(level, endplate, Corner.ANTERIOR), corner_name(level, endplate, Corner.POSTERIOR)


S1_ENDPLATE = _endplate(Level.S1, Endplate.SUPERIOR)


def _cobb(frame: Frame, name: MeasureName, upper: tuple[str, str], lower: tuple[str, str]) -> Measurement:
    needed = (*upper, *lower)
    if absent := frame.missing_of(needed):
        return missing_points(name, Unit.DEG, METHOD_LORDOSIS, absent, needed)
    p = frame.points
    try:
        value = lordosis_deg(p[upper[0]], p[upper[1]], p[lower[0]], p[lower[1]])
    except ValueError as exc:
        return Measurement.missing(name, Unit.DEG, METHOD_LORDOSIS, f"degenerate endplate: {exc}", needed)
    return angle(name, value, METHOD_LORDOSIS, needed)


def measure_sagittal(frame: Frame) -> list[Measurement]:
    """SS, PT, PI, L1-S1 lordosis, PI-LL mismatch and L4-L5 / L5-S1 segmental lordosis from a lateral frame.

    Returns one :class:`Measurement` per name, in that order; missing ones carry the absent landmark names.
    """
    p = frame.points
    hip_names = (*frame.hip_sources,) if frame.hip_sources else ("femoral_head.1",)
    out: list[Measurement] = []

    s1_missing = frame.missing_of(S1_ENDPLATE)
    ss: float | None = None
    if s1_missing:
        out.append(missing_points(MeasureName.SACRAL_SLOPE, Unit.DEG, METHOD_SACRAL_SLOPE, s1_missing, S1_ENDPLATE))
    elif p[S1_ENDPLATE[0]] == p[S1_ENDPLATE[1]]:
        reason = "S1 superior endplate corners coincide"
        out.append(Measurement.missing(MeasureName.SACRAL_SLOPE, Unit.DEG, METHOD_SACRAL_SLOPE, reason, S1_ENDPLATE))
    else:
        ss = sacral_slope_deg(p[S1_ENDPLATE[0]], p[S1_ENDPLATE[1]])
        out.append(angle(MeasureName.SACRAL_SLOPE, ss, METHOD_SACRAL_SLOPE, S1_ENDPLATE))

    pelvis_points = (*S1_ENDPLATE, *hip_names)
    pt = None
    if HIP_AXIS not in p or s1_missing:
        absent = s1_missing + ([] if HIP_AXIS in p else ["femoral_head.1 (or femoral_head.2)"])
        out.append(missing_points(MeasureName.PELVIC_TILT, Unit.DEG, METHOD_PELVIC_TILT, absent, pelvis_points))
        out.append(
            missing_points(MeasureName.PELVIC_INCIDENCE, Unit.DEG, METHOD_PELVIC_INCIDENCE, absent, pelvis_points)
        )
    else:
        try:
            pt = pelvic_tilt_deg(p[HIP_AXIS], midpoint(p[S1_ENDPLATE[0]], p[S1_ENDPLATE[1]]))
        except ValueError as exc:
            reason = f"degenerate pelvis: {exc}"
            out.append(
                Measurement.missing(MeasureName.PELVIC_TILT, Unit.DEG, METHOD_PELVIC_TILT, reason, pelvis_points)
            )
        else:
            out.append(angle(MeasureName.PELVIC_TILT, pt, METHOD_PELVIC_TILT, pelvis_points))
        if pt is not None and ss is not None:
            out.append(angle(MeasureName.PELVIC_INCIDENCE, pt + ss, METHOD_PELVIC_INCIDENCE, pelvis_points))
        else:
            out.append(
                Measurement.missing(
                    MeasureName.PELVIC_INCIDENCE,
                    Unit.DEG,
                    METHOD_PELVIC_INCIDENCE,
                    "needs both pelvic tilt and sacral slope",
                    pelvis_points,
                )
            )

    ll = _cobb(frame, MeasureName.LUMBAR_LORDOSIS, _endplate(Level.L1, Endplate.SUPERIOR), S1_ENDPLATE)
    out.append(ll)
    pi = next(m for m in out if m.name is MeasureName.PELVIC_INCIDENCE)
    mismatch_points = tuple(dict.fromkeys((*pi.points, *ll.points)))
    if pi.value is not None and ll.value is not None:
        out.append(angle(MeasureName.PI_LL_MISMATCH, pi.value - ll.value, METHOD_PI_LL, mismatch_points))
    else:
        why = "; ".join(f"{m.name.value}: {m.reason}" for m in (pi, ll) if m.value is None)
        out.append(Measurement.missing(MeasureName.PI_LL_MISMATCH, Unit.DEG, METHOD_PI_LL, why, mismatch_points))

    out.append(
        _cobb(
            frame,
            MeasureName.SEGMENTAL_LORDOSIS_L4_L5,
            _endplate(Level.L4, Endplate.INFERIOR),
            _endplate(Level.L5, Endplate.SUPERIOR),
        )
    )
    out.append(_cobb(frame, MeasureName.SEGMENTAL_LORDOSIS_L5_S1, _endplate(Level.L5, Endplate.INFERIOR), S1_ENDPLATE))
    return out
