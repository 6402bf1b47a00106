"""Write a projection radiograph as DICOM DX (Digital X-Ray Image Storage - For Presentation).

Adapter only: takes pixels and plain values, writes a file. Spacing follows CLINICAL.md "Calibration": the file carries
*Imager Pixel Spacing* (detector plane) and the *Estimated Radiographic Magnification Factor*, so a reader gets the
spacing at the patient plane as ``ImagerPixelSpacing / ERMF``; no *Pixel Spacing* is written (as on real DX films).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

__all__ = ["DX_FOR_PRESENTATION", "DxFilm", "write_dx"]

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
"""SOP Class UID: Digital X-Ray Image Storage - For Presentation."""

_VIEW_POSITION = {"lateral": "LL", "flexion": "LL", "extension": "LL", "ap": "AP"}
_VIEW_TEXT = {
    "lateral": "LUMBAR SPINE LAT",
    "flexion": "LUMBAR SPINE LAT FLEXION",
    "extension": "LUMBAR SPINE LAT EXTENSION",
    "ap": "LUMBAR SPINE AP",
}


@dataclass(frozen=True)
class DxFilm:
    """Everything written to one DX file besides the pixels.

    Attributes
    ----------
    view : str
        ``"lateral"``, ``"ap"``, ``"flexion"`` or ``"extension"``.
    imager_pixel_spacing_mm : float
        Detector pixel pitch (square), mm.
    magnification : float
        Estimated Radiographic Magnification Factor (SID / SOD of the reference plane).
    sid_mm, sod_mm : float
        Distance Source to Detector, Distance Source to Patient (reference plane), mm.
    patient_orientation : (str, str)
        Direction of the image rows and columns, e.g. ``("P", "F")`` for a lateral with the front on the left.
    """

    view: str
    imager_pixel_spacing_mm: float
    magnification: float
    sid_mm: float
    sod_mm: float
    patient_id: str
    patient_name: str
    birth_date: dt.date
    sex: str
    study_date: dt.date
    study_uid: str
    series_uid: str
    sop_uid: str
    accession: str = ""
    study_description: str = "LUMBAR SPINE"
    series_number: int = 1
    instance_number: int = 1
    patient_orientation: tuple[str, str] = ("P", "F")
    manufacturer: str = "fusionwatch-sim"
    study_time: str = "093000"

    def __post_init__(self) -> None:
        if self.view not in _VIEW_POSITION:
            raise ValueError(f"view must be one of {sorted(_VIEW_POSITION)}, got {self.view!r}.")
        if not (0.01 <= self.imager_pixel_spacing_mm <= 5.0):
            raise ValueError(f"imager_pixel_spacing_mm must be in [0.01, 5], got {self.imager_pixel_spacing_mm!r}.")
        if not (1.0 <= self.magnification <= 2.0):
            raise ValueError(f"magnification must be in [1, 2], got {self.magnification!r}.")
        if self.sex not in ("M", "F", "O"):
            raise ValueError(f"sex must be M, F or O, got {self.sex!r}.")


def write_dx(path: str | Path, pixels: np.ndarray, film: DxFilm, *, bits_stored: int = 12) -> Path:
    """Write ``pixels`` (uint16, MONOCHROME2: higher = brighter = more attenuation) as a DX For Presentation file.

    Raises
    ------
    ValueError
        If ``pixels`` is not a 2-D unsigned 16-bit array or exceeds ``bits_stored``.
    """
    if not (isinstance(pixels, np.ndarray) and pixels.ndim == 2 and pixels.dtype == np.uint16):
        raise ValueError(
            f"pixels must be a 2-D uint16 array, got {getattr(pixels, 'dtype', None)} {getattr(pixels, 'shape', None)}."
        )
    if int(pixels.max(initial=0)) >= 2**bits_stored:
        raise ValueError(f"pixel values exceed {bits_stored} bits (max {int(pixels.max())}).")
    path = Path(path)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(DX_FOR_PRESENTATION)
    meta.MediaStorageSOPInstanceUID = UID(film.sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), Dataset(), file_meta=meta, preamble=b"\0" * 128)
    date = film.study_date.strftime("%Y%m%d")
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = DX_FOR_PRESENTATION
    ds.SOPInstanceUID = film.sop_uid
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.Modality = "DX"
    ds.PresentationIntentType = "FOR PRESENTATION"
    # patient
    ds.PatientName = film.patient_name
    ds.PatientID = film.patient_id
    ds.PatientBirthDate = film.birth_date.strftime("%Y%m%d")
    ds.PatientSex = film.sex
    ds.PatientAge = f"{_age(film.birth_date, film.study_date):03d}Y"
    # study / series / instance
    ds.StudyInstanceUID = film.study_uid
    ds.SeriesInstanceUID = film.series_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = film.study_time
    ds.AccessionNumber = film.accession
    ds.StudyID = film.accession[-8:] or "1"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = film.study_description
    ds.SeriesDescription = _VIEW_TEXT[film.view]
    ds.SeriesNumber = film.series_number
    ds.InstanceNumber = film.instance_number
    ds.Manufacturer = film.manufacturer
    ds.ManufacturerModelName = "fusionwatch radiograph simulator"
    ds.BodyPartExamined = "LSPINE"
    ds.ViewPosition = _VIEW_POSITION[film.view]
    ds.ImageLaterality = "U"
    ds.PatientOrientation = list(film.patient_orientation)
    ds.ImageComments = f"Simulated {film.view} film (synthetic, not a patient)."
    ds.AcquisitionDeviceProcessingDescription = film.view.upper()
    ds.BurnedInAnnotation = "NO"
    # geometry / calibration
    ps = float(film.imager_pixel_spacing_mm)
    ds.ImagerPixelSpacing = [f"{ps:.6g}", f"{ps:.6g}"]
    ds.EstimatedRadiographicMagnificationFactor = f"{film.magnification:.8g}"
    ds.DistanceSourceToDetector = f"{film.sid_mm:.6g}"
    ds.DistanceSourceToPatient = f"{film.sod_mm:.6g}"
    ds.PositionerType = "COLUMN"
    ds.DetectorType = "SCINTILLATOR"
    # pixels
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(v) for v in pixels.shape)
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.WindowCenter = str(2 ** (bits_stored - 1))
    ds.WindowWidth = str(2**bits_stored)
    ds.LossyImageCompression = "00"
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def new_uid() -> str:
    """A fresh random DICOM UID (pydicom's root)."""
    return generate_uid()
