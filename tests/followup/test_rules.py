"""Tests for fusionwatch.followup.rules: every threshold just above and just below, calibrated and uncalibrated."""

from __future__ import annotations

import dataclasses

import pytest

from fusionwatch.followup import DEFAULT_SETTINGS
from fusionwatch.followup.model import SegmentMotion
from fusionwatch.followup.rules import (
    adjacent_segment_findings,
    flexion_kyphosis_finding,
    instability_findings,
    lordosis_loss_finding,
    pi_drift_flag,
    pi_ll_band,
    subsidence_finding,
)
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import Approach, Severity, Surgery

from ._series import SURGERY, m, visit

S = DEFAULT_SETTINGS
EPS = 0.01


class TestSubsidence:
    @pytest.mark.parametrize("loss, found", [(2.0 - EPS, False), (2.0, False), (2.0 + EPS, True)])
    def test_mm_threshold(self, loss: float, found: bool) -> None:
        """> 2 mm loss of mean L5-S1 disc height vs baseline is cage subsidence; 2 mm exactly is not."""
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")})
        now = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0 - loss, "mm")})
        f = subsidence_finding(now, base, SURGERY, S)
        assert (f is not None) is found
        if f is not None:
            assert f.kind == "cage_subsidence" and f.evidence["unit"] == "mm"
            assert f.evidence["amount"] == pytest.approx(loss, abs=1e-4) and f.evidence["compared"] == "loss"
            assert "2 mm" in f.summary and f.films == ("film-42", "film-182")

    @pytest.mark.parametrize("loss, found", [(0.06 - 0.001, False), (0.06 + 0.001, True)])
    def test_uncalibrated_uses_disc_height_index_never_mm(self, loss: float, found: bool) -> None:
        """Uncalibrated films (px) compare the disc height index and never speak of mm."""
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (55.0, "px"), M.DISC_HEIGHT_INDEX_L5_S1: (0.30, "ratio")})
        now = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (30.0, "px"), M.DISC_HEIGHT_INDEX_L5_S1: (0.30 - loss, "ratio")})
        f = subsidence_finding(now, base, SURGERY, S)
        assert (f is not None) is found
        if f is not None:
            assert f.evidence["unit"] == "ratio" and "uncalibrated" in f.summary
            assert " mm" not in f.summary

    def test_mixed_calibration_falls_back_to_index(self) -> None:
        """One calibrated and one uncalibrated film: mm and px are never subtracted; the index is used."""
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm"), M.DISC_HEIGHT_INDEX_L5_S1: (0.30, "ratio")})
        now = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (20.0, "px"), M.DISC_HEIGHT_INDEX_L5_S1: (0.30, "ratio")})
        assert subsidence_finding(now, base, SURGERY, S) is None

    def test_posterolateral_reports_disc_height_loss(self) -> None:
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")})
        now = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (8.0, "mm")})
        pl = Surgery(date=SURGERY.date, approach=Approach.POSTEROLATERAL, implants=("pedicle_screws", "rods"))
        assert subsidence_finding(now, base, pl, S).kind == "fused_disc_height_loss"

    def test_severity_grows_with_loss(self) -> None:
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")})
        assert (
            subsidence_finding(visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (8.5, "mm")}), base, SURGERY, S).severity
            is Severity.WATCH
        )
        assert (
            subsidence_finding(visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (6.5, "mm")}), base, SURGERY, S).severity
            is Severity.ACTION
        )

    def test_threshold_is_a_setting(self) -> None:
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")})
        now = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (9.5, "mm")})
        assert subsidence_finding(now, base, SURGERY, S) is None
        assert subsidence_finding(now, base, SURGERY, dataclasses.replace(S, subsidence_mm=1.0)) is not None


