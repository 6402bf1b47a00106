"""Tests for PNG / JPEG / TIFF films (fusionwatch.io.raster through read_radiograph)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tifffile
from PIL import Image

from _synth import draw_lateral_spine
from fusionwatch.errors import UnsupportedImageError
from fusionwatch.io import image_size, read_radiograph

FILM16, _ = draw_lateral_spine(width=96, height=192, mm_per_px=2.0, seed=2)
FILM16 = (FILM16.astype(np.uint32) * 16).astype(np.uint16)  # use the full 16-bit range
FILM8 = (FILM16 >> 8).astype(np.uint8)


class TestFormats:
    """Gray 8- and 16-bit, colour, every container."""

    def test_png_8bit(self, tmp_path) -> None:
        """8-bit PNG round-trips exactly; no spacing, view, date or ids."""
        path = tmp_path / "f.png"
        Image.fromarray(FILM8).save(path)
        film = read_radiograph(path)
        np.testing.assert_array_equal(film.pixels, FILM8.astype(np.float32))
        assert film.spacing is None and film.view is None and film.acquired is None and film.ids.sop_uid is None

    def test_png_16bit(self, tmp_path) -> None:
        """16-bit PNG keeps values above 255."""
        path = tmp_path / "f16.png"
        Image.fromarray(FILM16).save(path)
        film = read_radiograph(path)
        np.testing.assert_array_equal(film.pixels, FILM16.astype(np.float32))
        assert film.pixels.max() > 255

    def test_jpeg(self, tmp_path) -> None:
        """JPEG decodes within lossy tolerance."""
        path = tmp_path / "f.jpg"
        Image.fromarray(FILM8).save(path, quality=95)
        film = read_radiograph(path)
        assert np.abs(film.pixels - FILM8).max() <= 12

    @pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
    def test_tiff(self, dtype, tmp_path) -> None:
        """8- and 16-bit TIFF (tifffile) round-trip exactly."""
        pixels = FILM8 if dtype == np.uint8 else FILM16
        path = tmp_path / "f.tif"
        tifffile.imwrite(path, pixels)
        np.testing.assert_array_equal(read_radiograph(path).pixels, pixels.astype(np.float32))

    def test_tiff_lzw_via_pillow(self, tmp_path) -> None:
        """An LZW TIFF written by Pillow is read (tifffile or the Pillow fallback)."""
        path = tmp_path / "lzw.tif"
        Image.fromarray(FILM8).save(path, compression="tiff_lzw")
        np.testing.assert_array_equal(read_radiograph(path).pixels, FILM8.astype(np.float32))

    def test_rgb_to_gray(self, tmp_path) -> None:
        """RGB becomes BT.601 luma, with a warning; gray stored as RGB gives no warning."""
        rgb = np.zeros((32, 32, 3), np.uint8)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 0
        path = tmp_path / "c.png"
        Image.fromarray(rgb).save(path)
        film = read_radiograph(path)
        assert film.pixels[3, 3] == pytest.approx(0.299 * 200 + 0.587 * 100, abs=1e-3)
        assert any("converted to gray" in w for w in film.warnings)
        gray_rgb = np.repeat(FILM8[..., None], 3, axis=2)
        Image.fromarray(gray_rgb).save(path)
        film = read_radiograph(path)
        np.testing.assert_allclose(film.pixels, FILM8, atol=1e-3)
        assert not any("converted to gray" in w for w in film.warnings)

    def test_rgba_drops_alpha(self, tmp_path) -> None:
        """RGBA: alpha dropped with a warning."""
        rgba = np.dstack([np.repeat(FILM8[..., None], 3, axis=2), np.full(FILM8.shape, 128, np.uint8)])
        path = tmp_path / "a.png"
        Image.fromarray(rgba).save(path)
        film = read_radiograph(path)
        np.testing.assert_allclose(film.pixels, FILM8, atol=1e-3)
        assert any("Alpha" in w for w in film.warnings)

    def test_exif_orientation_applied(self, tmp_path) -> None:
        """A JPEG with EXIF orientation 6 (rotate 90 deg) is read as displayed; image_size agrees."""
        img = Image.fromarray(FILM8)
        exif = img.getexif()
        exif[0x0112] = 6
        path = tmp_path / "rot.jpg"
        img.save(path, exif=exif, quality=95)
        film = read_radiograph(path)
        assert film.pixels.shape == (FILM8.shape[1], FILM8.shape[0])
        assert image_size(path) == (film.width, film.height)
        assert any("EXIF orientation 6" in w for w in film.warnings)

    def test_image_size(self, tmp_path) -> None:
        """image_size() reads (width, height) from the header."""
        path = tmp_path / "f.png"
        Image.fromarray(FILM8).save(path)
        assert image_size(path) == (96, 192)


class TestRefusals:
    """Raster files that are not one usable film."""

    def test_multi_page_tiff_raises(self, tmp_path) -> None:
        """Two pages are refused."""
        path = tmp_path / "two.tif"
        tifffile.imwrite(path, np.stack([FILM8, FILM8]), photometric="minisblack")
        with pytest.raises(UnsupportedImageError, match="multi-page TIFF \\(2 pages\\)"):
            read_radiograph(path)

    def test_truncated_png_raises(self, tmp_path) -> None:
        """A PNG cut in half is refused as truncated or corrupt."""
        path = tmp_path / "cut.png"
        Image.fromarray(FILM8).save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(UnsupportedImageError, match="cut.png could not be decoded"):
            read_radiograph(path)

    def test_truncated_png_raises_after_weasyprint_import(self, tmp_path, monkeypatch) -> None:
        """WeasyPrint (the PDF reports) sets Pillow's process-wide LOAD_TRUNCATED_IMAGES on import; a cut PNG is still
        refused (it was read as a film with a grey lower half in any process that had written a PDF report), and the
        global setting is left as it was."""
        from PIL import ImageFile

        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
        path = tmp_path / "cut.png"
        Image.fromarray(FILM8).save(path)
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        with pytest.raises(UnsupportedImageError, match="cut.png could not be decoded: the file is truncated"):
            read_radiograph(path)
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True

    def test_a_reader_in_another_thread_keeps_truncated_files_refused(self, monkeypatch) -> None:
        """Two threads reading films at once (web API, threaded batch) in a process where WeasyPrint set
        LOAD_TRUNCATED_IMAGES: thread A's block ended while B was still reading and put back True under B, so B
        would read a cut film with a grey lower half; after both, the flag must be what it was."""
        from PIL import ImageFile

        from fusionwatch.io.raster import _strict_truncation

        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen_by_b: list[bool] = []

        def a() -> None:
            with _strict_truncation():
                a_in.set()
                b_in.wait(0.5)  # B enters now, or (blocks serialised) only after A has left
            a_out.set()

        def b() -> None:
            a_in.wait(5)
            with _strict_truncation():
                b_in.set()
                a_out.wait(0.5)
                seen_by_b.append(ImageFile.LOAD_TRUNCATED_IMAGES)

        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert seen_by_b == [False]
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True

    def test_too_small_png_raises(self, tmp_path) -> None:
        """A 10 x 20 px PNG is refused."""
        path = tmp_path / "small.png"
        Image.fromarray(np.zeros((20, 10), np.uint8)).save(path)
        with pytest.raises(UnsupportedImageError, match="10 x 20 px"):
            read_radiograph(path)
