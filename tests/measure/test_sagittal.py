"""Tests for fusionwatch.measure.sagittal: SS, PT, PI, lordosis, PI-LL, through measure_lateral."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionwatch.geometry import direction_deg, midpoint, wrap_deg
from fusionwatch.landmarks import Landmarks, mirror
from fusionwatch.measure import measure_lateral
from fusionwatch.measure.sagittal import (
    endplate_inclination_deg,
    lordosis_deg,
    pelvic_incidence_deg,
    pelvic_tilt_deg,
    sacral_slope_deg,
)
from fusionwatch.measurement import MeasureName
from fusionwatch.radiograph import Facing
from fusionwatch.units import Spacing, SpacingSource, Unit

from ._spine import LateralSpine, place

M = MeasureName


def values(landmarks: Landmarks, spacing: Spacing | None = None) -> dict[MeasureName, float | None]:
    return {m.name: m.value for m in measure_lateral(landmarks, spacing)}


# Hand-made film, facing image-right, 1 mm pixels: the S1 endplate runs from (100, 200) (posterior) down to (140, 240)
# (anterior), so it drops 40 px over 40 px: SS = 45 deg. Hip axis (140, 300); S1 midpoint (120, 220). From the hip axis
# to the midpoint: 20 px toward the back (image left = posterior when facing right) and 80 px up:
# PT = atan(20 / 80) = 14.0362 deg. PI = PT + SS = 59.0362 deg.
HAND = {
    "S1.superior.posterior": (100.0, 200.0),
    "S1.superior.anterior": (140.0, 240.0),
    "femoral_head.1": (140.0, 300.0),
    # L1 superior endplate rising 10 px over 40 px toward the front: inclination +atan(10/40) = 14.0362 deg;
    # LL = 14.0362 - (-45) = 59.0362 deg, so PI - LL = 0.
    "L1.superior.posterior": (90.0, 20.0),
    "L1.superior.anterior": (130.0, 10.0),
}
PT_HAND = math.degrees(math.atan2(20.0, 80.0))


class TestPureFunctions:
    """The single formulas on anatomical-frame points (X anterior, Y up)."""

    @pytest.mark.parametrize("angle_deg", [0.0, 12.5, 40.0, 60.0, -5.0])
    def test_sacral_slope_recovers_known_angle(self, angle_deg: float) -> None:
        """An S1 endplate whose anterior corner drops by angle_deg measures SS = angle_deg."""
        a = (45 * math.cos(math.radians(-angle_deg)), 45 * math.sin(math.radians(-angle_deg)))
        assert sacral_slope_deg(a, (0.0, 0.0)) == pytest.approx(angle_deg, abs=1e-12)

    def test_endplate_inclination_sign(self) -> None:
        """Anterior corner higher -> positive inclination."""
        assert endplate_inclination_deg((40.0, 10.0), (0.0, 0.0)) == pytest.approx(math.degrees(math.atan(0.25)))

    @pytest.mark.parametrize(("dx", "dy", "expected"), [(-20.0, 80.0, PT_HAND), (0.0, 50.0, 0.0), (10.0, 10.0, -45.0)])
    def test_pelvic_tilt(self, dx: float, dy: float, expected: float) -> None:
        """S1 midpoint posterior to the hip axis -> positive; straight above -> 0; anterior -> negative."""
        assert pelvic_tilt_deg((0.0, 0.0), (dx, dy)) == pytest.approx(expected, abs=1e-12)

    def test_pelvic_tilt_coincident_raises(self) -> None:
        with pytest.raises(ValueError, match="coincides"):
            pelvic_tilt_deg((1.0, 1.0), (1.0, 1.0))

    @given(
        ss=st.floats(-10, 80),
        pt=st.floats(-20, 60),
        depth=st.floats(20, 60),
        radius=st.floats(50, 200),
        x0=st.floats(-500, 500),
        y0=st.floats(-500, 500),
    )
    def test_pi_equals_direct_perpendicular_construction(self, ss, pt, depth, radius, x0, y0) -> None:
        """PI from the function equals the angle between the endplate's caudal perpendicular and the hip line."""
        u = (math.cos(math.radians(-ss)), math.sin(math.radians(-ss)))
        post = (x0, y0)
        ant = (x0 + depth * u[0], y0 + depth * u[1])
        mid = midpoint(ant, post)
        hip = (mid[0] + radius * math.sin(math.radians(pt)), mid[1] - radius * math.cos(math.radians(pt)))
        # direct definition: perpendicular to the endplate pointing caudally = endplate direction turned -90 deg
        perpendicular = (mid[0] + u[1], mid[1] - u[0])
        direct = wrap_deg(direction_deg(mid, hip, y_down=False) - direction_deg(mid, perpendicular, y_down=False))
        assert pelvic_incidence_deg(ant, post, hip) == pytest.approx(direct, abs=1e-9)
        assert pelvic_incidence_deg(ant, post, hip) == pytest.approx(pt + ss, abs=1e-9)

    def test_lordosis_sign(self) -> None:
        """Endplates opening toward the front are lordotic (positive); toward the back kyphotic (negative)."""
        flat = ((40.0, 0.0), (0.0, 0.0))
        tipped_up = ((40.0, 0.0 + 40 * math.tan(math.radians(10))), (0.0, 0.0))
        assert lordosis_deg(*tipped_up, *flat) == pytest.approx(10.0)
        assert lordosis_deg(*flat, *tipped_up) == pytest.approx(-10.0)


