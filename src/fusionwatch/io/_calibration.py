"""Choose a film's pixel spacing from DICOM tags and the user's calibration (CLINICAL.md "Calibration").

Precedence, best first:

1. (0028,0030) *Pixel Spacing* -> ``SpacingSource.PATIENT_PLANE``
2. (0018,1164) *Imager Pixel Spacing* / (0018,1114) *Estimated Radiographic Magnification Factor*
   -> ``SpacingSource.MAGNIFICATION_CORRECTED``
3. (0018,1164) *Imager Pixel Spacing* alone -> ``SpacingSource.DETECTOR_PLANE`` (with its warning)
4. the user's ``pixel_spacing_mm`` or ``known_length`` -> ``SpacingSource.USER_CALIBRATION``
5. nothing -> ``None`` (angles and ratios only)

A user calibration given together with DICOM spacing wins, with a warning naming both values. Invalid DICOM values
(missing, zero, negative, non-numeric, not two values) are treated as absent with a warning, never an exception; an
invalid *user* value is the user's mistake and raises :class:`~fusionwatch.errors.InputError`.

This module is pure: the DICOM reader passes the raw attribute values in, no pydicom here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fusionwatch._typing import Point
from fusionwatch.errors import InputError
from fusionwatch.units import Spacing, SpacingSource

__all__ = ["DicomCalibration", "choose_spacing"]

_MAX_MM = 10.0  # Spacing accepts (0, 10) mm per pixel
_MAGNIFICATION_RANGE = (1.0, 3.0)  # a projection cannot shrink the body; > 3x is not a radiograph geometry


@dataclass(frozen=True)
class DicomCalibration:
    """Raw calibration attributes as found in a DICOM data set (``None`` when absent).

    Attributes
    ----------
    pixel_spacing : sequence or None
        (0028,0030) *Pixel Spacing*: (row spacing, column spacing) = (dy, dx) in mm, as stored.
    imager_pixel_spacing : sequence or None
        (0018,1164) *Imager Pixel Spacing*: (row, column) mm at the detector, as stored.
    magnification : object or None
        (0018,1114) *Estimated Radiographic Magnification Factor*, as stored.
    calibration_type : str or None
        (0028,0A02) *Pixel Spacing Calibration Type* (``GEOMETRY``, ``FIDUCIAL``), used only in a warning.
    modality : str or None
        (0008,0060) *Modality*, used only in a warning (CR plates).
    """

    pixel_spacing: Sequence[object] | None = None
    imager_pixel_spacing: Sequence[object] | None = None
    magnification: object | None = None
    calibration_type: str | None = None
    modality: str | None = None


def _row_col_pair(value: object, label: str, warnings: list[str]) -> tuple[float, float] | None:
    """Validate a DICOM (row, column) spacing pair; ``None`` with a warning when unusable."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        items: list[object] = [value]
    else:
        items = list(value)
    try:
        numbers = [float(v) for v in items]  # type: ignore[arg-type]
    except (TypeError, ValueError):
        warnings.append(f"{label} is not numeric; ignored.")  # never the value: header text can hold identifiers
        return None
    if len(numbers) != 2:
        warnings.append(f"{label} has {len(numbers)} value(s); expected 2 (row, column); ignored.")
        return None
    if not all(math.isfinite(v) and 0.0 < v < _MAX_MM for v in numbers):
        warnings.append(f"{label} is not a pixel size in (0, {_MAX_MM:g}) mm; ignored.")
        return None
    return numbers[0], numbers[1]


def _magnification(value: object, warnings: list[str]) -> float | None:
    if value is None:
        return None
    label = "Estimated Radiographic Magnification Factor (0018,1114)"
    try:
        factor = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        warnings.append(f"{label} is not numeric; ignored.")
        return None
    lo, hi = _MAGNIFICATION_RANGE
    if not (math.isfinite(factor) and lo <= factor <= hi):
        warnings.append(f"{label} is outside [{lo:g}, {hi:g}]; ignored.")
        return None
    return factor


