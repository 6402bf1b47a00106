"""Tests for fusionwatch.followup.status.fusion_status: never more certain than the evidence."""

from __future__ import annotations

import dataclasses

import pytest

from fusionwatch.followup import DEFAULT_SETTINGS, BoneEvidence, SegmentMotion, fusion_status
from fusionwatch.records import Finding, FusionStatus, Severity

S = DEFAULT_SETTINGS
EPS = 0.01
Z = 1.96
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
            # SD 0.2: still needs |value| + 1.96 SD < 3, moving needs |value| - 1.96 SD > 3
            (3.0 - Z * 0.2 - EPS, 3.0 - Z * 0.2 - EPS, FS.FUSED_CRITERIA_MET),
            (3.0 + Z * 0.2 + EPS, 0.5, FS.PSEUDARTHROSIS_SUSPECTED),
            (0.5, 3.0 + Z * 0.2 + EPS, FS.PSEUDARTHROSIS_SUSPECTED),
            (-(3.0 + Z * 0.2 + EPS), 0.5, FS.PSEUDARTHROSIS_SUSPECTED),
            # just inside the 95 % band on either side: indeterminate, static evidence decides
            (3.0 - Z * 0.2 + EPS, 0.5, FS.INSUFFICIENT_EVIDENCE),
            (3.0 + Z * 0.2 - EPS, 0.5, FS.INSUFFICIENT_EVIDENCE),
            (0.5, 3.0 - Z * 0.2 + EPS, FS.INSUFFICIENT_EVIDENCE),
            (0.5, 3.0 + Z * 0.2 - EPS, FS.INSUFFICIENT_EVIDENCE),
            (3.0, 0.5, FS.INSUFFICIENT_EVIDENCE),
        ],
    )
    def test_flexion_extension_thresholds_at_12_months(self, angle: float, mm: float, status: FusionStatus) -> None:
        """Below 3 deg and 3 mm by more than 1.96 SD meets the criteria; above either by more is suspected
        pseudarthrosis; within 1.96 SD of a threshold is indeterminate."""
        r = fusion_status(365, motion=[still(angle, mm)], settings=S)
        assert r.status is status
        assert r.evidence["motion"]["angle_threshold_deg"] == 3.0
        assert r.evidence["motion"]["angle"]["threshold"] == 3.0

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
        """Translation SD 0.2 % (reported in % on uncalibrated films) against the 8 % threshold."""
        below, above = 8.0 - Z * 0.2 - EPS, 8.0 + Z * 0.2 + EPS
        assert fusion_status(365, motion=[still(1.0, None, below)], settings=S).status is FS.FUSED_CRITERIA_MET
        r = fusion_status(365, motion=[still(1.0, None, above)], settings=S)
        assert r.status is FS.PSEUDARTHROSIS_SUSPECTED and "translation_percent" in r.evidence["motion"]
        assert r.evidence["motion"]["translation"]["unit"] == "%"
        assert fusion_status(365, motion=[still(1.0, None, 8.1)], settings=S).status is FS.INSUFFICIENT_EVIDENCE

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


def fe(angle: float, angle_sd: float | None, mm: float | None, t_sd: float | None) -> SegmentMotion:
    return SegmentMotion("L5-S1", angle, angle_sd, mm, None, t_sd, films=("flex-1", "ext-1"))


