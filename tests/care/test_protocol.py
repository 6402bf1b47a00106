"""Tests for care/protocol.py: the shipped example loads; a custom protocol is validated with clear errors."""

import copy
from pathlib import Path

import pytest
import yaml

from fusionwatch.care.protocol import (
    DEFAULT_PROTOCOL_PATH,
    ProtocolError,
    default_protocol,
    load_protocol,
    parse_protocol,
)


def _data() -> dict:
    return yaml.safe_load(DEFAULT_PROTOCOL_PATH.read_text())


def test_default_is_labelled_example_and_follows_clinical_md() -> None:
    p = default_protocol()
    assert p.is_example and "replace" in p.name.lower()
    assert [v.day for v in p.visits][:5] == [14, 42, 91, 182, 365]
    twelve = next(v for v in p.visits if v.id == "12-months")
    assert {"flexion", "extension"} <= set(twelve.imaging)
    early = p.restriction_phase(10)
    assert early is not None
    assert {r.topic for r in early.restrictions} >= {"lifting", "bending_twisting", "driving", "brace"}
    assert "4.5 kg" in next(r.clinician for r in early.restrictions if r.topic == "lifting")
    assert any("NSAID" in n.clinician for n in p.medication_notes_on(30))
    assert not any("NSAID" in n.clinician for n in p.medication_notes_on(200))
    assert p.therapy_phase(60).id == "outpatient-pt"


def test_phase_boundaries_half_open() -> None:
    p = default_protocol()
    assert p.restriction_phase(41).id == "early-healing"
    assert p.restriction_phase(42).id == "return-to-activity"
    assert p.restriction_phase(5000).id == "maintenance"


def test_custom_file_loads(tmp_path: Path) -> None:
    d = _data()
    d["name"] = "Team X"
    d["is_example"] = False
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(d))
    p = load_protocol(f)
    assert p.name == "Team X" and not p.is_example


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("visits"), "missing required section 'visits'"),
        (lambda d: d.__setitem__("schema", "v2"), "field 'schema' must be"),
        (lambda d: d["visits"][1].__setitem__("day", -3), r"visits\[1\] \(id '6-weeks'\): field 'day'.*got -3"),
        (lambda d: d["visits"][1].__setitem__("window", [50, 60]), "must contain the target day 42"),
        (lambda d: d["visits"][1].__setitem__("imaging", ["oblique"]), "unknown imaging view 'oblique'"),
        (lambda d: d["visits"][2].__setitem__("window", [50, 120]), "overlap"),
        (lambda d: d["visits"][2].__setitem__("id", "6-weeks"), "id '6-weeks' is used twice"),
        (lambda d: d["restriction_phases"][0].__setitem__("to_day", 0), "to_day \\(0\\) must be after from_day"),
        (lambda d: d["restriction_phases"][0].__setitem__("to_day", 60), "phases 'early-healing'.*overlap"),
        (lambda d: d["restriction_phases"][0]["restrictions"][0].pop("patient"), "missing required field 'patient'"),
        (lambda d: d["therapy_phases"][0].__setitem__("goals", "walk"), "'goals' must be a list"),
        (lambda d: d.__setitem__("is_example", "yes"), "'is_example' must be true or false"),
    ],
)
def test_invalid_protocol_raises(mutate, message: str) -> None:
    d = copy.deepcopy(_data())
    mutate(d)
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(d)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="Cannot read care protocol file"):
        load_protocol(tmp_path / "nope.yaml")


def test_bad_yaml_raises(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("visits: [\n")
    with pytest.raises(ProtocolError, match="not valid YAML"):
        load_protocol(f)


def test_a_protocol_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    """A protocol saved as Latin-1 ('café'): before, a UnicodeDecodeError traceback. A UTF-8 byte-order mark is read."""
    f = tmp_path / "latin1.yaml"
    f.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(ProtocolError, match=r"^Care protocol file '.*latin1\.yaml' is not UTF-8 text \(byte 0xe9 at "
                                            r"position 9\): save it as UTF-8\.$"):
        load_protocol(f)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + yaml.safe_dump(_data(), allow_unicode=True).encode("utf-8"))
    assert load_protocol(bom).name == parse_protocol(_data()).name


def _restr(d: dict, phase_id: str) -> list:
    return next(p for p in d["restriction_phases"] if p["id"] == phase_id)["restrictions"]


