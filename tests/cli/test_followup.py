"""Tests for ``fusionwatch ingest``, ``followup``, ``override`` and ``patient add`` (fusionwatch.cli.followup)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from _synth import draw_lateral_spine, write_dicom
from fusionwatch.cli import app
from fusionwatch.io import write_landmarks

runner = CliRunner()
SURGERY = dt.date(2025, 1, 10)


def _films(folder: Path) -> Path:
    """Two DICOM lateral films of patient CLI-PID at 6 weeks and 12 months, the later with 3 mm less L5-S1 disc."""
    folder.mkdir()
    for name, day, drop in (("a", 42, 0.0), ("b", 365, 3.0)):
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=day)
        when = (SURGERY + dt.timedelta(days=day)).strftime("%Y%m%d")
        write_dicom(folder / f"{name}.dcm", pixels, spacing=(1.0, 1.0), study_date=when, extra={"PatientID": "CLI-PID"})
        moved = {k: (x, y + drop if k.startswith("L5.inferior") else y) for k, (x, y) in lm.points.items()}
        write_landmarks(lm.with_points(moved), folder / f"{name}.landmarks.json")
    return folder


def _dated_films(folder: Path, days: tuple[int, ...]) -> Path:
    """DICOM lateral films of patient CLI-PID taken the given days after surgery, each with its landmark file."""
    folder.mkdir()
    for day in days:
        pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=day)
        when = (SURGERY + dt.timedelta(days=day)).strftime("%Y%m%d")
        write_dicom(folder / f"d{day}.dcm", pixels, spacing=(1.0, 1.0), study_date=when,
                    extra={"PatientID": "CLI-PID"})
        write_landmarks(lm, folder / f"d{day}.landmarks.json")
    return folder


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _run(*args: str) -> object:
    return runner.invoke(app, list(args))


def test_patient_ingest_followup_json(tmp_path: Path, db: str) -> None:
    """patient add, ingest, then followup --json: visits, the subsidence finding and a status per visit."""
    r = _run(
        "patient",
        "add",
        "K-CLI",
        "--surgery-date",
        "2025-01-10",
        "--approach",
        "TLIF",
        "--patient-id",
        "CLI-PID",
        "--db",
        db,
    )
    assert r.exit_code == 0, r.output
    films = _films(tmp_path / "films")
    r = _run("ingest", str(films), "--db", db, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert (report["added"], report["skipped"], report["failed"], report["patients"]) == (2, 0, 0, ["K-CLI"])
    assert "CLI-PID" not in r.output
    r = _run("ingest", str(films), "--db", db)
    assert r.exit_code == 0 and "0 added, 2 skipped" in r.output
    r = _run("followup", "K-CLI", "--db", db, "--json")
    assert r.exit_code == 0, r.output
    tl = json.loads(r.output)
    assert [v["label"] for v in tl["visits"]] == ["6-weeks", "12-months"]
    last = tl["visits"][-1]
    assert [f["kind"] for f in last["findings"]] == ["cage_subsidence"]
    assert last["status"]["status"] == "insufficient_evidence" and "CT" in last["status"]["decide_with"]
    r = _run("followup", "K-CLI", "--db", db)
    assert r.exit_code == 0 and "cage_subsidence" in r.output and "disc_height_mean_L5_S1" in r.output


def test_override_shown_beside_automatic_status(tmp_path: Path, db: str) -> None:
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run(
        "override",
        "K-CLI",
        "12-months",
        "--author",
        "dr-amy",
        "--status",
        "fused_criteria_met",
        "--bridwell",
        "ii",
        "--reason",
        "CT shows bridging",
        "--db",
        db,
    )
    assert r.exit_code == 0, r.output
    assert "recorded grade:bridwell = II" in r.output
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    last = tl["visits"][-1]
    assert last["status"]["status"] == "insufficient_evidence"
    assert last["reader_status"]["value"] == "fused_criteria_met" and last["reader_status"]["author"] == "dr-amy"
    assert last["bridwell_grade"]["value"] == "II"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--status", "fused"], "--status must be one of"),
        (["--bridwell", "V"], "--bridwell must be one of"),
        (["--finding", "nokind"], "--finding must be REF=VALUE"),
        ([], "Nothing to record"),
    ],
)
def test_override_bad_input(tmp_path: Path, db: str, args: list[str], message: str) -> None:
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--db", db)
    r = _run("override", "K-CLI", "2025-02-21", "--author", "amy", *args, "--db", db)
    assert r.exit_code == 2 and message in r.output


def test_unknown_patient_is_a_clear_error(db: str) -> None:
    r = _run("followup", "nobody", "--db", db)
    assert r.exit_code == 2 and "Unknown patient key 'nobody'" in r.output


def test_patient_add_bad_approach(db: str) -> None:
    r = _run("patient", "add", "K", "--surgery-date", "2025-01-10", "--approach", "XLIF", "--db", db)
    assert r.exit_code == 2 and "--approach must be one of" in r.output


def test_followup_settings_file(tmp_path: Path, db: str) -> None:
    """A site's settings file changes the thresholds: with a 4 mm subsidence threshold the 3 mm loss is not reported."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    cfg = tmp_path / "site.yaml"
    cfg.write_text("subsidence_mm: 4.0\n")
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json", "--settings", str(cfg)).output)
    assert tl["visits"][-1]["findings"] == []
    cfg.write_text("subsidence: 4.0\n")
    r = _run("followup", "K-CLI", "--db", db, "--settings", str(cfg))
    assert r.exit_code == 2 and "Unknown follow-up setting(s): subsidence" in r.output


def test_patient_list_shows_keys_not_identifiers(tmp_path: Path, db: str) -> None:
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run("patient", "list", "--db", db)
    assert r.exit_code == 0 and "K-CLI" in r.output and "2025-01-10" in r.output and "12-months" in r.output
    assert "CLI-PID" not in r.output


def test_override_by_label_and_followup_with_a_contact_in_the_window(tmp_path: Path, db: str) -> None:
    """A symptom report 15 days after the 12-month films: `override ... 12-months` marks the films' visit (not the
    contact), and `followup` says the contact is a contact without films instead of "fusion status n/a"."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    contact = (SURGERY + dt.timedelta(days=380)).isoformat()
    r = _run("symptoms", "add", "K-CLI", "--flag", "poor-sleep", "--date", contact, "--db", db)
    assert r.exit_code == 0, r.output
    r = _run("override", "K-CLI", "12-months", "--author", "dr-amy", "--status", "on_track", "--db", db)
    assert r.exit_code == 0, r.output
    assert "at 12-months by dr-amy" in r.output
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    by = {v["label"]: v for v in tl["visits"]}
    assert by["12-months"]["reader_status"]["value"] == "on_track"
    assert by["contact day 380"]["reader_status"] is None
    r = _run("override", "K-CLI", "3-months", "--author", "dr-amy", "--status", "on_track", "--db", db)
    assert r.exit_code == 2 and "known visits: 6-weeks, 12-months, contact day 380" in r.output


def test_followup_says_a_contact_has_no_films(tmp_path: Path, db: str) -> None:
    """A symptom-only contact is printed as what it is, not as "fusion status n/a"."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    contact = (SURGERY + dt.timedelta(days=380)).isoformat()
    assert _run("symptoms", "add", "K-CLI", "--flag", "poor-sleep", "--date", contact, "--db", db).exit_code == 0
    out = _run("followup", "K-CLI", "--db", db).output
    assert f"contact day 380 ({contact}): contact (no films): no fusion status" in out
    assert "12-months (2026-01-10): fusion status insufficient_evidence" in out
    assert "n/a" not in out


