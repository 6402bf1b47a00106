"""Millimetres are compared only between films calibrated in the same plane (reviewer R's F7, session 14).

A film whose spacing is (0018,1164) *Imager Pixel Spacing* without (0018,1114) *Estimated Radiographic Magnification
Factor* is calibrated at the detector plane: its millimetres are overstated by ~10-20 % (CLINICAL.md "Calibration").
Such a film and one calibrated at the patient plane (Pixel Spacing, magnification-corrected, or a reader's calibration)
are compared by the ratios that need no calibration (disc height index, slip %), never by subtracting millimetres.

The numbers of the first test are R's reproduction (the solid-fusion demo journey, immediate and 6-week lateral films
without the magnification factor, ``fusionwatch followup --json``): 6 weeks 13.999 mm / 0.367, 3 months 11.273 mm /
0.360, 12 months 11.167 mm / 0.357, magnification factor 1.2188 (the simulator's).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from fusionwatch.followup import DEFAULT_SETTINGS, VisitInput, build_timeline
from fusionwatch.followup.rules import adjacent_segment_findings, subsidence_finding
from fusionwatch.followup.schedule import visit_label
from fusionwatch.measurement import Measurement
from fusionwatch.measurement import MeasureName as M
from fusionwatch.units import SpacingSource, Unit

from ._series import SURGERY

S = DEFAULT_SETTINGS
DET, PAT, MAG, USER = (
    SpacingSource.DETECTOR_PLANE,
    SpacingSource.PATIENT_PLANE,
    SpacingSource.MAGNIFICATION_CORRECTED,
    SpacingSource.USER_CALIBRATION,
)
MM_NAMES = {M.DISC_HEIGHT_MEAN_L5_S1, M.DISC_HEIGHT_MEAN_L4_L5, M.SLIP_MM_L4_L5}


def film(day: int, source: SpacingSource, values: dict[M, float]) -> VisitInput:
    """A visit ``day`` days after SURGERY whose lateral film is calibrated from ``source`` (mm values carry it)."""
    when = SURGERY.date + dt.timedelta(days=day)
    label, _ = visit_label(day, when)
    ms = {}
    for name, value in values.items():
        if name in MM_NAMES:
            warn = (source.warning,) if source.warning else ()
            ms[name] = Measurement(name, value, Unit.MM, "t/1", spacing_source=source, warnings=warn)
        else:
            unit = Unit.PERCENT if name is M.SLIP_PERCENT_L4_L5 else Unit.RATIO
            ms[name] = Measurement(name, value, unit, "t/1")
    return VisitInput(label=label, date=when, days_since_surgery=day, measurements=ms, lateral_film=f"film-{day}",
                      films=(f"film-{day}",))


def l5s1(mm: float, dhi: float) -> dict[M, float]:
    return {M.DISC_HEIGHT_MEAN_L5_S1: mm, M.DISC_HEIGHT_INDEX_L5_S1: dhi}


class TestSubsidenceAcrossPlanes:
    def test_detector_plane_baseline_gives_no_false_subsidence(self) -> None:
        """R's case: the 6-week film at the detector plane (14.0 mm), later films magnification-corrected (11.3 mm).
        The 2.7 mm 'loss' is the magnification; the disc height index fell 0.007 (no subsidence)."""
        base = film(42, DET, l5s1(13.999, 0.367))
        for day, mm, dhi in ((91, 11.273, 0.360), (182, 11.2, 0.357), (365, 11.167, 0.357)):
            assert subsidence_finding(film(day, MAG, l5s1(mm, dhi)), base, SURGERY, S) is None, day

    def test_detector_plane_follow_up_does_not_hide_a_real_subsidence(self) -> None:
        """The reverse: baseline at the patient plane 11.5 mm / 0.367 (L5 depth 31.3 mm); 12-month film at the
        detector plane 11.6 mm (= 9.5 mm at the patient plane x 1.22) / 0.30. In mm it 'grew' 0.1 mm; the index fell
        0.067, above 2 mm / 31.3 mm = 0.064 (the 2 mm threshold on the patient-plane film's scale)."""
        base = film(42, PAT, l5s1(11.5, 0.367))
        f = subsidence_finding(film(365, DET, l5s1(11.6, 0.300)), base, SURGERY, S)
        assert f is not None and f.kind == "cage_subsidence"
        ev = f.evidence
        assert ev["measure"] == "disc_height_index_L5_S1" and ev["unit"] == "ratio"
        depth = 11.5 / 0.367
        assert ev["amount"] == pytest.approx(0.067, abs=1e-4)
        assert ev["threshold"] == pytest.approx(2.0 / depth, abs=1e-4)
        assert ev["threshold_from"] == {"threshold_mm": 2.0, "depth_mm": round(depth, 2), "depth_of": "L5",
                                        "visit": "6-weeks", "spacing_source": "patient_plane"}
        assert ev["spacing_source"] == {"current": None, "baseline": None}  # ratios: no spacing behind them
        assert ev["mm_not_compared"] == {
            "measure": "disc_height_mean_L5_S1",
            "spacing_source": {"current": "detector_plane", "baseline": "patient_plane"},
        }
        # the text says why, and prints no millimetres
        for text in (f.summary, ev["note"]):
            assert "6-weeks film is calibrated at the patient plane" in text, text
            assert "12-months film at the detector plane" in text and "disc height index" in text
        # no millimetre change: the mm it prints are the threshold and the depth, both of the patient-plane film
        assert "fell 0.067 disc height index since the 6-weeks film (threshold 0.064 disc height index = 2 mm " \
               "over the 31.3 mm L5 depth on the 6-weeks film;" in f.summary, f.summary
        assert "11.6" not in f.summary and "11.5" not in f.summary and "0.1 mm" not in f.summary
        json.dumps(ev)

    def test_converted_threshold_keeps_the_mm_rule_s_severity(self) -> None:
        """The demo's cage-subsidence journey with its 6- and 12-month films at the detector plane (R's reverse case,
        numbers from `followup --json`, 11:03 UTC): L5 depth 28.66 mm on the corrected 6-week film; 12 months:
        index 0.4123 -> 0.2876 = 0.125 = 3.6 mm at that depth, as in the all-corrected demo (WATCH: not above
        2 x 2 mm). The uncalibrated rule's 0.06 (2 mm over 35 mm) would have said ACTION (0.125 > 0.12)."""
        base = film(42, MAG, l5s1(11.818, 0.4123))
        f = subsidence_finding(film(365, DET, l5s1(10.408, 0.2876)), base, SURGERY, S)
        assert f is not None and f.severity.value == "watch", f.summary
        assert f.evidence["threshold"] == pytest.approx(2.0 / 28.66, abs=1e-3)
        six = subsidence_finding(film(182, DET, l5s1(11.228, 0.3102)), base, SURGERY, S)
        assert six is not None and six.evidence["amount"] == pytest.approx(0.1021, abs=1e-4)

    def test_without_a_depth_the_ratio_threshold_is_used(self) -> None:
        """A patient-plane film whose disc height index is 0 gives no depth: the uncalibrated films' 0.06 is used."""
        base = film(42, DET, l5s1(13.0, 0.30))
        f = subsidence_finding(film(365, PAT, l5s1(0.0, 0.0)), base, SURGERY, S)
        assert f is not None and f.evidence["threshold"] == S.subsidence_dhi and "threshold_from" not in f.evidence
        assert "(threshold 0.06 disc height index; the 6-weeks film is calibrated at the detector plane" in f.summary

    @pytest.mark.parametrize("a, b", [(DET, DET), (PAT, MAG), (MAG, USER), (PAT, USER), (MAG, MAG)])
    def test_same_plane_is_still_compared_in_mm(self, a: SpacingSource, b: SpacingSource) -> None:
        """Films calibrated in one plane are compared in mm as before (2.5 mm loss > 2 mm), the index unchanged."""
        f = subsidence_finding(film(182, b, l5s1(8.5, 0.30)), film(42, a, l5s1(11.0, 0.30)), SURGERY, S)
        assert f is not None and f.evidence["unit"] == "mm" and "2.5 mm" in f.summary
        assert "mm_not_compared" not in f.evidence
        assert f.evidence["spacing_source"] == {"current": b.value, "baseline": a.value}

    def test_same_spacing_plane(self) -> None:
        from fusionwatch.followup.compare import same_spacing_plane  # new: imported here so the file runs on old code

        assert same_spacing_plane(DET, DET) and same_spacing_plane(PAT, MAG) and same_spacing_plane(USER, PAT)
        assert not same_spacing_plane(DET, PAT) and not same_spacing_plane(MAG, DET)
        assert not same_spacing_plane(USER, DET) and not same_spacing_plane(None, PAT)


class TestAdjacentSegmentAcrossPlanes:
    def test_disc_height_loss_compared_as_index(self) -> None:
        """L4-L5: 12.2 mm (detector plane) -> 9.0 mm (patient plane) is a 3.2 mm 'loss' in mm (> 3 mm); the index
        fell 0.01: no finding. With a real fall of the index (0.10, above 3 mm over the 45 mm L4 depth of the
        patient-plane film = 0.067) the finding speaks in the index."""
        base = film(42, DET, {M.DISC_HEIGHT_MEAN_L4_L5: 12.2, M.DISC_HEIGHT_INDEX_L4_L5: 0.30})
        no = film(365, PAT, {M.DISC_HEIGHT_MEAN_L4_L5: 9.0, M.DISC_HEIGHT_INDEX_L4_L5: 0.29})
        assert adjacent_segment_findings(no, base, S) == []
        yes = film(365, PAT, {M.DISC_HEIGHT_MEAN_L4_L5: 9.0, M.DISC_HEIGHT_INDEX_L4_L5: 0.20})
        (f,) = adjacent_segment_findings(yes, base, S)
        assert f.kind == "adjacent_segment_disc_height_loss" and f.evidence["unit"] == "ratio"
        assert f.evidence["threshold"] == pytest.approx(3.0 / 45.0, abs=1e-4)  # 3 mm over 9.0 / 0.20 = 45 mm (L4)
        assert f.evidence["threshold_from"]["depth_of"] == "L4" and f.evidence["threshold_from"]["visit"] == "12-months"
        assert "fell 0.100 disc height index" in f.summary
        assert "detector plane" in f.summary and "patient plane" in f.summary

    def test_new_listhesis_compared_as_slip_percent(self) -> None:
        """L4-L5 slip 1.0 mm (patient plane) -> 4.3 mm (detector plane): +3.3 mm in mm (> 3 mm), but the slip % did
        not change (3 % -> 3 %): no finding. A slip % change of 9 (> 8 %) is found, in %."""
        base = film(42, PAT, {M.SLIP_MM_L4_L5: 1.0, M.SLIP_PERCENT_L4_L5: 3.0})
        same = film(365, DET, {M.SLIP_MM_L4_L5: 4.3, M.SLIP_PERCENT_L4_L5: 3.0})
        assert adjacent_segment_findings(same, base, S) == []
        (f,) = adjacent_segment_findings(film(365, DET, {M.SLIP_MM_L4_L5: 4.3, M.SLIP_PERCENT_L4_L5: 12.0}), base, S)
        assert f.kind == "adjacent_segment_listhesis" and f.evidence["unit"] == "%"
        assert f.evidence["threshold"] == S.new_listhesis_percent and " mm" not in f.summary
        assert f.evidence["mm_not_compared"]["spacing_source"] == {"current": "detector_plane",
                                                                   "baseline": "patient_plane"}
        assert "compared as slip %" in f.summary


class TestTimelineAcrossPlanes:
    @staticmethod
    def _journey() -> list[VisitInput]:
        """R's reproduction: pre-op magnification-corrected, immediate and 6 weeks at the detector plane, later
        films magnification-corrected."""
        return [
            film(-14, MAG, l5s1(9.6, 0.307)),
            film(1, DET, l5s1(14.3, 0.374)),
            film(42, DET, l5s1(13.999, 0.367)),
            film(91, MAG, l5s1(11.273, 0.360)),
            film(182, MAG, l5s1(11.2, 0.357)),
            film(365, MAG, l5s1(11.167, 0.357)),
        ]

    def test_no_finding_and_no_mm_change_across_planes(self) -> None:
        tl = build_timeline("K", SURGERY, self._journey())
        assert tl.baseline_label == "6-weeks"
        assert all(v.finding_kinds() == () for v in tl.visits), [(v.label, v.finding_kinds()) for v in tl.visits]
        three = tl.visit("3-months")
        mm = three.measurement(M.DISC_HEIGHT_MEAN_L5_S1)
        # neither vs the baseline nor vs the previous visit (both at the detector plane): no mm change is printed
        assert (mm.baseline, mm.delta_vs_baseline, mm.previous, mm.delta_vs_previous) == (None, None, None, None)
        dhi = three.measurement(M.DISC_HEIGHT_INDEX_L5_S1)
        assert dhi.delta_vs_baseline == pytest.approx(-0.007) and dhi.delta_vs_previous == pytest.approx(-0.007)
        # within one plane the mm changes stay
        six = tl.visit("6-months").measurement(M.DISC_HEIGHT_MEAN_L5_S1)
        assert six.delta_vs_previous == pytest.approx(11.2 - 11.273) and six.delta_vs_baseline is None
        imm = tl.visit("immediate-post-op").measurement(M.DISC_HEIGHT_MEAN_L5_S1)
        assert imm.previous is None and imm.delta_vs_previous is None  # pre-op film: the other plane
        assert tl.visit("6-weeks").measurement(M.DISC_HEIGHT_MEAN_L5_S1).delta_vs_previous == pytest.approx(-0.301)

    def test_baseline_note_says_which_films_are_in_which_plane(self) -> None:
        note = build_timeline("K", SURGERY, self._journey()).baseline_note
        assert "immediate-post-op and 6-weeks films are calibrated at the detector plane" in note, note
        assert "pre-op, 3-months, 6-months and 12-months films at the patient plane" in note
        assert "disc height index" in note and "slip %" in note

    def test_one_plane_adds_nothing_to_the_note(self) -> None:
        same = [dataclasses.replace(v, measurements={
            n: dataclasses.replace(x, spacing_source=MAG, warnings=()) if x.unit is Unit.MM else x
            for n, x in v.measurements.items()}) for v in self._journey()]
        tl = build_timeline("K", SURGERY, same)
        assert "plane" not in tl.baseline_note
        assert tl.visit("3-months").measurement(M.DISC_HEIGHT_MEAN_L5_S1).delta_vs_baseline == pytest.approx(
            11.273 - 13.999)
        assert tl.visit("3-months").finding_kinds() == ("cage_subsidence",)  # same plane: the mm rule as before
