"""Tests for sim/pose.py (version 13): the axial rotation of the vertebrae on AP films and its exact ground truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from fusionwatch.anatomy import Endplate, ImageSide, Level, ap_corner_name
from fusionwatch.radiograph import View
from fusionwatch.sim import FilmSpec, Hardware, SpineParams, simulate_film
from fusionwatch.sim.film import _camera, _landmarks_3d, ground_truth_landmarks
from fusionwatch.sim.pose import pose_spine
from fusionwatch.sim.variation import patient_skeleton
from fusionwatch.units import Spacing, SpacingSource

SMALL = dict(width=300, height=375)
ROTATED = SpineParams(axial_rotations_deg=(12.0, 20.0, 15.0, 6.0, -3.0))
LUMBAR = ("L1", "L2", "L3", "L4", "L5")


def _expected_ap_points(params: SpineParams, an) -> dict[str, np.ndarray]:
    """The AP corner points of the unrotated pose turned by scipy's rotation about each vertebra's axis through its
    endplate midpoints (an implementation independent of pose._axial); no coronal curve."""
    pose0 = pose_spine(an, replace(params, axial_rotations_deg=(0.0,) * 5))
    pts = _landmarks_3d(pose0, View.AP, an)
    out = {}
    for name, p in pts.items():
        bone = name.split(".")[0]
        if bone in LUMBAR and params.axial_rotations_deg[LUMBAR.index(bone)]:
            c = pose0.corners[bone]
            lo = (c["inferior.anterior"] + c["inferior.posterior"]) / 2
            hi = (c["superior.anterior"] + c["superior.posterior"]) / 2
            axis = np.array([hi[0] - lo[0], 0.0, hi[1] - lo[1]])
            angle = np.deg2rad(params.axial_rotations_deg[LUMBAR.index(bone)])
            rot = Rotation.from_rotvec(angle * axis / np.linalg.norm(axis))
            centre = np.array([lo[0], 0.0, lo[1]])
            p = rot.apply(p - centre) + centre
        out[name] = p
    return out


def test_rotated_ap_landmarks_follow_the_pose_exactly() -> None:
    """Ground-truth AP corners of rotated vertebrae are the rotated 3-D corners, projected (to 1e-9 px)."""
    an = patient_skeleton(3)
    spec = FilmSpec(view=View.AP, **SMALL)
    lms, off = ground_truth_landmarks(ROTATED, spec, anatomy_seed=3)
    assert off == []
    cam = _camera(spec, pose_spine(an, ROTATED), an)
    expected = _expected_ap_points(ROTATED, an)
    assert set(expected) == set(lms.points)
    for name, p in expected.items():
        assert np.allclose(lms.points[name], cam.project(p), atol=1e-9), name


def test_rotation_turns_the_endplate_and_narrows_it() -> None:
    """A vertebra turned by 20 deg projects its endplate about cos(20 deg) as wide; the body turns toward +y
    (image right): the anterior half of the endplate moves right, so its projected midpoint barely moves."""
    spec = FilmSpec(view=View.AP, **SMALL)
    s, _ = ground_truth_landmarks(SpineParams(), spec, anatomy_seed=3)
    t, _ = ground_truth_landmarks(replace(SpineParams(), axial_rotations_deg=(0, 20.0, 0, 0, 0)), spec, anatomy_seed=3)

    def width(lms, lv: Level = Level.L2) -> float:
        a = np.array(lms.points[ap_corner_name(lv, Endplate.SUPERIOR, ImageSide.LEFT)])
        b = np.array(lms.points[ap_corner_name(lv, Endplate.SUPERIOR, ImageSide.RIGHT)])
        return float(np.linalg.norm(b - a))

    assert width(t) / width(s) == pytest.approx(np.cos(np.deg2rad(20.0)), abs=0.02)
    assert width(t, Level.L3) == pytest.approx(width(s, Level.L3), rel=1e-6)  # L3 is not turned


def test_rotated_truth_reproduced_by_the_core_and_close_to_declared() -> None:
    """With a curve and rotation, measure_ap reproduces the film's truth to 1e-5; the declared Cobb is exact without
    rotation and, with rotation, within the projection effect of the turned, tilted endplates (< 4 deg here)."""
    from fusionwatch.measure import measure_ap

    curve = SpineParams(coronal_wedges_deg=(8.0, 10.0, 7.0, -6.0, -4.0), lateral_listhesis_mm=(0, 1.5, 0, 0, 0))
    declared = float(np.ptp(np.cumsum([0.0, *reversed(curve.coronal_wedges_deg)])))
    for rot, tol in (((0.0,) * 5, 1e-4), ((10.0, 16.0, 12.0, 4.0, -2.0), 4.0)):
        film = simulate_film(replace(curve, axial_rotations_deg=rot), FilmSpec(view=View.AP, **SMALL), anatomy_seed=2)
        spacing = Spacing.isotropic(film.camera.patient_pixel_mm, SpacingSource.MAGNIFICATION_CORRECTED)
        measured = {m.name.value: m.value for m in measure_ap(film.landmarks, spacing) if m.value is not None}
        for name, value in film.truth["measurements"].items():
            if value is not None:
                assert measured[name] == pytest.approx(value, abs=1e-5), name
        assert film.truth["measurements"]["coronal_cobb"] == pytest.approx(declared, abs=tol)
    assert film.truth["parameters"]["axial_rotations_deg"] == list(rot)


def test_rotation_changes_ap_pixels_not_lateral_films() -> None:
    """Rotation moves the AP film's pixels; a lateral film of the same patient is byte-identical and its truth too."""
    a = simulate_film(SpineParams(), FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
    b = simulate_film(ROTATED, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
    assert np.abs(a.pixels.astype(int) - b.pixels.astype(int)).mean() > 5
    la = simulate_film(SpineParams(), FilmSpec(**SMALL), anatomy_seed=4)
    lb = simulate_film(ROTATED, FilmSpec(**SMALL), anatomy_seed=4)
    assert np.array_equal(la.pixels, lb.pixels)
    assert la.truth["measurements"] == lb.truth["measurements"]
    assert "axial_rotations_deg" not in la.truth["parameters"]  # absent when zero: older truth unchanged


def test_bad_rotation_and_rotated_instrumented_levels_raise() -> None:
    with pytest.raises(ValueError, match="axial_rotations_deg"):
        SpineParams(axial_rotations_deg=(0.0, 45.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="axial_rotations_deg"):
        SpineParams(axial_rotations_deg=(0.0, 0.0))
    with pytest.raises(ValueError, match="must not be rotated"):
        simulate_film(ROTATED, FilmSpec(view=View.AP, **SMALL), hardware=Hardware())


WEDGED = SpineParams(coronal_wedges_deg=(6.0, 7.0, 5.0, -4.0, -3.0), vertebral_wedges_deg=(0.0, 4.0, 3.0, 0.0, 0.0))


def _tilt(lms, lv: Level, ep: Endplate) -> float:
    """Image-plane inclination (deg, counter-clockwise on the patient's coronal plane) of one AP endplate."""
    a = np.array(lms.points[ap_corner_name(lv, ep, ImageSide.LEFT)])
    b = np.array(lms.points[ap_corner_name(lv, ep, ImageSide.RIGHT)])
    return float(np.degrees(np.arctan2(-(b - a)[1], (b - a)[0])))


def test_wedged_bodies_tilt_their_superior_endplate_and_the_cobb_adds_up() -> None:
    """Version 14: a body wedge of w deg tilts the body's superior AP endplate by exactly w against its inferior one
    (corners at one depth: the projection keeps the angle); unwedged bodies stay rigid; the Cobb angle is the sum of
    the disc and body wedges; measure_ap reproduces the truth to 1e-5."""
    from fusionwatch.measure import measure_ap

    spec = FilmSpec(view=View.AP, **SMALL)
    film = simulate_film(WEDGED, spec, anatomy_seed=2)
    lms = film.landmarks
    for lv, w in zip((Level.L1, Level.L2, Level.L3, Level.L4, Level.L5), WEDGED.vertebral_wedges_deg, strict=True):
        assert _tilt(lms, lv, Endplate.SUPERIOR) - _tilt(lms, lv, Endplate.INFERIOR) == pytest.approx(w, abs=1e-9)
    declared = float(np.ptp(np.cumsum([0.0, *reversed(WEDGED.coronal_wedges_deg)])))  # L1-L4 main curve
    assert film.truth["measurements"]["coronal_cobb"] == pytest.approx(declared + 7.0, abs=1e-4)
    spacing = Spacing.isotropic(film.camera.patient_pixel_mm, SpacingSource.MAGNIFICATION_CORRECTED)
    measured = {m.name.value: m.value for m in measure_ap(film.landmarks, spacing) if m.value is not None}
    for name, value in film.truth["measurements"].items():
        if value is not None:
            assert measured[name] == pytest.approx(value, abs=1e-5), name
    assert film.truth["parameters"]["vertebral_wedges_deg"] == list(WEDGED.vertebral_wedges_deg)
    # below the lowest wedged body (L3) nothing moves, nor does L3's own inferior endplate; its superior one does
    flat, _ = ground_truth_landmarks(replace(WEDGED, vertebral_wedges_deg=(0.0,) * 5), spec, anatomy_seed=2)
    for name, p in flat.points.items():
        if name.split(".")[0] in ("L4", "L5", "S1") or name.startswith("L3.inferior"):
            assert np.allclose(lms.points[name], p, atol=1e-9), name
    assert not np.allclose(lms.points["L3.superior.left"], flat.points["L3.superior.left"], atol=0.5)


def test_wedging_changes_ap_pixels_not_lateral_films_and_is_validated() -> None:
    flat = replace(WEDGED, vertebral_wedges_deg=(0.0,) * 5)
    a = simulate_film(flat, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
    b = simulate_film(WEDGED, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
    assert np.abs(a.pixels.astype(int) - b.pixels.astype(int)).mean() > 2
    assert "vertebral_wedges_deg" not in a.truth["parameters"]  # absent when zero: older truth unchanged
    la = simulate_film(flat, FilmSpec(**SMALL), anatomy_seed=4)
    lb = simulate_film(WEDGED, FilmSpec(**SMALL), anatomy_seed=4)
    assert np.array_equal(la.pixels, lb.pixels)
    with pytest.raises(ValueError, match="vertebral_wedges_deg"):
        SpineParams(vertebral_wedges_deg=(0.0, 20.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="must not be wedged"):
        simulate_film(
            replace(SpineParams(), vertebral_wedges_deg=(0, 0, 0, 2.0, 0)), FilmSpec(**SMALL), hardware=Hardware()
        )


def test_coronal_width_widens_ap_corners_exactly_and_only_on_ap() -> None:
    """Version 21: a vertebra's coronal width factor moves its AP corners away from the mid-sagittal plane by exactly
    that factor (3-D, before projection); other vertebrae, lateral truth and the default keep their values."""
    an = patient_skeleton(3)
    wide = replace(SpineParams(), coronal_widths=(1.0, 1.0, 1.2, 1.0, 1.0))
    p0 = _landmarks_3d(pose_spine(an, SpineParams()), View.AP, an)
    p1 = _landmarks_3d(pose_spine(an, wide), View.AP, an)
    for name, p in p0.items():
        expected = p * np.array([1.0, 1.2, 1.0]) if name.startswith("L3.") else p
        assert np.allclose(p1[name], expected, atol=1e-9), name
    assert pose_spine(an, SpineParams()).widths == {}
    lat0, _ = ground_truth_landmarks(SpineParams(), FilmSpec(**SMALL), anatomy_seed=3)
    lat1, _ = ground_truth_landmarks(wide, FilmSpec(**SMALL), anatomy_seed=3)
    assert lat0.points == lat1.points
    with pytest.raises(ValueError, match="coronal_widths"):
        SpineParams(coronal_widths=(1.0, 1.0, 1.5, 1.0, 1.0))
    with pytest.raises(ValueError, match="width 1"):
        simulate_film(replace(SpineParams(), coronal_widths=(1, 1, 1, 1.1, 1)), FilmSpec(**SMALL), hardware=Hardware())


def test_coronal_width_changes_ap_pixels_and_truth_parameters_only_when_set() -> None:
    wide = replace(SpineParams(), coronal_widths=(1.1,) * 5)
    a = simulate_film(SpineParams(), FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
    b = simulate_film(wide, FilmSpec(view=View.AP, **SMALL), anatomy_seed=4)
    assert np.abs(a.pixels.astype(int) - b.pixels.astype(int)).mean() > 2
    assert "coronal_widths" not in a.truth["parameters"]  # absent when 1: older truth unchanged
    assert b.truth["parameters"]["coronal_widths"] == [1.1] * 5
    la = simulate_film(SpineParams(), FilmSpec(**SMALL), anatomy_seed=4)
    lb = simulate_film(wide, FilmSpec(**SMALL), anatomy_seed=4)
    assert np.array_equal(la.pixels, lb.pixels)


def test_width_weight_is_the_width_blended_and_exactly_one_without_widths() -> None:
    """Version 26: the splat-weight rule of a widened vertebra, named once (``Pose.width_weight``): the bone's width
    factor, the blend ``(1 - v) * upper + v * lower`` between two bones, and exactly 1.0 (not a sum that rounds near
    1) when neither bone is widened, so films without widths keep their weights to the bit."""
    an = patient_skeleton(0)
    wide = pose_spine(an, replace(SpineParams(), coronal_widths=(1.0, 1.0, 1.2, 1.1, 1.0)))
    assert wide.width_weight("L3") == 1.2
    assert wide.width_weight("L1") == 1.0
    v = np.array([0.0, 0.25, 1.0])
    np.testing.assert_allclose(wide.width_weight("L3", "L4", v), [1.2, 1.175, 1.1])
    np.testing.assert_allclose(wide.width_weight("L2", "L3", v), [1.0, 1.05, 1.2])
    plain = pose_spine(an, SpineParams())
    v = np.random.default_rng(0).random(50)
    assert plain.width_weight("L2", "L3", v) == 1.0
    assert wide.width_weight("L1", "L2", v) == 1.0
