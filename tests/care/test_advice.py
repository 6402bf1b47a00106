"""Tests for care/advice.py: phase lines marked only_if: fusion_on_track are held back when fusion is in doubt or a
hardware finding is present, and the protocol's fusion_concern lines are said instead."""

from __future__ import annotations

import pytest

from fusionwatch.care.advice import ConcernReason, care_advice
from fusionwatch.care.protocol import default_protocol
from fusionwatch.records import Finding, FusionStatus, Severity

TWELVE_MONTHS = 379  # the day the demo's 12-month reports are written (2 weeks after the visit)
NOT_ON_TRACK = [
    FusionStatus.DELAYED_UNION_SUSPECTED,
    FusionStatus.PSEUDARTHROSIS_SUSPECTED,
    FusionStatus.INSUFFICIENT_EVIDENCE,
    None,  # not assessed
]
SAFE = "Your surgeon will tell you which activities are safe for you now."


def _patient_lines(advice) -> str:  # noqa: ANN001 - CareAdvice
    return "\n".join([*(r.patient for r in advice.restrictions), *advice.therapy_goals, *advice.example_exercises,
                      *(n.patient for n in advice.medication_notes)])


def _finding(kind: str, severity: Severity = Severity.WATCH) -> Finding:
    return Finding(kind, severity, f"{kind} (test)")


@pytest.mark.parametrize("status", NOT_ON_TRACK, ids=lambda s: s.value if s else "not-assessed")
def test_not_on_track_is_never_told_to_return_to_normal_activity(status: FusionStatus | None) -> None:
    advice = care_advice(default_protocol(), TWELVE_MONTHS, fusion_status=status)
    text = _patient_lines(advice).lower()
    assert "normal activit" not in text
    assert "return to work, hobbies and sport" not in text
    assert advice.restrictions[0].patient == SAFE  # the concern lines come first
    assert not advice.fusion_on_track and advice.concern_shown
    assert any("normal activities" in r.patient for r in advice.withheld)  # kept for the clinician report
    assert advice.therapy_withheld and "Keep doing the exercises your therapist gave you" in advice.therapy_goals


@pytest.mark.parametrize("status", [FusionStatus.ON_TRACK, FusionStatus.FUSED_CRITERIA_MET, "fused_criteria_met"])
def test_on_track_gets_the_phase_lines(status: FusionStatus | str) -> None:
    """A status a reader entered (status_confirmed): every phase line, the activity line included."""
    advice = care_advice(default_protocol(), TWELVE_MONTHS, fusion_status=status, status_confirmed=True)
    text = _patient_lines(advice)
    assert "Most people can go back to their normal activities now." in text
    assert SAFE not in text and not advice.withheld and not advice.concern_reasons
    assert advice.fusion_on_track and advice.fusion_confirmed and not advice.concern_shown


@pytest.mark.parametrize("status", [FusionStatus.ON_TRACK, FusionStatus.FUSED_CRITERIA_MET])
def test_an_automatic_status_never_clears_activity(status: FusionStatus) -> None:
    """R's F18 (session 14): an automatic 'fusion criteria met on motion; bridging bone not assessed (confirm
    clinically)' told the patient 'Most people can go back to their normal activities now.' Now the line that clears
    activity (only_if: fusion_confirmed) waits for a reader's status; the patient reads that the surgeon will tell
    what is safe, and not to start heavy work or sports before; nothing is in doubt (no 'see you sooner')."""
    advice = care_advice(default_protocol(), TWELVE_MONTHS, fusion_status=status)
    text = _patient_lines(advice)
    assert "normal activit" not in text.lower()
    assert advice.restrictions[0].patient == SAFE
    assert "Do not start heavy work or sports until your surgeon says it is safe." in text
    assert [r.clinician for r in advice.withheld] == ["Return to full activity as fusion is confirmed."]
    assert advice.concern_reasons == (ConcernReason("unconfirmed", status.value),)
    words = {"on_track": "on track", "fused_criteria_met": "fusion criteria met"}[status.value]
    assert advice.concern_reasons[0].unconfirmed_text == f"status {words} (automatic) not confirmed by a reader"
    assert advice.fusion_on_track and not advice.fusion_confirmed and advice.concern_shown and not advice.in_doubt
    assert advice.therapy_withheld and "Return to work, hobbies and sport" not in " ".join(advice.therapy_goals)
    assert "Keep doing the exercises your therapist gave you" in advice.therapy_goals


