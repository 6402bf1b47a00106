"""The README demo end to end, on small films: every scenario reaches its reports with the expected headline results."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.demo import run_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"), pdf=False, film_size=(400, 500))


def test_every_scenario_has_reports(demo) -> None:
    """One patient per simulator scenario, each with clinician and patient HTML reports and no failed film."""
    assert sorted(p.scenario for p in demo.patients) == sorted(
        ["solid-fusion", "pseudarthrosis", "cage-subsidence", "screw-loosening", "adjacent-segment-degeneration"]
    )
    for p in demo.patients:
        assert p.files["clinician_html"].is_file() and p.files["patient_html"].is_file(), p.scenario
        assert p.ingest_failures == (), p.ingest_failures
    assert demo.index.is_file() and "fusionwatch demo" in demo.index.read_text()


def test_headline_results(demo) -> None:
    """Solid fusion raises nothing; the subsidence and pseudarthrosis scenarios show what they were built to show."""
    by = {p.scenario: p for p in demo.patients}
    assert by["solid-fusion"].findings == () and by["solid-fusion"].red_flags == ()
    assert by["pseudarthrosis"].status == "pseudarthrosis_suspected"
    # the index words a fused status by what was assessed: the example reader graded solid fusion Bridwell I
    if by["solid-fusion"].status == "fused_criteria_met":
        assert by["solid-fusion"].status_text.startswith("Radiographic fusion criteria met")
        assert "Radiographic fusion criteria met" in demo.index.read_text()
    for p in demo.patients:
        if p.status == "fused_criteria_met" and p.scenario != "solid-fusion":  # no reader grade: motion only
            assert "on motion" in p.status_text, (p.scenario, p.status_text)
    assert any("disc height fell" in f for f in by["cage-subsidence"].findings)
    # each finding names the ref a reader's override takes (fusionwatch override ... --finding REF=confirmed|rejected)
    assert all(f.endswith("]") and "[ref " in f for p in demo.patients for f in p.findings)
    assert any(f.endswith("[ref cage_subsidence]") for f in by["cage-subsidence"].findings)
    # the day-12 fever is a red flag of the 6-weeks report, not of the last one (whose report says none): listed
    # apart, with the report it is in
    assert by["cage-subsidence"].red_flags == ()
    assert any(f.startswith("earlier, urgent:") and "in the 6-weeks report" in f
               for f in by["cage-subsidence"].earlier_symptoms)
    for p in demo.patients:  # the index and console say what the linked last report says
        page = p.files["clinician_html"].read_text(encoding="utf-8")
        assert ("Red flags: none reported for this visit" in page) == (p.red_flags == ()), p.scenario
    # a routine symptom is listed, but not as a red flag
    assert by["screw-loosening"].red_flags == ()
    assert any(f.startswith("routine:") for f in by["screw-loosening"].routine_symptoms)


def test_patient_report_defers_to_care_team(demo) -> None:
    """The plain-language report says the care team's instructions come first and gives no millimetres."""
    for p in demo.patients:
        text = p.files["patient_html"].read_text()
        assert "care team" in text and "take precedence" in text, p.scenario
        assert " mm" not in text, p.scenario


def test_one_clinical_visit_per_window(demo) -> None:
    """The screw-loosening patient's symptom report 18 days after the 6-month films is a contact, not a second
    '6-months' visit (the timeline showed two), and it has no fusion status of its own; the films' visit keeps it."""
    from fusionwatch.store import Store

    store = Store(demo.database)
    try:
        for p in demo.patients:
            labels = [v.label for v in store.load_timeline(p.key).visits]
            assert len(labels) == len(set(labels)), (p.scenario, labels)
        key = next(p.key for p in demo.patients if p.scenario == "screw-loosening")
        tl = store.load_timeline(key)
    finally:
        store.close()
    contact = next(v for v in tl.visits if v.label.startswith("contact day"))
    assert not contact.films and contact.status.status is None
    six = tl.visit("6-months")
    assert six.films and six.date < contact.date and six.status.status is not None


def test_cohort_visits_csv(demo) -> None:
    """Beside the cohort measurement CSV, a de-identified cohort table with one row per patient visit: each patient's
    last-films row carries the status the index shows; the index links both tables."""
    import csv
    from pathlib import Path

    from fusionwatch.export.visits import VISIT_COLUMNS
    from fusionwatch.pseudonym import pseudonym

    assert demo.cohort_visits is not None and demo.cohort_visits.parent == demo.cohort_measurements.parent
    table = list(csv.DictReader(demo.cohort_visits.open()))
    assert tuple(table[0]) == VISIT_COLUMNS
    secret = Path(f"{demo.database}.deid-secret").read_bytes().strip()  # made by the demo's exports
    alias = {p.key: pseudonym(p.key, secret) for p in demo.patients}
    assert {r["patient"] for r in table} == set(alias.values())  # site pseudonyms, never the keys
    measured = list(csv.DictReader(demo.cohort_measurements.open()))
    assert {r["patient"] for r in measured} <= set(alias.values())  # the same pseudonym in both cohort tables
    for p in demo.patients:
        rows = [r for r in table if r["patient"] == alias[p.key]]
        assert [r["visit"] for r in rows].count("pre-op") == 1, p.scenario
        last = [r for r in rows if r["has_films"] == "True"][-1]
        assert last["visit"] == p.last_visit and last["fusion_status_automatic"] == p.status, p.scenario
        assert any(r["odi_percent"] for r in rows), p.scenario  # the example questionnaires
    assert all(r["visit_date"][:4] in ("1999", "2000", "2001") for r in table)  # shifted: surgery on 2000-01-01
    index = demo.index.read_text()
    assert demo.cohort_visits.name in index and demo.cohort_measurements.name in index


