"""Tests for report/patient_text.py: the care advice follows the fusion status and findings; plain, non-repeating
sentences; every kind of finding the follow-up and implant checks produce reads as a plain sentence."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from fusionwatch.care.protocol import DEFAULT_PROTOCOL_PATH, parse_protocol
from fusionwatch.care.schedule import build_schedule
from fusionwatch.records import Finding, FusionStatus, Override, Severity
from fusionwatch.report.example import SURGERY, example_report_data
from fusionwatch.report.model import ReportData
from fusionwatch.report.patient_text import (
    CARE_TEAM_SENTENCE,
    FINDING_PLAIN,
    SAFE_ACTIVITY_SENTENCE,
    SOONER_SENTENCE,
    patient_text,
)
from fusionwatch.report.render import render_patient_html

NORMAL = re.compile(r"normal activit|return to work, hobbies and sport", re.IGNORECASE)


def twelve_months(tmp: Path, status: FusionStatus | None, findings: tuple[Finding, ...] = (), *,
                  reader: str | None = None, protocol=None) -> ReportData:  # noqa: ANN001 - Protocol
    """The example patient's last visit moved to 12 months, reported 2 weeks later (as the demo does)."""
    d = example_report_data(tmp, status=status or FusionStatus.ON_TRACK)
    visit_date = SURGERY + dt.timedelta(days=365)
    over = None if reader is None else Override("fusion_status", reader, "Dr Reader",
                                                dt.datetime(2027, 1, 12, tzinfo=dt.UTC))
    v = dataclasses.replace(d.visit, label="12-months", date=visit_date, days_since_surgery=365, findings=findings,
                            fusion_status=status, reader_status=over)
    visits = (*d.visits[:-1], v)
    today = visit_date + dt.timedelta(days=14)
    schedule = build_schedule(SURGERY, [x.date for x in visits], today=today, protocol=protocol)
    return dataclasses.replace(d, visits=visits, schedule=schedule, generated_on=today)


def _loose() -> Finding:
    return Finding("screw_loosening_suspected", Severity.WATCH, "S1 screw halo 1.7 mm (threshold 1.0 mm).")


@pytest.mark.parametrize(
    ("status", "findings"),
    [
        (FusionStatus.PSEUDARTHROSIS_SUSPECTED, ()),
        (FusionStatus.PSEUDARTHROSIS_SUSPECTED, (_loose(),)),  # the demo's screw-loosening patient
        (FusionStatus.DELAYED_UNION_SUSPECTED, ()),
        (FusionStatus.INSUFFICIENT_EVIDENCE, ()),
        (FusionStatus.FUSED_CRITERIA_MET, (Finding("rod_fracture_suspected", Severity.ACTION, "Rod gap."),)),
        (FusionStatus.FUSED_CRITERIA_MET, (Finding("cage_subsidence", Severity.WATCH, "Disc height fell."),)),
    ],
    ids=["pseudarthrosis", "pseudarthrosis+loosening", "delayed", "inconclusive", "fused+rod", "fused+subsidence"],
)
def test_patient_in_doubt_is_not_told_to_return_to_normal_activity(tmp_path: Path, status, findings) -> None:
    d = twelve_months(tmp_path, status, findings)
    t = patient_text(d)
    assert not NORMAL.search(t.all_text()), t.all_text()
    assert SAFE_ACTIVITY_SENTENCE in t.do_now
    assert any("Do not start heavy work or sports" in s for s in t.avoid_now)
    assert t.appointment_note == (SOONER_SENTENCE,)
    page = render_patient_html(d)
    assert not NORMAL.search(page)
    assert "Nothing special right now" not in page
    assert CARE_TEAM_SENTENCE.split(".")[0] in page


def test_solid_fusion_gets_the_on_track_lines(tmp_path: Path) -> None:
    """A reader's 'fused': the on-track lines, activity included."""
    t = patient_text(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET, reader="fused_criteria_met"))
    assert "Most people can go back to their normal activities now." in t.do_now
    assert SAFE_ACTIVITY_SENTENCE not in t.all_text() and not t.appointment_note


