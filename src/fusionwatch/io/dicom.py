"""Read a DICOM projection radiograph (DX, CR, secondary capture) into plain values; the only module importing pydicom.

What it does, in order (docs/loading.md):

1. Read the file with :func:`pydicom.dcmread` (``force=True``: files without the 128-byte preamble and "DICM" are
   accepted; their transfer syntax is taken from the encoding pydicom detected).
2. Refuse what is not a single-frame image: no (7FE0,0010) *Pixel Data* (a structured report, a presentation state),
   more than one frame, a photometric interpretation other than MONOCHROME1/2, RGB or the YBR colour spaces pydicom
   converts to RGB (``PALETTE COLOR`` and the partial YBR spaces are refused).
3. Decode the pixels (native or compressed: RLE, JPEG baseline/extended, JPEG lossless, JPEG-LS, JPEG 2000 via the
   pydicom / pylibjpeg / pyjpegls plugins); a decoder failure becomes
   :class:`~fusionwatch.errors.UnsupportedImageError`.
4. Apply the Modality LUT ((0028,1052) *Rescale Intercept*, (0028,1053) *Rescale Slope* or the *Modality LUT Sequence*).
5. Invert MONOCHROME1 so that bone is bright: ``x -> lo + hi - x`` with ``[lo, hi]`` the range of stored values
   after the Modality LUT, so values stay in the same range.
6. Colour (RGB, or YBR decoded to RGB) becomes gray by ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B), with a warning.
7. The VOI (display) window is *recorded*, not applied: (0028,1050) *Window Center* / (0028,1051) *Window Width*
   (first pair), or, for a *VOI LUT Sequence*, the linear window spanning the table's input range. MONOCHROME1 windows
   are mirrored like the pixels.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings as _warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.datadict import dictionary_has_tag, repeater_has_tag
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from fusionwatch.errors import UnsupportedImageError
from fusionwatch.io._calibration import DicomCalibration
from fusionwatch.io._lock import READER_LOCK
from fusionwatch.io._view import ViewHints
from fusionwatch.radiograph import DicomIds

__all__ = ["DicomImage", "read_dicom_image", "dicom_image_size", "is_dicom_dataset", "pydicom_quiet",
           "SUPPORTED_PHOTOMETRIC"]

SUPPORTED_PHOTOMETRIC = ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")
"""Photometric interpretations read. The YBR ones are converted to RGB by pydicom or the JPEG / JPEG 2000 decoder."""

PROJECTION_MODALITIES = ("DX", "CR", "RG", "OT", "XA", "RF", "PX", "IO", "MG")
"""Modalities that can be a projection radiograph (OT: secondary capture). Others are read with a warning."""

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class DicomImage:
    """What :func:`read_dicom_image` extracted from one file.

    Attributes
    ----------
    pixels : (H, W) float32 ndarray
        Modality LUT applied, MONOCHROME1 inverted: higher = more attenuation (bone bright).
    calibration : DicomCalibration
        Raw spacing attributes, chosen later by :func:`fusionwatch.io._calibration.choose_spacing`.
    view_hints : ViewHints
        View Position, view code meanings and descriptions.
    dates : tuple of (label, value)
        Raw date strings (YYYYMMDD expected) in precedence order: Acquisition Date, the date part of Acquisition
        DateTime, Study Date, Content Date; absent ones left out.
    ids : DicomIds
        Patient, study, series, instance identifiers and accession number (never logged).
    display_window : (center, width) or None
        VOI window in the units of ``pixels``; ``None`` when the file has none.
    warnings : tuple of str
    """

    pixels: np.ndarray
    calibration: DicomCalibration
    view_hints: ViewHints
    dates: tuple[tuple[str, str], ...]
    ids: DicomIds
    display_window: tuple[float, float] | None
    warnings: tuple[str, ...]


REEXPORT_ADVICE = ("Re-export the film from the PACS or imaging system, or ask the sender to send it again.")
"""What to do about a truncated or damaged file: the copy is incomplete, the original is usually fine."""


def _truncated(path: Path, what: str, detail: str | None = None) -> UnsupportedImageError:
    """The error for a DICOM file that ends early: what is missing first, the remedy, pydicom's words last."""
    size = path.stat().st_size if path.exists() else 0
    return UnsupportedImageError(
        f"{path} is truncated (the file ends early, at {size:,} bytes): {what}. The copy is incomplete, for example "
        f"an interrupted download, copy or upload. {REEXPORT_ADVICE}" + (f" (pydicom: {detail})" if detail else "")
    )


