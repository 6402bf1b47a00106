"""De-identification shared by every export: one rule for names, ids, dates and UIDs.

- The ``key`` given here must already be the research pseudonym (:mod:`fusionwatch.pseudonym`, a keyed hash of the
  patient key with the site secret), never the patient key itself: it becomes Patient's Name and Patient ID and seeds
  the new UIDs.
- Removed: patient name (replaced by the pseudonym), patient id (replaced by the pseudonym), birth date, other patient
  ids, addresses, referring physician, accession number, study id ((0020,0010) *Study ID*, often the RIS or accession
  number; emptied like the accession number, both type 2), institution. A patient's age over 89 years becomes 090Y
  (HIPAA Safe Harbor aggregates ages over 89).
- Dates: shifted, never dropped, by one offset per patient so that the surgery falls on :data:`DEID_ANCHOR_DATE`
  (2000-01-01); days since surgery and intervals are unchanged. Times are kept (they carry no identity on their own).
- UIDs: replaced by deterministic UIDs derived from (key, original UID), so references between exported objects still
  match and the same film always gets the same new UID.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from fusionwatch.report.model import DEID_ANCHOR_DATE

__all__ = ["DEID_ANCHOR_DATE", "date_shift", "shift_date", "pseudo_uid", "pseudo_id", "deidentify_dataset"]

_REMOVE = (
    "PatientBirthTime", "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames",
    "PatientAddress", "PatientTelephoneNumbers", "PatientMotherBirthName", "ReferringPhysicianName",
    "InstitutionName", "InstitutionAddress", "PerformingPhysicianName", "OperatorsName", "PhysiciansOfRecord",
    "MilitaryRank", "EthnicGroup", "PatientComments", "DeviceSerialNumber", "StationName",
)
_DATES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "InstanceCreationDate")
_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")


def date_shift(surgery_date: dt.date) -> dt.timedelta:
    """The offset that moves ``surgery_date`` to 2000-01-01 (add it to every date of the patient)."""
    return DEID_ANCHOR_DATE - surgery_date


def shift_date(d: dt.date, surgery_date: dt.date) -> dt.date:
    return d + date_shift(surgery_date)


def pseudo_uid(key: str, uid: str) -> str:
    """A new DICOM UID derived from (key, uid): stable, and not reversible without both."""
    return str(generate_uid(entropy_srcs=[key, uid]))


def pseudo_id(key: str, value: str, n: int = 16) -> str:
    """A short stable hash of ``value`` salted with ``key`` (for film ids in CSV exports)."""
    return hashlib.sha256(f"{key}|{value}".encode()).hexdigest()[:n]


def deidentify_dataset(ds: Dataset, key: str, surgery_date: dt.date) -> Dataset:
    """A de-identified copy of ``ds`` (the rules in the module notes); pixel data untouched.

    Burned-in text in the pixels is not detected: films with burned-in annotations need a pixel check upstream.
    """
    out = copy.deepcopy(ds)
    out.PatientName = f"{key}^"  # one-component person name
    out.PatientID = key
    for kw in _REMOVE:
        if kw in out:
            delattr(out, kw)
    out.AccessionNumber = ""
    out.StudyID = ""  # type 2; sites often put the RIS or accession number here
    out.PatientBirthDate = ""  # type 2: present and empty
    age = str(out.get("PatientAge") or "")
    if len(age) == 4 and age[:3].isdigit() and age[3] == "Y" and int(age[:3]) > 89:
        out.PatientAge = "090Y"  # ages over 89 are aggregated (HIPAA Safe Harbor)
    for kw in _DATES:
        value = out.get(kw)
        if value:
            d = dt.datetime.strptime(str(value)[:8], "%Y%m%d").date()
            setattr(out, kw, shift_date(d, surgery_date).strftime("%Y%m%d"))
    for kw in _UIDS:
        if kw in out:
            setattr(out, kw, pseudo_uid(key, str(out.get(kw))))
    if hasattr(out, "file_meta") and "MediaStorageSOPInstanceUID" in out.file_meta and "SOPInstanceUID" in out:
        out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = "fusionwatch: ids removed; dates shifted; UIDs replaced"
    return out
