"""The one family of domain errors.

Adapters (CLI, web, PACS, batch) catch :class:`FusionwatchError` in one place and turn it into a clear message and a
non-zero exit code or an HTTP status; programming mistakes stay ``TypeError`` / ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "FusionwatchError",
    "UnsupportedImageError",
    "CalibrationError",
    "LandmarkError",
    "ViewError",
    "InputError",
]


class FusionwatchError(Exception):
    """Base class of every error a user can cause and fix (bad file, wrong view, missing spacing...)."""


class UnsupportedImageError(FusionwatchError):
    """The file is not a radiograph we can read: corrupt, truncated, no pixel data, unsupported encoding."""


class CalibrationError(FusionwatchError):
    """A length in millimetres was asked for but the image has no usable pixel spacing."""


class LandmarkError(FusionwatchError):
    """Landmarks are missing, unparsable, outside the image or anatomically impossible."""


class ViewError(FusionwatchError):
    """The film is not the view the operation needs (e.g. an AP film given where a lateral is required)."""


class InputError(FusionwatchError):
    """Any other invalid user input: an impossible date, an out-of-range questionnaire answer, an unknown patient."""