def _damaged(path: Path, what: str) -> UnsupportedImageError:
    """The error for a DICOM file whose bytes stop being DICOM part-way (corrupted in the middle, not cut short)."""
    size = path.stat().st_size if path.exists() else 0
    return UnsupportedImageError(
        f"{path} is damaged ({size:,} bytes): {what}. The copy is corrupt, for example a faulty disk, transfer or "
        f"upload. {REEXPORT_ADVICE}"
    )


def _stray_tag(ds: Dataset, size: int) -> str | None:
    """The first top-level element that is damaged bytes taken for an element, as ``"(GGGG,EEEE)"``: no DICOM attribute
    (not a group length, in the data dictionary or its repeating groups, a private creator, or a private element whose
    creator (gggg,00xx) is in the data set), and unreadable as one: a value longer than the ``size``-byte file, or no
    valid VR in an explicit-VR data set. An unknown element that reads whole (a private element whose creator was
    stripped, a newer standard's attribute) is no sign of damage: a file cut after it is truncated."""
    implicit = bool(getattr(ds, "original_encoding", (None, None))[0])
    for tag in ds.keys():
        if tag.element == 0 or dictionary_has_tag(tag) or repeater_has_tag(tag):
            continue
        if tag.is_private and (
            tag.is_private_creator or (tag.element >= 0x1000 and Tag(tag.group, tag.element >> 8) in ds)
        ):
            continue
        raw = ds.get_item(tag)
        length = getattr(raw, "length", None)
        too_long = length is not None and length != 0xFFFFFFFF and length > size
        if too_long or (not implicit and getattr(raw, "VR", None) is None):
            return f"({tag.group:04X},{tag.element:04X})"
    return None


@contextmanager
def pydicom_quiet() -> Iterator[None]:
    """No pydicom (or highdicom) warning or log record escapes inside the block: pydicom warns once per element value
    it finds invalid and quotes the value (on a damaged file its raw bytes), which can hold patient identifiers (names,
    ids, dates); highdicom logs the source film's UID. Every reader here runs in it, and so must any adapter that reads
    a DICOM data set's elements (the report's SR and secondary capture from the source film). What matters reaches the
    user as one
    :class:`UnsupportedImageError` or a note on the result instead.

    The warning filters and the logger's level are process-wide (Python 3.11 has no per-thread warning filters), so
    the blocks of all threads run one at a time (:data:`fusionwatch.io._lock.READER_LOCK`, re-entrant: a block may
    hold another): each restores the state it found. Overlapping blocks saved and restored each other's state, which
    could leave every warning of the process ignored and the 'pydicom' logger at CRITICAL for good. Still true while
    a block runs: warnings of other threads are not shown either."""
    with READER_LOCK:
        # highdicom too: building the SR and secondary capture from a source film, it logs 'copy Patient-related
        # attributes from dataset "<the film's SOP Instance UID>"' (INFO): a film's UID stays out of logs
        loggers = [logging.getLogger("pydicom"), logging.getLogger("highdicom")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore")
                yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def _sop_name(ds: Dataset) -> str:
    """The SOP class name of a data set (its own (0008,0016) or the file meta's (0002,0002)), or ``""``."""
    for sop in (ds.get("SOPClassUID"), getattr(ds, "file_meta", Dataset()).get("MediaStorageSOPClassUID")):
        name = str(getattr(sop, "name", "") or "") if sop is not None else ""
        if name and not name[0].isdigit():
            return name
    return ""


def _read_dataset(path: Path, *, stop_before_pixels: bool = False) -> Dataset:
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=stop_before_pixels)
    except Exception as exc:  # pydicom raises many types on corrupt input; all mean the same to a user
        raise UnsupportedImageError(
            f"{path} could not be read as DICOM: the file is damaged or truncated (it ends early or its content is "
            f"not valid DICOM). {REEXPORT_ADVICE} (pydicom: {type(exc).__name__}: {exc})"
        ) from exc
    eof = [str(w.message) for w in caught if "end of file" in str(w.message).lower()]
    if eof:  # pydicom drops the data set it was reading when the file ends before a delimiter
        raise _truncated(path, "it ends in the middle of its data, before the marker that closes it", eof[0])
    has_meta = "TransferSyntaxUID" in getattr(ds, "file_meta", Dataset())
    if has_meta and len(ds) == 0:
        raise _truncated(path, "it holds only its file header (0002,xxxx), no data set")
    if not has_meta and not any(k in ds for k in ("SOPClassUID", "Rows", "PixelData", "Modality")):
        with path.open("rb") as fh:
            prefixed = fh.read(132)[128:132] == b"DICM"
        if prefixed and (stray := _stray_tag(ds, path.stat().st_size)):
            raise _damaged(
                path, f"it starts like a DICOM file (\"DICM\" at byte 128), but what follows is no DICOM data set "
                f"(its first element, {stray}, is not a DICOM attribute)"
            )
        if prefixed:
            raise _truncated(path, "it starts like a DICOM file (\"DICM\" at byte 128) but holds no data set")
        raise UnsupportedImageError(f"{path} is neither an image (PNG, JPEG, TIFF) nor a DICOM file.")
    if not has_meta:
        implicit, little = ds.original_encoding
        ds.file_meta = ds.file_meta if hasattr(ds, "file_meta") else pydicom.dataset.FileMetaDataset()
        if implicit:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        else:
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    return ds


