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
