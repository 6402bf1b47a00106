"""Pins the pixels of two small AP films to the current simulator version.

Every AP version since 25 changes AP pixels on purpose (each is checked against the detector, implant and view
checks, docs/simulator.md "Version N"); an AP change made without that is what this test catches. The lateral films
and every truth are pinned separately (test_lateral_pinned.py). When a new simulator version changes AP films on
purpose, recompute these hashes with the calls below and name the version here and in the entry.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fusionwatch.sim import random_film
from fusionwatch.sim.journey import SIM_VERSION

SIZE = (240, 300)
PINNED_VERSION = "33"

# sha256 of random_film(seed, size=SIZE, view="ap").pixels.tobytes() (uint16, 300 x 240), SIM_VERSION 33 (the bone
# warps' and the coronal wedges' volume on the AP points; recomputed on purpose, docs/simulator.md "Version 33")
AP_PIXELS = {
    31: "62e12a093a90bd4925c5b07506db80f3f9f5257ad5197eca8797aefa15f7b744",
    32: "6be887e2e6399b3bcf9dbbf0088bd49b54ab30e52e2c2295f1f6890cd6cee665",
}


@pytest.mark.parametrize("seed", sorted(AP_PIXELS))
def test_ap_film_pixels_are_pinned_to_the_simulator_version(seed: int) -> None:
    assert SIM_VERSION == PINNED_VERSION, "a new simulator version: recompute the AP hashes on purpose"
    film = random_film(seed, size=SIZE, view="ap")
    assert film.pixels.shape == (SIZE[1], SIZE[0])
    assert hashlib.sha256(film.pixels.tobytes()).hexdigest() == AP_PIXELS[seed]


# sha256 of the same films by the version-32 simulator (the hashes this file held for version 32)
AP_PIXELS_V32 = {
    31: "8726ab3b6ce27f0952d129318ce8ed1e6b059e5776ff810ccc97b9422226a4db",
    32: "159c18bfa5afa81a9cf73d04da49b9731fbb32851c9144d92fdf7a4c615993ac",
}


@pytest.mark.parametrize("seed", sorted(AP_PIXELS_V32))
def test_point_volumes_off_give_the_version_32_pixels(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 33 changed only the AP points' weights (the bone warps' and the coronal wedges' volume): with
    ``ap_bones.AP_POINT_VOLUMES`` off the films are version 32's to the bit, with it on they differ."""
    from fusionwatch.sim.render import ap_bones

    on = random_film(seed, size=SIZE, view="ap").pixels
    monkeypatch.setattr(ap_bones, "AP_POINT_VOLUMES", False)
    off = random_film(seed, size=SIZE, view="ap").pixels
    assert hashlib.sha256(off.tobytes()).hexdigest() == AP_PIXELS_V32[seed]
    assert not np.array_equal(on, off)
