"""Tests for fusionwatch.detect.training and network (need torch: skipped without the `train` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _synth import lateral_samples  # noqa: E402
from fusionwatch.detect.datasets import Sample  # noqa: E402
from fusionwatch.detect.inference import LandmarkModel  # noqa: E402
from fusionwatch.detect.network import LandmarkNet, soft_argmax  # noqa: E402
from fusionwatch.detect.training import train  # noqa: E402
from fusionwatch.errors import InputError, ViewError  # noqa: E402
from fusionwatch.radiograph import Radiograph, View  # noqa: E402


def _samples(n: int = 6) -> list[Sample]:
    return lateral_samples(n)


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


def test_ap_spine_example_has_thoracic_targets() -> None:
    """The ap-spine film stage trains on the T1-T12 corners kept in ``truth["extra_points"]``; ap-film ignores them."""
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.training import make_example

    img = np.zeros((600, 220), np.float32)
    pts = {
        f"L{k}.{e}.{s}": (80.0 + 60 * (s == "right"), 320.0 + 40 * k + 30 * (e == "inferior"))
        for k in range(1, 6)
        for e in ("superior", "inferior")
        for s in ("left", "right")
    }
    extra = {
        f"T{k}.{e}.{s}": (80.0 + 60 * (s == "right"), 20.0 + 26 * k + 15 * (e == "inferior"))
        for k in range(1, 13)
        for e in ("superior", "inferior")
        for s in ("left", "right")
    }
    sample = Sample(img, pts, View.AP, "p", truth={"extra_points": extra})
    spine, film = PRESETS["ap-spine"], PRESETS["ap-film"]
    x, t, mask, _ = make_example(sample, spine, None)
    assert x.shape == spine.input_hw and mask.sum() == 68
    i_t1, i_l5 = spine.point_names.index("T1.superior.left"), spine.point_names.index("L5.inferior.right")
    assert t[i_t1, 1] < t[i_l5, 1]
    _, _, mask_film, _ = make_example(sample, film, None)
    assert mask_film.sum() == 20  # S1 unknown, no thoracic channel


def test_init_from_maps_head_channels_by_name(tmp_path: Path) -> None:
    """Starting ap-spine from an ap-film checkpoint copies the shared L1-L5 head channels and the whole body."""
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.training import load_matching_weights

    film, spine = PRESETS["ap-film"], PRESETS["ap-spine"]
    src = LandmarkNet(len(film.point_names), 0, 4)
    ck = {"model": src.state_dict(), "spec": film.to_json()}
    dst = LandmarkNet(len(spine.point_names), 0, 4)
    before = dst.head.weight.detach().clone()
    shared = load_matching_weights(dst, spine, ck)
    assert len(shared) == 20 and "S1.superior.left" not in shared
    i_old, i_new = film.point_names.index("L3.inferior.left"), spine.point_names.index("L3.inferior.left")
    assert torch.equal(dst.head.weight[i_new], src.head.weight[i_old])
    i_t = spine.point_names.index("T5.superior.right")
    assert torch.equal(dst.head.weight[i_t], before[i_t])  # no partner: fresh initialisation kept
    assert torch.equal(dst.stem[0].weight, src.stem[0].weight)  # body copied


@pytest.mark.slow
def test_detector_uses_ap_spine_and_returns_lumbar_names_only(tmp_path: Path) -> None:
    """With ap-spine.onnx installed it is the AP film stage; its T1-T12 points never leave the detector."""
    pytest.importorskip("onnx")
    import cv2

    from fusionwatch.detect.inference import load_detector
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.training import export_onnx

    spec = PRESETS["ap-spine"]
    export_onnx(LandmarkNet(len(spec.point_names), 0, 4), spec, tmp_path / "ap-spine.onnx")
    det = load_detector(tmp_path)
    assert View.AP in det.spine and not det.film
    img = cv2.GaussianBlur(np.random.default_rng(3).normal(0, 1, (500, 200)).astype(np.float32), (0, 0), 4.0)
    lm = det.detect(Radiograph(img, view=View.AP))
    assert lm.source.startswith("model:ap-spine/")
    assert set(lm.points) == {n for n in spec.point_names if n.startswith("L")}
    with pytest.raises(ViewError, match="No lateral landmark model"):
        det.detect(Radiograph(img, view=View.LATERAL))


def _ap_lumbar_sample(patient: str, with_s1: bool) -> Sample:
    pts = {
        f"L{k}.{e}.{s}": (80.0 + 60 * (s == "right"), 120.0 + 40 * k + 30 * (e == "inferior"))
        for k in range(1, 6)
        for e in ("superior", "inferior")
        for s in ("left", "right")
    }
    if with_s1:
        pts.update({"S1.superior.left": (80.0, 370.0), "S1.superior.right": (140.0, 370.0)})
    return Sample(np.zeros((420, 220), np.float32), pts, View.AP, patient)


def test_lumbar_only_film_masks_thoracic_points_of_ap_spine() -> None:
    """A film ending at T12 (simulated lumbar AP) trains only its L1-L5 channels of ap-spine: T1-T12 masked out."""
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.training import make_example

    spine = PRESETS["ap-spine"]
    _, _, mask, _ = make_example(_ap_lumbar_sample("sim", True), spine, None)
    assert mask.sum() == 20
    assert all(mask[i] == 0 for i, n in enumerate(spine.point_names) if n.startswith("T"))


def test_train_only_films_keep_only_points_of_the_main_data() -> None:
    """restrict_points drops a training-only film's S1 when the main films lack S1, and films of the other view."""
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.training import restrict_points

    main = [_ap_lumbar_sample("real", False)]
    extra = [_ap_lumbar_sample("sim", True), _samples(1)[0]]
    out = restrict_points(extra, PRESETS["ap-crop"], main)
    assert len(out) == 1 and out[0].view is View.AP
    assert "S1.superior.left" not in out[0].points and len(out[0].points) == 20
    assert "S1.superior.left" in extra[0].points  # the caller's film is not changed