def _is_image_object(ds: Dataset) -> bool:
    """True when the data set says it holds an image: an image SOP class ("... Image Storage"), or, without a known
    SOP class, an image size or pixel attributes."""
    name = _sop_name(ds)
    if name:
        return "Image Storage" in name
    return any(k in ds for k in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation"))


def _da(text: str | None) -> dt.date | None:
    """A DICOM DA value ``YYYYMMDD`` as a date; ``None`` when absent or invalid (not worth a warning: identifiers are
    never quoted in messages)."""
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if text else None
    except ValueError:
        return None


def _text(ds: Dataset, keyword: str) -> str | None:
    try:
        value = ds.get(keyword)
    except Exception:
        return None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _raw_values(ds: Dataset, keyword: str) -> list[object] | object | None:
    """An attribute's value(s) without letting an invalid DS/IS string raise; strings kept for the validator."""
    if keyword not in ds:
        return None
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            value = ds[keyword].value
    except Exception:
        raw = ds.get_item(keyword)
        data = getattr(raw, "value", b"") or b""
        text = data.decode("latin-1", "replace") if isinstance(data, bytes) else str(data)
        parts = [p.strip() for p in text.strip("\x00 ").split("\\")]
        return parts if len(parts) > 1 else parts[0]
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return list(value)
    return value


def _code_meanings(ds: Dataset) -> tuple[str, ...]:
    meanings: list[str] = []
    for keyword in ("ViewCodeSequence", "ViewModifierCodeSequence"):
        for item in ds.get(keyword, None) or []:
            meaning = _text(item, "CodeMeaning")
            if meaning:
                meanings.append(meaning)
            for sub in item.get("ViewModifierCodeSequence", None) or []:
                sub_meaning = _text(sub, "CodeMeaning")
                if sub_meaning:
                    meanings.append(sub_meaning)
    return tuple(meanings)


def _first_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        items = list(value)  # type: ignore[call-overload]
        value = items[0] if items else None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if np.isfinite(result) else None


def _modality_lut(arr: np.ndarray, ds: Dataset, usable_rescale: bool) -> np.ndarray:
    """pydicom's Modality LUT / rescale of ``arr``; the stored values as they are when ``usable_rescale`` is False
    (:func:`_rescale_problem`: an empty, invalid or multi-valued Rescale Slope or Intercept, or a Modality LUT Sequence
    item without a usable LUT: pydicom would fail on it with a bare TypeError, ValueError or AttributeError)."""
    if not usable_rescale:
        return arr
    return apply_modality_lut(arr, ds)


def _lut_problem(ds: Dataset) -> str | None:
    """Why the first item of (0028,3000) *Modality LUT Sequence* cannot be applied (no (0028,3002) *LUT Descriptor* of
    three numbers, no (0028,3006) *LUT Data*, or fewer entries than the descriptor says), or ``None``."""
    item = ds.ModalityLUTSequence[0]
    descriptor = _raw_values(item, "LUTDescriptor")
    try:
        numbers = [int(v) for v in descriptor] if isinstance(descriptor, (list, tuple)) else []  # type: ignore
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) != 3:
        return "(0028,3000) Modality LUT Sequence has no LUT Descriptor (0028,3002) of three numbers"
    if "LUTData" not in item or item["LUTData"].value in (None, b"", []):
        return "(0028,3000) Modality LUT Sequence has no LUT Data (0028,3006)"
    try:
        entries = len(item.LUTData) if not isinstance(item.LUTData, bytes) else len(item.LUTData) // (
            2 if numbers[2] > 8 else 1)
    except Exception:  # noqa: BLE001 - an undecodable value: not usable
        return "(0028,3000) Modality LUT Sequence has LUT Data (0028,3006) that cannot be read"
    if entries < (numbers[0] or 65536):
        return (f"(0028,3000) Modality LUT Sequence has {entries} LUT Data entries; its LUT Descriptor says "
                f"{numbers[0] or 65536}")
    return None