class TestMeasureLateralHandCase:
    """measure_lateral on the hand-made film HAND."""

    @pytest.mark.parametrize("facing", [Facing.RIGHT, Facing.LEFT])
    def test_values(self, facing: Facing) -> None:
        lm = Landmarks(dict(HAND), 300, 400)
        if facing is Facing.LEFT:
            lm = mirror(lm)
        v = values(lm, Spacing.isotropic(1.0))
        assert v[M.SACRAL_SLOPE] == pytest.approx(45.0, abs=1e-9)
        assert v[M.PELVIC_TILT] == pytest.approx(PT_HAND, abs=1e-9)
        assert v[M.PELVIC_INCIDENCE] == pytest.approx(45.0 + PT_HAND, abs=1e-9)
        assert v[M.LUMBAR_LORDOSIS] == pytest.approx(45.0 + math.degrees(math.atan(0.25)), abs=1e-9)
        assert v[M.PI_LL_MISMATCH] == pytest.approx(0.0, abs=1e-9)

    def test_pi_is_exactly_pt_plus_ss(self) -> None:
        """PI = PT + SS holds bit for bit in the returned values."""
        v = values(Landmarks(dict(HAND), 300, 400))
        assert v[M.PELVIC_INCIDENCE] == v[M.PELVIC_TILT] + v[M.SACRAL_SLOPE]

    def test_angles_are_degrees_without_spacing_source(self) -> None:
        ms = {m.name: m for m in measure_lateral(Landmarks(dict(HAND), 300, 400), Spacing.isotropic(0.5))}
        assert ms[M.SACRAL_SLOPE].unit is Unit.DEG
        assert ms[M.SACRAL_SLOPE].spacing_source is None
        assert ms[M.SACRAL_SLOPE].points == ("S1.superior.anterior", "S1.superior.posterior")
        assert ms[M.SACRAL_SLOPE].method.endswith("/1")

    def test_missing_hip_names_points(self) -> None:
        """No femoral head: PT, PI and PI-LL are missing with a reason naming the femoral head; SS is still there."""
        pts = {k: v for k, v in HAND.items() if not k.startswith("femoral")}
        ms = {m.name: m for m in measure_lateral(Landmarks(pts, 300, 400), None)}
        assert ms[M.SACRAL_SLOPE].value == pytest.approx(45.0)
        for name in (M.PELVIC_TILT, M.PELVIC_INCIDENCE):
            assert ms[name].value is None and "femoral_head.1" in ms[name].reason
        assert ms[M.PI_LL_MISMATCH].value is None and "pelvic_incidence" in ms[M.PI_LL_MISMATCH].reason

    def test_coincident_s1_corners(self) -> None:
        """A degenerate S1 endplate: SS and PI missing with a reason, never a made-up angle."""
        pts = {**HAND, "S1.superior.anterior": HAND["S1.superior.posterior"]}
        ms = {m.name: m for m in measure_lateral(Landmarks(pts, 300, 400), None)}
        assert ms[M.SACRAL_SLOPE].reason == "S1 superior endplate corners coincide"
        assert ms[M.PELVIC_INCIDENCE].value is None
        assert ms[M.LUMBAR_LORDOSIS].value is None and "degenerate endplate" in ms[M.LUMBAR_LORDOSIS].reason

    def test_missing_l1_names_points(self) -> None:
        pts = {k: v for k, v in HAND.items() if k != "L1.superior.anterior"}
        ms = {m.name: m for m in measure_lateral(Landmarks(pts, 300, 400), None)}
        assert ms[M.LUMBAR_LORDOSIS].reason == "missing landmark(s): L1.superior.anterior"
        assert ms[M.SEGMENTAL_LORDOSIS_L5_S1].value is None
        assert "L5.inferior.anterior" in ms[M.SEGMENTAL_LORDOSIS_L5_S1].reason


