"""De-identification shared by every export: one rule for names, ids, dates and UIDs.

- The ``key`` given here must already be the research pseudonym (:mod:`fusionwatch.pseudonym`, a keyed hash of the
  patient key with the site secret), never the patient key itself: it becomes Patient's Name and Patient ID and seeds
  the new UIDs.
- DICOM (:func:`deidentify_dataset`): DICOM PS3.15 Annex E, the Basic Application Level Confidentiality Profile
  (Table E.1-1, "Basic Prof." column) with two of its options, recorded in (0012,0064) *De-identification Method Code
  Sequence*: Retain Longitudinal Temporal Information with Modified Dates (DCM 113107: every kept date shifted, see
  below; times kept) and Retain Patient Characteristics (DCM 113108: sex, age, size and weight kept; an age over 89
  years becomes 090Y, as HIPAA Safe Harbor aggregates them). The de-identified dataset is built from an allow-list,
  :data:`DEID_KEEP` (class and instance / series / study / frame-of-reference UIDs, the study, series, acquisition and
  content dates and times, patient characteristics, modality, view, laterality, orientation, pixel spacing and its
  calibration, the image pixel module), stricter than the profile: every other attribute, at any depth, private ones
  included, is dropped, so an identifier nobody listed (a service episode or trial subject id, a reason for the
  visit, a station AE title, a name in a nested sequence, free text of any kind) cannot survive.
- Dates: shifted, never dropped, by one offset per patient so that the surgery falls on :data:`DEID_ANCHOR_DATE`
  (2000-01-01); days since surgery and intervals are unchanged. Times are kept (they carry no identity on their own).
  In a DICOM dataset every kept date (DA) and date-time (DT) is shifted.
- UIDs: replaced by deterministic UIDs derived from (the patient's UID seed, original UID), so references between
  exported objects still match and the same film always gets the same new UID. The seed is
  :func:`fusionwatch.pseudonym.uid_seed`, keyed with the site secret and never shown in an export: the original UIDs
  (known to any PACS user) and the printed pseudonym are not enough to recompute an exported UID.

References
----------
1. DICOM PS3.15 2024e, Annex E "Attribute Confidentiality Profiles", Table E.1-1 "Application Level Confidentiality
   Profile Attributes" and Table E.1-1a "De-identification Action Codes".
2. DICOM PS3.16, CID 7050 "De-identification Method" (codes 113100, 113107, 113108; checked against pydicom's copy).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from fusionwatch.pseudonym import uid_seed
from fusionwatch.report.model import DEID_ANCHOR_DATE

__all__ = ["DEID_ANCHOR_DATE", "DEID_KEEP", "DEID_METHOD", "date_shift", "dicom_age", "dicom_date_text", "shift_date",
           "shift_dicom_date", "pseudo_uid", "pseudo_id",
           "deidentify_dataset", "mark_deidentified"]

# What a de-identified DICOM dataset keeps (every other attribute, at any depth, private ones included, is dropped):
# built from this allow-list, not by removing a list of known identifiers, so an attribute nobody listed (a service
# episode id, a clinical-trial subject id, a reason for the visit, a station AE title, a name in a nested sequence)
# cannot survive. The action: "U" a new UID from the patient's UID seed, "C" a shifted date / date-time, "K" kept.
DEID_KEEP: dict[str, str] = {
    # identity of the object (class kept; instance, series, study, frame of reference replaced)
    "SOPClassUID": "K", "SOPInstanceUID": "U", "StudyInstanceUID": "U", "SeriesInstanceUID": "U",
    "FrameOfReferenceUID": "U",
    # dates shifted (Retain Longitudinal Temporal Information with Modified Dates), times kept
    "StudyDate": "C", "SeriesDate": "C", "AcquisitionDate": "C", "ContentDate": "C", "AcquisitionDateTime": "C",
    "StudyTime": "K", "SeriesTime": "K", "AcquisitionTime": "K", "ContentTime": "K",
    # patient characteristics (Retain Patient Characteristics; an age over 89 becomes 090Y)
    "PatientSex": "K", "PatientAge": "K", "PatientSize": "K", "PatientWeight": "K",
    # modality, view, laterality, orientation (coded strings)
    "Modality": "K", "ViewPosition": "K", "ImageLaterality": "K", "Laterality": "K", "PatientOrientation": "K",
    # pixel spacing and its calibration (numbers and coded strings; the free-text calibration description is dropped)
    "PixelSpacing": "K", "ImagerPixelSpacing": "K", "NominalScannedPixelSpacing": "K",
    "PixelSpacingCalibrationType": "K", "EstimatedRadiographicMagnificationFactor": "K",
    "DistanceSourceToDetector": "K", "DistanceSourceToPatient": "K", "PixelAspectRatio": "K",
    # image pixel module and its presentation (the secondary capture's pixels)
    "SpecificCharacterSet": "K", "SamplesPerPixel": "K", "PhotometricInterpretation": "K", "Rows": "K",
    "Columns": "K", "BitsAllocated": "K", "BitsStored": "K", "HighBit": "K", "PixelRepresentation": "K",
    "PlanarConfiguration": "K", "PixelData": "K", "RescaleIntercept": "K", "RescaleSlope": "K", "WindowCenter": "K",
    "WindowWidth": "K", "PixelIntensityRelationship": "K", "PixelIntensityRelationshipSign": "K",
    "PresentationLUTShape": "K", "LossyImageCompression": "K",
}

# Type-2 attributes (required, may be empty) of the patient and study modules: written empty, or as the pseudonym
_EMPTY_TYPE2 = ("PatientBirthDate", "AccessionNumber", "StudyID", "ReferringPhysicianName")

DEID_METHOD = (
    "DICOM PS3.15 E.1-1 Basic Profile (fusionwatch deid/2)",
    "Retain Longitudinal Modified Dates, times kept: surgery 20000101",
    "Retain Patient Characteristics: age over 89 = 090Y",
)
"""(0012,0063) *De-identification Method* (LO, each value at most 64 characters)."""

_METHOD_CODES = (codes.DCM.BasicApplicationConfidentialityProfile,
                 codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption,
                 codes.DCM.RetainPatientCharacteristicsOption)


def date_shift(surgery_date: dt.date) -> dt.timedelta:
    """The offset that moves ``surgery_date`` to 2000-01-01 (add it to every date of the patient)."""
    return DEID_ANCHOR_DATE - surgery_date


def shift_date(d: dt.date, surgery_date: dt.date) -> dt.date:
    return d + date_shift(surgery_date)


def pseudo_uid(seed: str, uid: str) -> str:
    """A new DICOM UID derived from (seed, uid): stable, and not reversible without both. For a de-identified export
    ``seed`` must be the patient's :func:`fusionwatch.pseudonym.uid_seed` (keyed with the site secret), never a value
    the export shows (the pseudonym): whoever holds the original UIDs could recompute the new ones."""
    return str(generate_uid(entropy_srcs=[seed, uid]))


def pseudo_id(seed: str, value: str, n: int = 16) -> str:
    """A short stable hash of ``value`` salted with ``seed`` (film ids in CSV exports: ``seed`` is the patient's
    :func:`fusionwatch.pseudonym.uid_seed`, for the reason :func:`pseudo_uid` gives)."""
    return hashlib.sha256(f"{seed}|{value}".encode()).hexdigest()[:n]


def deidentify_dataset(ds: Dataset, key: str, surgery_date: dt.date, *, uid_key: str | None = None) -> Dataset:
    """A de-identified copy of ``ds`` by DICOM PS3.15 Annex E (the rules in the module notes); pixel data untouched.

    ``key`` is the pseudonym (Patient's Name and ID); ``uid_key`` seeds the new UIDs: the patient's
    :func:`fusionwatch.pseudonym.uid_seed` with the site secret (``None``: one from a random per-process secret,
    stable within one run only). The copy holds only the attributes of :data:`DEID_KEEP` (UIDs replaced, dates
    shifted), the pseudonym as Patient's Name and ID, the empty type-2 patient / study attributes and the
    de-identification record: no other attribute, nested sequence or private attribute of ``ds`` is carried over.

    Burned-in text in the pixels is not detected: films with burned-in annotations need a pixel check upstream.
    """
    shift = date_shift(surgery_date)
    seed = uid_key if uid_key is not None else uid_seed(key, None)
    out = Dataset()
    for kw, action in DEID_KEEP.items():  # only what the allow-list names; nothing nested, nothing private
        if kw not in ds:
            continue
        elem = copy.deepcopy(ds[kw])
        if action == "U" and elem.value:
            elem.value = ([pseudo_uid(seed, str(u)) for u in elem.value] if elem.VM > 1
                          else pseudo_uid(seed, str(elem.value)))
        elif action == "C" and elem.value:
            elem.value = ([shift_dicom_date(v, shift) for v in elem.value] if elem.VM > 1
                          else shift_dicom_date(elem.value, shift))
        out.add(elem)
    out.PatientName = f"{key}^"  # one-component person name
    out.PatientID = key
    for kw in _EMPTY_TYPE2:
        setattr(out, kw, "")
    age = str(out.get("PatientAge") or "")
    if len(age) == 4 and age[:3].isdigit() and age[3] == "Y" and int(age[:3]) > 89:
        out.PatientAge = "090Y"  # ages over 89 are aggregated (HIPAA Safe Harbor)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "SOPInstanceUID" in out:  # a new file meta: the source's may name its application or AE
        out.file_meta = FileMetaDataset()
        out.file_meta.MediaStorageSOPClassUID = out.SOPClassUID
        out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        if "TransferSyntaxUID" in meta:
            out.file_meta.TransferSyntaxUID = meta.TransferSyntaxUID
    mark_deidentified(out)
    return out


def dicom_age(birth_date: dt.date, on: dt.date, *, cap: bool) -> str | None:
    """(0010,1010) *Patient's Age* (DICOM AS: ``"071Y"``; ``"011M"`` under one year) of a patient born on
    ``birth_date`` on the day ``on``; ``None`` when ``on`` is before the birth date. With ``cap`` (de-identified
    exports) an age over 89 is written ``"090Y"`` (HIPAA Safe Harbor aggregates ages over 89)."""
    if on < birth_date:
        return None
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if years >= 1:
        return f"{min(years, 90 if cap else 999):03d}Y"
    months = (on.year - birth_date.year) * 12 + on.month - birth_date.month - (on.day < birth_date.day)
    return f"{months:03d}M"


def mark_deidentified(ds: Dataset) -> None:
    """Record on ``ds`` (in place) how it was de-identified: (0012,0062) *Patient Identity Removed* YES, (0012,0063)
    *De-identification Method*, (0012,0064) *De-identification Method Code Sequence* (PS3.16 CID 7050) and (0028,0303)
    *Longitudinal Temporal Information Modified* MODIFIED. For objects made from a de-identified dataset too (the SR
    and the secondary capture), which do not copy these attributes."""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = list(DEID_METHOD)
    items = []
    for code in _METHOD_CODES:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code.value, code.scheme_designator, code.meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    ds.LongitudinalTemporalInformationModified = "MODIFIED"


def dicom_date_text(value: object) -> str:
    """A DA or DT value as DICOM text (pydicom may hold it as a ``date`` / ``datetime``)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y%m%d%H%M%S.%f")
    if isinstance(value, dt.date):
        return value.strftime("%Y%m%d")
    return str(value)


def shift_dicom_date(value: object, shift: dt.timedelta) -> str:
    """A DA or DT value moved by ``shift`` days (the rest of a date-time - time, fraction, offset - kept); a value
    that is not a full date (a bare year, or invalid) cannot be shifted, so it is emptied."""
    text = dicom_date_text(value)
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return ""
    return (day + shift).strftime("%Y%m%d") + text[8:]

