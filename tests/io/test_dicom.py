"""Tests for reading DICOM radiographs (fusionwatch.io.dicom through read_radiograph)."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import warnings

import numpy as np
import pydicom
import pytest
from pydicom import uid

from _synth import SYNTHETIC_PATIENT_ID, SYNTHETIC_PATIENT_NAME, draw_lateral_spine, write_dicom
from fusionwatch.errors import UnsupportedImageError
from fusionwatch.io import read_radiograph
from fusionwatch.io.dicom import dicom_image_size, pydicom_quiet
from fusionwatch.radiograph import View

# A drawn lateral film: 12-bit values 0..4095 (uint16) and the same scaled to 8 bits.
FILM16, LANDMARKS = draw_lateral_spine(width=96, height=192, mm_per_px=2.0, seed=1)
FILM8 = (FILM16 >> 4).astype(np.uint8)

# transfer syntax -> (pixels to encode, maximum absolute error allowed after decoding)
# Lossless syntaxes must round-trip exactly; the lossy ones within a bound measured on this film (JPEG baseline at
# quality 95 on 8-bit; JPEG-LS near-lossless with NEAR=2 is bounded by 2 by definition; JPEG 2000 at ratio 5:1).
TRANSFER_SYNTAXES = {
    "explicit_le": (uid.ExplicitVRLittleEndian, FILM16, 0),
    "implicit_le": (uid.ImplicitVRLittleEndian, FILM16, 0),
    "rle": (uid.RLELossless, FILM16, 0),
    "jpeg_baseline": (uid.JPEGBaseline8Bit, FILM8, 12),
    "jpeg_lossless_sv1": (uid.JPEGLosslessSV1, FILM16, 0),
    "jpeg_lossless": (uid.JPEGLossless, FILM8, 0),
    "jpeg_ls_lossless": (uid.JPEGLSLossless, FILM16, 0),
    "jpeg_ls_near_lossless": (uid.JPEGLSNearLossless, FILM16, 2),
    "jpeg2000_lossless": (uid.JPEG2000Lossless, FILM16, 0),
    "jpeg2000": (uid.JPEG2000, FILM16, 80),
}


class TestTransferSyntaxes:
    """Every supported encoding decodes to the pixels that were written."""

    @pytest.mark.parametrize("name", list(TRANSFER_SYNTAXES))
    def test_round_trip(self, name: str, tmp_path) -> None:
        """Pixels come back as float32 2-D, equal to the encoded ones within the syntax's loss."""
        ts, pixels, tolerance = TRANSFER_SYNTAXES[name]
        if ts in (uid.JPEGLossless, uid.JPEGLosslessSV1):
            pytest.importorskip(
                "imagecodecs", reason="the lossless JPEG test encoder comes from imagecodecs (dev extra)"
            )
        path = write_dicom(tmp_path / f"{name}.dcm", pixels, transfer_syntax=ts)
        film = read_radiograph(path)
        assert film.pixels.dtype == np.float32 and film.pixels.shape == pixels.shape
        assert np.abs(film.pixels - pixels.astype(np.float32)).max() <= tolerance
        # Even lossy files keep the image: the bright L3 body stays bright against soft tissue.
        x, y = np.mean(
            [LANDMARKS.points[f"L3.{e}.{c}"] for e in ("superior", "inferior") for c in ("anterior", "posterior")],
            axis=0,
        )
        assert film.pixels[int(y), int(x)] > film.pixels[5, 5] + 0.3 * (pixels.max() - pixels.min())

    def test_pydicom_jpeg_lossless_fixture(self, tmp_path) -> None:
        """pydicom's own JPEG lossless (process 14 SV1) RGB secondary capture decodes and becomes gray."""
        from pydicom.data import get_testdata_file

        src = get_testdata_file("SC_rgb_jpeg_gdcm.dcm", download=False)
        if src is None:
            pytest.skip("pydicom's SC_rgb_jpeg_gdcm.dcm test file is not installed")
        path = shutil.copy(src, tmp_path / "sc.dcm")
        film = read_radiograph(path)
        assert film.pixels.shape == (100, 100) and film.pixels.dtype == np.float32
        assert any("converted to gray" in w for w in film.warnings)
        # The file holds pure red/green/blue/white bands: gray levels of pure colours follow the luma weights.
        assert np.isclose(film.pixels.max(), 255.0, atol=1.0)

    def test_decoder_failure_raises(self, tmp_path) -> None:
        """Corrupt compressed data (JPEG 2000 codestream garbled) is an UnsupportedImageError naming the syntax."""
        path = write_dicom(tmp_path / "j2k.dcm", FILM16, transfer_syntax=uid.JPEG2000Lossless)
        data = bytearray(path.read_bytes())
        start = data.find(b"\xff\x4f\xff\x51")  # SOC + SIZ marker of the codestream
        assert start > 0
        data[start + 4 : start + 60] = b"\x00" * 56  # destroy the image header
        path.write_bytes(bytes(data))
        with pytest.raises(UnsupportedImageError, match="JPEG 2000.*could not be decoded") as exc:
            read_radiograph(path)
        assert str(path) in str(exc.value)


