"""Tests for fusionwatch.detect.datasets: every reader on tiny synthetic files, spec parsing, patient-grouped splits."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusionwatch.anatomy import AP_POINT_NAMES, LATERAL_POINT_NAMES
from fusionwatch.detect.datasets import (
    Sample,
    load_data,
    order_quads_top_to_bottom,
    parse_data_spec,
    read_coco_samples,
    read_fusionwatch_samples,
    read_mendeley_json,
    read_mendeley_samples,
    read_spineweb_samples,
    read_yolo_pose,
    sort_quad,
    spineweb_patient,
    split_by_patient,
)
from fusionwatch.errors import InputError, LandmarkError
from fusionwatch.io.landmark_json import write_landmarks
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import View

SHARED = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))

# Lateral bodies of a film facing image-left (anterior at smaller x), S1 endplate sloping down anteriorly.
LATERAL_QUADS = {
    "L3": [(100, 100), (150, 98), (102, 140), (152, 138)],
    "L4": [(98, 150), (150, 150), (100, 192), (152, 190)],
    "L5": [(96, 202), (150, 200), (100, 240), (152, 236)],
    "S1": [(100, 262), (150, 248)],
}


def _png(path: Path, w: int = 200, h: int = 300) -> Path:
    Image.fromarray((np.random.default_rng(0).uniform(0, 255, (h, w))).astype(np.uint8)).save(path)
    return path


class TestSortQuad:
    """Tests for sort_quad()."""

    @pytest.mark.parametrize("tilt_deg", [-35.0, -10.0, 0.0, 20.0, 40.0])
    def test_any_input_order_and_tilt(self, tilt_deg: float) -> None:
        """Corners given in any order come back TL, TR, BL, BR, also for strongly tilted bodies."""
        t = np.radians(tilt_deg)
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        ideal = np.array([[-20.0, -15.0], [20.0, -15.0], [-20.0, 15.0], [20.0, 15.0]]) @ rot.T + [300, 400]
        rng = np.random.default_rng(int(tilt_deg) + 50)
        for _ in range(5):
            shuffled = ideal[rng.permutation(4)]
            np.testing.assert_allclose(sort_quad(shuffled), ideal)


class TestSpineWeb:
    """Tests for read_spineweb_samples() on a synthetic two-film folder."""

    def test_reads_l1_l5_with_patient_keys(self, tmp_path: Path) -> None:
        """The five lowest of 17 vertebrae become L1-L5 with AP names; files of one patient share a key."""
        (tmp_path / "images").mkdir()
        names = ["sunhl-1th-02-Jan-2017-162 A AP.jpg", "sunhl-1th-02-Jan-2017-162 B AP.jpg"]
        rows = []
        for n in names:
            _png(tmp_path / "images" / n, 100, 400).rename(tmp_path / "images" / n)
            xs, ys = [], []
            for k in range(17):
                y0 = 10 + 22 * k
                # corners written in a shuffled order for vertebra 16 (L5): the reader sorts them
                quad = [(30, y0), (70, y0), (30, y0 + 15), (70, y0 + 15)]
                if k == 16:
                    quad = [quad[3], quad[0], quad[2], quad[1]]
                xs += [q[0] / 100 for q in quad]
                ys += [q[1] / 400 for q in quad]
            rows.append(xs + ys)
        with (tmp_path / "filenames.csv").open("w", newline="") as f:
            csv.writer(f).writerows([[n] for n in names])
        with (tmp_path / "landmarks.csv").open("w", newline="") as f:
            csv.writer(f).writerows(rows)
        samples = read_spineweb_samples(tmp_path, max_side=None)
        assert len(samples) == 2 and samples[0].view is View.AP
        assert samples[0].patient == samples[1].patient == "spineweb-162"
        assert samples[0].group == "batch Jan 2017"  # the date in the file name: evaluations report it separately
        p = samples[0].points
        assert set(p) == {n for n in AP_POINT_NAMES if not n.startswith("S1")}
        assert p["L1.superior.left"] == pytest.approx((30.0, 10 + 22 * 12))
        assert p["L5.inferior.right"] == pytest.approx((70.0, 10 + 22 * 16 + 15))
        extra = samples[0].truth["extra_points"]
        assert len(extra) == 48 and "T1.superior.left" in extra and "T12.inferior.right" in extra
        assert extra["T1.superior.left"] == pytest.approx((30.0, 10.0))
        assert extra["T12.inferior.right"] == pytest.approx((70.0, 10 + 22 * 11 + 15))

    def test_vertebrae_listed_out_of_order_are_named_by_height(self, tmp_path: Path) -> None:
        """A file that lists the lowest vertebra first (as some release rows do with L5) still gets L5 at the bottom
        and T1 at the top; order_levels=False keeps the file's order."""
        (tmp_path / "images").mkdir()
        name = "sunhl-1th-02-Jan-2017-7 A AP.jpg"
        _png(tmp_path / "images" / name, 100, 400).rename(tmp_path / "images" / name)
        quads = [[(30, 10 + 22 * k), (70, 10 + 22 * k), (30, 25 + 22 * k), (70, 25 + 22 * k)] for k in range(17)]
        listed = [quads[16]] + quads[:16]  # the bottom vertebra first in the file
        xs = [q[0] / 100 for quad in listed for q in quad]
        ys = [q[1] / 400 for quad in listed for q in quad]
        with (tmp_path / "filenames.csv").open("w", newline="") as f:
            csv.writer(f).writerow([name])
        with (tmp_path / "landmarks.csv").open("w", newline="") as f:
            csv.writer(f).writerow(xs + ys)
        ordered = read_spineweb_samples(tmp_path, max_side=None)[0]
        assert ordered.points["L5.inferior.left"] == pytest.approx((30.0, 25 + 22 * 16))
        assert ordered.truth["extra_points"]["T1.superior.right"] == pytest.approx((70.0, 10.0))
        raw = read_spineweb_samples(tmp_path, max_side=None, order_levels=False)[0]
        assert raw.truth["extra_points"]["T1.superior.right"] == pytest.approx((70.0, 10 + 22 * 16))
        assert raw.points["L5.inferior.left"] == pytest.approx((30.0, 25 + 22 * 15))
        # the same two readings through the data specs `fusionwatch train/evaluate --data` take
        from fusionwatch.detect.datasets import load_data

        spec_raw = load_data(f"spineweb-as-released:{tmp_path}", max_side=None)[0]
        assert spec_raw.points["L5.inferior.left"] == pytest.approx((30.0, 25 + 22 * 15))
        spec_ordered = load_data(f"spineweb:{tmp_path}", max_side=None)[0]
        assert spec_ordered.points["L5.inferior.left"] == pytest.approx((30.0, 25 + 22 * 16))

    def test_order_quads_top_to_bottom_is_stable(self) -> None:
        """Quadrilaterals are sorted by the height of their centres; equal heights keep the file's order."""
        q = np.array(
            [
                [[0, 50], [1, 50], [0, 60], [1, 60]],
                [[5, 0], [6, 0], [5, 10], [6, 10]],
                [[9, 0], [8, 0], [9, 10], [8, 10]],
            ],
            float,
        )
        out = order_quads_top_to_bottom(q)
        np.testing.assert_array_equal(out, q[[1, 2, 0]])

    def test_missing_csv_raises(self, tmp_path: Path) -> None:
        """A folder without the CSV files raises InputError naming what is expected."""
        with pytest.raises(InputError, match="filenames.csv"):
            read_spineweb_samples(tmp_path)

    def test_batch_from_file_name(self) -> None:
        """The file name's date names the batch (the batches' annotations differ); no date -> 'batch unknown'."""
        from fusionwatch.detect.datasets import spineweb_batch

        assert spineweb_batch("sunhl-1th-26-Jul-2016-66 B AP.jpg") == "batch Jul 2016"
        assert spineweb_batch("sunhl-1th-20-Jul-2016-coronal6.jpg") == "batch Jul 2016"
        assert spineweb_batch("film 12.jpg") == "batch unknown"

    def test_coronal_files_are_their_own_patient(self) -> None:
        """coronal<K> files have no patient number: each file is its own group."""
        a = spineweb_patient("sunhl-1th-20-Jul-2016-coronal6.jpg")
        b = spineweb_patient("sunhl-1th-20-Jul-2016-coronal7.jpg")
        assert a != b

    @pytest.mark.shared_data
    def test_real_release(self) -> None:
        """The shared SpineWeb folder reads into 481 films with 20 corners each."""
        folder = SHARED / "spineweb16-ap"
        if not folder.is_dir():
            pytest.skip(f"shared data absent: {folder}")
        samples = read_spineweb_samples(folder, max_side=256, limit=3)
        assert len(samples) == 3 and all(len(s.points) == 20 for s in samples)


