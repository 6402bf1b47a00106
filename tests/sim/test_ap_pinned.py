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
PINNED_VERSION = "39"

# sha256 of random_film(seed, size=SIZE, view="ap").pixels.tobytes() (uint16, 300 x 240), SIM_VERSION 39 (version 39
# changed the pedicles of every AP film, adult and adolescent, on purpose: docs/simulator.md "Version 39"; with
# ``ap_vertebrae.AP_PEDICLE_V39`` off the films are version 38's, AP_PIXELS_V38 below).
AP_PIXELS = {
    31: "7861217472e168133d06c6d7cf9c22ae491306254b3cc13c2a4289a16db32fef",
    32: "096e84fa4aee1f0e4bd689889f46cf5362f528cbee0b9c8165ae534d3c408a4f",
}

# sha256 of the same films by the version-38 simulator (the hashes this file held for version 38; version 38 changed
# only the AP films of thin, adolescent-scoliosis bodies: these adult films keep version 37's pixels, checked on
# purpose; tests/sim/test_abdomen.py TestThinBodyShoulder pins an adolescent film). SIM_VERSION 37 (version
# 36's look on AP films with metal switched off again: version 35's pixels, docs/simulator.md "Version 37"; seed 31
# has implants, seed 32 has none; version 36's hash of seed 31: AP_PIXELS_V36 below; version 35's: AP_PIXELS_V35
# (the same as these); version 34's: AP_PIXELS_V34; version 33's: tests/sim/test_abdomen.py V33_AP)
AP_PIXELS_V38 = {
    31: "8ca18d380e43726b765734463699283ada923b8ec4af3697b6ea543149abed41",
    32: "314041164ef95745e6dc2337c618d7794e3b2c85693e7d685f8a1a165b3cf026",
}


@pytest.mark.parametrize("seed", sorted(AP_PIXELS))
def test_ap_film_pixels_are_pinned_to_the_simulator_version(seed: int) -> None:
    assert SIM_VERSION == PINNED_VERSION, "a new simulator version: recompute the AP hashes on purpose"
    film = random_film(seed, size=SIZE, view="ap")
    assert film.pixels.shape == (SIZE[1], SIZE[0])
    assert hashlib.sha256(film.pixels.tobytes()).hexdigest() == AP_PIXELS[seed]


