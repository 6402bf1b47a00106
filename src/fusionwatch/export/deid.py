"""De-identification shared by every export: one rule for names, ids, dates and UIDs.

- The ``key`` given here must already be the research pseudonym (:mod:`fusionwatch.pseudonym`, a keyed hash of the
  patient key with the site secret), never the patient key itself: it becomes Patient's Name and Patient ID and seeds
  the new UIDs.
- DICOM (:func:`deidentify_dataset`): DICOM PS3.15 Annex E, the Basic Application Level Confidentiality Profile
  (Table E.1-1, "Basic Prof." column) with two of its options, recorded in (0012,0064) *De-identification Method Code
  Sequence*: Retain Longitudinal Temporal Information with Modified Dates (DCM 113107: every date shifted, see below;
  times kept) and Retain Patient Characteristics (DCM 113108: sex, age, size and weight kept; an age over 89 years
  becomes 090Y, as HIPAA Safe Harbor aggregates them). :data:`PS315_ACTIONS` lists, with its action code, every
  attribute of that table a projection radiograph (DX, CR, secondary capture: from our simulator or a modality) is
  known to carry: X removed, Z emptied (or the pseudonym for the patient's name and id), D a dummy value, U a UID
  derived from (key, UID). Free text is removed, not cleaned: descriptions ((0008,1030) *Study Description*,
  (0008,103E) *Series Description*, (0018,1030) *Protocol Name*), (0020,4000) *Image Comments*, the request
  ((0040,0275) *Request Attributes Sequence*), operators, physicians, institution, station and device identity. Every
  private attribute is removed, so are overlays (60xx) and curves (50xx); any person name left in a nested sequence is
  removed too. Attributes outside the table (pixel data, geometry, calibration, view) are kept, as the profile does.
- Dates: shifted, never dropped, by one offset per patient so that the surgery falls on :data:`DEID_ANCHOR_DATE`
  (2000-01-01); days since surgery and intervals are unchanged. Times are kept (they carry no identity on their own).
  In a DICOM dataset every date (DA) and date-time (DT) left after the table is shifted, nested ones included.
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

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from fusionwatch.pseudonym import uid_seed
from fusionwatch.report.model import DEID_ANCHOR_DATE

__all__ = ["DEID_ANCHOR_DATE", "DEID_METHOD", "PS315_ACTIONS", "date_shift", "shift_date", "pseudo_uid", "pseudo_id",
           "deidentify_dataset", "mark_deidentified"]

# DICOM PS3.15 Table E.1-1, "Basic Prof." column, with the code applied here (a compound code such as X/Z/D is
# applied as its first letter: the attribute is type 3 in DX, CR and SC images). Retain Patient Characteristics
# (113108) turns PatientSex (Z), PatientAge, PatientSize and PatientWeight (X) into K; Retain Longitudinal Temporal
# Information with Modified Dates (113107) turns every date into C (shifted) and keeps the times.
PS315_ACTIONS: dict[str, str] = {
    # patient
    "PatientName": "Z",  # replaced by the pseudonym (a dummy value is allowed for Z)
    "PatientID": "Z",  # replaced by the pseudonym
    "IssuerOfPatientID": "X",
    "PatientBirthDate": "Z",
    "PatientBirthTime": "X",
    "PatientBirthName": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "PatientAddress": "X",
    "PatientTelephoneNumbers": "X",
    "PatientTelecomInformation": "X",
    "PatientMotherBirthName": "X",
    "MedicalRecordLocator": "X",
    "MilitaryRank": "X",
    "BranchOfService": "X",
    "CountryOfResidence": "X",
    "RegionOfResidence": "X",
    "EthnicGroup": "X",
    "Occupation": "X",
    "PatientReligiousPreference": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "AdditionalPatientHistory": "X",
    "MedicalAlerts": "X",
    "Allergies": "X",
    "SmokingStatus": "X",
    "PregnancyStatus": "X",
    "PatientState": "X",
    "PatientComments": "X",
    "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X",
    "ReferencedPatientSequence": "X",
    "AdmissionID": "X",
    "CurrentPatientLocation": "X",
    "ServiceEpisodeDescription": "X",
    "VisitComments": "X",
    # study and request
    "AccessionNumber": "Z",
    "IssuerOfAccessionNumberSequence": "X",
    "StudyID": "Z",
    "StudyDescription": "X",
    "StudyComments": "X",
    "ProcedureCodeSequence": "X",
    "ReferencedStudySequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X",
    "RequestAttributesSequence": "X",
    "RequestedProcedureDescription": "X",
    "RequestedProcedureID": "X",
    "ReasonForStudy": "X",
    "AdmittingDiagnosesDescription": "X",
    "ScheduledProcedureStepDescription": "X",
    "ScheduledPerformingPhysicianName": "X",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepStartDate": "X",
    "PerformedProcedureStepStartTime": "X",
    "PerformedProcedureStepEndDate": "X",
    "PerformedProcedureStepEndTime": "X",
    "CommentsOnThePerformedProcedureStep": "X",
    "PerformedLocation": "X",
    "PerformedStationName": "X",
    "PerformedStationAETitle": "X",
    # people
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "ConsultingPhysicianName": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "RequestingPhysician": "X",
    "OperatorsName": "X",
    "OperatorIdentificationSequence": "X",
    "ContentCreatorName": "Z",
    # institution, station, device
    "InstitutionName": "X",
    "InstitutionAddress": "X",
    "InstitutionCodeSequence": "X",
    "InstitutionalDepartmentName": "X",
    "StationName": "X",
    "DeviceSerialNumber": "X",
    "DetectorID": "X",
    "PlateID": "X",
    "CassetteID": "X",
    "GantryID": "X",
    "DeviceUID": "U",
    # series and image free text
    "SeriesDescription": "X",
    "ProtocolName": "X",
    "ImageComments": "X",
    "FrameComments": "X",
    "AcquisitionComments": "X",
    "DerivationDescription": "X",
    "AcquisitionDeviceProcessingDescription": "X",
    "GraphicAnnotationSequence": "X",
    "TextValue": "X",
    "TimezoneOffsetFromUTC": "X",
    "StorageMediaFileSetID": "X",
    "OriginalAttributesSequence": "X",
    "ModifiedAttributesSequence": "X",
    "DigitalSignaturesSequence": "X",
    # UIDs (anywhere in the dataset, nested references included)
    "StudyInstanceUID": "U",
    "SeriesInstanceUID": "U",
    "SOPInstanceUID": "U",
    "FrameOfReferenceUID": "U",
    "ReferencedSOPInstanceUID": "U",
    "ReferencedFrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U",
    "IrradiationEventUID": "U",
    "InstanceCreatorUID": "U",
    "StorageMediaFileSetUID": "U",
    "ConcatenationUID": "U",
    "UID": "U",
    # kept by Retain Patient Characteristics (113108); an age over 89 becomes 090Y
    "PatientSex": "K",
    "PatientAge": "K",
    "PatientSize": "K",
    "PatientWeight": "K",
}

DEID_METHOD = (
    "DICOM PS3.15 E.1-1 Basic Profile (fusionwatch deid/2)",
    "Retain Longitudinal Modified Dates: surgery = 2000-01-01",
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
    stable within one run only).

    Burned-in text in the pixels is not detected: films with burned-in annotations need a pixel check upstream.
    """
    out = copy.deepcopy(ds)
    out.remove_private_tags()  # PS3.15 E.3.10: private attributes removed (no Retain Safe Private option)
    for tag in [t for t in out.keys() if (t.group & 0xFF00) in (0x5000, 0x6000)]:  # curves, overlays
        del out[tag]
    shift = date_shift(surgery_date)
    seed = uid_key if uid_key is not None else uid_seed(key, None)

    def scrub(d: Dataset, top: bool) -> None:
        for elem in list(d):
            action = PS315_ACTIONS.get(elem.keyword)
            if action == "X" or (elem.VR == "PN" and not top and action is None):
                del d[elem.tag]  # a nested person name the table does not name is removed too
            elif action == "Z":
                elem.value = "" if elem.VR != "SQ" else Sequence()
            elif action == "U" and elem.value:
                elem.value = [pseudo_uid(seed, str(u)) for u in elem.value] if elem.VM > 1 else pseudo_uid(seed, str(
                    elem.value))
            elif elem.VR == "SQ":
                for item in elem.value:
                    scrub(item, False)
            elif elem.VR in ("DA", "DT") and elem.value:
                elem.value = [_shifted(v, shift) for v in elem.value] if elem.VM > 1 else _shifted(elem.value, shift)

    scrub(out, True)
    out.PatientName = f"{key}^"  # one-component person name
    out.PatientID = key
    age = str(out.get("PatientAge") or "")
    if len(age) == 4 and age[:3].isdigit() and age[3] == "Y" and int(age[:3]) > 89:
        out.PatientAge = "090Y"  # ages over 89 are aggregated (HIPAA Safe Harbor)
    if hasattr(out, "file_meta") and "MediaStorageSOPInstanceUID" in out.file_meta and "SOPInstanceUID" in out:
        out.file_meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    mark_deidentified(out)
    return out


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


def _shifted(value: object, shift: dt.timedelta) -> str:
    """A DA or DT value moved by ``shift`` days (the rest of a date-time - time, fraction, offset - kept)."""
    if isinstance(value, dt.datetime):
        value = value.strftime("%Y%m%d%H%M%S.%f")
    elif isinstance(value, dt.date):
        value = value.strftime("%Y%m%d")
    text = str(value)
    try:
        day = dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return ""  # not a full date (a bare year, or invalid): it cannot be shifted, so it is emptied
    return (day + shift).strftime("%Y%m%d") + text[8:]
