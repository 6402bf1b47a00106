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
    assert back.BurnedInAnnotation == "NO"  # the drawing holds labels and values only (report.overlay), no identifier


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


@pytest.mark.parametrize(("born", "expected"), [(dt.date(1932, 7, 5), "090Y"), (dt.date(1936, 7, 5), "090Y"),
                                               (dt.date(1976, 7, 6), "049Y"), (dt.date(1937, 7, 5), "089Y")])
def test_deidentified_age_over_89_is_capped(tmp_path: Path, born: dt.date, expected: str) -> None:
    """(0010,1010) *Patient's Age* (counted from the stored birth date to the film's day) above 89 years is written as
    090Y (HIPAA Safe Harbor aggregates ages over 89: an age of 94 with shifted dates narrows the patient down); younger
    ages are kept. The header's age (050Y here) is never what is written."""
    p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705", extra={"PatientAge": "050Y"})
    film = pydicom.dcmread(p)
    rgb = np.zeros((8, 8, 3), np.uint8)
    for obj in (build_measurement_sr(film, MEAS, patient_key="K1", surgery_date=SURGERY, deidentify=True,
                                     birth_date=born),
                build_secondary_capture(film, rgb, patient_key="K1", surgery_date=SURGERY, deidentify=True,
                                        birth_date=born)):
        assert obj.PatientAge == expected and obj.PatientBirthDate == ""


HEADER = {"PatientName": "Doe^Jane", "PatientID": "MRN-1", "PatientBirthDate": "19580203", "PatientAge": "068Y"}


@pytest.mark.parametrize("deidentify", [False, True])
def test_birth_date_and_age_come_from_the_stored_birth_date_not_the_header(tmp_path: Path, deidentify: bool) -> None:
    """After a birth-date correction the export carries the patient record's date, not the film header's (1958-02-03,
    068Y): identified, Patient's Birth Date 19600222 and the age from it on the film's day (2026-07-05: 066Y);
    de-identified, no birth date and the same age (under 90: not capped). ``age_on`` (the stored film date) wins
    over the header's Study Date."""
    p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705", extra=dict(HEADER))
    film = pydicom.dcmread(p)
    rgb = np.zeros((8, 8, 3), np.uint8)
    kw = {"patient_key": "K1", "surgery_date": SURGERY, "deidentify": deidentify, "birth_date": dt.date(1960, 2, 22)}
    sr = build_measurement_sr(film, MEAS, **kw)
    sc = build_secondary_capture(film, rgb, **kw)
    for obj in (sr, sc):
        obj.save_as(tmp_path / "x.dcm", enforce_file_format=True)
        back = pydicom.dcmread(tmp_path / "x.dcm")
        assert back.PatientBirthDate == ("" if deidentify else "19600222")
        assert back.PatientAge == "066Y"
        assert "19580203" not in str(back) and "068Y" not in str(back)
    later = build_measurement_sr(film, MEAS, **kw, age_on=dt.date(2027, 3, 1))
    assert later.PatientAge == "067Y"


@pytest.mark.parametrize("deidentify", [False, True])
def test_no_stored_birth_date_no_age_and_no_header_birth_date(tmp_path: Path, deidentify: bool) -> None:
    """Without a stored birth date the header's birth date and age are not carried over (they may be the ones a
    correction replaced or the store refused): the birth date is empty (type 2) and there is no age."""
    p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), study_date="20260705", extra=dict(HEADER))
    film = pydicom.dcmread(p)
    rgb = np.zeros((8, 8, 3), np.uint8)
    for obj in (build_measurement_sr(film, MEAS, patient_key="K1", surgery_date=SURGERY, deidentify=deidentify),
                build_secondary_capture(film, rgb, patient_key="K1", surgery_date=SURGERY, deidentify=deidentify)):
        assert obj.PatientBirthDate == "" and "PatientAge" not in obj


