"""Tests for ``fusionwatch motion`` (fusionwatch.cli.motion): user errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from fusionwatch.cli import app


def test_the_same_film_twice_is_a_user_error(tmp_path: Path) -> None:
    film = tmp_path / "flex.png"
    Image.fromarray(np.zeros((50, 40), np.uint8)).save(film)
    r = CliRunner().invoke(app, ["motion", str(film), str(tmp_path / "." / "flex.png"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "error: The flexion and extension films are the same file" in r.output
    assert not (tmp_path / "o").exists()