def _rescale_problem(ds: Dataset) -> str | None:
    """Why the film's modality LUT cannot be applied: (0028,1053) *Rescale Slope* / (0028,1052) *Rescale Intercept*
    empty, not a number, with more than one value, or a slope of 0; or a Modality LUT Sequence item without a usable
    LUT (:func:`_lut_problem`). ``None`` when it can be applied or none is given (a Modality LUT Sequence is used
    before a rescale)."""
    if ds.get("ModalityLUTSequence"):
        return _lut_problem(ds)
    if "RescaleSlope" not in ds or "RescaleIntercept" not in ds:
        return None
    for keyword, tag in (("RescaleSlope", "(0028,1053) Rescale Slope"), ("RescaleIntercept", "(0028,1052) Rescale "
                                                                                            "Intercept")):
        raw = _raw_values(ds, keyword)
        if (isinstance(raw, (list, tuple)) or type(raw).__name__ == "MultiValue") and len(raw) != 1:  # type: ignore
            return f"{tag} has {len(raw)} values; expected 1"  # type: ignore[arg-type]
        value = _first_float(raw)
        if value is None:
            return f"{tag} is empty or not a number"
        if keyword == "RescaleSlope" and value == 0:
            return f"{tag} is 0 (every pixel would get one value)"
    return None


def _stored_range(ds: Dataset, usable_rescale: bool = True) -> tuple[float, float]:
    """Range of the Modality LUT output over every storable value (for MONOCHROME1 inversion)."""
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)) or 16)
    if int(ds.get("PixelRepresentation", 0) or 0) == 1:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        lo, hi = 0, 2**bits - 1
    ends = np.asarray(_modality_lut(np.array([lo, hi], dtype=np.int64), ds, usable_rescale), dtype=np.float64)
    return float(ends.min()), float(ends.max())


_KNOWN_MODALITIES = frozenset({
    "CT", "MR", "US", "NM", "PT", "XA", "RF", "MG", "IO", "PX", "ES", "SM", "XC", "OP", "GM", "ECG", "SR", "KO", "PR",
    "DOC", "SEG", "REG", "RTIMAGE", "RTDOSE", "RTSTRUCT", "RTPLAN", "OCT", "OPT", "BMD", "IVUS", "AU", "HD", "DG", "LS",
})
"""DICOM Modality (0008,0060) defined terms (PS3.3 C.7.3.1.1.1) a warning may quote: any other value is text a device
or a person typed, so it is not quoted (a film's warnings reach reports and are drawn on the annotated film)."""


def _modality_named(modality: str) -> str:
    """``'CT'`` for a defined Modality term, else ``"(an unlisted value)"``: header text is never quoted."""
    return repr(modality) if modality in _KNOWN_MODALITIES else "(an unlisted value)"


