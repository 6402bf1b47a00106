"""Shared plumbing for the measurement modules: the measuring frame and Measurement constructors.

A :class:`Frame` holds the landmark points converted once, in one place, to the coordinates every measurement uses:

* lateral films: millimetres (or pixels without spacing) in the *anatomical frame* -- X anterior, Y up the film --
  so signs do not depend on which way the patient faces (:func:`fusionwatch.geometry.to_anatomical_frame`);
* AP films: millimetres (or pixels) with Y up the film and X to the image right (names keep their image sides).
"""

from __future__ import annotations

from dataclasses import dataclass

from fusionwatch._typing import Point
from fusionwatch.geometry import scaled, to_anatomical_frame
from fusionwatch.landmarks import Landmarks, hip_axis
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import Facing, View
from fusionwatch.units import Spacing, Unit

HIP_AXIS = "hip_axis"
"""Key of the derived hip-axis point (midpoint of the femoral head centres) inside a lateral :class:`Frame`."""


@dataclass(frozen=True)
class Frame:
    """Landmarks in measuring coordinates.

    Attributes
    ----------
    points : dict[str, Point]
        Name -> ``(X, Y)``; Y points up the film. Lateral: X anterior. AP: X toward the image right.
    spacing : Spacing | None
        ``None`` when the film is uncalibrated; then coordinates are pixels (square pixels assumed).
    view : View
    facing : Facing | None
        Lateral films only.
    hip_sources : tuple[str, ...]
        The femoral head names behind ``points["hip_axis"]`` (lateral only).
    """

    points: dict[str, Point]
    spacing: Spacing | None
    view: View
    facing: Facing | None = None
    hip_sources: tuple[str, ...] = ()

    @property
    def length_unit(self) -> Unit:
        """``Unit.MM`` with spacing, else ``Unit.PX``."""
        return Unit.MM if self.spacing is not None else Unit.PX

    def missing_of(self, names: tuple[str, ...]) -> list[str]:
        """The names in ``names`` that have no point, in order."""
        return [n for n in names if n not in self.points]


def lateral_frame(landmarks: Landmarks, spacing: Spacing | None, facing: Facing) -> Frame:
    """Lateral points in the anatomical frame (X anterior, Y up), mm when ``spacing`` is given."""
    pts = scaled(landmarks.points, spacing)
    heads: tuple[str, ...] = ()
    axis_px = hip_axis(landmarks)
    if axis_px is not None:
        heads = tuple(n for n in ("femoral_head.1", "femoral_head.2") if n in landmarks)
        pts[HIP_AXIS] = scaled({HIP_AXIS: axis_px}, spacing)[HIP_AXIS]
    return Frame(to_anatomical_frame(pts, facing), spacing, landmarks.view, facing, heads)


def ap_frame(landmarks: Landmarks, spacing: Spacing | None) -> Frame:
    """AP points with Y up the film and X to the image right, mm when ``spacing`` is given."""
    pts = scaled(landmarks.points, spacing)
    return Frame({n: (p[0], -p[1]) for n, p in pts.items()}, spacing, View.AP)


def missing_points(
    name: MeasureName, unit: Unit, method: str, absent: list[str], needed: tuple[str, ...]
) -> Measurement:
    """A missing measurement whose reason names the absent landmarks."""
    return Measurement.missing(name, unit, method, f"missing landmark(s): {', '.join(absent)}", points=needed)


def angle(name: MeasureName, value: float, method: str, points: tuple[str, ...]) -> Measurement:
    """An angle in degrees (calibration-free)."""
    return Measurement(name=name, value=float(value) + 0.0, unit=Unit.DEG, method=method, points=points)


def ratio(name: MeasureName, value: float, unit: Unit, method: str, points: tuple[str, ...]) -> Measurement:
    """A calibration-free ratio or percentage."""
    return Measurement(name=name, value=float(value) + 0.0, unit=unit, method=method, points=points)


def length(name: MeasureName, value: float, frame: Frame, method: str, points: tuple[str, ...]) -> Measurement:
    """A length: mm with the spacing's source and warning when calibrated, else px."""
    if frame.spacing is None:
        return Measurement(name=name, value=float(value) + 0.0, unit=Unit.PX, method=method, points=points)
    warning = frame.spacing.source.warning
    return Measurement(
        name=name,
        value=float(value) + 0.0,  # + 0.0 turns -0.0 into 0.0
        unit=Unit.MM,
        method=method,
        points=points,
        spacing_source=frame.spacing.source,
        warnings=(warning,) if warning else (),
    )


def mm_only(
    name: MeasureName, value: float, frame: Frame, method: str, points: tuple[str, ...], instead: str
) -> Measurement:
    """A length whose name promises millimetres: missing (with a pointer to ``instead``) on an uncalibrated film."""
    if frame.spacing is None:
        return Measurement.missing(
            name,
            Unit.MM,
            method,
            f"no pixel spacing, so no millimetres; use {instead} (calibration-free)",
            points=points,
        )
    return length(name, value, frame, method, points)