def test_an_automatic_on_track_status_keeps_the_lines_that_clear_no_activity() -> None:
    """Months 3-6 on an automatic 'on track': the fusion_on_track lines stay (they relax nothing to 'normal'), and
    nothing is held back, so no concern lines are added."""
    advice = care_advice(default_protocol(), 120, fusion_status=FusionStatus.ON_TRACK)
    assert "You can lift a little more, step by step, with bent knees." in _patient_lines(advice)
    assert not advice.withheld and not advice.concern_reasons and not advice.concern_shown


def test_fusion_confirmed_is_a_known_condition_and_needs_a_concern_section() -> None:
    """A protocol may mark a line only_if: fusion_confirmed; without a fusion_concern section it is refused, as
    fusion_on_track is (nothing would be said in its place)."""
    import yaml

    from fusionwatch.care.protocol import DEFAULT_PROTOCOL_PATH, ProtocolError, parse_protocol

    data = yaml.safe_load(DEFAULT_PROTOCOL_PATH.read_text())
    gated = [r for ph in data["restriction_phases"] for r in ph["restrictions"] if r.get("only_if")]
    assert {r["only_if"] for r in gated} == {"fusion_on_track", "fusion_confirmed"}
    for ph in data["restriction_phases"]:
        for r in ph["restrictions"]:
            if r.get("only_if") == "fusion_on_track":
                r.pop("only_if")
    for sec in ("therapy_phases", "medication_notes"):
        for e in data.get(sec, []):
            e.pop("only_if", None)
    del data["fusion_concern"]
    with pytest.raises(ProtocolError, match="uses 'only_if: fusion_confirmed' but the protocol has no 'fusion_conce"):
        parse_protocol(data)


@pytest.mark.parametrize("kind", ["screw_loosening_suspected", "rod_fracture_suspected", "cage_subsidence",
                                  "cage_migration", "screw_breakage_suspected", "fused_disc_height_loss"])
def test_hardware_finding_holds_back_on_track_lines_even_when_fused(kind: str) -> None:
    advice = care_advice(default_protocol(), TWELVE_MONTHS, fusion_status=FusionStatus.FUSED_CRITERIA_MET,
                         findings=[_finding(kind)])
    assert "normal activit" not in _patient_lines(advice).lower()
    assert advice.concern_reasons == (ConcernReason("finding", kind),)
    assert advice.concern_findings == (kind,)
    assert advice.restrictions[0].patient == SAFE


def test_finding_below_min_severity_or_not_listed_does_not_hold_back() -> None:
    p = default_protocol()
    info = care_advice(p, TWELVE_MONTHS, fusion_status=FusionStatus.FUSED_CRITERIA_MET,
                       findings=[_finding("cage_subsidence", Severity.INFO)])
    assert info.fusion_on_track
    # adjacent-segment wear is not a fusion or hardware problem in the shipped example (a care team may list it)
    asd = care_advice(p, TWELVE_MONTHS, fusion_status=FusionStatus.FUSED_CRITERIA_MET,
                      findings=[_finding("adjacent_segment_disc_height_loss")])
    assert asd.fusion_on_track
    # a kind that only shares the first letters with a listed one does not match ("cage_subsidence" != "cage_sub")
    near = care_advice(p, TWELVE_MONTHS, fusion_status=FusionStatus.ON_TRACK, findings=[_finding("cage_subsidencex")])
    assert near.fusion_on_track


def test_months_3_to_6_lifting_line_held_back_with_loosening() -> None:
    p = default_protocol()
    ok = care_advice(p, 120, fusion_status=FusionStatus.ON_TRACK)
    loose = care_advice(p, 120, fusion_status=FusionStatus.ON_TRACK,
                        findings=[_finding("screw_loosening_suspected")])
    assert any("lift a little more" in r.patient for r in ok.restrictions)
    assert not any("lift a little more" in r.patient for r in loose.restrictions)
    assert any("Avoid heavy or sudden lifting" in r.patient for r in loose.restrictions)  # ungated line stays
    # a therapist is not handed new loaded core progressions (side plank, bird dog) while the restrictions say to ask
    # the surgeon first: the core-strengthening phase waits, the current programme goes on
    assert any(e.startswith("Modified side plank") for e in ok.example_exercises) and not ok.therapy_withheld
    assert loose.therapy_withheld and not loose.example_exercises
    assert loose.therapy_goals == ("Keep doing the exercises your therapist gave you",
                                   "Ask your surgeon or therapist before you add new or harder exercises")


