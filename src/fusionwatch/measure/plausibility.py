"""Geometric plausibility checks: reasons a reader should look at a film's landmarks before trusting its numbers.

Model confidence predicts large landmark errors poorly (DESIGN.md, "Things that bite"), so every film is also checked
against anatomy: body sizes and shapes, wedging, overlapping endplates, and spinopelvic angles within the range seen in
real patients. Each check returns human-readable reasons; an empty list means nothing looked wrong. The checks flag
(``needs_review``); they never change or drop a value. Vertebra *order* is a hard error, checked by
:func:`fusionwatch.landmarks.check_vertebra_order` in the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from fusionwatch.anatomy import LUMBAR_LEVELS, Corner, Endplate, ImageSide, Level, ap_corner_name, corner_name
from fusionwatch.geometry import distance, midpoint
from fusionwatch.landmarks import Landmarks
from fusionwatch.measure._common import Frame, ap_frame, lateral_frame
from fusionwatch.measure._film import facing_of
from fusionwatch.measure.sagittal import endplate_inclination_deg
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import Facing, View
from fusionwatch.units import Spacing

__all__ = [
    "PLAUSIBLE_RANGES",
    "BODY_ASPECT_RANGE",
    "BODY_DEPTH_MM_RANGE",
    "BODY_HEIGHT_MM_RANGE",
    "MAX_BODY_WEDGE_DEG",
    "ADJACENT_DEPTH_RATIO_RANGE",
    "check_measurements",
    "check_body_geometry",
    "plausibility_reasons",
]

PLAUSIBLE_RANGES: dict[MeasureName, tuple[float, float]] = {
    # Spinopelvic ranges from the UCI "Vertebral Column" table (../shared/data/uci-vertebral-column/column_3C_weka.csv,
    # 310 patients: normal, disc hernia, spondylolisthesis). Computed as: drop the one row with sacral slope > 90 deg
    # (SS 121.4 deg, PI 129.8 deg: a known outlier, impossible for an endplate angle against the horizontal),
    # take min and max of each column over the remaining 309 rows, widen by 5 deg on each side (about the automatic-tool
    # error, CLINICAL.md "Accuracy anchors") and round outward to whole degrees:
    #   PI [26.1, 118.1] -> [21, 124]   PT [-6.6, 49.4] -> [-12, 55]   SS [13.4, 79.7] -> [8, 85]
    #   LL [14.0, 125.7] -> [9, 131]    PI - LL [-66.9, 67.3] -> [-72, 73]
    # UCI's lordosis angle is not necessarily the L1-S1 Cobb angle (data/README.md), so its range is only a loose bound.
    # tests/measure/test_plausibility.py recomputes these from the file when it is present.
    MeasureName.PELVIC_INCIDENCE: (21.0, 124.0),
    MeasureName.PELVIC_TILT: (-12.0, 55.0),
    MeasureName.SACRAL_SLOPE: (8.0, 85.0),
    MeasureName.LUMBAR_LORDOSIS: (9.0, 131.0),
    MeasureName.PI_LL_MISMATCH: (-72.0, 73.0),
    # Segmental angles: not in the UCI table. Generous bounds around reported lumbar segmental lordosis (a few degrees
    # of kyphosis at a degenerate level up to ~35 deg at L5-S1); values outside are far more often a mislabelled corner.
    MeasureName.SEGMENTAL_LORDOSIS_L4_L5: (-15.0, 40.0),
    MeasureName.SEGMENTAL_LORDOSIS_L5_S1: (-15.0, 45.0),
    # Coronal: a lumbar disc wedge beyond 25 deg or a lumbar Cobb beyond 90 deg is almost certainly a labelling error.
    MeasureName.DISC_WEDGE_L4_L5: (-25.0, 25.0),
    MeasureName.DISC_WEDGE_L5_S1: (-25.0, 25.0),
    MeasureName.CORONAL_COBB: (0.0, 90.0),
    # Disc height index: mean disc height / body depth; lumbar discs are roughly 0.15-0.4 of the body depth; above 0.8
    # means a corner is on the wrong endplate.
    MeasureName.DISC_HEIGHT_INDEX_L4_L5: (0.0, 0.8),
    MeasureName.DISC_HEIGHT_INDEX_L5_S1: (0.0, 0.8),
}
"""Measurement name -> (low, high), inclusive, in the measurement's unit (degrees or ratio)."""

