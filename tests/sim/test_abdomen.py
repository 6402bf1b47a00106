"""Tests for sim/abdomen.py (AP films: gas-distended bowel loops; version 34: the patient's amount of small gas)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from fusionwatch.sim import abdomen, variation
from fusionwatch.sim.render import ap_bones

PEDICLES_V39 = "fusionwatch.sim.render.ap_vertebrae.AP_PEDICLE_V39"
"""Engineer B's switch of version 39's AP pedicles (False: version 38's, which these hashes were made with)."""

V31_AP = {
    # sha256 of random_film(seed, size=(240, 300), view="ap", population=...).pixels with the version-31 simulator
    # (an export of main 1c38c1a, SIM_VERSION 31), 2026-11-25
    (31, "adult"): "8ef0298c4a17cb90b6dbac594f3820eaafcd05243976a8754b86feaff9aa1264",
    (32, "adult"): "e6eaf19cec87abb41e14d70bf895e6774d73972294b891d797de88164e1470b1",
    (33, "adolescent-scoliosis"): "ba66ef99d981f1e79f02bbb1c55a98b4ccf8dbc3ca3ddf58630313c80c263c6f",
}
V33_AP = {
    # sha256 of random_film(seed, size=(240, 300), view="ap").pixels with the version-33 simulator (main d543a6b,
    # SIM_VERSION 33; the hashes tests/sim/test_ap_pinned.py held for version 33), 2026-11-25
    31: "62e12a093a90bd4925c5b07506db80f3f9f5257ad5197eca8797aefa15f7b744",
    32: "6be887e2e6399b3bcf9dbbf0088bd49b54ab30e52e2c2295f1f6890cd6cee665",
}
GAS_V33_SETTINGS = {
    # version 34's gas settings as versions 32-33 had them (variation's and abdomen's)
    (abdomen, "AP_GAS_AMOUNT"): None,
    (abdomen, "AP_GAS_LOOP_MOTTLE"): 0.12,
    (abdomen, "AP_GAS_LOOP_FILL"): (0.7, 0.95),
    (variation, "AP_FLANK_MOTTLE"): 0.8,
    (variation, "AP_GAS_MASS_COUNT"): (0.3, 0.45, 0.25),
}


def _grid(fine: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    y = -200.0 + (np.arange(int(400 / fine)) + 0.5) * fine
    z = -100.0 + (np.arange(int(400 / fine)) + 0.5) * fine
    return np.meshgrid(y, z, indexing="ij")


class TestGasLoops:
    """Tests for gas_loops()."""

    def test_one_loop_is_a_dark_sharp_walled_tube(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Exactly one loop: a gas path of tens of mm (a colon 36-64 mm across, 70-95 % gas), non-negative, covering
        at least 10 cm^2, (almost) nothing within ``AP_GAS_LOOP_SPINE_MM[0]`` of the mid-line (only the 0.5 mm wall
        blur), with walls steeper than 5 mm of path per mm (the version-18 flank gas, blurred 3 mm, rises at most
        ~45 / (3 sqrt(2 pi)) = 6 mm/mm, and only at its very largest)."""
        monkeypatch.setattr(abdomen, "AP_GAS_LOOPS", (0.0, 1.0, 0.0, 0.0))
        Y, Z = _grid()
        for seed in range(4):
            out = abdomen.gas_loops(Y, Z, 1.0, np.random.default_rng([seed, 3001]))
            assert out.min() >= 0.0
            assert out.max() > 20.0
            assert (out > 5.0).sum() > 1000  # mm^2 at 1 mm cells
            assert out[np.abs(Y) < abdomen.AP_GAS_LOOP_SPINE_MM[0]].max() < 0.5
            gy, gz = np.gradient(out)
            assert float(np.percentile(np.hypot(gy, gz)[out > 1.0], 99)) > 5.0

    def test_off_draws_nothing(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Switched off (None) the loops add no path and draw nothing from the stream."""
        monkeypatch.setattr(abdomen, "AP_GAS_LOOPS", None)
        Y, Z = _grid(2.0)
        rng = np.random.default_rng(5)
        assert not abdomen.gas_loops(Y, Z, 2.0, rng).any()
        assert rng.random() == np.random.default_rng(5).random()


def _processed_look_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The version-35 console look of AP films without metal off (simulator engineer B; render/exposure.py)."""
    from fusionwatch.sim.render import exposure

    monkeypatch.setattr(exposure, "AP_RIM", None)
    monkeypatch.setattr(exposure, "AP_GRAIN", None)


def test_off_gives_version_31_pixels_on_changes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switched off (``AP_GAS_LOOPS = None``, version 34's gas settings as version 32 had them, version 33's point
    volumes off) AP films have exactly their version-31 pixels (hashes from the version-31 simulator); on (the shipped
    setting) they differ."""
    monkeypatch.setattr(PEDICLES_V39, False, raising=False)  # version 39's pedicles off (engineer B)
    from fusionwatch.sim import random_film

    for (mod, name), value in GAS_V33_SETTINGS.items():
        monkeypatch.setattr(mod, name, value)
    _processed_look_off(monkeypatch)
    from fusionwatch.sim.render import ap_soft_tissue  # version 38's thin-body shoulder off (simulator engineer A)

    monkeypatch.setattr(ap_soft_tissue, "AP_THIN_SHOULDER_MM", 0.0)
    monkeypatch.setattr(ap_soft_tissue, "AP_THIN_PSOAS", 1.0)

    def films() -> dict:
        variation.patient_anatomy.cache_clear()  # the gas is part of the cached patient anatomy
        try:
            return {k: random_film(k[0], size=(240, 300), view="ap", population=k[1]).pixels for k in V31_AP}
        finally:
            variation.patient_anatomy.cache_clear()

    on = films()
    monkeypatch.setattr(abdomen, "AP_GAS_LOOPS", None)
    monkeypatch.setattr(ap_bones, "AP_POINT_VOLUMES", False)  # version 33's AP point volumes off (simulator engineer A)
    off = films()
    for k, sha in V31_AP.items():
        assert hashlib.sha256(off[k].tobytes()).hexdigest() == sha
        assert not np.array_equal(off[k], on[k])


class TestGasAmount:
    """Tests for gas_amount() (version 34)."""

    def test_off_is_one(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Switched off (None) every patient's small gas weighs 1 (versions 32-33)."""
        monkeypatch.setattr(abdomen, "AP_GAS_AMOUNT", None)
        assert {abdomen.gas_amount(s) for s in range(20)} == {1.0}

    def test_per_patient_in_range_and_gas_poor_share(self) -> None:
        """The same for a seed every time; in the gas-poor or the other range; gas-poor in about ``p`` of 400
        patients (binomial SD 0.025 at p 0.5: 4 SD)."""
        p, poor, other = abdomen.AP_GAS_AMOUNT
        w = np.array([abdomen.gas_amount(s) for s in range(400)])
        assert [abdomen.gas_amount(s) for s in range(5)] == list(w[:5])
        is_poor = (w >= poor[0]) & (w <= poor[1])
        assert np.all(is_poor | ((w >= other[0]) & (w <= other[1])))
        assert abs(is_poor.mean() - p) < 0.1


def test_gain_weighs_the_small_gas_and_not_the_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 34: ``_ap_gas_v18(..., gain=g)`` is ``g`` x the version-18/23 gas (stool regions, bubbles, flank gas,
    masses) plus the loops unweighed, with the same draws (the loops land in the same place)."""
    bub = np.zeros((300, 400), np.float32)
    bub[140:160, 190:210] = 3.0
    plane, fine = (-150.0, -100.0), 1.0
    for seed in range(3):
        monkeypatch.setattr(abdomen, "AP_GAS_LOOPS", None)
        small1 = variation._ap_gas_v18(bub, plane, fine, np.random.default_rng(seed))
        small = variation._ap_gas_v18(bub, plane, fine, np.random.default_rng(seed), gain=0.3)
        np.testing.assert_allclose(small, 0.3 * small1, rtol=1e-5, atol=1e-5)
        monkeypatch.setattr(abdomen, "AP_GAS_LOOPS", (0.0, 0.0, 0.0, 1.0))
        both1 = variation._ap_gas_v18(bub, plane, fine, np.random.default_rng(seed))
        both = variation._ap_gas_v18(bub, plane, fine, np.random.default_rng(seed), gain=0.3)
        np.testing.assert_allclose(both - small, both1 - small1, rtol=1e-4, atol=1e-3)
        assert float((both - small).max()) > 20.0


def test_off_gives_version_33_pixels_on_changes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 34's gas settings as versions 32-33 had them give exactly the version-33 AP pixels; the shipped ones
    differ."""
    monkeypatch.setattr(PEDICLES_V39, False, raising=False)  # version 39's pedicles off (engineer B)
    from fusionwatch.sim import random_film

    def films() -> dict:
        variation.patient_anatomy.cache_clear()  # the gas is part of the cached patient anatomy
        try:
            return {k: random_film(k, size=(240, 300), view="ap").pixels for k in V33_AP}
        finally:
            variation.patient_anatomy.cache_clear()

    _processed_look_off(monkeypatch)
    on = films()
    for (mod, name), value in GAS_V33_SETTINGS.items():
        monkeypatch.setattr(mod, name, value)
    off = films()
    for k, sha in V33_AP.items():
        assert hashlib.sha256(off[k].tobytes()).hexdigest() == sha
        assert not np.array_equal(off[k], on[k])


# sha256 of random_film(33, size=(240, 300), view="ap", population="adolescent-scoliosis").pixels by the version-35
# simulator (an export of main a0d41c6; versions 36-37 changed only AP films with metal), 2026-11-25
V35_ADOLESCENT_AP_33 = "1d0021325c5440ce6f7020f67c3c081157d2a115bc0ca4666a741e4b4305fbb7"


class TestThinBodyShoulder:
    """Version 38 (sim/render/ap_soft_tissue.py, simulator engineer A): a softer soft-tissue shoulder beside the lumbar
    bodies of thin (adolescent) bodies."""

    def test_deficit_lies_beside_the_bodies(self) -> None:
        """0 over the bodies (within the L3 endplate's half-width of the mid-line) and outside the body, full depth
        ``AP_THIN_SHOULDER_MM`` at ``AP_THIN_SHOULDER_RAMP_MM[0]`` beyond the body's edge, falling further out."""
        from fusionwatch.sim.render import ap_soft_tissue
        from fusionwatch.sim.variation import patient_anatomy

        an = patient_anatomy(7)
        soft = np.full(an.soft_ap.shape, 200.0, np.float32)
        soft[:3] = 0.0  # beyond the body at one side
        g = ap_soft_tissue.paraspinal_deficit(soft, an)
        y = an.soft_ap_origin[0] + np.arange(soft.shape[0]) * an.soft_res
        edge = an.endplate_half_widths["L3"]["inferior"]
        rise = ap_soft_tissue.AP_THIN_SHOULDER_RAMP_MM[0]
        assert g.min() >= 0.0 and not g[:3].any()
        assert not g[np.abs(y) <= edge].any()
        peak = np.argmin(np.abs(np.abs(y) - (edge + rise)))
        assert g[peak].max() == pytest.approx(ap_soft_tissue.AP_THIN_SHOULDER_MM, rel=0.05)
        far = np.abs(y) > edge + rise + 45.0
        assert g[far].max() < 0.05 * ap_soft_tissue.AP_THIN_SHOULDER_MM

    def test_changes_thin_bodies_only_and_off_gives_version_35_pixels(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """On: an adolescent (narrowed) AP film differs from version 35's and an adult's keeps its pixels
        (tests/sim/test_ap_pinned.py); off (shoulder 0, psoas x 1): the adolescent film is version 35's to the bit."""
        monkeypatch.setattr(PEDICLES_V39, False, raising=False)  # version 39's pedicles off (engineer B)
        from fusionwatch.sim import random_film
        from fusionwatch.sim.render import ap_soft_tissue

        def film() -> np.ndarray:
            return random_film(33, size=(240, 300), view="ap", population="adolescent-scoliosis").pixels

        on = film()
        assert hashlib.sha256(on.tobytes()).hexdigest() != V35_ADOLESCENT_AP_33
        monkeypatch.setattr(ap_soft_tissue, "AP_THIN_SHOULDER_MM", 0.0)
        monkeypatch.setattr(ap_soft_tissue, "AP_THIN_PSOAS", 1.0)
        assert hashlib.sha256(film().tobytes()).hexdigest() == V35_ADOLESCENT_AP_33