def test_ingest_of_only_bad_files_is_a_user_error(tmp_path: Path, db: str) -> None:
    """A text file renamed .dcm (or a truncated DICOM) alone: `error: ...` naming it, exit code 2, nothing stored."""
    bad = tmp_path / "notes.dcm"
    bad.write_text("hello")
    r = _run("ingest", str(bad), "--db", db)
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and "notes.dcm" in r.output and "Traceback" not in r.output
    full = _films(tmp_path / "films") / "a.dcm"
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    r = _run("ingest", str(bad), str(cut), "--db", db)
    assert r.exit_code == 2 and "none of the 2 files could be ingested" in r.output, r.output
    flat = " ".join(r.output.split())
    assert "cut.dcm is truncated (the file ends early" in flat and "Re-export the film" in flat, r.output
    from fusionwatch.store import Store

    store = Store(db)
    try:  # nothing was written for the failed files
        assert store.list_patients() == []
    finally:
        store.close()


def test_ingest_with_some_bad_files_stores_the_rest_and_exits_1(tmp_path: Path, db: str) -> None:
    """Good films and a bad file together: the good ones are stored, the bad one named, exit code 1 (not 0: a cohort
    script must see that a file was refused; not 2: something was done)."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    films = _films(tmp_path / "films")
    (films / "notes.dcm").write_text("hello")
    r = _run("ingest", str(films), "--db", db, "--no-analyse")
    assert r.exit_code == 1, r.output
    assert "2 added" in r.output and "1 failed" in r.output and "notes.dcm" in r.output
    assert "Traceback" not in r.output
    r = _run("ingest", str(films), "--db", db, "--no-analyse")  # the re-run still reports the refused file
    assert r.exit_code == 1 and "0 added, 2 skipped" in r.output, r.output


@pytest.mark.parametrize("years", [-40, 5])
def test_patient_add_refuses_an_impossible_surgery_date(db: str, years: int) -> None:
    when = (dt.date.today() + dt.timedelta(days=366 * years)).isoformat()
    r = _run("patient", "add", "K-1", "--surgery-date", when, "--db", db)
    assert r.exit_code == 2 and "error:" in r.output and when in r.output, r.output
    r = _run("patient", "list", "--db", db)
    assert "K-1" not in r.output


def test_patient_add_accepts_a_planned_operation(db: str) -> None:
    when = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = _run("patient", "add", "K-2", "--surgery-date", when, "--db", db)
    assert r.exit_code == 0, r.output


def test_followup_text_says_what_decides_once_and_grades_in_roman(tmp_path: Path, db: str) -> None:
    from fusionwatch.cli.followup import _fmt

    assert [_fmt(v, "grade") for v in (0.0, 1.0, 2.0)] == ["0", "I", "II"]  # Meyerding, as in the reports
    assert _fmt(-0.01, "mm") == "0.0"
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run("followup", "K-CLI", "--db", db)
    assert r.exit_code == 0, r.output
    assert "to decide:" in r.output and "would decide:" not in r.output


def test_finding_override_names_a_finding_of_that_visit_and_a_verdict(tmp_path: Path, db: str) -> None:
    """A typo in the kind or the verdict is refused (was stored silently); a real one is recorded."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    base = ["override", "K-CLI", "12-months", "--author", "amy", "--db", db]
    r = _run(*base, "--finding", "cage_subsidense=rejected")
    assert r.exit_code == 2 and "no such finding at visit 12-months" in r.output and "cage_subsidence" in r.output
    r = _run(*base, "--finding", "cage_subsidence=maybe")
    assert r.exit_code == 2 and "confirmed, rejected" in r.output
    r = _run(*base, "--finding", "cage_subsidence=Rejected")
    assert r.exit_code == 0 and "recorded finding:cage_subsidence = rejected" in r.output, r.output


def test_ingest_of_a_folder_without_films_says_so(tmp_path: Path, db: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no films here")
    r = _run("ingest", str(empty), "--db", db)
    assert r.exit_code == 2 and "error: no film files found in" in r.output and "empty" in r.output, r.output


def test_followup_status_line_uses_the_report_label() -> None:
    """`fusionwatch followup` prints the clinician report's label beside the status: a fused status on motion
    alone says that bridging bone was not assessed; with a reader's bridging fraction, the full label."""
    from fusionwatch.cli.followup import _status_text
    from fusionwatch.followup import BoneEvidence, SegmentMotion, VisitInput, build_timeline
    from fusionwatch.records import Surgery

    def last(bone: BoneEvidence) -> object:
        v = VisitInput("12-months", SURGERY + dt.timedelta(days=365), 365, films=("f",), lateral_film="f",
                       motion=(SegmentMotion("L5-S1", 0.8, 0.3, 0.4, None, 0.3),), bone=bone)
        return build_timeline("K", Surgery(date=SURGERY), [v]).visits[-1]

    text = _status_text(last(BoneEvidence()))
    assert "fused_criteria_met" in text and "bridging bone not assessed (reader to grade" in text
    text = _status_text(last(BoneEvidence(bridging_fraction=0.9, source="reader:amy")))
    assert "Radiographic fusion criteria met (confirm clinically)" in text and "on motion" not in text


def test_ingest_summary_names_duplicates_and_mixed_folders(tmp_path: Path, db: str) -> None:
    """A coordinator's folder with a duplicate copy and a film of another patient: the summary names both files, the
    folders each patient key came from, and a re-run says the same keys (already stored films keep their patient)."""
    films = _films(tmp_path / "patA")
    (films / "copy-of-a.dcm").write_bytes((films / "a.dcm").read_bytes())
    pixels, _ = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=7)
    write_dicom(films / "stray.dcm", pixels, spacing=(1.0, 1.0), study_date="20250301", extra={"PatientID": "OTHER"})
    r = _run("ingest", str(films), "--db", db, "--no-analyse")
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert f"skipped {films / 'copy-of-a.dcm'}: already stored" in out and "this file is a duplicate" in out
    assert "1 duplicate copies" in out
    assert f"folder {films} holds films of 2 patients" in out and "(stray.dcm)" in out
    keys = sorted(w for w in out.replace(",", " ").replace(":", " ").split() if w.startswith("P-"))
    assert len(set(keys)) == 2 and f"from {films}" in out
    again = " ".join(_run("ingest", str(films), "--db", db, "--no-analyse").output.split())
    assert "0 added" in again and "patients: none" not in again
    assert all(k in again for k in set(keys))


def test_followup_motion_line_reads_as_the_report() -> None:
    """The motion line gives the magnitudes with both SDs, as the clinician report's table does (it printed
    "-1.3 mm" without its SD where the report said "1.3 mm ± 0.2"); uncalibrated: % of the endplate."""
    from fusionwatch.cli.followup import _motion_text
    from fusionwatch.followup import SegmentMotion

    text = _motion_text(SegmentMotion("L5-S1", -6.5555, 0.4378, -1.27, None, 0.2046))
    assert text == "angle 6.6 deg ± 0.4, translation 1.3 mm ± 0.2 (1 SD)"
    text = _motion_text(SegmentMotion("L4-L5", 2.04, None, None, -3.16, 1.1))
    assert text == "angle 2.0 deg, translation 3.2 % of endplate ± 1.1 (1 SD)"


