"""``read_radiograph``: any supported film file -> :class:`~fusionwatch.radiograph.Radiograph`.

The format is sniffed from the first bytes (not the file name): PNG, JPEG, TIFF, or DICOM (with the "DICM" prefix at
byte 128, or without a preamble when the file starts with a group 0002 or 0008 element). Spacing follows
CLINICAL.md "Calibration" (:mod:`fusionwatch.io._calibration`), the view :mod:`fusionwatch.io._view`. See
docs/loading.md.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

from fusionwatch._typing import Point
from fusionwatch.errors import InputError, UnsupportedImageError
from fusionwatch.io._calibration import DicomCalibration, choose_spacing
from fusionwatch.io._view import ViewHints, decide_view, parse_view
from fusionwatch.io.dicom import dicom_image_size, is_dicom_dataset, read_dicom_image
from fusionwatch.io.raster import raster_image_size, read_raster_image
from fusionwatch.radiograph import DicomIds, Radiograph, View

__all__ = [
    "read_radiograph", "image_size", "sniff_format", "parse_dicom_date", "display_name", "output_folder",
    "FIRST_PLAUSIBLE_FILM_DATE", "film_date_problem", "with_plausible_date",
]

_MIN_SIZE = 16

FIRST_PLAUSIBLE_FILM_DATE = dt.date(1900, 1, 2)
"""Films dated earlier are impossible: X-rays date from 1895, and 1900-01-01 / 1899-12-30 are common placeholder
dates."""


def film_date_problem(when: dt.date, *, today: dt.date | None = None) -> str | None:
    """Why a film's date cannot be its date, or ``None`` when it can: the one check of ``ingest`` (which refuses the
    film, since it files it by that date) and ``measure`` (:func:`with_plausible_date`: kept out, with a warning).

    Returns
    -------
    str or None
        ``"The film date 2030-01-01 is in the future"`` (after ``today``, default the local date) or ``"The film date
        1899-12-30 is impossible (before 1900; often a placeholder date)"``, without a full stop: the caller adds
        what to do.
    """
    today = today or dt.date.today()
    if when > today:
        return f"The film date {when.isoformat()} is in the future"
    if when < FIRST_PLAUSIBLE_FILM_DATE:
        return f"The film date {when.isoformat()} is impossible (before 1900; often a placeholder date)"
    return None


def with_plausible_date(film: Radiograph, *, today: dt.date | None = None) -> Radiograph:
    """``film`` itself, or, when its date cannot be its date (:func:`film_date_problem`), a copy without the date
    (``acquired`` ``None``) and a warning saying which date and that it is not used. For reading a film outside the
    record (``fusionwatch measure``); ``ingest`` refuses such a film instead (reviewer R's F5: ``measure`` recorded
    ``acquired: 2030-01-01`` without a word while ``ingest`` refused the same file)."""
    if film.acquired is None or (problem := film_date_problem(film.acquired, today=today)) is None:
        return film
    return replace(film, acquired=None, warnings=(*film.warnings, f"{problem}; not used (check the film's date)."))


def sniff_format(header: bytes) -> str | None:
    """``"png"``, ``"jpeg"``, ``"tiff"``, ``"dicom"`` or ``None`` from a file's first 132+ bytes."""
    if len(header) >= 132 and header[128:132] == b"DICM":
        return "dicom"  # first: some DICOM files carry a TIFF header in their preamble (dual-format files)
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if header.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if header[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    # No preamble: the data set starts with a (0002,xxxx) or (0008,xxxx) element, little or big endian.
    if len(header) >= 8 and header[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08"):
        return "dicom"
    return None


def parse_dicom_date(text: str) -> dt.date:
    """Parse a DICOM DA value ``YYYYMMDD`` (also the old ACR-NEMA ``YYYY.MM.DD``).

    Raises
    ------
    ValueError
        If it is not a valid calendar date in one of those forms.
    """
    text = text.strip()
    for fmt in ("%Y%m%d", "%Y.%m.%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a DICOM date (YYYYMMDD).")


def display_name(path: Path) -> str:
    """The file name as text that can be printed, drawn and stored: bytes of a name that are not UTF-8 (a film copied
    from a Latin-1 system; Python keeps them as lone surrogates, which cannot be encoded) are shown as ``\\xNN``.

    >>> display_name(Path(os.fsdecode(b"caf\\xe9.dcm")))
    'caf\\\\xe9.dcm'
    """
    return os.fsencode(path.name).decode("utf-8", "backslashreplace")


def output_folder(path: str | Path, option: str = "--out") -> Path:
    """``path`` as a folder outputs can be written into (created later, when missing), checked before any work.

    Raises
    ------
    InputError
        If ``path`` is an existing file (not a folder), a symlink to nowhere, or under a file (it can never be made),
        naming ``option``: a command then stops before reading or computing anything, instead of failing at its first
        write with "File exists" or "Not a directory".
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path} is a file; give a folder (it is created when missing).")
    if path.is_symlink() and not path.exists():
        raise InputError(f"{option} {path} is a link to {os.readlink(path)}, which does not exist; give a folder.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} {path} cannot be made: {parent} is a file; give a folder.")
            break
    return path


def _check_file(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"Image file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; expected an image file.")
    try:
        with path.open("rb") as fh:
            header = fh.read(256)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}") from None
    if not header:
        raise UnsupportedImageError(f"{path} is empty (0 bytes).")
    return header


def _format(path: Path) -> str:
    """The sniffed format; unknown first bytes get one more chance as a preamble-less DICOM data set."""
    kind = sniff_format(_check_file(path))
    if kind is None and is_dicom_dataset(path):
        kind = "dicom"
    if kind is None:
        raise UnsupportedImageError(
            f"{path} is neither an image (PNG, JPEG, TIFF) nor a DICOM file (unrecognised content)."
        )
    return kind


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` in pixels of a film file without decoding its pixels (for landmark readers).

    Raises
    ------
    InputError
        If the file does not exist.
    UnsupportedImageError
        If it is empty, not an image, or a DICOM without an image size.
    """
    path = Path(path)
    if _format(path) == "dicom":
        return dicom_image_size(path)
    return raster_image_size(path)


def read_radiograph(
    path: str | Path,
    *,
    pixel_spacing_mm: float | None = None,
    view: View | str | None = None,
    known_length: tuple[Point, Point, float] | None = None,
) -> Radiograph:
    """Read a film from a DICOM, PNG, JPEG or TIFF file.

    Parameters
    ----------
    path : str or Path
        The file. Its format is sniffed from its content, not its name.
    pixel_spacing_mm : float, optional
        User calibration: square pixels of this size in millimetres. Overrides DICOM spacing (with a warning).
    view : View or str, optional
        The view, overriding what DICOM attributes say (a disagreement is a warning); a string is a view's value in
        any case (``"lateral"``).
    known_length : ((x1, y1), (x2, y2), mm), optional
        User calibration from two pixel points a known distance apart (a calibration ball, a screw of known length).
        Not together with ``pixel_spacing_mm``.

    Returns
    -------
    Radiograph
        ``pixels`` (H, W) float32, bone bright, Modality LUT applied; ``spacing`` with its source or ``None``;
        ``view`` or ``None``; ``facing`` is always ``None`` here (decided from landmarks later); ``acquired``;
        ``ids``; ``source`` = the file name (bytes that are not UTF-8 shown as ``\\xNN``); ``warnings``;
        ``display_window`` (DICOM VOI window, not applied).

    Raises
    ------
    InputError
        The file does not exist or is a folder; the user calibration is invalid; ``view`` is not a view.
    UnsupportedImageError
        Empty, truncated or corrupt file; neither an image nor DICOM; DICOM without Pixel Data, multi-frame, or with an
        unsupported photometric interpretation; compressed pixel data that cannot be decoded; smaller than 16 x 16 px.

    Examples
    --------
    >>> film = read_radiograph("lateral.dcm")                          # doctest: +SKIP
    >>> film.spacing.source                                            # doctest: +SKIP
    <SpacingSource.PATIENT_PLANE: 'patient_plane'>
    """
    path = Path(path)
    view = None if view is None else parse_view(view)  # a mistyped view is refused before the file is read
    kind = _format(path)
    warnings: list[str] = []
    calibration: DicomCalibration | None = None
    hints: ViewHints | None = None
    window: tuple[float, float] | None = None
    acquired: dt.date | None = None
    ids = DicomIds()
    if kind == "dicom":
        dicom = read_dicom_image(path)
        pixels = dicom.pixels
        warnings += dicom.warnings
        calibration, hints, ids, window = dicom.calibration, dicom.view_hints, dicom.ids, dicom.display_window
        for label, text in dicom.dates:
            try:
                acquired = parse_dicom_date(text)
                break
            except ValueError:
                # the value is kept here for ingest's error line (the operator gives the right --date from it); a
                # date of service is an identifier: every output rewrites this warning without it
                # (io._film_warnings.without_header_values: the annotated film, de-identified text)
                warnings.append(f"{label} {text!r} is not a valid date (YYYYMMDD); ignored.")
    else:
        pixels, notes = read_raster_image(path, kind)
        warnings += notes

    height, width = pixels.shape
    if width < _MIN_SIZE or height < _MIN_SIZE:
        raise UnsupportedImageError(
            f"{path} is {width} x {height} px; a radiograph must be at least {_MIN_SIZE} x {_MIN_SIZE} px."
        )
    spacing, spacing_notes = choose_spacing(
        calibration,
        pixel_spacing_mm=pixel_spacing_mm,
        known_length=known_length,
        width=width,
        height=height,
        where=str(path),
    )
    decided_view, view_notes = decide_view(hints, view)
    return Radiograph(
        pixels=pixels,
        spacing=spacing,
        view=decided_view,
        facing=None,
        acquired=acquired,
        ids=ids,
        source=display_name(path),
        warnings=tuple(warnings + spacing_notes + view_notes),
        display_window=window,
    )