def test_early_phase_restrictions_stay_and_concern_is_added() -> None:
    advice = care_advice(default_protocol(), 20, fusion_status=None, findings=[_finding("cage_migration")])
    text = _patient_lines(advice)
    assert "heavier than 4.5 kg" in text and SAFE in text


def test_before_surgery_nothing_applies() -> None:
    advice = care_advice(default_protocol(), -3, fusion_status=FusionStatus.PSEUDARTHROSIS_SUSPECTED)
    assert advice.restrictions == () and advice.therapy_goals == () and advice.medication_notes == ()


def test_unknown_status_string_raises() -> None:
    with pytest.raises(ValueError, match="fused"):
        care_advice(default_protocol(), 100, fusion_status="fused")


def test_schedule_advice_uses_today() -> None:
    import datetime as dt

    from fusionwatch.care.schedule import build_schedule

    s = build_schedule(dt.date(2025, 1, 1), today=dt.date(2026, 1, 15))
    a = s.advice(FusionStatus.PSEUDARTHROSIS_SUSPECTED)
    assert a.day == s.day and a.restriction_phase is s.restriction_phase
    assert SAFE in _patient_lines(a)


def test_in_doubt_only_on_evidence() -> None:
    """'Not assessed' holds the on-track lines back but is not itself evidence of a problem."""
    p = default_protocol()
    assert not care_advice(p, TWELVE_MONTHS, fusion_status=None).in_doubt
    assert care_advice(p, TWELVE_MONTHS, fusion_status=FusionStatus.INSUFFICIENT_EVIDENCE).in_doubt
    assert care_advice(p, TWELVE_MONTHS, fusion_status=FusionStatus.ON_TRACK,
                       findings=[_finding("rod_fracture_suspected", Severity.ACTION)]).in_doubt
    assert not care_advice(p, TWELVE_MONTHS, fusion_status=FusionStatus.ON_TRACK).in_doubt
    assert not care_advice(p, -5, fusion_status=FusionStatus.PSEUDARTHROSIS_SUSPECTED).in_doubt


@pytest.mark.parametrize("status", [FusionStatus.PSEUDARTHROSIS_SUSPECTED, None])
def test_concern_reasons_are_raw_values(status: FusionStatus | None) -> None:
    """The reasons are the status value ('not_assessed' without one) and the finding kinds, in that order: raw values
    the reports word (report.labels.concern_reason_texts), not a second wording (they were "status: pseudarthrosis
    suspected" strings beside the labels the reports built again from the status and the findings)."""
    advice = care_advice(default_protocol(), TWELVE_MONTHS, fusion_status=status,
                         findings=[_finding("rod_fracture_suspected")])
    assert advice.concern_reasons == (
        ConcernReason("status", status.value if status else "not_assessed"),
        ConcernReason("finding", "rod_fracture_suspected"),
    )
    assert not advice.fusion_on_track and advice.concern_findings == ("rod_fracture_suspected",)


@pytest.mark.parametrize("day", [3, 20, 41, 60])
def test_no_films_yet_leaves_the_early_lines_alone(day: int) -> None:
    """Weeks 0-12 of the example gate nothing: with no films yet (not assessed) the phase lines are the advice, without
    the fusion-concern lines. Before, a patient at day 20 read 'Until your surgeon has checked your X-rays with you,
    ask before you lift heavy things' beside 'Do not lift anything heavier than 4.5 kg' (and the therapist 'No return
    to full activity until the surgeon has reviewed the films') before the 6-week films were due."""
    p = default_protocol()
    advice = care_advice(p, day, fusion_status=None)
    assert not advice.concern_shown and not advice.withheld and not advice.in_doubt
    assert advice.restrictions == p.restriction_phase(day).restrictions
    assert SAFE not in _patient_lines(advice) and "ask before you lift heavy things" not in _patient_lines(advice)
    # a doubt raised by the evidence still brings them, as does a line held back (3-6 months, not assessed)
    assert care_advice(p, day, fusion_status=FusionStatus.PSEUDARTHROSIS_SUSPECTED).concern_shown
    assert care_advice(p, 120, fusion_status=None).concern_shown
