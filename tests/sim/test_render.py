"""Tests for sim/render/ internals that the film-level tests cannot see through the quantum noise."""

from __future__ import annotations

import numpy as np
import pytest

from fusionwatch.radiograph import View
from fusionwatch.sim import FilmSpec, Healing, SpineParams, render
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.film import _camera
from fusionwatch.sim.pose import pose_spine
from fusionwatch.sim.render import (
    ap_arch,
    ap_bones,
    ap_brightness,
    ap_soft_tissue,
    ap_vertebrae,
    attenuation,
    draw,
    exposure,
)
from fusionwatch.sim.variation import patient_anatomy


def _small_ap_scene() -> tuple:
    """Patient 0 in the neutral pose on a 300 x 375 px AP film, no implants: (camera, render scene)."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    cam = _camera(FilmSpec(view=View.AP, width=300, height=375), pose, an)
    return cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0)


def test_ap_pelvis_cortex_passes_smooth_the_iliac_wings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 16: the hip bones' cortex is splatted in several jittered passes and averaged, so the random part of the
    AP pelvis path image (the voxel-count grain that made the iliac wings look like sandpaper) is well under the
    single-pass grain. Measured as the difference between two renderings whose jitter differs (scene seeds 0 and 1,
    same patient), over the bone below the S1 endplate."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    cam = _camera(FilmSpec(view=View.AP, width=500, height=625), pose, an)
    s1 = pose.corners["S1"]["superior.anterior"]
    row = int(cam.project(np.array([[s1[0], 0.0, s1[1]]]))[0, 1]) + 10

    # (version 18's bone density texture differs between scene seeds: switched off, so only the jitter differs)
    monkeypatch.setattr(ap_bones, "AP_HIP_LARGE", 0.0)
    monkeypatch.setattr(ap_bones, "AP_HIP_FINE", 0.0)
    monkeypatch.setattr(ap_bones, "AP_HIP_GAIN", (1.0, 1.0))
    monkeypatch.setattr(ap_bones, "AP_VERTEBRA_TEXTURE", 0.0)
    # (version 26 blurs the pelvis cortex 1.8 / 2.5 mm, which hides the grain either way: the mechanism is tested
    # with the version 16-25 weights and blurs, under which the single-pass grain showed)
    monkeypatch.setattr(ap_bones, "AP_PELVIS_CORTEX_GAIN", 1.6)
    monkeypatch.setattr(ap_bones, "AP_PELVIS_TRABECULAR_GAIN", 0.75)
    monkeypatch.setattr(ap_bones, "AP_PELVIS_CORTEX_BLUR_MM", 0.8)
    monkeypatch.setattr(ap_bones, "AP_HIP_CORTEX_BLUR_MM", 1.4)

    def grain_images(passes: int) -> list[np.ndarray]:
        monkeypatch.setattr(ap_bones, "AP_PELVIS_CORTEX_PASSES", passes)
        out = []
        for seed in (0, 1):
            L = np.zeros((cam.height, cam.width), np.float32)
            ap_bones._ap_bones(L, cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", seed))
            out.append(L[row:])
        return out

    passes = ap_bones.AP_PELVIS_CORTEX_PASSES
    assert passes > 1
    one, many = grain_images(1), grain_images(passes)
    bone = one[0] > 0.2 * one[0].max()
    assert bone.sum() > 5000
    grain_one = float((one[0] - one[1])[bone].std())
    grain_many = float((many[0] - many[1])[bone].std())
    assert grain_many < 0.6 * grain_one, (grain_one, grain_many)
    # the averaging does not change the amount of bone (the mean path over the region)
    assert abs(float(many[0][bone].mean()) / float(one[0][bone].mean()) - 1.0) < 0.02


def test_ap_cortex_layers_split_the_same_bone_and_are_blurred_more() -> None:
    """Version 17: the bodies' analytic wall and endplates and the pedicle rings go to their own layers (blurred more
    than the rest of the analytic cortex on AP films); the three layers together hold exactly the bone a single image
    gets, each of the two new layers holds some of it, and their blur widths are wider than the rest's."""
    cam, scene = _small_ap_scene()
    single = np.zeros((cam.height, cam.width), np.float32)
    ap_vertebrae._ap_cortex(single, cam, scene)
    rest, outline, pedicles = (np.zeros_like(single) for _ in range(3))
    ap_vertebrae._ap_cortex(rest, cam, scene, outline=outline, pedicles=pedicles)
    np.testing.assert_allclose(rest + outline + pedicles, single, atol=1e-4 * float(single.max()))
    for layer in (outline, pedicles):
        assert 0.05 * single.sum() < layer.sum() < 0.8 * single.sum()
    # (version 24, rims R2: the outline is as crisp as the rest of the cortex, 0.3 mm; the pedicles softer)
    assert ap_vertebrae.AP_OUTLINE_BLUR_MM >= ap_vertebrae.AP_CORTEX_BLUR_MM
    assert ap_vertebrae.AP_PEDICLE_BLUR_MM > ap_vertebrae.AP_CORTEX_BLUR_MM


