"""Tests for fusionwatch.followup.status.fusion_status: never more certain than the evidence."""

from __future__ import annotations

import dataclasses

import pytest

from fusionwatch.followup import DEFAULT_SETTINGS, BoneEvidence, SegmentMotion, fusion_status
from fusionwatch.records import Finding, FusionStatus, Severity

S = DEFAULT_SETTINGS
EPS = 0.01
FS = FusionStatus


def still(angle: float = 1.0, mm: float | None = 0.5, percent: float | None = None) -> SegmentMotion:
    return SegmentMotion("L5-S1", angle, 0.2, mm, percent, 0.2)


ROD = Finding("rod_fracture_suspected", Severity.ACTION, "Rod discontinuous.")
SUBSIDENCE = Finding("cage_subsidence", Severity.WATCH, "Disc height fell 2.6 mm.")


class TestFusionStatus:
    def test_pre_op_and_no_surgery_have_no_status(self) -> None:
        assert fusion_status(-3, settings=S).status is None
        assert fusion_status(None, settings=S).status is None

    @pytest.mark.parametrize(
        "angle, mm, status",
        [
            (3.0 - EPS, 3.0 - EPS, FS.FUSED_CRITERIA_MET),
            (3.0 + EPS, 0.5, FS.PSEUDARTHROSIS_SUSPECTED),
            (0.5, 3.0 + EPS, FS.PSEUDARTHROSIS_SUSPECTED),
            (-(3.0 + EPS), 0.5, FS.PSEUDARTHROSIS_SUSPECTED),
        ],
    )
    def test_flexion_extension_thresholds_at_12_months(self, angle: float, mm: float, status: FusionStatus) -> None:
        """< 3 deg and < 3 mm at 12 months meets the criteria; just above either is suspected pseudarthrosis."""
        r = fusion_status(365, motion=[still(angle, mm)], settings=S)
        assert r.status is status
        assert r.evidence["motion"]["angle_threshold_deg"] == 3.0

    @pytest.mark.parametrize(
        "day, status",
        [
            (S.fusion_min_days - 1, FS.ON_TRACK),
            (S.fusion_min_days, FS.FUSED_CRITERIA_MET),
            (365, FS.FUSED_CRITERIA_MET),
        ],
    )
    def test_fused_needs_six_months(self, day: int, status: FusionStatus) -> None:
        assert fusion_status(day, motion=[still()], settings=S).status is status

    @pytest.mark.parametrize("day", [42, 91, 182, 250, 365, 730])
    def test_static_films_never_give_fused(self, day: int) -> None:
        """Static films alone never meet the fusion criteria, even with bridging bone and no lucency."""
        r = fusion_status(day, bone=BoneEvidence(lucency=False, bridging_fraction=1.0), settings=S)
        assert r.status is not FS.FUSED_CRITERIA_MET

    def test_static_at_12_months_is_insufficient_and_says_what_decides(self) -> None:
        r = fusion_status(365, settings=S)
        assert r.status is FS.INSUFFICIENT_EVIDENCE
        assert "flexion-extension" in r.decide_with.lower() and "CT" in r.decide_with

    @pytest.mark.parametrize(
        "day, status",
        [
            (91, FS.ON_TRACK),
            (S.union_expected_days, FS.DELAYED_UNION_SUSPECTED),
            (S.pseudarthrosis_days - 1, FS.DELAYED_UNION_SUSPECTED),
            (S.pseudarthrosis_days, FS.PSEUDARTHROSIS_SUSPECTED),
        ],
    )
    def test_motion_over_time(self, day: int, status: FusionStatus) -> None:
        """Motion is expected early; it suggests delayed union after 3-6 months and pseudarthrosis from 12 months."""
        assert fusion_status(day, motion=[still(6.0)], settings=S).status is status

    def test_hardware_failure_blocks_fused(self) -> None:
        r = fusion_status(365, motion=[still()], findings=[ROD], settings=S)
        assert r.status is FS.PSEUDARTHROSIS_SUSPECTED
        assert r.evidence["non_union_signs"] == ["rod_fracture_suspected"]

    def test_subsidence_alone_is_not_non_union(self) -> None:
        """A subsided cage is a finding, not a sign of non-union: still segment at 12 months meets the criteria."""
        r = fusion_status(365, motion=[still()], findings=[SUBSIDENCE], settings=S)
        assert r.status is FS.FUSED_CRITERIA_MET
        early = fusion_status(182, findings=[SUBSIDENCE], settings=S)
        assert early.status is FS.ON_TRACK
        assert "not read as non-union on its own: cage subsidence" in " ".join(early.reasons)
        assert any("cage subsidence" in x for x in r.reasons)

    def test_what_decides_depends_on_evidence_present(self) -> None:
        """With flexion-extension already done CT is what is left; with static films flexion-extension is offered."""
        moving = fusion_status(200, motion=[still(6.0)], settings=S)
        assert "CT" in moving.decide_with and "motion at L5-S1 below" not in moving.decide_with
        static = fusion_status(200, findings=[ROD], settings=S)
        assert static.status is FS.DELAYED_UNION_SUSPECTED and "flexion-extension films (motion" in static.decide_with

    def test_lucency_blocks_fused(self) -> None:
        r = fusion_status(200, motion=[still()], bone=BoneEvidence(lucency=True, source="reader:amy"), settings=S)
        assert r.status is FS.DELAYED_UNION_SUSPECTED
        assert any("lucency" in x for x in r.reasons)

    def test_info_findings_are_not_signs(self) -> None:
        note = Finding("cage_subsidence", Severity.INFO, "noted")
        assert fusion_status(365, motion=[still()], findings=[note], settings=S).status is FS.FUSED_CRITERIA_MET

    def test_uncalibrated_translation_in_percent(self) -> None:
        assert fusion_status(365, motion=[still(1.0, None, 7.9)], settings=S).status is FS.FUSED_CRITERIA_MET
        r = fusion_status(365, motion=[still(1.0, None, 8.1)], settings=S)
        assert r.status is FS.PSEUDARTHROSIS_SUSPECTED and "translation_percent" in r.evidence["motion"]

    def test_thresholds_are_settings(self) -> None:
        """A site using the device-trial 5 deg threshold sees 4 deg as fused."""
        assert fusion_status(365, motion=[still(4.0)], settings=S).status is FS.PSEUDARTHROSIS_SUSPECTED
        five = dataclasses.replace(S, fusion_angle_deg=5.0)
        assert fusion_status(365, motion=[still(4.0)], settings=five).status is FS.FUSED_CRITERIA_MET

    def test_other_level_motion_ignored(self) -> None:
        r = fusion_status(365, motion=[SegmentMotion("L4-L5", 9.0, 0.2, 2.0)], settings=S)
        assert r.status is FS.INSUFFICIENT_EVIDENCE

    def test_accepts_motion_engine_result(self) -> None:
        """The motion engineer's MotionResult is read through the same fields."""
        from fusionwatch.motion import MotionResult
        from fusionwatch.units import Unit

        res = MotionResult("L5-S1", 1.1, 0.1, 0.4, 1.0, 0.1, Unit.MM, "body-registration/1")
        assert fusion_status(365, motion=[res], settings=S).status is FS.FUSED_CRITERIA_MET
