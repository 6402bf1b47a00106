"""Tests for fusionwatch.implants.checks: hardware findings between a baseline and a later film."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fusionwatch.implants import (
    CAGE_MIGRATION_MM,
    HALO_LOOSENING_MM,
    SCREW_ENDPLATE_ANGLE_CHANGE_DEG,
    Cage,
    ImplantSettings,
    cage_position,
    check_cage_migration,
    check_implants,
    check_rod_discontinuity,
    check_screw_breakage,
    check_screw_endplate_angle,
    check_screw_halo,
    detect_implants,
    halo_changes,
    screw_angle_change,
    screw_endplate_angle_deg,
)
from fusionwatch.implants.checks import PARTIAL_MATCH_SD_DEG, SCREW_MATCH_MAX_AXIS_SD_DEG
from fusionwatch.records import Severity

from ._draw import SPACING_MM, postop_film


def _pair(**current_kwargs):
    b_film, b_lm, _ = postop_film(seed=1)
    c_film, c_lm, _ = postop_film(seed=2, **current_kwargs)
    return b_film, b_lm, detect_implants(b_film, b_lm), c_film, c_lm, detect_implants(c_film, c_lm)


class TestScrewEndplateAngle:
    """The >= 1.9 deg screw-endplate angle change (PMID 24170238)."""

    def test_angle_of_drawn_screw(self) -> None:
        """The L5 screw drawn from (420, 215) to (190, 200) makes atan(15/230) with the horizontal endplate."""
        film, lm, _ = postop_film()
        screw = detect_implants(film, lm).screws[0]
        import math

        expected = math.degrees(math.atan2(-15, -230))  # head->tip direction vs anterior->posterior endplate
        expected = (expected + 90) % 180 - 90
        assert screw_endplate_angle_deg(screw, lm, film.spacing) == pytest.approx(expected, abs=0.3)

    def test_turned_screw_flags_loosening(self) -> None:
        """A 3 deg turn of the L5 screw gives one 'screw_loosening_suspected' finding with the change."""
        b_film, b_lm, b, c_film, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        (f,) = check_screw_endplate_angle(b, b_lm, c, c_lm)
        assert f.kind == "screw_loosening_suspected" and f.severity is Severity.WATCH
        assert abs(f.evidence["change_deg"]) == pytest.approx(3.0, abs=0.4)
        assert f.evidence["level"] == "L5" and "24170238" in f.threshold
        assert f.films == (b.film, c.film)

    def test_small_turn_no_finding(self) -> None:
        """A 0.8 deg turn stays below the 1.9 deg threshold."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=0.8)
        assert check_screw_endplate_angle(b, b_lm, c, c_lm) == []
        assert SCREW_ENDPLATE_ANGLE_CHANGE_DEG == 1.9

    def test_setting_lowers_threshold(self) -> None:
        """With a 0.3 deg setting, the 0.8 deg turn is reported (its 95 % lower bound, ~0.4 deg, reaches 0.3)."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=0.8)
        assert len(check_screw_endplate_angle(b, b_lm, c, c_lm, ImplantSettings(screw_endplate_angle_change_deg=0.3)))


class TestHaloCheck:
    """Halo > 1 mm -> screw loosening suspected."""

    def test_wide_halo_flags(self) -> None:
        """A 1.5 mm rim on the L5 screw gives one finding, never 'excluded' for the other."""
        film, lm, _ = postop_film(halo_mm=1.5, seed=3)
        (f,) = check_screw_halo(film, detect_implants(film, lm))
        assert f.kind == "screw_loosening_suspected" and f.evidence["criterion"] == "halo"
        assert f.evidence["halo_mm"] == pytest.approx(1.5, abs=0.15)
        assert "excluded" not in f.summary and str(HALO_LOOSENING_MM) in f.threshold

    def test_thin_halo_no_finding(self) -> None:
        """A 0.5 mm rim is below 1 mm: no finding."""
        film, lm, _ = postop_film(halo_mm=0.5, seed=3)
        assert check_screw_halo(film, detect_implants(film, lm)) == []

    @staticmethod
    def _saturated(halo_mm: float, seed: int) -> tuple:
        film, lm, _ = postop_film(halo_mm=halo_mm, seed=seed, saturate_at=1.6)
        return film, lm, detect_implants(film, lm)

    def test_new_halo_since_baseline_flags(self) -> None:
        """A 1.5 mm halo absent on the baseline film: one L5 finding with its evidence, width ~1.5 mm."""
        b_film, b_lm, b = self._saturated(0.0, 4)
        film, lm, cur = self._saturated(1.5, 3)
        (f,) = check_screw_halo(film, cur, baseline=(b_film, b), landmarks=(b_lm, lm))
        assert f.kind == "screw_loosening_suspected" and f.evidence["criterion"] == "halo"
        assert f.evidence["level"] == "L5" and f.evidence["halo_mm"] == pytest.approx(1.5, abs=0.3)
        assert min(f.evidence["darkening"]) >= f.evidence["darkening_threshold"]
        assert f.films == (b.film, cur.film) and f.evidence["films"] == [b.film, cur.film]
        assert "Suspected" in f.summary and "excluded" not in f.summary and "baseline" in f.threshold

    def test_halo_already_on_baseline_is_not_new(self) -> None:
        """The same dark rim on both films (e.g. an edge-enhancement undershoot) is not reported."""
        b_film, b_lm, b = self._saturated(1.5, 4)
        film, lm, cur = self._saturated(1.5, 3)
        assert check_screw_halo(film, cur, baseline=(b_film, b), landmarks=(b_lm, lm)) == []

    def test_no_halo_and_thin_halo_no_finding(self) -> None:
        """No halo on either film, or a new 0.6 mm one (below 1 mm): no finding; the darkening is still measured."""
        b_film, b_lm, b = self._saturated(0.0, 4)
        for halo, dark in ((0.0, False), (0.6, True)):
            film, lm, cur = self._saturated(halo, 3)
            assert check_screw_halo(film, cur, baseline=(b_film, b), landmarks=(b_lm, lm)) == []
            (l5,) = [hc for _, sc, hc in halo_changes(b_film, b, film, cur, (b_lm, lm)) if sc.level.value == "L5"]
            assert (min(l5.darkening) > 0.05) is dark
            if dark:  # (without a halo the reach of a noise-level difference means nothing)
                assert 0.3 < l5.mean_width_mm < 1.0

    def test_uncalibrated_no_finding(self) -> None:
        """Without spacing a px width cannot be judged against 1 mm: no finding."""
        film, lm, _ = postop_film(halo_mm=1.5, seed=3)
        film = dataclasses.replace(film, spacing=None)
        assert check_screw_halo(film, detect_implants(film, lm)) == []


class TestCageMigration:
    """Cage centre relative to the S1 superior endplate."""

    def test_position_in_endplate_frame(self) -> None:
        """The pins' centre (250, 305) sits 25 px = 5 mm above the S1 endplate at y 330, on its midpoint."""
        film, lm, _ = postop_film()
        pos = cage_position(detect_implants(film, lm), lm)
        assert pos["unit"] == "mm"
        assert pos["along"] == pytest.approx(0.0, abs=0.2)
        assert pos["above"] == pytest.approx(25 * SPACING_MM, abs=0.2)
        assert pos["to_l5"] == pytest.approx(25 * SPACING_MM, abs=0.2)

    def test_shift_flags_migration(self) -> None:
        """Pins moved 15 px (3 mm) posteriorly: 'cage_migration' with 3 mm and direction posterior."""
        _, b_lm, b, _, c_lm, c = _pair(cage_shift_px=(15.0, 0.0))
        f = check_cage_migration(b, b_lm, c, c_lm)
        assert f is not None and f.kind == "cage_migration" and f.severity is Severity.ACTION
        assert f.evidence["displacement"] == pytest.approx(3.0, abs=0.2)
        assert f.evidence["direction"] == "posterior"

    def test_small_shift_no_finding(self) -> None:
        """A 1 mm shift is below the 2 mm setting."""
        _, b_lm, b, _, c_lm, c = _pair(cage_shift_px=(5.0, 0.0))
        assert check_cage_migration(b, b_lm, c, c_lm) is None
        assert CAGE_MIGRATION_MM == 2.0

    def test_cage_seen_differently_no_finding(self) -> None:
        """A cage seen as marker pins on one film and as a solid outline on the other (or as fewer pins) is not
        compared: the two centres are not the same point of the cage."""
        _, b_lm, b, _, c_lm, c = _pair(cage_shift_px=(15.0, 0.0))
        assert check_cage_migration(b, b_lm, c, c_lm) is not None
        solid = dataclasses.replace(c, cage=Cage(c.cage.centroid, outline=((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))))
        assert check_cage_migration(b, b_lm, solid, c_lm) is None
        fewer = dataclasses.replace(c, cage=Cage(c.cage.centroid, markers=c.cage.markers[:2]))
        assert check_cage_migration(b, b_lm, fewer, c_lm) is None

    def test_partial_outline_not_compared(self) -> None:
        """A solid cage whose outline covers half the area on the later film (a partial segmentation) is not compared,
        though its centre moved; the same outline, shifted 15 px (3 mm), is."""
        b_film, b_lm, _ = postop_film(seed=1, solid_cage=True)
        c_film, c_lm, _ = postop_film(seed=2, solid_cage=True, cage_shift_px=(15.0, 0.0))
        b, moved = detect_implants(b_film, b_lm), detect_implants(c_film, c_lm)
        half = np.asarray(moved.cage.outline, float)
        half = tuple(map(tuple, half.mean(0) + (half - half.mean(0)) * 0.7))  # 0.49 x the area
        partial = dataclasses.replace(moved, cage=Cage(tuple(np.mean(half, axis=0)), outline=half))
        assert check_cage_migration(b, b_lm, moved, c_lm) is not None
        assert check_cage_migration(b, b_lm, partial, c_lm) is None

    def test_uncalibrated_uses_percent(self) -> None:
        """Uncalibrated films compare in % of the endplate depth (15 px of 200 px = 7.5 %)."""
        b_film, b_lm, _ = postop_film(seed=1, spacing=False)
        c_film, c_lm, _ = postop_film(seed=2, spacing=False, cage_shift_px=(15.0, 0.0))
        f = check_cage_migration(detect_implants(b_film, b_lm), b_lm, detect_implants(c_film, c_lm), c_lm)
        assert f is not None and f.evidence["unit"] == "%"
        assert f.evidence["displacement"] == pytest.approx(7.5, abs=0.5)

    def test_films_calibrated_in_two_planes_compare_percent_not_mm(self) -> None:
        """R's F7 rule for the cage (F1's note): a baseline calibrated in the detector plane (no magnification
        factor: here 1.5 x the patient-plane mm, exaggerated so the 5 mm of the pins above S1 become 7.5 mm) and a
        follow-up in the patient plane: the unmoved cage 'moved' 2.5 mm > 2 mm when mm were subtracted. Now compared
        in % of the S1 endplate depth, the finding says why; a real 15 px shift is still found, in %."""
        from fusionwatch.units import Spacing, SpacingSource

        def planes(b, c):  # noqa: ANN001, ANN202
            detector = Spacing.isotropic(SPACING_MM * 1.5, SpacingSource.DETECTOR_PLANE)
            patient = Spacing.isotropic(SPACING_MM, SpacingSource.MAGNIFICATION_CORRECTED)
            return dataclasses.replace(b, spacing=detector), dataclasses.replace(c, spacing=patient)

        _, b_lm, b, _, c_lm, c = _pair()
        b, c = planes(b, c)
        assert check_cage_migration(b, b_lm, c, c_lm) is None
        _, b_lm, b, _, c_lm, c = _pair(cage_shift_px=(15.0, 0.0))
        b, c = planes(b, c)
        f = check_cage_migration(b, b_lm, c, c_lm)
        assert f is not None and f.evidence["unit"] == "%" and f.evidence["displacement"] == pytest.approx(7.5, abs=0.5)
        assert "detector plane" in f.evidence["mm_not_compared"] and "not compared across planes" in f.summary

    def test_a_screw_seen_in_two_planes_is_the_same_screw(self) -> None:
        """_same_screw compared screw lengths in mm across a detector-plane and a patient-plane film (x 1.3: a 30 %
        'length change', so the same screw was not matched and its angle never compared). Now as a fraction of its
        vertebra's endplate, each film in its own pixels."""
        from fusionwatch.implants.checks import _same_screw
        from fusionwatch.units import Spacing, SpacingSource

        _, b_lm, b, _, c_lm, c = _pair()
        b = dataclasses.replace(b, spacing=Spacing.isotropic(SPACING_MM * 1.3, SpacingSource.DETECTOR_PLANE))
        c = dataclasses.replace(c, spacing=Spacing.isotropic(SPACING_MM, SpacingSource.MAGNIFICATION_CORRECTED))
        sb = max(b.screws, key=lambda q: q.length_px)
        sc = min(c.screws, key=lambda q: np.hypot(q.head[0] - sb.head[0], q.head[1] - sb.head[1]))
        assert _same_screw(sb, b, sc, c, b_lm, c_lm) == "length"


