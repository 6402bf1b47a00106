"""Tests for fusionwatch.measure.disc: disc heights (two-point, centre, three-point) and the disc height index."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionwatch.errors import InputError
from fusionwatch.landmarks import Landmarks
from fusionwatch.measure import (
    DISC_HEIGHT_METHODS,
    DiscCorners,
    disc_height,
    disc_height_centre,
    disc_height_three_point,
    disc_height_two_point,
    disc_heights,
    measure_lateral,
)
from fusionwatch.measure.disc import METHOD_DISC_HEIGHT, METHOD_DISC_HEIGHT_CENTRE, METHOD_DISC_HEIGHT_THREE_POINT
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


# A tilted, slipped disc where the three methods differ. Upper inferior endplate (0, 0)-(40, 0); lower superior
# endplate shifted 4 forward: anterior corner (4, 12), posterior corner (44, 6).
# anterior = hypot(4, 12), posterior = hypot(4, 6); centre: (20, 0) to (24, 9) = hypot(4, 9).
SLIPPED = DiscCorners((0.0, 0.0), (40.0, 0.0), (4.0, 12.0), (44.0, 6.0))
_coord = st.floats(-500.0, 500.0, allow_nan=False, allow_infinity=False)
_point = st.tuples(_coord, _coord)


def _rigid(points, angle: float, dx: float, dy: float, mirror: bool):
    c, s = math.cos(angle), math.sin(angle)
    out = []
    for x, y in points:
        x = -x if mirror else x
        out.append((c * x - s * y + dx, s * x + c * y + dy))
    return out


class TestDiscHeightMethods:
    def test_hand_case_three_methods_differ(self) -> None:
        a, p, c = math.hypot(4, 12), math.hypot(4, 6), math.hypot(4, 9)
        assert disc_height_two_point(SLIPPED) == pytest.approx((a + p) / 2, abs=1e-12)
        assert disc_height_centre(SLIPPED) == pytest.approx(c, abs=1e-12)
        assert disc_height_three_point(SLIPPED) == pytest.approx((a + c + p) / 3, abs=1e-12)
        assert len({round(disc_height(m, SLIPPED), 6) for m in DISC_HEIGHT_METHODS}) == 3

    def test_method_ids(self) -> None:
        assert list(DISC_HEIGHT_METHODS) == [
            "disc-height-two-point/1",
            "disc-height-centre/1",
            "disc-height-three-point/1",
        ]
        assert METHOD_DISC_HEIGHT == "disc-height-two-point/1"  # what measure_discs and the follow-up rules use
        assert disc_height(METHOD_DISC_HEIGHT_CENTRE, SLIPPED) == disc_height_centre(SLIPPED)
        assert disc_height(METHOD_DISC_HEIGHT_THREE_POINT, SLIPPED) == disc_height_three_point(SLIPPED)

    def test_unknown_method_is_refused(self) -> None:
        with pytest.raises(InputError, match="Unknown disc height method 'hurxthal'; known: disc-height-two-point/1"):
            disc_height("hurxthal", SLIPPED)

    def test_two_point_is_the_measured_mean(self) -> None:
        """measure_lateral's disc_height_mean uses the two-point method, bit for bit."""
        ms = by_name(measure_lateral(Landmarks(DISC, 500, 500), None))
        pts = [
            DISC[k]
            for k in ("L5.inferior.anterior", "L5.inferior.posterior", "S1.superior.anterior", "S1.superior.posterior")
        ]
        mean = ms[M.DISC_HEIGHT_MEAN_L5_S1]
        assert mean.method == METHOD_DISC_HEIGHT and mean.value == disc_height_two_point(DiscCorners(*pts))
        assert disc_heights(*pts).mean == disc_height_two_point(DiscCorners(*pts))

    @settings(max_examples=60, deadline=None)
    @given(
        pts=st.tuples(_point, _point, _point, _point),
        angle=st.floats(-math.pi, math.pi),
        dx=_coord,
        dy=_coord,
        mirror=st.booleans(),
    )
    def test_rigid_motion_and_mirror_change_nothing(self, pts, angle, dx, dy, mirror) -> None:
        """Rotating, moving or mirroring the film (either facing) leaves every method's height unchanged."""
        moved = _rigid(pts, angle, dx, dy, mirror)
        for fn in DISC_HEIGHT_METHODS.values():
            assert fn(DiscCorners(*moved)) == pytest.approx(fn(DiscCorners(*pts)), rel=1e-9, abs=1e-7)

    @settings(max_examples=60, deadline=None)
    @given(pts=st.tuples(_point, _point, _point, _point), k=st.floats(0.01, 10.0))
    def test_scale_linearly(self, pts, k: float) -> None:
        """Heights are lengths: scaling the points by k (px -> mm) scales every method by k."""
        scaled = [(x * k, y * k) for x, y in pts]
        for fn in DISC_HEIGHT_METHODS.values():
            assert fn(DiscCorners(*scaled)) == pytest.approx(fn(DiscCorners(*pts)) * k, rel=1e-9, abs=1e-7)

    @settings(max_examples=80, deadline=None)
    @given(pts=st.tuples(_point, _point, _point, _point))
    def test_order_centre_three_point_two_point(self, pts) -> None:
        """centre <= three-point <= two-point, and three-point = (2 * two-point + centre) / 3."""
        c = DiscCorners(*pts)
        two, centre, three = disc_height_two_point(c), disc_height_centre(c), disc_height_three_point(c)
        assert min(two, centre, three) >= 0.0
        assert centre <= two + 1e-9 and centre - 1e-9 <= three <= two + 1e-9
        assert three == pytest.approx((2 * two + centre) / 3, rel=1e-12, abs=1e-9)

    @settings(max_examples=60, deadline=None)
    @given(
        x0=_coord,
        depth=st.floats(20.0, 60.0),
        ant=st.floats(0.0, 20.0),
        post=st.floats(0.0, 20.0),
        angle=st.floats(-math.pi, math.pi),
    )
    def test_methods_agree_when_the_gaps_are_parallel(self, x0, depth, ant, post, angle) -> None:
        """Lower corners straight below the upper ones (no slip): centre = two-point = three-point = (a + p) / 2."""
        pts = _rigid([(x0, 0.0), (x0 + depth, 0.0), (x0, -ant), (x0 + depth, -post)], angle, 0.0, 0.0, False)
        for fn in DISC_HEIGHT_METHODS.values():
            assert fn(DiscCorners(*pts)) == pytest.approx((ant + post) / 2, rel=1e-9, abs=1e-9)
