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
    assert "1 of 2 patient(s) exported, 2 measured film(s)" in text
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


def _unscorable_prom(db: str, key: str) -> None:
    """A PROM the store accepts (it checks shapes only) but the report model refuses: 5 blank ODI sections, more than
    a score allows (stored through the Store API, as an import or another client can; `prom add` refuses it)."""
    from fusionwatch.store import Store

    store = Store(db)
    try:
        store.add_prom(key, SURGERY + dt.timedelta(days=91), odi_answers=[1, None, None, None, None, None, 2, 1, 1, 1])
    finally:
        store.close()


def test_a_patient_whose_record_cannot_be_built_is_skipped_and_named_the_others_exported(tmp_path: Path,
                                                                                         db: str) -> None:
    """One patient's stored record that the report model refuses no longer stops the export for every patient: the
    others are exported, the failed one is named by key with the reason on the console and in cohort-skipped.csv,
    and the exit code is 1 (the tables are not the whole cohort). Before, 'error: ODI has 5 blank sections ...', exit
    2, no table for anyone and no patient named."""
    (other,) = [k for k in _keys(db) if k.startswith("P-")]
    _unscorable_prom(db, "K-A")
    out = tmp_path / "out"
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--identified", "--db", db])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert "1 of 2 patient(s) exported" in text and "skipped 1 patient(s)" in text, text
    # the reason names the refused PROM entry and how to retract it (report, 8c1eea7)
    when = (SURGERY + dt.timedelta(days=91)).isoformat()
    assert "K-A: its rows of the visit table could not be built: PROM entry " in text, text
    assert f" of {when} (3-months) cannot be used: ODI has 5 blank sections" in text, text
    assert "prom retract K-A" in text, text
    assert {row["patient"] for row in _csv(out / "cohort-measurements.csv")} == {other}  # in both tables or neither
    assert {row["patient"] for row in _csv(out / "cohort-visits.csv")} == {other}
    skipped = _csv(out / "cohort-skipped.csv")
    assert [s["patient"] for s in skipped] == ["K-A"] and "ODI has 5 blank sections" in skipped[0]["reason"]


def test_a_deidentified_export_names_a_skipped_patient_by_pseudonym_only(tmp_path: Path, db: str) -> None:
    """De-identified, the skipped patient is named by its site pseudonym, never by key or patient id, on the console
    and in cohort-skipped-deidentified.csv, which also lists the patients left out for want of a surgery date."""
    _unscorable_prom(db, "K-A")
    (other,) = [k for k in _keys(db) if k.startswith("P-")]
    out = tmp_path / "out"
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--db", db])
    text = " ".join(r.output.split())
    secret = Path(db.removeprefix("sqlite:///") + ".deid-secret").read_bytes().strip()
    alias = pseudonym("K-A", secret)
    assert r.exit_code == 1, r.output
    assert "0 of 2 patient(s) exported" in text and f"{alias}: its rows of the visit table" in text, text
    files = {p.name: p.read_text() if p.suffix == ".csv" else "" for p in out.iterdir()}
    assert set(files) == {"cohort-measurements-deidentified.csv", "cohort-measurements-deidentified.parquet",
                          "cohort-visits-deidentified.csv", "cohort-skipped-deidentified.csv"}
    for shown in [text, *(v for k, v in files.items() if k.endswith(".csv"))]:
        assert "K-A" not in shown and "PID-" not in shown and other not in shown
    skipped = _csv(out / "cohort-skipped-deidentified.csv")
    assert {s["patient"] for s in skipped} == {alias, pseudonym(other, secret)}
    assert any("no surgery date" in s["reason"] for s in skipped)


def test_an_export_without_skips_writes_an_empty_skipped_list_and_exits_0(tmp_path: Path, db: str) -> None:
    """The skipped list is always written (a header alone when nobody was skipped), so an old list never stays
    beside new tables."""
    out = tmp_path / "out"
    r = runner.invoke(app, ["export", "cohort", "--out", str(out), "--identified", "--db", db])
    assert r.exit_code == 0 and "2 of 2 patient(s) exported" in " ".join(r.output.split()), r.output
    assert (out / "cohort-skipped.csv").read_text().splitlines() == ["patient,reason"]