def _display_window(ds: Dataset, path: Path, notes: list[str]) -> tuple[float, float] | None:
    center = _first_float(_raw_values(ds, "WindowCenter"))
    width = _first_float(_raw_values(ds, "WindowWidth"))
    if center is not None and width is not None:
        if width >= 1.0:
            return center, width
        notes.append(f"Window Width (0028,1051) {width!r} is below 1; window ignored.")
        return None
    for item in ds.get("VOILUTSequence", None) or []:
        descriptor = _raw_values(item, "LUTDescriptor")
        if isinstance(descriptor, list) and len(descriptor) == 3:
            entries = int(descriptor[0]) or 65536  # 0 means 2**16 entries (PS3.3 C.11.2.1.1)
            first = float(descriptor[1])
            notes.append("VOI LUT Sequence recorded as the linear window spanning its input range (an approximation).")
            return first + entries / 2.0, float(entries)
    return None


def read_dicom_image(path: str | Path) -> DicomImage:
    """Read one DICOM projection radiograph.

    Parameters
    ----------
    path : str or Path
        A DICOM file, with or without the preamble.

    Returns
    -------
    DicomImage

    Raises
    ------
    UnsupportedImageError
        Corrupt or truncated file, no Pixel Data, multi-frame, unsupported photometric interpretation, a pixel data
        encoding that cannot be decoded, or an image smaller than 16 x 16. The message names the file.
    """
    path = Path(path)
    with pydicom_quiet():
        return _read_dicom_image(path)


def _read_dicom_image(path: Path) -> DicomImage:
    ds = _read_dataset(path)
    notes: list[str] = []
    ts = ds.file_meta.TransferSyntaxUID

    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        sop_name = _sop_name(ds)
        if _is_image_object(ds):  # an image without its pixels: the file stops before (7FE0,0010), or is garbled
            kind = f"a {sop_name!r} object" if sop_name else "an image object"
            if stray := _stray_tag(ds, path.stat().st_size):
                raise _damaged(
                    path, f"it is {kind}, but its content turns into unreadable bytes at element {stray} (not a DICOM "
                    "attribute), and no Pixel Data (7FE0,0010) can be read"
                )
            raise _truncated(path, f"it is {kind} but has no Pixel Data (7FE0,0010); the image is missing")
        kind = f"a {sop_name!r} object" if sop_name else "this object"
        raise UnsupportedImageError(
            f"{path} has no Pixel Data (7FE0,0010): {kind} is not an image. Give the radiograph itself."
        )
    frames = ds.get("NumberOfFrames", 1)
    try:
        frames = int(frames or 1)
    except (TypeError, ValueError):
        frames = 1
    if frames > 1:
        raise UnsupportedImageError(
            f"{path} is a multi-frame image ({frames} frames); expected one projection radiograph. "
            "Export the frame you want as a single-frame file."
        )
    photometric = (_text(ds, "PhotometricInterpretation") or "").upper()
    if photometric not in SUPPORTED_PHOTOMETRIC:
        raise UnsupportedImageError(
            f"{path} has photometric interpretation {photometric or '(missing)'!r}, which fusionwatch does not read; "
            f"expected one of {', '.join(SUPPORTED_PHOTOMETRIC)}."
        )
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows < 16 or cols < 16:
        raise UnsupportedImageError(f"{path} is {cols} x {rows} px; a radiograph must be at least 16 x 16 px.")

    _check_pixel_length(ds, path)
    try:  # decoder failures are reported once, by the exception below (pydicom's own log is quiet here)
        arr = ds.pixel_array
    except Exception as exc:
        raise UnsupportedImageError(
            f"{path}: the pixel data ({ts.name}) could not be decoded: {type(exc).__name__}: {exc}"
        ) from exc

    colour = photometric not in ("MONOCHROME1", "MONOCHROME2")
    if colour:
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise UnsupportedImageError(f"{path}: colour pixel data of shape {arr.shape}; expected (rows, columns, 3).")
        pixels = arr.astype(np.float32) @ _LUMA
        notes.append(f"Colour image ({photometric}) converted to gray with ITU-R BT.601 luma weights.")
    else:
        if arr.ndim != 2:
            raise UnsupportedImageError(
                f"{path}: monochrome pixel data of shape {arr.shape}; expected (rows, columns)."
            )
        if problem := _rescale_problem(ds):
            notes.append(f"{problem}: the stored pixel values were used as they are (no rescale), and the film's "
                         "display window, if any (given in rescaled values), was not used; check the film's export "
                         "settings.")
        pixels = np.asarray(_modality_lut(arr, ds, problem is None), dtype=np.float32)

    rescaled = colour or _rescale_problem(ds) is None
    window = _display_window(ds, path, notes) if not colour and rescaled else None
    if photometric == "MONOCHROME1":
        lo, hi = _stored_range(ds, rescaled)
        pixels = np.float32(lo + hi) - pixels
        if window is not None:
            window = (lo + hi - window[0], window[1])
        notes.append("MONOCHROME1 inverted so that bone is bright.")

    modality = (_text(ds, "Modality") or "").upper()
    if modality and modality not in PROJECTION_MODALITIES:
        notes.append(
            f"Modality (0008,0060) {_modality_named(modality)} is not a projection radiograph (expected DX, CR or a "
            "secondary capture); read anyway."
        )

    calibration = DicomCalibration(
        pixel_spacing=_raw_values(ds, "PixelSpacing"),  # type: ignore[arg-type]
        imager_pixel_spacing=_raw_values(ds, "ImagerPixelSpacing"),  # type: ignore[arg-type]
        magnification=_raw_values(ds, "EstimatedRadiographicMagnificationFactor"),
        calibration_type=_text(ds, "PixelSpacingCalibrationType"),
        modality=modality or None,
    )
    hints = ViewHints(
        view_position=_text(ds, "ViewPosition") or "",
        view_code_meanings=_code_meanings(ds),
        descriptions=tuple(
            t for t in (_text(ds, k) for k in ("SeriesDescription", "ImageComments", "ProtocolName")) if t
        ),
    )
    dates: list[tuple[str, str]] = []
    for label, keyword, n in (
        ("Acquisition Date (0008,0022)", "AcquisitionDate", None),
        ("Acquisition DateTime (0008,002A)", "AcquisitionDateTime", 8),
        ("Study Date (0008,0020)", "StudyDate", None),
        ("Content Date (0008,0023)", "ContentDate", None),
    ):
        raw = _raw_values(ds, keyword)
        if raw is not None and str(raw).strip():
            text = str(raw).strip()
            dates.append((label, text[:n] if n else text))
    ids = DicomIds(
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        sop_uid=_text(ds, "SOPInstanceUID"),
        accession=_text(ds, "AccessionNumber"),
        birth_date=_da(_text(ds, "PatientBirthDate")),
    )
    return DicomImage(
        pixels=np.ascontiguousarray(pixels, dtype=np.float32),
        calibration=calibration,
        view_hints=hints,
        dates=tuple(dates),
        ids=ids,
        display_window=window,
        warnings=tuple(notes),
    )