spines = st.builds(
    LateralSpine,
    ss=st.floats(15, 70),
    pt=st.floats(-5, 45),
    disc_angles=st.tuples(*[st.floats(-5, 20)] * 5),
    body_wedges=st.tuples(*[st.floats(-5, 5)] * 5),
    slips=st.tuples(*[st.floats(-6, 12)] * 5),
)
facings = st.sampled_from([Facing.LEFT, Facing.RIGHT])


class TestProperties:
    """Invariances of the sagittal angles (hypothesis)."""

    @settings(max_examples=60, deadline=None)
    @given(spine=spines, facing=facings, dx=st.floats(0.08, 0.3), aniso=st.floats(0.7, 1.4))
    def test_recovers_construction(self, spine: LateralSpine, facing: Facing, dx: float, aniso: float) -> None:
        """Any facing and any (anisotropic) spacing: SS, PT, PI, LL and segmental angles come back exactly."""
        spacing = (dx, dx * aniso)
        lm = place(spine.points, facing=facing, spacing=spacing)
        v = values(lm, Spacing(spacing[0], spacing[1], SpacingSource.PATIENT_PLANE))
        assert v[M.SACRAL_SLOPE] == pytest.approx(spine.ss, abs=1e-7)
        assert v[M.PELVIC_TILT] == pytest.approx(spine.pt, abs=1e-7)
        assert v[M.PELVIC_INCIDENCE] == pytest.approx(spine.pi, abs=1e-7)
        assert v[M.PELVIC_INCIDENCE] == v[M.PELVIC_TILT] + v[M.SACRAL_SLOPE]
        assert v[M.LUMBAR_LORDOSIS] == pytest.approx(spine.lordosis, abs=1e-7)
        assert v[M.SEGMENTAL_LORDOSIS_L5_S1] == pytest.approx(spine.disc_angles[4], abs=1e-7)
        assert v[M.SEGMENTAL_LORDOSIS_L4_L5] == pytest.approx(spine.disc_angles[3], abs=1e-7)
        assert v[M.PI_LL_MISMATCH] == pytest.approx(spine.pi - spine.lordosis, abs=1e-7)

    @settings(max_examples=60, deadline=None)
    @given(
        spine=spines,
        facing=facings,
        rotation=st.floats(-40, 40),
        shift=st.tuples(st.floats(-300, 300), st.floats(-300, 300)),
    )
    def test_rotation_and_translation(self, spine, facing, rotation, shift) -> None:
        """Rotating the film leaves PI, LL and segmental angles unchanged; SS and PT (against the film's horizontal and
        vertical) change by the rotation, in opposite directions: an on-screen counter-clockwise turn tips the
        sacrum's front up (SS - r) when the patient faces right, down (SS + r) when facing left."""
        base = values(place(spine.points, facing=facing))
        turned = values(
            place(spine.points, facing=facing, rotation_deg=rotation, origin_px=(700 + shift[0], 700 + shift[1]))
        )
        sense = 1.0 if facing is Facing.RIGHT else -1.0
        for name in (M.PELVIC_INCIDENCE, M.LUMBAR_LORDOSIS, M.SEGMENTAL_LORDOSIS_L4_L5, M.SEGMENTAL_LORDOSIS_L5_S1):
            assert turned[name] == pytest.approx(base[name], abs=1e-7)
        assert turned[M.SACRAL_SLOPE] == pytest.approx(base[M.SACRAL_SLOPE] - sense * rotation, abs=1e-7)
        assert turned[M.PELVIC_TILT] == pytest.approx(base[M.PELVIC_TILT] + sense * rotation, abs=1e-7)

    @settings(max_examples=40, deadline=None)
    @given(spine=spines, facing=facings)
    def test_horizontal_flip(self, spine: LateralSpine, facing: Facing) -> None:
        """Mirroring the film (the patient now faces the other way) changes no measurement at all."""
        lm = place(spine.points, facing=facing)
        a, b = measure_lateral(lm, Spacing.isotropic(0.15)), measure_lateral(mirror(lm), Spacing.isotropic(0.15))
        for ma, mb in zip(a, b, strict=True):
            assert ma.name is mb.name
            assert mb.value == pytest.approx(ma.value, abs=1e-7)


def test_same_names_in_same_order_whatever_is_missing() -> None:
    """measure_lateral always returns every lateral name once, in a fixed order, measured or with a reason."""
    full = [m.name for m in measure_lateral(place(LateralSpine().points), None)]
    empty = measure_lateral(Landmarks({}, 100, 100), None)
    assert [m.name for m in empty] == full
    assert len(set(full)) == len(full) == 21
    assert all(m.value is None and m.reason for m in empty)
