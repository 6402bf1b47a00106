"""De-identified exports carry a keyed pseudonym, never the patient key (a site may use MRNs as keys)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from _synth import write_dicom
from fusionwatch.cli import app
from fusionwatch.io.loading import read_radiograph
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.pseudonym import SECRET_ENV
from fusionwatch.records import Patient, Surgery
from fusionwatch.store import Store
from fusionwatch.units import SpacingSource, Unit

KEY = "MRN0012345"  # the site's patient key is its medical record number
SURGERY = dt.date(2026, 1, 10)
TODAY = "2026-07-20"
POINTS = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
          "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store(url)
    store.add_patient(Patient(KEY, patient_id=KEY, name="Roe^Rick", birth_date=dt.date(1958, 2, 3), sex="M"))
    store.set_surgery(KEY, Surgery(SURGERY))
    rng = np.random.default_rng(0)
    for i, (day, mm) in enumerate([(42, 11.0), (185, 8.6)]):
        d = SURGERY + dt.timedelta(days=day)
        path = write_dicom(tmp_path / f"f{i}.dcm", (rng.random((300, 240)) * 3000).astype(np.uint16),
                           spacing=(0.2, 0.2), study_date=d.strftime("%Y%m%d"), view_position="LL",
                           extra={"PatientName": "Roe^Rick", "PatientID": KEY, "OtherPatientIDs": KEY})
        meas = [Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, mm, Unit.MM, "test/1",
                            spacing_source=SpacingSource.PATIENT_PLANE)]
        store.add_film(KEY, read_radiograph(path), film_id=str(pydicom.dcmread(path).SOPInstanceUID),
                       file_path=str(path), file_sha256=f"{i:064d}", visit_date=d,
                       landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"), measurements=meas)
    store.close()
    return url


def _run(*args: str) -> None:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output


def _patients(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as fh:
        return {row["patient"] for row in csv.DictReader(fh)}


def _assert_no_key(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert KEY not in str(p.relative_to(folder)), p
        assert KEY.encode() not in p.read_bytes(), p  # DICOM, Parquet, HTML, FHIR, CSV, ICS, outputs.json...


def test_deidentified_exports_carry_a_stable_pseudonym_not_the_key(db: str, tmp_path: Path) -> None:
    rep, rep2, cohort = tmp_path / "rep", tmp_path / "rep2", tmp_path / "cohort"
    _run("report", KEY, "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db)  # with the PDFs
    _run("report", KEY, "--out", str(rep2), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    _run("export", "cohort", "--out", str(cohort), "--today", TODAY, "--db", db)
    for folder in (rep, rep2, cohort):
        _assert_no_key(folder)
    sr = pydicom.dcmread(rep / "6-months-deidentified-measurements.sr.dcm")
    sc = pydicom.dcmread(rep / "6-months-deidentified-annotated.sc.dcm")
    alias = str(sr.PatientID)
    assert alias.startswith("FW-") and sc.PatientID == alias and str(sc.PatientName).startswith(alias)
    # one patient, one pseudonym, in every export and every run: a coordinator can link the films
    assert _patients(rep / "6-months-deidentified-measurements.csv") == {alias}
    assert _patients(rep2 / "6-months-deidentified-visits.csv") == {alias}
    assert _patients(cohort / "cohort-measurements-deidentified.csv") == {alias}
    assert _patients(cohort / "cohort-visits-deidentified.csv") == {alias}
    assert Path(db.removeprefix("sqlite:///") + ".deid-secret").is_file()  # the site secret, beside the database


def test_the_pseudonym_depends_on_the_site_secret(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the secret, hashing a guessed MRN does not give the pseudonym: another secret, another pseudonym."""
    _run("export", "cohort", "--out", str(tmp_path / "a"), "--db", db)
    monkeypatch.setenv(SECRET_ENV, "another site")
    _run("export", "cohort", "--out", str(tmp_path / "b"), "--db", db)
    a = _patients(tmp_path / "a" / "cohort-measurements-deidentified.csv")
    b = _patients(tmp_path / "b" / "cohort-measurements-deidentified.csv")
    assert a.isdisjoint(b) and len(a) == len(b) == 1


def test_a_database_without_a_secret_file_needs_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from fusionwatch.errors import InputError
    from fusionwatch.pseudonym import site_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(InputError, match=SECRET_ENV):
        site_secret("postgresql+psycopg://u@h/db")
    monkeypatch.setenv(SECRET_ENV, "s")
    assert site_secret("postgresql+psycopg://u@h/db") == b"s"