class TestMendeley:
    """Tests for the Spondylolisthesis Vertebral Landmark Dataset readers (JSON and YOLO-pose)."""

    def test_json_and_yolo_agree_whatever_the_corner_order(self, tmp_path: Path) -> None:
        """JSON (one corner order) and YOLO-pose (another, normalised) give the same named points."""
        shapes = [{"label": k, "points": [list(p) for p in v]} for k, v in LATERAL_QUADS.items()]
        (tmp_path / "a.json").write_text(json.dumps({"shapes": shapes}))
        from_json = read_mendeley_json(tmp_path / "a.json")
        w, h = 200, 300
        lines = []
        for cls, key in enumerate(["L3", "L4", "L5", "S1"]):
            q = LATERAL_QUADS[key][::-1]  # reversed order in the txt file
            flat = " ".join(f"{x / w:.6f} {y / h:.6f} 2" for x, y in q)
            lines.append(f"{cls} 0.5 0.5 0.2 0.2 {flat}")
        (tmp_path / "a.txt").write_text("\n".join(lines))
        from_yolo = read_yolo_pose(tmp_path / "a.txt", w, h)
        assert set(from_json) == set(from_yolo)
        for n in from_json:
            assert from_yolo[n] == pytest.approx(from_json[n], abs=1e-3)
        assert from_json["L4.superior.anterior"] == (98.0, 150.0)  # facing left: anterior = smaller x
        assert from_json["S1.superior.anterior"] == (100.0, 262.0)  # the lower S1 corner is anterior

    def test_mirrored_film_swaps_anterior(self) -> None:
        """On a film facing right, anterior corners are the ones at larger x."""
        import tempfile

        mirrored = {k: [(250 - x, y) for x, y in v] for k, v in LATERAL_QUADS.items()}
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "m.json"
            p.write_text(json.dumps({"shapes": [{"label": k, "points": v} for k, v in mirrored.items()]}))
            pts = read_mendeley_json(p)
        assert pts["L4.superior.anterior"] == (152.0, 150.0)

    def test_folder_pairs_images_and_annotations(self, tmp_path: Path) -> None:
        """read_mendeley_samples pairs <stem>.jpg with <stem>.json."""
        _png(tmp_path / "f1.png")
        (tmp_path / "f1.json").write_text(
            json.dumps({"shapes": [{"label": k, "points": v} for k, v in LATERAL_QUADS.items()]})
        )
        samples = read_mendeley_samples(tmp_path)
        assert len(samples) == 1 and samples[0].view is View.LATERAL and len(samples[0].points) == 14

    def test_bad_json_raises(self, tmp_path: Path) -> None:
        """A JSON without vertebra labels raises LandmarkError."""
        (tmp_path / "x.json").write_text(json.dumps({"shapes": [{"label": "T12", "points": [[1, 2]]}]}))
        with pytest.raises(LandmarkError, match="no L3"):
            read_mendeley_json(tmp_path / "x.json")