class TestPixelValues:
    """Photometric interpretation, Modality LUT and VOI window."""

    def test_monochrome1_inverted(self, tmp_path) -> None:
        """MONOCHROME1 is inverted within the stored range: bone stays bright; the window centre is mirrored."""
        inverted = (4095 - FILM16).astype(np.uint16)
        path = write_dicom(
            tmp_path / "m1.dcm",
            inverted,
            photometric="MONOCHROME1",
            window=(1000.0, 2000.0),
            extra={"BitsStored": 12, "HighBit": 11},
        )
        film = read_radiograph(path)
        np.testing.assert_array_equal(film.pixels, FILM16.astype(np.float32))
        assert film.display_window == pytest.approx((4095 - 1000.0, 2000.0))
        assert any("MONOCHROME1" in w for w in film.warnings)

    def test_rescale_applied(self, tmp_path) -> None:
        """Rescale slope 2 and intercept -1024 are applied to every pixel."""
        path = write_dicom(tmp_path / "r.dcm", FILM16, rescale=(2.0, -1024.0))
        film = read_radiograph(path)
        np.testing.assert_allclose(film.pixels, FILM16 * 2.0 - 1024.0)

    def test_monochrome1_with_rescale(self, tmp_path) -> None:
        """Inversion uses the rescaled range: x -> (lo + hi) - x with lo, hi the rescaled ends of the stored range."""
        path = write_dicom(
            tmp_path / "m1r.dcm",
            FILM16,
            photometric="MONOCHROME1",
            rescale=(0.5, 100.0),
            extra={"BitsStored": 12, "HighBit": 11},
        )
        film = read_radiograph(path)
        lo, hi = 100.0, 0.5 * 4095 + 100.0
        np.testing.assert_allclose(film.pixels, lo + hi - (FILM16 * 0.5 + 100.0), atol=1e-3)

    @pytest.mark.parametrize(("slope", "problem"), [("", "(0028,1053) Rescale Slope is empty or not a number"),
                                                     ("X1", "(0028,1053) Rescale Slope is empty or not a number"),
                                                     ("0", "(0028,1053) Rescale Slope is 0")])
    @pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
    def test_an_unusable_rescale_slope_is_a_warning_not_a_traceback(self, tmp_path, slope, problem,
                                                                    photometric) -> None:
        """An empty, non-numeric or zero Rescale Slope ended the read in a bare TypeError from pydicom (a traceback
        for a bad file); now the stored values are used as they are, the display window (in rescaled values) is not
        used, and a warning names the attribute."""
        path = write_dicom(tmp_path / "s.dcm", FILM16, photometric=photometric, window=(1000.0, 2000.0),
                           extra={"RescaleSlope": "7" if slope == "X1" else slope, "RescaleIntercept": "-1024",
                                  "BitsStored": 12, "HighBit": 11})
        if slope == "X1":  # pydicom will not write a non-number: put it in the bytes ("7" is padded to "7 ")
            data = path.read_bytes()
            at = data.index(b"\x28\x00\x53\x10")  # (0028,1053)
            path.write_bytes(data[:at + 8] + b"X1" + data[at + 10:])
        film = read_radiograph(path)
        expected = FILM16.astype(np.float32) if photometric == "MONOCHROME2" else np.float32(4095) - FILM16
        np.testing.assert_array_equal(film.pixels, expected)
        assert film.display_window is None
        assert any(w.startswith(problem) and "no rescale" in w for w in film.warnings), film.warnings

    @pytest.mark.parametrize(("extra", "problem"), [
        ({"RescaleSlope": "1\\2", "RescaleIntercept": "0"}, "(0028,1053) Rescale Slope has 2 values; expected 1"),
        ({"RescaleSlope": "1", "RescaleIntercept": "0\\5"}, "(0028,1052) Rescale Intercept has 2 values; expected 1"),
        ("no-lut", "(0028,3000) Modality LUT Sequence has no LUT Descriptor (0028,3002) of three numbers"),
        ("no-data", "(0028,3000) Modality LUT Sequence has no LUT Data (0028,3006)"),
        ("short", "(0028,3000) Modality LUT Sequence has 2 LUT Data entries; its LUT Descriptor says 4096"),
    ])
    def test_a_multi_valued_rescale_or_an_unusable_modality_lut_is_a_warning_not_a_traceback(
        self, tmp_path, extra, problem
    ) -> None:
        """Reviewer R's F7: a Rescale Slope '1\\2' ended the read in numpy's broadcast ValueError, a Modality LUT
        Sequence item without a LUT in pydicom's AttributeError (tracebacks for a bad file); now the stored values are
        used as they are, with a warning naming the attribute, as for an empty or zero slope."""
        from pydicom.dataset import Dataset
        from pydicom.sequence import Sequence

        if isinstance(extra, str):
            item = Dataset()
            if extra != "no-lut":
                item.LUTDescriptor = [4096, 0, 16]
                item.ModalityLUTType = "HU"
            if extra == "short":
                item.LUTData = b"\x00\x00\x01\x00"  # 2 entries of 16 bits
            extra = {"ModalityLUTSequence": Sequence([item])}
        path = write_dicom(tmp_path / "s.dcm", FILM16, extra={**extra, "BitsStored": 12, "HighBit": 11})
        film = read_radiograph(path)
        np.testing.assert_array_equal(film.pixels, FILM16.astype(np.float32))
        assert any(w.startswith(problem) and "no rescale" in w for w in film.warnings), film.warnings

    def test_window_recorded_not_applied(self, tmp_path) -> None:
        """Window centre/width are kept as display_window; pixels keep their full range."""
        path = write_dicom(tmp_path / "w.dcm", FILM16, window=(1500.0, 800.0))
        film = read_radiograph(path)
        assert film.display_window == (1500.0, 800.0)
        assert film.pixels.max() == FILM16.max()

    def test_voi_lut_sequence_recorded_as_window(self, tmp_path) -> None:
        """A VOI LUT table of 4096 entries starting at 0 is recorded as centre 2048, width 4096."""
        from pydicom.dataset import Dataset

        item = Dataset()
        item.LUTDescriptor = [4096, 0, 12]
        item.add_new(0x00283006, "US", list(range(4096)))  # LUT Data
        path = write_dicom(tmp_path / "v.dcm", FILM16, extra={"VOILUTSequence": [item]})
        film = read_radiograph(path)
        assert film.display_window == (2048.0, 4096.0)

    def test_rgb_converted_to_gray(self, tmp_path) -> None:
        """An RGB secondary capture becomes gray by BT.601 luma."""
        rgb = np.zeros((32, 32, 3), np.uint8)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 100, 200, 50
        path = write_dicom(tmp_path / "rgb.dcm", rgb, photometric="RGB", modality="OT")
        film = read_radiograph(path)
        assert film.pixels[0, 0] == pytest.approx(0.299 * 100 + 0.587 * 200 + 0.114 * 50, abs=1e-3)

    def test_no_preamble(self, tmp_path) -> None:
        """A file without the 128-byte preamble and file meta is read (implicit VR little endian)."""
        path = write_dicom(tmp_path / "raw.dcm", FILM16, spacing=(0.2, 0.2), preamble=False)
        assert path.read_bytes()[128:132] != b"DICM"
        film = read_radiograph(path)
        np.testing.assert_array_equal(film.pixels, FILM16.astype(np.float32))
        assert film.spacing.dx_mm == 0.2

    def test_image_size_without_decoding(self, tmp_path) -> None:
        """dicom_image_size() returns (width, height) from Columns/Rows."""
        path = write_dicom(tmp_path / "s.dcm", FILM16)
        assert dicom_image_size(path) == (96, 192)