class TestBreakage:
    """Rod discontinuity and screw breakage."""

    def test_rod_gap_new_since_baseline(self) -> None:
        """A new rod gap gives 'rod_fracture_suspected' with the gap in mm."""
        _, _, b, _, _, c = _pair(rod_gap_px=12)
        (f,) = check_rod_discontinuity(c, b)
        assert f.kind == "rod_fracture_suspected" and f.severity is Severity.ACTION
        assert f.evidence["gap_mm"] == pytest.approx(12 * SPACING_MM, abs=0.6)

    def test_intact_rod_no_finding(self) -> None:
        """An intact rod gives nothing."""
        _, _, b, _, _, c = _pair()
        assert check_rod_discontinuity(c, b) == [] and check_screw_breakage(c, b) == []

    def test_broken_screw(self) -> None:
        """A screw in two pieces gives 'screw_breakage_suspected' at S1."""
        _, _, b, _, _, c = _pair(broken_screw_gap_px=10)
        (f,) = check_screw_breakage(c, b)
        assert f.kind == "screw_breakage_suspected" and f.evidence["level"] == "S1"


def test_check_implants_runs_all() -> None:
    """check_implants() collects every positive check and nothing on an unchanged pair."""
    b_film, b_lm, b, c_film, c_lm, c = _pair()
    assert check_implants(b_film, b_lm, b, c_film, c_lm, c) == []
    b_film, b_lm, b, c_film, c_lm, c = _pair(rod_gap_px=12, cage_shift_px=(15.0, 0.0), halo_mm=1.5)
    kinds = [f.kind for f in check_implants(b_film, b_lm, b, c_film, c_lm, c)]
    assert "cage_migration" in kinds and "rod_fracture_suspected" in kinds and "screw_loosening_suspected" in kinds