def test_an_automatic_fused_status_does_not_clear_activity(tmp_path: Path) -> None:
    """R's F18: an automatic 'fused' (no reader) is not told 'normal activities' nor 'Nothing special'; the surgeon
    will tell what is safe; nothing is in doubt, so no 'see you sooner'."""
    d = twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET)
    t = patient_text(d)
    assert not NORMAL.search(t.all_text()) and SAFE_ACTIVITY_SENTENCE in t.do_now and not t.appointment_note
    assert "Nothing special right now" not in render_patient_html(d)


def test_reader_status_is_the_one_acted_on(tmp_path: Path) -> None:
    """The reader's 'fused' replaces an automatic 'pseudarthrosis suspected'; the reverse holds the lines back."""
    confirmed = patient_text(twelve_months(tmp_path, FusionStatus.PSEUDARTHROSIS_SUSPECTED,
                                           reader="fused_criteria_met"))
    assert "Most people can go back to their normal activities now." in confirmed.do_now
    assert "Your surgeon will confirm this" not in confirmed.all_text()  # the reader did
    doubted = patient_text(twelve_months(tmp_path / "b", FusionStatus.FUSED_CRITERIA_MET,
                                         reader="pseudarthrosis_suspected"))
    assert not NORMAL.search(doubted.all_text())


def test_weeks_without_films_give_the_phase_lines_without_the_deferral(tmp_path: Path) -> None:
    """Day 14, no films yet (status not assessed), nothing held back: the early phase's own lines are the advice,
    not headed by 'Your surgeon will tell you which activities are safe for you now.' (which read as 'wait' above 'do
    not lift more than 4.5 kg'; care.advice shows no concern lines on such a day since d50b92e)."""
    d = example_report_data(tmp_path, status=None)
    day14 = SURGERY + dt.timedelta(days=14)
    v = dataclasses.replace(d.visit, label="2-weeks", date=day14, days_since_surgery=14, findings=(),
                            fusion_status=None, reader_status=None)
    d = dataclasses.replace(d, visits=(v,), current=0, schedule=build_schedule(SURGERY, [day14], today=day14),
                            generated_on=day14)
    t = patient_text(d)
    assert SAFE_ACTIVITY_SENTENCE not in t.all_text()
    assert any("Walk every day" in s for s in t.do_now)
    assert any("heavier than 4.5 kg" in s for s in t.avoid_now)


def test_protocol_without_concern_section_still_defers(tmp_path: Path) -> None:
    d = yaml.safe_load(DEFAULT_PROTOCOL_PATH.read_text())
    d.pop("fusion_concern")
    for ph in d["restriction_phases"]:
        for r in ph["restrictions"]:
            r.pop("only_if", None)
    for tp in d["therapy_phases"]:
        tp.pop("only_if", None)
    t = patient_text(twelve_months(tmp_path, FusionStatus.PSEUDARTHROSIS_SUSPECTED, protocol=parse_protocol(d)))
    assert t.do_now[0] == SAFE_ACTIVITY_SENTENCE


@pytest.mark.parametrize(
    "kind",
    ["adjacent_segment_disc_height_loss", "adjacent_segment_listhesis", "adjacent_segment_flexion_kyphosis",
     "loss_of_segmental_lordosis", "rod_fracture_suspected", "screw_breakage_suspected", "fused_disc_height_loss",
     "instability_L5_S1", "motion_indeterminate", "pi_ll_mismatch"],
)
def test_every_finding_kind_reads_as_a_plain_sentence(tmp_path: Path, kind: str) -> None:
    """The kinds the follow-up rules and implant checks emit (not only the old short names) reach the patient."""
    t = patient_text(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET, (Finding(kind, Severity.WATCH, "x"),)))
    text = " ".join(t.xray_now)
    assert any(s in text for s in FINDING_PLAIN.values()), text
    assert "another change" not in text


def test_adjacent_segment_wear_is_not_hidden_behind_no_change(tmp_path: Path) -> None:
    t = patient_text(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET,
                                   (Finding("adjacent_segment_disc_height_loss", Severity.WATCH, "x"),)))
    text = " ".join(t.xray_now)
    assert "The disc just above where you had surgery has become thinner." in text
    assert "found no change in the screws" in text  # hardware itself unchanged: still true, and said once


