"""Tests for fusionwatch.geometry: directions, signed angles, distances, projections, frames."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fusionwatch.geometry import (
    direction_deg,
    distance,
    line_angle_deg,
    midpoint,
    project_onto_line,
    rotate,
    scaled,
    signed_angle_deg,
    signed_distance_to_line,
    to_anatomical_frame,
    wrap_deg,
)
from fusionwatch.radiograph import Facing
from fusionwatch.units import Spacing

coords = st.floats(-1000, 1000)
points = st.tuples(coords, coords)


class TestBasics:
    def test_distance_and_midpoint(self) -> None:
        assert distance((0.0, 0.0), (3.0, 4.0)) == 5.0  # 3-4-5 triangle
        assert midpoint((0.0, 2.0), (4.0, 6.0)) == (2.0, 4.0)

    @pytest.mark.parametrize(("raw", "wrapped"), [(190.0, -170.0), (-180.0, 180.0), (180.0, 180.0), (720.5, 0.5)])
    def test_wrap(self, raw: float, wrapped: float) -> None:
        assert wrap_deg(raw) == pytest.approx(wrapped)

    @pytest.mark.parametrize(
        ("b", "expected"),
        [((1.0, 0.0), 0.0), ((0.0, -1.0), 90.0), ((-1.0, 0.0), 180.0), ((0.0, 1.0), -90.0), ((1.0, -1.0), 45.0)],
    )
    def test_direction_on_screen(self, b, expected) -> None:
        """Image axes: y down, so (0, -1) points up the screen = +90 deg."""
        assert direction_deg((0.0, 0.0), b) == pytest.approx(expected)

    def test_direction_y_up(self) -> None:
        assert direction_deg((0.0, 0.0), (0.0, 1.0), y_down=False) == pytest.approx(90.0)

    def test_direction_coincident_raises(self) -> None:
        with pytest.raises(ValueError, match="coincide"):
            direction_deg((1.0, 1.0), (1.0, 1.0))

    def test_signed_and_line_angles(self) -> None:
        # From pointing right to pointing up the screen: +90 (counter-clockwise on screen).
        assert signed_angle_deg((0, 0), (1, 0), (0, 0), (0, -1)) == pytest.approx(90.0)
        # Lines at 30 deg and 170 deg: 140 deg apart as directions, 40 deg as lines.
        a = (math.cos(math.radians(30)), -math.sin(math.radians(30)))
        b = (math.cos(math.radians(170)), -math.sin(math.radians(170)))
        assert line_angle_deg((0, 0), a, (0, 0), b) == pytest.approx(40.0)

    def test_signed_distance(self) -> None:
        """Line along +x on image axes: a point with smaller y is above, i.e. to the left of the direction -> +."""
        assert signed_distance_to_line((5.0, -2.0), (0.0, 0.0), (10.0, 0.0)) == pytest.approx(2.0)
        assert signed_distance_to_line((5.0, -2.0), (0.0, 0.0), (10.0, 0.0), y_down=False) == pytest.approx(-2.0)

    def test_projection(self) -> None:
        t, foot = project_onto_line((3.0, 7.0), (0.0, 0.0), (10.0, 0.0))
        assert t == pytest.approx(3.0) and foot == pytest.approx((3.0, 0.0))
        t, _ = project_onto_line((-2.0, 1.0), (0.0, 0.0), (10.0, 0.0))
        assert t == pytest.approx(-2.0)

    def test_scaled_anisotropic(self) -> None:
        """x times dx_mm, y times dy_mm; None keeps pixels."""
        sp = Spacing(0.1, 0.2, Spacing.isotropic(1).source)
        assert scaled({"a": (10.0, 10.0)}, sp)["a"] == pytest.approx((1.0, 2.0))
        assert scaled({"a": (10.0, 10.0)}, None)["a"] == (10.0, 10.0)

    def test_anatomical_frame(self) -> None:
        """Facing left: anterior is image-left, so X = -x; Y = -y always."""
        assert to_anatomical_frame({"p": (3.0, 4.0)}, Facing.LEFT)["p"] == (-3.0, -4.0)
        assert to_anatomical_frame({"p": (3.0, 4.0)}, Facing.RIGHT)["p"] == (3.0, -4.0)


class TestProperties:
    @given(a=points, b=points, c=points, d=points, centre=points, angle=st.floats(-180, 180))
    def test_rotation_keeps_signed_angles_and_distances(self, a, b, c, d, centre, angle) -> None:
        if distance(a, b) < 1e-3 or distance(c, d) < 1e-3:
            return
        r = [rotate(p, centre, angle) for p in (a, b, c, d)]
        assert distance(*r[:2]) == pytest.approx(distance(a, b), rel=1e-9, abs=1e-6)
        before, after = signed_angle_deg(a, b, c, d), signed_angle_deg(*r)
        assert abs(wrap_deg(after - before)) < 1e-6

    @given(a=points, b=points, angle=st.floats(-179, 179))
    def test_rotate_turns_direction(self, a, b, angle) -> None:
        """rotate() by +x turns a direction by +x on the screen."""
        if distance(a, b) < 1e-3:
            return
        turned = direction_deg(rotate(a, (0, 0), angle), rotate(b, (0, 0), angle))
        assert abs(wrap_deg(turned - direction_deg(a, b) - angle)) < 1e-6

    @given(p=points, a=points, b=points)
    def test_projection_is_orthogonal(self, p, a, b) -> None:
        if distance(a, b) < 1e-3:
            return
        t, foot = project_onto_line(p, a, b)
        h = signed_distance_to_line(p, a, b)
        assert distance(p, foot) == pytest.approx(abs(h), rel=1e-6, abs=1e-6)
        assert distance(a, foot) == pytest.approx(abs(t), rel=1e-6, abs=1e-6)