def test_finding_thresholds_cite_sources_not_internal_documents() -> None:
    """Every implant finding's threshold text names its source (a publication or this tool's setting), never an
    internal project document a clinician cannot look up; the evidence keeps the value, threshold and films."""
    b_film, b_lm, b, c_film, c_lm, c = _pair(rod_gap_px=12, cage_shift_px=(15.0, 0.0), halo_mm=1.5)
    found = check_implants(b_film, b_lm, b, c_film, c_lm, c)
    found += check_screw_halo(c_film, c)  # the single-film rule
    _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0, broken_screw_gap_px=12)
    found += check_screw_endplate_angle(b, b_lm, c, c_lm) + check_screw_breakage(c, b)
    kinds = {f.kind for f in found}
    assert {"cage_migration", "rod_fracture_suspected", "screw_loosening_suspected"} <= kinds
    assert {"screw_breakage_suspected"} <= kinds
    for f in found:
        assert f.threshold and ".md" not in f.threshold and "CLINICAL" not in f.threshold, f.threshold
        assert f.films
    halo = [f for f in found if f.evidence.get("criterion") == "halo"]
    assert len(halo) >= 2  # with and without the baseline film
    assert all("Sanden" in f.threshold and f.evidence["threshold_mm"] == 1.0 for f in halo)
    assert any("PMID 24170238" in f.threshold for f in found)