def test_default_marks_return_to_activity_as_on_track_only() -> None:
    """The shipped lines that would over-reassure a patient whose fusion is in doubt are gated; the one that clears
    activity needs a reader's status (fusion_confirmed, R's F18)."""
    p = default_protocol()
    maintenance = p.restriction_phase(400)
    gated = [r for r in maintenance.restrictions if r.only_if == "fusion_confirmed"]
    assert any("normal activities" in r.patient for r in gated)
    assert not any("normal activit" in r.patient for r in maintenance.restrictions if r.only_if is None)
    assert p.therapy_phase(400).only_if == "fusion_confirmed"  # 'return to work, hobbies and sport'
    assert p.therapy_phase(120).only_if == "fusion_on_track"
    c = p.fusion_concern
    assert c is not None and {"pseudarthrosis_suspected", "delayed_union_suspected",
                              "insufficient_evidence"} <= set(c.statuses)
    assert {"screw_loosening", "rod_fracture", "cage_subsidence"} <= set(c.findings)
    assert any("which activities are safe" in r.patient for r in c.restrictions)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: _restr(d, "maintenance")[0].__setitem__("only_iff", "fusion_on_track"),
         r"restriction_phases\[3\] \(id 'maintenance'\)\.restrictions\[0\]: unknown field 'only_iff'"),
        (lambda d: d["visits"][0].__setitem__("dya", 3), r"visits\[0\] \(id 'wound-check'\): unknown field 'dya'"),
        (lambda d: d.__setitem__("fusion_concerns", {}), r"top level: unknown field 'fusion_concerns'"),
        (lambda d: _restr(d, "maintenance")[0].__setitem__("only_if", "fused"),
         r"field 'only_if' must be one of fusion_on_track, fusion_confirmed, got 'fused'"),
        (lambda d: d["fusion_concern"]["statuses"].remove("pseudarthrosis_suspected"),
         r"fusion_concern: field 'statuses' must list every status that is not on track; missing "
         r"pseudarthrosis_suspected"),
        (lambda d: d["fusion_concern"]["statuses"].append("on_track"), r"unknown status 'on_track' in 'statuses'"),
        (lambda d: d["fusion_concern"]["findings"].append("Screw Loosening"), r"finding kind 'Screw Loosening'"),
        (lambda d: d["fusion_concern"].__setitem__("min_severity", "high"), r"'min_severity' must be one of"),
        (lambda d: d["fusion_concern"]["restrictions"][0].__setitem__("only_if", "fusion_on_track"),
         r"fusion_concern\.restrictions\[0\]: field 'only_if' cannot be used"),
        (lambda d: d["fusion_concern"].__setitem__("say", "x"), r"fusion_concern: unknown field 'say'"),
        (lambda d: d.pop("fusion_concern"),
         r"restriction_phases \(id 'bone-maturing'\): uses 'only_if: fusion_on_track' but the protocol has no "
         r"'fusion_concern' section"),
    ],
)
def test_invalid_fusion_gating_raises(mutate, message: str) -> None:
    d = copy.deepcopy(_data())
    mutate(d)
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(d)


def test_protocol_without_gating_needs_no_concern_section() -> None:
    d = copy.deepcopy(_data())
    d.pop("fusion_concern")
    for ph in d["restriction_phases"]:
        for r in ph["restrictions"]:
            r.pop("only_if", None)
    for t in d["therapy_phases"]:
        t.pop("only_if", None)
    p = parse_protocol(d)
    assert p.fusion_concern is None


def test_nested_list_errors_name_their_entry() -> None:
    d = copy.deepcopy(_data())
    d["restriction_phases"][1].pop("restrictions")
    with pytest.raises(ProtocolError, match=r"restriction_phases\[1\] \(id 'return-to-activity'\): missing required "
                                            r"section 'restrictions'"):
        parse_protocol(d)
    d = copy.deepcopy(_data())
    d["fusion_concern"]["restrictions"] = ["Ask first."]
    with pytest.raises(ProtocolError, match=r"fusion_concern\.restrictions\[0\]: expected a mapping"):
        parse_protocol(d)


