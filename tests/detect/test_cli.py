"""Tests for ``fusionwatch detect`` / ``evaluate`` / ``train`` (fusionwatch.cli.detect): outputs, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from fusionwatch.cli import app

runner = CliRunner()


def _sim_png(tmp_path: Path, seed: int = 900_010) -> tuple[Path, dict]:
    pytest.importorskip("fusionwatch.sim.film", reason="simulator not available")
    from fusionwatch.detect._simdata import random_film

    film = random_film(seed, "lateral")
    px = film.pixels.astype(np.float64)
    img = ((px - px.min()) / np.ptp(px) * 65535).astype(np.uint16)
    path = tmp_path / "film.png"
    Image.fromarray(img).save(path)
    return path, dict(film.landmarks.points)


def test_detect_writes_landmark_json(tmp_path: Path) -> None:
    """`fusionwatch detect` writes <stem>.landmarks.json with lateral points and a model source."""
    path, truth = _sim_png(tmp_path)
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path / "out"), "--view", "lateral"])
    assert result.exit_code == 0, result.output
    d = json.loads((tmp_path / "out" / "film.landmarks.json").read_text())
    assert d["view"] == "lateral" and d["source"].startswith("model:lateral-film/")
    assert set(truth) <= set(d["points"]) | {"femoral_head.2"}


def test_detect_blank_image_is_a_user_error(tmp_path: Path) -> None:
    """A blank PNG gives 'error: ... blank ...' and exit code 2, no traceback."""
    path = tmp_path / "blank.png"
    Image.fromarray(np.full((300, 200), 128, np.uint8)).save(path)
    result = runner.invoke(app, ["detect", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "error:" in result.output and "blank" in result.output


def test_train_bad_spec_is_a_user_error(tmp_path: Path) -> None:
    """A malformed --data spec gives exit code 2 and names the accepted kinds."""
    result = runner.invoke(app, ["train", "--data", "nonsense", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "KIND:ARG" in result.output


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("fraction", ["0", "0.95", "abc"])
def test_val_fraction_out_of_range_is_a_user_error(tmp_path: Path, command: str, fraction: str) -> None:
    """--val-fraction must be a share of patients between 0.01 and 0.9: exit code 2 naming the option."""
    args = [command, "--data", "sim:2", "--val-fraction", fraction]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--val-fraction" in result.output


def test_evaluate_validation_split_follows_val_fraction(tmp_path: Path) -> None:
    """`evaluate --split val` holds out the share of patients `train` was given: 1 of 4 films at 0.25, 2 at 0.5."""
    pytest.importorskip("fusionwatch.sim.film", reason="simulator not available")
    counts = []
    for fraction in ("0.25", "0.5"):
        out = tmp_path / fraction
        args = ["evaluate", "--data", "sim:4", "--sim-seed", "900030", "--split", "val", "--val-fraction", fraction]
        result = runner.invoke(app, [*args, "--out", str(out), "--cache", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        counts.append(json.loads((out / "evaluation.json").read_text()))
    assert [c["films"] for c in counts] == [1, 2]


def test_evaluate_writes_report(tmp_path: Path) -> None:
    """`fusionwatch evaluate` on two simulated films writes evaluation.json with mm errors and the worst-cases sheet."""
    pytest.importorskip("fusionwatch.sim.film", reason="simulator not available")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            "sim:2",
            "--sim-seed",
            "900020",
            "--out",
            str(tmp_path),
            "--cache",
            str(tmp_path / "cache"),
        ],
    )
    assert result.exit_code == 0, result.output
    d = json.loads((tmp_path / "evaluation.json").read_text())
    assert d["films"] == 2 and d["radial_error_mm"]["n"] >= 44
    assert "sacral_slope" in d["measurement_abs_error"]
    assert (tmp_path / "worst_cases.png").stat().st_size > 1000


def test_detect_out_that_is_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    """--out naming a file is refused before the film is read and the models run (it was found at the first write,
    after detection, as "cannot use X: File exists")."""
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    r = runner.invoke(app, ["detect", str(tmp_path / "missing.dcm"), "--out", str(taken)])
    assert r.exit_code == 2, r.output
    assert f"error: --out {taken} is a file; give a folder" in r.output and "missing.dcm" not in r.output