def _user_spacing(
    pixel_spacing_mm: float | None,
    known_length: tuple[Point, Point, float] | None,
    width: int,
    height: int,
    where: str,
) -> Spacing | None:
    if pixel_spacing_mm is not None and known_length is not None:
        raise InputError(f"{where}: give either a pixel spacing or a known length for calibration, not both.")
    if pixel_spacing_mm is not None:
        if isinstance(pixel_spacing_mm, bool) or not isinstance(pixel_spacing_mm, (int, float)):
            raise InputError(f"{where}: pixel spacing must be a number of mm, got {pixel_spacing_mm!r}.")
        if not (math.isfinite(pixel_spacing_mm) and 0.0 < pixel_spacing_mm < _MAX_MM):
            raise InputError(
                f"{where}: pixel spacing {pixel_spacing_mm!r} mm is not a pixel size; expected a value in "
                f"(0, {_MAX_MM:g}) mm, e.g. 0.14."
            )
        return Spacing.isotropic(float(pixel_spacing_mm), SpacingSource.USER_CALIBRATION)
    if known_length is not None:
        try:
            a, b, length_mm = known_length
            a = (float(a[0]), float(a[1]))
            b = (float(b[0]), float(b[1]))
            length_mm = float(length_mm)
        except (TypeError, ValueError, IndexError):
            raise InputError(
                f"{where}: known length must be ((x1, y1), (x2, y2), millimetres), got {known_length!r}."
            ) from None
        for p in (a, b):
            if not (math.isfinite(p[0]) and math.isfinite(p[1]) and 0 <= p[0] <= width - 1 and 0 <= p[1] <= height - 1):
                raise InputError(f"{where}: calibration point {p!r} lies outside the {width} x {height} px image.")
        try:
            spacing = Spacing.from_known_length(a, b, length_mm, SpacingSource.USER_CALIBRATION)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
        return spacing
    return None


def choose_spacing(
    dicom: DicomCalibration | None,
    *,
    pixel_spacing_mm: float | None = None,
    known_length: tuple[Point, Point, float] | None = None,
    width: int,
    height: int,
    where: str = "image",
) -> tuple[Spacing | None, list[str]]:
    """Pick the pixel spacing by the precedence in the module docstring.

    Parameters
    ----------
    dicom : DicomCalibration or None
        The film's calibration attributes; ``None`` for PNG/JPEG/TIFF.
    pixel_spacing_mm : float or None
        User calibration: square pixels of this size in mm.
    known_length : ((x1, y1), (x2, y2), mm) or None
        User calibration: two pixel points (inside the image) a known distance apart in mm.
    width, height : int
        Image size in pixels (to check calibration points).
    where : str
        Name of the file, for messages.

    Returns
    -------
    spacing : Spacing or None
        With its :class:`~fusionwatch.units.SpacingSource`; DICOM (row, column) is converted to ``dx_mm`` (column)
        and ``dy_mm`` (row) here.
    warnings : list of str
        Invalid values ignored, detector-plane spacing, user value overriding DICOM.

    Raises
    ------
    InputError
        If the user calibration itself is invalid (both kinds given, non-positive, points outside the image or closer
        than 5 px).
    """
    warnings: list[str] = []
    user = _user_spacing(pixel_spacing_mm, known_length, width, height, where)

    from_dicom: Spacing | None = None
    if dicom is not None:
        ps = _row_col_pair(dicom.pixel_spacing, "Pixel Spacing (0028,0030)", warnings)
        ips = _row_col_pair(dicom.imager_pixel_spacing, "Imager Pixel Spacing (0018,1164)", warnings)
        factor = _magnification(dicom.magnification, warnings)
        if ps is not None:
            from_dicom = Spacing(dx_mm=ps[1], dy_mm=ps[0], source=SpacingSource.PATIENT_PLANE)
            if ips is not None and ps == ips and not dicom.calibration_type:
                warnings.append(
                    "Pixel Spacing (0028,0030) equals Imager Pixel Spacing (0018,1164) and no Pixel Spacing "
                    "Calibration Type (0028,0A02) is given: some devices copy the detector value, so millimetres "
                    "may be overstated by 10-20 %."
                )
            elif ips is None and not dicom.calibration_type and (dicom.modality or "").upper() == "CR":
                warnings.append(
                    "CR image with Pixel Spacing (0028,0030) but no Pixel Spacing Calibration Type (0028,0A02): on "
                    "CR the value often describes the imaging plate, so millimetres may be overstated by 10-20 %."
                )
        elif ips is not None and factor is not None:
            from_dicom = Spacing(
                dx_mm=ips[1] / factor, dy_mm=ips[0] / factor, source=SpacingSource.MAGNIFICATION_CORRECTED
            )
        elif ips is not None:
            from_dicom = Spacing(dx_mm=ips[1], dy_mm=ips[0], source=SpacingSource.DETECTOR_PLANE)

    if user is not None:
        if from_dicom is not None:
            warnings.append(
                f"User calibration {user.dx_mm:.4g} mm/px overrides the DICOM spacing {from_dicom} "
                f"(differs by {100 * (user.dx_mm / from_dicom.dx_mm - 1):+.1f} % in x)."
            )
        return user, warnings
    if from_dicom is not None and from_dicom.source.warning:
        warnings.append(from_dicom.source.warning)
    return from_dicom, warnings
