"""Tests for ``fusionwatch measure`` (fusionwatch.cli.measure): outputs, and one test per user-error path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from _synth import draw_lateral_spine, write_dicom
from fusionwatch.cli import app
from fusionwatch.io import write_landmarks

runner = CliRunner()


@pytest.fixture
def lateral_film(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A synthetic lateral DICOM (0.9 mm pixels at the patient plane), its PNG twin and its landmark file."""
    pixels, landmarks = draw_lateral_spine(width=300, height=420, mm_per_px=0.9, facing="left")
    dcm = write_dicom(tmp_path / "lat.dcm", pixels, spacing=(0.9, 0.9))
    png = tmp_path / "lat.png"
    Image.fromarray((pixels // 16).astype(np.uint8)).save(png)
    lm = write_landmarks(landmarks, tmp_path / "lat.landmarks.json")
    return dcm, png, lm


def run(*args: object):
    return runner.invoke(app, ["measure", *map(str, args)])


def assert_user_error(result, *fragments: str) -> None:
    """Exit code 2, an ``error:`` line naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
    for fragment in fragments:
        assert fragment in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


class TestOutputs:
    def test_detects_when_no_landmarks(self, tmp_path: Path) -> None:
        """Without --landmarks a simulated lateral film is measured from the detector's points, saved for a reader."""
        sim = pytest.importorskip("fusionwatch.sim")
        film = sim.random_film(7, size=(500, 625), view="lateral")
        png = tmp_path / "sim.png"
        Image.fromarray(np.asarray(film.pixels, dtype=np.uint16)).save(png)
        out = tmp_path / "out"
        result = run(png, "--pixel-spacing", "0.6", "--out", out)
        assert result.exit_code == 0, result.output
        data = json.loads((out / "measurements.json").read_text())
        assert data["film"]["landmark_source"].startswith("model:")
        assert any(m["value"] is not None for m in data["measurements"])
        detected = json.loads((out / "landmarks.json").read_text())
        assert detected["source"] == data["film"]["landmark_source"] and len(detected["points"]) >= 10

    def test_dicom_calibrated(self, lateral_film, tmp_path: Path) -> None:
        """measurements.json holds every lateral measurement with mm from the DICOM spacing; overlay.png is a PNG."""
        dcm, _, lm = lateral_film
        out = tmp_path / "out"
        result = run(dcm, "--landmarks", lm, "--out", out)
        assert result.exit_code == 0, result.output
        data = json.loads((out / "measurements.json").read_text())
        by = {m["name"]: m for m in data["measurements"]}
        assert by["sacral_slope"]["value"] == pytest.approx(40.0, abs=0.01)  # _synth draws SS = 40 deg
        assert by["pelvic_tilt"]["value"] == pytest.approx(13.0, abs=0.01)
        assert by["disc_height_mean_L5_S1"]["unit"] == "mm"
        assert by["disc_height_mean_L5_S1"]["spacing_source"] == "patient_plane"
        assert data["film"]["facing"] == "left" and data["film"]["view"] == "lateral"
        with Image.open(out / "overlay.png") as im:
            assert im.mode == "RGB" and im.height >= 1200
        assert "sacral_slope" in result.output and "40.0" in result.output

    def test_png_uncalibrated_then_user_calibration(self, lateral_film, tmp_path: Path) -> None:
        """A PNG has no spacing: no mm values; --pixel-spacing gives mm with source user_calibration."""
        _, png, lm = lateral_film
        result = run(png, "--landmarks", lm, "--out", tmp_path / "a")
        assert result.exit_code == 0, result.output
        data = json.loads((tmp_path / "a" / "measurements.json").read_text())
        assert not any(m["unit"] == "mm" and m["value"] is not None for m in data["measurements"])
        assert any("No pixel spacing" in w for w in data["warnings"])
        rows = [line for line in result.output.splitlines() if "slip_" in line or "disc_height_mean" in line]
        assert rows and not any(" mm " in line or "-0.0" in line for line in rows), rows  # never mm, never -0.0
        result = run(png, "--landmarks", lm, "--pixel-spacing", "0.9", "--out", tmp_path / "b")
        assert result.exit_code == 0, result.output
        data = json.loads((tmp_path / "b" / "measurements.json").read_text())
        slip = {m["name"]: m for m in data["measurements"]}["slip_mm_L5_S1"]
        assert slip["unit"] == "mm" and slip["spacing_source"] == "user_calibration"


class TestUserErrors:
    def test_corrupt_file(self, tmp_path: Path) -> None:
        path = write_dicom(tmp_path / "full.dcm", np.zeros((200, 200), np.uint16))
        data = path.read_bytes()
        (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
        assert_user_error(run(tmp_path / "cut.dcm", "--out", tmp_path / "o"), "cut.dcm is truncated", "Re-export")
        assert not (tmp_path / "o" / "measurements.json").exists()

    def test_unreadable_file(self, tmp_path: Path) -> None:
        (tmp_path / "x.bin").write_bytes(bytes(range(256)) * 4)
        assert_user_error(run(tmp_path / "x.bin", "--out", tmp_path / "o"), "neither an image")

    def test_dicom_without_pixel_data(self, tmp_path: Path) -> None:
        path = write_dicom(tmp_path / "nopix.dcm", with_pixel_data=False)  # a DX image object without its image
        assert_user_error(run(path, "--out", tmp_path / "o"), "no Pixel Data", "truncated")

    @pytest.mark.parametrize("case", ["empty", "text", "sr", "png_no_spine"])
    def test_other_bad_inputs_are_specific_user_errors(self, tmp_path: Path, case: str) -> None:
        """An empty file, a text file named .dcm, a structured report and a PNG without a spine: `error: ...` naming
        the file and what is wrong, exit code 2, no traceback, nothing written."""
        from PIL import Image
        from pydicom import uid

        if case == "empty":
            path, expect = tmp_path / "x.dcm", "is empty (0 bytes)"
            path.write_bytes(b"")
        elif case == "text":
            path, expect = tmp_path / "notes.dcm", "neither an image (PNG, JPEG, TIFF) nor a DICOM file"
            path.write_text("follow-up in 6 weeks\n" * 10)
        elif case == "sr":
            path = write_dicom(tmp_path / "sr.dcm", with_pixel_data=False, sop_class_uid=uid.Comprehensive3DSRStorage)
            expect = "'Comprehensive 3D SR Storage' object is not an image"
        else:
            from scipy import ndimage

            path, expect = tmp_path / "blobs.png", "lumbar"  # textured, so the view check (not the blank check) says no
            img = ndimage.gaussian_filter(np.random.default_rng(3).random((400, 320)), 4)
            Image.fromarray(((img - img.min()) / np.ptp(img) * 255).astype(np.uint8)).save(path)
        assert_user_error(run(path, "--out", tmp_path / "o"), path.name, expect)
        assert not (tmp_path / "o" / "measurements.json").exists()

    def test_unsupported_photometric(self, tmp_path: Path) -> None:
        path = write_dicom(tmp_path / "pal.dcm", np.zeros((64, 64), np.uint8), photometric="PALETTE COLOR")
        assert_user_error(run(path, "--out", tmp_path / "o"), "PALETTE COLOR")

    def test_landmark_file_does_not_parse(self, lateral_film, tmp_path: Path) -> None:
        dcm, _, _ = lateral_film
        bad = tmp_path / "bad.json"
        bad.write_text("{not json", encoding="utf-8")
        assert_user_error(run(dcm, "--landmarks", bad, "--out", tmp_path / "o"), "is not valid JSON")

    def test_landmarks_outside_image(self, lateral_film, tmp_path: Path) -> None:
        dcm, _, lm = lateral_film
        d = json.loads(lm.read_text())
        d["points"]["L1.superior.anterior"] = [5000.0, 10.0]
        lm.write_text(json.dumps(d))
        assert_user_error(run(dcm, "--landmarks", lm, "--out", tmp_path / "o"), "outside the 300 x 420 px image")

    def test_vertebrae_in_impossible_order(self, lateral_film, tmp_path: Path) -> None:
        dcm, _, lm = lateral_film
        d = json.loads(lm.read_text())
        swap = {k.replace("L2.", "Lx.").replace("L4.", "L2.").replace("Lx.", "L4."): v for k, v in d["points"].items()}
        d["points"] = swap
        lm.write_text(json.dumps(d))
        assert_user_error(run(dcm, "--landmarks", lm, "--out", tmp_path / "o"), "impossible order")

    def test_no_landmarks_and_no_spine(self, tmp_path: Path) -> None:
        """Without --landmarks the detector runs; a film with no spine on it is refused, not measured."""
        blank = write_dicom(tmp_path / "blank.dcm", np.full((400, 300), 1000, dtype=np.uint16), spacing=(0.5, 0.5))
        assert_user_error(run(blank, "--out", tmp_path / "o"))
        assert not (tmp_path / "o" / "measurements.json").exists()

    def test_landmarks_for_another_image(self, lateral_film, tmp_path: Path) -> None:
        dcm, _, lm = lateral_film
        d = json.loads(lm.read_text())
        d["image"] = {"width": 600, "height": 840}
        lm.write_text(json.dumps(d))
        assert_user_error(run(dcm, "--landmarks", lm, "--out", tmp_path / "o"), "600 x 840 px image")

    def test_view_disagrees_with_landmarks(self, lateral_film, tmp_path: Path) -> None:
        dcm, _, lm = lateral_film
        assert_user_error(run(dcm, "--landmarks", lm, "--view", "ap", "--out", tmp_path / "o"), "'ap'")

    def test_no_output_written_on_error(self, lateral_film, tmp_path: Path) -> None:
        dcm, _, _ = lateral_film
        run(dcm, "--out", tmp_path / "o")
        assert not (tmp_path / "o" / "measurements.json").exists()

    def test_out_that_is_a_file_is_refused_before_any_work(self, tmp_path: Path) -> None:
        """--out naming a file is refused first, as that option: it was found only at the first write, after reading
        and measuring the film, as "cannot use X: File exists; check the path and its permissions." (the missing
        image here would otherwise be the error)."""
        taken = tmp_path / "taken.png"
        taken.write_bytes(b"x")
        result = run(tmp_path / "missing.dcm", "--out", taken)
        assert_user_error(result, f"--out {taken} is a file; give a folder")
        assert "missing.dcm" not in result.output


class TestFilmDate:
    """Reviewer R's F5: a film dated in the future was recorded as such by `measure` with no warning, while ingest
    refuses the same file; both now use one check (fusionwatch.io.loading.film_date_problem)."""

    @pytest.mark.parametrize("date", ["20300101", "18991230"])
    def test_an_impossible_film_date_is_not_used_and_said(self, tmp_path: Path, date: str) -> None:
        pixels, landmarks = draw_lateral_spine(width=300, height=420, mm_per_px=0.9, facing="left")
        dcm = write_dicom(tmp_path / "lat.dcm", pixels, spacing=(0.9, 0.9), study_date=date, acquisition_date=date)
        lm = write_landmarks(landmarks, tmp_path / "lat.landmarks.json")
        out = tmp_path / "out"
        result = run(dcm, "--landmarks", lm, "--out", out)
        assert result.exit_code == 0, result.output
        data = json.loads((out / "measurements.json").read_text())
        iso = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        assert data["film"]["acquired"] is None
        assert any(w.startswith(f"The film date {iso} is ") and "not used" in w for w in data["warnings"]), data
        assert "warning:" in result.output and iso in result.output

    def test_a_plausible_date_is_kept(self, lateral_film: tuple[Path, Path, Path], tmp_path: Path) -> None:
        dcm, _, lm = lateral_film
        result = run(dcm, "--landmarks", lm, "--out", tmp_path / "out")
        assert result.exit_code == 0, result.output
        data = json.loads((tmp_path / "out" / "measurements.json").read_text())
        assert data["film"]["acquired"] == "2026-01-05" and not any("film date" in w for w in data["warnings"])

