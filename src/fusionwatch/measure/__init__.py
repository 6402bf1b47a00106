"""Measurements on one film, per CLINICAL.md: pure geometry on landmark points, returning :class:`Measurement` objects.

Call :func:`measure_film` (or :func:`measure_lateral` / :func:`measure_ap`) with a film's landmarks and spacing; the
modules below hold the single formulas (``sacral_slope_deg``, ``slip``, ...) for callers that have bare points.
Definitions, units, signs and method ids: docs/measurements.md.
"""

from fusionwatch.measure._film import facing_of, measure_ap, measure_film, measure_lateral
from fusionwatch.measure.coronal import coronal_cobb_deg, coronal_inclination_deg, disc_wedge_deg
from fusionwatch.measure.disc import (
    DISC_HEIGHT_METHODS,
    DiscCorners,
    DiscHeights,
    disc_height,
    disc_height_centre,
    disc_height_three_point,
    disc_height_two_point,
    disc_heights,
)
from fusionwatch.measure.listhesis import MEYERDING_NO_SLIP_PERCENT, lateral_listhesis, meyerding_grade, slip
from fusionwatch.measure.plausibility import (
    PLAUSIBLE_RANGES,
    check_body_geometry,
    check_measurements,
    plausibility_reasons,
)
from fusionwatch.measure.sagittal import (
    endplate_inclination_deg,
    lordosis_deg,
    pelvic_incidence_deg,
    pelvic_tilt_deg,
    sacral_slope_deg,
)

__all__ = [
    "DISC_HEIGHT_METHODS",
    "MEYERDING_NO_SLIP_PERCENT",
    "PLAUSIBLE_RANGES",
    "DiscCorners",
    "DiscHeights",
    "check_body_geometry",
    "check_measurements",
    "coronal_cobb_deg",
    "coronal_inclination_deg",
    "disc_height",
    "disc_height_centre",
    "disc_height_three_point",
    "disc_height_two_point",
    "disc_heights",
    "disc_wedge_deg",
    "endplate_inclination_deg",
    "facing_of",
    "lateral_listhesis",
    "lordosis_deg",
    "measure_ap",
    "measure_film",
    "measure_lateral",
    "meyerding_grade",
    "pelvic_incidence_deg",
    "pelvic_tilt_deg",
    "plausibility_reasons",
    "sacral_slope_deg",
    "slip",
]