def _check_pixel_length(ds: Dataset, path: Path) -> None:
    """Native (uncompressed) pixel data shorter than the image size needs: the file was cut inside its pixels."""
    if ds.file_meta.TransferSyntaxUID.is_compressed or "PixelData" not in ds:
        return
    try:
        from pydicom.pixels.utils import get_expected_length

        expected = int(get_expected_length(ds, unit="bytes"))
        got = len(ds.PixelData)
    except Exception:  # noqa: BLE001 - attributes too broken to tell; the decoder reports it below
        return
    if got < expected:
        raise _truncated(
            path, f"its pixel data holds {got:,} of the {expected:,} bytes a {int(ds.Columns)} x {int(ds.Rows)} image "
            "needs"
        )


def is_dicom_dataset(path: str | Path) -> bool:
    """True when pydicom reads ``path`` (forced, header only) into a data set with image or object attributes.

    For files whose first bytes match no known format: old preamble-less DICOM files may start with any group.
    """
    try:
        with pydicom_quiet():
            _read_dataset(Path(path), stop_before_pixels=True)
    except UnsupportedImageError:
        return False
    return True


def dicom_image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` in pixels from (0028,0011) *Columns* and (0028,0010) *Rows*, without decoding pixels.

    Raises
    ------
    UnsupportedImageError
        If the file is not readable DICOM or has no image size.
    """
    path = Path(path)
    with pydicom_quiet():
        ds = _read_dataset(path, stop_before_pixels=True)
        rows, cols = ds.get("Rows"), ds.get("Columns")
    if not rows or not cols:
        raise UnsupportedImageError(f"{path} has no Rows (0028,0010) / Columns (0028,0011): not an image.")
    return int(cols), int(rows)
