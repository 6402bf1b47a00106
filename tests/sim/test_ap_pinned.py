"""Pins the pixels of two small AP films to the current simulator version.

Every AP version since 25 changes AP pixels on purpose (each is checked against the detector, implant and view
checks, docs/simulator.md "Version N"); an AP change made without that is what this test catches. The lateral films
and every truth are pinned separately (test_lateral_pinned.py). When a new simulator version changes AP films on
purpose, recompute these hashes with the calls below and name the version here and in the entry.
"""

from __future__ import annotations

import hashlib

import pytest

from fusionwatch.sim import random_film
from fusionwatch.sim.journey import SIM_VERSION

SIZE = (240, 300)
PINNED_VERSION = "32"

# sha256 of random_film(seed, size=SIZE, view="ap").pixels.tobytes() (uint16, 300 x 240), SIM_VERSION 32
AP_PIXELS = {
    31: "8726ab3b6ce27f0952d129318ce8ed1e6b059e5776ff810ccc97b9422226a4db",
    32: "159c18bfa5afa81a9cf73d04da49b9731fbb32851c9144d92fdf7a4c615993ac",
}


@pytest.mark.parametrize("seed", sorted(AP_PIXELS))
def test_ap_film_pixels_are_pinned_to_the_simulator_version(seed: int) -> None:
    assert SIM_VERSION == PINNED_VERSION, "a new simulator version: recompute the AP hashes on purpose"
    film = random_film(seed, size=SIZE, view="ap")
    assert film.pixels.shape == (SIZE[1], SIZE[0])
    assert hashlib.sha256(film.pixels.tobytes()).hexdigest() == AP_PIXELS[seed]
