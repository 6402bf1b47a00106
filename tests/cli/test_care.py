"""Tests for ``fusionwatch care`` (fusionwatch.cli.care): the advice follows the latest films' status and findings,
exactly as the reports give it, and says what it held back and why."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from _synth import write_dicom
from fusionwatch.care.protocol import load_protocol
from fusionwatch.cli import app
from fusionwatch.io.loading import read_radiograph
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.records import Finding, Override, Patient, Severity, Surgery
from fusionwatch.report.build import build_report_data
from fusionwatch.store import Store
from fusionwatch.units import SpacingSource, Unit

SURGERY = dt.date(2025, 1, 10)
GATED = "Return to full activity as fusion is confirmed."  # example protocol, long-term phase, only_if confirmed
CORE = "Keep core strength and a healthy weight."  # same phase, always said
POINTS = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
          "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}


def _day(n: int) -> str:
    return (SURGERY + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """K-9 with static lateral films at 6 weeks, 3, 6 and 12 months (no flexion-extension: 12 months is
    'insufficient evidence', 6 months 'on track')."""
    url = f"sqlite:///{tmp_path / 'care.db'}"
    store = Store(url)
    store.add_patient(Patient("K-9", patient_id="MRN-9"))
    store.set_surgery("K-9", Surgery(SURGERY))
    rng = np.random.default_rng(1)
    for i, day in enumerate((42, 92, 185, 370)):
        d = SURGERY + dt.timedelta(days=day)
        pixels = (rng.random((300, 240)) * 3000).astype(np.uint16)
        path = write_dicom(tmp_path / f"f{i}.dcm", pixels, spacing=(0.2, 0.2), study_date=d.strftime("%Y%m%d"),
                           view_position="LL", extra={"PatientID": "MRN-9"})
        ms = [Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, 11.0, Unit.MM, "test/1",
                          spacing_source=SpacingSource.PATIENT_PLANE)]
        store.add_film("K-9", read_radiograph(path), film_id=str(pydicom.dcmread(path).SOPInstanceUID),
                       file_path=str(path), file_sha256=f"{i:064d}", visit_date=d,
                       landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"), measurements=ms)
    store.close()
    return url


def _care(url: str, today: str) -> str:
    r = CliRunner().invoke(app, ["care", "K-9", "--today", today, "--db", url], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    return r.output


def _restrictions(out: str) -> list[str]:
    """The '  - ' lines under 'Restrictions now:' (up to the next heading)."""
    lines = out.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("Restrictions now:"))
    block = []
    for x in lines[start + 1:]:
        if not x.startswith("  - "):
            break
        block.append(x[4:])
    return block


def _held_back(out: str) -> list[str]:
    lines = out.splitlines()
    hits = [i for i, x in enumerate(lines) if x.startswith("Held back")]
    if not hits:
        return []
    return [x[4:] for x in lines[hits[0] + 1:] if x.startswith("  - ")][: len(lines)]


def _same_as_report(url: str, today: str, out: str) -> None:
    """The CLI prints exactly the restrictions the reports give (same status, findings and advice)."""
    store = Store(url)
    try:
        data = build_report_data(store, "K-9", today=dt.date.fromisoformat(today), protocol=load_protocol(None))
    finally:
        store.close()
    advice = data.care_advice
    assert _restrictions(out) == [r.clinician for r in advice.restrictions]
    held = [x for x in _held_back(out) if not x.startswith("physical therapy")]
    assert held == [r.clinician for r in advice.withheld]


def test_fusion_in_doubt_holds_back_the_on_track_line(store_url: str) -> None:
    """12 months on static films only: 'insufficient evidence'. The long-term 'return to full activity' line is not
    given as advice; it is listed as held back with the reason (the CLI printed it as advice before)."""
    today = _day(384)
    out = _care(store_url, today)
    assert "Advice follows: 12-months" in out and "automatic status: Insufficient evidence on these films;" in out
    assert GATED not in _restrictions(out) and CORE in _restrictions(out)
    assert GATED in _held_back(out)
    # the reason in the report's words (it printed the raw status word "status: insufficient evidence")
    held_line = out[out.index("Held back"):].splitlines()[0]
    assert "now: status: Insufficient evidence on these films)" in held_line, held_line
    _same_as_report(store_url, today, out)


def test_an_automatic_on_track_status_holds_back_the_activity_line(store_url: str) -> None:
    """At day 200 the latest films (6 months) are on track by the automatic status: the line that clears activity
    waits for a reader's status (R's F18) and says why; the surgeon-will-tell lines are the advice (before: the line
    was advice on an automatic status)."""
    today = _day(200)
    out = _care(store_url, today)
    assert "Advice follows: 6-months" in out and "automatic status: On track for the time since surgery;" in out
    assert GATED not in _restrictions(out) and GATED in _held_back(out)
    assert _restrictions(out)[0].startswith("No return to full activity until the surgeon has reviewed the films")
    held_line = " ".join(out[out.index("Held back"):].split("\n")[0].split())
    assert held_line == ("Held back (said only once a reader has confirmed fusion on track; now: status on track "
                         "(automatic) not confirmed by a reader):"), held_line
    _same_as_report(store_url, today, out)
    # the 'return to full function' therapy phase (work, hobbies, sport) waits too: the concern goals instead
    assert ("Physical therapy: instead of Return to full function: Keep doing the exercises your therapist gave "
            "you") in out


def test_reader_status_wins_and_a_hardware_finding_holds_back(store_url: str) -> None:
    """A reader's 'fused criteria met' replaces the automatic status; a rod fracture at the same visit still holds
    the on-track line back, and the reason names the finding."""
    store = Store(store_url)
    store.add_override("K-9", Override("fusion_status", "fused_criteria_met", "amy",
                                       dt.datetime(2026, 1, 30, 9, 0, tzinfo=dt.UTC), "CT: bridging bone"),
                       visit="12-months")
    store.close()
    today = _day(384)
    out = _care(store_url, today)
    assert "reader's status (amy): Radiographic fusion criteria met (confirm clinically);" in out
    assert GATED in _restrictions(out) and "Held back" not in out
    # a therapist reading this sees the phase's example exercises too, not only its goals
    assert "example exercises (as the patient is told them): Home exercise program kept up long term" in out

    store = Store(store_url)
    store.replace_findings("K-9", "12-months", "implants",
                           [Finding("rod_fracture_suspected", Severity.ACTION, "Rod in two pieces.")])
    store.close()
    out = _care(store_url, today)
    assert GATED in _held_back(out) and GATED not in _restrictions(out)
    assert "finding: rod fracture suspected" in out[out.index("Held back"):]
    _same_as_report(store_url, today, out)


def test_a_reader_s_status_gives_the_same_advice_in_the_report(store_url: str) -> None:
    """`care` and the reports give the same advice on a reader's 'fused criteria met' (the activity line)."""
    store = Store(store_url)
    store.add_override("K-9", Override("fusion_status", "fused_criteria_met", "amy",
                                       dt.datetime(2026, 1, 30, 9, 0, tzinfo=dt.UTC), "CT: bridging bone"),
                       visit="12-months")
    store.close()
    out = _care(store_url, _day(384))
    assert GATED in _restrictions(out)
    _same_as_report(store_url, _day(384), out)


