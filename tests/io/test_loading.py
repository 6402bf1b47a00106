"""Tests for read_radiograph's dispatch and the errors that do not depend on the format (fusionwatch.io.loading)."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest
from PIL import Image

import fusionwatch.io as fio
from _synth import draw_lateral_spine, write_dicom
from fusionwatch.errors import FusionwatchError, InputError, UnsupportedImageError
from fusionwatch.io import read_radiograph
from fusionwatch.io.loading import output_folder, parse_dicom_date, sniff_format
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.units import SpacingSource

FILM16, _ = draw_lateral_spine(width=96, height=192, mm_per_px=2.0, seed=1)


class TestErrors:
    """One test per error path common to every format; each message names the file."""

    def test_not_found_raises(self, tmp_path) -> None:
        """A missing file is an InputError with its path."""
        with pytest.raises(InputError, match="Image file not found: .*missing.dcm"):
            read_radiograph(tmp_path / "missing.dcm")

    def test_folder_raises(self, tmp_path) -> None:
        """A folder is an InputError."""
        with pytest.raises(InputError, match="is a folder"):
            read_radiograph(tmp_path)

    def test_empty_raises(self, tmp_path) -> None:
        """A 0-byte file is an UnsupportedImageError."""
        path = tmp_path / "empty.png"
        path.write_bytes(b"")
        with pytest.raises(UnsupportedImageError, match="empty.png is empty"):
            read_radiograph(path)

    def test_not_an_image_raises(self, tmp_path) -> None:
        """A text file named .dcm is neither an image nor DICOM."""
        path = tmp_path / "notes.dcm"
        path.write_text("patient doing well, films next visit\n" * 20)
        with pytest.raises(UnsupportedImageError, match="notes.dcm is neither an image .* nor a DICOM file"):
            read_radiograph(path)

    def test_truncated_dicom_header_raises(self, tmp_path) -> None:
        """A DICOM cut inside its header is refused as truncated."""
        path = write_dicom(tmp_path / "head.dcm")
        path.write_bytes(path.read_bytes()[:200])
        with pytest.raises(UnsupportedImageError, match="head.dcm .*(truncated|corrupt)"):
            read_radiograph(path)

    def test_an_output_folder_that_is_a_file_raises(self, tmp_path) -> None:
        """output_folder refuses an existing file, naming the option; a folder or a path still to be made is fine."""
        taken = tmp_path / "taken.png"
        taken.write_bytes(b"x")
        with pytest.raises(InputError, match=r"--out .*taken.png is a file; give a folder"):
            output_folder(taken)
        new = tmp_path / "new" / "dir"
        assert output_folder(tmp_path) == tmp_path and output_folder(new) == new and not new.exists()

    def test_an_output_folder_that_cannot_be_made_raises_before_any_work(self, tmp_path) -> None:
        """A path under a file, or a symlink to nowhere, can never become a folder: refused at once, naming the option
        (they passed, and the command failed with 'File exists' / 'Not a directory' only after the work). A symlink
        to a folder and an existing empty folder are fine."""
        taken = tmp_path / "taken.png"
        taken.write_bytes(b"x")
        with pytest.raises(InputError, match=r"--out .*taken.png/sub cannot be made: .*taken.png is a file"):
            output_folder(taken / "sub")
        dangling = tmp_path / "gone"
        dangling.symlink_to(tmp_path / "nowhere")
        with pytest.raises(InputError, match=r"--out .*gone is a link to .*nowhere, which does not exist"):
            output_folder(dangling)
        (tmp_path / "real").mkdir()
        (tmp_path / "link").symlink_to(tmp_path / "real")
        (tmp_path / "empty").mkdir()
        assert output_folder(tmp_path / "link") == tmp_path / "link"
        assert output_folder(tmp_path / "empty") == tmp_path / "empty"
        assert output_folder(tmp_path / "link" / "new") == tmp_path / "link" / "new"

    def test_errors_are_fusionwatch_errors(self) -> None:
        """Both error classes used here are caught by the CLI's single FusionwatchError handler."""
        assert issubclass(InputError, FusionwatchError) and issubclass(UnsupportedImageError, FusionwatchError)

    def test_an_unknown_view_is_a_user_error(self, tmp_path) -> None:
        """Reviewer R's F17 (io part): read_radiograph(view='sideways') raised TypeError (ingest logged it as an
        unexpected error with a traceback); now an InputError naming the views, raised before the file is read."""
        png = tmp_path / "film.png"
        Image.fromarray((FILM16 // 256).astype(np.uint8)).save(png)
        with pytest.raises(InputError, match="Unknown view 'sideways'"):
            read_radiograph(png, view="sideways")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="Unknown view"):
            read_radiograph(tmp_path / "missing.png", view="sideways")  # type: ignore[arg-type]
        assert read_radiograph(png, view="Lateral").view is View.LATERAL  # type: ignore[arg-type]


class TestDispatch:
    """The format is sniffed from the content, not the name."""

    def test_png_named_dcm(self, tmp_path) -> None:
        """A PNG saved as .dcm is read as PNG."""
        path = tmp_path / "actually_png.dcm"
        Image.fromarray(np.full((20, 20), 7, np.uint8)).save(path, format="PNG")
        assert read_radiograph(path).pixels[0, 0] == 7.0

    @pytest.mark.parametrize("kind", ["dcm", "png"])
    def test_a_file_name_that_is_not_utf8_is_a_printable_source(self, tmp_path, kind: str) -> None:
        """A film whose file name holds a Latin-1 byte (caf\\xe9) is read, and its ``source`` is text that can be
        encoded (drawn on the overlay, stored, printed): it was the raw name with a lone surrogate, and 'fusionwatch
        measure' ended in a matplotlib TypeError traceback drawing the overlay title."""
        path = tmp_path / os.fsdecode(b"caf\xe9." + kind.encode())
        if kind == "dcm":
            write_dicom(path, FILM16)
        else:
            Image.fromarray((FILM16 >> 4).astype(np.uint8)).save(path, format="PNG")
        film = read_radiograph(path)
        assert film.source == f"caf\\xe9.{kind}"
        film.source.encode("utf-8")  # raised UnicodeEncodeError: surrogates not allowed

    def test_dicom_with_tiff_preamble(self, tmp_path) -> None:
        """A dual-format file (TIFF magic in the DICOM preamble, as some archives write) is read as DICOM."""
        path = write_dicom(tmp_path / "dual.dcm", spacing=(0.3, 0.3))
        data = bytearray(path.read_bytes())
        data[:8] = b"II*\x00\x08\x00\x00\x00"
        path.write_bytes(bytes(data))
        assert read_radiograph(path).spacing.dx_mm == 0.3

    def test_preamble_less_other_group(self, tmp_path) -> None:
        """A preamble-less data set starting with a group other than 0002/0008 is still recognised as DICOM."""
        path = write_dicom(tmp_path / "raw.dcm", preamble=False, extra={"SpecificCharacterSet": "ISO_IR 100"})
        assert sniff_format(path.read_bytes()[:256]) == "dicom"  # starts with (0008,0005)
        from pydicom import dcmread

        ds = dcmread(path, force=True)
        del ds.SpecificCharacterSet
        del ds.SOPClassUID, ds.SOPInstanceUID, ds.AccessionNumber, ds.Modality, ds.StudyDate
        ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
        assert path.read_bytes()[:2] == b"\x10\x00"  # now starts with group 0010 (patient)
        assert read_radiograph(path).width == 64

    @pytest.mark.parametrize(
        ("header", "kind"),
        [
            (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "png"),
            (b"\xff\xd8\xff\xe0" + b"\0" * 200, "jpeg"),
            (b"II*\x00" + b"\0" * 200, "tiff"),
            (b"MM\x00*" + b"\0" * 200, "tiff"),
            (b"\0" * 128 + b"DICM" + b"\0" * 50, "dicom"),
            (b"\x08\x00\x16\x00UI" + b"\0" * 200, "dicom"),
            (b"hello world" + b"\0" * 200, None),
        ],
    )
    def test_sniff(self, header: bytes, kind: str | None) -> None:
        """Magic numbers map to formats; unknown bytes to None."""
        assert sniff_format(header) == kind

    def test_full_dicom_film(self, tmp_path) -> None:
        """A drawn lateral DX film with Imager Pixel Spacing and magnification gives a complete Radiograph."""
        pixels, _ = draw_lateral_spine(width=96, height=192, mm_per_px=2.0)
        path = write_dicom(
            tmp_path / "lat.dcm",
            pixels,
            imager_spacing=(0.25, 0.25),
            magnification=1.25,
            view_position="LL",
            acquisition_date="20260304",
        )
        film = read_radiograph(path)
        assert isinstance(film, Radiograph)
        assert film.spacing.source is SpacingSource.MAGNIFICATION_CORRECTED and film.spacing.dx_mm == pytest.approx(0.2)
        assert film.view is View.LATERAL and film.acquired == dt.date(2026, 3, 4) and film.facing is None
        assert (film.width, film.height) == (96, 192)


def test_parse_dicom_date() -> None:
    """YYYYMMDD and the old YYYY.MM.DD parse; anything else raises ValueError."""
    assert parse_dicom_date("20260131") == dt.date(2026, 1, 31)
    assert parse_dicom_date("2026.01.31") == dt.date(2026, 1, 31)
    with pytest.raises(ValueError, match="not a DICOM date"):
        parse_dicom_date("20260231")


def test_public_names() -> None:
    """fusionwatch.io re-exports the readers listed in __all__."""
    for name in fio.__all__:
        assert callable(getattr(fio, name))
    assert {"read_radiograph", "read_landmarks", "write_landmarks"} <= set(fio.__all__)