class TestAttributes:
    """View, date and identifiers."""

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"view_position": "LL"}, View.LATERAL),
            ({"view_position": "RL"}, View.LATERAL),
            ({"view_position": "LAT"}, View.LATERAL),
            ({"view_position": "AP"}, View.AP),
            ({"view_position": "PA"}, View.AP),
            ({"view_code_meaning": "left lateral"}, View.LATERAL),
            ({"view_code_meaning": "antero-posterior"}, View.AP),
            ({"view_position": "LL", "series_description": "L-SPINE LAT FLEXION"}, View.FLEXION),
            ({"view_position": "RL", "image_comments": "ext"}, View.EXTENSION),
            ({"view_position": "LL", "series_description": "FLEX/EXT series"}, View.LATERAL),
            ({"view_position": "AP", "series_description": "FLEX"}, View.AP),
            ({}, None),
        ],
    )
    def test_view(self, kwargs: dict, expected: View | None, tmp_path) -> None:
        """View from View Position, View Code Sequence and FLEX/EXT in descriptions."""
        film = read_radiograph(write_dicom(tmp_path / "v.dcm", FILM16, **kwargs))
        assert film.view is expected

    def test_view_override_warns_on_conflict(self, tmp_path) -> None:
        """The user's view wins; a conflict with DICOM is a warning."""
        film = read_radiograph(write_dicom(tmp_path / "v.dcm", FILM16, view_position="AP"), view=View.LATERAL)
        assert film.view is View.LATERAL
        assert any("'lateral' by the user" in w and "'ap'" in w for w in film.warnings)

    def test_view_guessed_from_description_warns(self, tmp_path) -> None:
        """No View Position: 'LAT' in the series description gives lateral, flagged as a guess."""
        film = read_radiograph(write_dicom(tmp_path / "v.dcm", FILM16, series_description="LUMBAR LAT"))
        assert film.view is View.LATERAL and any("guessed" in w for w in film.warnings)

    def test_dates(self, tmp_path) -> None:
        """Acquisition Date wins over Study Date; an invalid one warns and the next valid one is used."""
        film = read_radiograph(
            write_dicom(tmp_path / "a.dcm", FILM16, acquisition_date="20260201", study_date="20260101")
        )
        assert film.acquired == dt.date(2026, 2, 1)
        film = read_radiograph(
            write_dicom(tmp_path / "b.dcm", FILM16, acquisition_date="20261340", study_date="20260101")
        )
        assert film.acquired == dt.date(2026, 1, 1)
        assert any("'20261340' is not a valid date" in w for w in film.warnings)

    def test_invalid_only_date_is_none(self, tmp_path) -> None:
        """The only date invalid: acquired is None, with a warning."""
        film = read_radiograph(write_dicom(tmp_path / "c.dcm", FILM16, study_date="yesterday"))
        assert film.acquired is None and any("not a valid date" in w for w in film.warnings)

    def test_ids(self, tmp_path) -> None:
        """Identifiers land in DicomIds; source is the file name only."""
        film = read_radiograph(write_dicom(tmp_path / "ids.dcm", FILM16))
        assert film.ids.patient_id == SYNTHETIC_PATIENT_ID and film.ids.patient_name == SYNTHETIC_PATIENT_NAME
        assert film.ids.sop_uid and film.ids.study_uid and film.ids.series_uid and film.ids.accession == "SYNACC1"
        assert film.source == "ids.dcm"
        assert SYNTHETIC_PATIENT_NAME not in repr(film)

    def test_non_projection_modality_warns(self, tmp_path) -> None:
        """A CT image is read but flagged."""
        film = read_radiograph(write_dicom(tmp_path / "ct.dcm", FILM16, modality="CT"))
        assert any("'CT' is not a projection radiograph" in w for w in film.warnings)

    def test_header_text_is_not_quoted_in_warnings(self, tmp_path) -> None:
        """Reviewer R's F1: text in a spacing, magnification or modality attribute is named, never quoted (warnings
        are stored, shown in reports and drawn on the annotated film); the modality's defined terms still are."""
        film = read_radiograph(write_dicom(tmp_path / "q.dcm", FILM16, spacing=("QZSPA", "QZSPB"),
                                           imager_spacing=(0.2, 0.2), magnification="QZMAG", modality="QZMOD"))
        assert not any("QZ" in w for w in film.warnings), film.warnings
        assert "Pixel Spacing (0028,0030) is not numeric; ignored." in film.warnings
        assert "Estimated Radiographic Magnification Factor (0018,1114) is not numeric; ignored." in film.warnings
        assert any(w.startswith("Modality (0008,0060) (an unlisted value) is not a projection") for w in film.warnings)