BODY_ASPECT_RANGE = (0.4, 1.2)
"""Lumbar body height / AP depth: about 0.6-0.8 in adults; outside this range a corner is probably misplaced."""

BODY_DEPTH_MM_RANGE = (20.0, 70.0)
"""Lumbar body AP depth (mean endplate length) in mm at the patient plane, adults ~30-50 mm; wide for magnification."""

BODY_HEIGHT_MM_RANGE = (12.0, 50.0)
"""Lumbar body height (mean of anterior and posterior walls) in mm, adults ~25-30 mm; wide to allow collapse."""

MAX_BODY_WEDGE_DEG = 25.0
"""Largest angle between one body's superior and inferior endplates before it is flagged (severe fracture or error)."""

ADJACENT_DEPTH_RATIO_RANGE = (0.7, 1.45)
"""AP depth of a body / that of the body above: lumbar bodies grow slowly toward L5."""


def check_measurements(measurements: Iterable[Measurement]) -> list[str]:
    """Reasons for every value outside :data:`PLAUSIBLE_RANGES`."""
    reasons = []
    for m in measurements:
        bounds = PLAUSIBLE_RANGES.get(m.name)
        if m.value is None or bounds is None:
            continue
        low, high = bounds
        if not low <= m.value <= high:
            reasons.append(
                f"{m.name.value} = {m.value:.1f} {m.unit.value} is outside the plausible range "
                f"[{low:g}, {high:g}]: check {', '.join(m.points) or 'its landmarks'}."
            )
    return reasons


def _body_corners(level: Level, view: View) -> tuple[str, str, str, str]:
    """(superior a, superior b, inferior a, inferior b): anterior/posterior on lateral films, left/right on AP ones."""
    if view is View.AP:
        sides: tuple[ImageSide | Corner, ...] = (ImageSide.LEFT, ImageSide.RIGHT)
        name = ap_corner_name
    else:
        sides = (Corner.ANTERIOR, Corner.POSTERIOR)
        name = corner_name  # type: ignore[assignment]
    return (
        name(level, Endplate.SUPERIOR, sides[0]),  # type: ignore[arg-type]
        name(level, Endplate.SUPERIOR, sides[1]),  # type: ignore[arg-type]
        name(level, Endplate.INFERIOR, sides[0]),  # type: ignore[arg-type]
        name(level, Endplate.INFERIOR, sides[1]),  # type: ignore[arg-type]
    )


def _outside(what: str, value: float, bounds: tuple[float, float], unit: str, fmt: str) -> list[str]:
    if bounds[0] <= value <= bounds[1]:
        return []
    return [f"{what} = {value:{fmt}}{unit}, outside {bounds[0]:g}-{bounds[1]:g}{unit}."]