@pytest.mark.parametrize("status", list(FusionStatus))
def test_no_sentence_is_repeated(tmp_path: Path, status: FusionStatus) -> None:
    """Outside the warning-sign list (which repeats the patient's own red flags on purpose)."""
    t = patient_text(twelve_months(tmp_path, status, (_loose(), _loose())))
    body = " ".join([*t.xray_now, *t.healing_vs_expected, *t.pain_and_function, *t.do_now, *t.avoid_now,
                     *t.exercises, *t.medicines, *t.appointment_note])
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", body) if s.strip()]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert not repeated
    assert " ".join(t.xray_now).count("Your surgeon will") <= 1 or status is FusionStatus.FUSED_CRITERIA_MET


def test_fused_without_findings_defers_to_the_surgeon_once(tmp_path: Path) -> None:
    """'... Your surgeon will confirm this.' was followed by 'Your surgeon will look at the X-rays too.'"""
    t = patient_text(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET))
    assert " ".join(t.xray_now).count("Your surgeon will") == 1, t.xray_now


def test_a_finding_the_surgeon_will_talk_about_says_when(tmp_path: Path) -> None:
    """An adjacent-segment change on a fused, on-track patient: the report says the surgeon will talk about it, and the
    next planned visit is a year away, so it also says the surgeon may want to see them sooner (was silent); the
    activity lines stay (adjacent-segment wear does not hold them back in the example protocol)."""
    asd = (Finding("adjacent_segment_listhesis", Severity.WATCH, "x"),)
    t = patient_text(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET, asd, reader="fused_criteria_met"))
    assert "Your surgeon will talk with you about what this means" in " ".join(t.xray_now)
    assert t.appointment_note == (SOONER_SENTENCE,)
    assert "Most people can go back to their normal activities now." in t.do_now


def test_pseudarthrosis_says_usually_joined_once(tmp_path: Path) -> None:
    t = patient_text(twelve_months(tmp_path, FusionStatus.PSEUDARTHROSIS_SUSPECTED))
    assert t.all_text().lower().count("usually") == 1


@pytest.mark.parametrize("status", list(FusionStatus))
def test_fused_is_never_stated_as_a_fact(tmp_path: Path, status: FusionStatus) -> None:
    """'fused' only where the evidence allows: no 'the fused level' for a patient whose bones may not have joined."""
    asd = (Finding("adjacent_segment_listhesis", Severity.WATCH, "x"),
           Finding("loss_of_segmental_lordosis", Severity.WATCH, "x"))
    text = patient_text(twelve_months(tmp_path, status, asd)).all_text().lower()
    assert "fused" not in text


def test_fused_status_is_not_followed_by_if_xrays_cannot_show(tmp_path: Path) -> None:
    t = patient_text(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET))
    assert not any("cannot show this clearly" in s for s in t.healing_vs_expected)


def test_example_patient_keeps_copy_semantics(tmp_path: Path) -> None:
    """patient_text does not change the ReportData it reads (the clinician report renders the same object)."""
    d = example_report_data(tmp_path)
    before = copy.deepcopy(d.visit.findings)
    patient_text(d)
    assert d.visit.findings == before


def test_warning_heading_does_not_understate_emergencies(tmp_path: Path) -> None:
    """The first box says 'call your emergency number now': its heading must not say 'call today'."""
    page = render_patient_html(twelve_months(tmp_path, FusionStatus.ON_TRACK))
    assert "Warning signs: when to get help" in page and "Warning signs: call today" not in page
    assert "Call your emergency number" in page[page.index("Warning signs"):]


def test_not_assessed_does_not_ask_to_be_seen_sooner(tmp_path: Path) -> None:
    t = patient_text(twelve_months(tmp_path, None))
    assert not NORMAL.search(t.all_text())  # the on-track lines still need evidence
    assert SAFE_ACTIVITY_SENTENCE in t.do_now and not t.appointment_note