def test_ap_vertebral_voxel_cortex_fainter_trabecular_body_denser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 17: on AP films the lumbar vertebrae's voxel cortex (the bright, doubled box outline) weighs less and
    their trabecular bone more: across the L3 body at mid-height the bone path at the body's sides, relative to its
    centre, is lower than with the version-16 weights, and the centre itself is denser."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    cam = _camera(FilmSpec(view=View.AP, width=400, height=500), pose, an)
    c = pose.corners["L3"]
    mid = np.mean([v for v in c.values()], axis=0)
    hw = float(np.mean(list(an.endplate_half_widths["L3"].values())))
    (x_l, row), (x_r, _) = cam.project(np.array([[mid[0], -hw, mid[1]], [mid[0], hw, mid[1]]]))
    row, x_l, x_r = int(round(row)), int(round(x_l)), int(round(x_r))
    x_c = (x_l + x_r) // 2

    def profile() -> np.ndarray:
        L = np.zeros((cam.height, cam.width), np.float32)
        ap_bones._ap_bones(L, cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0))
        return L[row - 1 : row + 2].mean(axis=0)

    new = profile()
    monkeypatch.setattr(ap_bones, "AP_VERTEBRA_CORTEX_FACTOR", 1.0)
    monkeypatch.setattr(ap_bones, "AP_BODY_CORTEX_FACTOR", 1.0)  # version 31: the body's own (version 16: one weight)
    monkeypatch.setattr(ap_bones, "AP_VERTEBRA_TRABECULAR_FACTOR", 1.0)
    old = profile()
    w = max(2, (x_r - x_l) // 10)

    def side_over_centre(p: np.ndarray) -> float:
        sides = max(p[x_l - w : x_l + 2 * w].max(), p[x_r - 2 * w : x_r + w].max())
        return float(sides / p[x_c - w : x_c + w].mean())

    assert side_over_centre(new) < 0.95 * side_over_centre(old), (side_over_centre(new), side_over_centre(old))
    assert new[x_c - w : x_c + w].mean() > old[x_c - w : x_c + w].mean()


def test_ap_transverse_processes_on_their_own_softer_layer() -> None:
    """Version 18: the transverse processes go to their own layer (blurred ``AP_PROCESS_BLUR_MM``, more than the rest
    of the analytic cortex); the layers together hold exactly the bone a single image gets."""
    cam, scene = _small_ap_scene()
    single = np.zeros((cam.height, cam.width), np.float32)
    ap_vertebrae._ap_cortex(single, cam, scene)
    rest, outline, pedicles, processes = (np.zeros_like(single) for _ in range(4))
    ap_vertebrae._ap_cortex(rest, cam, scene, outline=outline, pedicles=pedicles, processes=processes)
    np.testing.assert_allclose(rest + outline + pedicles + processes, single, atol=1e-4 * float(single.max()))
    assert 0.05 * single.sum() < processes.sum() < 0.8 * single.sum()
    assert ap_vertebrae.AP_PROCESS_BLUR_MM > ap_vertebrae.AP_CORTEX_BLUR_MM
    # the processes lie beside the bodies: left and right of the spine's middle third
    cols = np.flatnonzero(processes.sum(axis=0) > 0.02 * processes.sum(axis=0).max())
    mid = np.mean([cam.project(np.array([[v[0], 0.0, v[1]]]))[0, 0] for v in scene.pose.corners["L3"].values()])
    assert cols.min() < mid - 20 and cols.max() > mid + 20


def test_wave_field_is_constant_along_the_ap_ray_and_unit_variance() -> None:
    """Version 18: the bone density texture is a smooth field of unit variance, constant along the AP ray (+x in the
    mesh frame: a texture along the ray would average out over the bone's depth); ``vertical`` draws it out along z."""
    rng = np.random.default_rng(0)
    f = ap_bones._wave_field(rng, (2.0, 6.0), vertical=True, n=64)
    pts = np.random.default_rng(1).uniform(-50.0, 50.0, (4000, 3)).astype(np.float32)
    v = f(pts)
    assert 0.7 < float(v.std()) < 1.3
    shifted = pts.copy()
    shifted[:, 0] += 17.0
    np.testing.assert_allclose(f(shifted), v, atol=1e-3)
    dy, dz = pts.copy(), pts.copy()
    dy[:, 1] += 0.2
    dz[:, 2] += 0.2
    assert float(np.abs(f(dz) - v).mean()) < 0.6 * float(np.abs(f(dy) - v).mean())


def test_ap_hip_bone_texture_leaves_the_sacrum_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 18: the hip bones' density varies inside the iliac wings (relative to the version-17 rendering the
    wing's path varies by more than 5 % from place to place), while the sacrum below S1 in the mid-line (where the
    S1 screws sit) is rendered exactly as before."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    cam = _camera(FilmSpec(view=View.AP, width=400, height=500), pose, an)
    s1 = pose.corners["S1"]["superior.anterior"]
    (c_mid, r_s1), (c_wing, _) = cam.project(np.array([[s1[0], 0.0, s1[1]], [s1[0], 95.0, s1[1] + 10.0]]))
    px = 1.0 / cam.gain(0.0)  # mm per pixel at the reference plane

    def render_bones() -> np.ndarray:
        L = np.zeros((cam.height, cam.width), np.float32)
        ap_bones._ap_bones(L, cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", 3))
        return L

    new = render_bones()
    for name, value in (("AP_HIP_LARGE", 0.0), ("AP_HIP_FINE", 0.0), ("AP_HIP_GAIN", (1.0, 1.0))):
        monkeypatch.setattr(ap_bones, name, value)
    monkeypatch.setattr(ap_bones, "AP_HIP_CORTEX_FACTOR", 1.0)
    old = render_bones()
    r0, r1 = int(r_s1 + 8 / px), int(r_s1 + 35 / px)
    c0, c1 = int(c_mid - 12 / px), int(c_mid + 12 / px)
    np.testing.assert_allclose(new[r0:r1, c0:c1], old[r0:r1, c0:c1], rtol=1e-5, atol=1e-6)
    h = int(20 / px)
    win = (slice(int(r_s1) - h, int(r_s1) + h), slice(int(c_wing) - h, int(c_wing) + h))
    bone = old[win] > 0.3 * float(old[win].max())
    assert bone.sum() > 50
    ratio = new[win][bone] / old[win][bone]
    assert float(ratio.std()) > 0.05, float(ratio.std())


@pytest.mark.parametrize("size", [(2000, 2500), (1999, 2501)])
def test_coarse_layer_matches_the_full_resolution_blur(size: tuple[int, int]) -> None:
    """Version 19: a wide-blurred layer (the psoas) drawn on a coarser grid and upsampled lands where the
    full-resolution drawing does, with the same values to well under 1 % of its peak (also for sizes not divisible by
    the factor)."""
    W, H = size
    cam = Camera(view="ap", width=W, height=H, pixel_mm=0.18, sid_mm=1000.0, sod_mm=850.0, centre=(0.0, 0.0))
    sigma = 2.5 / cam.patient_pixel_mm
    assert sigma >= 8  # the coarse path runs

    def draw_capsule(layer: np.ndarray, c: Camera) -> None:
        draw.capsule(layer, c, np.array([0.0, 40.0, 80.0]), np.array([0.0, 60.0, -60.0]), 15.0, 0.03)

    coarse = np.zeros((H, W), np.float32)
    draw._add_coarse(coarse, cam, sigma, draw_capsule)
    full_layer = np.zeros((H, W), np.float32)
    draw_capsule(full_layer, cam)
    full = np.zeros((H, W), np.float32)
    draw._add_blurred(full, full_layer, sigma)
    peak = float(full.max())
    assert peak > 0.5
    assert float(np.abs(coarse - full).max()) < 0.01 * peak
    # same centre of mass to a tenth of a pixel
    ys, xs = np.mgrid[0:H, 0:W]
    for grid in (xs, ys):
        assert abs(float((grid * coarse).sum() / coarse.sum()) - float((grid * full).sum() / full.sum())) < 0.1


def test_coarse_layer_is_the_plain_blur_on_small_films() -> None:
    cam = Camera(view="ap", width=400, height=500, pixel_mm=0.9, sid_mm=1000.0, sod_mm=850.0, centre=(0.0, 0.0))
    sigma = 2.5 / cam.patient_pixel_mm

    def draw_capsule(layer: np.ndarray, c: Camera) -> None:
        draw.capsule(layer, c, np.array([0.0, 40.0, 80.0]), np.array([0.0, 60.0, -60.0]), 15.0, 0.03)

    a = np.zeros((500, 400), np.float32)
    draw._add_coarse(a, cam, sigma, draw_capsule)
    layer = np.zeros_like(a)
    draw_capsule(layer, cam)
    b = np.zeros_like(a)
    draw._add_blurred(b, layer, sigma)
    assert np.array_equal(a, b)


def test_widened_vertebrae_keep_their_path_along_the_ray() -> None:
    """Version 21: with every lumbar vertebra 15 % wider (``SpineParams.coronal_widths``) the splatted bodies spread
    sideways but keep their path length: the bone's total grows by about the width factor, its peak does not."""
    an = patient_anatomy(0)
    cam, _ = _small_ap_scene()
    out = []
    for f in (1.0, 1.15):
        pose = pose_spine(an, SpineParams(coronal_widths=(f,) * 5))
        L = np.zeros((cam.height, cam.width), np.float32)
        ap_bones._ap_bones(L, cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0))
        out.append(L)
    # the spine's columns only (the pelvis, sacrum and femoral heads are not widened): from L1 to the L5 endplate
    pose = pose_spine(an, SpineParams())
    rows = [
        int(cam.project(np.array([[c[0], 0.0, c[1]]]))[0, 1])
        for c in (pose.corners["L1"]["superior.anterior"], pose.corners["L4"]["inferior.anterior"])
    ]
    a, b = (L[min(rows) : max(rows)] for L in out)
    assert b.sum() / a.sum() == pytest.approx(1.15, abs=0.05)
    assert np.percentile(b, 99) / np.percentile(a, 99) == pytest.approx(1.0, abs=0.06)
    wa = (a.max(axis=0) > 0.3 * a.max()).sum()
    wb = (b.max(axis=0) > 0.3 * b.max()).sum()
    assert wb > 1.08 * wa


