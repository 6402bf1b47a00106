"""Tests for followup/refs.py and the per-finding verdicts in followup/evidence.py and followup/timeline.py.

The demo's screw-loosening patient at 12 months has three ``screw_loosening_suspected`` findings: the S1 screw's
angle change (lateral film) and a halo beside each S1 screw (AP film). A reader's verdict must be able to name one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from fusionwatch.followup import BoneEvidence, SegmentMotion, VisitInput, build_timeline
from fusionwatch.followup.evidence import finding_verdicts, fusion_evidence
from fusionwatch.followup.refs import (
    finding_refs,
    finding_verdicts_per_finding,
    rejected_kinds_of,
    standing_findings,
    verdict_for,
)
from fusionwatch.records import Finding, Override, Severity, Surgery

KIND = "screw_loosening_suspected"
SURGERY = dt.date(2025, 1, 10)
T0 = dt.datetime(2026, 1, 20, 9, 0, tzinfo=dt.UTC)


def _angle() -> Finding:
    return Finding(KIND, Severity.WATCH, "S1 screw: angle to the endplate changed +2.4 +/- 0.1 deg (1 SD) ...",
                   {"level": "S1", "change_deg": 2.4, "criterion": "screw-endplate angle change",
                    "head": [556.2, 780.9]}, ">= 1.9 deg", ("b-lat", "c-lat"))


def _halo(side: str, x: float) -> Finding:
    return Finding(KIND, Severity.WATCH, f"S1 screw (image {side}): a radiolucent halo formed since the baseline film",
                   {"level": "S1", "halo_mm": 1.4, "criterion": "halo", "head": [x, 700.0]}, "> 1 mm halo",
                   ("b-ap", "c-ap"))


SUBSIDENCE = Finding("cage_subsidence", Severity.ACTION, "L5-S1 disc height fell 2.6 mm.",
                     {"measure": "disc_height_mean_L5_S1"})
FINDINGS = (SUBSIDENCE, _angle(), _halo("left", 300.0), _halo("right", 520.0))
LEFT = f"{KIND}:S1-left-halo"
RIGHT = f"{KIND}:S1-right-halo"
ANGLE = f"{KIND}:S1-angle"


def _verdict(target: str, value: str, minutes: int = 0) -> Override:
    return Override(f"finding:{target}", value, "amy", T0 + dt.timedelta(minutes=minutes))


def test_refs_tell_findings_of_one_kind_apart_and_leave_a_unique_kind_plain() -> None:
    refs = finding_refs(FINDINGS)
    assert refs == ("cage_subsidence", ANGLE, LEFT, RIGHT)
    # the same films analysed again give the same refs, whatever the pixel values and positions came out as
    again = (SUBSIDENCE, dataclasses.replace(_angle(), evidence={**_angle().evidence, "head": [551.0, 779.0]}),
             _halo("left", 303.0), _halo("right", 517.0))
    assert finding_refs(again) == refs


def test_findings_that_read_the_same_are_numbered_in_order() -> None:
    plain = Finding("landmark_review", Severity.INFO, "Check the landmarks of film a.")
    refs = finding_refs((plain, dataclasses.replace(plain, summary="Check film b."), _halo("left", 1.0),
                         _halo("left", 2.0)))
    assert refs == ("landmark_review:1", "landmark_review:2", f"{LEFT}-1", f"{LEFT}-2")
    assert len(set(refs)) == 4


def test_a_verdict_on_the_left_halo_leaves_the_right_halo_and_the_angle_unreviewed() -> None:
    verdicts = finding_verdicts((_verdict(LEFT, "rejected"),))
    per = finding_verdicts_per_finding(FINDINGS, verdicts)
    assert [o.value if o else None for o in per] == [None, None, "rejected", None]
    assert standing_findings(FINDINGS, verdicts) == (SUBSIDENCE, FINDINGS[1], FINDINGS[3])
    assert rejected_kinds_of(FINDINGS, verdicts) == set()


def test_a_kind_wide_verdict_still_covers_every_finding_of_the_kind() -> None:
    overrides = (_verdict(KIND, "rejected"),)
    per = finding_verdicts_per_finding(FINDINGS, finding_verdicts(overrides))
    assert [o.value if o else None for o in per] == [None, "rejected", "rejected", "rejected"]
    assert rejected_kinds_of(FINDINGS, finding_verdicts(overrides)) == {KIND}


def test_the_newer_of_a_per_finding_and_a_kind_wide_verdict_applies() -> None:
    own, whole = _verdict(RIGHT, "confirmed", 5), _verdict(KIND, "rejected", 0)
    assert verdict_for(KIND, RIGHT, finding_verdicts((whole, own))) is own
    later = _verdict(KIND, "rejected", 10)
    assert verdict_for(KIND, RIGHT, finding_verdicts((own, later))) is later
    same = _verdict(RIGHT, "confirmed", 0)  # one command: the specific word wins
    assert verdict_for(KIND, RIGHT, finding_verdicts((whole, same))) is same


def test_a_kind_is_rejected_only_when_every_finding_of_it_is() -> None:
    some = (_verdict(LEFT, "rejected"), _verdict(RIGHT, "rejected"))
    assert rejected_kinds_of(FINDINGS, finding_verdicts(some)) == set()
    assert rejected_kinds_of(FINDINGS, finding_verdicts((*some, _verdict(ANGLE, "rejected")))) == {KIND}


def _timeline(overrides: tuple[Override, ...]):  # noqa: ANN202
    """12 months, motion below the fusion thresholds: only the hardware signs stand between it and fused."""
    v = VisitInput("12-months", SURGERY + dt.timedelta(days=365), 365, films=("c-lat", "c-ap"), lateral_film="c-lat",
                   motion=(SegmentMotion("L5-S1", 0.8, 0.3, 0.4, None, 0.3),), bone=BoneEvidence(),
                   hardware_findings=FINDINGS[1:], overrides=overrides)
    return build_timeline("K", Surgery(date=SURGERY), [v])


def test_status_counts_a_kind_until_every_finding_of_it_is_rejected() -> None:
    base = _timeline(()).visits[-1]
    assert base.status.status is not None and base.status.status.value != "fused_criteria_met"
    one = _timeline((_verdict(LEFT, "rejected"),)).visits[-1]
    assert one.status.status == base.status.status
    assert not any("Not counted" in r for r in one.status.reasons)
    every = _timeline(tuple(_verdict(r, "rejected") for r in (LEFT, RIGHT, ANGLE))).visits[-1]
    assert any("Not counted, rejected by a reader: screw loosening suspected" in r for r in every.status.reasons)
    assert every.status.status != base.status.status
    kind_wide = _timeline((_verdict(KIND, "rejected"),)).visits[-1]
    assert kind_wide.status.status == every.status.status


def test_fusion_evidence_drops_only_the_rejected_finding() -> None:
    tl = _timeline((_verdict(LEFT, "rejected"),))
    ev = fusion_evidence(tl)
    assert ev is not None
    kept = [f for f in ev.findings if f.kind == KIND]
    assert len(kept) == 2 and all("(image left)" not in f.summary for f in kept)


def test_a_verdict_on_one_finding_stays_with_it_when_a_reanalysis_leaves_it_alone_of_its_kind() -> None:
    """The left halo judged among three; a re-analysis keeps only one finding of the kind: its ref is then the plain
    kind, and the verdict follows the left halo (by its long form), not whichever finding is left."""
    verdicts = finding_verdicts((_verdict(LEFT, "rejected"),))
    alone_left = (SUBSIDENCE, _halo("left", 301.0))
    assert finding_refs(alone_left) == ("cage_subsidence", KIND)
    assert [o.value if o else None for o in finding_verdicts_per_finding(alone_left, verdicts)] == [None, "rejected"]
    alone_right = (SUBSIDENCE, _halo("right", 519.0))
    assert finding_verdicts_per_finding(alone_right, verdicts) == [None, None]


def test_timeline_json_gives_each_finding_its_ref_and_verdict() -> None:
    """`fusionwatch followup --json`: every finding carries its ref and the verdict that applies to it."""
    visit = _timeline((_verdict(LEFT, "rejected"),)).to_dict()["visits"][-1]
    got = {f["ref"]: (f["reader_verdict"] or {}).get("value") for f in visit["findings"] if f["kind"] == KIND}
    assert got == {ANGLE: None, LEFT: "rejected", RIGHT: None}


def test_the_evidence_side_names_the_ref_whatever_the_summary_says() -> None:
    """A halo finding's structured ``image_side`` (implants.checks) decides its ref; the summary's "(image left)" is
    only the fallback for findings stored before the field existed."""
    reworded = [dataclasses.replace(f, summary="S1 screw: halo", evidence={**f.evidence, "image_side": side})
                for f, side in ((_halo("left", 300.0), "left"), (_halo("right", 520.0), "right"))]
    assert finding_refs((_angle(), *reworded)) == (ANGLE, LEFT, RIGHT)


def test_findings_and_review_flags_each_with_their_refs_and_verdicts() -> None:
    """VisitSummary.findings_with_refs() / review_with_refs(): the visit's findings, then its review flags, each with
    its ref and verdict, split where the findings end (the followup command, the demo summary and the JSON each
    sliced finding_refs_and_verdicts() by hand)."""
    visit = _timeline((_verdict(LEFT, "rejected"),)).visits[-1]
    flag = Finding("pi_drift", Severity.INFO, "PI changed 7 deg: check the landmarks.", {"measure": "pelvic_incidence"})
    visit = dataclasses.replace(visit, review=(flag,))
    rows = visit.findings_with_refs()
    assert [f for f, _, _ in rows] == list(visit.findings)
    assert {r: (o.value if o else None) for f, r, o in rows if f.kind == KIND} == {ANGLE: None, LEFT: "rejected",
                                                                                RIGHT: None}
    assert visit.review_with_refs() == [(flag, "pi_drift", None)]
    assert rows + visit.review_with_refs() == visit.finding_refs_and_verdicts()
    as_json = visit.to_dict()
    assert [f["ref"] for f in as_json["findings"]] == [r for _, r, _ in rows]
    assert [(f["kind"], f["ref"]) for f in as_json["review"]] == [("pi_drift", "pi_drift")]


def _remeasured(f: Finding, minutes: int) -> Finding:
    """``f`` as measured against another baseline film, that comparison first made ``minutes`` after T0."""
    since = (T0 + dt.timedelta(minutes=minutes)).isoformat()
    return dataclasses.replace(f, evidence={**f.evidence, "compared_with": {"view": "ap", "baseline_visit": "6-weeks",
                                                                           "since": since}})


class TestWhyNotApplied:
    """followup.refs.why_not_applied: the one rule that tells a verdict whose finding is no longer made from one whose
    finding is made again, measured against another baseline film after it (not applied)."""

    def test_no_finding_of_the_name_is_no_longer_made(self) -> None:
        from fusionwatch.followup.refs import NotApplied, why_not_applied

        assert why_not_applied(_verdict("rod_discontinuity", "confirmed"), FINDINGS) is NotApplied.NO_LONGER_MADE

    def test_a_finding_measured_again_after_the_verdict_is_remeasured(self) -> None:
        from fusionwatch.followup.refs import NotApplied, why_not_applied

        again = (SUBSIDENCE, _angle(), _remeasured(_halo("left", 300.0), 5), _halo("right", 520.0))
        assert why_not_applied(_verdict(LEFT, "rejected"), again) is NotApplied.REMEASURED
        assert why_not_applied(_verdict(LEFT, "rejected", 10), again) is None  # given on the new comparison
        assert why_not_applied(_verdict(RIGHT, "rejected"), again) is None  # its own finding was not measured again
        assert why_not_applied(_verdict(KIND, "rejected"), again) is None  # two of the kind it names were not

    def test_the_timeline_and_its_json_say_which_one(self) -> None:
        """Before, every verdict beside no finding read 'the tool no longer makes this finding', also one whose
        finding is made again against another baseline film (the clinician report said the latter since dc378c8)."""
        from fusionwatch.followup.refs import NotApplied

        v = VisitInput("12-months", SURGERY + dt.timedelta(days=365), 365, films=("c-lat", "c-ap"),
                       lateral_film="c-lat", motion=(SegmentMotion("L5-S1", 0.8, 0.3, 0.4, None, 0.3),),
                       bone=BoneEvidence(), hardware_findings=(_angle(), _remeasured(_halo("left", 300.0), 5)),
                       overrides=(_verdict(LEFT, "rejected"), _verdict("rod_discontinuity", "confirmed", 1)))
        visit = build_timeline("K", Surgery(date=SURGERY), [v]).visits[-1]
        gone = visit.verdicts_without_finding()
        assert [(o.target, visit.why_not_applied(o)) for o in gone] == [
            (f"finding:{LEFT}", NotApplied.REMEASURED), ("finding:rod_discontinuity", NotApplied.NO_LONGER_MADE)]
        assert [(o["target"], o["why_not_applied"]) for o in visit.to_dict()["verdicts_without_finding"]] == [
            (f"finding:{LEFT}", "remeasured"), ("finding:rod_discontinuity", "no_longer_made")]

    def test_a_verdict_a_newer_one_covers_is_not_without_its_finding(self) -> None:
        """A verdict on the left halo, then a newer kind-wide one: the finding is made, on the comparison both were
        given on, and the newer verdict applies. Before, the older one was listed as on a finding the tool 'no longer
        makes'."""
        visit = _timeline((_verdict(LEFT, "confirmed"), _verdict(KIND, "rejected", 5))).visits[-1]
        assert visit.verdicts_without_finding() == ()
