"""Tests for the pixel-spacing precedence (fusionwatch.io._calibration), directly and through DICOM files."""

from __future__ import annotations

import numpy as np
import pytest

from _synth import write_dicom
from fusionwatch.errors import InputError
from fusionwatch.io import read_radiograph
from fusionwatch.io._calibration import DicomCalibration, choose_spacing
from fusionwatch.units import SpacingSource

# DICOM stores (row, column) = (dy, dx); anisotropic values make a swapped order visible.
PS = (0.15, 0.12)  # Pixel Spacing: dy=0.15, dx=0.12
IPS = (0.20, 0.16)  # Imager Pixel Spacing: dy=0.20, dx=0.16
MAG = 1.25  # -> dy=0.16, dx=0.128

# case: (Pixel Spacing, Imager Pixel Spacing, magnification, user mm, expected source, expected (dx, dy), warning part)
PRECEDENCE = {
    "pixel_spacing": (PS, IPS, MAG, None, SpacingSource.PATIENT_PLANE, (0.12, 0.15), None),
    "imager_over_magnification": (None, IPS, MAG, None, SpacingSource.MAGNIFICATION_CORRECTED, (0.128, 0.16), None),
    "imager_only_detector_plane": (None, IPS, None, None, SpacingSource.DETECTOR_PLANE, (0.16, 0.20), "detector plane"),
    "user_only": (None, None, None, 0.5, SpacingSource.USER_CALIBRATION, (0.5, 0.5), None),
    "nothing": (None, None, None, None, None, None, None),
}


@pytest.mark.parametrize("case", list(PRECEDENCE))
class TestPrecedence:
    """The five rungs of CLINICAL.md "Calibration", through the pure function and through a DICOM file."""

    def test_choose_spacing(self, case: str) -> None:
        """choose_spacing() picks the expected source and converts (row, col) into (dx, dy)."""
        ps, ips, mag, user, source, dxdy, warn = PRECEDENCE[case]
        spacing, warnings = choose_spacing(DicomCalibration(ps, ips, mag), pixel_spacing_mm=user, width=64, height=64)
        if source is None:
            assert spacing is None
        else:
            assert spacing is not None and spacing.source is source
            assert (spacing.dx_mm, spacing.dy_mm) == pytest.approx(dxdy, abs=1e-12)
        assert any(warn in w for w in warnings) if warn else not warnings

    def test_read_dicom(self, case: str, tmp_path) -> None:
        """read_radiograph() gives the same spacing and puts the warning on the Radiograph."""
        ps, ips, mag, user, source, dxdy, warn = PRECEDENCE[case]
        path = write_dicom(tmp_path / "f.dcm", spacing=ps, imager_spacing=ips, magnification=mag)
        film = read_radiograph(path, pixel_spacing_mm=user)
        if source is None:
            assert film.spacing is None
        else:
            assert film.spacing.source is source
            assert (film.spacing.dx_mm, film.spacing.dy_mm) == pytest.approx(dxdy, abs=1e-9)
        if warn:
            assert any(warn in w for w in film.warnings)


class TestUserCalibration:
    """User calibration: known length, override of DICOM values, invalid user input."""

    def test_known_length(self) -> None:
        """Two points 100 px apart spanning 25 mm give 0.25 mm/px, source user calibration."""
        spacing, _ = choose_spacing(None, known_length=((10.0, 10.0), (70.0, 90.0), 25.0), width=128, height=128)
        assert spacing is not None and spacing.source is SpacingSource.USER_CALIBRATION
        assert spacing.dx_mm == pytest.approx(0.25, abs=1e-12) and spacing.dy_mm == pytest.approx(0.25, abs=1e-12)

    def test_user_overrides_dicom_with_warning(self, tmp_path) -> None:
        """A user value given with DICOM Pixel Spacing wins; the warning names both values."""
        path = write_dicom(tmp_path / "f.dcm", spacing=PS)
        film = read_radiograph(path, pixel_spacing_mm=0.2)
        assert film.spacing.source is SpacingSource.USER_CALIBRATION and film.spacing.dx_mm == 0.2
        assert any("overrides" in w and "0.2" in w and "0.12" in w for w in film.warnings)

    def test_known_length_through_reader(self, tmp_path) -> None:
        """read_radiograph(known_length=...) calibrates a PNG-like film without spacing."""
        path = write_dicom(tmp_path / "f.dcm")
        film = read_radiograph(path, known_length=((0.0, 0.0), (30.0, 40.0), 10.0))
        assert film.spacing.source is SpacingSource.USER_CALIBRATION
        assert film.spacing.dx_mm == pytest.approx(0.2, abs=1e-12)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"pixel_spacing_mm": 0.0}, "not a pixel size"),
            ({"pixel_spacing_mm": -0.1}, "not a pixel size"),
            ({"pixel_spacing_mm": float("nan")}, "not a pixel size"),
            ({"pixel_spacing_mm": "0.1"}, "must be a number"),
            ({"known_length": ((0.0, 0.0), (2.0, 0.0), 5.0)}, "at least 5 px"),
            ({"known_length": ((0.0, 0.0), (500.0, 0.0), 5.0)}, "outside"),
            ({"known_length": ((0.0, 0.0), (20.0, 0.0), -5.0)}, "positive"),
            ({"known_length": ((0.0, 0.0), 5.0)}, "known length must be"),
            ({"pixel_spacing_mm": 0.1, "known_length": ((0.0, 0.0), (20.0, 0.0), 5.0)}, "not both"),
        ],
    )
    def test_invalid_user_value_raises(self, kwargs: dict, match: str) -> None:
        """Bad user calibration is an InputError saying what was wrong."""
        with pytest.raises(InputError, match=match):
            choose_spacing(None, width=64, height=64, where="film.png", **kwargs)