class TestLordosis:
    @pytest.mark.parametrize("loss, found", [(5.0 - EPS, False), (5.0 + EPS, True), (-8.0, False)])
    def test_loss_threshold(self, loss: float, found: bool) -> None:
        base = visit(42, {M.SEGMENTAL_LORDOSIS_L5_S1: (18.0, "deg")})
        now = visit(365, {M.SEGMENTAL_LORDOSIS_L5_S1: (18.0 - loss, "deg")})
        f = lordosis_loss_finding(now, base, S)
        assert (f is not None) is found
        if f:
            assert f.kind == "loss_of_segmental_lordosis"


class TestAdjacentSegment:
    @pytest.mark.parametrize("loss, found", [(3.0 - EPS, False), (3.0 + EPS, True)])
    def test_disc_height_loss_mm(self, loss: float, found: bool) -> None:
        base = visit(42, {M.DISC_HEIGHT_MEAN_L4_L5: (10.0, "mm")})
        now = visit(365, {M.DISC_HEIGHT_MEAN_L4_L5: (10.0 - loss, "mm")})
        kinds = [f.kind for f in adjacent_segment_findings(now, base, S)]
        assert ("adjacent_segment_disc_height_loss" in kinds) is found

    @pytest.mark.parametrize("change, found", [(3.0 - EPS, False), (3.0 + EPS, True), (-(3.0 + EPS), True)])
    def test_new_listhesis_mm(self, change: float, found: bool) -> None:
        """A slip change > 3 mm either way (antero- or retrolisthesis) is new listhesis."""
        base = visit(42, {M.SLIP_MM_L4_L5: (1.0, "mm")})
        now = visit(365, {M.SLIP_MM_L4_L5: (1.0 + change, "mm")})
        found_f = [f for f in adjacent_segment_findings(now, base, S) if f.kind == "adjacent_segment_listhesis"]
        assert bool(found_f) is found
        if found_f:
            assert ("retrolisthesis" in found_f[0].summary) is (change < 0)

    @pytest.mark.parametrize("change, found", [(8.0 - EPS, False), (8.0 + EPS, True)])
    def test_new_listhesis_uncalibrated_percent(self, change: float, found: bool) -> None:
        base = visit(42, {M.SLIP_MM_L4_L5: (3.0, "px"), M.SLIP_PERCENT_L4_L5: (2.0, "%")})
        now = visit(365, {M.SLIP_MM_L4_L5: (9.0, "px"), M.SLIP_PERCENT_L4_L5: (2.0 + change, "%")})
        kinds = [f.kind for f in adjacent_segment_findings(now, base, S)]
        assert ("adjacent_segment_listhesis" in kinds) is found

    @pytest.mark.parametrize("loss, found", [(0.09 - 0.001, False), (0.09 + 0.001, True)])
    def test_disc_height_loss_uncalibrated_index(self, loss: float, found: bool) -> None:
        """Uncalibrated films: L4-L5 disc height index loss > 0.09, said as a ratio, never mm."""
        base = visit(42, {M.DISC_HEIGHT_MEAN_L4_L5: (50.0, "px"), M.DISC_HEIGHT_INDEX_L4_L5: (0.30, "ratio")})
        now = visit(365, {M.DISC_HEIGHT_MEAN_L4_L5: (20.0, "px"), M.DISC_HEIGHT_INDEX_L4_L5: (0.30 - loss, "ratio")})
        got = [f for f in adjacent_segment_findings(now, base, S) if f.kind == "adjacent_segment_disc_height_loss"]
        assert bool(got) is found
        if got:
            assert got[0].evidence["unit"] == "ratio" and " mm" not in got[0].summary

    @pytest.mark.parametrize("angle, found", [(-5.0 - EPS, True), (-5.0, False), (-5.0 + EPS, False), (4.0, False)])
    def test_flexion_kyphosis(self, angle: float, found: bool) -> None:
        """L4-L5 segmental angle on the flexion film < -5 deg (lordosis positive) is an adjacent segment sign."""
        v = visit(
            365,
            {M.SEGMENTAL_LORDOSIS_L4_L5: (12.0, "deg")},
            flexion_measurements={M.SEGMENTAL_LORDOSIS_L4_L5: m(M.SEGMENTAL_LORDOSIS_L4_L5, angle, "deg")},
            flexion_film="flex-365",
        )
        f = flexion_kyphosis_finding(v, S)
        assert (f is not None) is found
        if f is not None:
            assert f.kind == "adjacent_segment_flexion_kyphosis" and f.films == ("flex-365",)
            ev = f.evidence
            assert EVIDENCE_KEYS <= set(ev)
            assert (ev["current"], ev["threshold"], ev["comparison"], ev["unit"]) == (angle, -5.0, "<", "deg")
            assert ev["films"] == {"current": "flex-365"} and ev["baseline"] is None and ev["view"] == "flexion"
            assert "adjacent segment degeneration" in f.threshold

    def test_flexion_kyphosis_needs_a_flexion_film(self) -> None:
        """The standing lateral film's L4-L5 angle is not the flexion angle."""
        v = visit(365, {M.SEGMENTAL_LORDOSIS_L4_L5: (-9.0, "deg")})
        assert flexion_kyphosis_finding(v, S) is None

    def test_flexion_limit_is_a_setting(self) -> None:
        v = visit(
            365,
            flexion_measurements={M.SEGMENTAL_LORDOSIS_L4_L5: m(M.SEGMENTAL_LORDOSIS_L4_L5, -3.0, "deg")},
            flexion_film="flex",
        )
        assert flexion_kyphosis_finding(v, S) is None
        assert flexion_kyphosis_finding(v, dataclasses.replace(S, adjacent_flexion_angle_deg=-2.0)) is not None

    @pytest.mark.parametrize("mismatch, band", [(9.99, 0), (10.0, 1), (20.0, 1), (20.01, 2), (-25.0, 2)])
    def test_pi_ll_bands(self, mismatch: float, band: int) -> None:
        assert pi_ll_band(mismatch, S) == band

    @pytest.mark.parametrize(
        "base, now, found", [(19.9, 20.1, False), (19.9, 22.9 - EPS, False), (19.9, 22.9 + EPS, True)]
    )
    def test_pi_ll_band_edge_needs_real_growth(self, base: float, now: float, found: bool) -> None:
        """Crossing a band edge counts only when the mismatch grew by more than 3 deg."""
        got = adjacent_segment_findings(
            visit(365, {M.PI_LL_MISMATCH: (now, "deg")}), visit(42, {M.PI_LL_MISMATCH: (base, "deg")}), S
        )
        assert bool(got) is found

    def test_pi_ll_finding_only_when_band_worsens(self) -> None:
        """A mismatch already present at baseline is not new; a worse band is reported."""
        base = visit(42, {M.PI_LL_MISMATCH: (12.0, "deg")})
        same = visit(365, {M.PI_LL_MISMATCH: (18.0, "deg")})
        worse = visit(365, {M.PI_LL_MISMATCH: (21.0, "deg")})
        assert adjacent_segment_findings(same, base, S) == []
        (f,) = adjacent_segment_findings(worse, base, S)
        assert f.kind == "pi_ll_mismatch" and f.evidence["band"] == 2 and f.severity is Severity.ACTION


