"""Units, pixel spacing and where the spacing came from: the one place that converts px to mm.

See CLINICAL.md, "Calibration": DICOM *Pixel Spacing* is at the patient plane; *Imager Pixel Spacing* is at the detector
and magnified by ~10-20 % unless divided by the *Estimated Radiographic Magnification Factor*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from fusionwatch._typing import Point

__all__ = ["Unit", "SpacingSource", "Spacing", "to_mm", "spacing_plane", "same_spacing_plane"]


class Unit(str, Enum):
    """Unit of a measurement value."""

    DEG = "deg"
    MM = "mm"
    PX = "px"
    PERCENT = "%"
    GRADE = "grade"
    RATIO = "ratio"


class SpacingSource(str, Enum):
    """Where a pixel spacing came from, best first (CLINICAL.md "Calibration")."""

    PATIENT_PLANE = "patient_plane"
    """(0028,0030) *Pixel Spacing*: calibrated at the patient."""
    MAGNIFICATION_CORRECTED = "magnification_corrected"
    """(0018,1164) *Imager Pixel Spacing* divided by (0018,1114) *Estimated Radiographic Magnification Factor*."""
    DETECTOR_PLANE = "detector_plane"
    """(0018,1164) *Imager Pixel Spacing* alone: lengths are magnified by roughly 10-20 %; reported with a warning."""
    USER_CALIBRATION = "user_calibration"
    """Given by a reader: ``--pixel-spacing`` or a known length between two points."""

    @property
    def warning(self) -> str | None:
        """A sentence to show beside every millimetre value from this source, or ``None`` when none is needed."""
        if self is SpacingSource.DETECTOR_PLANE:
            return (
                "Spacing is at the detector plane (Imager Pixel Spacing without a magnification factor): "
                "millimetre values are overstated by roughly 10-20 %."
            )
        return None


@dataclass(frozen=True, slots=True)
class Spacing:
    """Physical size of one pixel.

    Attributes
    ----------
    dx_mm, dy_mm : float
        Column spacing (along x) and row spacing (along y) in millimetres. DICOM stores *Pixel Spacing* as
        (row, column) = (dy, dx); the DICOM reader swaps it once, here nowhere else.
    source : SpacingSource
        Where the numbers came from.
    """

    dx_mm: float
    dy_mm: float
    source: SpacingSource

    def __post_init__(self) -> None:
        for name in ("dx_mm", "dy_mm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 < value < 10.0):
                raise ValueError(f"{name} must be a finite pixel size in (0, 10) mm, got {value!r}.")
        if not isinstance(self.source, SpacingSource):
            raise TypeError(f"source must be a SpacingSource, got {self.source!r}.")

    @classmethod
    def isotropic(cls, mm: float, source: SpacingSource = SpacingSource.USER_CALIBRATION) -> "Spacing":
        """Square pixels of ``mm`` millimetres."""
        return cls(mm, mm, source)

    @classmethod
    def from_known_length(
        cls, a: Point, b: Point, length_mm: float, source: SpacingSource = SpacingSource.USER_CALIBRATION
    ) -> "Spacing":
        """Isotropic spacing from two pixel points a known distance apart (a calibration ball, a screw of known size).

        Raises
        ------
        ValueError
            If the points are less than 5 px apart or the length is not positive.
        """
        dist_px = math.dist(a, b)
        if dist_px < 5.0:
            raise ValueError(f"Calibration points are {dist_px:.1f} px apart; need at least 5 px.")
        if not length_mm > 0:
            raise ValueError(f"Known length must be positive, got {length_mm!r} mm.")
        return cls.isotropic(length_mm / dist_px, source)

    def __str__(self) -> str:
        return f"{self.dx_mm:.4g} x {self.dy_mm:.4g} mm/px ({self.source.value})"


def to_mm(point_px: Point, spacing: Spacing) -> Point:
    """Convert a pixel ``(x, y)`` to millimetres on the same axes (origin unchanged)."""
    return (point_px[0] * spacing.dx_mm, point_px[1] * spacing.dy_mm)


def spacing_plane(source: SpacingSource | None) -> str | None:
    """The plane a millimetre value is calibrated in: ``"detector plane"`` for
    :attr:`SpacingSource.DETECTOR_PLANE` (magnified by ~10-20 %), ``"patient plane"`` for
    Pixel Spacing, magnification-corrected Imager Pixel Spacing and a reader's calibration (a known length at the
    patient); ``None`` without a source (px, ratios, angles)."""
    if source is None:
        return None
    return "detector plane" if source is SpacingSource.DETECTOR_PLANE else "patient plane"


def same_spacing_plane(a: SpacingSource | None, b: SpacingSource | None) -> bool:
    """True when millimetres from spacing sources ``a`` and ``b`` may be subtracted: both known and in the same plane
    (:func:`spacing_plane`). Detector plane vs patient plane differ by the film's magnification (~10-20 %, more than
    the 2-3 mm the follow-up rules look for on a ~10 mm disc)."""
    return a is not None and b is not None and spacing_plane(a) == spacing_plane(b)
