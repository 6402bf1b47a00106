"""Tests for ``fusionwatch export cohort`` (fusionwatch.cli.export)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from _synth import draw_lateral_spine, write_dicom
from fusionwatch.cli import app
from fusionwatch.io import write_landmarks
from fusionwatch.pseudonym import pseudonym

runner = CliRunner()
SURGERY = dt.date(2025, 1, 10)


def _film(folder: Path, name: str, day: int, patient_id: str) -> None:
    pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=day)
    when = (SURGERY + dt.timedelta(days=day)).strftime("%Y%m%d")
    write_dicom(folder / f"{name}.dcm", pixels, spacing=(1.0, 1.0), study_date=when, extra={"PatientID": patient_id})
    write_landmarks(lm, folder / f"{name}.landmarks.json")


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Two patients: K-A (surgery on record, films at 6 weeks and 3 months) and one ingested without a surgery date."""
    url = f"sqlite:///{tmp_path / 'cohort.db'}"
    films = tmp_path / "films"
    films.mkdir()
    _film(films, "a1", 42, "PID-A")
    _film(films, "a2", 91, "PID-A")
    _film(films, "b1", 42, "PID-B")
    r = runner.invoke(app, ["patient", "add", "K-A", "--surgery-date", SURGERY.isoformat(), "--patient-id", "PID-A",
                            "--db", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", str(films), "--db", url, "--no-analyse"])
    assert r.exit_code == 0, r.output
    return url


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_deidentified_cohort_export(tmp_path: Path, db: str) -> None:
    """The default export is de-identified (dates shifted, film ids hashed), writes measurements (CSV = Parquet) and
    visits, and names the patient it left out because it has no surgery date."""
    out = tmp_path / "out"
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--db", db])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    rows = _csv(out / "cohort-measurements-deidentified.csv")
    secret = Path(db.removeprefix("sqlite:///") + ".deid-secret").read_bytes().strip()  # made by the export
    assert {row["patient"] for row in rows} == {pseudonym("K-A", secret)}  # the key's site pseudonym
    assert {row["film_date"] for row in rows} == {"2000-02-12", "2000-04-01"}  # 42 and 91 days after 2000-01-01
    assert all(not row["film"].startswith("1.") for row in rows)  # no SOP Instance UIDs
    assert pq.read_table(out / "cohort-measurements-deidentified.parquet").num_rows == len(rows)
    visits = _csv(out / "cohort-visits-deidentified.csv")
    assert [(v["patient"], v["visit"], v["visit_date"]) for v in visits] == [
        (rows[0]["patient"], "6-weeks", "2000-02-12"), (rows[0]["patient"], "3-months", "2000-04-01")]
    assert "1 patient(s), 2 measured film(s)" in text
    assert "left out 1 patient(s) without a surgery date" in text and "patient list" in text
    assert "PID-" not in text + (out / "cohort-measurements-deidentified.csv").read_text()


def test_identified_export_keeps_dates_and_every_patient(tmp_path: Path, db: str) -> None:
    out = tmp_path / "out"
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--identified", "--db", db])
    assert r.exit_code == 0, r.output
    rows = _csv(out / "cohort-measurements.csv")
    assert len({row["patient"] for row in rows}) == 2
    assert "2025-02-21" in {row["film_date"] for row in rows}


def test_unknown_patient_is_a_user_error(tmp_path: Path, db: str) -> None:
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "o"), "--patient", "NOPE", "--db", db])
    assert r.exit_code == 2 and "Unknown patient key(s): NOPE" in r.output


def test_only_patients_without_surgery_is_a_user_error(tmp_path: Path, db: str) -> None:
    """Nothing can be de-identified: a user error that says how to fix it, not an empty file."""
    keys = [w for w in runner.invoke(app, ["patient", "list", "--db", db]).output.split() if w.startswith("P-")]
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "o"), "--patient", keys[0], "--db", db])
    assert r.exit_code == 2 and "--surgery-date" in " ".join(r.output.split())
    assert not (tmp_path / "o").exists()


def _keys(db: str) -> list[str]:
    return [w for w in runner.invoke(app, ["patient", "list", "--db", db]).output.split() if w.startswith(("K-", "P-"))]


def test_deidentified_export_names_left_out_patients_by_pseudonym_not_key(tmp_path: Path, db: str) -> None:
    """The console is a log: the patient left out (no surgery date) is named by its site pseudonym and counted, never
    by its key (which may be an MRN). Before, its key was printed."""
    (left_out,) = [k for k in _keys(db) if k.startswith("P-")]
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "out"), "--db", db])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    secret = Path(db.removeprefix("sqlite:///") + ".deid-secret").read_bytes().strip()
    assert left_out not in text and "K-A" not in text, text
    assert f"left out 1 patient(s) without a surgery date (dates cannot be shifted): {pseudonym(left_out, secret)}" \
        in text
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "ident"), "--identified", "--db", db])
    assert r.exit_code == 0 and left_out not in r.output  # identified: nobody is left out


def test_an_export_refused_for_its_secret_creates_no_output_folder(tmp_path: Path, db: str) -> None:
    """A secret that is refused (here a secret file others can read) is checked before --out is created: the error
    leaves nothing behind. Before, the empty --out folder was made first."""
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "first"), "--db", db])
    assert r.exit_code == 0, r.output
    Path(db.removeprefix("sqlite:///") + ".deid-secret").chmod(0o644)
    out = tmp_path / "second" / "cohort"
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--db", db])
    assert r.exit_code == 2 and "chmod 600" in " ".join(r.output.split()), r.output
    assert not (tmp_path / "second").exists()


def test_an_out_path_that_is_a_file_is_a_user_error(tmp_path: Path, db: str) -> None:
    (tmp_path / "taken").write_text("x")
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "taken"), "--db", db])
    assert r.exit_code == 2 and "is a file" in r.output and (tmp_path / "taken").read_text() == "x"


@pytest.mark.parametrize("blocked", ["cohort-measurements.csv", "cohort-visits.csv"])
def test_a_folder_in_place_of_one_table_writes_none(tmp_path: Path, db: str, blocked: str) -> None:
    """All or nothing: a folder where one table goes is an error line, and no table of this export is written
    (before: the tables before it were written, the export then stopped with a traceback)."""
    out = tmp_path / "out"
    (out / blocked).mkdir(parents=True)
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--identified", "--db", db])
    assert r.exit_code == 2 and blocked in " ".join(r.output.split()), r.output
    assert sorted(p.name for p in out.iterdir()) == [blocked] and not any((out / blocked).iterdir())


def test_the_left_out_patients_can_be_found_by_key_with_patient_list_without_surgery(tmp_path: Path, db: str) -> None:
    """The de-identified export names the left-out patients by pseudonym, which the operator cannot map back; its note
    points at `patient list --without-surgery`, which lists exactly them by key (the one with a surgery is not
    listed), so the operator can add their surgeries."""
    (left_out,) = [k for k in _keys(db) if k.startswith("P-")]
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "out"), "--db", db])
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "`fusionwatch patient list --without-surgery` lists them by key" in text, text
    r = runner.invoke(app, ["patient", "list", "--without-surgery", "--db", db])
    listed = [w for w in r.output.split() if w.startswith(("K-", "P-"))]
    assert r.exit_code == 0 and listed == [left_out] and "without a surgery" in r.output, r.output
    runner.invoke(app, ["patient", "add", left_out, "--surgery-date", "2025-01-10", "--db", db])
    r = runner.invoke(app, ["patient", "list", "--without-surgery", "--db", db])
    assert r.exit_code == 0 and "every patient has a surgery on record" in r.output, r.output
