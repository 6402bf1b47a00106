"""Identifiers stay out of log records (TEAM.md, CLINICAL.md): report and export commands over a patient whose film
path holds a name ('DOE^JOHN_1970'), whose visits are labelled by their dates (no surgery date on record) and whose
symptom reports were stored through the API with free text in place of a code. A console line may name the user's own
file; a log record may not."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _synth import draw_lateral_spine, write_dicom
from fusionwatch.cli import app
from fusionwatch.io import write_landmarks
from fusionwatch.store import Store

runner = CliRunner()
FILM_DAY = dt.date(2025, 2, 21)
IDENTIFIERS = re.compile(r"DOE|JOHN|1970|PID-DOE|2025-0[23]-\d\d|20250221|3 March", re.IGNORECASE)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, str]:
    """(database URL, patient key): one lateral film with landmarks in a folder named after the patient, no surgery
    date (visits are labelled by date), a symptom report whose 'code' is free text."""
    films = tmp_path / "DOE^JOHN_1970"
    films.mkdir()
    pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=3)
    write_dicom(films / "lat.dcm", pixels, spacing=(1.0, 1.0), study_date=FILM_DAY.strftime("%Y%m%d"),
                extra={"PatientID": "PID-DOE", "PatientName": "DOE^JOHN"})
    write_landmarks(lm, films / "lat.landmarks.json")
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    r = runner.invoke(app, ["ingest", str(films), "--db", url])
    assert r.exit_code == 0, r.output
    store = Store(url)
    try:
        (key,) = store.list_patients()
        assert "2025-02-21" in store.list_films(key)[0].visit_label  # the label is the date: the case at hand
        store.add_symptoms(key, FILM_DAY + dt.timedelta(days=3), symptoms=["fever since 3 March, ask Mrs DOE"])
    finally:
        store.close()
    return url, key


def _move_film_away(tmp_path: Path) -> None:
    (tmp_path / "DOE^JOHN_1970" / "lat.dcm").rename(tmp_path / "moved.dcm")


def _leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
             for r in caplog.records]
    return [t for t in texts if IDENTIFIERS.search(t)]


def test_report_logs_no_identifier(tmp_path: Path, db: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    """Before: 'annotated lateral film of unscheduled 2025-02-21 not drawn: InputError' (the visit's date) and
    "symptom code 'fever since 3 March, ask Mrs DOE' is not on the triage checklist" were logged."""
    url, key = db
    _move_film_away(tmp_path)  # the annotated film cannot be drawn
    caplog.set_level(logging.DEBUG, logger="fusionwatch")
    r = runner.invoke(app, ["report", key, "--out", str(tmp_path / "out"), "--no-pdf", "--today", "2025-03-01",
                            "--db", url])
    assert r.exit_code == 0, r.output
    assert any("not on the triage checklist" in m for m in caplog.messages), caplog.messages  # still said: a count
    assert any("annotated lateral film not drawn" in m for m in caplog.messages), caplog.messages
    assert _leaks(caplog) == []


def test_the_dicom_exports_log_no_film_uid(tmp_path: Path, db: tuple[str, str],
                                           caplog: pytest.LogCaptureFixture) -> None:
    """Building the SR and secondary capture from the source film, highdicom logged 'copy Patient-related attributes
    from dataset "<the film's SOP Instance UID>"' (INFO); the film id is its UID, kept out of logs like its path."""
    url, key = db
    store = Store(url)
    try:
        (uid,) = [f.film_id for f in store.list_films(key)]
    finally:
        store.close()
    caplog.set_level(logging.DEBUG)  # every logger: highdicom's too
    r = runner.invoke(app, ["report", key, "--out", str(tmp_path / "out"), "--no-pdf", "--today", "2025-03-01",
                            "--db", url])
    assert r.exit_code == 0, r.output
    assert any(p.suffix == ".dcm" for p in (tmp_path / "out").iterdir())  # the SR / SC were written
    assert [m for m in caplog.messages if uid in m] == []


def test_cohort_export_logs_no_identifier(tmp_path: Path, db: tuple[str, str],
                                          caplog: pytest.LogCaptureFixture) -> None:
    url, _ = db
    _move_film_away(tmp_path)
    caplog.set_level(logging.DEBUG, logger="fusionwatch")
    r = runner.invoke(app, ["export", "cohort", "--out", str(tmp_path / "coh"), "--identified", "--today",
                            "2025-03-01", "--db", url])
    assert r.exit_code == 0, r.output
    assert _leaks(caplog) == []