def test_followup_motion_line_uses_the_report_cells() -> None:
    """The followup command and the clinician report's motion table word a result with the same texts (one helper,
    report.labels.motion_value_texts): a missing angle is the report's dash in both."""
    from fusionwatch.cli.followup import _motion_text
    from fusionwatch.followup import SegmentMotion
    from fusionwatch.report.labels import motion_value_texts

    for m in (SegmentMotion("L5-S1", -6.5555, 0.4378, -1.27, None, 0.2046),
              SegmentMotion("L4-L5", 2.04, None, None, -3.16, 1.1),
              SegmentMotion("L5-S1", None, None, 0.4, None, None)):  # type: ignore[arg-type]
        angle, translation = motion_value_texts(m)
        assert _motion_text(m).startswith(f"angle {angle}, translation {translation}")


def test_ingest_rerun_names_a_stored_film_that_still_needs_landmarks(tmp_path: Path, db: str) -> None:
    """A re-run names the stored film without landmarks and says how to complete it; once its landmark file is
    there, the next run measures it ("updated")."""
    films = _films(tmp_path / "f")
    lm = (films / "b.landmarks.json").read_bytes()
    (films / "b.landmarks.json").unlink()
    assert _run("ingest", str(films), "--db", db, "--no-analyse").exit_code == 0
    again = " ".join(_run("ingest", str(films), "--db", db, "--no-analyse").output.split())
    assert "note b.dcm (" in again and "still needs landmarks" in again and "1 need landmarks" in again
    (films / "b.landmarks.json").write_bytes(lm)
    done = " ".join(_run("ingest", str(films), "--db", db, "--no-analyse").output.split())
    assert f"updated {films / 'b.dcm'}: already stored; landmarks added from b.landmarks.json" in done
    assert "1 stored film(s) got landmarks" in done and "0 need landmarks" in done


def _three_loosening_findings(db: str) -> dt.date:
    """A 12-month visit holding the screw-loosening patient's three findings of one kind (as the implant checks store
    them: S1 angle change, then a halo beside the image-left and the image-right S1 screw)."""
    from fusionwatch.records import Finding, Patient, Severity, Surgery
    from fusionwatch.store import Store

    kind = "screw_loosening_suspected"
    when = SURGERY + dt.timedelta(days=365)
    store = Store(db)
    try:
        store.add_patient(Patient(key="K-LOOSE"))
        store.set_surgery("K-LOOSE", Surgery(date=SURGERY))
        store.add_visit("K-LOOSE", when)
        store.replace_findings("K-LOOSE", when, "implants", [
            Finding(kind, Severity.WATCH, "S1 screw: angle to the endplate changed +2.4 deg.",
                    {"level": "S1", "criterion": "screw-endplate angle change"}),
            *(Finding(kind, Severity.WATCH, f"S1 screw (image {s}): a radiolucent halo formed.",
                      {"level": "S1", "criterion": "halo"}) for s in ("left", "right")),
        ])
    finally:
        store.close()
    return when