@pytest.mark.slow
def test_train_only_films_leave_the_validation_split_unchanged(tmp_path: Path) -> None:
    """Training-only films never enter the patient split: the same films are validated with and without them."""
    samples = _samples(5)
    extra = [Sample(s.image, s.points, View.LATERAL, f"sim{i}") for i, s in enumerate(_samples(4))]
    r0 = train(samples, tmp_path / "a", model="lateral-crop", time_budget_min=0.02, batch_size=2)
    r1 = train(samples, tmp_path / "b", model="lateral-crop", time_budget_min=0.02, batch_size=2, train_only=extra)
    assert (r1.n_train, r1.n_val) == (r0.n_train, r0.n_val)
    with pytest.raises(InputError, match="train_only_share"):
        train(samples, tmp_path / "c", model="lateral-crop", train_only=extra, train_only_share=1.5)


def test_appearance_on_negatives_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    """APPEARANCE_ON_NEGATIVES = False keeps the appearance changes off the view stage's synthetic non-spine films and
    on its spine films; True (the default) applies them to both."""
    from fusionwatch.detect import training
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.view import synthetic_non_spine

    spec = PRESETS["view"]
    negative = Sample(synthetic_non_spine(np.random.default_rng(3), "photo"), {}, None, "negative")  # type: ignore[arg-type]
    spine = lateral_samples(1)[0]
    seen: list[str] = []

    def marked(_rng: np.random.Generator, im: np.ndarray, _p: dict) -> np.ndarray:
        seen.append("called")
        return im

    monkeypatch.setattr(training, "APPEARANCE_P", 1.0)
    monkeypatch.setattr(training.aug, "appearance", marked)
    assert training.APPEARANCE_ON_NEGATIVES is True
    for flag, expected in ((True, [1, 1]), (False, [0, 1])):
        monkeypatch.setattr(training, "APPEARANCE_ON_NEGATIVES", flag)
        counts = []
        for sample in (negative, spine):
            seen.clear()
            x, _, _, label = training.make_example(sample, spec, np.random.default_rng(7))
            assert x.shape == spec.input_hw
            counts.append(len(seen))
        assert counts == expected, flag
        assert label != training.VIEW_CLASSES.index("other")