class TestCocoAndFusionwatch:
    """Tests for read_coco_samples() and read_fusionwatch_samples()."""

    def test_coco_keypoints(self, tmp_path: Path) -> None:
        """Named COCO keypoints become lateral landmarks; visibility 0 is skipped."""
        _png(tmp_path / "img.png")
        names = list(LATERAL_POINT_NAMES[:4])
        coco = {
            "images": [{"id": 1, "file_name": "img.png", "width": 200, "height": 300}],
            "categories": [{"id": 1, "name": "spine", "keypoints": names}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [10, 20, 2, 50, 20, 2, 10, 60, 2, 0, 0, 0]}
            ],
        }
        (tmp_path / "c.json").write_text(json.dumps(coco))
        s = read_coco_samples(tmp_path / "c.json")[0]
        assert s.view is View.LATERAL and set(s.points) == set(names[:3])
        assert s.points[names[1]] == (50.0, 20.0)

    def test_coco_unknown_names_raise(self, tmp_path: Path) -> None:
        """Keypoint names that are not fusionwatch landmarks raise LandmarkError naming them."""
        _png(tmp_path / "img.png")
        coco = {
            "images": [{"id": 1, "file_name": "img.png"}],
            "categories": [{"id": 1, "keypoints": ["nose"]}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1, 2, 2]}],
        }
        (tmp_path / "c.json").write_text(json.dumps(coco))
        with pytest.raises(LandmarkError, match="nose"):
            read_coco_samples(tmp_path / "c.json")

    def test_fusionwatch_json_beside_image(self, tmp_path: Path) -> None:
        """<stem>.landmarks.json beside <stem>.png is read; a size mismatch raises."""
        _png(tmp_path / "a.png")
        write_landmarks(
            Landmarks({"L5.inferior.anterior": (20.0, 30.0)}, 200, 300, View.LATERAL), tmp_path / "a.landmarks.json"
        )
        s = read_fusionwatch_samples(tmp_path)[0]
        assert s.points == {"L5.inferior.anterior": (20.0, 30.0)} and s.view is View.LATERAL
        write_landmarks(
            Landmarks({"L5.inferior.anterior": (20.0, 30.0)}, 201, 300, View.LATERAL), tmp_path / "a.landmarks.json"
        )
        with pytest.raises(LandmarkError, match="made for a 201 x 300"):
            read_fusionwatch_samples(tmp_path)


