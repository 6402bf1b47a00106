"""Tests for fusionwatch.followup.build_timeline and the baseline choice."""

from __future__ import annotations

import datetime as dt
import json

from fusionwatch.followup import BoneEvidence, SegmentMotion, build_timeline
from fusionwatch.followup.schedule import visit_label
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import Finding, FusionStatus, Override, Severity

from ._series import SURGERY, m, visit


def _series(l5s1_mm: list[float]) -> list:
    days = [-10, 2, 42, 91, 182, 365]
    return [
        visit(d, {M.DISC_HEIGHT_MEAN_L5_S1: (h, "mm"), M.PELVIC_INCIDENCE: (52.0, "deg")})
        for d, h in zip(days, l5s1_mm, strict=True)
    ]


class TestSchedule:
    def test_labels(self) -> None:
        when = dt.date(2025, 1, 1)
        assert visit_label(-1, when) == ("pre-op", True)
        assert visit_label(0, when) == ("immediate-post-op", True)
        assert visit_label(45, when) == ("6-weeks", True)
        assert visit_label(200, when) == ("6-months", True)
        assert visit_label(400, when) == ("12-months", True)
        assert visit_label(1000, when) == ("36-months", True)  # the protocol's yearly visit (b0494ed)
        assert visit_label(None, when) == ("unscheduled 2025-01-01", False)


