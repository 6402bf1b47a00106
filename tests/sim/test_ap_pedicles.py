"""Tests for the pedicles of AP films (sim/render/ap_vertebrae.py; version 39: medial and lateral walls brightest, a
cancellous inside, per-level shape, place and visibility, the axial rotation's narrowing and fading)."""

from __future__ import annotations

import numpy as np
import pytest

from fusionwatch.radiograph import View
from fusionwatch.sim import FilmSpec, SpineParams
from fusionwatch.sim.film import _camera
from fusionwatch.sim.pose import pose_spine
from fusionwatch.sim.render import ap_vertebrae
from fusionwatch.sim.variation import patient_anatomy

# a tube along the AP ray (x), 13 mm long, beside the mid-plane: a pedicle seen end-on
A3, B3 = np.array([30.0, 20.0, 0.0]), np.array([17.0, 20.0, 0.0])
EY, EZ = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
HALF_Y, HALF_Z, WALL = 5.0, 7.5, 2.0


def _ring(**kw) -> tuple[np.ndarray, tuple[int, int], float]:
    """One pedicle tube on an 800 x 1000 px AP film of patient 0 (about 0.4 mm per pixel at the patient): (path image,
    (row, col) of the tube's axis, pixels per mm at the patient)."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams())
    cam = _camera(FilmSpec(view=View.AP, width=800, height=1000), pose, an)
    L = np.zeros((cam.height, cam.width), np.float32)
    ap_vertebrae._tube_v13(L, cam, A3, B3, EY, EZ, HALF_Y, HALF_Z, WALL, 0.25, **kw)
    c = cam.project(((A3 + B3) / 2)[None])[0]
    return L, (int(round(c[1])), int(round(c[0]))), cam.mag_at(cam.depth(((A3 + B3) / 2)[None]))[0] / cam.pixel_mm


def _profiles(L: np.ndarray, rc: tuple[int, int], px_mm: float) -> tuple[float, float, float]:
    """(brightest point of the wall across the axis (left-right), brightest along it (up-down), the centre's mean)."""
    r, c = rc
    reach = int(round((max(HALF_Y, HALF_Z) + 2.0) * px_mm))
    across = L[r - 1 : r + 2, c - reach : c + reach + 1].mean(axis=0)
    along = L[r - reach : r + reach + 1, c - 1 : c + 2].mean(axis=1)
    centre = float(L[r - 2 : r + 3, c - 2 : c + 3].mean())
    return float(across.max()), float(along.max()), centre


class TestTubeV39:
    """Tests for ``_tube_v13(sides=, core=)`` (version 39)."""

    def test_defaults_draw_the_version_38_ring(self) -> None:
        """``sides=1, core=0`` is the version-13 ring to the bit (the switch-off path draws nothing new)."""
        a, _, _ = _ring()
        b, _, _ = _ring(sides=1.0, core=0.0)
        np.testing.assert_array_equal(a, b)

    def test_sides_fade_the_top_and_bottom_walls(self) -> None:
        """With ``sides`` 0.2 the wall above and below the axis is well under the medial and lateral walls (an even
        ring has them alike); the medial and lateral walls keep their brightness."""
        even, rc, px_mm = _ring()
        faded, _, _ = _ring(sides=0.2)
        lat_e, top_e, _ = _profiles(even, rc, px_mm)
        lat_f, top_f, _ = _profiles(faded, rc, px_mm)
        assert top_e / lat_e > 0.7
        assert top_f / lat_f < 0.45
        assert lat_f / lat_e > 0.85

    def test_core_fills_the_inside(self) -> None:
        """Without a core the inside of the oval is empty (a dark centre); with ``core`` c its path is about c x the
        wall's, and the wall outside it is unchanged."""
        empty, rc, px_mm = _ring()
        filled, _, _ = _ring(core=0.3)
        lat0, _, centre0 = _profiles(empty, rc, px_mm)
        lat1, _, centre1 = _profiles(filled, rc, px_mm)
        assert centre0 < 0.02 * lat0
        assert centre1 / lat0 == pytest.approx(0.3, rel=0.3)
        r, c = rc
        far = int(round((HALF_Y + 1.5) * px_mm))
        assert filled[r, c + far + 2 :].sum() == pytest.approx(empty[r, c + far + 2 :].sum(), rel=1e-4)


def test_axial_deg_reads_the_vertebra_rotation() -> None:
    """``_axial_deg`` gives each vertebra's axial rotation (0 without one); a positive angle turns the body's front
    (+x) toward +y, the side whose pedicle the version-39 rule narrows (the convex side)."""
    an = patient_anatomy(0)
    pose = pose_spine(an, SpineParams(axial_rotations_deg=(0.0, 0.0, 10.0, -6.0, 0.0)))
    got = [ap_vertebrae._axial_deg(pose, b) for b in ("L1", "L2", "L3", "L4", "L5")]
    assert got == pytest.approx([0.0, 0.0, 10.0, -6.0, 0.0], abs=0.3)
    R = pose.axial["L3"][0]
    assert (R @ np.array([1.0, 0.0, 0.0]))[1] > 0.15


def test_level_settings_make_l5_faint_and_flat() -> None:
    """The per-level settings say what the docstrings promise: L1-L3 ovals upright, L5 wider than tall; L5 the
    faintest and further out than L1-L3."""
    asp = ap_vertebrae.AP_PEDICLE_ASPECT_V39
    assert min(asp[:3]) > 1.3 and asp[4] < 1.0
    gain = ap_vertebrae.AP_PEDICLE_LEVEL_GAIN
    assert gain[4] == min(gain) and gain[4] < 0.6 * gain[0]
    lat = ap_vertebrae.AP_PEDICLE_LATERAL
    assert lat[4] == max(lat) and lat[4] > lat[0]
    lo, hi = ap_vertebrae.AP_PEDICLE_SIDES
    assert 0.0 < lo < hi < 1.0


@pytest.mark.parametrize("seed", [31, 32])
def test_switch_is_on_and_off_gives_other_pixels(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 39: the pedicles are on (the films are the pinned ones of tests/sim/test_ap_pinned.py); switched off
    every AP film's pixels differ (version 38's), with implants (seed 31) and without (seed 32), and no truth."""
    from fusionwatch.sim import random_film

    assert ap_vertebrae.AP_PEDICLE_V39 is True
    on = random_film(seed, size=(240, 300), view="ap")
    monkeypatch.setattr(ap_vertebrae, "AP_PEDICLE_V39", False)
    off = random_film(seed, size=(240, 300), view="ap")
    assert not np.array_equal(on.pixels, off.pixels)
    assert on.truth == off.truth
