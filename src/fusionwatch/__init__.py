"""fusionwatch: radiographic follow-up and recovery care after L5-S1 spinal fusion.

The core (radiograph, anatomy, landmarks, measurements) is pure Python + numpy; adapters (io, store, cli, report) sit
around it. Public names are re-exported here.
"""

from fusionwatch._typing import Point
from fusionwatch.anatomy import Corner, Endplate, ImageSide, Level
from fusionwatch.errors import (
    CalibrationError,
    FusionwatchError,
    InputError,
    LandmarkError,
    UnsupportedImageError,
    ViewError,
)
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import DicomIds, Facing, Radiograph, View
from fusionwatch.units import Spacing, SpacingSource, Unit

__version__ = "0.1.0"

__all__ = [
    "CalibrationError",
    "Corner",
    "DicomIds",
    "Endplate",
    "Facing",
    "FusionwatchError",
    "ImageSide",
    "InputError",
    "LandmarkError",
    "Landmarks",
    "Level",
    "MeasureName",
    "Measurement",
    "Point",
    "Radiograph",
    "Spacing",
    "SpacingSource",
    "Unit",
    "UnsupportedImageError",
    "View",
    "ViewError",
    "__version__",
]