class TestAngleUncertainty:
    """The screw-endplate angle change is judged against its SD (screw axes from edge fits, endplate corners)."""

    def test_evidence_has_value_sd_threshold_and_films(self) -> None:
        """A 3 deg turn on 64 mm screws is 'above': the evidence shows change, SD, interval, threshold and films."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        (f,) = check_screw_endplate_angle(b, b_lm, c, c_lm)
        ev = f.evidence
        assert ev["call"] == "above" and ev["sd_deg"] > 0
        assert ev["interval_95"][0] == pytest.approx(abs(ev["change_deg"]) - 1.96 * ev["sd_deg"], abs=2e-3)
        assert ev["interval_95"][0] >= ev["threshold_deg"] == 1.9
        assert ev["films"] == [b.film, c.film] and f.films == (b.film, c.film)
        assert "suspected" in f.summary.lower() and "excluded" not in f.summary.lower()

    def test_noisy_axes_make_the_change_indeterminate(self) -> None:
        """The same 3 deg turn with screw axes known only to +/- 1 deg is not reported (95 % interval holds 1.9)."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)

        def noisy(im):
            return dataclasses.replace(im, screws=tuple(dataclasses.replace(s, axis_sd_deg=1.0) for s in im.screws))

        assert check_screw_endplate_angle(noisy(b), b_lm, noisy(c), c_lm) == []
        (r,) = [r for r in screw_angle_change(noisy(b), b_lm, noisy(c), c_lm) if r["level"] == "L5"]
        assert r["call"] == "indeterminate" and r["interval_95"][0] < 1.9 < r["interval_95"][1]

    def test_detected_landmarks_add_endplate_uncertainty(self) -> None:
        """Landmarks with confidences (a detector's) add the corner SD to the endplate direction; reader ones do not."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        conf = {n: 0.9 for n in b_lm.points}
        auto_b, auto_c = dataclasses.replace(b_lm, confidence=conf), dataclasses.replace(c_lm, confidence=conf)
        (r_placed,) = [r for r in screw_angle_change(b, b_lm, c, c_lm) if r["level"] == "L5"]
        (r_auto,) = [r for r in screw_angle_change(b, auto_b, c, auto_c) if r["level"] == "L5"]
        assert r_placed["sd_parts_deg"]["baseline_endplate"] == 0.0
        # 1 mm corner SD over a 40 mm endplate (200 px at 0.2 mm/px): sqrt(2) x 1 / 40 rad = 2.03 deg
        assert r_auto["sd_parts_deg"]["baseline_endplate"] == pytest.approx(2.026, abs=0.01)
        assert r_auto["call"] != "above"

    def test_fitted_screws_compared_only_with_an_edge_fit(self) -> None:
        """A screw placed by the bar fit counts when its metal edges were fitted (an axis SD), like any other screw;
        without an edge fit (no axis SD) no screw gives an angle change."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        fitted = dataclasses.replace(c, screws=tuple(dataclasses.replace(s, fitted=True) for s in c.screws))
        plain = {r["level"]: r["change_deg"] for r in screw_angle_change(b, b_lm, c, c_lm)}
        assert {r["level"]: r["change_deg"] for r in screw_angle_change(b, b_lm, fitted, c_lm)} == plain
        no_fit = dataclasses.replace(fitted, screws=tuple(dataclasses.replace(s, axis_sd_deg=None) for s in c.screws))
        assert screw_angle_change(b, b_lm, no_fit, c_lm) == []