class TestMotionUncertainty:
    """Flexion-extension motion decides the status only when its 95 % interval clears the threshold."""

    @pytest.mark.parametrize("day", [42, 91, 150, 182, 250, 365, 730])
    @pytest.mark.parametrize(
        "angle, mm",
        [(0.0, 0.0), (1.0, 0.5), (2.9, 2.9), (3.0, 3.0), (3.2, 0.5), (6.0, 1.0), (9.0, 1.0), (0.5, 5.5)],
    )
    def test_ambiguous_result_never_decides_by_motion_alone(self, day: int, angle: float, mm: float) -> None:
        """SD >= 5 deg / 2.5 mm (a weak or ambiguous registration): never fused, never pseudarthrosis/delayed union."""
        r = fusion_status(day, motion=[fe(angle, 5.0, mm, 2.5)], settings=S)
        assert r.status not in (
            FS.FUSED_CRITERIA_MET,
            FS.PSEUDARTHROSIS_SUSPECTED,
            FS.DELAYED_UNION_SUSPECTED,
        )
        assert r.evidence["motion"]["call"] == "indeterminate"
        assert "indeterminate" in r.reasons[0]
        assert "Repeat flexion-extension films" in r.decide_with and "CT" in r.decide_with

    @pytest.mark.parametrize(
        "angle, sd, status",
        [
            (3.0 + Z * 5.0 + EPS, 5.0, FS.PSEUDARTHROSIS_SUSPECTED),  # huge motion still clears a large SD
            (3.0 + Z * 5.0 - EPS, 5.0, FS.INSUFFICIENT_EVIDENCE),
            (3.0 - Z * 1.0 - EPS, 1.0, FS.FUSED_CRITERIA_MET),
            (3.0 - Z * 1.0 + EPS, 1.0, FS.INSUFFICIENT_EVIDENCE),
            (3.0 + Z * 1.0 + EPS, 1.0, FS.PSEUDARTHROSIS_SUSPECTED),
            (3.0 + Z * 1.0 - EPS, 1.0, FS.INSUFFICIENT_EVIDENCE),
            (3.0 - EPS, 0.0, FS.FUSED_CRITERIA_MET),  # a reported SD of 0 is taken as reported
            (3.0 + EPS, 0.0, FS.PSEUDARTHROSIS_SUSPECTED),
        ],
    )
    def test_angle_boundaries_scale_with_sd(self, angle: float, sd: float, status: FusionStatus) -> None:
        r = fusion_status(365, motion=[fe(angle, sd, 0.2, 0.1)], settings=S)
        assert r.status is status
        a = r.evidence["motion"]["angle"]
        assert a["sd"] == sd and a["sd_source"] == "reported"
        assert a["interval_95"] == pytest.approx([angle - Z * sd, angle + Z * sd], abs=1e-4)

    @pytest.mark.parametrize(
        "mm, status",
        [
            (3.0 + Z * 2.5 + EPS, FS.PSEUDARTHROSIS_SUSPECTED),
            (3.0 + Z * 2.5 - EPS, FS.INSUFFICIENT_EVIDENCE),
            (3.0 - Z * 2.5 + EPS, FS.INSUFFICIENT_EVIDENCE),
        ],
    )
    def test_translation_boundaries_scale_with_sd(self, mm: float, status: FusionStatus) -> None:
        assert fusion_status(365, motion=[fe(0.5, 0.1, mm, 2.5)], settings=S).status is status

    @pytest.mark.parametrize(
        "angle, status",
        [
            (3.0 - Z * 0.5 - EPS, FS.FUSED_CRITERIA_MET),
            (3.0 - Z * 0.5 + EPS, FS.INSUFFICIENT_EVIDENCE),
            (3.0 + Z * 0.5 - EPS, FS.INSUFFICIENT_EVIDENCE),
            (3.0 + Z * 0.5 + EPS, FS.PSEUDARTHROSIS_SUSPECTED),
        ],
    )
    def test_missing_sd_uses_the_default(self, angle: float, status: FusionStatus) -> None:
        """No SD reported: the settings' default 0.5 deg / 0.5 mm (docs/motion.md's measured precision) is used."""
        r = fusion_status(365, motion=[fe(angle, None, 0.2, None)], settings=S)
        assert r.status is status
        mev = r.evidence["motion"]
        assert mev["angle"]["sd"] == S.motion_default_angle_sd_deg == 0.5
        assert mev["angle"]["sd_source"] == "default"
        assert mev["translation"]["sd"] == S.motion_default_translation_sd_mm == 0.5

    def test_indeterminate_falls_back_to_signs(self) -> None:
        """Indeterminate motion with a hardware sign: the sign decides, and the reason says the motion was unclear."""
        r = fusion_status(365, motion=[fe(3.5, 5.0, 1.0, 2.5)], findings=[ROD], settings=S)
        assert r.status is FS.PSEUDARTHROSIS_SUSPECTED
        assert r.reasons[0].startswith("L5-S1 flexion-extension motion is indeterminate")
        assert "3.5 ± 5.0 deg" in r.reasons[0] and "vs 3 deg" in r.reasons[0]
        assert "flexion-extension" in r.decide_with and "CT" in r.decide_with
        early = fusion_status(200, motion=[fe(3.5, 5.0, 1.0, 2.5)], findings=[ROD], settings=S)
        assert early.status is FS.DELAYED_UNION_SUSPECTED

    def test_evidence_keeps_films_and_interval(self) -> None:
        r = fusion_status(365, motion=[fe(1.0, 0.3, 0.4, 0.2)], settings=S)
        mev = r.evidence["motion"]
        assert r.status is FS.FUSED_CRITERIA_MET and mev["call"] == "still"
        assert mev["films"] == ["flex-1", "ext-1"] and mev["level"] == "L5-S1" and mev["confidence_z"] == Z
        t = mev["translation"]
        assert (t["value"], t["sd"], t["threshold"], t["unit"]) == (0.4, 0.2, 3.0, "mm")
        assert t["interval_95"] == pytest.approx([0.4 - Z * 0.2, 0.4 + Z * 0.2], abs=1e-4)
        assert "95 % interval" in r.reasons[0]

    def test_negative_sd_is_refused(self) -> None:
        from fusionwatch.errors import InputError

        with pytest.raises(InputError, match="SD must be >= 0"):
            fusion_status(365, motion=[fe(1.0, -0.1, 0.4, 0.2)], settings=S)

    def test_confidence_z_is_a_setting(self) -> None:
        one_sd = dataclasses.replace(S, motion_confidence_z=1.0)
        m = fe(3.0 - 1.5 * 1.0, 1.0, 0.2, 0.1)  # 1.5 SD below: indeterminate at 1.96, still at 1.0
        assert fusion_status(365, motion=[m], settings=S).status is FS.INSUFFICIENT_EVIDENCE
        assert fusion_status(365, motion=[m], settings=one_sd).status is FS.FUSED_CRITERIA_MET


