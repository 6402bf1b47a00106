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
