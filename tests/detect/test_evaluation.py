"""Tests for fusionwatch.detect.evaluation with a stand-in detector (known errors, no model needed)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from _synth import draw_lateral_spine
from fusionwatch.detect.datasets import Sample
from fusionwatch.detect.evaluation import EvaluationReport, evaluate_one, worst_cases_sheet
from fusionwatch.errors import UnsupportedImageError
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.units import Spacing, SpacingSource


def _sample(scale: float = 1.0) -> Sample:
    pixels, lm = draw_lateral_spine(mm_per_px=1.0, seed=0)
    return Sample(
        pixels.astype(np.float32),
        dict(lm.points),
        View.LATERAL,
        "p0",
        Spacing.isotropic(0.5, SpacingSource.PATIENT_PLANE),
        scale,
        "synthetic",
    )


def _shifted(dx: float, dy: float = 0.0):  # noqa: ANN202
    def detect(r: Radiograph) -> Landmarks:
        s = _sample()
        return Landmarks(
            {n: (p[0] + dx, p[1] + dy) for n, p in s.points.items()},
            r.width,
            r.height,
            View.LATERAL,
            {n: 0.9 for n in s.points},
            "model:test/1",
        )

    return detect


class TestEvaluateOne:
    """Tests for evaluate_one()."""

    def test_known_shift(self) -> None:
        """A 3-4 px shift is a 5 px radial error, 2.5 mm at 0.5 mm/px, and angles are unchanged by a translation."""
        r = evaluate_one(_shifted(3.0, 4.0), _sample())
        assert r.failure is None
        assert all(e == pytest.approx(5.0) for e in r.errors_px.values())
        assert all(e == pytest.approx(2.5) for e in r.errors_mm.values())
        assert r.measure_errors["sacral_slope"] == pytest.approx(0.0, abs=1e-9)
        assert r.measure_errors["lumbar_lordosis"] == pytest.approx(0.0, abs=1e-9)

    def test_downscaled_sample_reports_original_pixels(self) -> None:
        """On a sample stored at half size, px errors are in original pixels (x2) and mm stay right."""
        s = _sample(scale=0.5)
        r = evaluate_one(_shifted(3.0, 4.0), s)
        assert all(e == pytest.approx(10.0) for e in r.errors_px.values())
        assert all(e == pytest.approx(5.0) for e in r.errors_mm.values())  # 10 original px x 0.5 mm

    def test_refusal_counts_as_failure(self) -> None:
        """A detector that refuses the film gives a failure with the error text."""

        def refuse(r: Radiograph) -> Landmarks:
            raise UnsupportedImageError("not a spine")

        r = evaluate_one(refuse, _sample())
        assert r.failure is not None and "not a spine" in r.failure


def test_report_summary_and_sheet(tmp_path: Path) -> None:
    """Summary statistics, success rates and measurement errors come out of two films; the sheet is written."""
    s = _sample()
    good, bad = evaluate_one(_shifted(1.0), s), evaluate_one(_shifted(0.0, 8.0), s)
    d = EvaluationReport([good, bad]).to_dict()
    assert d["films"] == 2 and d["failure_rate"] == 0.0
    assert d["radial_error_mm"]["median"] == pytest.approx((0.5 + 4.0) / 2)
    assert d["sdr_mm"]["2"] == pytest.approx(0.5) and d["sdr_mm"]["4"] == pytest.approx(1.0)
    assert d["per_landmark_unit"] == "mm" and "L5.inferior.posterior" in d["per_landmark"]
    diag = math.hypot(*s.image.shape)
    assert d["radial_error_diag_percent"]["max"] == pytest.approx(8.0 / diag * 100)
    path = worst_cases_sheet([(s, bad), (s, good)], tmp_path / "w.png")
    assert path is not None and path.stat().st_size > 1000


def test_report_by_group() -> None:
    """Films of two groups (e.g. SpineWeb batches): the summary over all films plus the same summary per group; a
    single group gives no breakdown."""
    s = _sample()
    a = [evaluate_one(_shifted(1.0), replace(s, group="batch Jul 2016")) for _ in range(2)]
    b = evaluate_one(_shifted(0.0, 8.0), replace(s, group="batch Jan 2017"))
    d = EvaluationReport([*a, b]).to_dict()
    assert d["films"] == 3 and set(d["by_group"]) == {"batch Jul 2016", "batch Jan 2017"}
    assert d["by_group"]["batch Jul 2016"]["films"] == 2 and d["by_group"]["batch Jan 2017"]["films"] == 1
    assert d["by_group"]["batch Jan 2017"]["radial_error_mm"]["median"] == pytest.approx(4.0)
    assert d["by_group"]["batch Jul 2016"]["radial_error_mm"]["median"] == pytest.approx(0.5)
    assert "by_group" not in EvaluationReport(a).to_dict()


class TestLevelShiftCount:
    """The level-shift count of the evaluation report."""

    def test_report_counts_shifted_films(self) -> None:
        """A film shifted by a whole level along the spine counts in level_offset.shifted_films; a 1-px shift not."""
        s = _sample()
        c = [np.mean([p for n, p in s.points.items() if n.startswith(f"{lv}.")], axis=0) for lv in ("L1", "L5")]
        pitch = (c[1] - c[0]) / 4.0
        far = evaluate_one(_shifted(float(pitch[0]), float(pitch[1])), s)
        near = evaluate_one(_shifted(1.0), s)
        assert far.level_offset == pytest.approx(1.0, abs=0.2) and abs(near.level_offset) < 0.1
        lo = EvaluationReport([far, near]).to_dict()["level_offset"]
        assert lo["n"] == 2 and lo["shifted_films"] == 1


def _ap_sample(s1_tilt_deg: float) -> Sample:
    """An AP film's truth: L1-L5 as 40 x 28 px boxes (endplates level), S1's superior endplate tilted."""
    pts: dict[str, tuple[float, float]] = {}
    for k, lv in enumerate(("L1", "L2", "L3", "L4", "L5")):
        top = 40.0 + 38.0 * k
        for ep, y in (("superior", top), ("inferior", top + 28.0)):
            pts[f"{lv}.{ep}.left"], pts[f"{lv}.{ep}.right"] = (80.0, y), (120.0, y)
    half = 20.0 * math.tan(math.radians(s1_tilt_deg))
    pts["S1.superior.left"], pts["S1.superior.right"] = (80.0, 240.0 + half), (120.0, 240.0 - half)
    return Sample(np.zeros((300, 200), np.float32), pts, View.AP, "ap0", None, 1.0, "synthetic AP")


class TestMeasurementsLikeForLike:
    """Derived measurements are compared on the points the detector gives (the AP models give no S1)."""

    def test_cobb_of_a_detector_without_s1_is_not_scored_against_l1_s1(self) -> None:
        """Perfect L1-L5 corners score a coronal Cobb error of 0, although the truth's S1 endplate is tilted 6 deg
        (scoring them against the truth's L1-S1 Cobb gave -6 deg, an error of the detector it does not make)."""
        s = _ap_sample(6.0)

        def perfect_without_s1(r: Radiograph) -> Landmarks:
            pts = {n: p for n, p in s.points.items() if not n.startswith("S1.")}
            return Landmarks(pts, r.width, r.height, View.AP, {n: 0.9 for n in pts}, "model:test/1")

        r = evaluate_one(perfect_without_s1, s)
        assert r.failure is None
        assert r.measure_errors["coronal_cobb"] == pytest.approx(0.0, abs=1e-9)
        assert "disc_wedge_L5_S1" not in r.measure_errors  # no S1 predicted: not measured, not scored

    def test_cobb_error_still_counts_a_tilted_prediction(self) -> None:
        """A predicted L5 inferior endplate tilted 4 deg (truth level everywhere above S1) is a 4 deg Cobb error."""
        s = _ap_sample(6.0)
        half = 20.0 * math.tan(math.radians(4.0))

        def tilted(r: Radiograph) -> Landmarks:
            pts = {n: p for n, p in s.points.items() if not n.startswith("S1.")}
            (xl, yl), (xr, yr) = pts["L5.inferior.left"], pts["L5.inferior.right"]
            pts["L5.inferior.left"], pts["L5.inferior.right"] = (xl, yl + half), (xr, yr - half)
            return Landmarks(pts, r.width, r.height, View.AP, {n: 0.9 for n in pts}, "model:test/1")

        r = evaluate_one(tilted, s)
        assert r.measure_errors["coronal_cobb"] == pytest.approx(4.0, abs=1e-6)

    def test_a_structure_given_in_part_keeps_its_whole_truth(self) -> None:
        """A prediction without the S1 corner on the image right but with the left one: S1 is a structure the detector
        gives, so the truth keeps both S1 corners and the L5-S1 wedge error shows the missing corner's effect (the
        prediction measures no L5-S1 wedge at all: not scored), while the Cobb stays like for like. Before, the truth
        lost the same corner and the restriction hid any partial omission (e.g. one femoral head of two)."""
        s = _ap_sample(6.0)

        def one_s1_corner(r: Radiograph) -> Landmarks:
            pts = {n: p for n, p in s.points.items() if n != "S1.superior.right"}
            return Landmarks(pts, r.width, r.height, View.AP, {n: 0.9 for n in pts}, "model:test/1")

        r = evaluate_one(one_s1_corner, s)
        assert r.failure is None
        # the truth's Cobb is L1-S1 (S1 given in part keeps its truth): the prediction's L1-L5 Cobb is 6 deg off
        assert r.measure_errors["coronal_cobb"] == pytest.approx(-6.0, abs=1e-6)