def test_halo_must_stand_out_of_the_other_levels() -> None:
    """A darkening next to the screws of every level (a change of exposure or look-up table) is no halo: the
    reference is the median darkening next to the other levels' screws' sides (at least 0), and a screw must darken
    twice it."""
    from fusionwatch.anatomy import Level
    from fusionwatch.implants.checks import HALO_SPECIFICITY, _reference_darkening
    from fusionwatch.implants.detection import Screw
    from fusionwatch.implants.halo import HaloChange

    def change(d: float) -> HaloChange:
        return HaloChange((d, d + 0.1), (5.0, 5.0), (-0.05, -0.05), (1.8, 1.8), 40)

    l5a, l5b = (Screw((0.0, y), (40.0, y), 8.0, Level.L5) for y in (0.0, 10.0))
    s1a, s1b = (Screw((0.0, y), (40.0, y), 8.0, Level.S1) for y in (50.0, 60.0))
    loose = [(l5a, l5a, change(0.02)), (l5b, l5b, change(-0.23)), (s1a, s1a, change(0.6)), (s1b, s1b, change(0.5))]
    assert _reference_darkening(s1a, loose) == 0.0  # the L5 screws did not darken (a negative mean counts as 0)
    assert _reference_darkening(l5a, loose) == pytest.approx(0.6)  # an L5 screw is judged against the S1 screws
    everywhere = [(sc, sc, change(0.3 + 0.05 * k)) for k, sc in enumerate((l5a, l5b, s1a, s1b))]
    ref = _reference_darkening(s1b, everywhere)
    assert ref == pytest.approx(0.375)  # mean of the L5 sides 0.3, 0.4, 0.35, 0.45
    assert min(everywhere[3][2].darkening) < HALO_SPECIFICITY * ref  # 0.45 < 2 x 0.375: S1 does not stand out