class TestReasonText:
    """Each motion value is said once, with its SD, 95 % interval, threshold and the films it comes from."""

    @pytest.mark.parametrize(
        "day, motion, findings, status",
        [
            (365, fe(7.1, 0.4, 1.2, 0.2), [], FS.PSEUDARTHROSIS_SUSPECTED),  # moves, late
            (200, fe(7.1, 0.4, 1.2, 0.2), [], FS.DELAYED_UNION_SUSPECTED),  # moves, 6 months
            (60, fe(7.1, 0.4, 1.2, 0.2), [], FS.ON_TRACK),  # moves, early
            (365, fe(1.3, 0.3, 0.4, 0.2), [], FS.FUSED_CRITERIA_MET),  # still, late
            (120, fe(1.3, 0.3, 0.4, 0.2), [], FS.ON_TRACK),  # still, early
            (365, fe(1.3, 0.3, 0.4, 0.2), [ROD], FS.PSEUDARTHROSIS_SUSPECTED),  # still, with a sign
            (365, fe(3.5, 5.0, 1.2, 2.5), [ROD], FS.PSEUDARTHROSIS_SUSPECTED),  # indeterminate
        ],
    )
    def test_each_value_once_with_interval_threshold_and_film(self, day, motion, findings, status) -> None:
        r = fusion_status(day, motion=[motion], findings=findings, settings=S)
        assert r.status is status
        first = r.reasons[0]
        angle, trans = f"{abs(motion.angle_deg):.1f} ± {motion.angle_sd_deg:.1f} deg", (
            f"{abs(motion.translation_mm):.1f} ± {motion.translation_sd:.1f} mm"
        )
        text = " ".join(r.reasons)
        assert text.count(angle) == 1 and text.count(trans) == 1, text
        a, t = r.evidence["motion"]["angle"], r.evidence["motion"]["translation"]
        for part in (a, t):
            lo, hi = part["interval_95"]
            assert f"95 % interval {max(lo, 0.0):.1f}-{hi:.1f}, vs {part['threshold']:g} {part['unit']}" in first
        assert "flexion and extension films" in first
        assert ".." not in text and "± 1.96 SD" in first

    def test_sign_summary_ending_in_a_full_stop_is_not_doubled(self) -> None:
        r = fusion_status(365, findings=[ROD], settings=S)
        assert r.status is FS.PSEUDARTHROSIS_SUSPECTED
        assert "Rod discontinuous." in r.reasons[0] and ".." not in r.reasons[0]


