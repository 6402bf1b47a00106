"""Tests for fusionwatch.measure.listhesis: slip, slip %, Meyerding grade, lateral listhesis."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionwatch.anatomy import Level
from fusionwatch.landmarks import Landmarks, mirror
from fusionwatch.measure import lateral_listhesis, measure_ap, measure_lateral, meyerding_grade, slip
from fusionwatch.measurement import MeasureName
from fusionwatch.radiograph import Facing, View
from fusionwatch.units import Spacing, SpacingSource, Unit

from ._spine import LateralSpine, ap_spine, place

M = MeasureName
S1P, S1A = (100.0, 200.0), (140.0, 240.0)  # S1 endplate facing right, 45 deg, length 40*sqrt(2) = 56.569 px


def by_name(ms):
    return {m.name: m for m in ms}


class TestSlip:
    @pytest.mark.parametrize(
        ("corner", "expected_t"),
        [
            # L5 corner (120, 190): 20 px forward, 10 px up: along the unit endplate (1, 1)/sqrt2 -> (20 - 10)/sqrt2.
            ((120.0, 190.0), 10.0 / math.sqrt(2.0)),
            ((110.0, 190.0), 0.0),  # straight above along the endplate normal: no slip
            ((96.0, 190.0), -14.0 / math.sqrt(2.0)),  # behind: retrolisthesis, negative
        ],
    )
    def test_hand_cases(self, corner, expected_t) -> None:
        t, pct = slip(corner, S1P, S1A)
        assert t == pytest.approx(expected_t, abs=1e-12)
        assert pct == pytest.approx(100.0 * expected_t / (40.0 * math.sqrt(2.0)), abs=1e-12)

    def test_measured_on_film_with_sign_independent_of_facing(self) -> None:
        """Anterolisthesis positive whether the patient faces right or (mirrored) left."""
        pts = {"S1.superior.posterior": S1P, "S1.superior.anterior": S1A, "L5.inferior.posterior": (120.0, 190.0)}
        for lm in (Landmarks(pts, 300, 300), mirror(Landmarks(pts, 300, 300))):
            ms = by_name(measure_lateral(lm, Spacing.isotropic(1.0)))
            assert ms[M.SLIP_MM_L5_S1].value == pytest.approx(10.0 / math.sqrt(2.0))
            assert ms[M.SLIP_PERCENT_L5_S1].value == pytest.approx(12.5)
            assert ms[M.MEYERDING_GRADE_L5_S1].value == 1
            assert ms[M.MEYERDING_GRADE_L5_S1].unit is Unit.GRADE

    def test_uncalibrated_percent_only(self) -> None:
        """No spacing: slip mm is missing with a reason pointing to slip %, which is still reported."""
        pts = {"S1.superior.posterior": S1P, "S1.superior.anterior": S1A, "L5.inferior.posterior": (120.0, 190.0)}
        ms = by_name(measure_lateral(Landmarks(pts, 300, 300), None))
        assert ms[M.SLIP_MM_L5_S1].value is None
        assert "slip_percent_L5_S1" in ms[M.SLIP_MM_L5_S1].reason
        assert ms[M.SLIP_PERCENT_L5_S1].value == pytest.approx(12.5)

    @settings(max_examples=50, deadline=None)
    @given(
        slips=st.tuples(*[st.floats(-8, 45)] * 5),
        facing=st.sampled_from(list(Facing)),
        rotation=st.floats(-30, 30),
        dx=st.floats(0.05, 0.4),
        k=st.floats(0.5, 2.0),
    )
    def test_percent_unchanged_by_calibration(self, slips, facing, rotation, dx, k) -> None:
        """Slip % is calibration-free and recovers the construction; slip mm scales with the spacing."""
        spine = LateralSpine(slips=slips)
        lm = place(spine.points, facing=facing, rotation_deg=rotation, spacing=(dx, dx))
        a = by_name(measure_lateral(lm, Spacing.isotropic(dx)))
        b = by_name(measure_lateral(lm, Spacing.isotropic(dx * k)))
        c = by_name(measure_lateral(lm, None))
        for name, disc in ((M.SLIP_PERCENT_L5_S1, 4), (M.SLIP_PERCENT_L4_L5, 3)):
            assert a[name].value == pytest.approx(spine.slip_percent(disc), abs=1e-7)
            assert b[name].value == pytest.approx(a[name].value, abs=1e-9)
            assert c[name].value == pytest.approx(a[name].value, abs=1e-9)
        assert a[M.SLIP_MM_L5_S1].value == pytest.approx(slips[4], abs=1e-7)
        assert b[M.SLIP_MM_L5_S1].value == pytest.approx(k * slips[4], abs=1e-7)


class TestMeyerding:
    @pytest.mark.parametrize(
        ("pct", "grade"),
        [
            (0.0, 0),
            (4.99, 0),
            (5.0, 1),
            (25.0, 1),
            (25.01, 2),
            (50.0, 2),
            (50.5, 3),
            (75.0, 3),
            (76.0, 4),
            (100.0, 4),
            (100.1, 5),
            (-30.0, 2),
        ],
    )
    def test_grades(self, pct: float, grade: int) -> None:
        """Boundaries per CLINICAL.md: I up to 25 %, II to 50, III to 75, IV to 100, V beyond; below 5 % is 0."""
        assert meyerding_grade(pct) == grade

    def test_threshold_is_a_setting(self) -> None:
        assert meyerding_grade(2.0, no_slip_percent=0.0) == 1

    def test_retrolisthesis_warning(self) -> None:
        spine = LateralSpine(slips=(0, 0, 0, 0, -6.0))
        ms = by_name(measure_lateral(place(spine.points), Spacing.isotropic(1.0)))
        grade = ms[M.MEYERDING_GRADE_L5_S1]
        assert grade.value == 1 and "retrolisthesis" in grade.warnings[0]


class TestLateralListhesis:
    def test_hand_case(self) -> None:
        """Upper endplate midpoint 3 mm to the right of the lower one on a level 45 mm endplate: 3 mm, 6.67 %."""
        t, pct = lateral_listhesis((-19.5, 10.0), (25.5, 10.0), (-22.5, 0.0), (22.5, 0.0))
        assert t == pytest.approx(3.0)
        assert pct == pytest.approx(100 * 3 / 45)

    def test_ap_film_sign_and_flip(self) -> None:
        """L5 shifted 4 mm to the image right of S1: +4 mm; mirrored film: -4 mm."""
        tilts = {lv: (0.0, 0.0) for lv in Level}
        pts = ap_spine(tilts, shifts={Level.L1: 4.0, Level.L2: 4.0, Level.L3: 4.0, Level.L4: 4.0, Level.L5: 4.0})
        lm = place(pts, facing=Facing.RIGHT, view=View.AP, spacing=(0.5, 0.5))
        spacing = Spacing.isotropic(0.5, SpacingSource.PATIENT_PLANE)
        a, b = by_name(measure_ap(lm, spacing)), by_name(measure_ap(mirror(lm), spacing))
        assert a[M.LATERAL_LISTHESIS_MM_L5_S1].value == pytest.approx(4.0)
        assert a[M.LATERAL_LISTHESIS_PERCENT_L5_S1].value == pytest.approx(100 * 4 / 45)
        assert a[M.LATERAL_LISTHESIS_MM_L4_L5].value == pytest.approx(0.0, abs=1e-9)
        assert b[M.LATERAL_LISTHESIS_MM_L5_S1].value == pytest.approx(-4.0)