class TestRefusals:
    """One test per DICOM refusal; each message names the file."""

    def test_no_pixel_data_raises(self, tmp_path) -> None:
        """A presentation-state-like object without Pixel Data is refused, naming its SOP class."""
        path = write_dicom(
            tmp_path / "pr.dcm",
            FILM16,
            with_pixel_data=False,
            sop_class_uid=uid.GrayscaleSoftcopyPresentationStateStorage,
        )
        with pytest.raises(UnsupportedImageError, match=r"no Pixel Data \(7FE0,0010\).*Presentation State"):
            read_radiograph(path)

    @pytest.mark.parametrize(
        "transfer_syntax, keep",
        [
            (uid.ExplicitVRLittleEndian, "meta"),  # only the file meta header survived
            (uid.ExplicitVRLittleEndian, "before_pixels"),  # the data set up to (7FE0,0010), no pixels
            (uid.ExplicitVRLittleEndian, "half_pixels"),  # cut inside native pixel data
            (uid.RLELossless, "half_pixels"),  # cut inside encapsulated (compressed) pixel data
        ],
    )
    def test_truncated_file_says_so_plainly(self, tmp_path, transfer_syntax: str, keep: str) -> None:
        """A DICOM file cut short (an interrupted upload) is called truncated, with the file and the remedy first;
        pydicom's own words at most as a trailing clause (it said 'could not be decoded: ValueError: The number of
        bytes of pixel data is less than expected ...', or 'no Pixel Data: not an image' for a cut DX file)."""
        path = write_dicom(tmp_path / "cut.dcm", FILM16, transfer_syntax=transfer_syntax)
        data = path.read_bytes()
        pixel_tag = data.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010), little endian
        end = {"meta": 300, "before_pixels": pixel_tag, "half_pixels": (pixel_tag + len(data)) // 2}[keep]
        path.write_bytes(data[:end])
        with pytest.raises(UnsupportedImageError) as info:
            read_radiograph(path)
        text = str(info.value)
        assert text.startswith(f"{path} is truncated (the file ends early, at {end:,} bytes): "), text
        assert "Re-export the film" in text and "send it again" in text
        assert "not an image" not in text and "could not be decoded" not in text
        assert "pydicom" not in text.split(". ")[0]

    def test_a_file_damaged_in_the_middle_is_called_damaged(self, tmp_path) -> None:
        """Random bytes over the middle of a complete DX file (after its SOP Class UID, over the patient module):
        refused as damaged, not as truncated -- it said 'is truncated (the file ends early, at N bytes)' of a whole
        file."""
        path = write_dicom(tmp_path / "dmg.dcm", FILM16, extra={"PatientName": "ZEBEDEE^QUUX"})
        data = bytearray(path.read_bytes())
        start = data.index(b"ZEBEDEE") - 200  # the damage covers the elements before and after the name
        data[start:start + 600] = np.random.default_rng(0).bytes(600)
        path.write_bytes(bytes(data))
        with pytest.raises(UnsupportedImageError) as info:
            read_radiograph(path)
        text = str(info.value)
        assert text.startswith(f"{path} is damaged ({len(data):,} bytes): "), text
        assert "truncated" not in text and "ZEBEDEE" not in text and "Re-export the film" in text

    def test_a_clean_cut_after_an_unknown_element_is_still_called_truncated(self, tmp_path) -> None:
        """A film cut before its Pixel Data that holds an element the dictionary does not know, but reads whole (a
        private element whose creator was stripped, a newer standard's attribute), is truncated, not damaged: it was
        'damaged ... turns into unreadable bytes at element (0009,1001)'. Damaged bytes read as an element have no
        valid VR or a length longer than the file."""
        path = write_dicom(tmp_path / "cut.dcm", FILM16)
        ds = pydicom.dcmread(path)
        ds.add_new(0x00091001, "LO", "VENDOR VALUE")  # no private creator (0009,0010)
        ds.add_new(0x00181999, "LO", "NEWER ATTRIBUTE")  # not in pydicom's dictionary
        ds.save_as(path)
        data = path.read_bytes()
        path.write_bytes(data[:data.index(b"\xe0\x7f\x10\x00")])  # the file ends before (7FE0,0010)
        with pytest.raises(UnsupportedImageError) as info:
            read_radiograph(path)
        text = str(info.value)
        assert " is truncated " in text and "damaged" not in text, text

    def test_pydicom_quotes_no_value_of_the_file_in_warnings_or_log(self, tmp_path, caplog) -> None:
        """An element value pydicom finds invalid (here a Study Instance UID overwritten with a name and a birth date,
        as damaged bytes can do) is neither warned about nor logged: pydicom quoted it ("Invalid value for VR UI:
        'ZEBEDEE^QUUX 19610203'") on stderr and in the 'pydicom' log, and identifiers stay out of logs."""
        path = write_dicom(tmp_path / "ui.dcm", FILM16)
        study_uid = pydicom.dcmread(path).StudyInstanceUID.encode()
        path.write_bytes(path.read_bytes().replace(study_uid, b"ZEBEDEE^QUUX 19610203".ljust(len(study_uid))))
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
            warnings.simplefilter("always")
            film = read_radiograph(path)
        assert film.pixels.shape == FILM16.shape
        assert [str(w.message) for w in caught] == []
        assert [r.getMessage() for r in caplog.records if "ZEBEDEE" in r.getMessage()] == []

    def test_overlapping_quiet_blocks_in_two_threads_restore_the_state_they_found(self) -> None:
        """Two threads reading films at once (the web API, a threaded batch) leave warnings and the 'pydicom' log as
        they were. Each block saved the process-wide state it found and restored it on leaving: thread A enters, B
        enters (saving A's 'ignore everything'), A leaves, B leaves -- and every warning of the process stayed
        ignored, the 'pydicom' logger at CRITICAL, for good."""
        log = logging.getLogger("pydicom")
        level = log.level
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

        def a() -> None:
            with pydicom_quiet():
                a_in.set()
                b_in.wait(0.5)  # B enters now, or (blocks serialised) only after A has left
            a_out.set()

        def b() -> None:
            a_in.wait(5)
            with pydicom_quiet():
                b_in.set()
                a_out.wait(5)

        with warnings.catch_warnings(record=True) as caught:
            filters = list(warnings.filters)
            try:
                threads = [threading.Thread(target=a), threading.Thread(target=b)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(10)
                after_filters, after_level = list(warnings.filters), log.level
                warnings.warn("still heard", UserWarning, stacklevel=1)
            finally:
                log.setLevel(level)
        assert after_level == level
        assert after_filters == filters
        assert [str(w.message) for w in caught] == ["still heard"]

    def test_random_bytes_after_the_dicm_prefix_are_called_damaged(self, tmp_path) -> None:
        """A "DICM" prefix followed by random bytes is damaged, not truncated: nothing of a DICOM data set follows."""
        path = tmp_path / "noise.dcm"
        path.write_bytes(bytes(128) + b"DICM" + np.random.default_rng(1).bytes(2000))
        with pytest.raises(UnsupportedImageError, match=r"noise.dcm is damaged \(2,132 bytes\): it starts like"):
            read_radiograph(path)

    def test_a_report_object_is_not_called_truncated(self, tmp_path) -> None:
        """A complete non-image object (a structured report) is refused as not an image, not as truncated."""
        path = write_dicom(tmp_path / "sr.dcm", FILM16, with_pixel_data=False,
                           sop_class_uid=uid.Comprehensive3DSRStorage)
        with pytest.raises(UnsupportedImageError, match=r"no Pixel Data \(7FE0,0010\): a 'Comprehensive 3D SR"):
            read_radiograph(path)

    def test_palette_color_raises(self, tmp_path) -> None:
        """PALETTE COLOR is refused with the expected list."""
        path = write_dicom(tmp_path / "pal.dcm", FILM8, photometric="PALETTE COLOR")
        with pytest.raises(UnsupportedImageError, match="'PALETTE COLOR'.*expected one of MONOCHROME1"):
            read_radiograph(path)

    def test_ybr_partial_raises(self, tmp_path) -> None:
        """A YBR space pydicom does not convert (YBR_PARTIAL_420) is refused."""
        path = write_dicom(tmp_path / "ybr.dcm", FILM8, extra={"PhotometricInterpretation": "YBR_PARTIAL_420"})
        with pytest.raises(UnsupportedImageError, match="YBR_PARTIAL_420"):
            read_radiograph(path)

    def test_multi_frame_raises(self, tmp_path) -> None:
        """Two frames are refused: a film is one image."""
        path = write_dicom(tmp_path / "mf.dcm", np.stack([FILM16, FILM16]), number_of_frames=2)
        with pytest.raises(UnsupportedImageError, match="multi-frame image \\(2 frames\\)"):
            read_radiograph(path)

    def test_too_small_raises(self, tmp_path) -> None:
        """An 8 x 8 image is refused."""
        path = write_dicom(tmp_path / "tiny.dcm", np.zeros((8, 8), np.uint16))
        with pytest.raises(UnsupportedImageError, match="8 x 8 px.*at least 16 x 16"):
            read_radiograph(path)

    def test_truncated_raises(self, tmp_path) -> None:
        """A file cut in the middle of its pixel data is refused as truncated or undecodable."""
        path = write_dicom(tmp_path / "cut.dcm", FILM16)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - FILM16.nbytes // 2])
        with pytest.raises(UnsupportedImageError, match="cut.dcm"):
            read_radiograph(path)
