"""Tests for sim/render.py internals that the film-level tests cannot see through the quantum noise."""

from __future__ import annotations

import numpy as np
import pytest

from fusionwatch.radiograph import View
from fusionwatch.sim import FilmSpec, Healing, SpineParams, render
from fusionwatch.sim.film import _camera
from fusionwatch.sim.pose import pose_spine
from fusionwatch.sim.variation import patient_anatomy


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

    def grain_images(passes: int) -> list[np.ndarray]:
        monkeypatch.setattr(render, "AP_PELVIS_CORTEX_PASSES", passes)
        out = []
        for seed in (0, 1):
            L = np.zeros((cam.height, cam.width), np.float32)
            render._ap_bones(L, cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", seed))
            out.append(L[row:])
        return out

    passes = render.AP_PELVIS_CORTEX_PASSES
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
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    cam = _camera(FilmSpec(view=View.AP, width=300, height=375), pose, an)
    scene = render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0)
    single = np.zeros((cam.height, cam.width), np.float32)
    render._ap_cortex(single, cam, scene)
    rest, outline, pedicles = (np.zeros_like(single) for _ in range(3))
    render._ap_cortex(rest, cam, scene, outline=outline, pedicles=pedicles)
    np.testing.assert_allclose(rest + outline + pedicles, single, atol=1e-4 * float(single.max()))
    for layer in (outline, pedicles):
        assert 0.05 * single.sum() < layer.sum() < 0.8 * single.sum()
    assert min(render.AP_OUTLINE_BLUR_MM, render.AP_PEDICLE_BLUR_MM) > render.AP_CORTEX_BLUR_MM


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
        render._ap_bones(L, cam, render.Scene(an, pose, {}, [], [], None, Healing(), "none", 0))
        return L[row - 1 : row + 2].mean(axis=0)

    new = profile()
    monkeypatch.setattr(render, "AP_VERTEBRA_CORTEX_FACTOR", 1.0)
    monkeypatch.setattr(render, "AP_VERTEBRA_TRABECULAR_FACTOR", 1.0)
    old = profile()
    w = max(2, (x_r - x_l) // 10)

    def side_over_centre(p: np.ndarray) -> float:
        sides = max(p[x_l - w : x_l + 2 * w].max(), p[x_r - 2 * w : x_r + w].max())
        return float(sides / p[x_c - w : x_c + w].mean())

    assert side_over_centre(new) < 0.95 * side_over_centre(old), (side_over_centre(new), side_over_centre(old))
    assert new[x_c - w : x_c + w].mean() > old[x_c - w : x_c + w].mean()