@pytest.mark.parametrize(
    ("back", "leg", "expected"),
    [
        (3, 2, ["Your back and leg pain are clearly better than before surgery."]),
        (0, 1, ["Your back and leg pain are about the same as before surgery."]),
        (3, 0, ["Your back pain is clearly better than before surgery.",
                "Your leg pain is about the same as before surgery."]),
        (None, -2, ["Your leg pain is worse than before surgery. Please tell your care team."]),
        (-3, -2, ["Your back and leg pain are worse than before surgery. Please tell your care team."]),
    ],
)
def test_pain_said_once_when_both_changed_alike(back, leg, expected) -> None:
    from fusionwatch.report.patient_text import _pain_sentences

    assert _pain_sentences(back, leg) == expected


def _override(target: str, value: str) -> Override:
    return Override(target, value, "Dr Reader", dt.datetime(2027, 1, 12, tzinfo=dt.UTC))


def test_fused_on_motion_alone_does_not_say_the_bones_look_joined(still_at_12_months) -> None:  # noqa: ANN001
    """No reader graded bridging bone: the patient is told what the bending films showed, not that the bones look
    joined, and the surgeon still has the last word; the care advice is unchanged."""
    from fusionwatch.report.patient_text import FUSED_ON_MOTION_PLAIN

    _, d = still_at_12_months()
    assert d.visit.bridging_call == "not_assessed" and d.visit.fused_on_motion_only
    t = patient_text(d)
    text = t.all_text()
    assert "look joined" not in text and "meet the signs of a solid fusion" not in text
    assert FUSED_ON_MOTION_PLAIN in t.xray_now
    assert "no longer move" in text and "Your surgeon will look at the X-rays to confirm this." in text
    assert " ".join(t.xray_now).count("Your surgeon will") == 1
    assert text.endswith(CARE_TEAM_SENTENCE)
    assert not NORMAL.search(text) and SAFE_ACTIVITY_SENTENCE in t.do_now  # R's F18: no reader confirmed it
    assert "look joined" not in render_patient_html(d)
    assert "look joined" not in patient_text(d.deidentified()).all_text()


@pytest.mark.parametrize(
    "bone, overrides",
    [
        ("bridged", ()),
        (None, (("grade:bridwell", "I"),)),
        (None, (("fusion_status", "fused_criteria_met"),)),
    ],
    ids=["reader-bridging-0.8", "bridwell-I", "reader-status-fused"],
)
def test_fused_with_judged_bridging_keeps_the_full_wording(still_at_12_months, bone, overrides) -> None:  # noqa: ANN001
    from fusionwatch.followup import BoneEvidence

    b = BoneEvidence(bridging_fraction=0.8, source="reader:amy") if bone else None
    _, d = still_at_12_months(b, [_override(*o) for o in overrides])
    assert not d.visit.fused_on_motion_only
    text = patient_text(d).all_text()
    assert "meet the signs of a solid fusion, which means the bones look joined" in text
    assert "no longer move" not in text
    assert "look joined" in patient_text(d.deidentified()).all_text()  # the call survives de-identification


def test_reader_grade_short_of_bridging_is_worded_on_motion(still_at_12_months) -> None:  # noqa: ANN001
    """A reader's bridging fraction below the setting or Bridwell II: not the 'look joined' wording either."""
    from fusionwatch.followup import BoneEvidence

    for bone, over in ((BoneEvidence(bridging_fraction=0.2, source="reader:amy"), ()),
                       (None, (_override("grade:bridwell", "II"),))):
        _, d = still_at_12_months(bone, over)
        assert d.visit.fused_on_motion_only
        assert "look joined" not in patient_text(d).all_text()


