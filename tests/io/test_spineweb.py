"""Tests for the SpineWeb Dataset 16 reader (fusionwatch.io.spineweb)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fusionwatch.anatomy import LUMBAR_LEVELS
from fusionwatch.errors import InputError, LandmarkError
from fusionwatch.io import read_spineweb, read_spineweb_row, spineweb_patient_id
from fusionwatch.landmarks import check_inside_image, check_vertebra_order
from fusionwatch.radiograph import View

W, H = 400, 800


def _column(tilt_deg: float = 0.0) -> np.ndarray:
    """(17, 4, 2) pixel corners TL, TR, BL, BR of 17 stacked bodies (30 px wide, 24 tall, 16 px apart) tilted about
    the centre of the film; vertebra k's top edge at y = 150 + 36 k before the tilt."""
    quads = []
    for k in range(17):
        top = 150.0 + 36.0 * k
        quads.append([(185.0, top), (215.0, top), (185.0, top + 24.0), (215.0, top + 24.0)])
    q = np.array(quads)
    t = math.radians(tilt_deg)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    centre = np.array([W / 2, H / 2])
    return (q - centre) @ rot.T + centre


def _row(quads: np.ndarray) -> list[float]:
    flat = quads.reshape(68, 2)
    return [*(flat[:, 0] / W), *(flat[:, 1] / H)]


class TestRow:
    """read_spineweb_row on synthetic rows."""

    def test_names_and_positions(self) -> None:
        """L1..L5 (vertebrae 13-17) map to AP names with image sides, at x * width, y * height."""
        quads = _column()
        lm = read_spineweb_row(_row(quads), W, H)
        assert lm.view is View.AP and len(lm.points) == 20 and not lm.needs_review
        for i, level in enumerate(LUMBAR_LEVELS):
            tl, tr, bl, br = quads[12 + i]
            assert lm.points[f"{level.value}.superior.left"] == pytest.approx(tuple(tl))
            assert lm.points[f"{level.value}.superior.right"] == pytest.approx(tuple(tr))
            assert lm.points[f"{level.value}.inferior.left"] == pytest.approx(tuple(bl))
            assert lm.points[f"{level.value}.inferior.right"] == pytest.approx(tuple(br))
        check_vertebra_order(lm)

    @pytest.mark.parametrize("perm", [(1, 0, 2, 3), (2, 3, 0, 1), (3, 2, 1, 0), (0, 3, 2, 1), (1, 2, 3, 0)])
    @pytest.mark.parametrize("tilt", [0.0, 25.0, -25.0])
    def test_corner_order_repaired(self, perm: tuple, tilt: float) -> None:
        """Corners given in any order (on a tilted spine too) are sorted geometrically into the right names."""
        quads = _column(tilt)
        expected = read_spineweb_row(_row(quads), W, H).points
        shuffled = quads.copy()
        shuffled[14] = quads[14][list(perm)]  # L3
        shuffled[3] = quads[3][list(perm)]  # a thoracic one (affects only the axis estimate)
        lm = read_spineweb_row(_row(shuffled), W, H)
        for name, p in expected.items():
            assert lm.points[name] == pytest.approx(p), name
        assert not lm.needs_review

    def test_cut_off_level_flagged(self) -> None:
        """L5 annotated at the top of the film (as in some rows of the release) is kept but flagged for review."""
        quads = _column()
        quads[16] = quads[0] - [0, 100]
        lm = read_spineweb_row(_row(quads), W, H)
        assert any("impossible order" in r for r in lm.needs_review)

    def test_wrong_length_raises(self) -> None:
        with pytest.raises(LandmarkError, match="has 135 values; expected 136"):
            read_spineweb_row([0.5] * 135, W, H)

    def test_not_normalised_raises(self) -> None:
        """Pixel values instead of fractions are refused."""
        with pytest.raises(LandmarkError, match="normalised"):
            read_spineweb_row([120.0] * 136, W, H)


class TestPatientId:
    @pytest.mark.parametrize(
        ("name", "pid"),
        [
            ("sunhl-1th-02-Jan-2017-162 A AP.jpg", "162"),
            ("sunhl-1th-03-Jan-2017-163 B AP.jpg", "163"),
            ("sunhl-1th-10-Nov-2016-103 A AP (2).jpg", "103"),
            ("sunhl-1th-10-Nov-2016-104 D AP1.jpg", "104"),
            ("sunhl-1th-20-Jul-2016-coronal6.jpg", "coronal6"),
            ("sunhl-1th-20-Jul-2016-coronal17.jpg", "coronal17"),
        ],
    )
    def test_patient_id(self, name: str, pid: str) -> None:
        """The number before the letter is the patient; each coronal<K> file is its own patient."""
        assert spineweb_patient_id(name) == pid

    def test_unknown_name_raises(self) -> None:
        with pytest.raises(InputError, match="Cannot tell the patient"):
            spineweb_patient_id("image001.jpg")