def test_pedicle_gain_scales_the_ring() -> None:
    """Version 21: ``_tube_v13(gain=)`` scales the pedicle ring linearly (the per-patient visibility)."""
    cam, _ = _small_ap_scene()
    a3, b3 = np.array([30.0, 20.0, 0.0]), np.array([17.0, 21.0, -1.0])
    ey, ez = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    one, half = np.zeros((cam.height, cam.width), np.float32), np.zeros((cam.height, cam.width), np.float32)
    ap_vertebrae._tube_v13(one, cam, a3, b3, ey, ez, 5.0, 7.0, 2.0, 0.5)
    ap_vertebrae._tube_v13(half, cam, a3, b3, ey, ez, 5.0, 7.0, 2.0, 0.5, gain=0.5)
    assert one.sum() > 0
    np.testing.assert_allclose(half, 0.5 * one, rtol=1e-5, atol=1e-7)


def test_ap_flanks_darker_than_the_centre_and_drawn_per_patient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 21: the exposure fall-off darkens the film's sides (lower log signal: darker on MONOCHROME2) by the
    patient's share of the range, growing toward the flanks, the centre column untouched; the share is the
    patient's (the same for every film of one anatomy seed) and within ``AP_FLANK``. Shipped off: every share 0."""
    assert ap_brightness.AP_FLANK == (0.0, 0.0) and render.patient_flank(3) == 0.0
    cam, _ = _small_ap_scene()
    base = np.random.default_rng(0).normal(0.0, 1.0, (cam.height, cam.width)).astype(np.float32)
    win = (slice(None), slice(None))
    outs = []
    for flank in (0.0, 0.5):
        q = base.copy()
        ap_brightness._falloff(q, cam, np.random.default_rng(5), win, flank)
        outs.append(q)
    d = outs[1] - outs[0]
    lo, hi = np.percentile(base, [2.0, 98.0])
    assert abs(float(d[:, cam.width // 2].mean())) < 1e-3 * (hi - lo)
    half_mm = 0.5 * cam.width * cam.pixel_mm / cam.magnification
    expect_edge = 0.5 * (hi - lo) * min(1.0, (half_mm / ap_brightness.AP_FLANK_MM) ** 2)
    assert float(d[:, 0].mean()) == pytest.approx(-expect_edge, rel=0.05)
    assert float(d[:, cam.width // 4].mean()) > float(d[:, 0].mean())
    monkeypatch.setattr(ap_brightness, "AP_FLANK", (0.05, 0.45))
    shares = [render.patient_flank(seed) for seed in range(40)]
    assert render.patient_flank(3) == shares[3]
    assert all(ap_brightness.AP_FLANK[0] <= f <= ap_brightness.AP_FLANK[1] for f in shares)
    assert np.ptp(shares) > 0.5 * (ap_brightness.AP_FLANK[1] - ap_brightness.AP_FLANK[0])


class _FixedK:
    """A stand-in generator whose ``uniform`` returns one chosen look-up-table bend."""

    def __init__(self, k: float) -> None:
        self.k = k

    def uniform(self, lo: float, hi: float) -> float:
        return self.k


def test_lut_bend_is_monotone_fixes_the_central_range_and_leaves_the_border_alone() -> None:
    """Version 22: the per-film look-up-table bend keeps the order of the grey levels, maps the central region's 1st
    and 99th percentiles onto themselves, lifts the mid-tones for k > 0 (lowers them for k < 0) by k u (1 - u) of
    that range, leaves levels outside the range and pixels outside the field unchanged."""
    rng = np.random.default_rng(5)
    img = np.clip(rng.normal(2600, 500, (200, 160)), 0, 4095).astype(np.uint16)
    img[:10] = 3800  # the collimation border (outside the field below)
    field = (slice(10, 200), slice(0, 160))
    roi = img[field][int(0.15 * 190) : int(0.85 * 190) : 3, int(0.25 * 160) : int(0.75 * 160) : 3]
    lo, hi = np.percentile(roi, exposure.AP_LUT_PERCENTILES)
    for k in (-0.6, 0.8):
        out = img.copy()
        exposure._lut_bend(out, field, _FixedK(k))
        assert np.array_equal(out[:10], img[:10])
        a, b = img[field].ravel().astype(np.int64), out[field].ravel().astype(np.int64)
        order = np.argsort(a, kind="stable")
        assert np.all(np.diff(b[order]) >= 0)  # monotone
        outside = (a <= lo) | (a >= hi)
        assert np.array_equal(a[outside], b[outside])
        mid = np.abs(a - 0.5 * (lo + hi)) < 5
        expect = a[mid] + k * (hi - lo) * 0.25
        assert np.all(np.abs(b[mid] - expect) < 0.02 * (hi - lo))
        assert (b[mid].mean() > a[mid].mean()) == (k > 0)


def test_lut_bend_only_on_ap_films_without_metal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 22: the bend is drawn and applied on AP films without segmented metal only (lateral films and films
    with implants keep the version-21 table), and from its own stream: switched off, the film is version 21's."""
    from fusionwatch.sim import Hardware, simulate_film

    calls: list[float] = []
    real = exposure._lut_bend

    def spy(out: np.ndarray, field: tuple[slice, slice], rng: np.random.Generator) -> None:
        calls.append(1.0)
        real(out, field, rng)

    monkeypatch.setattr(exposure, "_lut_bend", spy)
    small = dict(width=240, height=300)
    plain = simulate_film(SpineParams(), FilmSpec(view=View.AP, **small), anatomy_seed=2, noise_seed=3)
    assert len(calls) == 1
    simulate_film(SpineParams(), FilmSpec(view=View.LATERAL, **small), anatomy_seed=2, noise_seed=3)
    simulate_film(
        SpineParams(),
        FilmSpec(view=View.AP, **small),
        hardware=Hardware(),
        healing=Healing(),
        anatomy_seed=2,
        noise_seed=3,
    )
    assert len(calls) == 1
    monkeypatch.setattr(exposure, "AP_LUT_BEND", (0.0, 0.0))
    off = simulate_film(SpineParams(), FilmSpec(view=View.AP, **small), anatomy_seed=2, noise_seed=3)
    assert len(calls) == 1
    assert not np.array_equal(plain.pixels, off.pixels)
    assert plain.truth == off.truth


def _waist_row(soft: np.ndarray, an, z_mm: float) -> np.ndarray:  # noqa: ANN001
    """The AP soft-tissue map's left-right profile (path mm) at height ``z_mm`` (map frame)."""
    return soft[:, int(round((z_mm - an.soft_ap_origin[1]) / an.soft_res))]


def _half_width(profile: np.ndarray, an, level: float) -> float:  # noqa: ANN001
    y = an.soft_ap_origin[0] + np.arange(len(profile)) * an.soft_res
    return float(np.abs(y[profile > level]).max())


def test_narrow_body_sets_the_waist_keeps_the_bones_inside_and_the_midline_path() -> None:
    """Version 23: a thin patient's AP soft-tissue map is compressed left-right to the asked waist half-width at mid
    lumbar height (within the smoothing's reach), keeps soft tissue beyond the widest bone at every height (hip bones,
    lower ribs) by about the margin, is never wider than the bundled body, and keeps the mid-line path (the AP depth is
    ``soft_scale``'s, not the width's)."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    s = pose.scale
    scene = render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0, body_half_width_mm=115.0)
    soft = render.narrow_body(scene)
    assert soft.shape == an.soft_ap.shape
    level = 0.1 * float(an.soft_ap.max())
    l3 = float(np.mean([v[1] for v in an.corners["L3"].values()]))
    l5 = float(np.mean([v[1] for v in an.corners["L5"].values()]))
    waist = min(_half_width(_waist_row(soft, an, z), an, level) * s for z in np.linspace(l5, l3, 12))
    assert 110.0 <= waist < 135.0, waist
    assert _half_width(_waist_row(an.soft_ap, an, l3), an, level) * s > 180.0  # the bundled body is much wider
    mid = int(round(-an.soft_ap_origin[0] / an.soft_res))
    assert np.allclose(soft[mid], an.soft_ap[mid], rtol=0.02, atol=1.0)
    # every hip-bone voxel lies inside the narrowed body, with soft tissue beside it
    xyz = ap_bones._ap_points(an)["pelvis"][0]
    zi = np.clip(np.round((xyz[:, 2] - an.soft_ap_origin[1]) / an.soft_res).astype(int), 0, soft.shape[1] - 1)
    yi = np.round((np.abs(xyz[:, 1]) + 0.5 * ap_soft_tissue.AP_BODY_MARGIN_MM / s - an.soft_ap_origin[0]) / an.soft_res)
    assert np.all(soft[np.clip(yi.astype(int), 0, soft.shape[0] - 1), zi] > 0.05 * level)
    # never wider than before: where the bundled body had no tissue, the narrowed one has none either
    assert np.all(soft[an.soft_ap <= 0.0] <= 1e-3)


def test_thin_patient_film_shows_black_air_beside_the_flanks_and_keeps_the_anatomy_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Version 23: an AP film of a thin patient (body half-width 110 mm, field about 2 x 150 mm at the patient) has
    direct exposure beyond the flanks, displayed black, while the console's window is set by the body (air neither
    sets the equalisation background nor the window): the spine stays as bright as without the narrowing, and the
    truth is the same.

    Version 28's coarse layout (lung bases, iliac wings) is held off here: it is drawn inside the body only, so a
    thin and a wide body get different layouts and windows by design (with it on, this patient's wide film's spine
    is 0.14 of the range darker: its bright iliac corners, over the whole width, raise the window's top); this test
    is about the air-aware console."""
    from fusionwatch.sim import simulate_film

    monkeypatch.setattr(ap_brightness, "AP_LUNG", (0.0, 0.0))
    monkeypatch.setattr(ap_brightness, "AP_ILIAC", (0.0, 0.0))
    spec = FilmSpec(view=View.AP, width=300, height=375)
    wide = simulate_film(SpineParams(), spec, anatomy_seed=0, noise_seed=1)
    thin = simulate_film(SpineParams(), spec, anatomy_seed=0, noise_seed=1, body_half_width_mm=110.0)
    assert thin.truth == wide.truth
    H, W = thin.pixels.shape
    band = thin.pixels[int(0.3 * H) : int(0.6 * H)].astype(float)  # waist height, inside the collimation
    edge = band[:, int(0.06 * W) : int(0.1 * W)]
    assert np.mean(edge < 0.03 * 4095) > 0.25  # air: black
    assert np.mean(wide.pixels[int(0.3 * H) : int(0.6 * H), int(0.06 * W) : int(0.1 * W)] < 0.03 * 4095) < 0.01
    centre = band[:, int(0.45 * W) : int(0.55 * W)]
    wide_centre = wide.pixels[int(0.3 * H) : int(0.6 * H), int(0.45 * W) : int(0.55 * W)].astype(float)
    # the spine keeps its grey levels (measured: version 23 0.144, version 24 0.156 of the range, the rims R2 making
    # the spine a little brighter on the thin film; 0.15 up to version 23)
    gap = abs(np.median(centre) - np.median(wide_centre))
    assert gap < 0.17 * 4095
    # and closer to them than a console that lets the air set its window and background (measured 0.196)
    from fusionwatch.sim import film as film_module

    plain_expose = film_module.expose
    monkeypatch.setattr(
        film_module,
        "expose",
        lambda L, cam, exp, rng, metal=None, flank=0.0, air=False, layout=None: plain_expose(
            L, cam, exp, rng, metal, flank, False, layout
        ),
    )
    naive = simulate_film(SpineParams(), spec, anatomy_seed=0, noise_seed=1, body_half_width_mm=110.0)
    naive_centre = naive.pixels[int(0.3 * H) : int(0.6 * H), int(0.45 * W) : int(0.55 * W)].astype(float)
    assert gap < abs(np.median(naive_centre) - np.median(wide_centre)) - 0.02 * 4095


def test_patient_waist_own_stream_population_and_default_off() -> None:
    """Version 23: the waist is drawn from its own stream per patient for the adolescent-scoliosis population
    (inside ``AP_ADOLESCENT_WAIST_MM``, the same on every call), and None for adults while ``AP_ADULT_WAIST_MM`` is
    off, so every adult film keeps the bundled body (version 22's pixels)."""
    lo, hi = ap_soft_tissue.AP_ADOLESCENT_WAIST_MM
    ws = [render.patient_waist(k, "adolescent-scoliosis") for k in range(20)]
    assert all(w is not None and lo <= w <= hi for w in ws)
    assert len(set(ws)) > 15
    assert ws == [render.patient_waist(k, "adolescent-scoliosis") for k in range(20)]
    assert ap_soft_tissue.AP_ADULT_WAIST_MM is None
    assert render.patient_waist(3, "adult") is None


def test_adolescent_patients_carry_a_waist_adults_do_not() -> None:
    """Version 23: ``sample_patient`` gives an adolescent-scoliosis patient a waist half-width and leaves the adults'
    None; the rest of the patient is drawn as before (same parameters with or without the new field)."""
    from fusionwatch.sim.journey import DEFAULT_SURGERY_DATE, sample_patient

    a = sample_patient(np.random.default_rng([7, 0]), "solid-fusion", 7, DEFAULT_SURGERY_DATE)
    t = sample_patient(
        np.random.default_rng([7, 0]), "solid-fusion", 7, DEFAULT_SURGERY_DATE, population="adolescent-scoliosis"
    )
    assert a.body_half_width_mm is None
    assert t.body_half_width_mm == render.patient_waist(t.anatomy_seed, "adolescent-scoliosis")


def test_detail_gains_no_metal_only_on_ap_films_without_metal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 23: AP films without segmented metal take the console's ``AP_DETAIL_GAINS_NO_METAL`` ranges (crisper
    bone edges), films with metal keep ``AP_DETAIL_GAINS`` (the implant checks' films), lateral films have no detail
    amplification; the same draws, so switched off (None) the film without metal is version 22's processing, with
    the same truth."""
    from fusionwatch.sim import Hardware, simulate_film

    seen: list[object] = []
    real = exposure._multiscale_contrast

    def spy(q, cam, rng, ranges=None):  # noqa: ANN001, ANN202
        seen.append(ranges)
        return real(q, cam, rng, ranges)

    monkeypatch.setattr(exposure, "_multiscale_contrast", spy)
    small = dict(width=240, height=300)
    plain = simulate_film(SpineParams(), FilmSpec(view=View.AP, **small), anatomy_seed=2, noise_seed=3)
    assert seen == [exposure.AP_DETAIL_GAINS_NO_METAL] and exposure.AP_DETAIL_GAINS_NO_METAL is not None
    simulate_film(SpineParams(), FilmSpec(view=View.LATERAL, **small), anatomy_seed=2, noise_seed=3)
    simulate_film(
        SpineParams(), FilmSpec(view=View.AP, **small), hardware=Hardware(), healing=Healing(), anatomy_seed=2
    )
    assert seen == [exposure.AP_DETAIL_GAINS_NO_METAL, None]
    # stronger mid-band gains: more detail (0.5-2 mm band-pass) over the spine than with version 22's gains
    import cv2

    mid = dict(width=400, height=500)
    plain = simulate_film(SpineParams(), FilmSpec(view=View.AP, **mid), anatomy_seed=2, noise_seed=3)
    monkeypatch.setattr(exposure, "AP_DETAIL_GAINS_NO_METAL", None)
    off = simulate_film(SpineParams(), FilmSpec(view=View.AP, **mid), anatomy_seed=2, noise_seed=3)
    assert plain.truth == off.truth

    def detail(px: np.ndarray) -> float:
        a = px[100:400, 120:280].astype(np.float32)
        return float(np.std(cv2.GaussianBlur(a, (0, 0), 1.0) - cv2.GaussianBlur(a, (0, 0), 4.0)))

    assert detail(plain.pixels) > 1.04 * detail(off.pixels)


def test_scoliosis_exam_is_low_dose_and_only_for_that_population() -> None:
    """Version 23: the adolescent-scoliosis population's AP films are the low-dose full-spine exam of a thin body
    (photon fluence x ``AP_SCOLIOSIS_DOSE``, scatter x ``AP_SCOLIOSIS_SCATTER``, nothing else changed, no draw);
    every other film keeps its exposure."""
    from dataclasses import replace

    from fusionwatch.sim.journey import AP_SCOLIOSIS_DOSE, AP_SCOLIOSIS_SCATTER, exam_exposure

    e = render.Exposure(photons_per_mm2=2.0e7, scatter_to_primary=0.4, edge_enhance=0.9)
    low = exam_exposure(e, "adolescent-scoliosis", "ap")
    assert low == replace(
        e,
        photons_per_mm2=2.0e7 * AP_SCOLIOSIS_DOSE,
        scatter_to_primary=0.4 * AP_SCOLIOSIS_SCATTER,
        window_top_pct=low.window_top_pct,  # version 24 trial F (tested below)
    )
    assert AP_SCOLIOSIS_DOSE < 1.0 and AP_SCOLIOSIS_SCATTER < 1.0
    assert exam_exposure(e, "adolescent-scoliosis", "lateral") == e
    assert exam_exposure(e, "adult", "ap") == e


def test_ap_discs_fill_the_disc_gap_denser_at_the_rim_and_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 24 trial D: with ``AP_DISC_MU`` > 0 each lumbar disc adds path in its gap (about ``AP_DISC_MU`` x the
    disc's AP depth at the mid-line, a little more with the denser annulus), nothing at the middle of a vertebral
    body; ``line_integrals`` draws the discs only when the constant is on."""
    cam, scene = _small_ap_scene()
    pose = scene.pose
    monkeypatch.setattr(ap_soft_tissue, "AP_DISC_MU", 0.002)
    L = np.zeros((cam.height, cam.width), np.float32)
    ap_soft_tissue._ap_discs(L, cam, pose, scene.anatomy, 0.5)

    def px(b: str, ends: tuple[str, str]) -> tuple[int, int]:
        c = pose.corners[b]
        m = np.mean([c[f"{e}.anterior"] + c[f"{e}.posterior"] for e in ends], axis=0) / 2
        p3 = pose.apply_coronal(b, np.array([[m[0], 0.0, m[1]]]))
        col, row = cam.project(p3)[0]
        return int(round(row)), int(round(col))

    r_up, c_up = px("L2", ("inferior",))
    r_lo, _ = px("L3", ("superior",))
    gap = float(L[(r_up + r_lo) // 2, c_up])
    depth = float(np.linalg.norm(pose.corners["L2"]["inferior.anterior"] - pose.corners["L2"]["inferior.posterior"]))
    assert 0.6 * 0.002 * depth < gap < 2.5 * 0.002 * depth, (gap, depth)
    r_body, c_body = px("L3", ("superior", "inferior"))
    assert L[r_body, c_body] < 0.05 * gap
    # the denser annulus: without it the same ray (through front and back rim and the nucleus) carries less path
    annulus = ap_soft_tissue.AP_DISC_ANNULUS
    monkeypatch.setattr(ap_soft_tissue, "AP_DISC_ANNULUS", 0.0)
    plain = np.zeros_like(L)
    ap_soft_tissue._ap_discs(plain, cam, pose, scene.anatomy, 0.5)
    assert 0.5 * gap < float(plain[(r_up + r_lo) // 2, c_up]) < 0.9 * gap
    monkeypatch.setattr(ap_soft_tissue, "AP_DISC_ANNULUS", annulus)
    # an interbody fusion's discectomy: the excised L5-S1 disc (tilted, seen obliquely: less path) is not drawn
    r5, c5 = px("L5", ("inferior",))
    r1, _ = px("S1", ("superior",))
    ex = np.zeros_like(L)
    ap_soft_tissue._ap_discs(ex, cam, pose, scene.anatomy, 0.5, excised=("L5",))
    assert L[(r5 + r1) // 2, c5] > 0.2 * gap and ex[(r5 + r1) // 2, c5] == 0.0
    assert ex[(r_up + r_lo) // 2, c_up] == pytest.approx(gap)
    # the drawn call is switched by the constant: off, the AP line integrals do not call it
    calls: list[int] = []
    monkeypatch.setattr(ap_soft_tissue, "_ap_discs", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(ap_soft_tissue, "AP_DISC_MU", 0.0)
    render.line_integrals(scene, cam)
    assert calls == []
    monkeypatch.setattr(ap_soft_tissue, "AP_DISC_MU", 0.002)
    render.line_integrals(scene, cam)
    assert calls == [1]


def test_ap_disc_path_at_the_mid_line_does_not_depend_on_the_vertebrae_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 25: a widened vertebra (version 21, ``pose.widths``) spreads the disc's points sideways like the bone's,
    and their weights carry the width back (the blend of the upper and lower vertebra's factor), so the L2-L3 disc's
    path on the mid-line ray is that of width 1 (version 24 drew 1/width of it: 0.79x at 1.25)."""
    from dataclasses import replace

    cam, scene = _small_ap_scene()
    pose = scene.pose
    monkeypatch.setattr(ap_soft_tissue, "AP_DISC_MU", 0.002)
    cu, cl = pose.corners["L2"], pose.corners["L3"]
    m = (cu["inferior.anterior"] + cu["inferior.posterior"] + cl["superior.anterior"] + cl["superior.posterior"]) / 4

    def mid_path(widths: dict[str, float]) -> tuple[float, int]:
        """(mean path over 3 x 3 px at the disc's centre, disc pixels on that row)."""
        p = replace(pose, widths=widths)
        L = np.zeros((cam.height, cam.width), np.float32)
        ap_soft_tissue._ap_discs(L, cam, p, scene.anatomy, 0.5)
        col, row = cam.project(p.apply_coronal("L2", np.array([[m[0], 0.0, m[1]]])))[0]
        r, k = int(round(row)), int(round(col))
        return float(L[r - 1 : r + 2, k - 1 : k + 2].mean()), int((L[r] > 0.05 * L[r, k]).sum())

    base, across = mid_path({})
    assert base > 0.0
    for f in (1.1, 1.25):
        wide, wide_across = mid_path({"L2": f, "L3": f})
        assert wide == pytest.approx(base, rel=0.05), (f, base, wide)
        # the points do spread: the disc is wider on the film
        assert wide_across >= (f - 0.05) * across, (f, across, wide_across)
    # unequal factors: the blend, still the width-1 path within the tolerance
    assert mid_path({"L2": 1.3, "L3": 1.1})[0] == pytest.approx(base, rel=0.06)


def test_full_spine_window_clips_a_share_of_scoliosis_films_own_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 24 trial F: a share of the adolescent-scoliosis AP films get a window ending at a lower percentile
    (drawn from ``AP_FULL_SPINE_WINDOW``, seeded by the film's fluence: the same film, the same value), the others and
    every other population and view keep 99.8; off (share 0) no film changes; a lower window top shows more white."""
    from fusionwatch.sim import journey
    from fusionwatch.sim.journey import exam_exposure

    es = [render.Exposure(photons_per_mm2=1.0e7 + 12345.0 * k) for k in range(40)]
    monkeypatch.setattr(journey, "AP_FULL_SPINE_WINDOW", (0.0, 93.0, 98.5))
    assert all(exam_exposure(e, "adolescent-scoliosis", "ap").window_top_pct == 99.8 for e in es)
    monkeypatch.setattr(journey, "AP_FULL_SPINE_WINDOW", (0.4, 93.0, 98.5))
    tops = [exam_exposure(e, "adolescent-scoliosis", "ap").window_top_pct for e in es]
    clipped = [t for t in tops if t != 99.8]
    assert 6 <= len(clipped) <= 26 and all(93.0 <= t <= 98.5 for t in clipped)
    assert tops == [exam_exposure(e, "adolescent-scoliosis", "ap").window_top_pct for e in es]
    assert all(exam_exposure(e, "adult", "ap") == e for e in es)
    assert all(exam_exposure(e, "adolescent-scoliosis", "lateral") == e for e in es)
    # in the console: a lower top saturates more of the film
    cam, scene = _small_ap_scene()
    L = render.line_integrals(scene, cam)[0]
    full = render.expose(L, cam, render.Exposure(), np.random.default_rng(0))
    low = render.expose(L, cam, render.Exposure(window_top_pct=94.0), np.random.default_rng(0))
    top = 0.99 * 4095
    assert np.mean(low > top) > np.mean(full > top) + 0.02


def test_broad_adolescent_waists_own_stream_and_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 24 trial V: with ``AP_ADOLESCENT_BROAD`` > 0 that share of adolescent-scoliosis patients draws a broad
    waist from ``AP_ADOLESCENT_BROAD_MM`` (own stream), the others keep version 23's waist; adults unchanged."""
    assert ap_soft_tissue.AP_ADOLESCENT_BROAD == 0.0  # off in version 24
    monkeypatch.setattr(
        ap_soft_tissue, "AP_ADULT_WAIST_MM", (135.0, 200.0)
    )  # adults drawn too, so the check below can fail
    before = [render.patient_waist(k, "adolescent-scoliosis") for k in range(40)]
    adults_before = [render.patient_waist(k, "adult") for k in range(40)]
    monkeypatch.setattr(ap_soft_tissue, "AP_ADOLESCENT_BROAD", 0.3)
    after = [render.patient_waist(k, "adolescent-scoliosis") for k in range(40)]
    changed = [(b, a) for b, a in zip(before, after, strict=True) if a != b]
    lo, hi = ap_soft_tissue.AP_ADOLESCENT_BROAD_MM
    assert 4 <= len(changed) <= 22 and all(lo <= a <= hi for _, a in changed)
    assert [render.patient_waist(k, "adult") for k in range(40)] == adults_before


def test_flank_fat_stripe_is_a_lucent_band_inside_the_outline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 24 trial S: the narrowed AP soft-tissue map loses path in a band about the drawn depth inside the body
    outline on each side (the properitoneal fat stripe), nothing at the mid-line; off (None) by default."""
    assert ap_soft_tissue.AP_FLANK_FAT_STRIPE is None  # off in version 24
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    scene = render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0, body_half_width_mm=115.0)
    plain = render.narrow_body(scene)
    monkeypatch.setattr(ap_soft_tissue, "AP_FLANK_FAT_STRIPE", ((12.0, 12.0), (2.0, 2.0), (6.0, 6.0)))
    striped = render.narrow_body(scene)
    d = plain - striped
    assert d.min() >= -1e-3  # (float32 rounding of paths of ~300 mm)
    mid = int(round(-an.soft_ap_origin[0] / an.soft_res))
    assert np.abs(d[mid]).max() < 1e-3
    l3 = float(np.mean([v[1] for v in an.corners["L3"].values()]))
    k = int(round((l3 - an.soft_ap_origin[1]) / an.soft_res))
    y = an.soft_ap_origin[0] + np.arange(plain.shape[0]) * an.soft_res
    body = np.flatnonzero(plain[:, k] > 0.1 * plain[:, k].max())
    for side_idx, edge_i in ((0, body[0]), (1, body[-1])):
        j = int(np.argmax(d[:, k] * ((y > 0) == bool(side_idx))))
        depth_mm = abs(y[edge_i] - y[j]) * pose.scale
        assert 6.0 < depth_mm < 20.0, depth_mm
        assert d[j, k] > 3.0


def test_laminae_cover_the_disc_gap_beside_the_mid_line_and_draw_nothing_when_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Version 26 trial P: with ``AP_LAMINA_GAIN`` > 0 the laminae and inferior articular processes add path over the
    L2-L3 disc gap beside the mid-line (where version 25 left only the disc and the spinous tip: the dark gaps
    between bright boxes), far more there than at the middle of the L3 body; only the transverse processes' layer
    changes; off (0), the lamina's stream is not even drawn."""
    cam, scene = _small_ap_scene()
    pose = scene.pose

    def layers() -> np.ndarray:
        out = [np.zeros((cam.height, cam.width), np.float32) for _ in range(4)]
        ap_vertebrae._ap_cortex(out[0], cam, scene, outline=out[1], pedicles=out[2], processes=out[3])
        return np.stack(out)

    def px(b: str, ends: tuple[str, str], y_mm: float = 0.0) -> tuple[int, int]:
        c = pose.corners[b]
        m = np.mean([c[f"{e}.anterior"] + c[f"{e}.posterior"] for e in ends], axis=0) / 2
        col, row = cam.project(pose.apply_coronal(b, np.array([[m[0], y_mm, m[1]]])))[0]
        return int(round(row)), int(round(col))

    monkeypatch.setattr(ap_arch, "AP_LAMINA_GAIN", 0.0)
    monkeypatch.setattr(ap_arch, "AP_FACET_GAIN", 0.0)
    drawn: list[int] = []
    real_default_rng = np.random.default_rng
    monkeypatch.setattr(
        np.random,
        "default_rng",
        lambda s=None: (drawn.append(1) if isinstance(s, list) and s[1:] == [2601] else None) or real_default_rng(s),
    )
    off = layers()
    assert drawn == []
    monkeypatch.setattr(ap_arch, "AP_LAMINA_GAIN", 3.0)
    monkeypatch.setattr(ap_arch, "AP_FACET_GAIN", 1.5)
    on = layers()
    assert drawn == [1]
    added = on[3] - off[3]  # the laminae go to the transverse processes' (soft) layer
    np.testing.assert_array_equal(on[:3], off[:3])
    r_up, _ = px("L2", ("inferior",))
    r_lo, _ = px("L3", ("superior",))
    row = (r_up + r_lo) // 2
    r_body, c_body = px("L3", ("superior", "inferior"))
    for y_mm in (-8.0, 8.0):  # beside the mid-line, between it and the facet column, in the disc gap
        _, c = px("L2", ("inferior",), y_mm)
        gap = float(added[row - 1 : row + 2, c - 1 : c + 2].mean())
        # about 3 mm of AP_ARCH_MU bone x gain 3 x the patient's 0.6-1.4: 0.1-0.5 of path
        assert 0.05 < gap < 0.8, (y_mm, gap)
        assert float(added[r_body, c_body]) < 0.2 * gap


def _layout_centres() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A straight spine at column 200 of a 400 x 500 film: L1 from row 100, five 60-px levels, S1 at row 410."""
    out = {}
    for i, lv in enumerate(("L1", "L2", "L3", "L4", "L5")):
        out[lv] = (np.array([200.0, 100.0 + 60 * i]), np.array([200.0, 145.0 + 60 * i]))
    out["S1"] = (np.array([200.0, 410.0]), np.array([200.0, 410.0]))
    return out


def test_ap_layout_darkens_the_lung_bases_and_brightens_the_iliac_wings() -> None:
    """Version 28: above the recesses beside the spine the field is negative (the left lung, image right, more than
    the right one over the liver), beside the sacrum it is positive, and on the spine at L3 it is zero."""
    draws = (0.3, 0.0, 0.05, 0.25)
    f = render.ap_layout(_layout_centres(), (500, 400), 0.5, draws)  # 0.5 mm per px: 40 px = 20 mm
    assert f is not None and f.shape == (500, 400) and f.dtype == np.float32
    assert f[20, 380] == pytest.approx(-0.3, abs=1e-6)  # 90 mm right of the spine, far above L1
    assert f[20, 20] == pytest.approx(-0.3 * ap_brightness.AP_LUNG_RIGHT, abs=1e-6)
    assert f[20, 200] == 0.0 and f[250, 200] == 0.0 and f[250, 380] == 0.0  # mid-line; L3 level beside the spine
    assert f[480, 20] == pytest.approx(0.25, abs=1e-6) and f[480, 380] == pytest.approx(0.25, abs=1e-6)
    assert f[480, 200] == 0.0
    assert render.ap_layout(_layout_centres(), (500, 400), 0.5, (0.0, 0.0, 0.05, 0.0)) is None


def test_ap_layout_is_drawn_per_patient_and_off_gives_the_pixels_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout draws come from the patient's own stream (the same for each of its films, whatever the film's
    noise seed); switched off (both strengths 0) an AP film has exactly the pixels of the same film rendered without
    any layout field (``film._ap_layout`` giving None: the version-27 code path), switched on it differs. (Up to
    version 29 this compared with hashes of version-27 films; version 30 changed every AP film's bones.)"""
    from fusionwatch.sim import film, random_film

    assert render.patient_layout(7) == render.patient_layout(7) != render.patient_layout(8)
    lung, rec_r, rec_l, iliac = render.patient_layout(7)
    assert (
        ap_brightness.AP_LUNG[0] <= lung <= ap_brightness.AP_LUNG[1]
        and ap_brightness.AP_ILIAC[0] <= iliac <= ap_brightness.AP_ILIAC[1]
    )
    assert ap_brightness.AP_LUNG_RECESS[0] <= rec_r <= ap_brightness.AP_LUNG_RECESS[1]
    seeds = (31, 32)
    on = {s: random_film(s, size=(240, 300), view="ap").pixels for s in seeds}
    with monkeypatch.context() as m:
        m.setattr(film, "_ap_layout", lambda *a, **k: None)
        without = {s: random_film(s, size=(240, 300), view="ap").pixels for s in seeds}
    monkeypatch.setattr(ap_brightness, "AP_LUNG", (0.0, 0.0))
    monkeypatch.setattr(ap_brightness, "AP_ILIAC", (0.0, 0.0))
    for s in seeds:
        off = random_film(s, size=(240, 300), view="ap").pixels
        assert np.array_equal(off, without[s])
        assert not np.array_equal(off, on[s])


def test_laminae_keep_their_path_on_widened_vertebrae(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 29: the laminae and facets are splatted points that ``posed`` spreads sideways by the coronal width
    factor, so their weights carry ``Pose.width_weight`` as the bodies' and the discs' do: with every lumbar width 1.2
    the lamina layer's 90th-percentile path stays within 5 % of width 1 and its total weight grows by 1.2. Version 28
    drew them 1/width fainter (p90 path x0.845, total x1.000)."""
    from dataclasses import replace

    an = patient_anatomy(0)
    cam = _camera(FilmSpec(view=View.AP, width=300, height=375), pose_spine(an, SpineParams()), an)

    def lamina_layer(params: SpineParams) -> np.ndarray:
        scene = render.Scene(an, pose_spine(an, params), {}, [], [], None, Healing(), "none", 0)
        out = []
        for gain in (0.0, 4.0):
            monkeypatch.setattr(ap_arch, "AP_LAMINA_GAIN", gain)
            monkeypatch.setattr(ap_arch, "AP_FACET_GAIN", gain / 2)
            layers = [np.zeros((cam.height, cam.width), np.float32) for _ in range(4)]
            ap_vertebrae._ap_cortex(layers[0], cam, scene, outline=layers[1], pedicles=layers[2], processes=layers[3])
            out.append(layers[3])
        return out[1] - out[0]

    def p90(d: np.ndarray) -> float:
        return float(np.percentile(d[d > 0.02 * d.max()], 90))

    ref = lamina_layer(SpineParams())
    wide = lamina_layer(replace(SpineParams(), coronal_widths=(1.2,) * 5))
    assert p90(wide) == pytest.approx(p90(ref), rel=0.05)
    assert wide.sum() == pytest.approx(1.2 * ref.sum(), rel=0.02)


def test_render_package_does_not_re_export_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sim/render/`` is one module per job; a setting lives only in the module that draws with it (a copy in the
    package would be stale: assigning it there would change nothing the renderer reads). Patched in its module, it
    takes effect through the package's functions."""
    assert not any(name.startswith("AP_") for name in vars(render)), "settings are patched in their own module"
    monkeypatch.setattr(ap_brightness, "AP_FLANK", (0.2, 0.2))
    assert render.patient_flank(3) == pytest.approx(0.2)
    monkeypatch.setattr(ap_soft_tissue, "AP_ADULT_WAIST_MM", (150.0, 150.0))
    assert render.patient_waist(3, "adult") == 150.0
    assert render.MU is attenuation.MU