@pytest.mark.parametrize(("born", "on", "cap", "expected"), [
    (dt.date(1960, 2, 22), dt.date(2026, 2, 21), False, "065Y"), (dt.date(1960, 2, 22), dt.date(2026, 2, 22), False,
                                                                   "066Y"),
    (dt.date(1920, 1, 1), dt.date(2026, 1, 1), False, "106Y"), (dt.date(1920, 1, 1), dt.date(2026, 1, 1), True, "090Y"),
    (dt.date(2026, 1, 15), dt.date(2026, 7, 14), True, "005M"), (dt.date(2026, 1, 15), dt.date(2026, 1, 1), True, None),
])
def test_dicom_age(born: dt.date, on: dt.date, cap: bool, expected: str | None) -> None:
    from fusionwatch.export.deid import dicom_age

    assert dicom_age(born, on, cap=cap) == expected


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


# Source UIDs that are not DICOM UIDs (PS3.5 9.1): each one rule broken
GARBAGE_UIDS = {
    "too long": "1.2.840.113619." + "9" * 60,
    "a name in it": "ZEBEDEE^QUUX 19610203",
    "leading zero": "1.2.840.0113619.2.5",
    "empty component": "1.2.840..5",
}


def _all_uids(ds: pydicom.Dataset) -> list[tuple[str, str]]:
    """Every UI value of ``ds`` (any depth) and its file meta, as ``(keyword, value)``."""
    out = [(e.keyword, str(e.value)) for e in ds.iterall() if e.VR == "UI"]
    meta = getattr(ds, "file_meta", None)
    return out + ([(e.keyword, str(e.value)) for e in meta if e.VR == "UI"] if meta is not None else [])