def test_reference_ignores_one_outlying_side() -> None:
    """Regression (held-out screw-loosening seed 15, per-film flank and look-up-table power): one L5 side next to the
    rod 'darkened' 1.84, the other sides about 0; with the mean as reference (0.52) the S1 halo (0.74 / 0.77) did not
    stand out 2x, with the median (0.12) it does."""
    from fusionwatch.anatomy import Level
    from fusionwatch.implants.checks import ImplantSettings, _reference_darkening, _stands_out
    from fusionwatch.implants.detection import Screw
    from fusionwatch.implants.halo import HaloChange

    def change(dark, metal):
        return HaloChange(dark, (3.0, 3.0), (-0.1, -0.1), (1.8, 1.8), 40, (0.0, 0.0), (0.0, 0.0), metal)

    l5a, l5b = (Screw((0.0, y), (40.0, y), 8.0, Level.L5) for y in (0.0, 10.0))
    s1 = Screw((0.0, 50.0), (40.0, 50.0), 8.0, Level.S1)
    changes = [
        (l5a, l5a, change((-0.05, -0.05), (-0.005, -0.005))),
        (l5b, l5b, change((0.29, 1.84), (0.03, 0.2))),
        (s1, s1, change((0.77, 0.74), (0.09, 0.08))),
    ]
    assert 0.74 < 2 * 0.5075  # the mean of the L5 sides would have hidden it
    assert _reference_darkening(s1, changes) == pytest.approx(0.12)
    assert _stands_out(s1, changes[2][2], changes, ImplantSettings())[0]


def test_crushed_baseline_is_judged_in_the_metal_unit_too_demo_v22() -> None:
    """Regression (`make demo`, SIM_VERSION 22, solid-fusion AP pair, 1000 x 1250 px, measured 2026-11-24): the
    baseline film's bone is crushed against the top of its grey scale (5-95 % spread 26 grey levels around S1), so
    in the local unit the band beside every screw 'darkened', the S1 screws 2.4-3.4x the L5 median; in the
    metal-over-bone unit they darkened no more than L5 (0.18-0.21 vs 0.19), so no halo is called."""
    from fusionwatch.anatomy import Level
    from fusionwatch.implants.checks import ImplantSettings, _new_halo, _stands_out
    from fusionwatch.implants.detection import Screw
    from fusionwatch.implants.halo import HaloChange

    def hc(dark, rel, bb, w, tail, metal):
        return HaloChange(dark, rel, bb, w, 40, tail, (-0.04, -0.03), metal)

    l5l = Screw((468.9, 723.0), (496.0, 770.0), 15.2, Level.L5)
    l5r = Screw((573.5, 722.3), (547.8, 771.3), 16.0, Level.L5)
    s1l = Screw((435.1, 798.9), (495.1, 868.6), 14.4, Level.S1)
    s1r = Screw((606.1, 799.1), (548.2, 868.2), 14.0, Level.S1)
    changes = [
        (l5l, l5l, hc((0.472, 0.611), (0.78, 2.04), (-0.61, -0.22), (1.13, 1.43), (-0.036, 0.042), (0.319, 0.237))),
        (l5r, l5r, hc((0.217, 0.121), (0.72, 0.33), (-0.22, -0.36), (1.51, 1.28), (0.003, 0.012), (0.111, 0.149))),
        (s1l, s1l, hc((1.205, 1.289), (1.45, 1.8), (-0.83, -0.72), (1.52, 1.46), (0.151, 0.001), (0.215, 0.238))),
        (s1r, s1r, hc((0.855, 1.06), (1.75, 1.64), (-0.49, -0.65), (1.22, 1.37), (0.02, 0.076), (0.18, 0.25))),
    ]
    s = ImplantSettings()
    for _, sc, h in changes[2:]:
        assert _new_halo(h, s)  # the band rules alone would call both S1 screws
        ok, ref, ref_m = _stands_out(sc, h, changes, s)
        assert min(h.darkening) >= s.halo_specificity * ref  # and so would the local-unit reference
        assert min(h.darkening_metal) < s.halo_specificity_metal * ref_m and not ok