class TestSpecsAndSplits:
    """Tests for parse_data_spec(), load_data() and split_by_patient()."""

    @pytest.mark.parametrize("spec", ["spineweb", "foo:bar", "sim:", "buu"])
    def test_bad_spec_raises(self, spec: str) -> None:
        """Malformed specs raise InputError listing the accepted kinds."""
        with pytest.raises(InputError, match="KIND:ARG"):
            parse_data_spec(spec)

    def test_missing_folder_raises(self, tmp_path: Path) -> None:
        """A spec naming a missing folder raises InputError."""
        with pytest.raises(InputError, match="does not exist"):
            load_data(f"buu:{tmp_path / 'nope'}")

    def test_split_never_shares_a_patient(self) -> None:
        """No patient is in both parts, and the split is the same for the same seed."""
        samples = [Sample(np.zeros((4, 4)), {}, View.AP, f"p{i % 7}") for i in range(40)]
        tr, va = split_by_patient(samples, 0.3, seed=3)
        assert {samples[i].patient for i in tr}.isdisjoint({samples[i].patient for i in va})
        assert sorted(tr + va) == list(range(40)) and va
        assert split_by_patient(samples, 0.3, seed=3) == (tr, va)

    def test_simulated_film_cache_follows_the_simulator_version(self, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
        """A cached sim: spec is reused for the same simulator version and regenerated after a version change."""
        import fusionwatch.sim as sim

        first = load_data("sim:1:lateral:5", cache_dir=tmp_path)
        assert len(list(tmp_path.glob("sim-*.npz"))) == 1
        again = load_data("sim:1:lateral:5", cache_dir=tmp_path)
        assert np.array_equal(first[0].image, again[0].image)
        assert len(list(tmp_path.glob("sim-*.npz"))) == 1
        monkeypatch.setattr(sim, "SIM_VERSION", f"{sim.SIM_VERSION}-next", raising=False)
        load_data("sim:1:lateral:5", cache_dir=tmp_path)
        assert len(list(tmp_path.glob("sim-*.npz"))) == 2


class TestBuu:
    """Tests for read_buu_samples() (BUU-LSPINE lateral CSV beside its image)."""

    def test_reads_csv_beside_image(self, tmp_path: Path) -> None:
        """11 endplate rows become 22 lateral corners; anterior is decided by geometry, not column order."""
        from _synth import lateral_spine_points
        from fusionwatch.detect.datasets import read_buu_samples

        mm = lateral_spine_points(facing="left")
        rows = []
        order = [(f"L{i}", e) for i in range(1, 6) for e in ("superior", "inferior")] + [("S1", "superior")]
        for k, (lv, ep) in enumerate(order):
            a = mm[f"{lv}.{ep}.anterior"]
            p = mm[f"{lv}.{ep}.posterior"]
            first, second = (p, a) if k % 2 else (a, p)  # columns swapped on every other row
            rows.append([first[0] + 150, first[1] + 250, second[0] + 150, second[1] + 250, 0])
        _png(tmp_path / "0001-F-037Y1.png", 400, 600)
        with (tmp_path / "0001-F-037Y1.csv").open("w", newline="") as f:
            csv.writer(f).writerows(rows)
        s = read_buu_samples(tmp_path, max_side=None)[0]
        assert s.view is View.LATERAL and len(s.points) == 22
        exp = mm["L3.inferior.anterior"]
        assert s.points["L3.inferior.anterior"] == pytest.approx((exp[0] + 150, exp[1] + 250))
