"""Tests for export/dicom_sr.py: TID 1500 SR and secondary capture, read back with pydicom/highdicom."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from _synth import write_dicom
from fusionwatch.export.dicom_sr import build_measurement_sr, build_secondary_capture, write_measurement_sr
from fusionwatch.measurement import Measurement
from fusionwatch.measurement import MeasureName as M
from fusionwatch.units import SpacingSource, Unit

SURGERY = dt.date(2026, 1, 1)
MEAS = [
    Measurement(M.SACRAL_SLOPE, 38.2, Unit.DEG, "endplate-corners/1"),
    Measurement(M.DISC_HEIGHT_MEAN_L5_S1, 9.1, Unit.MM, "two-point/1", spacing_source=SpacingSource.PATIENT_PLANE,
                uncertainty=0.6),
    Measurement(M.SLIP_PERCENT_L5_S1, 12.0, Unit.PERCENT, "slip/1"),
    Measurement(M.DISC_HEIGHT_INDEX_L5_S1, 0.27, Unit.RATIO, "dhi/1"),
    Measurement(M.DISC_HEIGHT_ANTERIOR_L4_L5, 55.0, Unit.PX, "two-point/1"),
    Measurement.missing(M.LUMBAR_LORDOSIS, Unit.DEG, "cobb/1", "missing L1"),
]


@pytest.fixture
def film(tmp_path: Path) -> pydicom.Dataset:
    p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705",
                    extra={"PatientName": "Doe^Jane", "PatientID": "MRN-1", "PatientBirthDate": "19610304"})
    return pydicom.dcmread(p)


def _read_measurements(path: Path) -> dict[str, tuple[float, str]]:
    sr = hd.sr.srread(path)
    report = hd.sr.MeasurementReport.from_sequence([sr])
    (group,) = report.get_image_measurement_groups()
    return {m.name.value: (m.value, m.unit.value) for m in group.get_measurements()}


def test_round_trip_values_and_ucum_units(film: pydicom.Dataset, tmp_path: Path) -> None:
    path = write_measurement_sr(tmp_path / "sr.dcm", film, MEAS, patient_key="K1")
    got = _read_measurements(path)
    assert got == {
        "sacral_slope": (pytest.approx(38.2), "deg"),
        "disc_height_mean_L5_S1": (pytest.approx(9.1), "mm"),
        "slip_percent_L5_S1": (pytest.approx(12.0), "%"),
        "disc_height_index_L5_S1": (pytest.approx(0.27), "1"),
    }  # px value and the missing value are left out
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.PatientName == "Doe^Jane" and ds.StudyInstanceUID == film.StudyInstanceUID
    ref = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == film.SOPInstanceUID


def test_deidentified(film: pydicom.Dataset, tmp_path: Path) -> None:
    path = write_measurement_sr(tmp_path / "sr.dcm", film, MEAS, patient_key="K1", surgery_date=SURGERY,
                                deidentify=True)
    ds = pydicom.dcmread(path)
    assert str(ds.PatientName) == "K1^" and ds.PatientID == "K1" and not ds.PatientBirthDate
    assert ds.StudyInstanceUID != film.StudyInstanceUID
    assert ds.StudyDate == "20000704"  # 2026-07-05 is day 185 after surgery; 2000-01-01 + 185 days = 2000-07-04
    assert film.PatientName == "Doe^Jane"  # source untouched


def test_nothing_to_export_raises(film: pydicom.Dataset) -> None:
    with pytest.raises(ValueError, match="No measurement"):
        build_measurement_sr(film, MEAS[4:], patient_key="K1")


def test_secondary_capture(film: pydicom.Dataset, tmp_path: Path) -> None:
    rgb = np.zeros((40, 30, 3), np.uint8)
    rgb[5:10, 5:10] = (255, 0, 0)
    sc = build_secondary_capture(film, rgb, patient_key="K1", surgery_date=SURGERY, deidentify=True)
    sc.save_as(tmp_path / "sc.dcm")
    back = pydicom.dcmread(tmp_path / "sc.dcm")
    assert back.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
    assert back.pixel_array.shape == (40, 30, 3) and tuple(back.pixel_array[6, 6]) == (255, 0, 0)
    sr = build_measurement_sr(film, MEAS, patient_key="K1", surgery_date=SURGERY, deidentify=True)
    assert back.StudyInstanceUID == sr.StudyInstanceUID  # same pseudonymous study
    assert str(back.PatientName) == "K1^"


def test_deidentified_objects_carry_no_real_date(film: pydicom.Dataset, tmp_path: Path) -> None:
    """Content / instance-creation / capture / contribution dates stamped at export are shifted too (they were the
    real export date beside a shifted study date)."""
    rgb = np.zeros((40, 30, 3), np.uint8)
    real = dt.date.today().strftime("%Y%m%d")
    shifted = (dt.date(2000, 1, 1) + (dt.date.today() - SURGERY)).strftime("%Y%m%d")
    for obj in (build_measurement_sr(film, MEAS, patient_key="K1", surgery_date=SURGERY, deidentify=True),
                build_secondary_capture(film, rgb, patient_key="K1", surgery_date=SURGERY, deidentify=True)):
        obj.save_as(tmp_path / "x.dcm")
        text = str(pydicom.dcmread(tmp_path / "x.dcm"))
        assert real not in text and "20260705" not in text
        assert shifted in text and "20000704" in text  # creation date and study date, both shifted


def test_deidentified_objects_carry_no_study_id(tmp_path: Path) -> None:
    """The film's (0020,0010) *Study ID* (often the RIS or accession number) is emptied like the accession number:
    highdicom copies it into the SR and the secondary capture, and a de-identified export kept it verbatim."""
    p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705",
                    extra={"PatientID": "MRN-1", "AccessionNumber": "ACC778899", "StudyID": "RIS445566"})
    film = pydicom.dcmread(p)
    rgb = np.zeros((40, 30, 3), np.uint8)
    for obj in (build_measurement_sr(film, MEAS, patient_key="K1", surgery_date=SURGERY, deidentify=True),
                build_secondary_capture(film, rgb, patient_key="K1", surgery_date=SURGERY, deidentify=True)):
        obj.save_as(tmp_path / "x.dcm")
        back = pydicom.dcmread(tmp_path / "x.dcm")
        text = str(back)
        assert "RIS445566" not in text and "ACC778899" not in text and "MRN-1" not in text
        assert back.StudyID == ""  # type 2 in the General Study module: present and empty


@pytest.mark.parametrize(("age", "expected"), [("094Y", "090Y"), ("090Y", "090Y"), ("050Y", "050Y"), ("089Y", "089Y")])
def test_deidentified_age_over_89_is_capped(tmp_path: Path, age: str, expected: str) -> None:
    """(0010,1010) *Patient's Age* above 89 years is written as 090Y (HIPAA Safe Harbor aggregates ages over 89: an age
    of 94 with shifted dates narrows the patient down); younger ages are kept."""
    p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705", extra={"PatientAge": age})
    sr = build_measurement_sr(pydicom.dcmread(p), MEAS, patient_key="K1", surgery_date=SURGERY, deidentify=True)
    assert sr.PatientAge == expected


def test_dates_of_today_are_shifted_by_the_one_deid_rule() -> None:
    """highdicom's creation dates (today's real date) are shifted by deid's DA/DT rule, for a given today; other
    dates and the times are left as they are. The method record says the times are kept."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    from fusionwatch.export.deid import DEID_METHOD
    from fusionwatch.export.dicom_sr import _shift_dates_of_today

    ds = Dataset()
    ds.ContentDate, ds.ContentTime, ds.StudyDate = "20260705", "101500", "20000704"
    item = Dataset()
    item.ObservationDateTime = "20260705101500.000000+0100"
    ds.ContentSequence = Sequence([item])
    _shift_dates_of_today(ds, SURGERY, today=dt.date(2026, 7, 5))  # day 185 after surgery -> 2000-07-04
    assert ds.ContentDate == "20000704" and ds.ContentTime == "101500" and ds.StudyDate == "20000704"
    assert item.ObservationDateTime == "20000704101500.000000+0100"
    assert "times kept" in DEID_METHOD[1] and all(len(v) <= 64 for v in DEID_METHOD)
