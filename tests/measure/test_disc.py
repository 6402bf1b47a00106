"""Tests for fusionwatch.measure.disc: two-point disc heights and the disc height index."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionwatch.landmarks import Landmarks
from fusionwatch.measure import disc_heights, measure_lateral
from fusionwatch.measurement import MeasureName
from fusionwatch.radiograph import Facing
from fusionwatch.units import Spacing, SpacingSource, Unit

from ._spine import LateralSpine, place

M = MeasureName

# Facing left (anterior at smaller x), pixels. L5 inferior endplate: anterior (100, 300), posterior (140, 300): 40 px.
# S1 superior: anterior (100, 312), posterior (140, 306). Anterior height = 12 px, posterior = 6 px, mean 9 px,
# index = 9 / 40 = 0.225.
DISC = {
    "L5.inferior.anterior": (100.0, 300.0),
    "L5.inferior.posterior": (140.0, 300.0),
    "S1.superior.anterior": (100.0, 312.0),
    "S1.superior.posterior": (140.0, 306.0),
}


def by_name(ms):
    return {m.name: m for m in ms}


class TestDiscHeights:
    def test_hand_case(self) -> None:
        h = disc_heights((100.0, 300.0), (140.0, 300.0), (100.0, 312.0), (140.0, 306.0))
        assert (h.anterior, h.posterior, h.mean, h.index) == pytest.approx((12.0, 6.0, 9.0, 0.225))

    def test_zero_depth_raises(self) -> None:
        with pytest.raises(ValueError, match="depth is zero"):
            disc_heights((0.0, 0.0), (0.0, 0.0), (0.0, 5.0), (1.0, 5.0))

    def test_calibrated_mm_with_source_and_warning(self) -> None:
        """0.2 mm pixels at the detector: mm values x0.2, detector-plane warning attached, index unchanged."""
        ms = by_name(measure_lateral(Landmarks(DISC, 500, 500), Spacing.isotropic(0.2, SpacingSource.DETECTOR_PLANE)))
        ant = ms[M.DISC_HEIGHT_ANTERIOR_L5_S1]
        assert ant.unit is Unit.MM and ant.value == pytest.approx(2.4)
        assert ant.spacing_source is SpacingSource.DETECTOR_PLANE
        assert "detector plane" in ant.warnings[0]
        assert ms[M.DISC_HEIGHT_MEAN_L5_S1].value == pytest.approx(1.8)
        assert ms[M.DISC_HEIGHT_INDEX_L5_S1].value == pytest.approx(0.225)
        assert ms[M.DISC_HEIGHT_INDEX_L5_S1].unit is Unit.RATIO

    def test_uncalibrated_px(self) -> None:
        """No spacing: lengths in px, never mm."""
        ms = by_name(measure_lateral(Landmarks(DISC, 500, 500), None))
        assert ms[M.DISC_HEIGHT_POSTERIOR_L5_S1].unit is Unit.PX
        assert ms[M.DISC_HEIGHT_POSTERIOR_L5_S1].value == pytest.approx(6.0)
        assert ms[M.DISC_HEIGHT_POSTERIOR_L5_S1].spacing_source is None

    def test_partial_points(self) -> None:
        """Posterior corners only: posterior height measured, anterior/mean/index missing naming the absent corners."""
        pts = {k: v for k, v in DISC.items() if not k.endswith("anterior")}
        ms = by_name(measure_lateral(Landmarks(pts, 500, 500), None))
        assert ms[M.DISC_HEIGHT_POSTERIOR_L5_S1].value == pytest.approx(6.0)
        assert ms[M.DISC_HEIGHT_ANTERIOR_L5_S1].reason == (
            "missing landmark(s): L5.inferior.anterior, S1.superior.anterior"
        )
        assert ms[M.DISC_HEIGHT_INDEX_L5_S1].value is None
        assert ms[M.DISC_HEIGHT_MEAN_L4_L5].value is None  # no L4 at all


class TestScaling:
    @settings(max_examples=40, deadline=None)
    @given(dx=st.floats(0.05, 0.5), k=st.floats(0.5, 3.0), facing=st.sampled_from(list(Facing)))
    def test_mm_scale_linearly_with_spacing(self, dx: float, k: float, facing: Facing) -> None:
        """Same pixels, spacing x k: every mm value x k, every index and angle unchanged."""
        lm = place(LateralSpine().points, facing=facing)
        a = by_name(measure_lateral(lm, Spacing.isotropic(dx)))
        b = by_name(measure_lateral(lm, Spacing.isotropic(dx * k)))
        for name, ma in a.items():
            if ma.value is None:
                continue
            factor = k if ma.unit is Unit.MM else 1.0
            assert b[name].value == pytest.approx(ma.value * factor, rel=1e-9, abs=1e-9), name

    def test_recovers_construction(self) -> None:
        """Posterior height of a slipped disc = hypot(slip, height along the normal), by construction."""
        spine = LateralSpine(slips=(0, 0, 0, 2.0, 3.0), disc_heights=(8, 9, 9, 10.0, 7.0))
        ms = by_name(
            measure_lateral(place(spine.points, spacing=(0.1, 0.13)), Spacing(0.1, 0.13, SpacingSource.PATIENT_PLANE))
        )
        assert ms[M.DISC_HEIGHT_POSTERIOR_L5_S1].value == pytest.approx(math.hypot(3.0, 7.0), abs=1e-9)
        assert ms[M.DISC_HEIGHT_POSTERIOR_L4_L5].value == pytest.approx(math.hypot(2.0, 10.0), abs=1e-9)
        mean = ms[M.DISC_HEIGHT_MEAN_L5_S1].value
        assert ms[M.DISC_HEIGHT_INDEX_L5_S1].value == pytest.approx(mean / spine.body_depth, abs=1e-12)