def test_pre_op_report_says_nothing_about_implants_or_healing(tmp_path) -> None:  # noqa: ANN001
    """Before surgery there are no screws and nothing heals: the pre-op report said "no change in the screws, rods and
    spacer since your earlier X-rays" and "doctors do not expect to see solid bone yet"."""
    import dataclasses

    from fusionwatch.report.example import example_report_data
    from fusionwatch.report.render import render_clinician_html, render_patient_html

    d = example_report_data(tmp_path)
    pre = next(i for i, v in enumerate(d.visits) if v.days_since_surgery is not None and v.days_since_surgery < 0)
    d = dataclasses.replace(d, current=pre, status_index=None)
    t = patient_text(d)
    said = " ".join((*t.xray_now, *t.healing_vs_expected))
    assert "before your surgery" in said and "look at the X-rays too" not in said  # "uses them" already says it
    for word in ("screw", "rod", "spacer", "solid bone", "joining"):
        assert word not in said
    page = render_patient_html(d)
    assert "How healing compares" not in page
    assert "--status STATUS" not in render_clinician_html(d)  # no fusion status to enter before surgery


def test_first_film_after_surgery_is_not_compared_with_an_earlier_one(tmp_path) -> None:  # noqa: ANN001
    """The first film after surgery has nothing to compare the implants with: it is the reference for later films."""
    import dataclasses

    from fusionwatch.report.example import example_report_data

    d = example_report_data(tmp_path)
    first = next(i for i, v in enumerate(d.visits) if v.days_since_surgery is not None and v.days_since_surgery >= 0
                 and v.film_id)
    d = dataclasses.replace(d, current=first, status_index=None)
    said = " ".join(patient_text(d).xray_now)
    assert "no change in the" not in said and "Later X-rays will be compared with these ones." in said


class TestPainNoBetterAtOneYear:
    """Pain or daily activities no better than before surgery (less than the MCID, CLINICAL.md) by the 12-month visit
    gets a careful line that defers to the care team; earlier, or after a clear improvement, it does not."""

    LINE = "By about a year after surgery, many people feel clearly better than before surgery."

    @staticmethod
    def _with_proms(d: ReportData, *, post_day: int, pre: dict, post: dict) -> ReportData:
        from fusionwatch.care.proms import PromRecord

        proms = (PromRecord(SURGERY - dt.timedelta(days=14), **pre),
                 PromRecord(SURGERY + dt.timedelta(days=post_day), **post))
        return dataclasses.replace(d, proms=proms)

    def test_pain_about_the_same_at_12_months(self, tmp_path: Path) -> None:
        d = self._with_proms(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET), post_day=365,
                             pre={"back_pain": 6, "leg_pain": 5}, post={"back_pain": 6, "leg_pain": 4})
        t = patient_text(d)
        assert "Your back and leg pain are about the same as before surgery." in t.pain_and_function
        line = " ".join(t.pain_and_function)
        assert self.LINE in line and "please talk with your care team" in line.lower()
        assert "mm" not in line and "MCID" not in line

    def test_not_said_before_the_12_month_window(self, tmp_path: Path) -> None:
        d = self._with_proms(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET), post_day=182,
                             pre={"back_pain": 6}, post={"back_pain": 6})
        assert self.LINE not in " ".join(patient_text(d).pain_and_function)

    def test_not_said_after_a_clear_improvement(self, tmp_path: Path) -> None:
        d = self._with_proms(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET), post_day=365,
                             pre={"back_pain": 7, "leg_pain": 6}, post={"back_pain": 2, "leg_pain": 1})
        assert self.LINE not in " ".join(patient_text(d).pain_and_function)

    def test_worse_keeps_its_own_line_only(self, tmp_path: Path) -> None:
        """Worse pain already asks the patient to tell the care team: not a second, softer line."""
        d = self._with_proms(twelve_months(tmp_path, FusionStatus.FUSED_CRITERIA_MET), post_day=365,
                             pre={"back_pain": 4}, post={"back_pain": 7})
        text = " ".join(patient_text(d).pain_and_function)
        assert "worse than before surgery. Please tell your care team." in text and self.LINE not in text