def test_solid_fusion_on_motion_alone_is_not_told_normal_activities(store_url: str) -> None:
    """R's F18 reproduction: 12 months, fused on flexion-extension motion alone (the automatic status says 'bridging
    bone not assessed (reader to grade; confirm clinically)'). Before: the patient report said 'Most people can go
    back to their normal activities now.' and 'What to avoid now: Nothing special right now.'; now it says the
    surgeon will tell what is safe and not to start heavy work or sports before, and `care` holds the line back."""
    from fusionwatch.followup.model import SegmentMotion
    from fusionwatch.report.patient_text import patient_text
    from fusionwatch.report.render import render_patient_html

    store = Store(store_url)
    store.replace_motion("K-9", "12-months", [SegmentMotion("L5-S1", 0.4, 0.2, 0.2, None, 0.1, "test/1"),
                                              SegmentMotion("L4-L5", 6.0, 0.3, 0.5, None, 0.1, "test/1")])
    try:
        data = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=384), protocol=load_protocol(None))
    finally:
        store.close()
    t = patient_text(data)
    text = t.all_text()
    assert "normal activities" not in text
    assert "Your surgeon will tell you which activities are safe for you now." in t.do_now
    assert "Do not start heavy work or sports until your surgeon says it is safe." in t.avoid_now
    assert "Nothing special right now" not in render_patient_html(data)
    out = _care(store_url, _day(384))
    assert GATED in _held_back(out) and "fusion criteria met (automatic) not confirmed by a reader" in out
    _same_as_report(store_url, _day(384), out)


def test_status_is_worded_as_the_reports_word_it(store_url: str) -> None:
    """A fused status resting on flexion-extension motion alone (no reader graded bridging bone) is printed with the
    reports' label (report.labels.visit_status_label), never as the raw value 'fused criteria met'."""
    from fusionwatch.followup.model import SegmentMotion
    from fusionwatch.report.labels import visit_status_label

    store = Store(store_url)
    store.replace_motion("K-9", "12-months", [SegmentMotion("L5-S1", 0.4, 0.2, 0.2, None, 0.1, "test/1"),
                                              SegmentMotion("L4-L5", 6.0, 0.3, 0.5, None, 0.1, "test/1")])
    timeline = store.load_timeline("K-9")
    store.close()
    last = timeline.visits[-1]
    assert last.status.status is not None and last.status.status.value == "fused_criteria_met"
    today = _day(384)
    out = _care(store_url, today)
    expected = visit_status_label(last)
    assert expected.startswith("Fusion criteria met on motion; bridging bone not assessed")
    assert f"automatic status: {expected};" in " ".join(out.split())
    assert "fused criteria met" not in out.lower().replace("fusion criteria met", "")
    _same_as_report(store_url, today, out)


def test_a_later_symptom_report_does_not_replace_the_films(store_url: str) -> None:
    """A symptom report after the 12-month films is a contact without films: the advice still follows the films."""
    store = Store(store_url)
    store.add_symptoms("K-9", SURGERY + dt.timedelta(days=380), ["pain_not_improving"])
    store.close()
    today = _day(384)
    out = _care(store_url, today)
    assert "Advice follows: 12-months" in out and GATED in _held_back(out)
    _same_as_report(store_url, today, out)