class TestGarbageSourceUids:
    """An identified SR / secondary capture of a film whose UIDs are not valid DICOM UIDs."""

    @pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
    @pytest.mark.parametrize("problem", list(GARBAGE_UIDS))
    def test_every_uid_written_is_valid(self, tmp_path: Path, keyword: str, problem: str) -> None:
        """Every UID in the saved SR and SC is valid (they were copied as found); the SR and SC share one study, and
        the SR's evidence references the film by the same replacement UID the caller is told about."""
        from fusionwatch.export._uids import source_uid_replacements, uid_problem

        p = write_dicom(tmp_path / "film.dcm", spacing=(0.2, 0.2), extra={keyword: GARBAGE_UIDS[problem]})
        film = pydicom.dcmread(p)
        (replaced,) = source_uid_replacements(film, "K1")  # scoped to the export's patient, as the exports are
        assert replaced.keyword == keyword and uid_problem(replaced.replacement) is None
        assert GARBAGE_UIDS[problem] not in replaced.problem
        sr_path = write_measurement_sr(tmp_path / "sr.dcm", film, MEAS, patient_key="K1")
        sc = build_secondary_capture(film, np.zeros((8, 8, 3), np.uint8), patient_key="K1")
        sc.save_as(tmp_path / "sc.dcm", enforce_file_format=True)
        for path in (sr_path, tmp_path / "sc.dcm"):
            back = pydicom.dcmread(path)
            bad = [(kw, v) for kw, v in _all_uids(back) if uid_problem(v) is not None]
            assert bad == [], (path.name, bad)
            assert GARBAGE_UIDS[problem] not in str(back)
        sr, sc_back = pydicom.dcmread(sr_path), pydicom.dcmread(tmp_path / "sc.dcm")
        assert sr.StudyInstanceUID == sc_back.StudyInstanceUID
        evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
        ids = {"StudyInstanceUID": evidence.StudyInstanceUID,
               "SeriesInstanceUID": evidence.ReferencedSeriesSequence[0].SeriesInstanceUID,
               "SOPInstanceUID": evidence.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID}
        assert ids[keyword] == replaced.replacement
        assert all(ids[k] == str(film[k].value) for k in ids if k != keyword)  # the valid ones are kept
        assert film[keyword].value == GARBAGE_UIDS[problem]  # the source is not changed

    def test_the_replacement_is_the_same_for_every_export_of_the_film(self, tmp_path: Path) -> None:
        """Two exports of one film land in one (new) study: the replacement depends on the film, not on the run."""
        p = write_dicom(tmp_path / "film.dcm", extra={"StudyInstanceUID": GARBAGE_UIDS["too long"]})
        film = pydicom.dcmread(p)
        first = build_measurement_sr(film, MEAS, patient_key="K1").StudyInstanceUID
        assert build_measurement_sr(film, MEAS, patient_key="K1").StudyInstanceUID == first

    @pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
    def test_two_patients_or_two_films_with_one_invalid_uid_get_different_replacements(
        self, tmp_path: Path, keyword: str
    ) -> None:
        """Reviewer R's F6: the replacement hashed only the attribute and the invalid value, so two patients whose
        modality wrote one malformed Study Instance UID had their identified SR and SC in one study (the same for a
        Series or SOP Instance UID). Now it is scoped to the patient (and, below the study, to the film)."""
        bad = "1.2.826.0.1.3680043.2.1125.01"
        a = pydicom.dcmread(write_dicom(tmp_path / "a.dcm", extra={keyword: bad, "InstanceNumber": 1}))
        b = pydicom.dcmread(write_dicom(tmp_path / "b.dcm", extra={keyword: bad, "InstanceNumber": 2}))
        def evidence_uid(ds: pydicom.Dataset, key: str) -> str:
            ev = build_measurement_sr(ds, MEAS, patient_key=key).CurrentRequestedProcedureEvidenceSequence[0]
            series = ev.ReferencedSeriesSequence[0]
            return str({"StudyInstanceUID": ev.StudyInstanceUID, "SeriesInstanceUID": series.SeriesInstanceUID,
                        "SOPInstanceUID": series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID}[keyword])

        of = {(key, name): evidence_uid(ds, key) for key in ("KA", "KB") for name, ds in (("a", a), ("b", b))}
        assert of[("KA", "a")] != of[("KB", "a")], of  # two patients: never one study, series or instance
        if keyword != "StudyInstanceUID":
            assert of[("KA", "a")] != of[("KA", "b")], of  # two films of one patient
        else:
            assert of[("KA", "a")] == of[("KA", "b")]  # one patient's films stay in one (new) study
        assert evidence_uid(a, "KA") == of[("KA", "a")]  # the same film of the same patient: the same, every time

    def test_an_invalid_sop_class_uid_is_refused(self, tmp_path: Path) -> None:
        """A SOP Class UID cannot be replaced (it says what the film is): both exports refuse, naming the attribute."""
        p = write_dicom(tmp_path / "film.dcm", sop_class_uid="1.2.840.10008.5.1.4.1.1.01")
        film = pydicom.dcmread(p)
        with pytest.raises(ValueError, match=r"\(0008,0016\) SOP Class UID is not a valid DICOM UID \(component 10"):
            build_measurement_sr(film, MEAS, patient_key="K1")
        with pytest.raises(ValueError, match="SOP Class UID"):
            build_secondary_capture(film, np.zeros((8, 8, 3), np.uint8), patient_key="K1", surgery_date=SURGERY,
                                    deidentify=True)

    def test_valid_uids_are_copied_as_they_are(self, film: pydicom.Dataset) -> None:
        """Nothing is replaced on a film with valid UIDs (the SR joins the film's study)."""
        from fusionwatch.export._uids import source_uid_replacements

        assert source_uid_replacements(film) == ()
        assert build_measurement_sr(film, MEAS, patient_key="K1").StudyInstanceUID == film.StudyInstanceUID


@pytest.mark.parametrize(("value", "expected"), [
    ("1.2.840.10008.5.1.4.1.1.88.34", None), ("2.25.0", None), ("1.0.3", None),
    ("", "it is empty"), ("1" + ".1" * 32, "it is 65 characters long (at most 64)"),
    ("1.2.3a", "it holds a character other than a digit or '.' (at position 6)"),
    ("1.2.3 ", "it holds a character other than a digit or '.' (at position 6)"),
    ("12345", "it has one component (a UID has at least two, separated by '.')"),
    ("1.2.", "component 3 is empty (two dots together, or a dot at either end)"),
    (".1.2", "component 1 is empty (two dots together, or a dot at either end)"),
    ("1.2.00", "component 3 has a leading zero"),
])
def test_uid_problem(value: str, expected: str | None) -> None:
    """PS3.5 9.1: digits and dots, no empty component, no leading zero in a component of several digits, <= 64."""
    from fusionwatch.export._uids import uid_problem

    assert uid_problem(value) == expected