def test_several_entries_of_one_override_command_are_recorded_all_or_nothing(
    tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`override add --status S --finding REF=V` records both or neither, whichever store rule refuses one (here a
    refusal of the verdict made by patching the store's rule). Before, each entry was its own transaction and the
    status stayed recorded when the verdict after it was refused."""
    import fusionwatch.store._store as store_module
    from fusionwatch.errors import InputError
    from fusionwatch.store import Store

    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)

    def refuse(target: str, visit: object) -> None:
        if target.startswith("finding:"):
            raise InputError("verdict refused (test)")

    monkeypatch.setattr(store_module, "check_finding_verdict_visit", refuse)
    r = _run("override", "K-CLI", "12-months", "--author", "amy", "--status", "on_track", "--finding",
             "cage_subsidence=confirmed", "--db", db)
    assert r.exit_code == 2 and "error:" in r.output and "verdict refused (test)" in r.output, r.output
    assert "None of the 2 entries was recorded" in " ".join(r.output.split())
    store = Store(db)
    try:
        assert store.list_overrides("K-CLI", include_retracted=True) == []
    finally:
        store.close()
    monkeypatch.undo()
    r = _run("override", "K-CLI", "12-months", "--author", "amy", "--status", "on_track", "--finding",
             "cage_subsidence=confirmed", "--db", db)
    assert r.exit_code == 0 and r.output.count("recorded ") == 2, r.output


def test_override_takes_a_findings_own_ref_and_stores_it(db: str) -> None:
    """`--finding screw_loosening_suspected:S1-left-halo=rejected` judges the left halo only (the followup listing
    shows each finding's ref, the timeline keeps the other two unreviewed); the plain kind still covers all three and
    says so; an unknown ref is refused, naming the valid ones."""
    from fusionwatch.followup.evidence import finding_verdicts
    from fusionwatch.followup.refs import finding_verdicts_per_finding
    from fusionwatch.store import Store

    kind = "screw_loosening_suspected"
    when = _three_loosening_findings(db)
    base = ["override", "K-LOOSE", "12-months", "--author", "amy", "--db", db]
    listing = _run("followup", "K-LOOSE", "--db", db)
    assert listing.exit_code == 0, listing.output
    for ref in ("S1-angle", "S1-left-halo", "S1-right-halo"):
        assert f"{kind}:{ref}:" in listing.output
    r = _run(*base, "--finding", f"{kind}:s1-LEFT-halo=rejected")  # any case; stored as the tool spells it
    assert r.exit_code == 0 and f"recorded finding:{kind}:S1-left-halo = rejected" in r.output, r.output
    assert "kind-wide" not in r.output

    def verdicts() -> list[str | None]:
        store = Store(db)
        try:
            v = next(v for v in store.load_timeline("K-LOOSE").visits if v.date == when)
        finally:
            store.close()
        every = (*v.findings, *v.review)
        return [o.value if o else None for o in finding_verdicts_per_finding(every, finding_verdicts(v.overrides))]

    assert verdicts() == [None, "rejected", None]
    shown = " ".join(_run("followup", "K-LOOSE", "--db", db).output.split())
    assert shown.count("(reader: rejected, amy)") == 1
    assert shown.index(f"{kind}:S1-left-halo:") < shown.index("(reader: rejected, amy)") < shown.index(
        f"{kind}:S1-right-halo:")
    r = _run(*base, "--finding", f"{kind}=confirmed")
    out = " ".join(r.output.split())
    assert r.exit_code == 0 and f"recorded finding:{kind} = confirmed" in out, r.output
    assert "kind-wide: applies to all 3" in out and f"{kind}:S1-right-halo" in out
    assert verdicts() == ["confirmed", "confirmed", "confirmed"]  # the newer kind-wide word covers the left halo too
    r = _run(*base, "--finding", f"{kind}:S1-halo=rejected")
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and "no such finding at visit 12-months" in out, r.output
    assert all(f"{kind}:{ref}" in out for ref in ("S1-angle", "S1-left-halo", "S1-right-halo"))


def test_override_takes_the_long_form_of_a_finding_alone_of_its_kind(db: str) -> None:
    """A finding alone of its kind is listed by its kind; its long form (what it was called beside others of its kind,
    e.g. before a re-analysis) is taken too and stored as such, so the verdict stays with that finding."""
    from fusionwatch.records import Finding, Severity
    from fusionwatch.store import Store

    kind = "screw_loosening_suspected"
    when = _three_loosening_findings(db)
    store = Store(db)
    try:
        store.replace_findings("K-LOOSE", when, "implants", [
            Finding(kind, Severity.WATCH, "S1 screw (image left): a radiolucent halo formed.",
                    {"level": "S1", "criterion": "halo"})])
    finally:
        store.close()
    base = ["override", "K-LOOSE", "12-months", "--author", "amy", "--db", db]
    r = _run(*base, "--finding", f"{kind}:S1-left-halo=rejected")
    assert r.exit_code == 0 and f"recorded finding:{kind}:S1-left-halo = rejected" in r.output, r.output
    shown = " ".join(_run("followup", "K-LOOSE", "--db", db).output.split())
    assert f"watch {kind}: S1 screw (image left)" in shown and "(reader: rejected, amy)" in shown
    r = _run(*base, "--finding", f"{kind}:S1-right-halo=rejected")
    assert r.exit_code == 2 and "no such finding" in r.output


def test_patient_add_update_keeps_approach_and_levels(db: str) -> None:
    """Updating a patient keeps the stored approach, levels and implants (they were reset to the defaults TLIF / L5-S1
    without a word); an option that is given still changes its own field."""
    from fusionwatch.cli._app import open_store

    r = _run("patient", "add", "K", "--surgery-date", "2025-01-10", "--approach", "posterolateral",
             "--levels", "L4-L5,L5-S1", "--db", db)
    assert r.exit_code == 0, r.output
    r = _run("patient", "correct", "K", "--surgery-date", "2025-01-12", "--by", "pa-kim", "--reason", "typo",
             "--db", db)
    assert r.exit_code == 0, r.output
    r = _run("patient", "add", "K", "--surgery-date", "2025-01-12", "--db", db)
    assert r.exit_code == 0, r.output
    assert "posterolateral L4-L5,L5-S1" in r.output
    store = open_store(db)
    try:
        s = store.get_surgery("K")
    finally:
        store.close()
    assert s.date == dt.date(2025, 1, 12) and s.approach.value == "posterolateral"
    assert [(a.value, b.value) for a, b in s.levels] == [("L4", "L5"), ("L5", "S1")]
    assert "interbody_cage" not in s.implants


def test_patient_add_new_patient_defaults(db: str) -> None:
    """A new patient without --approach / --levels gets the documented defaults TLIF and L5-S1."""
    r = _run("patient", "add", "K", "--surgery-date", "2025-01-10", "--db", db)
    assert r.exit_code == 0 and "TLIF L5-S1" in r.output, r.output


def test_help_texts_name_only_commands_that_exist() -> None:
    """Every `fusionwatch NAME` a command's --help points to is a command (override's help named `fusionwatch
    timeline`, which does not exist: the timeline is `fusionwatch followup`)."""
    import re

    import typer.main

    group = typer.main.get_command(app)
    names = set(group.commands)
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None) or {name: cmd}
        for sub_name in sub:
            args = [name] if sub_name == name else [name, sub_name]
            r = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "400"})
            assert r.exit_code == 0, r.output
            text = " ".join(r.output.replace("│", " ").split())
            for named in re.findall(r"`fusionwatch (\w[\w-]*)", text):
                assert named in names, f"{' '.join(args)} --help names `fusionwatch {named}`"


@pytest.mark.parametrize("args", [["--status", "fused_criteria_met"], ["--bridwell", "I"], ["--bridging", "0.9"],
                                  ["--lucency", "no"]])
def test_a_reader_status_at_a_visit_without_films_is_refused(tmp_path: Path, db: str, args: list[str]) -> None:
    """A reader's status, grade or bone evidence entered at a questionnaire-only contact was stored and then never
    acted on (the latest visit with films stands): it is refused, naming the visit with films to enter it at."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    assert _run("prom", "add", "K-CLI", "--back-pain", "2", "--date", "2026-02-14", "--db", db).exit_code == 0
    r = _run("override", "K-CLI", "2026-02-14", "--author", "dr-amy", *args, "--db", db)
    assert r.exit_code == 2, r.output
    assert "has no films" in r.output and "12-months" in r.output
    assert "A CT read on a day without films" in r.output and "the entry's reason" in r.output  # where a CT result goes
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    assert all(not v.get("reader_status") and not v.get("bridwell_grade") for v in tl["visits"]), tl["visits"]
    r = _run("override", "K-CLI", "12-months", "--author", "dr-amy", *args, "--db", db)
    assert r.exit_code == 0, r.output


def test_square_brackets_in_names_and_messages_are_printed_as_typed(tmp_path: Path, db: str) -> None:
    """Rich markup read user text: a file named 'scan[/b].dcm' or an override author 'Dr [/x]' ended in a MarkupError
    traceback (and, once stored, broke every later `followup` and `care`); '[x, y]' in a message vanished."""
    bad = tmp_path / "scan[" / "b]x[" / "i]"  # the path reads .../scan[/b]x[/i]/film.dcm
    bad.mkdir(parents=True)
    (bad / "film.dcm").write_text("not a film")
    r = _run("ingest", str(bad / "film.dcm"), "--db", db)
    assert r.exit_code == 2 and "error:" in r.output and "scan[/b]x[/i]/film.dcm" in r.output, r.output
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run("override", "K-CLI", "12-months", "--author", "Dr [/x]", "--status", "on_track", "--lucency", "no",
             "--finding", "cage_subsidence=rejected", "--reason", "see [/i] CT [bold]", "--db", db)
    assert r.exit_code == 0 and "Dr [/x]" in r.output, r.output
    r = runner.invoke(app, ["followup", "K-CLI", "--db", db], env={"COLUMNS": "300"})
    assert r.exit_code == 0 and "Dr [/x]" in r.output and "see [/i] CT [bold]" in r.output, r.output
    r = runner.invoke(app, ["care", "K-CLI", "--db", db], env={"COLUMNS": "300"})
    assert r.exit_code == 0 and "Dr [/x]" in r.output, r.output
    lm = tmp_path / "films" / "a.landmarks.json"
    data = json.loads(lm.read_text())
    data["points"]["L5.inferior.anterior"] = "12,3"
    lm.write_text(json.dumps(data))
    r = _run("measure", str(tmp_path / "films" / "a.dcm"), "--landmarks", str(lm), "--out", str(tmp_path / "m"))
    assert r.exit_code == 2 and "must be [x, y] numbers" in r.output, r.output


def test_patient_add_refuses_a_surgery_before_the_birth_date(db: str) -> None:
    """A birth date on record (from the films' DICOM header) bounds the surgery date, by records.check_patient_date.
    Before, `patient add` stored an operation dated before the patient was born."""
    from fusionwatch.records import Patient
    from fusionwatch.store import Store

    store = Store(db)
    try:
        store.add_patient(Patient("K-B", birth_date=dt.date(2000, 5, 1)))
    finally:
        store.close()
    r = _run("patient", "add", "K-B", "--surgery-date", "1999-03-01", "--db", db)
    assert r.exit_code == 2 and "error:" in r.output and "born" in r.output and "1999-03-01" in r.output, r.output
    store = Store(db)
    try:
        assert store.get_surgery("K-B") is None  # nothing stored
    finally:
        store.close()
    r = _run("patient", "add", "K-B", "--surgery-date", "2020-03-01", "--db", db)
    assert r.exit_code == 0, r.output
    store = Store(db)
    try:
        assert store.get_surgery("K-B").date == dt.date(2020, 3, 1)
    finally:
        store.close()


def test_patient_add_with_a_surgery_before_the_birth_date_links_no_patient_id(db: str) -> None:
    """A refused --surgery-date stores nothing, not even the --patient-id given with it. Before, the ID was linked
    (add_patient ran before the birth-date check), so later films of that ID were filed under the patient."""
    from fusionwatch.records import Patient
    from fusionwatch.store import Store

    store = Store(db)
    try:
        store.add_patient(Patient("K-C", birth_date=dt.date(2000, 5, 1)))
    finally:
        store.close()
    r = _run("patient", "add", "K-C", "--surgery-date", "1999-03-01", "--patient-id", "PID-C", "--db", db)
    assert r.exit_code == 2 and "born" in r.output, r.output
    store = Store(db)
    try:
        assert store.get_patient("K-C").patient_id is None and store.find_patient_key("PID-C") is None
        assert store.get_surgery("K-C") is None
    finally:
        store.close()


def test_a_reader_status_at_the_wrong_visit_is_retracted_and_kept(tmp_path: Path, db: str) -> None:
    """A reader who overrode the wrong visit had no way out. `override list` shows the id, `override retract` marks
    it entered in error: the status no longer stands in the timeline, the audit keeps it; the old form
    `override KEY VISIT ...` still adds."""
    import re

    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run("override", "K-CLI", "6-weeks", "--author", "dr-amy", "--status", "pseudarthrosis_suspected", "--db", db)
    assert r.exit_code == 0, r.output
    oid = re.search(r"\(override (\d+)\)", r.output).group(1)
    listed = runner.invoke(app, ["override", "list", "K-CLI", "--db", db], env={"COLUMNS": "250"}).output
    assert re.search(rf"\b{oid}\b.*6-weeks.*fusion_status.*pseudarthrosis_suspected.*standing", listed), listed
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    assert tl["visits"][0]["reader_status"]["value"] == "pseudarthrosis_suspected"
    assert tl["visits"][0]["reader_status"]["id"] == int(oid)  # `followup` shows the id too, where the reader sees it
    text = runner.invoke(app, ["followup", "K-CLI", "--db", db], env={"COLUMNS": "250"}).output
    assert f"dr-amy, {dt.datetime.now(dt.UTC):%Y-%m-%d}; override {oid})" in text, text
    r = _run("override", "retract", "K-CLI", "--id", oid, "--reason", "meant 12-months", "--by", "dr-amy", "--db", db)
    assert r.exit_code == 0 and f"marked override {oid} of K-CLI (6-weeks" in r.output, r.output
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    assert tl["visits"][0]["reader_status"] is None and tl["visits"][0]["overrides"] == []
    # ... but the clinician sees that it was there and was retracted (it was silently gone: `overrides: []`)
    [gone] = tl["entered_in_error"]
    assert (gone["kind"], gone["id"], gone["entered_by"], gone["retracted_by"], gone["reason"]) == (
        "override", int(oid), "dr-amy", "dr-amy", "meant 12-months")
    assert "fusion_status = pseudarthrosis_suspected" in gone["what"]
    text = " ".join(runner.invoke(app, ["followup", "K-CLI", "--db", db], env={"COLUMNS": "250"}).output.split())
    assert "Entered in error" in text and f"override {oid}: reader fusion_status = pseudarthrosis_suspected" in text
    assert "retracted by dr-amy" in text and "meant 12-months" in text, text
    listed = runner.invoke(app, ["override", "list", "K-CLI", "--db", db], env={"COLUMNS": "250"}).output
    assert "no reader overrides for K-CLI" in listed and "pseudarthrosis" not in listed, listed
    from fusionwatch.store import Store

    with Store(db) as store:
        assert store.list_overrides("K-CLI") == []
    audit = " ".join(runner.invoke(app, ["override", "list", "K-CLI", "--all", "--db", db],
                                   env={"COLUMNS": "250"}).output.split())
    assert "pseudarthrosis_suspected" in audit and "dr-amy: meant 12-months" in audit
    r = _run("override", "retract", "K-CLI", "--id", oid, "--reason", "again", "--by", "dr-amy", "--db", db)
    assert r.exit_code == 2 and "already marked entered in error" in r.output
    r = _run("override", "add", "K-CLI", "12-months", "--author", "dr-amy", "--status", "pseudarthrosis_suspected",
             "--db", db)
    assert r.exit_code == 0, r.output
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    assert tl["visits"][-1]["reader_status"]["value"] == "pseudarthrosis_suspected"


def test_entry_lists_keep_ids_and_dates_whole_at_80_columns(tmp_path: Path, db: str) -> None:
    """At 80 columns (CliRunner's width, a common terminal) the override list squeezed every column: the value showed
    as 'pseud…' and ids/dates could be cut. The id and date columns stay whole; the value folds, never elides."""
    import re

    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run("override", "K-CLI", "6-weeks", "--author", "dr-amy", "--status", "pseudarthrosis_suspected",
             "--reason", "CT read at the outside hospital shows a gap", "--db", db)
    oid = re.search(r"\(override (\d+)\)", r.output).group(1)
    listed = runner.invoke(app, ["override", "list", "K-CLI", "--db", db], env={"COLUMNS": "80"}).output
    assert "…" not in listed, listed
    assert re.search(rf"│ {oid} +│.*│ \d{{4}}-\d\d-\d\d │", listed), listed


def test_the_console_follows_columns_when_printing_not_when_imported() -> None:
    """COLUMNS set when fusionwatch was imported (a CI shell, a test worker) fixed Rich's width for good: a later
    `COLUMNS=250` was ignored and listings folded at the import-time width (three retraction tests failed under
    `make test` only)."""
    import os
    import subprocess
    import sys

    code = ("import os; from fusionwatch.cli._app import console; os.environ['COLUMNS'] = '250'; "
            "print(console.width)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "COLUMNS": "80"}, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "250"


def test_patient_correct_fixes_a_wrong_birth_date_with_its_audit(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong birth date (here from a DICOM header: 2000 for 1960) blocked a true surgery date and could not be
    corrected. `patient correct --birth-date` corrects it, keeps the old value with who and why (`patient
    corrections`), and the surgery date is then accepted; an impossible date is an error line and changes nothing."""
    from fusionwatch.records import Patient
    from fusionwatch.store import Store

    store = Store(db)
    try:
        store.add_patient(Patient("K-B", birth_date=dt.date(2000, 5, 1)))
    finally:
        store.close()
    assert _run("patient", "add", "K-B", "--surgery-date", "1999-03-01", "--db", db).exit_code == 2
    r = _run("patient", "correct", "K-B", "--birth-date", "2031-01-01", "--by", "rn-lee", "--reason", "x", "--db", db)
    assert r.exit_code == 2 and "error:" in r.output and "in the future" in r.output, r.output
    r = _run("patient", "correct", "K-B", "--birth-date", "1960-13-01", "--by", "rn-lee", "--reason", "x", "--db", db)
    assert r.exit_code == 2 and "--birth-date: expected a date YYYY-MM-DD" in r.output, r.output
    r = _run("patient", "correct", "K-B", "--birth-date", "1960-05-01", "--by", "rn-lee", "--reason",
             "header had 2000 for 1960", "--db", db)
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    assert "2000-05-01 -> 1960-05-01 by rn-lee: header had 2000 for 1960" in out and "patient corrections K-B" in out
    assert _run("patient", "add", "K-B", "--surgery-date", "1999-03-01", "--db", db).exit_code == 0
    r = _run("patient", "correct", "K-B", "--birth-date", "2000-01-01", "--by", "rn-lee", "--reason", "x", "--db", db)
    assert r.exit_code == 2 and "surgery on record: 1999-03-01 is before patient 'K-B' was born" in r.output, r.output
    monkeypatch.setenv("COLUMNS", "250")  # the audit listing on one line per entry
    r = _run("patient", "corrections", "K-B", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 0 and "birth date" in out and "2000-05-01" in out and "rn-lee" in out, r.output
    assert out.count("birth date") == 1  # the refused ones left nothing
    r = _run("patient", "corrections", "NOPE", "--db", db)
    assert r.exit_code == 2 and "Unknown patient key 'NOPE'" in r.output


def test_a_surgery_date_correction_that_moves_the_baseline_film_is_said(tmp_path: Path, db: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Correcting the surgery date by 100 days makes the 6-week film pre-operative and the 12-month film the
    baseline: the subsidence finding goes. Before, `patient add` said only 'visits relabelled'; now the correction
    (`patient correct --surgery-date`) says the baseline film changed (from which to which, why) and `followup` tells
    it under the baseline line."""
    monkeypatch.setenv("COLUMNS", "250")
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    assert "cage_subsidence" in _run("followup", "K-CLI", "--db", db).output
    r = _run("patient", "correct", "K-CLI", "--surgery-date", "2025-04-20", "--by", "dr-amy", "--reason",
             "operation note", "--visits-change-side", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert ("the baseline film changed (surgery date corrected from 2025-01-10 to 2025-04-20): from the pre-op film "
            "(2025-02-21; the 6-weeks film when recorded) to the " in out), out
    r = _run("followup", "K-CLI", "--db", db)
    out = " ".join(r.output.split())
    assert ("The baseline changed on" in out and "from the pre-op film (2025-02-21; the 6-weeks film when recorded)"
            in out), out
    assert "cage_subsidence" not in out
    r = _run("patient", "add", "K-CLI", "--surgery-date", "2025-04-20", "--db", db)  # nothing moved: nothing said
    assert r.exit_code == 0 and "baseline" not in r.output


def test_a_baseline_move_is_said_for_films_stored_before_baseline_recording(tmp_path: Path, db: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A database upgraded to 0005_baseline_changes holds films but no recorded baseline film. Before, the first
    surgery date correction that moved the baseline was recorded as the patient's first recording ('no change') and
    `patient add` and `followup` said nothing of the move; now the baseline on record before the change is recorded
    first, and the move is said."""
    from sqlalchemy import create_engine, text

    monkeypatch.setenv("COLUMNS", "250")
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    engine = create_engine(db)
    with engine.begin() as conn:  # as a database upgraded from 0004 holds it: no recording of the baseline film
        conn.execute(text("DELETE FROM baseline_changes"))
    engine.dispose()
    r = _run("patient", "correct", "K-CLI", "--surgery-date", "2025-04-20", "--by", "dr-amy", "--reason",
             "operation note", "--visits-change-side", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert ("the baseline film changed (surgery date corrected from 2025-01-10 to 2025-04-20)" in out
            and "from the pre-op film (2025-02-21; the 6-weeks film when recorded)" in out), out
    out = " ".join(_run("followup", "K-CLI", "--db", db).output.split())
    assert "The baseline changed on" in out and "from the pre-op film (2025-02-21; the 6-weeks film" in out, out


def _corrections(db: str, key: str) -> list:
    from fusionwatch.store import Store

    store = Store(db)
    try:
        return store.list_patient_corrections(key)
    finally:
        store.close()


def _surgery_date(db: str, key: str) -> dt.date:
    from fusionwatch.store import Store

    store = Store(db)
    try:
        return store.get_surgery(key).date
    finally:
        store.close()


def test_patient_add_does_not_change_a_surgery_date_on_record(tmp_path: Path, db: str) -> None:
    """Before, `patient add KEY --surgery-date D` on a patient with another date on record changed it, relabelled
    every visit and kept no old value, who or why. Now it is refused, pointing to `patient correct`, and nothing
    changes (not even a --patient-id given with it); the same date and approach still pass."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--patient", "K-CLI", "--db", db)
    r = _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-12", "--patient-id", "OTHER", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and out.startswith("error:") and "Traceback" not in out, r.output
    assert ("has surgery date 2025-01-10 on record" in out
            and "fusionwatch patient correct K-CLI --surgery-date 2025-01-12 --by NAME --reason WHY" in out), out
    assert _surgery_date(db, "K-CLI") == dt.date(2025, 1, 10)
    labels = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    assert [v["days_since_surgery"] for v in labels["visits"]] == [42, 365]
    assert _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--approach", "TLIF",
                "--db", db).exit_code == 0


def test_patient_correct_surgery_date_keeps_the_audit_and_relabels(tmp_path: Path, db: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`patient correct KEY --surgery-date D --by A --reason R` corrects the date as the birth-date correction does:
    the old value is kept with who, when and why (`patient corrections`), the visits are relabelled from the new date
    and `followup` shows the new days since surgery."""
    monkeypatch.setenv("COLUMNS", "250")
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--db", db)
    r = _run("patient", "correct", "K-CLI", "--surgery-date", "2025-01-03", "--by", "dr-amy", "--reason",
             "operation note says 3 January", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert ("corrected the surgery date of patient K-CLI: 2025-01-10 -> 2025-01-03 by dr-amy: operation note says "
            "3 January" in out), out
    (c,) = _corrections(db, "K-CLI")
    assert (c.field, c.old_value, c.new_value, c.by, c.reason) == (
        "surgery_date", "2025-01-10", "2025-01-03", "dr-amy", "operation note says 3 January")
    tl = json.loads(_run("followup", "K-CLI", "--db", db, "--json").output)
    assert [v["days_since_surgery"] for v in tl["visits"]] == [49, 372]
    listed = " ".join(_run("patient", "corrections", "K-CLI", "--db", db).output.split())
    assert "surgery date" in listed and "2025-01-10" in listed and "2025-01-03" in listed and "dr-amy" in listed


@pytest.mark.parametrize("args, message", [
    (["--surgery-date", "1950-01-01"], "from 30 years ago to one year ahead"),
    (["--surgery-date", (dt.date.today() + dt.timedelta(days=800)).isoformat()], "from 30 years ago to one year"),
    (["--surgery-date", "2025-02-30"], "--surgery-date: expected a date YYYY-MM-DD"),
    (["--surgery-date", "2025-01-10"], "already has surgery date 2025-01-10 on record"),
    (["--surgery-date", "1999-03-01"], "before patient 'K-B' was born"),
    (["--surgery-date", "2025-04-20"], "moves 1 visit(s) to the other side of the operation: 2025-02-21 (6-weeks, "
                                       "post-operative -> pre-operative, with films)"),
    (["--surgery-date", "2025-01-12", "--reason", " "], "needs the reason"),
    (["--surgery-date", "2025-01-12", "--birth-date", "1960-01-01"], "give one of --birth-date, --surgery-date, or "
                                                                      "--approach and/or --levels"),
    (["--visits-change-side", "--birth-date", "1960-01-01"], "--visits-change-side goes with --surgery-date"),
])
def test_patient_correct_surgery_date_refusals_change_nothing(tmp_path: Path, db: str, args: list[str],
                                                              message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Impossible dates, a date before the birth date, the date on record, a correction that would make the 6-week
    films pre-operative (a new date a month off does that) without --visits-change-side, no reason, or both fields
    at once: one error line, nothing changed."""
    from fusionwatch.records import Patient
    from fusionwatch.store import Store

    monkeypatch.setenv("COLUMNS", "250")
    store = Store(db)
    try:
        store.add_patient(Patient("K-B", birth_date=dt.date(2000, 5, 1)))
    finally:
        store.close()
    _run("patient", "add", "K-B", "--surgery-date", "2025-01-10", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--patient", "K-B", "--db", db)
    base = ["patient", "correct", "K-B", "--by", "dr-amy", *(["--reason", "typo"] if "--reason" not in args else [])]
    r = _run(*base, *args, "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and out.startswith("error:") and message in out, r.output
    assert _surgery_date(db, "K-B") == dt.date(2025, 1, 10) and _corrections(db, "K-B") == []


def _finding_kinds(db: str, key: str) -> list[list[str]]:
    return [[f["kind"] for f in v["findings"]] for v in json.loads(_run("followup", key, "--db", db,
                                                                         "--json").output)["visits"]]


@pytest.mark.parametrize("args, fix", [
    (["--approach", "TLIF"], "--approach TLIF"),
    (["--levels", "L4-L5,L5-S1"], "--levels L4-L5,L5-S1"),
    (["--approach", "ALIF", "--levels", "L4-S1"], "--approach ALIF --levels L4-L5,L5-S1"),
])
def test_patient_add_does_not_change_the_approach_or_levels_on_record(tmp_path: Path, db: str, args: list[str],
                                                                       fix: str) -> None:
    """Before, `patient add KEY --approach X` on a patient with another approach on record changed it and the implants
    without an audit, so a 3 mm disc height loss at the fused level turned from a fused disc height loss (no cage on
    record) into cage subsidence without a word; `--levels` changed the levels the same way. Now refused, pointing to
    `patient correct` with the values given; nothing changes (not even a --patient-id given with it)."""
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--approach", "posterolateral", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--patient", "K-CLI", "--db", db)
    assert _finding_kinds(db, "K-CLI") == [[], ["fused_disc_height_loss"]]
    r = _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", *args, "--patient-id", "OTHER", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and out.startswith("error:") and "Traceback" not in out, r.output
    assert ("has posterolateral L5-S1 on record; `patient add` does not change it" in out
            and f"fusionwatch patient correct K-CLI {fix} --by NAME --reason WHY" in out), out
    from fusionwatch.records import Surgery
    from fusionwatch.store import Store

    store = Store(db)
    try:
        s, patient = store.get_surgery("K-CLI"), store.get_patient("K-CLI")
    finally:
        store.close()
    assert (s.approach.value, s.levels, s.implants, patient.patient_id) == (
        "posterolateral", Surgery(SURGERY).levels, ("pedicle_screws", "rods"), "CLI-PID")  # the films' own
    assert _finding_kinds(db, "K-CLI") == [[], ["fused_disc_height_loss"]] and _corrections(db, "K-CLI") == []


def test_patient_correct_approach_and_levels_keeps_the_audit_and_changes_the_findings(
        tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`patient correct KEY --approach X --levels L --by A --reason R`: one command for one operation note, an audit
    row per changed field (the implants too: the cage decides cage subsidence), the findings follow the corrected
    record and the visit-level analysis is made again (as after a surgery date correction)."""
    import fusionwatch.ingest as ingest

    monkeypatch.setenv("COLUMNS", "250")
    _run("patient", "add", "K-CLI", "--surgery-date", "2025-01-10", "--approach", "posterolateral", "--db", db)
    _run("ingest", str(_films(tmp_path / "films")), "--patient", "K-CLI", "--db", db)
    analysed: list[list[str]] = []
    real = ingest.analyse_visits
    monkeypatch.setattr(ingest, "analyse_visits", lambda store, keys: analysed.append(list(keys)) or real(store, keys))
    r = _run("patient", "correct", "K-CLI", "--approach", "alif", "--levels", "L4-S1", "--by", "dr-amy", "--reason",
             "operation note: ALIF L4-S1", "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 0, r.output
    assert ("corrected the approach of patient K-CLI: posterolateral -> ALIF by dr-amy: operation note: ALIF L4-S1"
            in out and "corrected the levels of patient K-CLI: L5-S1 -> L4-L5,L5-S1" in out
            and "corrected the implants of patient K-CLI: pedicle_screws,rods -> pedicle_screws,rods,interbody_cage"
            in out), out
    assert [(c.field, c.old_value, c.new_value, c.by) for c in _corrections(db, "K-CLI")] == [
        ("approach", "posterolateral", "ALIF", "dr-amy"), ("levels", "L5-S1", "L4-L5,L5-S1", "dr-amy"),
        ("implants", "pedicle_screws,rods", "pedicle_screws,rods,interbody_cage", "dr-amy")]
    assert analysed == [["K-CLI"]]
    assert _finding_kinds(db, "K-CLI") == [[], ["cage_subsidence"]]
    listed = " ".join(_run("patient", "corrections", "K-CLI", "--db", db).output.split())
    assert "approach" in listed and "was posterolateral" in listed and "now ALIF" in listed, listed


@pytest.mark.parametrize("args, message", [
    (["--approach", "TLIF"], "already has TLIF L5-S1 on record; nothing changed"),
    (["--approach", "XLIF"], "--approach must be one of"),
    (["--levels", "S1-L5"], "--levels: S1-L5 is not a fused segment"),
    (["--approach", "PLIF", "--surgery-date", "2025-01-12"], "give one of --birth-date, --surgery-date, or "
                                                             "--approach and/or --levels (one correction per command"),
    (["--approach", "PLIF", "--reason", " "], "needs the reason"),
    (["--approach", "PLIF", "--visits-change-side"], "--visits-change-side goes with --surgery-date"),
])
def test_patient_correct_approach_refusals_change_nothing(db: str, args: list[str], message: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The values on record, an unknown approach, an upward segment, a date in the same command, no reason: one
    error line, nothing changed."""
    monkeypatch.setenv("COLUMNS", "250")
    _run("patient", "add", "K-B", "--surgery-date", "2025-01-10", "--db", db)
    base = ["patient", "correct", "K-B", "--by", "dr-amy", *(["--reason", "typo"] if "--reason" not in args else [])]
    r = _run(*base, *args, "--db", db)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and out.startswith("error:") and message in out, r.output
    assert _corrections(db, "K-B") == [] and _surgery_date(db, "K-B") == SURGERY


def test_patient_correct_surgery_date_of_a_patient_without_one_points_to_patient_add(db: str) -> None:
    """No surgery on record: nothing to correct; the message says how to record one."""
    from fusionwatch.records import Patient
    from fusionwatch.store import Store

    store = Store(db)
    try:
        store.add_patient(Patient("K-N"))
    finally:
        store.close()
    r = _run("patient", "correct", "K-N", "--surgery-date", "2025-01-12", "--by", "a", "--reason", "b", "--db", db)
    assert r.exit_code == 2 and "patient add K-N --surgery-date D" in " ".join(r.output.split()), r.output


def test_followup_says_a_verdict_s_finding_is_no_longer_made(tmp_path: Path, db: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader confirmed the 2-week visit's hardware finding (made against the immediate film); a 6-week film
    ingested later becomes the baseline, the 2-week visit is no longer compared and its finding is cleared. The
    verdict is kept (the audit) and `followup` says the finding it refers to is no longer produced; before, the stale
    finding was still shown with the verdict."""
    import fusionwatch.implants as implants
    from fusionwatch.records import Finding, Severity

    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(implants, "detect_implants", lambda film, lm: None)
    monkeypatch.setattr(implants, "check_implants",
                        lambda *a: [Finding("rod_discontinuity", Severity.ACTION, "Rod gap.")])

    _run("patient", "add", "K-CLI", "--surgery-date", SURGERY.isoformat(), "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_dated_films(tmp_path / "a", (2, 14, 365))), "--db", db)
    r = _run("override", "K-CLI", "2-weeks", "--author", "dr-amy", "--finding", "rod_discontinuity=confirmed",
             "--db", db)
    assert r.exit_code == 0, r.output
    _run("ingest", str(_dated_films(tmp_path / "b", (42,))), "--db", db)
    out = _run("followup", "K-CLI", "--db", db).output
    (line,) = [x for x in out.splitlines() if "reader finding:rod_discontinuity = confirmed" in x]
    assert "the tool no longer makes this finding at this visit" in line, out
    assert out.count("rod_discontinuity") == 2, out  # the verdict line and the 12-month finding


def test_followup_says_a_verdict_s_finding_is_made_again_against_another_baseline(
        tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader confirmed the 12-month hardware finding, measured against the immediate film; a 6-week film ingested
    later becomes the baseline and the finding is made again, measured against it: the verdict is not applied to it.
    Before, `followup` said of that verdict 'the tool no longer makes this finding at this visit' while the finding
    was listed just above; now it says it in the clinician report's words (report, dc378c8)."""
    import fusionwatch.implants as implants
    from fusionwatch.records import Finding, Severity

    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(implants, "detect_implants", lambda film, lm: None)
    monkeypatch.setattr(implants, "check_implants",
                        lambda *a: [Finding("rod_discontinuity", Severity.ACTION, "Rod gap.")])

    _run("patient", "add", "K-CLI", "--surgery-date", SURGERY.isoformat(), "--patient-id", "CLI-PID", "--db", db)
    _run("ingest", str(_dated_films(tmp_path / "a", (2, 365))), "--db", db)
    r = _run("override", "K-CLI", "12-months", "--author", "dr-amy", "--finding", "rod_discontinuity=confirmed",
             "--db", db)
    assert r.exit_code == 0, r.output
    _run("ingest", str(_dated_films(tmp_path / "b", (42,))), "--db", db)
    out = _run("followup", "K-CLI", "--db", db).output
    (line,) = [x for x in out.splitlines() if "reader finding:rod_discontinuity = confirmed" in x]
    assert ("a finding of this name is made again, measured against another baseline film after the verdict: the "
            "verdict is not applied to it (confirm or reject it again)") in line, out
    assert "no longer makes" not in out, out
    (finding,) = [x for x in out.splitlines() if "rod_discontinuity: Rod gap." in x]
    assert "reader:" not in finding, out  # shown without the verdict: it is not applied


@pytest.mark.parametrize("args, expected", [
    (["followup", "K-1", "--jsno"], "error: fusionwatch followup: no such option --jsno; did you mean --json? "),
    (["patient", "correct", "K-1", "--surgery-dat", "2025-01-12", "--by", "a", "--reason", "b"],
     "error: fusionwatch patient correct: no such option --surgery-dat; did you mean --surgery-date? "),
    (["followup", "K-1", "--zzzzzz"], "error: fusionwatch followup: no such option --zzzzzz. "),
    (["--jsno", "followup", "K-1"], "error: fusionwatch: no such option --jsno. "),
    (["followup", "K-1", "extra"], "error: fusionwatch followup: Got unexpected extra argument(s) (extra). "),
    (["folowup", "K-1"], "error: fusionwatch: No such command 'folowup'. Did you mean 'followup'? "),
])
def test_a_mistyped_option_or_command_is_one_error_line(db: str, args: list[str], expected: str) -> None:
    """Before, a mistyped option name (`followup KEY --jsno`), an extra argument or a mistyped command printed Typer's
    usage box (exit 2); now one `error:` line names the command and the unknown option, and the nearest valid one
    when one is close, exit 2, nothing run."""
    _run("patient", "add", "K-1", "--surgery-date", "2025-01-10", "--db", db)
    r = runner.invoke(app, [*args, "--db", db] if args[0] != "--jsno" else args, env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert r.output.startswith(expected) and r.output.count("\n") == 1, r.output
    assert "Nothing was changed" in r.output and "--help" in r.output and "╭" not in r.output
    assert _corrections(db, "K-1") == []


@pytest.mark.parametrize("args", [
    ["followup", "K", "postgresql://fw:S3cretPW@db.example/fw"],
    ["report", "K", "--out", "x", "--visit", "--db", "postgresql://fw:S3cretPW@db.example/fw"],
])
def test_a_usage_error_never_prints_a_database_password(args: list[str]) -> None:
    """R's F10: an option left without its value before --db makes the URL an extra argument, which the one-line
    usage error quoted whole, password included; now masked as the database-open error masks it."""
    r = _run(*args)
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and out.startswith("error:") and "unexpected extra argument" in out, r.output
    assert "S3cretPW" not in r.output and "postgresql://fw:***@db.example/fw" in out, r.output


def test_no_arguments_still_prints_the_help() -> None:
    """`fusionwatch` and `fusionwatch patient` without arguments print their help, as before (no error line)."""
    for args in ([], ["patient"]):
        r = runner.invoke(app, args)
        assert "Usage" in r.output and "error:" not in r.output, r.output


def test_the_corrections_table_reads_at_80_columns(db: str) -> None:
    """At 80 columns the seven-column corrections table left 'by' and 'reason' 4 characters wide, folded letter by
    letter ('reas/on', 'radi/olog/y'). Now every line fits, ids, fields and dates are whole, and names and reasons
    wrap between words."""
    import re

    from fusionwatch.records import Patient
    from fusionwatch.store import Store

    store = Store(db)
    try:
        store.add_patient(Patient("K-B", birth_date=dt.date(1906, 5, 1)))
    finally:
        store.close()
    _run("patient", "add", "K-B", "--surgery-date", "2025-01-10", "--db", db)
    reason = "DICOM header had 1906 for 1960; checked against the chart at the outside hospital"
    assert _run("patient", "correct", "K-B", "--birth-date", "1960-05-01", "--by", "Dr Kim, radiology", "--reason",
                reason, "--db", db).exit_code == 0
    assert _run("patient", "correct", "K-B", "--surgery-date", "2025-01-12", "--by", "pa-lee", "--reason",
                "operation note", "--db", db).exit_code == 0
    out = runner.invoke(app, ["patient", "corrections", "K-B", "--db", db], env={"COLUMNS": "80"}).output
    lines = out.splitlines()
    assert max(len(x) for x in lines) <= 80, out
    words = re.findall(r"[\w-]+", out)
    for token in ("1906-05-01", "1960-05-01", "2025-01-10", "2025-01-12", "radiology", "operation",
                  *re.findall(r"[\w-]+", reason)):
        assert token in words, (token, out)
    assert any("surgery date" in x for x in lines) and any("birth date" in x for x in lines), out
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", out)) == 2, out  # when, whole
