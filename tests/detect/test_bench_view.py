"""benchmarks/bench_view.py: the ``--sim-tree`` group (films rendered by another source tree's simulator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmarks.bench_view import main, sim_tree_films

import fusionwatch
from fusionwatch.detect.datasets import load_data
from fusionwatch.sim import SIM_VERSION

TREE = Path(fusionwatch.__file__).resolve().parents[2]  # this source tree: src/fusionwatch -> repository root


@pytest.mark.slow
def test_sim_tree_films_are_that_trees_films(tmp_path: Path) -> None:
    """The subprocess renders the spec with the tree's simulator: here this tree, so the films and the version equal
    the in-process ones; a second call reads the cache (same films)."""
    if not (TREE / "src" / "fusionwatch" / "sim").is_dir():
        pytest.skip("fusionwatch is not installed from a source tree (no src/fusionwatch/sim beside it)")
    version, images = sim_tree_films(TREE, tmp_path / "c", spec="sim:1:ap:900000")
    here = load_data("sim:1:ap:900000", cache_dir=tmp_path / "here")
    assert version == SIM_VERSION
    assert len(images) == len(here) == 1
    for a, s in zip(images, here, strict=True):
        np.testing.assert_array_equal(a, s.image)
    assert any((tmp_path / "c").iterdir())
    again = sim_tree_films(TREE, tmp_path / "c", spec="sim:1:ap:900000")[1]
    np.testing.assert_array_equal(again[0], images[0])


def test_sim_tree_that_is_not_a_source_tree_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no src/fusionwatch/sim"):
        sim_tree_films(tmp_path, tmp_path / "c")


def test_main_accepts_sim_tree_option(tmp_path: Path) -> None:
    """--sim-tree is parsed and checked before any film is made (a wrong folder fails fast, naming it)."""
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing")):
        main(["--model", str(tmp_path / "m.onnx"), "--cache", str(tmp_path), "--sim-tree", str(tmp_path / "nothing")])


@pytest.mark.slow
def test_sim_tree_films_come_from_the_other_tree(tmp_path: Path) -> None:
    """A copy of this tree whose SIM_VERSION says otherwise: the subprocess reports the copy's version, so the films
    were made by the given tree, not by the installed package (PYTHONPATH=TREE/src wins)."""
    import shutil

    if not (TREE / "src" / "fusionwatch" / "sim").is_dir():
        pytest.skip("fusionwatch is not installed from a source tree (no src/fusionwatch/sim beside it)")
    other = tmp_path / "other"
    shutil.copytree(TREE / "src" / "fusionwatch", other / "src" / "fusionwatch",
                    ignore=shutil.ignore_patterns("__pycache__", "models"))
    journey = other / "src" / "fusionwatch" / "sim" / "journey.py"
    text = journey.read_text()
    assert f'SIM_VERSION = "{SIM_VERSION}"' in text
    journey.write_text(text.replace(f'SIM_VERSION = "{SIM_VERSION}"', 'SIM_VERSION = "other-tree"', 1))
    version, images = sim_tree_films(other, tmp_path / "c", spec="sim:1:ap:900000")
    assert version == "other-tree"
    assert len(images) == 1 and images[0].ndim == 2