SURGERY = dt.date(2026, 1, 10)


def _summary_on_day_120(fever_days: tuple[int, ...]):
    """demo._summary() on a made-up timeline: films at 6 weeks (day 42, the baseline), 3 months (day 91) and 6 months
    (day 182), 'today' day 120; a fever reported on each of ``fever_days``."""
    from types import SimpleNamespace

    from fusionwatch.demo import _summary
    from fusionwatch.followup.model import StatusResult, Timeline, VisitSummary
    from fusionwatch.records import FusionStatus

    def visit(label: str, days: int) -> VisitSummary:
        return VisitSummary(label, SURGERY + dt.timedelta(days=days), days, label == "6-weeks", (f"{label}-lat",),
                            f"{label}-lat", (), (), (), (), StatusResult(FusionStatus.ON_TRACK))

    timeline = Timeline("K", None, "6-weeks", "", (visit("6-weeks", 42), visit("3-months", 91),
                                                   visit("6-months", 182)))
    records = [SimpleNamespace(visit_date=SURGERY + dt.timedelta(days=d), symptoms=("fever",)) for d in fever_days]
    store = SimpleNamespace(load_timeline=lambda key: timeline, list_symptoms=lambda key: records)
    return _summary(store, "K", "made-up", {}, (), today=SURGERY + dt.timedelta(days=120))  # type: ignore[arg-type]


def test_summary_lists_the_red_flags_the_last_report_shows() -> None:
    """demo._summary() on a made-up timeline (films at 6 weeks and 3 months; 'today' before a 6-month visit with
    films): the last report is the 3-month one; fever reported twice in its window is one red flag with the newest
    date, as report.build.red_flags_for lists it in that report (the demo listed one line per symptom report: two);
    the 6-month films, after today, are not the last report; the day-12 fever, before the window, is listed apart
    with the report it is in."""
    got = _summary_on_day_120(fever_days=(12, 60, 80))
    assert got.last_visit == "3-months"
    assert len(got.red_flags) == 1 and got.red_flags[0].startswith("urgent:"), got.red_flags
    assert got.red_flags[0].endswith(f"(reported {(SURGERY + dt.timedelta(days=80)).isoformat()})")
    assert len(got.earlier_symptoms) == 1 and "in the 6-weeks report" in got.earlier_symptoms[0]
    assert got.routine_symptoms == ()


def test_summary_lists_a_symptom_reported_since_the_last_report_s_visit() -> None:
    """demo._summary(), 'today' (day 120) after the 3-month visit and before the 6-month films (day 182): a fever
    reported on day 100 is the last report's red flag (report.build.red_flag_window with 'today': films after today
    do not close the window). Before, the 6-month films closed it at the 3-month visit, and the fever was listed
    nowhere (neither a red flag nor an earlier symptom)."""
    got = _summary_on_day_120(fever_days=(100,))
    assert got.last_visit == "3-months"
    assert len(got.red_flags) == 1 and got.red_flags[0].startswith("urgent:"), got
    assert got.red_flags[0].endswith(f"(reported {(SURGERY + dt.timedelta(days=100)).isoformat()})")
    assert got.earlier_symptoms == ()


def test_a_rerun_deletes_the_old_secret_with_the_database(tmp_path, monkeypatch) -> None:
    """The demo deletes its old database, and now its pseudonym secret with it: a kept secret file made a second run
    with FUSIONWATCH_DEID_SECRET set fail (after minutes of work) as 'the variable differs from the file'."""
    import fusionwatch.demo as demo_module

    class Stop(Exception):
        pass

    def stop(_db):
        raise Stop

    (tmp_path / "demo.db").write_text("an earlier run's database")
    secret = tmp_path / "demo.db.deid-secret"
    secret.write_text("0" * 64)
    monkeypatch.setattr(demo_module, "demo_journeys", lambda *a, **k: [])
    monkeypatch.setattr(demo_module, "Store", stop)  # stop right after the old run's files are removed
    with pytest.raises(Stop):
        run_demo(tmp_path, pdf=False)
    assert not (tmp_path / "demo.db").exists() and not secret.exists()