class TestTimeline:
    def test_baseline_is_six_weeks_and_deltas(self) -> None:
        """Deltas are vs the 6-week film and the previous visit; findings appear only after the baseline."""
        tl = build_timeline("K", SURGERY, list(reversed(_series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5]))))
        assert tl.baseline_label == "6-weeks" and "6-weeks" in tl.baseline_note
        assert [v.label for v in tl.visits] == [
            "pre-op",
            "immediate-post-op",
            "6-weeks",
            "3-months",
            "6-months",
            "12-months",
        ]
        d = tl.visit("12-months").measurement(M.DISC_HEIGHT_MEAN_L5_S1)
        assert (d.baseline, d.delta_vs_baseline, d.previous, d.delta_vs_previous) == (11.0, -2.5, 9.5, -1.0)
        assert tl.visit("6-weeks").measurement(M.DISC_HEIGHT_MEAN_L5_S1).delta_vs_baseline is None
        kinds = {v.label: v.finding_kinds() for v in tl.visits}
        assert kinds["immediate-post-op"] == () and kinds["6-months"] == ()  # 1.5 mm
        assert kinds["12-months"] == ("cage_subsidence",)  # 2.5 mm
        assert tl.visit("pre-op").status.status is None

    def test_immediate_post_op_baseline_when_no_six_weeks(self) -> None:
        series = [v for v in _series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5]) if v.label != "6-weeks"]
        tl = build_timeline("K", SURGERY, series)
        assert tl.baseline_label == "immediate-post-op"
        assert "cage_subsidence" in tl.visit("6-months").finding_kinds()  # 12 -> 9.5

    def test_no_postop_film(self) -> None:
        tl = build_timeline("K", SURGERY, [visit(-5, {M.PELVIC_INCIDENCE: (50.0, "deg")})])
        assert tl.baseline_label is None and "nothing to compare" in tl.baseline_note

    def test_pi_drift_goes_to_review_not_findings(self) -> None:
        series = _series([6.0, 12.0, 11.0, 11.0, 11.0, 11.0])
        series[4] = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm"), M.PELVIC_INCIDENCE: (60.0, "deg")})
        tl = build_timeline("K", SURGERY, series)
        v = tl.visit("6-months")
        assert v.finding_kinds() == () and [r.kind for r in v.review] == ["pi_drift"]
        assert [r.kind for r in tl.visit("12-months").review] == ["pi_drift"]  # 60 -> 52 again

    def test_hardware_findings_kept_and_deduplicated(self) -> None:
        hw = (
            Finding("cage_subsidence", Severity.WATCH, "from implants"),
            Finding("screw_loosening_suspected", Severity.WATCH, "halo 1.3 mm"),
        )
        series = _series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5])
        series[5] = visit(365, {M.DISC_HEIGHT_MEAN_L5_S1: (8.5, "mm")}, hardware_findings=hw)
        v = build_timeline("K", SURGERY, series).visit("12-months")
        assert v.finding_kinds() == ("cage_subsidence", "screw_loosening_suspected")
        assert v.findings[0].summary.startswith("L5-S1 disc height fell")
        assert v.status.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED

    def test_overrides_beside_automatic_status_and_json(self) -> None:
        t = dt.datetime(2026, 1, 12, 8, tzinfo=dt.UTC)
        ovs = (
            Override("fusion_status", "fused_criteria_met", "amy", t, "CT: bridging"),
            Override("grade:bridwell", "III", "amy", t),
            Override("grade:bridwell", "II", "bob", t + dt.timedelta(1)),
        )
        series = _series([6.0, 12.0, 11.0, 11.0, 11.0, 11.0])
        series[5] = visit(
            365,
            {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")},
            overrides=ovs,
            motion=(SegmentMotion("L5-S1", 5.0, 0.3, 1.0),),
            bone=BoneEvidence(lucency=False),
        )
        tl = build_timeline("K", SURGERY, series)
        v = tl.visit("12-months")
        assert v.status.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED
        assert v.reader_status.value == "fused_criteria_met" and v.bridwell_grade.value == "II"
        d = json.loads(json.dumps(tl.to_dict()))
        j = d["visits"][-1]
        assert j["status"]["status"] == "pseudarthrosis_suspected"
        assert j["reader_status"]["author"] == "amy" and j["bridwell_grade"]["value"] == "II"
        assert j["motion"][0]["level"] == "L5-S1" and d["patient_key"] == "K"


class TestAdjacentSegmentInTimeline:
    def test_every_adjacent_sign_reaches_the_timeline(self) -> None:
        """L4-L5 disc height loss, new listhesis, PI-LL band and flexion kyphosis all appear at the 12-month visit."""
        flex = {M.SEGMENTAL_LORDOSIS_L4_L5: m(M.SEGMENTAL_LORDOSIS_L4_L5, -7.5, "deg")}
        base = visit(
            42, {M.DISC_HEIGHT_MEAN_L4_L5: (10.0, "mm"), M.SLIP_MM_L4_L5: (0.5, "mm"), M.PI_LL_MISMATCH: (8.0, "deg")}
        )
        late = visit(
            365,
            {M.DISC_HEIGHT_MEAN_L4_L5: (6.5, "mm"), M.SLIP_MM_L4_L5: (4.0, "mm"), M.PI_LL_MISMATCH: (22.0, "deg")},
            flexion_measurements=flex,
            flexion_film="flex-365",
        )
        pre = visit(-10, {M.DISC_HEIGHT_MEAN_L4_L5: (9.0, "mm")}, flexion_measurements=flex, flexion_film="flex-pre")
        tl = build_timeline("K", SURGERY, [pre, base, late])
        assert set(tl.visit("12-months").finding_kinds()) == {
            "adjacent_segment_disc_height_loss",
            "adjacent_segment_listhesis",
            "pi_ll_mismatch",
            "adjacent_segment_flexion_kyphosis",
        }
        assert tl.visit("pre-op").finding_kinds() == ()  # before surgery there is no adjacent segment
        js = json.loads(json.dumps(tl.to_dict()))
        (kyph,) = [f for f in js["visits"][-1]["findings"] if f["kind"] == "adjacent_segment_flexion_kyphosis"]
        assert kyph["films"] == ["flex-365"] and kyph["evidence"]["current"] == -7.5


class TestMotionUncertaintyInTimeline:
    @staticmethod
    def _with_motion(angle: float) -> list:
        vs = _series([6.0, 12.0, 11.8, 11.8, 11.7, 11.7])
        vs[-1] = visit(
            365,
            {M.DISC_HEIGHT_MEAN_L5_S1: (11.7, "mm"), M.PELVIC_INCIDENCE: (52.0, "deg")},
            motion=(SegmentMotion("L5-S1", angle, 5.0, 1.0, None, 2.5, films=("flex", "ext")),),
        )
        return vs

    def test_ambiguous_large_motion_is_watch_not_instability(self) -> None:
        """30 +/- 5 deg at L5-S1: above the AOMSI 25 deg but not by 1.96 SD -> WATCH motion_indeterminate, no
        instability; still clearly above the 3 deg fusion threshold, so the segment moves."""
        tl = build_timeline("K", SURGERY, self._with_motion(30.0))
        v = tl.visit("12-months")
        assert v is not None
        assert v.finding_kinds() == ("motion_indeterminate",)
        assert v.findings[0].severity is Severity.WATCH and v.findings[0].films == ("flex", "ext")
        assert v.status.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED
        json.dumps(tl.to_dict())  # evidence stays JSON-ready

    def test_ambiguous_small_motion_decides_nothing(self) -> None:
        """4 +/- 5 deg: no finding; the status falls back to the static evidence (insufficient) and says why."""
        v = build_timeline("K", SURGERY, self._with_motion(4.0)).visit("12-months")
        assert v is not None and v.finding_kinds() == ()
        assert v.status.status is FusionStatus.INSUFFICIENT_EVIDENCE
        assert "indeterminate" in v.status.reasons[0] and "Repeat flexion-extension" in v.status.decide_with


class TestOneVisitPerWindow:
    """A symptom report or questionnaire inside a visit window is not a second clinical visit (demo: screw-loosening
    showed two "6-months" visits, the second a symptom report 18 days after the films, with a status of its own)."""

    def test_contact_after_the_films_is_a_contact_without_status(self) -> None:
        series = _series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5])
        series.insert(5, visit(200))  # no films: a symptom report on day 200, in the 6-month window
        tl = build_timeline("K", SURGERY, series)
        labels = [v.label for v in tl.visits]
        assert labels.count("6-months") == 1 and "contact day 200" in labels
        assert tl.visit("6-months").films and tl.visit("6-months").days_since_surgery == 182
        contact = tl.visit("contact day 200")
        assert contact.status.status is None and "No films" in contact.status.reasons[0]
        assert tl.visit("6-months").status.status is FusionStatus.ON_TRACK

    def test_contact_before_the_films_does_not_take_the_label(self) -> None:
        series = _series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5])
        series.insert(4, visit(160))
        tl = build_timeline("K", SURGERY, series)
        assert [v.label for v in tl.visits].count("6-months") == 1
        assert tl.visit("6-months").days_since_surgery == 182 and tl.visit("contact day 160") is not None

    def test_second_film_day_in_a_window_says_its_day(self) -> None:
        series = _series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5])
        series.insert(5, visit(200, {M.DISC_HEIGHT_MEAN_L5_S1: (9.4, "mm")}))
        tl = build_timeline("K", SURGERY, series)
        assert [v.label for v in tl.visits][4:6] == ["6-months", "6-months (day 200)"]
        assert tl.visit("6-months (day 200)").status.status is not None

    def test_a_lone_contact_keeps_its_window_label(self) -> None:
        """A symptom report at day 12 with no other visit in the 2-week window is the 2-week (wound) visit."""
        tl = build_timeline("K", SURGERY, [*_series([6.0, 12.0, 11.0, 10.0, 9.5, 8.5]), visit(12)])
        assert "2-weeks" in [v.label for v in tl.visits]
