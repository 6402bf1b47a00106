"""Tests for starting training from an exported ONNX model (training.load_onnx_weights, --init-from .onnx|shipped)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from typer.testing import CliRunner  # noqa: E402

from _synth import lateral_samples  # noqa: E402
from fusionwatch.cli import app  # noqa: E402
from fusionwatch.detect import training  # noqa: E402
from fusionwatch.detect.datasets import Sample  # noqa: E402
from fusionwatch.detect.specs import PRESETS, ModelSpec  # noqa: E402
from fusionwatch.errors import InputError  # noqa: E402

TINY = replace(PRESETS["lateral-film"], input_hw=(64, 48), width=4)


@cache
def _samples(n: int = 4) -> list[Sample]:
    return lateral_samples(n)


def _trained_net(spec: ModelSpec, steps: int = 2, seed: int = 0):  # noqa: ANN202
    """A tiny network after ``steps`` training steps (so BatchNorm statistics and weights are not the defaults)."""
    torch.manual_seed(seed)
    net = training._build(spec)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    samples = _samples()
    net.train()
    for _ in range(steps):
        ex = [training.make_example(s, spec, rng) for s in samples]
        coords, _, _, prob = net(torch.from_numpy(np.stack([e[0] for e in ex])[:, None]))
        t = torch.from_numpy(np.stack([e[1] for e in ex]))
        m = torch.from_numpy(np.stack([e[2] for e in ex]))
        loss = training._loss(torch, coords, prob, t, m, net.stride)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def _run(path: Path, x: np.ndarray) -> list[np.ndarray]:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})


def _inputs(spec: ModelSpec, n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(5)
    return np.stack([training.make_example(s, spec, rng)[0] for s in _samples(n)])[:, None]


def test_reimported_fp16_onnx_gives_the_same_outputs(tmp_path: Path) -> None:
    """Train 2 steps, export, store fp16, load into a fresh network, export again: same coordinates and spreads."""
    first = training.export_onnx(_trained_net(TINY), TINY, tmp_path / "a.onnx")
    training.store_weights_fp16(first)
    x = _inputs(TINY)
    fresh = training._build(TINY)
    loaded = training.load_onnx_weights(fresh, TINY, first, calibration=x)
    assert loaded == list(TINY.point_names)
    again = training.export_onnx(fresh, TINY, tmp_path / "b.onnx")
    (c1, s1), (c2, s2) = _run(first, x), _run(again, x)
    assert np.abs(c1 - c2).max() < 1e-2  # input pixels; fp16 weights are decoded exactly, only float rounding remains
    assert np.abs(s1 - s2).max() < 1e-2
    # and the torch network itself in training mode (batch statistics of the calibration inputs) starts from it too
    fresh.train()
    with torch.no_grad():
        c3 = fresh(torch.from_numpy(x))[0].numpy()
    assert np.abs(c3 - c1).max() < 0.05


def test_batchnorm_keeps_the_function_without_calibration(tmp_path: Path) -> None:
    """Without calibration inputs the eval-mode function is still the file's (identity BatchNorm)."""
    path = training.export_onnx(_trained_net(TINY, seed=1), TINY, tmp_path / "a.onnx")
    fresh = training._build(TINY)
    training.load_onnx_weights(fresh, TINY, path)
    x = _inputs(TINY, 2)
    fresh.eval()
    with torch.no_grad():
        c = fresh(torch.from_numpy(x))[0].numpy()
    assert np.abs(c - _run(path, x)[0]).max() < 1e-2