class TestPiDrift:
    @pytest.mark.parametrize("drift, flagged", [(5.0 - EPS, False), (5.0 + EPS, True), (-(5.0 + EPS), True)])
    def test_drift_vs_previous_visit_is_review_not_clinical(self, drift: float, flagged: bool) -> None:
        v1 = visit(42, {M.PELVIC_INCIDENCE: (52.0, "deg")})
        v2 = visit(91)  # no PI: the previous measured visit counts
        v3 = visit(182, {M.PELVIC_INCIDENCE: (52.0 + drift, "deg")})
        f = pi_drift_flag(v3, [v1, v2], S)
        assert (f is not None) is flagged
        if f:
            assert f.kind == "pi_drift" and f.evidence["clinical"] is False and f.severity is Severity.INFO
            assert f.evidence["reference"] == "previous" and f.evidence["visits"]["baseline"] == "6-weeks"
            assert f.evidence["films"] == {"baseline": "film-42", "current": "film-182"}


EVIDENCE_KEYS = {
    "measure",
    "unit",
    "current",
    "baseline",
    "change",
    "compared",
    "amount",
    "comparison",
    "threshold",
    "reference",
    "visits",
    "films",
    "spacing_source",
    "warnings",
}


def _every_comparison_finding():
    """One finding of each vs-baseline rule, from one pair of visits (6 weeks -> 12 months), plus PI drift."""
    values = {  # name: (6 weeks, 12 months, unit)
        M.DISC_HEIGHT_MEAN_L5_S1: (11.0, 8.5, "mm"),
        M.SEGMENTAL_LORDOSIS_L5_S1: (18.0, 11.0, "deg"),
        M.DISC_HEIGHT_MEAN_L4_L5: (10.0, 6.5, "mm"),
        M.SLIP_MM_L4_L5: (1.0, 4.5, "mm"),
        M.PI_LL_MISMATCH: (8.0, 14.0, "deg"),
        M.PELVIC_INCIDENCE: (50.0, 57.0, "deg"),
    }
    base = visit(42, {n: (b, u) for n, (b, _, u) in values.items()})
    now = visit(365, {n: (v, u) for n, (_, v, u) in values.items()})
    found = [subsidence_finding(now, base, SURGERY, S), lordosis_loss_finding(now, base, S)]
    found += adjacent_segment_findings(now, base, S) + [pi_drift_flag(now, [base], S)]
    return base, now, found


