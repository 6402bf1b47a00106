"""Tests for the BUU-LSPINE lateral CSV reader (fusionwatch.io.buu_lspine)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from _synth import lateral_spine_points
from fusionwatch.errors import LandmarkError
from fusionwatch.io import read_buu_lateral_csv
from fusionwatch.io.buu_lspine import BUU_ROWS
from fusionwatch.landmarks import check_vertebra_order, lateral_facing
from fusionwatch.radiograph import Facing, View

W, H = 400, 600


def _truth(facing: str, rotate_deg: float = 0.0, **kw) -> dict[str, tuple[float, float]]:
    """A lordotic column (tests/_synth.py geometry) in pixels at 2 px/mm, rotated about the image centre."""
    mm = {k: v for k, v in lateral_spine_points(facing=facing, **kw).items() if not k.startswith("femoral")}
    xy = np.array(list(mm.values())) * 2.0
    xy += np.array([W / 2, H / 2]) - xy.mean(axis=0)
    t = math.radians(rotate_deg)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    xy = (xy - [W / 2, H / 2]) @ rot.T + [W / 2, H / 2]
    return {k: (float(x), float(y)) for k, (x, y) in zip(mm, xy, strict=True)}


def _write(path, truth: dict, order: str | list[bool]) -> None:
    """Write the 11 rows; ``order`` "ap" (anterior first), "pa", or a per-row list (True = anterior first)."""
    lines = []
    for i, (level, endplate) in enumerate(BUU_ROWS):
        a = truth[f"{level.value}.{endplate.value}.anterior"]
        p = truth[f"{level.value}.{endplate.value}.posterior"]
        first_anterior = order == "ap" if isinstance(order, str) else order[i]
        (x1, y1), (x2, y2) = (a, p) if first_anterior else (p, a)
        lines.append(f"{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f},0")
    path.write_text("\n".join(lines) + "\n")


def _assert_matches(lm, truth: dict) -> None:
    assert set(lm.points) == set(truth)
    for name, p in truth.items():
        assert lm.points[name] == pytest.approx(p, abs=1e-3), name


class TestAnteriorByGeometry:
    """Anterior/posterior come from anatomy, not from the column order."""

    @pytest.mark.parametrize("facing", ["left", "right"])
    @pytest.mark.parametrize("order", ["ap", "pa"])
    def test_both_facings_both_orders(self, facing: str, order: str, tmp_path) -> None:
        """Every combination of facing and column order gives the true labels, unflagged."""
        truth = _truth(facing)
        path = tmp_path / "0001.csv"
        _write(path, truth, order)
        lm = read_buu_lateral_csv(path, W, H)
        _assert_matches(lm, truth)
        assert lateral_facing(lm) is Facing(facing)
        assert lm.view is View.LATERAL and lm.source == "file:buu-lspine" and not lm.needs_review
        check_vertebra_order(lm)

    def test_rows_swapped_individually(self, tmp_path) -> None:
        """Columns swapped in some rows only are still labelled right."""
        truth = _truth("left")
        order = [bool(b) for b in np.random.default_rng(3).integers(0, 2, len(BUU_ROWS))]
        assert any(order) and not all(order)
        path = tmp_path / "mixed.csv"
        _write(path, truth, order)
        _assert_matches(read_buu_lateral_csv(path, W, H), truth)

    @pytest.mark.parametrize("rotate_deg", [-20.0, 20.0])
    def test_rotated_film(self, rotate_deg: float, tmp_path) -> None:
        """A film rotated by 20 degrees either way is still labelled right."""
        truth = _truth("right", rotate_deg)
        path = tmp_path / "rot.csv"
        _write(path, truth, "pa")
        _assert_matches(read_buu_lateral_csv(path, W, H), truth)

    @pytest.mark.parametrize("ss", [20.0, 55.0])
    def test_sacral_slope_range(self, ss: float, tmp_path) -> None:
        """Low and high sacral slopes both work."""
        truth = _truth("left", sacral_slope_deg=ss)
        path = tmp_path / "ss.csv"
        _write(path, truth, "pa")
        _assert_matches(read_buu_lateral_csv(path, W, H), truth)

    def test_disagreeing_cues_flagged(self, tmp_path) -> None:
        """S1 sloping the wrong way is outvoted by lordosis and disc wedging, and the result is flagged for review."""
        truth = _truth("left")
        a, p = truth["S1.superior.anterior"], truth["S1.superior.posterior"]
        # Tilt S1 the other way about its midpoint: anterior corner now higher than the posterior one.
        mid = ((a[0] + p[0]) / 2, (a[1] + p[1]) / 2)
        truth["S1.superior.anterior"] = (a[0], mid[1] - (a[1] - mid[1]))
        truth["S1.superior.posterior"] = (p[0], mid[1] - (p[1] - mid[1]))
        path = tmp_path / "odd.csv"
        _write(path, truth, "pa")
        lm = read_buu_lateral_csv(path, W, H)
        _assert_matches(lm, truth)
        assert any("against sacral slope" in r for r in lm.needs_review)

    def test_straight_column_falls_back_to_x1(self, tmp_path) -> None:
        """No cue at all (straight, unwedged, flat S1): x1 is taken as anterior and the result is flagged."""
        rows = []
        for i in range(len(BUU_ROWS)):
            y = 50.0 + 40.0 * i
            rows.append(f"100,{y},140,{y},0")
        path = tmp_path / "flat.csv"
        path.write_text("\n".join(rows))
        lm = read_buu_lateral_csv(path, W, H)
        assert lm.points["L3.superior.anterior"] == (100.0, 210.0)  # row 5 (index 4): y = 50 + 40 * 4
        assert any("could not be decided" in r for r in lm.needs_review)


class TestImageSize:
    """Where the image size comes from."""

    def test_companion_image(self, tmp_path) -> None:
        """An image with the same stem beside the CSV gives the size."""
        truth = _truth("left")
        _write(tmp_path / "0002-M-050Y0.csv", truth, "ap")
        Image.fromarray(np.zeros((H, W), np.uint8)).save(tmp_path / "0002-M-050Y0.jpg")
        lm = read_buu_lateral_csv(tmp_path / "0002-M-050Y0.csv")
        assert (lm.width, lm.height) == (W, H)

    def test_image_argument_mismatch_raises(self, tmp_path) -> None:
        """A given image whose size contradicts width/height is refused."""
        _write(tmp_path / "a.csv", _truth("left"), "ap")
        Image.fromarray(np.zeros((H, W), np.uint8)).save(tmp_path / "other.png")
        assert read_buu_lateral_csv(tmp_path / "a.csv", image=tmp_path / "other.png").width == W
        with pytest.raises(LandmarkError, match="is 400 x 600 px"):
            read_buu_lateral_csv(tmp_path / "a.csv", 300, 600, image=tmp_path / "other.png")

    def test_no_size_raises(self, tmp_path) -> None:
        """No size, no image: a LandmarkError says how to give one."""
        _write(tmp_path / "b.csv", _truth("left"), "ap")
        with pytest.raises(LandmarkError, match="no image size"):
            read_buu_lateral_csv(tmp_path / "b.csv")


class TestRefusals:
    """Malformed files."""

    def test_missing_file_raises(self, tmp_path) -> None:
        with pytest.raises(LandmarkError, match="not found"):
            read_buu_lateral_csv(tmp_path / "none.csv", W, H)

    def test_wrong_row_count_raises(self, tmp_path) -> None:
        path = tmp_path / "ten.csv"
        path.write_text("\n".join("1,2,3,4,0" for _ in range(10)))
        with pytest.raises(LandmarkError, match="has 10 rows.*11"):
            read_buu_lateral_csv(path, W, H)

    def test_non_numeric_raises(self, tmp_path) -> None:
        path = tmp_path / "txt.csv"
        _write(path, _truth("left"), "ap")
        lines = path.read_text().splitlines()
        lines[4] = "a,b,c,d,0"
        path.write_text("\n".join(lines))
        with pytest.raises(LandmarkError, match="row 5.*not four numbers"):
            read_buu_lateral_csv(path, W, H)

    def test_outside_image_raises(self, tmp_path) -> None:
        """Points beyond the given size mean the CSV belongs to another image."""
        path = tmp_path / "big.csv"
        _write(path, _truth("left"), "ap")
        with pytest.raises(LandmarkError, match="outside the 100 x 100 px image"):
            read_buu_lateral_csv(path, 100, 100)

    def test_header_line_tolerated(self, tmp_path) -> None:
        """A header line before the 11 rows is skipped."""
        truth = _truth("left")
        path = tmp_path / "hdr.csv"
        _write(path, truth, "ap")
        path.write_text("x1,y1,x2,y2,label\n" + path.read_text())
        _assert_matches(read_buu_lateral_csv(path, W, H), truth)


class TestProperties:
    """Random facings, rotations, sacral slopes and per-row column swaps never change the anatomical labels."""

    @settings(max_examples=60, deadline=None)
    @given(
        facing=st.sampled_from(["left", "right"]),
        rotate=st.floats(-25.0, 25.0),
        ss=st.floats(20.0, 60.0),
        swaps=st.lists(st.booleans(), min_size=len(BUU_ROWS), max_size=len(BUU_ROWS)),
    )
    def test_labels_invariant(self, facing: str, rotate: float, ss: float, swaps: list[bool]) -> None:
        """The reader recovers the true corners whatever the column order."""
        import tempfile
        from pathlib import Path

        truth = _truth(facing, rotate, sacral_slope_deg=ss)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "p.csv"
            _write(path, truth, swaps)
            lm = read_buu_lateral_csv(path, W, H)
        _assert_matches(lm, truth)
        assert not lm.needs_review