class TestInvalidDicomValues:
    """Invalid DICOM spacing values are treated as absent with a warning, never a crash."""

    @pytest.mark.parametrize("bad", [("0", "0"), ("-0.1", "0.1"), ("abc", "0.1"), ("0.1",), ("25", "25")])
    def test_bad_pixel_spacing_falls_back_to_imager(self, bad: tuple, tmp_path) -> None:
        """An unusable Pixel Spacing is skipped: the next rung (imager / magnification) is used, with a warning."""
        path = write_dicom(tmp_path / "f.dcm", spacing=bad, imager_spacing=IPS, magnification=MAG)
        film = read_radiograph(path)
        assert film.spacing.source is SpacingSource.MAGNIFICATION_CORRECTED
        assert any("Pixel Spacing (0028,0030)" in w and "ignored" in w for w in film.warnings)

    @pytest.mark.parametrize("bad", ["0", "-1.1", "abc", "0.5"])
    def test_bad_magnification_is_detector_plane(self, bad: str, tmp_path) -> None:
        """An unusable magnification factor leaves the imager spacing at the detector plane, with both warnings."""
        path = write_dicom(tmp_path / "f.dcm", imager_spacing=IPS, magnification=bad)
        film = read_radiograph(path)
        assert film.spacing.source is SpacingSource.DETECTOR_PLANE
        assert any("Magnification" in w and "ignored" in w for w in film.warnings)
        assert any("detector plane" in w for w in film.warnings)

    def test_all_invalid_gives_no_spacing(self, tmp_path) -> None:
        """Nothing usable: spacing is None, warnings name both attributes."""
        path = write_dicom(tmp_path / "f.dcm", spacing=("0", "0"), imager_spacing=("x", "y"))
        film = read_radiograph(path)
        assert film.spacing is None
        assert sum("ignored" in w for w in film.warnings) == 2

    def test_pixel_spacing_equal_to_imager_warns(self, tmp_path) -> None:
        """Pixel Spacing copied from Imager Pixel Spacing without a calibration type is flagged, but still used."""
        path = write_dicom(tmp_path / "f.dcm", spacing=IPS, imager_spacing=IPS)
        film = read_radiograph(path)
        assert film.spacing.source is SpacingSource.PATIENT_PLANE
        assert any("copy the detector value" in w for w in film.warnings)
        calibrated = write_dicom(
            tmp_path / "g.dcm", spacing=IPS, imager_spacing=IPS, extra={"PixelSpacingCalibrationType": "GEOMETRY"}
        )
        assert not any("copy the detector value" in w for w in read_radiograph(calibrated).warnings)


def test_cr_plate_spacing_warns(tmp_path) -> None:
    """A CR film with only Pixel Spacing is used as patient plane but flagged; a calibration type silences it."""
    film = read_radiograph(write_dicom(tmp_path / "cr.dcm", spacing=PS, modality="CR"))
    assert film.spacing.source is SpacingSource.PATIENT_PLANE
    assert any("imaging plate" in w for w in film.warnings)
    typed = write_dicom(
        tmp_path / "cr2.dcm", spacing=PS, modality="CR", extra={"PixelSpacingCalibrationType": "GEOMETRY"}
    )
    assert not any("imaging plate" in w for w in read_radiograph(typed).warnings)
    assert not any("imaging plate" in w for w in read_radiograph(write_dicom(tmp_path / "dx.dcm", spacing=PS)).warnings)


def test_png_has_no_spacing_unless_given(tmp_path) -> None:
    """PNG carries no spacing (its DPI is ignored); a user value gives user calibration."""
    from PIL import Image

    path = tmp_path / "f.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(path, dpi=(300, 300))
    assert read_radiograph(path).spacing is None
    assert read_radiograph(path, pixel_spacing_mm=0.1).spacing.source is SpacingSource.USER_CALIBRATION
