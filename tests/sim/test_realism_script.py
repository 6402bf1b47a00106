"""scripts/sim_realism.py's spine-band measure (version 26): body minus disc-gap brightness along the spine."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_SPEC = importlib.util.spec_from_file_location(
    "sim_realism", Path(__file__).resolve().parents[2] / "scripts" / "sim_realism.py"
)
assert _SPEC is not None and _SPEC.loader is not None
SR = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(SR)


def _column(body: float, disc: float, beside: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A 200 x 160 crop: four 60 px wide bodies (grey ``body``) 30 px high with 10 px gaps (``disc``) over ``beside``;
    their quadrilaterals in the order top-left, top-right, bottom-right, bottom-left."""
    img = np.full((200, 160), beside, np.float32)
    img[10:170, 50:110] = disc
    quads = {}
    for k, lv in enumerate(("L2", "L3", "L4", "L5")):
        y0 = 10 + 40 * k
        img[y0 : y0 + 30, 50:110] = body
        quads[lv] = np.array([[50.0, y0], [110.0, y0], [110.0, y0 + 30], [50.0, y0 + 30]])
    return img, quads


class TestSpineBand:
    """Tests for spine_band()."""

    def test_recovers_the_drawn_differences(self) -> None:
        """Bodies at 0.8, disc gaps at 0.6, soft tissue at 0.3: body minus disc 0.2; the band beside, shifted 0.75 x
        the gap's width, still overlaps a quarter of the column: disc minus beside 0.6 - (0.75 x 0.3 + 0.25 x 0.6)."""
        img, quads = _column(0.8, 0.6, 0.3)
        band = SR.spine_band(img, quads)
        assert band["body_minus_disc"] == pytest.approx(0.2, abs=1e-6)
        assert band["disc_minus_beside"] == pytest.approx(0.6 - (0.75 * 0.3 + 0.25 * 0.6), abs=0.005)

    def test_gap_as_bright_as_the_bodies_gives_zero(self) -> None:
        """A spine band without darker gaps (the real films' look) measures 0."""
        img, quads = _column(0.7, 0.7, 0.2)
        assert SR.spine_band(img, quads)["body_minus_disc"] == pytest.approx(0.0, abs=1e-6)

    def test_missing_levels_give_nan(self) -> None:
        """Without the levels (no landmarks) both measures are NaN, not an error."""
        img, _ = _column(0.8, 0.6, 0.3)
        band = SR.spine_band(img, {})
        assert np.isnan(band["body_minus_disc"]) and np.isnan(band["disc_minus_beside"])

    def test_measures_carries_the_band(self) -> None:
        """``measures`` (the statistics.json row) holds both spine-band numbers when it gets the levels."""
        img, quads = _column(0.8, 0.6, 0.3)
        row = SR.measures(img, [quads["L3"]], quads)
        assert row["body_minus_disc"] == pytest.approx(0.2, abs=1e-6)