def check_body_geometry(frame: Frame) -> list[str]:
    """Reasons about each lumbar body's shape and its neighbours (sizes, aspect, wedging, overlap).

    Parameters
    ----------
    frame : Frame
        Lateral or AP measuring frame (mm when calibrated: then absolute sizes are also checked).
    """
    reasons: list[str] = []
    p = frame.points
    depths: dict[Level, float] = {}
    for level in LUMBAR_LEVELS:
        sa, sb, ia, ib = _body_corners(level, frame.view)
        if not all(n in p for n in (sa, sb, ia, ib)):
            continue
        depth = (distance(p[sa], p[sb]) + distance(p[ia], p[ib])) / 2.0
        height = (distance(p[sa], p[ia]) + distance(p[sb], p[ib])) / 2.0
        if depth <= 0:
            reasons.append(f"{level.value}: its endplate corners coincide.")
            continue
        depths[level] = depth
        aspect = height / depth
        if frame.view is not View.AP:
            reasons += _outside(f"{level.value}: height / depth", aspect, BODY_ASPECT_RANGE, "", ".2f")
            if frame.spacing is not None:
                reasons += _outside(f"{level.value}: AP depth", depth, BODY_DEPTH_MM_RANGE, " mm", ".1f")
                reasons += _outside(f"{level.value}: height", height, BODY_HEIGHT_MM_RANGE, " mm", ".1f")
        if p[sa] != p[sb] and p[ia] != p[ib]:
            wedge = abs(endplate_inclination_deg(p[sa], p[sb]) - endplate_inclination_deg(p[ia], p[ib]))
            wedge = min(wedge, 360.0 - wedge)
            if wedge > MAX_BODY_WEDGE_DEG:
                reasons.append(
                    f"{level.value}: superior and inferior endplates differ by {wedge:.0f} deg (more than "
                    f"{MAX_BODY_WEDGE_DEG:g}): fracture or misplaced corner?"
                )
        # overlap with the body below: the lower superior endplate midpoint must lie caudal to this inferior endplate.
        # Not for L5-S1 on AP films: the sacral endplate is steeply tilted toward the beam and normally projects
        # over the L5 body there.
        below = _body_corners(level.below, frame.view)[:2]
        if all(n in p for n in below) and not (frame.view is View.AP and level is Level.L5):
            up_axis = (
                midpoint(p[sa], p[sb])[0] - midpoint(p[ia], p[ib])[0],
                midpoint(p[sa], p[sb])[1] - midpoint(p[ia], p[ib])[1],
            )
            norm = math.hypot(*up_axis)
            if norm > 0:
                inf_mid, low_mid = midpoint(p[ia], p[ib]), midpoint(p[below[0]], p[below[1]])
                gap = ((inf_mid[0] - low_mid[0]) * up_axis[0] + (inf_mid[1] - low_mid[1]) * up_axis[1]) / norm
                if gap < 0:
                    reasons.append(
                        f"{level.value}-{level.below.value}: the {level.below.value} superior endplate lies above the "
                        f"{level.value} inferior endplate (negative disc height)."
                    )
    for upper, lower in zip(LUMBAR_LEVELS, LUMBAR_LEVELS[1:], strict=False):
        if upper in depths and lower in depths:
            r = depths[lower] / depths[upper]
            if not ADJACENT_DEPTH_RATIO_RANGE[0] <= r <= ADJACENT_DEPTH_RATIO_RANGE[1]:
                reasons.append(
                    f"{lower.value} is {r:.2f} x the size of {upper.value}; expected "
                    f"{ADJACENT_DEPTH_RATIO_RANGE[0]}-{ADJACENT_DEPTH_RATIO_RANGE[1]}."
                )
    return reasons


def plausibility_reasons(
    landmarks: Landmarks, spacing: Spacing | None, measurements: Iterable[Measurement], low_confidence: float = 0.5
) -> list[str]:
    """Every reason to review one film: low-confidence points, body geometry and out-of-range values.

    Parameters
    ----------
    landmarks : Landmarks
        The film's landmarks (pixels).
    spacing : Spacing | None
        The film's spacing (absolute sizes are checked only when given).
    measurements : Iterable[Measurement]
        The film's measurements.
    low_confidence : float
        Points whose confidence is below this are listed.
    """
    reasons: list[str] = []
    low = sorted(n for n, c in landmarks.confidence.items() if c < low_confidence)
    if low:
        reasons.append(f"low landmark confidence (< {low_confidence:g}): {', '.join(low)}.")
    if landmarks.view is View.AP:
        frame = ap_frame(landmarks, spacing)
    else:
        frame = lateral_frame(landmarks, spacing, facing_of(landmarks) or Facing.RIGHT)
    reasons += check_body_geometry(frame)
    reasons += check_measurements(measurements)
    return reasons