class TestFolder:
    """read_spineweb on a tiny synthetic release."""

    def _folder(self, tmp_path: Path, names: list[str]) -> Path:
        (tmp_path / "images").mkdir()
        rows = []
        for name in names:
            Image.fromarray(np.zeros((H, W), np.uint8)).save(tmp_path / "images" / name)
            rows.append(",".join(f"{v:.6f}" for v in _row(_column())))
        (tmp_path / "filenames.csv").write_text("\r\n".join(names) + "\r\n")  # the release uses CRLF
        (tmp_path / "landmarks.csv").write_text("\r\n".join(rows) + "\r\n")
        return tmp_path

    def test_iterates_in_order(self, tmp_path) -> None:
        names = ["sunhl-1th-02-Jan-2017-162 A AP.jpg", "sunhl-1th-20-Jul-2016-coronal1.jpg"]
        got = list(read_spineweb(self._folder(tmp_path, names)))
        assert [n for n, _ in got] == names
        assert all(lm.width == W and lm.height == H and len(lm.points) == 20 for _, lm in got)

    def test_missing_image_raises(self, tmp_path) -> None:
        folder = self._folder(tmp_path, ["sunhl-1th-02-Jan-2017-162 A AP.jpg"])
        (folder / "images" / "sunhl-1th-02-Jan-2017-162 A AP.jpg").unlink()
        with pytest.raises(InputError, match="is not in images/"):
            list(read_spineweb(folder))

    def test_row_count_mismatch_raises(self, tmp_path) -> None:
        folder = self._folder(tmp_path, ["sunhl-1th-02-Jan-2017-162 A AP.jpg"])
        (folder / "filenames.csv").write_text("a.jpg\nb.jpg\n")
        with pytest.raises(InputError, match="2 rows but landmarks.csv has 1"):
            list(read_spineweb(folder))


def _shared_spineweb() -> Path:
    root = os.environ.get("FUSIONWATCH_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "data"
    return base / "spineweb16-ap"


@pytest.mark.shared_data
def test_real_release() -> None:
    """Every row of the real release gives 20 L1-L5 points; rows that are inside the image and in order are the norm.

    The release has flawed rows (L5 annotated at the top of films where it is cut off, an L5 copied from L4, a collapsed
    L4, a point 57 px below the image): the reader keeps them and explains them in ``needs_review``. Here: every clean
    row passes the order and inside-image checks and has left corners left of right ones; at most 6 % are flagged
    (24 of 481 when written).
    """
    folder = _shared_spineweb()
    if not (folder / "landmarks.csv").is_file():
        pytest.skip(f"SpineWeb Dataset 16 not found at {folder} (set FUSIONWATCH_SHARED_DATA)")
    total = flagged = 0
    patients: set[str] = set()
    for name, lm in read_spineweb(folder):
        total += 1
        patients.add(spineweb_patient_id(name))
        assert len(lm.points) == 20 and lm.view is View.AP
        if lm.needs_review:
            flagged += 1
            continue
        check_inside_image(lm)
        check_vertebra_order(lm)
        for level in LUMBAR_LEVELS:
            for endplate in ("superior", "inferior"):
                left = lm.points[f"{level.value}.{endplate}.left"]
                right = lm.points[f"{level.value}.{endplate}.right"]
                assert left[0] < right[0], f"{name} {level.value} {endplate}"
    assert total == 481
    assert flagged <= 0.06 * total
    assert 200 <= len(patients) < total  # several films per patient: splits must group them


@settings(max_examples=60, deadline=None)
@given(
    tilt=st.floats(-30.0, 30.0),
    perms=st.lists(st.permutations([0, 1, 2, 3]), min_size=17, max_size=17),
)
def test_sorting_property(tilt: float, perms: list[list[int]]) -> None:
    """Any corner order in every vertebra, on a spine tilted up to 30 degrees, gives the same named points."""
    quads = _column(tilt)
    expected = read_spineweb_row(_row(quads), W, H).points
    shuffled = np.stack([quads[k][list(p)] for k, p in enumerate(perms)])
    lm = read_spineweb_row(_row(shuffled), W, H)
    for name, p in expected.items():
        assert lm.points[name] == pytest.approx(p), name
    assert not lm.needs_review