def _demo_v18_solid_fusion_changes() -> list:
    """The halo_change values of the four screws on the demo's solid-fusion AP pair (seed 100, 1000 x 1250 px,
    SIM_VERSION 18, immediate post-operative -> 12 months), as measured on 2026-11-24: no screw is loose; the bone
    around every screw sat in the compressed top of the baseline film's grey scale, so every side darkened."""
    from fusionwatch.anatomy import Level
    from fusionwatch.implants.detection import Screw
    from fusionwatch.implants.halo import HaloChange

    def hc(dark, bb, w, tail):
        return HaloChange(dark, tuple(d / max(-b, 0.1) for d, b in zip(dark, bb, strict=True)), bb, w, 40, tail)

    l5l = Screw((468.5, 722.3), (495.8, 770.4), 15.2, Level.L5)
    l5r = Screw((574.1, 721.0), (547.8, 771.3), 16.0, Level.L5)
    s1l = Screw((435.1, 798.9), (495.1, 868.6), 14.4, Level.S1)
    s1r = Screw((606.1, 799.1), (548.2, 868.2), 14.0, Level.S1)
    return [
        (l5l, l5l, hc((0.427, 0.281), (-0.065, -0.02), (1.26, 1.44), (0.042, 0.005))),
        (l5r, l5r, hc((0.149, 0.221), (-0.018, -0.042), (1.38, 1.36), (0.0, 0.016))),
        (s1l, s1l, hc((0.303, 0.331), (-0.043, -0.038), (1.56, 1.52), (0.041, 0.025))),
        (s1r, s1r, hc((0.263, 0.368), (-0.032, -0.038), (1.33, 1.5), (0.009, 0.051))),
    ]


def test_processing_change_at_every_screw_is_no_halo_demo_v18() -> None:
    """Regression (false 'S1 screw (image left)' halo, 1.5 mm, in `make demo` on SIM_VERSION 18): every screw of the
    solid-fusion AP pair darkened (0.15-0.43 per side), the S1 image-left screw by 0.303 / 0.331. Against the least
    L5 side (0.149) it stood out 2x and was called; against the mean of the L5 sides (0.27) it does not. The screws
    would each pass the band rules alone, so only the reference keeps them from being called."""
    from fusionwatch.implants.checks import HALO_SPECIFICITY, ImplantSettings, _new_halo, _reference_darkening

    changes = _demo_v18_solid_fusion_changes()
    # the values were measured in the metal-over-bone unit used until 2026-11-24, whose darkening threshold was 0.15;
    # the reference rule is unit-free, so it is checked here with that threshold
    s = ImplantSettings(halo_darkening=0.15)
    s1l = changes[2]
    assert _new_halo(s1l[2], s)  # the band rules alone would call it
    assert min(changes[1][2].darkening) * HALO_SPECIFICITY <= min(s1l[2].darkening)  # the old reference would too
    for _, sc, hc in changes:
        assert min(hc.darkening) < s.halo_specificity * _reference_darkening(sc, changes), sc.level


@pytest.mark.slow
def test_demo_solid_fusion_ap_pair_has_no_halo(tmp_path) -> None:
    """The demo's solid-fusion journey (seed 100, 1000 x 1250 px, the current simulator) gives no hardware finding
    on its AP pair (immediate post-operative -> 12 months): no screw is loose and no rod is broken (~12 s)."""
    import json

    from fusionwatch.implants import check_implants
    from fusionwatch.io import read_landmarks, read_radiograph
    from fusionwatch.sim import simulate_journey
    from fusionwatch.sim.demo import DEMO_SEEDS

    path = simulate_journey("solid-fusion", DEMO_SEEDS["solid-fusion"], tmp_path, size=(1000, 1250))
    films = [f for f in json.loads(path.read_text())["films"] if f["view"] == "ap" and f["visit"] != "pre-op"]
    loaded = []
    for f in (films[0], films[-1]):
        film, lm = read_radiograph(tmp_path / f["file"]), read_landmarks(tmp_path / f["landmarks"])
        loaded += [film, lm, detect_implants(film, lm)]
    assert len(loaded[2].screws) == 4 and len(loaded[5].screws) == 4
    assert check_implants(*loaded) == []