def test_example_exercises_say_what_to_do() -> None:
    """The patient report lists the example protocol's exercises verbatim: a named exercise ('Bird dog', 'Glute
    bridges', 'Log roll') is explained in plain words where it is used, and no goal uses 'glute' or 'fusion matures'."""
    from fusionwatch.care.protocol import default_protocol

    jargon = ("log roll", "bird dog", "bracing", "bridge", "plank", "hamstring", "ankle pump")
    for phase in default_protocol().therapy_phases:
        for text in (*phase.goals, *phase.example_exercises):
            if any(j in text.lower() for j in jargon):
                assert ":" in text or "(" in text, (phase.id, text)
            assert "glute" not in text.lower() and "fusion matures" not in text.lower(), (phase.id, text)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["visits"][4].__setitem__("repeat", {"every_days": 365, "label": "x"}),
         "'12-months' repeats but is not the last visit"),
        (lambda d: d["visits"][5]["repeat"].__setitem__("every_days", 100), r"every_days \(100\) must be longer"),
        (lambda d: d["visits"][5]["repeat"].__setitem__("every_dayz", 365), "unknown field 'every_dayz'"),
        (lambda d: d["visits"][5].__setitem__("repeat", 365), "expected a mapping with 'every_days'"),
    ],
)
def test_invalid_repeat_raises(mutate, message: str) -> None:
    """Only the last visit repeats, with windows that cannot overlap; typos are named."""
    d = copy.deepcopy(_data())
    mutate(d)
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(d)