def _chain(radii: tuple[float, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """A CH x CW crop at grey 0.6 with a spine column in the middle and, at the left flank, a loop: a 0.45 band (the
    loop's footprint) holding near-black (0.1) discs of ``radii`` px, 32 px apart, separated by the band's grey."""
    img = np.full((SR.CH, SR.CW), 0.6, np.float32)
    x0 = SR.CW // 2
    quads = [
        np.array([[x0 - 25.0, y], [x0 + 25.0, y], [x0 + 25.0, y + 60], [x0 - 25.0, y + 60]]) for y in (60, 180, 300)
    ]
    yy, xx = np.mgrid[: SR.CH, : SR.CW]
    top = 120
    img[top - 22 : top + 32 * (len(radii) - 1) + 22, 40:100] = 0.45
    for k, r in enumerate(radii):
        img[(yy - (top + 32 * k)) ** 2 + (xx - 70) ** 2 <= r * r] = 0.1
    return img, quads


class TestGasLook:
    """Version 35: the look of the gas regions (dark, round, chains of evenly sized segments)."""

    def test_a_chain_of_even_balloons_is_one_even_chain(self) -> None:
        """Four near-black 13 px discs in one footprint: one chain, sizes even, round and convex, near-black."""
        g = SR.gas_measures(*_chain((13, 13, 13, 13)))
        assert g["gas_regions"] == 4
        assert g["gas_chains"] == 1
        assert g["gas_uneven"] < 0.05
        assert g["gas_round"] > 0.8 and g["gas_solid"] > 0.9
        assert g["gas_black"] == pytest.approx(0.1, abs=0.05)

    def test_uneven_segments_measure_uneven(self) -> None:
        """Segments of radii 8-15 px in the same footprint: their sizes' SD / mean is large."""
        g = SR.gas_measures(*_chain((8, 15, 10, 14)))
        assert g["gas_chains"] == 1
        assert g["gas_uneven"] > 0.3

    def test_an_irregular_pocket_is_less_round(self) -> None:
        """A cross-shaped pocket is less round and less convex than a disc; no chain, ``gas_uneven`` NaN."""
        img, quads = _chain(())
        img[100:160, 60:72] = 0.1
        img[124:136, 40:100] = 0.1
        g = SR.gas_measures(img, quads)
        assert g["gas_chains"] == 0 and np.isnan(g["gas_uneven"])
        assert g["gas_round"] < 0.6 and g["gas_solid"] < 0.7


def _spine_crop(rim: float = 0.0, grain: float = 0.0) -> tuple[np.ndarray, list[np.ndarray]]:
    """A 480 x 384 crop: a bright column (0.8) of five bodies over soft tissue (0.4), blurred 2 px; ``rim``: the gain
    of a 5 px unsharp mask (a console's dark rim beside bright bone); ``grain``: SD of white noise added."""
    import cv2

    img = np.full((480, 384), 0.4, np.float32)
    img[40:440, 152:232] = 0.8
    img = cv2.GaussianBlur(img, (0, 0), 2.0)
    if rim:
        img = img + rim * (img - cv2.GaussianBlur(img, (0, 0), 5.0))
    if grain:
        img = img + np.random.default_rng(0).normal(0.0, grain, img.shape).astype(np.float32)
    quads = [np.array([[152.0, y], [232.0, y], [232.0, y + 60], [152.0, y + 60]]) for y in (50, 130, 210, 290, 370)]
    return img, quads


class TestHaze:
    """Tests for haze_measures() (the smooth grey haze of the AP soft tissue)."""

    def test_grain_shows_in_the_fine_band_and_the_local_sd(self) -> None:
        """White noise of SD 0.02 in the soft tissue: the fine band and the local SD rise from ~0 to the noise's
        share (the smooth crop: only the column's blurred ends); the broad field's share of the variance falls."""
        smooth = SR.haze_measures(*_spine_crop(), gas=np.zeros((480, 384), bool))
        grainy = SR.haze_measures(*_spine_crop(grain=0.02), gas=np.zeros((480, 384), bool))
        assert smooth["haze_fine"] < 3e-3 < 0.01 < grainy["haze_fine"]
        assert smooth["haze_local_sd"] < 3e-3 < 0.01 < grainy["haze_local_sd"]
        assert grainy["haze_low_share"] < smooth["haze_low_share"]

    def test_a_console_rim_beside_bright_bone_is_measured(self) -> None:
        """A plain blurred step has no dark rim (edge_rim ~0); an unsharp mask leaves one (edge_rim > 0.1) and
        makes the edge's rise no wider."""
        plain = SR.haze_measures(*_spine_crop(), gas=np.zeros((480, 384), bool))
        rimmed = SR.haze_measures(*_spine_crop(rim=1.0), gas=np.zeros((480, 384), bool))
        assert abs(plain["edge_rim"]) < 0.02
        assert rimmed["edge_rim"] > 0.1
        assert rimmed["edge_width"] <= plain["edge_width"]


class TestGlow:
    """Tests for glow_measures() (the glow beside the spine, smooth dark sides, doubled bone outlines)."""

    def test_a_glow_beside_the_column_lowers_the_drop(self) -> None:
        """Soft tissue darkening steadily away from the column (0.6 at its edge, 0.3 at 80 px) drops ~0.07 within
        13 mm; a bright shoulder (0.6 up to 30 px out, then the same fall: the glow) drops nothing there and falls
        later (``glow_fall`` larger)."""
        x = np.arange(384, dtype=np.float32)
        d = np.maximum(np.maximum(152.0 - x, x - 231.0), 0.0)  # px out from the column's edge
        gas = np.zeros((480, 384), bool)
        out = {}
        for name, prof in (
            ("steady", 0.6 - 0.3 * np.clip(d / 80.0, 0, 1)),
            ("glow", 0.6 - 0.3 * np.clip((d - 30.0) / 50.0, 0, 1)),
        ):
            img = np.tile(prof, (480, 1)).astype(np.float32)
            img[40:440, 152:232] = 0.8
            out[name] = SR.glow_measures(img, _spine_crop()[1], gas=gas)
        assert out["steady"]["glow_drop"] == pytest.approx(0.0675, abs=0.01)
        assert out["glow"]["glow_drop"] == pytest.approx(0.0, abs=1e-3)
        assert out["glow"]["glow_fall"] > out["steady"]["glow_fall"] + 0.05

    def test_a_doubled_outline_is_counted(self) -> None:
        """Bodies drawn twice, 5 px apart (two steps of half the height each), have a second slope peak at most of
        their strongest edges; a single blurred step has none."""
        import cv2

        img, quads = _spine_crop()
        double = np.full((480, 384), 0.4, np.float32)
        double[40:440, 152:232] += 0.2
        double[40:440, 157:227] += 0.2
        double = cv2.GaussianBlur(double, (0, 0), 1.0)
        gas = np.zeros((480, 384), bool)
        assert SR.glow_measures(img, quads, gas=gas)["edge_double"] < 0.1
        assert SR.glow_measures(double, quads, gas=gas)["edge_double"] > 0.5