class TestEvidence:
    def test_one_shape_for_every_comparison_finding(self) -> None:
        """Every vs-baseline finding shows the values, change, threshold, unit, visits, films and spacing source."""
        base, now, found = _every_comparison_finding()
        assert [f.kind for f in found] == [
            "cage_subsidence",
            "loss_of_segmental_lordosis",
            "adjacent_segment_disc_height_loss",
            "adjacent_segment_listhesis",
            "pi_ll_mismatch",
            "pi_drift",
        ]
        for f in found:
            ev = f.evidence
            assert EVIDENCE_KEYS <= set(ev), (f.kind, EVIDENCE_KEYS - set(ev))
            name = M(ev["measure"])
            assert ev["current"] == now.measurements[name].value and ev["baseline"] == base.measurements[name].value
            assert ev["change"] == pytest.approx(ev["current"] - ev["baseline"], abs=1e-4)
            assert ev["comparison"] == ">" and ev["amount"] > ev["threshold"], f.kind
            assert ev["visits"] == {"baseline": "6-weeks", "current": "12-months"}
            assert ev["films"] == {"baseline": "film-42", "current": "film-365"}
            assert f.films == ("film-42", "film-365")
            mm = ev["unit"] == "mm"
            assert ev["spacing_source"] == {
                "baseline": "patient_plane" if mm else None,
                "current": "patient_plane" if mm else None,
            }
            assert f.threshold and "CLINICAL" not in f.threshold  # a chart reader cannot look up a project file

    def test_amounts_are_what_the_rule_compares(self) -> None:
        _, _, found = _every_comparison_finding()
        by_kind = {f.kind: f.evidence for f in found}
        assert by_kind["cage_subsidence"]["amount"] == pytest.approx(2.5)  # loss = 11.0 - 8.5
        assert by_kind["cage_subsidence"]["threshold"] == S.subsidence_mm
        assert by_kind["adjacent_segment_listhesis"]["amount"] == pytest.approx(3.5)  # |4.5 - 1.0|
        assert by_kind["pi_ll_mismatch"]["amount"] == pytest.approx(6.0) and by_kind["pi_ll_mismatch"]["band"] == 1
        assert by_kind["pi_drift"]["reference"] == "previous" and by_kind["pi_drift"]["clinical"] is False

    def test_threshold_texts_name_their_source(self) -> None:
        _, _, found = _every_comparison_finding()
        text = {f.kind: f.threshold for f in found}
        assert (
            "> 2 mm disc height loss vs the 6-weeks film (cage subsidence; common study definition)"
            in text["cage_subsidence"]
        )
        assert "adjacent segment degeneration" in text["adjacent_segment_disc_height_loss"]
        assert "> 3 mm new L4-L5 listhesis" in text["adjacent_segment_listhesis"]
        assert text["pi_ll_mismatch"].startswith("SRS-Schwab PI-LL modifier < 10 / 10-20 / > 20 deg")
        assert "fusionwatch setting" in text["loss_of_segmental_lordosis"] and "fusionwatch setting" in text["pi_drift"]
        (f,) = instability_findings([SegmentMotion("L5-S1", 30.0, 0.1, 1.0, None, 0.1)])
        assert "AOMSI / AMA Guides 5th ed." in f.threshold and "CLINICAL" not in f.threshold

    def test_uncalibrated_evidence_says_ratio(self) -> None:
        base = visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (55.0, "px"), M.DISC_HEIGHT_INDEX_L5_S1: (0.30, "ratio")})
        now = visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (40.0, "px"), M.DISC_HEIGHT_INDEX_L5_S1: (0.20, "ratio")})
        ev = subsidence_finding(now, base, SURGERY, S).evidence
        assert ev["measure"] == "disc_height_index_L5_S1" and ev["unit"] == "ratio"
        assert ev["threshold"] == S.subsidence_dhi and "not mm" in ev["note"]
        assert ev["spacing_source"] == {"baseline": None, "current": None}

    def test_detector_plane_warning_travels_with_the_evidence(self) -> None:
        from fusionwatch.measurement import Measurement
        from fusionwatch.units import SpacingSource, Unit

        warn = SpacingSource.DETECTOR_PLANE.warning

        def detector(day: int, mm: float):  # both films at the detector plane: same plane, compared in mm
            return dataclasses.replace(
                visit(day),
                lateral_film=f"film-{day}",
                measurements={
                    M.DISC_HEIGHT_MEAN_L5_S1: Measurement(
                        M.DISC_HEIGHT_MEAN_L5_S1,
                        mm,
                        Unit.MM,
                        "t/1",
                        spacing_source=SpacingSource.DETECTOR_PLANE,
                        warnings=(warn,),
                    )
                },
            )

        ev = subsidence_finding(detector(182, 8.0), detector(42, 11.0), SURGERY, S).evidence
        assert ev["spacing_source"] == {"baseline": "detector_plane", "current": "detector_plane"}
        assert ev["warnings"] == [warn]


