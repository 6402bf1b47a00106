"""The radiograph as the core sees it: pixels, spacing, view, facing, date and identifiers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from fusionwatch.units import Spacing

__all__ = ["View", "Facing", "Radiograph", "DicomIds"]


class View(str, Enum):
    """Projection and posture of a film. Flexion and extension are lateral films taken bending."""

    LATERAL = "lateral"
    AP = "ap"
    FLEXION = "flexion"
    EXTENSION = "extension"

    @property
    def is_lateral(self) -> bool:
        """True for lateral, flexion and extension films."""
        return self is not View.AP


class Facing(str, Enum):
    """Which image side the patient's front (anterior) is on, on a lateral film."""

    LEFT = "left"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class DicomIds:
    """DICOM identifiers of the film, when it came from DICOM. Never logged: they can identify a patient."""

    patient_id: str | None = None
    patient_name: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    sop_uid: str | None = None
    accession: str | None = None
    birth_date: dt.date | None = None
    """(0010,0030) *Patient's Birth Date*; ``None`` when absent or not a valid date."""


@dataclass(frozen=True, eq=False)
class Radiograph:
    """One projection radiograph.

    Attributes
    ----------
    pixels : (H, W) float32 ndarray
        Modality LUT applied, higher = more attenuation (bone bright) whatever the stored photometric interpretation.
    spacing : Spacing | None
        Pixel size with its source; ``None`` means no millimetres at all, only angles and ratios.
    view : View | None
        From DICOM attributes or the user; ``None`` when unknown.
    facing : Facing | None
        Lateral films only; usually decided from landmarks (:func:`fusionwatch.landmarks.lateral_facing`).
    acquired : datetime.date | None
        Acquisition (or study) date.
    ids : DicomIds
        Identifiers; empty for PNG/JPEG/TIFF input.
    source : str
        A description of where it came from (file name), for messages. Not a patient identifier.
    warnings : tuple[str, ...]
        Doubtful but usable input (detector-plane spacing, a guessed view...), shown in reports.
    display_window : tuple[float, float] | None
        ``(center, width)`` of the DICOM VOI window, in the units of ``pixels``, for display only (pixels are not
        windowed); ``None`` when the file has none (then display the full range or percentiles).
    """

    pixels: np.ndarray
    spacing: Spacing | None = None
    view: View | None = None
    facing: Facing | None = None
    acquired: dt.date | None = None
    ids: DicomIds = field(default_factory=DicomIds)
    source: str = ""
    warnings: tuple[str, ...] = ()
    display_window: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pixels, np.ndarray) or self.pixels.ndim != 2:
            raise ValueError(f"pixels must be a 2-D array, got shape {getattr(self.pixels, 'shape', None)}.")
        if self.pixels.shape[0] < 16 or self.pixels.shape[1] < 16:
            raise ValueError(f"pixels must be at least 16 x 16, got {self.pixels.shape}.")

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def __repr__(self) -> str:
        return (
            f"Radiograph({self.width}x{self.height} px, spacing={self.spacing}, "
            f"view={getattr(self.view, 'value', None)}, "
            f"facing={getattr(self.facing, 'value', None)}, acquired={self.acquired}, source={self.source!r})"
        )
