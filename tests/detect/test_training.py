"""Tests for fusionwatch.detect.training and network (need torch: skipped without the `train` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _synth import draw_lateral_spine  # noqa: E402
from fusionwatch.detect.datasets import Sample  # noqa: E402
from fusionwatch.detect.inference import LandmarkModel  # noqa: E402
from fusionwatch.detect.network import LandmarkNet, soft_argmax  # noqa: E402
from fusionwatch.detect.training import train  # noqa: E402
from fusionwatch.errors import InputError  # noqa: E402
from fusionwatch.radiograph import View  # noqa: E402


def _samples(n: int = 6) -> list[Sample]:
    out = []
    for i in range(n):
        pixels, lm = draw_lateral_spine(facing="left" if i % 2 else "right", seed=i, sacral_slope_deg=30 + 3 * i)
        out.append(Sample(pixels.astype(np.float32), dict(lm.points), View.LATERAL, f"p{i}"))
    return out


class TestSoftArgmax:
    """Tests for soft_argmax()."""

    def test_peak_position_and_spread(self) -> None:
        """A sharp peak at cell (row 3, col 5) decodes to its centre in input pixels, with a small spread."""
        logits = torch.full((1, 1, 8, 10), -50.0)
        logits[0, 0, 3, 5] = 50.0
        coords, spread, _ = soft_argmax(logits, stride=4)
        assert coords[0, 0].tolist() == pytest.approx([(5 + 0.5) * 4 - 0.5, (3 + 0.5) * 4 - 0.5], abs=1e-4)
        assert float(spread[0, 0]) < 0.01

    def test_two_equal_peaks_average(self) -> None:
        """Two equal peaks give their midpoint (sub-pixel, sub-cell decoding) and a large spread."""
        logits = torch.full((1, 1, 8, 10), -50.0)
        logits[0, 0, 2, 2] = logits[0, 0, 2, 3] = 50.0
        coords, spread, _ = soft_argmax(logits, stride=4)
        assert float(coords[0, 0, 0]) == pytest.approx(((2.5 + 3.5) / 2) * 4 - 0.5, abs=1e-4)
        assert float(spread[0, 0]) == pytest.approx(2.0, abs=1e-3)


def test_network_shapes() -> None:
    """The network returns (N, K, 2) coordinates inside the input, (N, K) spreads and (N, C) logits."""
    net = LandmarkNet(5, 3, width=4).eval()
    with torch.no_grad():
        coords, spread, logits, prob = net(torch.zeros(2, 1, 64, 32))
    assert coords.shape == (2, 5, 2) and spread.shape == (2, 5) and logits.shape == (2, 3)
    assert prob.shape == (2, 5, 16, 8) and float(coords.min()) >= -0.5 and float(coords[..., 0].max()) <= 31.5


@pytest.mark.slow
def test_train_export_and_resume(tmp_path: Path) -> None:
    """A short run exports a loadable ONNX model whose spec lists the trained points; --resume continues the steps."""
    samples = _samples()
    r1 = train(samples, tmp_path, model="lateral-crop", time_budget_min=0.05, batch_size=2, checkpoint_every_s=1)
    model = LandmarkModel(r1.onnx_path)
    assert model.spec.name == "lateral-crop"
    assert "femoral_head.2" not in model.trained_points and "L5.inferior.anterior" in model.trained_points
    assert r1.steps > 0 and r1.n_val > 0 and r1.val_median_px is not None
    ck = torch.load(tmp_path / "lateral-crop.ckpt", weights_only=False)
    assert ck["step"] == r1.steps
    budget = ck["elapsed_s"] / 60.0 + 0.05  # a few more seconds than the first session used, however loaded the machine
    r2 = train(samples, tmp_path, model="lateral-crop", time_budget_min=budget, batch_size=2, resume=True)
    assert r2.steps > r1.steps


def test_unknown_model_raises(tmp_path: Path) -> None:
    """An unknown model name raises InputError listing the presets."""
    with pytest.raises(InputError, match="ap-film"):
        train(_samples(2), tmp_path, model="nope")
