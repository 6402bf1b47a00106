"""A stored PROM the questionnaire rules refuse is named by the report (P2's note, session 14)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fusionwatch.cli import app
from fusionwatch.errors import InputError
from fusionwatch.records import Patient, Surgery
from fusionwatch.report.build import proms_from_store
from fusionwatch.store import Store

SURGERY = dt.date(2025, 1, 10)
FIVE_BLANK = (1, 1, 1, 1, 1, None, None, None, None, None)  # stored through the API: `prom add` refuses it


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    s = Store(url)
    s.add_patient(Patient("K-PROM"))
    s.set_surgery("K-PROM", Surgery(date=SURGERY))
    s.add_prom("K-PROM", SURGERY - dt.timedelta(days=10), back_pain_nrs=6)
    s.add_prom("K-PROM", SURGERY + dt.timedelta(days=42), odi_answers=FIVE_BLANK)
    s.close()
    return url


def test_the_refused_entry_is_named_with_how_to_retract_it(db: str) -> None:
    """Before, the report failed with the ODI rule's message alone: which entry, of which day, was not said."""
    s = Store(db)
    try:
        (bad,) = [r for r in s.list_proms("K-PROM") if r.odi_answers]
        with pytest.raises(InputError) as info:
            proms_from_store(s, "K-PROM")
    finally:
        s.close()
    message = str(info.value)
    assert f"PROM entry {bad.id} of 2025-02-21 (6-weeks) cannot be used: ODI has 5 blank sections" in message
    assert f"fusionwatch prom retract K-PROM --id {bad.id} --reason TEXT --by NAME" in message


def test_report_says_it_in_one_error_line_and_writes_after_the_retraction(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", "K-PROM", "--out", str(tmp_path / "out"), "--no-pdf", "--db", db])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "PROM entry" in result.output and "2025-02-21" in result.output
    assert "Traceback" not in result.output
    s = Store(db)
    (bad,) = [r for r in s.list_proms("K-PROM") if r.odi_answers]
    s.close()
    retract = runner.invoke(app, ["prom", "retract", "K-PROM", "--id", str(bad.id), "--reason", "blank sections",
                                  "--by", "amy", "--db", db])
    assert retract.exit_code == 0, retract.output
    assert proms_from_store(Store(db), "K-PROM")  # the pre-op entry is left
