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


def test_swapped_postures_name_the_way_to_overrule_them(tmp_path: Path) -> None:
    """A refusal the reader can know to be wrong (the posture is read from free text) says how to overrule it."""
    f = _dicom(tmp_path / "a.dcm", posture="EXTENSION")
    e = _dicom(tmp_path / "b.dcm", posture="FLEXION")
    r = CliRunner().invoke(app, ["motion", str(f), str(e), "--out", str(tmp_path / "o")], env={"COLUMNS": "250"})
    assert r.exit_code == 2 and "wrong order" in r.output and "--views-as-given" in r.output, r.output


def test_views_as_given_measures_the_pair_and_records_what_was_overruled(tmp_path: Path) -> None:
    """Both exposures of a pair labelled with the other posture's protocol text: refused (ff140fa) with no way round
    but a PNG copy, which loses the calibration. --views-as-given measures them in mm and records the overruled
    attributes in motion.json; patients and dates are still checked."""
    import json

    from _synth import write_dicom
    from fusionwatch.io import write_landmarks
    from fusionwatch.motion.synth import synthetic_pair

    pair = synthetic_pair(14)
    lo = min(float(pair.flexion.pixels.min()), float(pair.extension.pixels.min()))
    hi = max(float(pair.flexion.pixels.max()), float(pair.extension.pixels.max()))
    paths = []
    for film, lm, name, label in ((pair.flexion, pair.lm_flexion, "flex", "EXTENSION"),
                                  (pair.extension, pair.lm_extension, "ext", "FLEXION")):
        px = np.round((film.pixels - lo) / (hi - lo) * 4095).astype(np.uint16)
        path = write_dicom(tmp_path / f"{name}.dcm", px, spacing=(0.25, 0.25), view_position="LL",
                           study_date="20260302", series_description=f"L-SPINE LAT {label}",
                           extra={"PatientID": "MRN-1"})
        write_landmarks(lm, tmp_path / f"{name}.landmarks.json")
        paths.append(str(path))
    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["motion", *paths, "--views-as-given", "--out", str(out)], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert "views taken as given" in r.output
    data = json.loads((out / "motion.json").read_text())
    assert len(data["views_as_given"]) == 1 and "wrong order" in data["views_as_given"][0]
    assert all(res["translation_mm"] is not None for res in data["results"])
    other = _dicom(tmp_path / "c.dcm", posture="FLEXION", pid="MRN-2")
    r = CliRunner().invoke(app, ["motion", paths[0], str(other), "--views-as-given", "--out", str(tmp_path / "p")],
                           env={"COLUMNS": "250"})
    assert r.exit_code == 2 and "two different patients" in r.output, r.output


def test_a_level_that_cannot_be_registered_is_one_clear_error_line(tmp_path: Path) -> None:
    """A pair whose L1 body is blank on the extension film (nothing to match): 'error:' naming the level, why in
    words and what to do (check the landmarks, or --levels), exit 2, nothing written. Before, the line ended with
    OpenCV's internals: '(OpenCV(5.0.0) /io/opencv/modules/video/src/ecc.cpp:582: error: (-7:Iterations do not
    converge) NaN encountered. in function 'findTransformECCWithMask')'."""
    from _synth import draw_lateral_spine
    from fusionwatch.io import write_landmarks

    pixels, lm = draw_lateral_spine(width=192, height=384, mm_per_px=1.0, seed=3)
    img = pixels.astype(float)
    flex = (255 * (img - img.min()) / np.ptp(img)).astype(np.uint8)
    ext = flex.copy()
    corners = np.array([p for k, p in lm.points.items() if k.startswith("L1.")])
    (x0, y0), (x1, y1) = corners.min(axis=0).astype(int) - 15, corners.max(axis=0).astype(int) + 15
    ext[y0:y1, x0:x1] = 128  # the L1 body blanked out on the extension film
    Image.fromarray(flex).save(tmp_path / "flex.png")
    Image.fromarray(ext).save(tmp_path / "ext.png")
    write_landmarks(lm, tmp_path / "lf.json")
    write_landmarks(lm, tmp_path / "le.json")
    r = CliRunner().invoke(app, ["motion", str(tmp_path / "flex.png"), str(tmp_path / "ext.png"),
                                 "--landmarks-flexion", str(tmp_path / "lf.json"), "--landmarks-extension",
                                 str(tmp_path / "le.json"), "--levels", "L1-L2", "--pixel-spacing", "1",
                                 "--out", str(tmp_path / "o")], env={"COLUMNS": "250"})
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and text.startswith("error: L1: the body could not be registered between the films"), text
    assert "too little image structure" in text and "--levels" in text and "landmarks" in text, text
    for internal in ("OpenCV", "ecc.cpp", "findTransformECC", "(-7", "Traceback"):
        assert internal not in text, internal
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    """--out naming a file is refused before the films are read (it was found at the first write, after the
    registration, as "cannot use X: File exists")."""
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"x")
    r = CliRunner().invoke(app, ["motion", str(tmp_path / "f.dcm"), str(tmp_path / "e.dcm"), "--out", str(taken)])
    assert r.exit_code == 2, r.output
    assert f"error: --out {taken} is a file; give a folder" in r.output and "f.dcm" not in r.output