def test_today_before_the_latest_films_uses_the_films_of_that_day(store_url: str) -> None:
    out = _care(store_url, _day(250))
    assert "Advice follows: 6-months" in out and "automatic status: On track" in out and GATED in _held_back(out)
    _same_as_report(store_url, _day(250), out)  # the report as of that day gives the same advice


@pytest.mark.parametrize(
    "cmd", [["prom", "add", "K-9", "--back-pain", "3"], ["symptoms", "add", "K-9", "--flag", "fever"]]
)
def test_a_future_answer_date_is_refused_and_not_stored(store_url: str, cmd: list[str]) -> None:
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    r = CliRunner().invoke(app, [*cmd, "--date", future, "--db", store_url], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and future in r.output and "future" in r.output
    from fusionwatch.report.build import proms_from_store

    store = Store(store_url)
    try:
        assert not store.list_symptoms("K-9") and not proms_from_store(store, "K-9")
    finally:
        store.close()


def test_an_unknown_symptom_is_named_and_the_accepted_ones_listed_once(store_url: str) -> None:
    r = CliRunner().invoke(app, ["symptoms", "add", "K-9", "--flag", "nonsense", "--db", store_url],
                           env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and "'nonsense'" in r.output
    assert r.output.count("saddle_numbness") == 1, r.output


def test_an_unwritable_output_path_is_a_user_error(store_url: str, tmp_path: Path) -> None:
    """--ics into a missing folder, --out under a file: `error: ...` naming the path, exit 2, no traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args in (["care", "K-9", "--ics", str(tmp_path / "no" / "such" / "x.ics")],
                 ["report", "K-9", "--out", str(blocker / "out"), "--no-pdf"]):
        r = CliRunner().invoke(app, [*args, "--db", store_url], env={"COLUMNS": "250"})
        assert r.exit_code == 2, r.output
        assert "error: cannot use" in r.output and "Traceback" not in r.output
        assert str(tmp_path) in r.output


@pytest.mark.parametrize("url", ["sqlite:////no/such/dir/x.db", "nonsense://x", "postgresql://u:secret@127.0.0.1:1/x"])
def test_a_database_that_cannot_be_opened_is_a_user_error(url: str) -> None:
    r = CliRunner().invoke(app, ["care", "K-9", "--db", url], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert "error: Cannot open the database" in r.output and "Traceback" not in r.output
    assert "secret" not in r.output


@pytest.mark.parametrize(
    "cmd", [["prom", "add", "K-9", "--back-pain", "3"], ["symptoms", "add", "K-9", "--flag", "fever"]]
)
@pytest.mark.parametrize(
    ("when", "words"),
    [("1958-06-01", "before patient 'K-9' was born"),
     ("1990-01-01", "--date 1990-01-01 is 12793 days (35.0 years) before surgery (the surgery on record for 'K-9' is "
                    "2025-01-10): more than 30 years from it")],
)
def test_an_impossible_answer_date_is_refused_and_not_stored(
    store_url: str, cmd: list[str], when: str, words: str
) -> None:
    """An answer dated before the patient's birth, or more than 30 years from the surgery, is refused as a film with
    that date is (it was stored as a 'contact' visit at day -24,000 and listed in the reports)."""
    from fusionwatch.report.build import proms_from_store

    store = Store(store_url)
    store.add_patient(Patient("K-9", birth_date=dt.date(1961, 3, 4)))
    store.close()
    r = CliRunner().invoke(app, [*cmd, "--date", when, "--db", store_url], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and when in r.output and words in r.output
    assert not re.search(r"-\d+ days", r.output), r.output  # before: 'Date 1990-01-01 is -12793 days from the surgery'
    if "born" not in words:
        assert "Nothing was recorded" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    store = Store(store_url)
    try:
        assert not store.list_symptoms("K-9") and not proms_from_store(store, "K-9")
        assert all(v.date.isoformat() != when for v in store.list_visits("K-9"))
    finally:
        store.close()


def test_a_pre_operative_date_is_a_baseline_told_in_days_before_surgery(store_url: str) -> None:
    """A PROM answered before surgery is the baseline, told as "N days before surgery" (never "-N days"); an earlier
    pre-operative answer says which one stays the baseline; a symptom report and `care --today` before surgery say
    it the same way. Before: `prom add --date <12 days before>` said nothing of it, and `care` printed 'day -7'."""
    def run(*args: str) -> str:
        r = CliRunner().invoke(app, [*args, "--db", store_url], env={"COLUMNS": "250"})
        assert r.exit_code == 0, r.output
        return r.output

    out = run("prom", "add", "K-9", "--odi", "2,2,2,2,2,2,2,2,2,2", "--date", _day(-12))
    assert "answered 12 days before surgery (2025-01-10): the pre-operative baseline later answers are compared " \
           "with" in out, out
    out = run("prom", "add", "K-9", "--back-pain", "6", "--date", _day(-400))
    assert ("answered 400 days (1.1 years) before surgery (2025-01-10): an earlier pre-operative answer; the baseline "
            f"stays the latest one, {_day(-12)}") in out, out
    out = run("prom", "add", "K-9", "--back-pain", "5", "--date", _day(0))
    assert "answered on the day of surgery (2025-01-10): the pre-operative baseline" in out, out
    out = run("symptoms", "add", "K-9", "--flag", "poor-sleep", "--date", _day(-1))
    assert "reported 1 day before surgery (2025-01-10)" in out, out
    out = _care(store_url, _day(-7))
    assert "surgery 2025-01-10  7 days before surgery" in out, out
    assert not re.search(r"day -\d|-\d+ days", out), out


def test_prom_add_says_worse_when_an_outcome_got_worse(store_url: str) -> None:
    """A worse score reads as worse (it printed 'back pain: improved -5' and 'ODI improved -40.0 points')."""
    def add(*args: str) -> str:
        r = CliRunner().invoke(app, ["prom", "add", "K-9", *args, "--db", store_url], env={"COLUMNS": "250"})
        assert r.exit_code == 0, r.output
        return r.output

    add("--odi", "1,1,1,1,1,1,1,1,1,1", "--back-pain", "3", "--leg-pain", "4", "--date", _day(-10))
    out = add("--odi", "3,3,3,3,3,3,3,3,3,3", "--back-pain", "8", "--leg-pain", "4", "--date", _day(100))
    assert "improved -" not in out, out
    assert "ODI 20.0 -> 60.0, worse by 40.0 points" in out and "back pain: worse by 5" in out, out
    assert "leg pain: no change" in out, out
    out = add("--odi", "0,0,0,0,0,0,0,0,0,0", "--back-pain", "1", "--date", _day(200))
    assert "ODI 20.0 -> 0.0, improved by 20.0 points" in out and "back pain: improved by 2; MCID met" in out, out


def test_a_file_that_is_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    """--db naming a file that is not a database (a PDF, a film) is a user error naming it, not a sqlite3
    DatabaseError traceback; the file is left as it was."""
    not_db = tmp_path / "report.pdf"
    not_db.write_bytes(b"%PDF-1.7 not a database" * 20)
    before = not_db.read_bytes()
    r = CliRunner().invoke(app, ["patient", "list", "--db", str(not_db)], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert "error: Cannot open the database" in r.output and "not a database" in r.output
    assert not_db.read_bytes() == before


def test_care_lists_only_red_flags_reported_by_today(store_url: str) -> None:
    """`care --today D` shows the red flags the report as of D shows (one rule, report.build.red_flag_window): a
    fever reported on day 200 is not a red flag on day 190 (it has not been reported yet), and is one on day 210.
    Before, `care --today` listed every report after the previous films, also those dated after D."""
    store = Store(store_url)
    try:
        store.add_symptoms("K-9", SURGERY + dt.timedelta(days=200), ["fever"], note="felt hot")
        before = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=190))
        after = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=210))
    finally:
        store.close()
    assert not before.red_flags and [f.symptom.value for f in after.red_flags] == ["fever"]
    out = _care(store_url, _day(190))
    assert "RED FLAGS" not in out and "fever" not in out and "felt hot" not in out
    out = _care(store_url, _day(210))
    assert "RED FLAGS" in out and "fever" in out and "felt hot" in out


@pytest.mark.parametrize("flag", ["--back-pain", "--leg-pain"])
def test_a_fractional_pain_score_is_an_error_line_not_a_usage_box(store_url: str, flag: str) -> None:
    """`prom add --leg-pain 3.5` ends with `error: leg pain must be a whole number ...` and exit 2, like every user
    mistake, and stores nothing. Before, the option parser printed its usage box ('Invalid value ...')."""
    r = CliRunner().invoke(app, ["prom", "add", "K-9", flag, "3.5", "--date", _day(100), "--db", store_url])
    assert r.exit_code == 2 and "error:" in r.output and "whole number" in r.output and "'3.5'" in r.output, r.output
    assert "Usage" not in r.output
    store = Store(store_url)
    try:
        assert not store.list_proms("K-9")
    finally:
        store.close()


def test_a_red_flag_reported_on_today_shows_in_care_and_report(store_url: str) -> None:
    """The window ends at today inclusive: a fever reported on the day of `--today` is a red flag of care and of the
    report; and a report built with no --today (the real date) lists a symptom reported today (review of e2d806d)."""
    store = Store(store_url)
    try:
        store.add_symptoms("K-9", SURGERY + dt.timedelta(days=400), ["fever"], note="felt hot")
        store.add_symptoms("K-9", dt.date.today(), ["calf_pain_swelling"])
        same_day = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=400))
        now = build_report_data(store, "K-9")
    finally:
        store.close()
    assert [f.symptom.value for f in same_day.red_flags] == ["fever"]
    assert "calf_pain_swelling" in [f.symptom.value for f in now.red_flags]
    out = _care(store_url, _day(400))
    assert "RED FLAGS" in out and "fever" in out and "felt hot" in out


def _cli(url: str, *args: str) -> object:
    return CliRunner().invoke(app, [*args, "--db", url], env={"COLUMNS": "250"})


def _recorded_id(out: str, what: str) -> str:
    """The id `prom add` / `symptoms add` print ('recorded as PROM entry 3 ...')."""
    import re

    m = re.search(rf"recorded as {what} (\d+)", out)
    assert m, out
    return m.group(1)


def test_a_retracted_red_flag_stops_escalating_and_stays_in_the_audit(store_url: str) -> None:
    """Saddle numbness typed for the wrong patient escalated in `care` and the report with no way out; marked entered
    in error (id from `symptoms add` and `symptoms list`) it no longer escalates anywhere, and the audit keeps it."""
    r = _cli(store_url, "symptoms", "add", "K-9", "--flag", "saddle_numbness", "--date", _day(380), "--note", "x")
    assert r.exit_code == 0, r.output
    sid = _recorded_id(r.output, "symptom report")
    assert "RED FLAGS" in _care(store_url, _day(384))
    listed = _cli(store_url, "symptoms", "list", "K-9").output
    assert sid in listed and "saddle_numbness" in listed and "standing" in listed
    r = _cli(store_url, "symptoms", "retract", "K-9", "--id", sid, "--reason", "wrong patient", "--by", "rn-lee")
    assert r.exit_code == 0, r.output
    assert f"marked symptom report {sid} of K-9" in r.output and "fusionwatch symptoms add" in r.output
    out = _care(store_url, _day(384))
    assert "RED FLAGS" not in out and "saddle" not in out
    store = Store(store_url)
    try:
        data = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=384))
    finally:
        store.close()
    assert data.red_flags == () and data.symptom_notes == ()
    assert "saddle_numbness" not in _cli(store_url, "symptoms", "list", "K-9").output
    audit = " ".join(_cli(store_url, "symptoms", "list", "K-9", "--all").output.split())
    assert "saddle_numbness" in audit and "entered in error" in audit and "rn-lee: wrong patient" in audit


def test_a_wrong_odi_is_corrected_by_retract_and_add(store_url: str) -> None:
    """A PROM with the wrong answers: retract it (kept for the audit) and add the right one; reports see only the
    right one."""
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "5,5,5,5,5,5,5,5,5,5", "--date", _day(370))
    pid = _recorded_id(r.output, "PROM entry")
    r = _cli(store_url, "prom", "retract", "K-9", "--id", pid, "--reason", "answers of another form", "--by", "pa-kim")
    assert r.exit_code == 0, r.output
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "1,1,1,1,1,1,1,1,1,1", "--date", _day(370))
    assert r.exit_code == 0, r.output
    store = Store(store_url)
    try:
        data = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=384))
    finally:
        store.close()
    assert [p.odi.score for p in data.proms] == [20.0]
    listed = _cli(store_url, "prom", "list", "K-9").output
    assert "20.0 %" in listed and "100.0 %" not in listed
    audit = " ".join(_cli(store_url, "prom", "list", "K-9", "--all").output.split())
    assert "100.0 %" in audit and "pa-kim: answers of another form" in audit


@pytest.mark.parametrize("args, message", [
    (["--id", "999"], "Patient 'K-9' has no PROM entry 999"),
    (["--id", "x"], "--id must be the entry's number"),
    (["--id", "OTHER"], "belongs to another patient, not 'K-9'"),
    (["--id", "MINE", "--reason", " "], "needs the reason"),
    (["--id", "DONE"], "was already marked entered in error"),
])
def test_a_retraction_that_cannot_be_done_is_an_error_line_and_changes_nothing(
    store_url: str, args: list[str], message: str
) -> None:
    store = Store(store_url)
    store.add_patient(Patient("OTHER-1"))
    ids = {"OTHER": store.add_prom("OTHER-1", SURGERY, back_pain_nrs=3).id,
           "MINE": store.add_prom("K-9", SURGERY, back_pain_nrs=3).id,
           "DONE": store.add_prom("K-9", SURGERY, back_pain_nrs=4).id}
    store.retract("K-9", "prom", ids["DONE"], reason="wrong date", author="pa-kim")
    before = [(p.id, p.retracted) for k in ("K-9", "OTHER-1") for p in store.list_proms(k, include_retracted=True)]
    store.close()
    args = [str(ids.get(a, a)) for a in args]
    if "--reason" not in args:
        args += ["--reason", "wrong patient"]
    r = _cli(store_url, "prom", "retract", "K-9", *args, "--by", "pa-kim")
    assert r.exit_code == 2 and "error:" in r.output and message in " ".join(r.output.split()), r.output
    assert "Traceback" not in r.output
    store = Store(store_url)
    after = [(p.id, p.retracted) for k in ("K-9", "OTHER-1") for p in store.list_proms(k, include_retracted=True)]
    store.close()
    assert after == before


@pytest.mark.parametrize("args, missing", [
    (["prom", "retract", "K-9", "--id", "1", "--by", "pa-kim"], "--reason"),
    (["prom", "retract", "K-9", "--id", "1", "--reason", "wrong patient"], "--by"),
    (["symptoms", "retract", "K-9", "--id", "1", "--by", "pa-kim"], "--reason"),
    (["symptoms", "retract", "K-9", "--id", "1", "--reason", "wrong patient"], "--by"),
    (["override", "retract", "K-9", "--id", "1", "--reason", "wrong patient"], "--by"),
    (["override", "retract", "K-9", "--id", "1", "--by", "pa-kim"], "--reason"),
    (["override", "add", "K-9", "12-months", "--status", "on_track"], "--author"),
    (["override", "K-9", "12-months", "--status", "on_track"], "--author"),
    (["patient", "correct", "K-9", "--birth-date", "1960-05-01", "--reason", "typo"], "--by"),
])
def test_a_missing_who_or_why_is_an_error_line_not_a_usage_box(store_url: str, args: list[str], missing: str) -> None:
    """A missing --by / --reason / --author ends with one `error:` line naming the command, the option and what it is
    for, exit 2 as every user mistake, nothing changed. Before, Typer printed its usage box (exit 2 too). One rule for
    every command (cli._app._Group), not one per command."""
    store = Store(store_url)
    store.add_prom("K-9", SURGERY, back_pain_nrs=3)
    store.close()
    r = _cli(store_url, *args)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and out.startswith("error: ") and f"Missing option '{missing}" in out, r.output
    assert "Usage" not in out and "╭" not in r.output and "--help` lists the options" in out and "Nothing was" in out
    store = Store(store_url)
    try:
        assert [p.retracted for p in store.list_proms("K-9", include_retracted=True)] == [None]
        assert store.list_overrides("K-9", include_retracted=True) == []
        assert store.list_patient_corrections("K-9") == []
    finally:
        store.close()


def test_an_ics_that_is_a_folder_is_refused_before_anything_is_printed(store_url: str, tmp_path: Path) -> None:
    """Before: the whole schedule was printed, then 'error: cannot use ...: Is a directory'."""
    r = CliRunner().invoke(app, ["care", "K-9", "--ics", str(tmp_path), "--db", store_url], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert r.output == f"error: --ics {tmp_path} is a folder; give the calendar file's name (e.g. " \
                       f"{tmp_path / 'care.ics'}).\n", r.output


def test_a_care_protocol_that_is_not_utf8_is_an_error_line(store_url: str, tmp_path: Path) -> None:
    """Before: a UnicodeDecodeError traceback, exit 1."""
    f = tmp_path / "proto_latin1.yaml"
    f.write_bytes("name: café\n".encode("latin-1"))
    r = CliRunner().invoke(app, ["care", "K-9", "--protocol", str(f), "--db", store_url], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: Care protocol file ")
    assert "is not UTF-8 text (byte 0xe9 at position 9)" in r.output


class TestTextThatIsNotUtf8:
    """fusionwatch.cli._utf8.check_arguments: text typed on a terminal that is not UTF-8 (a Latin-1 'café' arrives as
    'caf\\udce9') is one error line naming the option and the byte, before anything runs; before, the database driver
    raised UnicodeEncodeError ('surrogates not allowed') and the user saw a traceback. The root group calls it (patch
    for cli/_app.py in F1's report)."""

    def test_the_option_the_byte_and_its_position_are_named(self) -> None:
        from typer.main import get_command

        from fusionwatch.cli._utf8 import check_arguments
        from fusionwatch.errors import InputError

        ctx = get_command(app).make_context("fusionwatch", ["symptoms", "add", "K"], resilient_parsing=True)
        for args in (["symptoms", "add", "K-9", "--note", "caf\udce9"], ["symptoms", "add", "K-9", "--note=caf\udce9"]):
            with pytest.raises(InputError, match=r"^--note is not UTF-8 text \('caf\\xe9': byte 0xe9 at position 3\): "
                               r"set the terminal to UTF-8 and type it again\. Nothing was changed\.$"):
                check_arguments(args, ctx)
        with pytest.raises(InputError, match=r"^A command-line argument is not UTF-8 text \('P\\xe9': byte 0xe9 at "):
            check_arguments(["patient", "add", "P\udce9"], ctx)
        check_arguments(["symptoms", "add", "K-9", "--note", "café"], ctx)  # UTF-8 text is fine

    def test_paths_that_exist_are_let_through(self, tmp_path: Path) -> None:
        """A film or folder whose name is not UTF-8 is on disk and can be read (ingest refuses such a film by name)."""
        from fusionwatch.cli._utf8 import check_arguments

        name = tmp_path / "caf\udce9.dcm"
        name.write_bytes(b"x")
        check_arguments(["measure", str(name), "--out", str(tmp_path / "new\udce9")])


@pytest.mark.parametrize("args", [["symptoms", "add", "K-9", "--flag", "fever", "--note", "caf\udce9"],
                                  ["patient", "add", "P\udce9", "--surgery-date", "2025-01-10"],
                                  ["followup", "K\udce9"], ["prom", "list", "K\udce9"], ["care", "K\udce9"]])
def test_text_that_is_not_utf8_is_an_error_line_and_nothing_is_stored(store_url: str, args: list[str]) -> None:
    r = CliRunner().invoke(app, [*args, "--db", store_url], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: ") and "is not UTF-8 text" in r.output and "byte 0xe9" in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    store = Store(store_url)
    try:
        assert not store.list_symptoms("K-9") and list(store.list_patients()) == ["K-9"]
    finally:
        store.close()


@pytest.mark.parametrize(("given", "flagged", "said"), [
    ("100.6F", True, "38.11 °C (100.6 °F): over 38 °C (100.4 °F): fever flagged"),
    ("38.4", True, "38.4 °C (101.1 °F): over 38 °C"),
    ("37.9C", False, "37.9 °C (100.2 °F): not over 38 °C (100.4 °F): no fever flag"),
])
def test_a_phoned_in_temperature_in_either_unit_flags_fever_over_38_c(store_url: str, given: str, flagged: bool,
                                                                     said: str) -> None:
    """A nurse types the temperature as the patient gives it: over 38 °C (100.4 °F) adds the fever flag, which then
    escalates in `care`; the temperature is kept with the report in both units. Before, there was no way to give it:
    '--temperature' was 'no such option' and a fever of 100.6 °F was told 'Fever over 38 °C (101 °F)'."""
    r = _cli(store_url, "symptoms", "add", "K-9", "--temperature", given, "--date", _day(380), "--note", "phoned")
    assert r.exit_code == 0, r.output
    assert said in r.output
    assert ("RED FLAGS" in r.output) is flagged
    store = Store(store_url)
    try:
        (rec,) = store.list_symptoms("K-9")
    finally:
        store.close()
    assert list(rec.symptoms) == (["fever"] if flagged else [])
    assert rec.note.startswith("temperature ") and "°F" in rec.note and rec.note.endswith("; phoned")
    # which fever value was applied, and CLINICAL.md's other figure (101 °F = 38.3 °C) that was not: never silent
    assert ("(fever setting: over 38 °C (100.4 °F) (care.triage.FEVER_OVER_C); the other figure in use, "
            "101 °F, is 38.3 °C: the lower value is applied)") in " ".join(r.output.split()), r.output
    assert rec.details["fever_over_c"] == 38.0  # the setting that triaged it, kept with the report
    out = _care(store_url, _day(384))
    assert ("RED FLAGS" in out) is flagged and "temperature " in out  # the note is shown with the flags


def test_a_fever_flag_is_kept_with_a_normal_temperature_and_nonsense_is_refused(store_url: str) -> None:
    """Nothing lowers a flag: --flag fever with 37.9 C stays a red flag. A temperature that is no body temperature,
    or a report with neither a flag nor a temperature, is an error line and nothing is stored."""
    r = _cli(store_url, "symptoms", "add", "K-9", "--flag", "fever", "--temperature", "37.9", "--date", _day(380))
    assert r.exit_code == 0 and "RED FLAGS" in r.output and "the fever flag given is kept" in r.output, r.output
    for args in (["--temperature", "200"], []):
        r = _cli(store_url, "symptoms", "add", "K-9", *args, "--date", _day(381))
        assert r.exit_code == 2 and r.output.startswith("error: "), r.output
    store = Store(store_url)
    try:
        assert len(store.list_symptoms("K-9")) == 1
    finally:
        store.close()


def test_before_the_first_films_care_gives_the_phase_lines_alone(store_url: str) -> None:
    """Day 20, no films yet: a therapist reads the early-healing restrictions, not the fusion-concern lines ('No
    return to full activity until the surgeon has reviewed the films', 'Until reviewed, ask before heavy lifting')
    that came first before, beside 'No lifting over 4.5 kg (10 lb).'."""
    out = _care(store_url, _day(20))
    lines = _restrictions(out)
    assert lines[0] == "No lifting over 4.5 kg (10 lb)." and not any("until" in x.lower() for x in lines), lines
    assert "Held back" not in out


def test_red_flags_say_how_long_ago_and_whether_before_the_operation(store_url: str) -> None:
    """A nurse or surgeon reading an EMERGENCY line needs its age: weakness reported 5 days before the operation (the
    reason for it, perhaps) reads '(reported <date>, 25 days ago, before the operation)' at day 20, a fever reported
    that day 'today'. Before, both read '(reported <date>)' alone, and the advice said it followed the pre-op contact
    ('Advice follows: pre-op (...)') though no post-operative film existed."""
    store = Store(store_url)
    try:
        store.add_symptoms("K-9", SURGERY - dt.timedelta(days=5), ["progressive_leg_weakness"])
        store.add_symptoms("K-9", SURGERY + dt.timedelta(days=20), ["fever"])
    finally:
        store.close()
    wide = CliRunner().invoke(app, ["care", "K-9", "--today", _day(20), "--db", store_url], env={"COLUMNS": "400"})
    out = wide.output
    assert f"progressive_leg_weakness (reported {_day(-5)}, 25 days ago, before the operation)" in out, out
    assert f"fever (reported {_day(20)}, today)" in out
    assert "Advice follows: no post-operative films yet: fusion not assessed." in out
    narrow = CliRunner().invoke(app, ["care", "K-9", "--today", _day(20), "--db", store_url], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0 and "…" not in narrow.output, narrow.output  # wrapped, never cut


def test_red_flags_split_recent_from_earlier_as_the_reports_do(store_url: str) -> None:
    """A fever reported 3 weeks before `care --today` is not in the 'escalate now' table beside today's calf pain: it
    is listed apart, as an earlier report to ask about (never dropped), by the one rule and constant the reports use
    (care.triage.RED_FLAG_RECENT_DAYS, red_flag_is_recent); the 7-day edge is recent, day 8 earlier. Before, one RED
    FLAGS table held both while the reports split them."""
    from fusionwatch.care.triage import RED_FLAG_RECENT_DAYS

    assert RED_FLAG_RECENT_DAYS == 7
    store = Store(store_url)
    try:
        for day, flags in ((209, ["fever"]), (223, ["wound_redness"]), (222, ["wound_drainage"]),
                           (230, ["calf_pain_swelling"])):
            store.add_symptoms("K-9", SURGERY + dt.timedelta(days=day), flags)
        data = build_report_data(store, "K-9", today=SURGERY + dt.timedelta(days=230))
    finally:
        store.close()
    out = _care(store_url, _day(230))
    assert "RED FLAGS reported in the last 7 days: escalate now" in out, out
    now, _, earlier = out.partition("EARLIER RED FLAGS reported more than 7 days ago")
    assert earlier, out
    names = ("fever", "wound_redness", "wound_drainage", "calf_pain_swelling")
    in_now = {n for n in names if n in now}
    in_earlier = {n for n in names if n in earlier.split("Advice follows")[0].split(" day 230")[0]}
    assert in_now == {"calf_pain_swelling", "wound_redness"}, out  # day 223: 7 days ago, the edge is recent
    assert in_earlier == {"fever", "wound_drainage"}, out  # 21 and 8 days ago
    assert f"fever (reported {_day(209)}, 21 days ago)" in earlier and "If still there or back:" in earlier
    # the reports split the same flags the same way
    assert {f.symptom.value for f in data.recent_red_flags} == in_now
    assert {f.symptom.value for f in data.earlier_red_flags} == in_earlier


def test_prom_add_does_not_claim_a_substantial_benefit_from_4_points(store_url: str) -> None:
    """Pre-op ODI 10 % -> 6 % at a year is 40 % (>= Glassman's 36.8 %) of 4 points, under the MCID (12.8): not a
    substantial clinical benefit, and the line says which criterion was reached and why it does not count. Before:
    'substantial clinical benefit met: improved 40.0 % (>= 36.8 %)'."""
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "1,1,0,1,1,0,1,0,0,0", "--date", _day(-9))
    assert r.exit_code == 0, r.output
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "1,0,0,1,1,0,0,0,0,0", "--date", _day(370))
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "ODI 10.0 -> 6.0, improved by 4.0 points; MCID (12.8) not met; substantial clinical benefit not met " \
           "(improved 40.0 % (>= 36.8 %) by 4.0 points, under the MCID (12.8): not counted, a substantial benefit " \
           "needs at least the MCID; Glassman 2008, PMID 18762642)" in out, out
    assert "benefit met" not in out


def test_prom_add_says_which_benefit_criteria_were_met_and_that_early_ones_are_interim(store_url: str) -> None:
    """Pre-op 64.4 % -> 20.0 %: the line names the criteria met (44.4 points, 69.0 %, final 20.0) and the scores, and
    before day 273 says Glassman's thresholds were set at 1 year. Before: 'substantial clinical benefit met' alone,
    the same at day 100 as at a year."""
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "4,3,4,3,3,3,3,-,3,3", "--date", _day(-7))
    assert r.exit_code == 0, r.output
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "1,1,1,1,1,1,1,-,1,1", "--date", _day(100))
    assert r.exit_code == 0, r.output
    line = " ".join(r.output.split())
    assert "ODI 64.4 -> 20.0, improved by 44.4 points; MCID (12.8) met" in line, line
    assert ("substantial clinical benefit met: improved 44.4 points (>= 18.8); improved 69.0 % (>= 36.8 %); "
            "final score 20.0 (<= 31.3)") in line
    assert "set at 1 year after surgery; this is day 100: an interim reading" in line
    r = _cli(store_url, "prom", "add", "K-9", "--odi", "1,1,1,1,1,1,1,-,1,1", "--date", _day(380))
    assert r.exit_code == 0 and "substantial clinical benefit met: " in r.output and "interim" not in r.output


def test_visits_outside_every_planned_window_are_listed(store_url: str) -> None:
    """A contact at day 250 falls in no window of the protocol: `care` names it as `followup` does, by the nearest
    planned visit, and says how far outside that visit's window it was (before session 14's label change: 'On record
    outside every planned window ... (day 250, no films)' while `followup` called it '6-months'). One at day 380,
    inside the 12-month window that the films of day 370 fill, is listed nowhere; one at day 3 (the immediate
    post-operative days: no planned visit) stays 'outside every planned window'."""
    store = Store(store_url)
    try:
        store.add_symptoms("K-9", SURGERY + dt.timedelta(days=3), ["poor_sleep"])
        store.add_symptoms("K-9", SURGERY + dt.timedelta(days=250), ["poor_sleep"])
        store.add_symptoms("K-9", SURGERY + dt.timedelta(days=380), ["poor_sleep"])
    finally:
        store.close()
    out = " ".join(_care(store_url, _day(384)).split())
    assert (f"Outside its planned window (named by the nearest planned visit, as in `followup`; counted as done for "
            f"no visit above): {_day(250)} (day 250, no films): 6-months, 35 days after its planned window (days "
            "155-215)") in out, out
    from fusionwatch.followup.schedule import visit_label

    assert visit_label(250, SURGERY + dt.timedelta(days=250)) == ("6-months", True)  # followup's (store's) name for it
    assert f"On record outside every planned window (counted for no visit above): {_day(3)} (day 3, no films)" in out
    assert f"{_day(380)} (day 380" not in out