class TestVisitWindows:
    """Protocol.planned_visits() / visit_on(): the one list of visit windows, repeats included (care engineer C,
    session 14: followup/ named day-300 films '12-months' while this protocol's 12-month window is 330-425)."""

    def test_visit_on_names_the_window_that_holds_the_day(self) -> None:
        """A day inside a window is that visit; a day between windows and a day before surgery are no visit."""
        p = default_protocol()
        assert p.visit_on(330).id == "12-months" and p.visit_on(425).id == "12-months"
        assert p.visit_on(300) is None and p.visit_on(329) is None and p.visit_on(426) is None
        assert p.visit_on(-5) is None
        assert p.visit_on(14).id == "wound-check"

    def test_repeats_of_the_last_visit_are_windows_too(self) -> None:
        """'Then yearly': day 1040 (3-year window 1035-1165) is the first repeat; the list stops inside 30 years."""
        p = default_protocol()
        assert p.visit_on(1040).id == "24-months+1"
        assert p.visit_on(1000) is None
        visits = p.planned_visits()
        assert visits[: len(p.visits)] == p.visits
        assert all(v.window[1] <= 30 * 366 for v in visits) and len(visits) > len(p.visits) + 20
        assert [v.id for v in p.planned_visits(1094)] == [v.id for v in p.visits]  # the 3-year target is day 1095

    def test_clear_benefit_day_is_the_start_of_the_12_month_window(self) -> None:
        """PROMs are held against the 1-year benefit from the day the protocol's 12-month visit window opens (before,
        273: the start of followup's own 12-month window, so a day-300 answer was a '1-year' one here while its
        visit was outside every planned window)."""
        from fusionwatch.care.proms import CLEAR_BENEFIT_DAY

        twelve = next(v for v in default_protocol().visits if v.id == "12-months")
        assert CLEAR_BENEFIT_DAY == twelve.window[0] == 330

    def test_followup_names_films_by_the_protocol_windows(self) -> None:
        """followup and care name every day 0-1200 the same way (the lead's decision, session 14): followup labels a
        film or contact by the planned visit whose target day is nearest (`Protocol.visit_days`; a day-300 film is the
        12-month follow-up, taken early), and `care` names a visit outside every window by that same label with its
        timing ("30 days before its planned window (days 330-425)"); a visit inside a window is that window's visit
        in both, and only care speaks of early or late. Before: followup's own table called day 300 '12-months' and
        care listed it 'outside every planned window' (and day 1000: 'unscheduled day 1000' vs nothing)."""
        import datetime as dt

        from fusionwatch.care.protocol import followup_label
        from fusionwatch.care.schedule import build_schedule
        from fusionwatch.followup.schedule import visit_label

        p = default_protocol()
        surgery = dt.date(2025, 1, 1)
        wrong = []
        for day in range(0, 1201):
            when = surgery + dt.timedelta(days=day)
            label, scheduled = visit_label(day, when)
            s = build_schedule(surgery, [when], imaging_visits=[when], today=when, protocol=p)
            done = [i for i in s.items if i.done_on == when]
            off = [o for o in s.off_window_visits([when]) if o.date == when]
            if day <= 7:
                care_name, timing = "immediate-post-op", None  # followup's own film name; no planned care visit
                ok = not done and not off and s.unmatched_visits == (when,)
            elif done:
                care_name, timing = followup_label(done[0].visit), None
                ok = not off and p.visit_on(day) == done[0].visit
            else:
                care_name, timing = (off[0].label, off[0].timing_text) if off else (None, None)
                ok = len(off) == 1 and ("before its planned window" in timing or "after its planned window" in timing)
            if not (ok and scheduled and label == care_name and "window" not in label):
                wrong.append((day, label, care_name, timing))
        assert not wrong, f"{len(wrong)} days disagree, e.g. {wrong[:3]}"

    def test_a_day_300_film_is_the_12_month_visit_taken_early(self) -> None:
        """followup: '12-months'; care: the same name, 30 days before its planned window, and the 12-month visit is
        not counted as done by it (it stays due once its window opens)."""
        import datetime as dt

        from fusionwatch.care.schedule import ItemStatus, build_schedule
        from fusionwatch.followup.schedule import visit_label

        surgery = dt.date(2025, 1, 1)
        film = surgery + dt.timedelta(days=300)
        assert visit_label(300, film) == ("12-months", True)
        s = build_schedule(surgery, [film], imaging_visits=[film], today=surgery + dt.timedelta(days=340))
        assert [o.text for o in s.off_window_visits([film])] == [
            f"{film.isoformat()} (day 300, films): 12-months, 30 days before its planned window (days 330-425)"]
        assert {i.visit.id: i.status for i in s.items}["12-months"] is ItemStatus.DUE
        late = surgery + dt.timedelta(days=460)
        s = build_schedule(surgery, [late], today=late)
        assert s.off_window[0].label == "12-months" and s.off_window[0].timing_text == (
            "35 days after its planned window (days 330-425)")

    def test_default_labels_change_only_where_measured(self) -> None:
        """The labels of the table followup had before (2-weeks 8-24, 6-weeks 25-63, 3-months 64-135, 6-months
        136-272, 12-months 273-547, 24-months 548-912, then unscheduled) and the nearest-target labels differ on
        exactly these days (measured, 11:30 UTC): 25-27 (nearer 14 than 42: '2-weeks'), 64-66 (nearer 42 than 91:
        '6-weeks'), 136 ('3-months'), 273 ('6-months'), and 913 on (the protocol's yearly visits: '36-months'). The
        old windows did not meet exactly half-way between the targets, as docs/followup.md said they did."""
        import datetime as dt

        from fusionwatch.followup.schedule import visit_label
        from fusionwatch.followup.settings import ScheduledVisit

        old = (ScheduledVisit("immediate-post-op", 1, (0, 7)), ScheduledVisit("2-weeks", 14, (8, 24)),
               ScheduledVisit("6-weeks", 42, (25, 63)), ScheduledVisit("3-months", 91, (64, 135)),
               ScheduledVisit("6-months", 182, (136, 272)), ScheduledVisit("12-months", 365, (273, 547)),
               ScheduledVisit("24-months", 730, (548, 912)))
        when = dt.date(2025, 1, 1)
        changed = {d: (visit_label(d, when, old)[0], visit_label(d, when)[0]) for d in range(-5, 1201)
                   if visit_label(d, when, old) != visit_label(d, when)}
        assert sorted(changed) == [25, 26, 27, 64, 65, 66, 136, 273, *range(913, 1201)]
        assert {changed[d] for d in (25, 26, 27)} == {("6-weeks", "2-weeks")}
        assert {changed[d] for d in (64, 65, 66)} == {("3-months", "6-weeks")}
        assert changed[136] == ("6-months", "3-months") and changed[273] == ("12-months", "6-months")
        assert {changed[d][1] for d in range(913, 1201)} == {"36-months"}

    def test_the_baseline_choice_keeps_its_labels(self) -> None:
        """followup/compare.py still takes the 6-week film, else the immediate post-operative one; the days named
        '6-weeks' hold the protocol's whole 6-week window (35-56), and 'immediate-post-op' stays days 0-7."""
        import datetime as dt

        from fusionwatch.followup.compare import BASELINE_LABELS
        from fusionwatch.followup.schedule import visit_label

        assert BASELINE_LABELS == ("6-weeks", "immediate-post-op")
        when = dt.date(2025, 1, 1)
        six = [d for d in range(0, 400) if visit_label(d, when)[0] == "6-weeks"]
        assert six == list(range(28, 67))
        assert [d for d in range(-3, 400) if visit_label(d, when)[0] == "immediate-post-op"] == list(range(0, 8))
        assert visit_label(-1, when) == ("pre-op", True)