@pytest.fixture
def pedicles_v38(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 39's pedicles off (``ap_vertebrae.AP_PEDICLE_V39``): the older versions' hashes below were made with
    version 38's pedicle rings."""
    from fusionwatch.sim.render import ap_vertebrae

    monkeypatch.setattr(ap_vertebrae, "AP_PEDICLE_V39", False)


@pytest.mark.parametrize("seed", sorted(AP_PIXELS_V38))
def test_pedicles_v39_off_give_the_version_38_pixels(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 39 changed only the pedicles (``ap_vertebrae.AP_PEDICLE_V39``, its own random stream): switched off,
    the films are version 38's to the bit; on (shipped), every film differs, with and without implants."""
    from fusionwatch.sim.render import ap_vertebrae

    on = random_film(seed, size=SIZE, view="ap").pixels
    monkeypatch.setattr(ap_vertebrae, "AP_PEDICLE_V39", False)
    off = random_film(seed, size=SIZE, view="ap").pixels
    assert hashlib.sha256(off.tobytes()).hexdigest() == AP_PIXELS_V38[seed]
    assert not np.array_equal(on, off)


# sha256 of the same films by the version-32 simulator (the hashes this file held for version 32)
AP_PIXELS_V32 = {
    31: "8726ab3b6ce27f0952d129318ce8ed1e6b059e5776ff810ccc97b9422226a4db",
    32: "159c18bfa5afa81a9cf73d04da49b9731fbb32851c9144d92fdf7a4c615993ac",
}


@pytest.mark.usefixtures("pedicles_v38")
@pytest.mark.parametrize("seed", sorted(AP_PIXELS_V32))
def test_point_volumes_off_give_the_version_32_pixels(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 33 changed only the AP points' weights (the bone warps' and the coronal wedges' volume): with
    ``ap_bones.AP_POINT_VOLUMES`` off (and version 34's gas settings as version 32 had them) the films are version
    32's to the bit, with it on they differ."""
    from fusionwatch.sim import abdomen, variation
    from fusionwatch.sim.render import ap_bones, exposure

    monkeypatch.setattr(exposure, "AP_RIM", None)  # version 35's console look off
    monkeypatch.setattr(exposure, "AP_GRAIN", None)
    for mod, name, value in (  # version 34's gas settings as versions 32-33 had them (tests/sim/test_abdomen.py)
        (abdomen, "AP_GAS_AMOUNT", None),
        (abdomen, "AP_GAS_LOOP_MOTTLE", 0.12),
        (abdomen, "AP_GAS_LOOP_FILL", (0.7, 0.95)),
        (variation, "AP_FLANK_MOTTLE", 0.8),
        (variation, "AP_GAS_MASS_COUNT", (0.3, 0.45, 0.25)),
    ):
        monkeypatch.setattr(mod, name, value)
    variation.patient_anatomy.cache_clear()  # the gas is part of the cached patient anatomy
    try:
        on = random_film(seed, size=SIZE, view="ap").pixels
        monkeypatch.setattr(ap_bones, "AP_POINT_VOLUMES", False)
        off = random_film(seed, size=SIZE, view="ap").pixels
    finally:
        variation.patient_anatomy.cache_clear()
    assert hashlib.sha256(off.tobytes()).hexdigest() == AP_PIXELS_V32[seed]
    assert not np.array_equal(on, off)


# sha256 of the same films by the version-34 simulator (the hashes this file held for version 34)
AP_PIXELS_V34 = {
    31: "8ca18d380e43726b765734463699283ada923b8ec4af3697b6ea543149abed41",
    32: "d6e33904195acaefbd6d8ca0383604dc5dd1c583b9685ac7234e7352472b7af9",
}


@pytest.mark.usefixtures("pedicles_v38")
@pytest.mark.parametrize("seed", sorted(AP_PIXELS_V34))
def test_console_look_off_gives_the_version_34_pixels(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 35 changed only the console of AP films without metal (``exposure.AP_RIM``, ``AP_GRAIN``): with both
    off the films are version 34's to the bit; on, the film without implants (seed 32) differs and the one with
    implants (seed 31) keeps its pixels (version 36 gives it the look too: compared with it switched off,
    ``AP_LOOK_WITH_METAL``)."""
    from fusionwatch.sim.render import exposure

    monkeypatch.setattr(exposure, "AP_LOOK_WITH_METAL", False)  # version 36's look on films with metal off
    film = random_film(seed, size=SIZE, view="ap")
    monkeypatch.setattr(exposure, "AP_RIM", None)
    monkeypatch.setattr(exposure, "AP_GRAIN", None)
    off = random_film(seed, size=SIZE, view="ap").pixels
    assert hashlib.sha256(off.tobytes()).hexdigest() == AP_PIXELS_V34[seed]
    assert np.array_equal(film.pixels, off) == ("implants" in film.truth)


# sha256 of the same films by the version-35 simulator (the hashes this file held for version 35)
AP_PIXELS_V35 = {
    31: "8ca18d380e43726b765734463699283ada923b8ec4af3697b6ea543149abed41",
    32: "314041164ef95745e6dc2337c618d7794e3b2c85693e7d685f8a1a165b3cf026",
}


# sha256 of the film with implants by the version-36 simulator (``exposure.AP_LOOK_WITH_METAL`` on)
AP_PIXELS_V36 = {31: "52ea636b1543ac2759e1f06e3b29e5af3e093ca3b66ee57814020a88607fbaf6"}


@pytest.mark.usefixtures("pedicles_v38")
@pytest.mark.parametrize("seed", sorted(AP_PIXELS_V35))
def test_look_without_metal_only_gives_the_version_35_pixels(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 37 switched version 36's look on AP films with segmented metal off (``exposure.AP_LOOK_WITH_METAL``):
    by default the films are version 35's to the bit; switched on, the film with implants (seed 31) is version 36's
    and the one without (seed 32) keeps its pixels."""
    from fusionwatch.sim.render import exposure

    off = random_film(seed, size=SIZE, view="ap")
    assert hashlib.sha256(off.pixels.tobytes()).hexdigest() == AP_PIXELS_V35[seed]
    monkeypatch.setattr(exposure, "AP_LOOK_WITH_METAL", True)
    on = random_film(seed, size=SIZE, view="ap").pixels
    assert np.array_equal(on, off.pixels) != ("implants" in off.truth)
    if seed in AP_PIXELS_V36:
        assert hashlib.sha256(on.tobytes()).hexdigest() == AP_PIXELS_V36[seed]