def test_fused_reasons_never_claim_what_was_not_assessed() -> None:
    """Without a reader's lucency call the reasons do not say "no lucency" and say it was not assessed; bridging
    bone not assessed is said too. With the reader's calls, they are stated."""
    r = fusion_status(365, motion=[still()], settings=S)
    assert r.status is FS.FUSED_CRITERIA_MET
    text = " ".join(r.reasons)
    assert "no lucency" not in text and "Lucency at the cage-endplate interface was not assessed" in text
    assert "Bridging bone was not assessed" in text
    read = fusion_status(365, motion=[still()], bone=BoneEvidence(lucency=False, bridging_fraction=0.8), settings=S)
    text = " ".join(read.reasons)
    assert "no lucency or hardware sign" in text and "not assessed" not in text and "80%" in text


@pytest.mark.parametrize(
    "fraction, call",
    [(None, "not_assessed"), (0.3, "not_bridged"), (S.bridging_fraction_min, "bridged"), (0.8, "bridged")],
)
def test_fused_status_says_what_bridging_bone_it_rests_on(fraction: float | None, call: str) -> None:
    """The modified Lee criteria ask for bridging bone too: the evidence says whether a reader judged it (the
    reports word the status by it), and without bridged bone the result says what would complete the criteria."""
    r = fusion_status(365, motion=[still()], bone=BoneEvidence(bridging_fraction=fraction), settings=S)
    assert r.status is FS.FUSED_CRITERIA_MET
    assert r.evidence["bridging_call"] == call
    if call == "bridged":
        assert r.decide_with is None
    else:
        assert "CT" in r.decide_with
    if call == "not_assessed":
        assert "Bridwell" in r.decide_with
    if call == "not_bridged":
        assert "30% of the disc space, below the 50%" in " ".join(r.reasons)


def test_every_status_carries_the_bridging_call() -> None:
    for day, motion in ((30, []), (365, []), (365, [still(8.0)]), (100, [still()])):
        r = fusion_status(day, motion=motion, settings=S)
        assert r.evidence["bridging_call"] == "not_assessed", (day, r.status)


class TestBridwellGrade:
    """A reader's Bridwell grade is bone evidence for the engine (it was only shown beside the status before)."""

    def test_grade_one_completes_the_criteria(self) -> None:
        """Still on flexion-extension at 12 months and Bridwell I: bridged, nothing more asked for."""
        r = fusion_status(365, motion=[still()], bone=BoneEvidence(bridwell_grade="I", source="reader:amy"), settings=S)
        assert r.status is FS.FUSED_CRITERIA_MET and r.evidence["bridging_call"] == "bridged"
        assert r.decide_with is None and "Bridwell grade I (fused with remodelling" in " ".join(r.reasons)
        assert "not assessed by a reader (the fusion" not in " ".join(r.reasons)

    def test_grade_two_is_not_bridged_without_lucency(self) -> None:
        r = fusion_status(365, motion=[still()], bone=BoneEvidence(bridwell_grade="II"), settings=S)
        assert r.status is FS.FUSED_CRITERIA_MET and r.evidence["bridging_call"] == "not_bridged"
        text = " ".join(r.reasons)
        assert "no lucency or hardware sign" in text and "bridging bone not confirmed" in text and "CT" in r.decide_with

    @pytest.mark.parametrize("grade, sign", [("III", "lucency at the cage-endplate"), ("IV", "Bridwell grade IV")])
    def test_grades_three_and_four_are_signs_of_non_union(self, grade: str, sign: str) -> None:
        """III (lucency) and IV (collapse or resorption): little motion no longer makes the criteria met."""
        r = fusion_status(365, motion=[still()], bone=BoneEvidence(bridwell_grade=grade), settings=S)
        assert r.status is not FS.FUSED_CRITERIA_MET and r.evidence["bridging_call"] == "not_bridged"
        assert sign in " ".join(r.reasons)
        static = fusion_status(365, bone=BoneEvidence(bridwell_grade=grade), settings=S)
        assert static.status is FS.PSEUDARTHROSIS_SUSPECTED