def test_bending_xrays_are_explained_where_the_report_first_speaks_of_them(still_at_12_months, tmp_path) -> None:  # noqa: ANN001
    """A patient meets 'bending X-rays' in the X-ray section (fused on the bending films alone) or in the healing
    section ('your surgeon may ask for bending X-rays'); it was explained nowhere before (the appointments explain it
    further down, when a bending visit is planned). Now one plain sentence says what they are, just before the first
    sentence that uses the term, and only once."""
    from fusionwatch.report.patient_text import BENDING_XRAYS_EXPLAINED, FUSED_ON_MOTION_PLAIN

    _, d = still_at_12_months()
    t = patient_text(d)
    i = t.xray_now.index(FUSED_ON_MOTION_PLAIN)
    assert t.xray_now[i - 1] == BENDING_XRAYS_EXPLAINED
    assert t.all_text().count(BENDING_XRAYS_EXPLAINED) == 1
    t = patient_text(twelve_months(tmp_path, FusionStatus.ON_TRACK))
    (later,) = [s for s in t.healing_vs_expected if "bending X-rays" in s]
    assert t.healing_vs_expected[t.healing_vs_expected.index(later) - 1] == BENDING_XRAYS_EXPLAINED
    t = patient_text(twelve_months(tmp_path, FusionStatus.INSUFFICIENT_EVIDENCE))
    assert "bending X-rays" not in " ".join([*t.xray_now, *t.healing_vs_expected])
    assert BENDING_XRAYS_EXPLAINED not in t.all_text()  # nothing to explain


def test_the_care_team_comes_first_at_the_top_of_the_report(tmp_path: Path) -> None:
    """The care team's precedence was said in a box at the end of the last page and in the small page footer: a patient
    reading the first page learnt it only from the footer. Now it is said under the title too, in plain words."""
    import html as _html

    from fusionwatch.report.patient_text import CARE_TEAM_FIRST

    html = _html.unescape(render_patient_html(example_report_data(tmp_path)))
    top = html[html.index("<h1"):html.index("<h2", html.index("<h1"))]
    assert CARE_TEAM_FIRST in top
    assert html.index(CARE_TEAM_SENTENCE) > html.index(CARE_TEAM_FIRST)  # the closing box stays


@pytest.mark.parametrize(("days", "said"), [(0, "These X-rays were taken on the day of your surgery."),
                                            (1, "These X-rays were taken 1 day after your surgery."),
                                            (12, "These X-rays were taken 12 days after your surgery.")])
def test_the_days_since_surgery_read_as_plain_words(tmp_path: Path, days: int, said: str) -> None:
    """The immediate post-operative film (day 1, as the demo's) read 'taken 1 days after your surgery'; day 0 read
    '0 days after'."""
    d = example_report_data(tmp_path)
    first = next(i for i, v in enumerate(d.visits) if v.days_since_surgery is not None and v.days_since_surgery >= 0
                 and v.film_id)
    v = dataclasses.replace(d.visits[first], days_since_surgery=days, date=SURGERY + dt.timedelta(days=days))
    d = dataclasses.replace(d, visits=(*d.visits[:first], v, *d.visits[first + 1:]), current=first, status_index=None)
    assert patient_text(d).xray_now[0] == said


def test_a_contact_without_films_says_no_xrays_were_taken(tmp_path: Path) -> None:
    """A report of a contact without films (the 2-week wound check where a fever was reported): it said 'These X-rays
    were taken 12 days after your surgery. The computer check found no change in the screws, rods and spacer since
    your earlier X-rays. Your surgeon will look at the X-rays too.' - X-rays and a check that never happened."""
    import html as _html

    d = example_report_data(tmp_path)
    first = next(i for i, v in enumerate(d.visits) if v.days_since_surgery is not None and v.days_since_surgery >= 0
                 and v.film_id)
    contact = dataclasses.replace(d.visits[first], label="2-weeks", days_since_surgery=12,
                                  date=SURGERY + dt.timedelta(days=12), film_id=None, film_png=None, measurements=(),
                                  motion=(), findings=(), fusion_status=None, films_taken=False)
    visits = tuple(sorted((*d.visits, contact), key=lambda v: v.date))
    d = dataclasses.replace(d, visits=visits, current=visits.index(contact), baseline=None, status_index=None)
    t = patient_text(d)
    assert t.xray_now == ("No X-rays were taken at this visit. What your X-rays showed is in the report of the visit "
                          "when they were taken.",)
    page = _html.unescape(render_patient_html(d))
    assert "What the X-rays show this time" not in page and "These X-rays were taken" not in page
    assert "computer check" not in page