def _real_pair(tmp_path: Path, labels: tuple[str, str]) -> list[str]:
    """A synthetic flexion-extension pair as DICOMs whose Series Descriptions carry ``labels`` (with landmarks)."""
    from _synth import write_dicom
    from fusionwatch.io import write_landmarks
    from fusionwatch.motion.synth import synthetic_pair

    pair = synthetic_pair(14)
    lo = min(float(pair.flexion.pixels.min()), float(pair.extension.pixels.min()))
    hi = max(float(pair.flexion.pixels.max()), float(pair.extension.pixels.max()))
    paths = []
    for film, lm, name, label in ((pair.flexion, pair.lm_flexion, "flex", labels[0]),
                                  (pair.extension, pair.lm_extension, "ext", labels[1])):
        px = np.round((film.pixels - lo) / (hi - lo) * 4095).astype(np.uint16)
        path = write_dicom(tmp_path / f"{name}.dcm", px, spacing=(0.25, 0.25), view_position="LL",
                           study_date="20260302", series_description=f"LUMBAR SPINE LAT{label}",
                           extra={"PatientID": "MRN-1"})
        write_landmarks(lm, tmp_path / f"{name}.landmarks.json")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("slot", [0, 1])
def test_a_neutral_lateral_given_as_a_posture_is_refused_or_recorded(tmp_path: Path, slot: int) -> None:
    """A film whose DICOM says neutral lateral (LL, 'LUMBAR SPINE LAT') given as the flexion or the extension film
    is refused, naming it and what its header says (R's F6: the motion of a pseudarthrosis read half); with
    --views-as-given it is measured and the override recorded in motion.json and printed."""
    import json

    labels = [" FLEX", " EXT"]
    labels[slot] = ""
    paths = _real_pair(tmp_path, (labels[0], labels[1]))
    name, posture = Path(paths[slot]).name, ("flexion", "extension")[slot]
    r = CliRunner().invoke(app, ["motion", *paths, "--out", str(tmp_path / "o")], env={"COLUMNS": "300"})
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and f"error: {name} is a neutral lateral film by its DICOM attributes" in text, text
    assert f"expected the lateral {posture} film there" in text and "--views-as-given" in text, text
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(app, ["motion", *paths, "--views-as-given", "--out", str(tmp_path / "p")],
                           env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    (said,) = json.loads((tmp_path / "p" / "motion.json").read_text())["views_as_given"]
    assert "is a neutral lateral film" in said and "views taken as given" in r.output


def test_an_overlay_that_cannot_be_written_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An overlay the writer cannot write (its OSError names no file) is one error line, exit 2, not a traceback
    (R's F3: --out on a read-only folder); a folder where motion_overlay.png goes is refused before any work."""
    import fusionwatch.motion as motion_pkg

    paths = _real_pair(tmp_path, (" FLEX", " EXT"))
    (tmp_path / "o" / "motion_overlay.png").mkdir(parents=True)
    r = CliRunner().invoke(app, ["motion", *paths, "--out", str(tmp_path / "o")], env={"COLUMNS": "300"})
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "motion_overlay.png is a folder" in text and "Traceback" not in text, text

    def unwritable(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - the overlay writer's failure
        raise OSError(f"Could not write the overlay to {path}.")

    monkeypatch.setattr(motion_pkg, "save_motion_overlay", unwritable)
    r = CliRunner().invoke(app, ["motion", *paths, "--out", str(tmp_path / "p")], env={"COLUMNS": "300"})
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and text.startswith("error: Could not write "), (r.exit_code, text, r.exception)
    assert "Traceback" not in text