def test_other_width_view_and_foreign_files_are_refused(tmp_path: Path) -> None:
    """Another width, another view or an ONNX file without fusionwatch's spec: a specific InputError, no traceback."""
    path = training.export_onnx(training._build(TINY), TINY, tmp_path / "tiny.onnx")
    wide = replace(TINY, width=8)
    with pytest.raises(InputError, match=r"tiny\.onnx.*width 4.*width 8"):
        training.load_onnx_weights(training._build(wide), wide, path)
    ap = replace(PRESETS["ap-film"], input_hw=(64, 48), width=4)
    with pytest.raises(InputError, match=r"tiny\.onnx is a lateral-film/1 model \(view lateral.*ap-film"):
        training.load_onnx_weights(training._build(ap), ap, path)
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "foreign.onnx"))
    with pytest.raises(InputError, match=r"foreign\.onnx: no 'fusionwatch\.spec' metadata"):
        training.load_onnx_weights(training._build(TINY), TINY, tmp_path / "foreign.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match=r"junk\.onnx: not a readable ONNX model"):
        training.load_onnx_weights(training._build(TINY), TINY, tmp_path / "junk.onnx")


def test_missing_layer_is_named(tmp_path: Path) -> None:
    """A file whose graph lacks a layer of the network: the message names that layer."""
    import onnx

    path = training.export_onnx(training._build(TINY), TINY, tmp_path / "tiny.onnx")
    proto = onnx.load(str(path))
    for node in proto.graph.node:
        if node.name.endswith("/enc2/enc2.3/Conv"):
            node.name = "/m/elsewhere/odd.3/Conv"
    onnx.save(proto, str(tmp_path / "cut.onnx"))
    with pytest.raises(InputError, match=r"cut\.onnx.*no weights for enc2\.3.*odd\.3"):
        training.load_onnx_weights(training._build(TINY), TINY, tmp_path / "cut.onnx")


def test_shipped_resolves_to_the_package_file_and_reproduces_it() -> None:
    """'shipped' = the package's own <model>.onnx; its weights load into torch and give the shipped outputs."""
    from fusionwatch.detect.inference import MODELS_DIR

    path = training.resolve_init_from("shipped", "ap-spine")
    assert path == MODELS_DIR / "ap-spine.onnx"
    with pytest.raises(InputError, match="ships no ap-film.onnx"):
        training.resolve_init_from("shipped", "ap-film")
    with pytest.raises(InputError, match="no such file"):
        training.resolve_init_from("/nonexistent/x.onnx", "ap-spine")
    spec = PRESETS["ap-spine"]
    net = training._build(spec)
    assert len(training.load_onnx_weights(net, spec, path)) == 68
    x = np.random.default_rng(0).random((1, 1, *spec.input_hw), dtype=np.float32)
    net.eval()
    with torch.no_grad():
        c = net(torch.from_numpy(x))[0].numpy()
    assert np.abs(c - _run(path, x)[0]).max() < 1e-2


def test_train_from_onnx_bumps_the_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """train(init_from=<name>/<v>.onnx) starts from its weights and exports <name>/<v + 1> naming the start."""
    monkeypatch.setitem(PRESETS, "lateral-film", TINY)
    start = training.export_onnx(_trained_net(TINY), replace(TINY, version=4), tmp_path / "start.onnx")
    training.store_weights_fp16(start)
    res = training.train(
        _samples(), tmp_path / "run", model="lateral-film", time_budget_min=0.01, init_from=start, val_fraction=0.25
    )
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(res.onnx_path)).metadata_props}
    spec = ModelSpec.from_json(meta["fusionwatch.spec"])
    assert res.steps >= 1 and spec.version == 5 and spec.extra["fine_tuned_from"] == "lateral-film/4"


def test_cli_refuses_a_missing_init_file_before_loading_films(tmp_path: Path) -> None:
    """`train --init-from` with a file that does not exist: 'error: ...' and exit 2, naming the value."""
    result = CliRunner().invoke(
        app,
        ["train", "--data", "sim:1:ap", "--model", "ap-spine", "--init-from", str(tmp_path / "nope.onnx")]
        + ["--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c")],
    )
    assert result.exit_code == 2
    assert "nope.onnx" in result.output and "no such file" in result.output
    assert not (tmp_path / "c").exists()  # refused before any film was rendered
