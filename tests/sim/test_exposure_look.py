"""Version 35: the processed-film look of AP films without metal, version 36 with metal too
(``render.exposure._processed_look``): the console's dark rim beside bright bone (``AP_RIM``) and the display grain
(``AP_GRAIN``), drawn from their own stream; the metal is left out of it (``AP_LOOK_WITH_METAL``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fusionwatch.sim.camera import Camera
from fusionwatch.sim.render import exposure
from fusionwatch.sim.render.exposure import Exposure, expose


def _film(metal: bool = False) -> tuple[np.ndarray, Camera, np.ndarray | None]:
    """A 300 x 400 px AP film (0.45 mm pixels; exposed with little quantum noise): 20 cm of water with a bright
    60 px bone column in the middle; with ``metal`` a titanium rod's path along the column."""
    cam = Camera("ap", 300, 400, 0.45, 1000.0, 900.0, (0.0, 0.0))
    L = np.full((400, 300), 4.0, np.float32)
    L[40:360, 120:180] += 1.5
    L = cv2.GaussianBlur(L, (0, 0), 1.5)
    mp = None
    if metal:
        mp = np.zeros_like(L)
        mp[60:340, 145:155] = 2.0
    return L, cam, mp


def _expose(monkeypatch: pytest.MonkeyPatch, rim, grain, metal: bool = False, seed: int = 3):
    monkeypatch.setattr(exposure, "AP_RIM", rim)
    monkeypatch.setattr(exposure, "AP_GRAIN", grain)
    L, cam, mp = _film(metal)
    rng = np.random.default_rng(seed)
    out = expose(L, cam, Exposure(photons_per_mm2=1e9), rng, mp).astype(np.float64) / 4095.0
    return out, rng.random()


def test_the_look_draws_nothing_from_the_films_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The film's own stream ends in the same state with the look on or off (its draws come from a spawned stream):
    every draw of version 34 (the fall-off, the look-up-table bend) is unchanged."""
    _, after_off = _expose(monkeypatch, None, None)
    on, after_on = _expose(monkeypatch, (0.1, 0.3), (0.003, 0.008))
    assert after_on == after_off
    off, _ = _expose(monkeypatch, None, None)
    assert not np.array_equal(on, off)


def test_films_with_metal_take_the_look_outside_the_metal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 36: films with segmented metal take the look too (``AP_LOOK_WITH_METAL``): their pixels change
    beside the metal, the film's stream ends as without it, and with the switch off they keep the version-34
    console (version 35's pixels, the default since version 37)."""
    monkeypatch.setattr(exposure, "AP_LOOK_WITH_METAL", True)
    off, after_off = _expose(monkeypatch, None, None, metal=True)
    on, after_on = _expose(monkeypatch, (0.1, 0.3), (0.003, 0.008), metal=True)
    assert after_on == after_off
    assert not np.array_equal(on, off)
    assert np.abs(on - off)[60:340, 40:100].mean() > 1e-3  # the soft tissue beside the column
    monkeypatch.setattr(exposure, "AP_LOOK_WITH_METAL", False)
    v35, _ = _expose(monkeypatch, (0.1, 0.3), (0.003, 0.008), metal=True)
    assert np.array_equal(v35, off)


def test_the_metal_casts_no_dark_ring(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the processed log image, the rim left out of the metal: the bone 1-3 mm beside a rod keeps its level
    (within 0.01 of the log path) and the rod its values; the same unsharp mask run over the metal (no segmentation
    given) digs a ring below the bone 0.05 deep or more, which the halo check would read as loosening."""
    monkeypatch.setattr(exposure, "AP_RIM", (0.3, 0.3))
    monkeypatch.setattr(exposure, "AP_GRAIN", None)
    L, cam, mp = _film(metal=True)
    assert mp is not None
    L = L + mp
    metal = cv2.dilate((mp > exposure.METAL_MIN_PATH).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    win = (slice(0, 400, 4), slice(0, 300, 4))
    aware, naive = L.copy(), L.copy()
    exposure._processed_look(aware, L, cam, np.random.default_rng(0), win, None, metal)
    exposure._processed_look(naive, L, cam, np.random.default_rng(0), win, None)
    beside = np.r_[138:141, 159:162]  # 1-3 mm beside the 10 px rod (cols 145-154, dilated 143-156)
    level = L[100:300][:, beside].mean()
    assert aware[100:300][:, beside].mean() == pytest.approx(level, abs=0.01)
    assert naive[100:300][:, beside].min() < level - 0.05
    assert np.array_equal(aware[metal], L[metal])


def test_grain_roughens_the_soft_tissue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The grain raises the fine grey variation (the image minus its 1 px blur) of the soft tissue beside the column
    at least 1.5-fold (the version-34 console leaves only the physical quantum noise there)."""

    def fine(img: np.ndarray) -> float:
        d = img - cv2.GaussianBlur(img, (0, 0), 1.0)
        return float(d[60:340, 40:100].std())

    off, _ = _expose(monkeypatch, None, None)
    on, _ = _expose(monkeypatch, None, (0.006, 0.008))
    assert fine(on) > 1.5 * fine(off)


def test_the_rim_darkens_the_soft_tissue_beside_bright_bone(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the processed log image, the unsharp mask leaves a dark rim in the soft tissue 0.5-3 mm beside a bright
    column (below the soft tissue's level far from it, which it keeps) and steepens the edge."""
    monkeypatch.setattr(exposure, "AP_RIM", (0.3, 0.3))
    monkeypatch.setattr(exposure, "AP_GRAIN", None)
    L, cam, _ = _film()
    q = L.copy()
    exposure._processed_look(q, L, cam, np.random.default_rng(0), (slice(0, 400, 4), slice(0, 300, 4)), None)
    before, after = L[80:320].mean(0), q[80:320].mean(0)
    assert after[40:80].mean() == pytest.approx(before[40:80].mean(), abs=1e-4)  # far from the column: as it was
    assert after[114:119].min() < before[40:80].mean() - 0.05  # the rim, below the far soft tissue
    assert np.diff(after[115:125]).max() > 1.1 * np.diff(before[115:125]).max()