class TestScrewPairingAcrossLengths:
    """A screw whose segmentation ends elsewhere on the later film (a halo, dense bone) is still compared when the
    shorter detection lies along the longer one; a detection beside the screw or a short fragment is not."""

    @staticmethod
    def _with_l5(im, move):
        screws = tuple(move(s) if s.level is not None and s.level.value == "L5" else s for s in im.screws)
        return dataclasses.replace(im, screws=screws)

    @staticmethod
    def _shorten(share: float, shift_radii: float = 0.0):
        """Keep the tip and ``share`` of the shaft from it; move the detection ``shift_radii`` radii sideways."""

        def move(s):
            h, t = np.asarray(s.head, float), np.asarray(s.tip, float)
            n = np.array([-(t - h)[1], (t - h)[0]]) / np.hypot(*(t - h))
            off = n * shift_radii * s.diameter_px / 2.0
            head = t + share * (h - t) + off
            return dataclasses.replace(s, head=tuple(float(v) for v in head), tip=tuple(float(v) for v in t + off))

        return move

    def test_shorter_detection_along_the_screw_is_compared(self) -> None:
        """The turned L5 screw detected 35 % shorter (head end lost) still gives its ~3 deg change, 'above'."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        short = self._with_l5(c, self._shorten(0.65))
        (l5_short,) = [s for s in short.screws if s.level.value == "L5"]
        (l5_base,) = [s for s in b.screws if s.level.value == "L5"]
        assert l5_short.length_px < 0.8 * l5_base.length_px  # beyond SCREW_MATCH_LENGTH_TOLERANCE
        (r,) = [r for r in screw_angle_change(b, b_lm, short, c_lm) if r["level"] == "L5"]
        assert abs(r["change_deg"]) == pytest.approx(3.0, abs=0.4) and r["call"] == "above"
        assert r["paired_by"] == "along" and r["sd_parts_deg"]["partial_match"] == PARTIAL_MATCH_SD_DEG
        # the same holds with the shorter detection on the baseline film
        (r2,) = [
            r for r in screw_angle_change(self._with_l5(b, self._shorten(0.65)), b_lm, c, c_lm) if r["level"] == "L5"
        ]
        assert abs(r2["change_deg"]) == pytest.approx(3.0, abs=0.4)

    def test_detection_beside_the_screw_is_not_compared(self) -> None:
        """The same shorter detection moved 2 radii sideways (outside the longer screw's metal) is not paired."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        beside = self._with_l5(c, self._shorten(0.65, shift_radii=2.0))
        assert [r for r in screw_angle_change(b, b_lm, beside, c_lm) if r["level"] == "L5"] == []

    def test_short_fragment_is_not_compared(self) -> None:
        """A fragment of 40 % of the screw shares less than half of it: not paired."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)
        fragment = self._with_l5(c, self._shorten(0.4))
        assert [r for r in screw_angle_change(b, b_lm, fragment, c_lm) if r["level"] == "L5"] == []

    def test_blurred_axis_with_other_length_is_not_compared(self) -> None:
        """A shorter detection along the screw whose edges do not follow one bar (axis SD above the limit, as a merged
        or partial detection gives) is not paired; with the same length it still would be."""
        _, b_lm, b, _, c_lm, c = _pair(l5_screw_turn_deg=3.0)

        def blur(s):
            return dataclasses.replace(s, axis_sd_deg=2 * SCREW_MATCH_MAX_AXIS_SD_DEG)

        short_blurred = self._with_l5(c, lambda s: blur(self._shorten(0.65)(s)))
        assert [r for r in screw_angle_change(b, b_lm, short_blurred, c_lm) if r["level"] == "L5"] == []
        (r,) = [r for r in screw_angle_change(b, b_lm, self._with_l5(c, blur), c_lm) if r["level"] == "L5"]
        assert r["paired_by"] == "length" and "partial_match" not in r["sd_parts_deg"]


def test_screw_name_tells_apart_two_screws_of_one_level_on_an_ap_film_only():
    from fusionwatch.anatomy import Level
    from fusionwatch.implants import Implants, Screw
    from fusionwatch.implants.checks import screw_name
    from fusionwatch.radiograph import View

    left = Screw((100.0, 50.0), (130.0, 60.0), 8.0, Level.S1)
    right = Screw((200.0, 50.0), (170.0, 60.0), 8.0, Level.S1)
    l5 = Screw((100.0, 10.0), (130.0, 15.0), 8.0, Level.L5)
    ap = Implants((left, right, l5), (), None, "ap.dcm", View.AP, None, 0.5)
    assert screw_name(left, ap) == "S1 screw (image left)"
    assert screw_name(right, ap) == "S1 screw (image right)"
    assert screw_name(l5, ap) == "L5 screw"
    lateral = Implants((left, right), (), None, "lat.dcm", View.LATERAL, None, 0.5)
    assert screw_name(left, lateral) == "S1 screw"
    from fusionwatch.implants.checks import screw_image_side

    assert [screw_image_side(sc, ap) for sc in (left, right, l5)] == ["left", "right", None]
    assert screw_image_side(left, lateral) is None
