"""Tests for the view model's washed-out augmentation (augment.washed_out, augment.burnt_in_text) and its gate in
training.make_example (training.WASHED_OUT_P: view stage, spine films only; no random draw when 0)."""

from __future__ import annotations

import numpy as np
import pytest

from _synth import lateral_samples
from fusionwatch.detect import augment, training
from fusionwatch.detect.datasets import Sample
from fusionwatch.detect.specs import PRESETS
from fusionwatch.detect.view import synthetic_non_spine

# a film with black air, grey soft tissue and bright bone: the three bands washed_out squeezes together
_RAMP = np.tile(np.linspace(0.0, 1.0, 200, dtype=np.float32), (150, 1))


class TestWashedOut:
    """Tests for washed_out()."""

    @pytest.mark.parametrize("seed", range(5))
    def test_squeezed_into_grey_range(self, seed: int) -> None:
        """The result lies inside the drawn grey range: low end >= 0.1, high end <= 0.95 (WASHED_OUT_RANGE)."""
        out = augment.washed_out(np.random.default_rng(seed), _RAMP)
        assert out.dtype == np.float32 and out.shape == _RAMP.shape
        assert out.min() >= augment.WASHED_OUT_RANGE[0][0] - 1e-6
        assert out.max() <= augment.WASHED_OUT_RANGE[1][1] + 1e-6

    @pytest.mark.parametrize("seed", range(5))
    def test_darks_lifted_more_than_brights(self, seed: int) -> None:
        """Black air turns grey (lifted by at least the low end, 0.1) and the film's contrast shrinks."""
        out = augment.washed_out(np.random.default_rng(seed), _RAMP)
        assert out[:, :10].mean() >= _RAMP[:, :10].mean() + 0.1
        assert np.ptp(out) < np.ptp(_RAMP) * 0.86  # (0.95 - 0.1) of the full range at most


class TestBurntInText:
    """Tests for burnt_in_text()."""

    @pytest.mark.parametrize("seed", range(5))
    def test_only_brightens_some_pixels(self, seed: int) -> None:
        """Text is drawn near-white over the film: no pixel gets darker, some get >= 0.85."""
        img = np.full((400, 300), 0.3, np.float32)
        out = augment.burnt_in_text(np.random.default_rng(seed), img)
        assert out.dtype == np.float32 and out.shape == img.shape
        assert (out >= img).all()
        assert 0 < int((out >= 0.85).sum()) < img.size // 4


class TestGate:
    """training.WASHED_OUT_P: view-stage spine films only."""

    @staticmethod
    def _count_calls(monkeypatch: pytest.MonkeyPatch, sample: Sample, model: str) -> int:
        seen: list[int] = []

        def marked(_rng: np.random.Generator, im: np.ndarray) -> np.ndarray:
            seen.append(1)
            return im

        monkeypatch.setattr(training.aug, "washed_out", marked)
        x, _, _, _ = training.make_example(sample, PRESETS[model], np.random.default_rng(7))
        assert x.shape == PRESETS[model].input_hw
        return len(seen)

    def test_default_off(self) -> None:
        """Off by default, so the other models and earlier view models train as before."""
        assert training.WASHED_OUT_P == 0.0

    def test_spine_film_of_view_stage(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With WASHED_OUT_P = 1 a view-stage spine film is washed out; with 0 it is not."""
        spine = lateral_samples(1)[0]
        monkeypatch.setattr(training, "WASHED_OUT_P", 1.0)
        assert self._count_calls(monkeypatch, spine, "view") == 1
        monkeypatch.setattr(training, "WASHED_OUT_P", 0.0)
        assert self._count_calls(monkeypatch, spine, "view") == 0

    def test_not_on_negatives_nor_other_models(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Synthetic non-spine films and landmark models never get it, even at WASHED_OUT_P = 1."""
        monkeypatch.setattr(training, "WASHED_OUT_P", 1.0)
        negative = Sample(synthetic_non_spine(np.random.default_rng(3), "chest"), {}, None, "negative")  # type: ignore[arg-type]
        assert self._count_calls(monkeypatch, negative, "view") == 0
        assert self._count_calls(monkeypatch, lateral_samples(1)[0], "lateral-film") == 0

    @pytest.mark.parametrize("model", ["lateral-film", "lateral-crop"])
    def test_other_models_examples_identical(self, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
        """A landmark model's example is bit-identical at WASHED_OUT_P 0 and 1: the gate draws nothing for it."""
        spine = lateral_samples(1)[0]
        out = []
        for p in (0.0, 1.0):
            monkeypatch.setattr(training, "WASHED_OUT_P", p)
            out.append(training.make_example(spine, PRESETS[model], np.random.default_rng(11))[0])
        np.testing.assert_array_equal(out[0], out[1])
