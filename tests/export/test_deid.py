"""Tests for export/deid.py: DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile on a DX film."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes

from _synth import write_dicom
from fusionwatch.export.deid import DEID_KEEP, DEID_METHOD, deidentify_dataset
from fusionwatch.export.dicom_sr import build_measurement_sr, build_secondary_capture
from fusionwatch.io.dicom_dx import DxFilm, write_dx
from fusionwatch.measurement import Measurement
from fusionwatch.measurement import MeasureName as M
from fusionwatch.units import Unit

SURGERY = dt.date(2026, 1, 1)
KEY = "FW-0123456789abcdef"
MEAS = [Measurement(M.SACRAL_SLOPE, 38.2, Unit.DEG, "endplate-corners/1")]

# Identifying free text a real modality or RIS writes into a DX film (each value unique, so a leak is found by name)
LEAKS = {
    "PatientName": "Roe^Rick", "PatientID": "MRN0012345", "OtherPatientIDs": "NHS-998877",
    "PatientAddress": "12 Elm Street", "AccessionNumber": "ACC778899", "StudyID": "RIS445566",
    "StudyDescription": "L-SPINE FLEX/EXT Dr Smith post fusion", "SeriesDescription": "LAT FLEX Roe",
    "ProtocolName": "LSPINE LAT bed 4 ward 7", "ImageComments": "pt Rick Roe, MRN0012345, fell on ward",
    "OperatorsName": "Tech^Tina", "PerformingPhysicianName": "Doc^Dan", "ReferringPhysicianName": "Ref^Rita",
    "NameOfPhysiciansReadingStudy": "Read^Ray", "InstitutionName": "St Elsewhere Hospital",
    "InstitutionAddress": "1 Hospital Road, Springfield", "InstitutionalDepartmentName": "Radiology East",
    "StationName": "XR-ROOM-3", "DeviceSerialNumber": "SN-55501", "DetectorID": "DET-4242",
    "AcquisitionDeviceProcessingDescription": "LSPINE LAT Roe", "PerformedProcedureStepDescription": "Roe lumbar",
    "RequestedProcedureDescription": "query pseudarthrosis Roe", "AdditionalPatientHistory": "diabetic, smoker",
    "PatientComments": "daughter is Nurse Roe", "DerivationDescription": "crop by Tech Tina",
}
NESTED = {"RequestedProcedureID": "RP-31337", "ScheduledProcedureStepID": "SPS-8080",
          "ReasonForTheRequestedProcedure": "back pain after fall at home", "RequestingPhysician": "Req^Rob"}
PRIVATE = "SIEMENS-LIKE PRIVATE NOTE Roe"


@pytest.fixture
def film(tmp_path: Path) -> Dataset:
    """A DX film as a modality sends it: identifiers, free text, a request, private tags, an overlay, references."""
    extra: dict[str, object] = dict(LEAKS)
    extra.update(PatientBirthDate="19580203", PatientSex="M", PatientAge="068Y", PatientWeight="81",
                 AcquisitionDateTime="20260705101500.000000", InstanceCreationDate="20260705",
                 DateOfLastCalibration="20260601")
    path = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705", view_position="LL",
                       extra=extra)
    ds = pydicom.dcmread(path)
    request = Dataset()
    for kw, value in NESTED.items():
        setattr(request, kw, value)
    ds.RequestAttributesSequence = Sequence([request])
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    ref.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.111222333"
    ref.ReferencedFrameNumber = "1"
    ds.ReferencedImageSequence = Sequence([ref])
    block = ds.private_block(0x0029, "SIEMENS-LIKE", create=True)
    block.add_new(0x10, "LO", PRIVATE)
    ds.add_new(0x60000022, "LO", "overlay: Roe")  # (6000,0022) Overlay Description
    return ds


def _strings(ds: Dataset) -> str:
    """Every value in ``ds`` as text, nested sequences and file meta included."""
    out = []
    for elem in ds.iterall():
        if elem.VR != "SQ":
            out.append(str(elem.value))
    if hasattr(ds, "file_meta"):
        out += [str(e.value) for e in ds.file_meta]
    return "\n".join(out)


class TestDeidentifyDataset:
    """Tests for deidentify_dataset()."""

    def test_removes_every_identifying_value(self, film: Dataset) -> None:
        """No name, id, free text, request, institution, operator, device or private value is left anywhere."""
        text = _strings(deidentify_dataset(film, KEY, SURGERY))
        for value in [*LEAKS.values(), *NESTED.values(), PRIVATE, "overlay: Roe", "1.2.826.0.1.3680043.8.498.111222333",
                      str(film.StudyInstanceUID), str(film.SeriesInstanceUID), str(film.SOPInstanceUID), "Roe",
                      "19580203", "20260705", "20260601"]:
            assert value not in text, value

    def test_records_the_profile_and_its_options(self, film: Dataset) -> None:
        """(0012,0062) YES, (0012,0063) the method, (0012,0064) the PS3.16 CID 7050 codes, (0028,0303) MODIFIED."""
        out = deidentify_dataset(film, KEY, SURGERY)
        assert out.PatientIdentityRemoved == "YES"
        assert list(out.DeidentificationMethod) == list(DEID_METHOD) and all(len(v) <= 64 for v in DEID_METHOD)
        got = [(i.CodeValue, i.CodingSchemeDesignator, i.CodeMeaning) for i in out.DeidentificationMethodCodeSequence]
        expected = [codes.DCM.BasicApplicationConfidentialityProfile,
                    codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption,
                    codes.DCM.RetainPatientCharacteristicsOption]
        assert got == [(c.value, c.scheme_designator, c.meaning) for c in expected]
        assert [v for v, _, _ in got] == ["113100", "113107", "113108"]  # PS3.16 CID 7050
        assert out.LongitudinalTemporalInformationModified == "MODIFIED"

    def test_keeps_what_research_needs(self, film: Dataset) -> None:
        """Pseudonym, shifted dates (nested and date-times too), patient characteristics, view and calibration."""
        out = deidentify_dataset(film, KEY, SURGERY)
        assert str(out.PatientName) == f"{KEY}^" and out.PatientID == KEY
        assert out.StudyDate == "20000704"  # 2026-07-05 is day 185 after 2026-01-01; 2000-01-01 + 185 days
        assert out.AcquisitionDateTime == "20000704101500.000000"
        assert "DateOfLastCalibration" not in out  # not on the keep-list: dropped
        assert out.PatientSex == "M" and out.PatientAge == "068Y" and out.PatientWeight == 81
        assert out.PatientBirthDate == "" and out.AccessionNumber == "" and out.StudyID == ""  # type 2: empty
        assert out.ViewPosition == "LL" and list(out.PixelSpacing) == [0.2, 0.2]
        assert "ReferencedImageSequence" not in out  # no sequence is on the keep-list
        assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != film.SOPInstanceUID
        assert not [e for e in out.iterall() if e.tag.is_private or (e.tag.group & 0xFF00) == 0x6000]
        assert "RequestAttributesSequence" not in out and str(film.PatientName) == "Roe^Rick"  # source untouched

    def test_uids_are_stable_per_pseudonym(self, film: Dataset) -> None:
        a, b = deidentify_dataset(film, KEY, SURGERY), deidentify_dataset(film, KEY, SURGERY)
        assert a.SOPInstanceUID == b.SOPInstanceUID and a.StudyInstanceUID == b.StudyInstanceUID
        assert deidentify_dataset(film, "FW-other", SURGERY).SOPInstanceUID != a.SOPInstanceUID

    def test_sr_and_secondary_capture_carry_none_of_it(self, film: Dataset, tmp_path: Path) -> None:
        """The de-identified exports built from the film (SR TID 1500, annotated secondary capture), as written."""
        rgb = np.zeros((40, 30, 3), np.uint8)
        for name, obj in (("sr", build_measurement_sr(film, MEAS, patient_key=KEY, surgery_date=SURGERY,
                                                      deidentify=True)),
                          ("sc", build_secondary_capture(film, rgb, patient_key=KEY, surgery_date=SURGERY,
                                                         deidentify=True))):
            obj.save_as(tmp_path / f"{name}.dcm", enforce_file_format=True)
            raw = (tmp_path / f"{name}.dcm").read_bytes()
            for value in [*LEAKS.values(), *NESTED.values(), PRIVATE, "Roe"]:
                assert value.encode() not in raw, (name, value)
            back = pydicom.dcmread(tmp_path / f"{name}.dcm")
            assert back.PatientIdentityRemoved == "YES" and back.DeidentificationMethodCodeSequence[0].CodeValue == \
                "113100", name

    def test_keeps_only_the_allow_list(self, tmp_path: Path) -> None:
        """A simulated DX film keeps what research needs (the allow-list) and nothing else."""
        film = DxFilm(view="lateral", imager_pixel_spacing_mm=0.15, magnification=1.15, sid_mm=1800, sod_mm=1565,
                      patient_id="MRN0012345", patient_name="Roe^Rick", birth_date=dt.date(1958, 2, 3), sex="M",
                      study_date=dt.date(2026, 7, 5), study_uid="1.2.3.4", series_uid="1.2.3.4.5",
                      sop_uid="1.2.3.4.5.6", accession="ACC778899")
        ds = pydicom.dcmread(write_dx(tmp_path / "dx.dcm", np.zeros((8, 8), np.uint16), film))
        record = {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyID",
                  "ReferringPhysicianName", "PatientIdentityRemoved", "DeidentificationMethod",
                  "DeidentificationMethodCodeSequence", "LongitudinalTemporalInformationModified"}
        deid = deidentify_dataset(ds, KEY, SURGERY)
        assert {e.keyword for e in deid} <= set(DEID_KEEP) | record
        for kw in ("ImagerPixelSpacing", "EstimatedRadiographicMagnificationFactor", "ViewPosition", "PixelData",
                   "StudyDate", "PatientSex"):
            assert kw in deid, kw
        out = _strings(deidentify_dataset(ds, KEY, SURGERY))
        for value in ("MRN0012345", "Roe", "ACC778899", "LUMBAR SPINE", "Simulated", "LATERAL", "19580203"):
            assert value not in out, value