class TestInstability:
    def test_aomsi_thresholds(self) -> None:
        """Confident SDs (0.1): the AOMSI limits apply as before."""
        ok = SegmentMotion("L5-S1", 24.7, 0.1, translation_mm=4.3, translation_sd=0.1)
        bad = SegmentMotion("L4-L5", 20.3, 0.1, translation_mm=1.0, translation_sd=0.1)
        assert instability_findings([ok]) == []
        (f,) = instability_findings([ok, bad])
        assert f.kind == "instability_L4_L5" and "20.3 ± 0.1 deg" in f.summary
        assert f.severity is Severity.ACTION

    @pytest.mark.parametrize(
        "angle, sd, kind",
        [
            (25.0 + 1.96 * 0.5 + EPS, 0.5, "instability_L5_S1"),
            (25.0 + 1.96 * 0.5 - EPS, 0.5, "motion_indeterminate"),
            (25.0 + EPS, 5.0, "motion_indeterminate"),
            (25.0 + 1.96 * 5.0 - EPS, 5.0, "motion_indeterminate"),
            (25.0 + 1.96 * 5.0 + EPS, 5.0, "instability_L5_S1"),
            (25.0, 5.0, None),  # at the limit: not above it, nothing reported
            (25.0 - EPS, 0.1, None),
        ],
    )
    def test_angle_needs_lower_bound_above_limit(self, angle: float, sd: float, kind: str | None) -> None:
        fs = instability_findings([SegmentMotion("L5-S1", angle, sd, 1.0, None, 0.1, films=("f", "e"))])
        assert [f.kind for f in fs] == ([kind] if kind else [])
        if kind:
            (f,) = fs
            a = f.evidence["angle"]
            assert (a["value"], a["sd"], a["threshold"]) == (angle, sd, 25.0)
            assert a["interval_95"] == pytest.approx([angle - 1.96 * sd, angle + 1.96 * sd], abs=1e-4)
            assert f.films == ("f", "e") and f.evidence["films"] == ["f", "e"]
            assert f.severity is (Severity.ACTION if kind.startswith("instability") else Severity.WATCH)

    @pytest.mark.parametrize(
        "mm, sd, kind",
        [
            (4.5 + 1.96 * 2.5 + EPS, 2.5, "instability_L4_L5"),
            (4.5 + 1.96 * 2.5 - EPS, 2.5, "motion_indeterminate"),
            (-(4.5 + 1.96 * 0.2 + EPS), 0.2, "instability_L4_L5"),
            (4.5 + 1.96 * 0.5 - EPS, None, "motion_indeterminate"),  # missing SD -> default 0.5 mm
            (4.5 + 1.96 * 0.5 + EPS, None, "instability_L4_L5"),
        ],
    )
    def test_translation_needs_lower_bound_above_limit(self, mm: float, sd: float | None, kind: str) -> None:
        (f,) = instability_findings([SegmentMotion("L4-L5", 2.0, 0.2, mm, None, sd)])
        assert f.kind == kind
        t = f.evidence["translation"]
        assert t["sd_source"] == ("reported" if sd is not None else "default") and t["threshold"] == 4.5

    def test_ambiguous_registration_never_raises_instability(self) -> None:
        """A weak-match result (SD 5 deg / 2.5 mm) above both limits gives only a WATCH indeterminate finding."""
        (f,) = instability_findings([SegmentMotion("L5-S1", 30.0, 5.0, 6.0, None, 2.5)])
        assert f.kind == "motion_indeterminate" and f.severity is Severity.WATCH
        assert "too uncertain" in f.summary and "30.0 ± 5.0 deg" in f.summary and "6.0 ± 2.5 mm" in f.summary

    def test_uncalibrated_translation_not_judged(self) -> None:
        fs = instability_findings([SegmentMotion("L5-S1", 2.0, 0.2, None, 40.0, 1.0)])
        assert fs == []


class TestSettings:
    def test_from_mapping_changes_only_named_thresholds(self) -> None:
        from fusionwatch.followup import FollowupSettings

        s = FollowupSettings.from_mapping(
            {"fusion_angle_deg": 5, "pi_ll_bands_deg": [12, 22], "fusion_min_days": "180"}
        )
        assert (s.fusion_angle_deg, s.pi_ll_bands_deg, s.fusion_min_days) == (5.0, (12.0, 22.0), 180)
        assert s.subsidence_mm == DEFAULT_SETTINGS.subsidence_mm

    @pytest.mark.parametrize(
        "values, match",
        [
            ({"fusion_angel_deg": 5}, "Unknown follow-up setting"),
            ({"subsidence_mm": "two"}, "subsidence_mm: expected a number"),
            ({"subsidence_mm": -1}, "subsidence_mm must be positive"),
            ({"adjacent_flexion_angle_deg": 5}, "adjacent_flexion_angle_deg must be zero or negative"),
        ],
    )
    def test_bad_settings_raise(self, values: dict, match: str) -> None:
        from fusionwatch.errors import InputError
        from fusionwatch.followup import FollowupSettings

        with pytest.raises(InputError, match=match):
            FollowupSettings.from_mapping(values)
