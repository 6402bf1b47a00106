"""Tests for ``fusionwatch motion`` (fusionwatch.cli.motion): user errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
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


def _dicom(path: Path, *, pid: str = "MRN-1", date: str = "20260302", posture: str = "FLEXION") -> Path:
    from _synth import write_dicom

    return write_dicom(path, np.zeros((64, 48), np.uint16), spacing=(0.2, 0.2), view_position="LL",
                       study_date=date, series_description=f"L-SPINE LAT {posture}", extra={"PatientID": pid})


@pytest.mark.parametrize(
    ("flex", "ext", "words"),
    [
        ({"posture": "EXTENSION"}, {"posture": "FLEXION"}, "wrong order"),
        ({}, {"posture": "EXTENSION", "pid": "MRN-2"}, "two different patients"),
        ({}, {"posture": "EXTENSION", "date": "20251201"}, "a flexion-extension pair is taken at one visit"),
    ],
)
def test_films_that_are_not_one_pair_are_a_user_error(tmp_path: Path, flex: dict, ext: dict, words: str) -> None:
    """Swapped films, two patients' films and films of two days are refused before anything is measured (each was
    measured: a 17 deg 'motion' between two patients, with only a spacing warning)."""
    f = _dicom(tmp_path / "a.dcm", **flex)
    e = _dicom(tmp_path / "b.dcm", **ext)
    r = CliRunner().invoke(app, ["motion", str(f), str(e), "--out", str(tmp_path / "o")], env={"COLUMNS": "250"})
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and words in r.output and "MRN-" not in r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("levels", ["", " , "])
def test_no_segment_to_measure_is_a_user_error(tmp_path: Path, levels: str) -> None:
    """--levels '' measured nothing and wrote an empty table, motion.json and overlay as if all was well."""
    f = _dicom(tmp_path / "a.dcm")
    e = _dicom(tmp_path / "b.dcm", posture="EXTENSION")
    r = CliRunner().invoke(app, ["motion", str(f), str(e), "--levels", levels, "--out", str(tmp_path / "o")],
                           env={"COLUMNS": "250"})
    assert r.exit_code == 2 and "error:" in r.output and "--levels" in r.output, r.output
    assert not (tmp_path / "o").exists()
