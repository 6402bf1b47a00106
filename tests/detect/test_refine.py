"""Tests for fusionwatch.detect.refine (the per-vertebra stage): crop geometry, exact back-mapping, training crops."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fusionwatch.detect._geometry import apply_affine, invert_affine
from fusionwatch.detect.datasets import Sample
from fusionwatch.detect.refine import (
    RefineUnit,
    UnitFrame,
    body_size,
    frame_matrix,
    make_refine_example,
    refine_points,
    spec_units,
    unit_frame,
)
from fusionwatch.detect.specs import PRESETS, ModelSpec
from fusionwatch.radiograph import View

AP = PRESETS["ap-vertebra"]
LAT = PRESETS["lateral-vertebra"]


def _quad(centre: tuple[float, float], w: float, h: float, angle_deg: float) -> np.ndarray:
    """Corners superior-left, superior-right, inferior-left, inferior-right of a rotated rectangle (y down)."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [-w / 2, h / 2], [w / 2, h / 2]])
    return local @ rot.T + np.asarray(centre)


def _ap_points(angle_deg: float = 0.0) -> dict[str, tuple[float, float]]:
    pts = {}
    for i, lv in enumerate(("L1", "L2", "L3", "L4", "L5")):
        q = _quad((200.0 + 8 * i, 100.0 + 60 * i), 70.0, 45.0, angle_deg)
        for (e, s), p in zip([(e, s) for e in ("superior", "inferior") for s in ("left", "right")], q, strict=True):
            pts[f"{lv}.{e}.{s}"] = (float(p[0]), float(p[1]))
    return pts


def _ap_sample(angle_deg: float = 0.0) -> Sample:
    """A dark film with bright rectangular vertebral bodies at the annotated corners."""
    import cv2

    pts = _ap_points(angle_deg)
    img = np.full((420, 400), 30, np.float32)
    for lv in ("L1", "L2", "L3", "L4", "L5"):
        q = np.array([pts[f"{lv}.{c}"] for c in ("superior.left", "superior.right", "inferior.right", "inferior.left")])
        cv2.fillPoly(img, [np.round(q).astype(np.int32)], 200.0)
    return Sample(img, pts, View.AP, "p0")


class TestFrame:
    """Tests for unit_frame() and frame_matrix()."""

    def test_upright_crop_of_a_tilted_vertebra(self) -> None:
        """A vertebra tilted 20° comes out with horizontal endplates, centred, side = context x body size."""
        pts = _ap_points(20.0)
        unit = spec_units(AP)[2]
        fr = unit_frame(pts, unit, 1.8)
        assert math.degrees(fr.angle) == pytest.approx(20.0, abs=1e-6) and not fr.mirrored
        assert fr.side == pytest.approx(1.8 * 70.0)
        m = frame_matrix(fr, (96, 96))
        q = apply_affine(m, np.array([pts[n] for n, _ in unit.points]))
        assert q[0, 1] == pytest.approx(q[1, 1], abs=1e-9) and q[0, 0] < q[1, 0]  # superior endplate horizontal
        assert q.mean(axis=0) == pytest.approx([47.5, 47.5], abs=1e-9)
        assert np.linalg.norm(q[0] - q[1]) == pytest.approx(70.0 * 96 / fr.side)

    def test_lateral_facing_right_is_mirrored_to_face_left(self) -> None:
        """Anterior on the image right: the crop is mirrored so anterior is on the left, and maps back exactly."""
        q = _quad((300.0, 200.0), 60.0, 50.0, -10.0)  # x order: [a, b] = [left, right]
        names = ("L4.superior.anterior", "L4.superior.posterior", "L4.inferior.anterior", "L4.inferior.posterior")
        pts = {names[0]: q[1], names[1]: q[0], names[2]: q[3], names[3]: q[2]}  # anterior = right-hand corners
        unit = spec_units(LAT)[3]
        fr = unit_frame(pts, unit, 1.8)
        assert fr.mirrored
        m = frame_matrix(fr, (96, 96))
        a, p = apply_affine(m, np.array([pts[names[0]], pts[names[1]]]))
        assert a[0] < p[0] and a[1] == pytest.approx(p[1], abs=1e-9)
        back = apply_affine(invert_affine(m), apply_affine(m, q))
        assert np.abs(back - q).max() < 1e-9

    def test_body_size_is_larger_of_width_and_height(self) -> None:
        assert body_size(_quad((0, 0), 70, 45, 33)) == pytest.approx(70.0)
        assert body_size(_quad((0, 0), 30, 45, 0)) == pytest.approx(45.0)


class TestSpecs:
    """The refine presets and their JSON round trip."""

    def test_units_survive_the_spec_metadata(self) -> None:
        for spec, n_units in ((AP, 5), (LAT, 7)):
            back = ModelSpec.from_json(spec.to_json())
            assert back.stage == "refine" and spec_units(back) == spec_units(spec) and len(spec_units(back)) == n_units
            assert all(max(ch for _, ch in u.points) < len(back.point_names) for u in spec_units(back))

    def test_lateral_units_cover_s1_and_femoral_heads(self) -> None:
        names = {n for u in spec_units(LAT) for n in u.names}
        assert {"S1.superior.anterior", "femoral_head.1", "femoral_head.2", "L1.superior.posterior"} <= names


class TestExample:
    """Tests for make_refine_example()."""

    def test_targets_are_the_corners_in_the_crop(self) -> None:
        """Without jitter the targets are the mapped corners, inside the input, and the pixels there are bright."""
        s = _ap_sample(12.0)
        x, t, mk, scale = make_refine_example(s, AP, None, unit_index=1)
        assert mk.tolist() == [1.0, 1.0, 1.0, 1.0]
        fr = unit_frame(s.points, spec_units(AP)[1], AP.extra["context"])
        assert scale == pytest.approx(96 / fr.side)
        centre = t.mean(axis=0)
        assert centre == pytest.approx([47.5, 47.5], abs=1e-6)
        assert x[int(centre[1]), int(centre[0])] > 0.5 and x[2, 2] < 0  # body bright, background dark
        assert t[0, 0] < t[1, 0] and t[0, 1] < t[2, 1]  # left before right, superior above inferior

    def test_jittered_mirrored_examples_keep_channels_anatomical(self) -> None:
        """With random jitter and mirroring, channel 'left' stays on the left and 'superior' above 'inferior'."""
        s = _ap_sample(-8.0)
        rng = np.random.default_rng(3)
        for _ in range(20):
            x, t, mk, _ = make_refine_example(s, AP, rng)
            assert x.shape == (96, 96) and x.dtype == np.float32
            if mk.all():
                assert t[0, 0] < t[1, 0] and t[2, 0] < t[3, 0] and t[0, 1] < t[2, 1]

    def test_crop_size_jitter_follows_the_spec(self) -> None:
        """extra["jitter_size"] sets the spread of the crop size (log-normal, clipped at 2 sigma): the network must
        find a vertebra's edges instead of reading its size off the crop (ap-vertebra/3)."""
        from dataclasses import replace

        s = _ap_sample(0.0)
        fr = unit_frame(s.points, spec_units(AP)[2], AP.extra["context"])

        def log_sizes(sigma: float) -> np.ndarray:
            spec = replace(AP, extra={**AP.extra, "jitter_size": sigma})
            jr = np.random.default_rng(7)
            scales = [make_refine_example(s, spec, None, unit_index=2, jitter_rng=jr)[3] for _ in range(150)]
            return np.log(96 / fr.side / np.array(scales))  # log(jittered side / unjittered side)

        narrow, wide = log_sizes(0.05), log_sizes(0.25)
        assert np.std(narrow) < 0.06 < 0.15 < np.std(wide)
        assert np.abs(wide).max() <= 2 * 0.25 + 1e-9

    def test_sample_without_units_raises(self) -> None:
        s = Sample(np.zeros((50, 50), np.float32), {"L1.superior.left": (1.0, 1.0)}, View.AP, "p")
        with pytest.raises(ValueError, match="No refine unit"):
            make_refine_example(s, AP, None)


class _CentreSession:
    """Stand-in for an onnxruntime session: every channel at the input centre, spread 1 px."""

    def __init__(self, hw: tuple[int, int], k: int) -> None:
        self.hw, self.k, self.batches = hw, k, []

    def run(self, names, feeds):  # noqa: ANN001, ANN202
        x = feeds["image"]
        self.batches.append(x.shape)
        h, w = self.hw
        coords = np.tile(np.array([(w - 1) / 2.0, (h - 1) / 2.0], np.float32), (x.shape[0], self.k, 1))
        return [coords, np.ones((x.shape[0], self.k), np.float32)]


class _FakeModel:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.session = _CentreSession(spec.input_hw, len(spec.point_names))


class TestRefinePoints:
    """refine_points() maps crop outputs back through the exact inverse of each crop (rotation, mirror, scale)."""

    def test_ap_outputs_at_crop_centre_map_to_vertebra_centres(self) -> None:
        pts = _ap_points(15.0)
        model = _FakeModel(AP)
        new, spread, scale = refine_points(model, np.zeros((420, 400), np.float32), pts, shift_average=0.0)
        assert set(new) == set(pts)
        assert model.session.batches == [(10, 1, 96, 96)]  # 5 crops + their mirrors, one run
        for lv in ("L1", "L3", "L5"):
            c = np.mean([pts[n] for n in pts if n.startswith(lv)], axis=0)
            assert np.abs(np.array(new[f"{lv}.inferior.right"]) - c).max() < 1e-4
        assert all(v == pytest.approx(1.0) for v in spread.values()) and all(v > 0 for v in scale.values())

    def test_lateral_mirrored_units_map_back(self) -> None:
        q = _quad((300.0, 200.0), 60.0, 50.0, 5.0)
        pts = {}
        for i, lv in enumerate(("L1", "L2", "L3", "L4", "L5")):
            qq = q + [0, 60 * i]
            pts.update({f"{lv}.superior.anterior": tuple(qq[1]), f"{lv}.superior.posterior": tuple(qq[0])})
            pts.update({f"{lv}.inferior.anterior": tuple(qq[3]), f"{lv}.inferior.posterior": tuple(qq[2])})
        pts.update({"S1.superior.anterior": (332.0, 500.0), "S1.superior.posterior": (270.0, 505.0)})
        pts.update({"femoral_head.1": (380.0, 600.0), "femoral_head.2": (390.0, 610.0)})
        model = _FakeModel(LAT)
        new, _, _ = refine_points(model, np.zeros((700, 600), np.float32), pts)
        assert model.session.batches == [(7, 1, 96, 96)]  # no flip averaging on lateral crops
        assert np.abs(np.array(new["S1.superior.posterior"]) - (301.0, 502.5)).max() < 1e-4
        assert np.abs(np.array(new["femoral_head.1"]) - (385.0, 605.0)).max() < 1e-4

    def test_shift_average_runs_shifted_crops_and_averages_them(self) -> None:
        """With shift_average each unit gets 5 crops (centre, +-d body sizes in x and y); a network that always
        answers the crop centre then averages back to the vertebra centre, and the crops' disagreement (d body
        sizes) adds to the spread."""
        pts = _ap_points(15.0)
        model = _FakeModel(AP)
        new, spread, _ = refine_points(model, np.zeros((420, 400), np.float32), pts, shift_average=0.1)
        assert model.session.batches == [(50, 1, 96, 96)]  # 5 units x 5 crops + their mirrors, one run
        for lv in ("L1", "L3", "L5"):
            c = np.mean([pts[n] for n in pts if n.startswith(lv)], axis=0)
            assert np.abs(np.array(new[f"{lv}.superior.left"]) - c).max() < 1e-4
        # 4 of the 5 crops answer 0.1 body sizes (= 0.1 * 96 / 1.8 input px) off the mean, the centre one 0 off
        assert spread["L3.inferior.left"] == pytest.approx(1.0 + 0.8 * 0.1 * 96 / 1.8, rel=1e-3)

    def test_shifted_crops_of_a_turned_unit_map_back_exactly(self) -> None:
        """Every shifted crop's answer goes back through its own crop's inverse: a network answering a fixed input
        point right of the crop centre gives, per crop, that crop's centre + the offset scaled by the crop side and
        turned by the unit's angle; the shifts cancel in the mean of the 5 crops."""
        pts = _ap_points(10.0)
        off = 12.0  # input px right of the input centre

        class _RightOfCentre(_CentreSession):
            def run(self, names, feeds):  # noqa: ANN001, ANN202
                coords, spread = super().run(names, feeds)
                coords[:, :, 0] += off
                coords[coords.shape[0] // 2 :, :, 0] -= 2 * off  # the mirrored half: the same film point
                return [coords, spread]

        model = _FakeModel(AP)
        model.session = _RightOfCentre(AP.input_hw, len(AP.point_names))
        new, _, _ = refine_points(model, np.zeros((420, 400), np.float32), pts, shift_average=0.1)
        fr = unit_frame(pts, spec_units(AP)[2], AP.extra["context"])  # clamps inactive: equal body sizes
        expected = np.asarray(fr.centre) + off * fr.side / 96 * np.array([math.cos(fr.angle), math.sin(fr.angle)])
        for name in ("L3.superior.left", "L3.inferior.right"):  # every channel answers the same input point
            assert np.abs(np.array(new[name]) - expected).max() < 1e-6

    def test_units_with_missing_points_are_skipped(self) -> None:
        pts = {n: p for n, p in _ap_points().items() if not n.startswith("L2.")}
        new, _, _ = refine_points(_FakeModel(AP), np.zeros((420, 400), np.float32), pts)
        assert not any(n.startswith("L2.") for n in new) and "L3.superior.left" in new


def test_unit_json_round_trip() -> None:
    u = RefineUnit((("a", 0), ("b", 1)), (("a", "b"),), ("a", "b", "c", "d"), ("a", "b"))
    assert RefineUnit.from_json(u.to_json()) == u and u.needs == {"a", "b", "c", "d"}


def test_frame_matrix_keeps_aspect_ratio() -> None:
    m = frame_matrix(UnitFrame((10.0, 20.0), 50.0, 0.3, True), (96, 96))
    sv = np.linalg.svd(m[:, :2], compute_uv=False)
    assert sv[0] == pytest.approx(sv[1]) and sv[0] == pytest.approx(96 / 50.0)
    assert np.linalg.det(m[:, :2]) < 0  # mirrored


@pytest.mark.slow
def test_train_refine_model_and_detect(tmp_path: Path) -> None:
    """A short ap-vertebra run exports a model that load_detector picks up as the vertebra stage."""
    torch = pytest.importorskip("torch")
    import shutil

    from fusionwatch.detect.inference import MODELS_DIR, LandmarkModel, load_detector
    from fusionwatch.detect.training import train

    torch.set_num_threads(1)
    samples = [_ap_sample(a) for a in (-10.0, 0.0, 10.0)]
    for i, s in enumerate(samples):
        s.patient = f"p{i}"
    r = train(samples, tmp_path / "run", model="ap-vertebra", time_budget_min=0.05, batch_size=4)
    model = LandmarkModel(r.onnx_path)
    assert model.spec.stage == "refine" and "L3.inferior.left" in model.trained_points
    assert r.steps > 0 and r.val_median_px is not None
    folder = tmp_path / "models"
    folder.mkdir()
    for f in ("ap-spine.onnx", "ap-crop.onnx"):
        shutil.copy(MODELS_DIR / f, folder / f)
    shutil.copy(r.onnx_path, folder / "ap-vertebra.onnx")
    det = load_detector(folder)
    assert View.AP in det.vertebra
    new, _, _ = refine_points(det.vertebra[View.AP], samples[0].image, samples[0].points)
    assert len(new) == 20 and all(np.isfinite(p).all() for p in new.values())


def test_max_move_keeps_the_estimate_of_units_that_jump() -> None:
    """Units whose refined centre moves further than max_move body sizes keep their input estimate."""
    pts = _ap_points()
    model = _FakeModel(AP)
    model.spec = ModelSpec.from_json(AP.to_json().replace('"flip_average": true', '"flip_average": false'))
    model.session.run = lambda names, feeds: [  # every channel 20 input px right of the crop centre
        np.tile(np.array([47.5 + 20.0, 47.5], np.float32), (feeds["image"].shape[0], 4, 1)),
        np.ones((feeds["image"].shape[0], 4), np.float32),
    ]
    image = np.zeros((420, 400), np.float32)
    moved = 20.0 / (96 / (1.8 * 70.0)) / 70.0  # body sizes: 0.375
    new, _, _ = refine_points(model, image, pts, max_move=moved + 0.05)
    assert len(new) == 20
    assert new["L3.superior.left"][0] - np.mean([pts[n][0] for n in pts if n.startswith("L3.")]) > 20.0
    kept, _, _ = refine_points(model, image, pts, max_move=moved - 0.05)
    assert kept == {}


def test_prepare_crop_matches_the_whole_film_input() -> None:
    """The crop computed from the covered part of the film equals the one computed from the whole film."""
    from fusionwatch.detect._geometry import prepare_input
    from fusionwatch.detect.refine import prepare_crop

    rng = np.random.default_rng(0)
    import cv2

    film = cv2.GaussianBlur(rng.random((900, 500)).astype(np.float32), (0, 0), 4.0)
    for side, centre, angle, mirrored in ((60.0, (250.0, 400.0), 0.2, False), (300.0, (30.0, 880.0), -0.1, True)):
        m = frame_matrix(UnitFrame(centre, side, angle, mirrored), (96, 96))
        a, b = prepare_crop(film, m, (96, 96)), prepare_input(film, m, (96, 96))
        assert np.abs(a - b).max() < 0.05 and np.abs(a - b).mean() < 5e-3


@pytest.mark.slow
@pytest.mark.shared_data
def test_shipped_ap_pipeline_runs_the_vertebra_stage(tmp_path: Path) -> None:
    """On held-out SpineWeb films the shipped AP pipeline ends with the vertebra stage, and removing that stage
    (same folder without ap-vertebra.onnx) gives a larger median corner error (held-out: 1.04 % vs 1.64 %)."""
    import os
    import shutil

    from fusionwatch.detect.datasets import read_spineweb_samples, split_by_patient
    from fusionwatch.detect.inference import MODELS_DIR, detect_landmarks
    from fusionwatch.radiograph import Radiograph

    default = Path(__file__).resolve().parents[3] / "shared" / "data"
    folder = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", default)) / "spineweb16-ap"
    if not folder.is_dir():
        pytest.skip(f"shared data absent: {folder}")
    samples = read_spineweb_samples(folder, max_side=1024, limit=120)
    _, val = split_by_patient(samples, 0.2, 0)
    without = tmp_path / "no-vertebra"
    without.mkdir()
    for f in ("view.onnx", "ap-spine.onnx", "ap-crop.onnx"):
        shutil.copy(MODELS_DIR / f, without / f)
    errs: dict[str, list[float]] = {"with": [], "without": []}
    for i in val[:8]:
        s = samples[i]
        diag = math.hypot(*s.image.shape)
        for key, models in (("with", None), ("without", without)):
            lm = detect_landmarks(Radiograph(s.image.astype(np.float32), view=View.AP), models_dir=models)
            assert ("+ap-vertebra/" in lm.source) is (key == "with") and len(lm.points) == 20
            errs[key] += [math.dist(lm.points[n], p) / diag * 100 for n, p in s.points.items()]
    assert float(np.median(errs["with"])) < float(np.median(errs["without"]))


def test_shipped_ap_vertebra_model_averages_shifted_crops() -> None:
    """ap-vertebra/3 ships with shift-averaging at 0.08 and 0.15 body sizes (9 crops per vertebra, as its preset);
    the lateral vertebra model without."""
    from fusionwatch.detect.inference import load_detector
    from fusionwatch.detect.refine import crop_offsets

    det = load_detector(None)
    if View.AP not in det.vertebra or View.LATERAL not in det.vertebra:
        pytest.skip("vertebra models not installed")
    ap = det.vertebra[View.AP].spec
    assert ap.version >= 3 and ap.version == PRESETS["ap-vertebra"].version
    assert ap.extra["shift_average"] == PRESETS["ap-vertebra"].extra["shift_average"]
    assert len(crop_offsets(ap.extra["shift_average"])) == 9
    assert not det.vertebra[View.LATERAL].spec.extra.get("shift_average")


def test_several_shift_distances_give_four_crops_each() -> None:
    """shift_average=(0.08, 0.15): the plain crop + 4 per distance; a network answering the crop centre still
    averages back to the vertebra centre."""
    pts = _ap_points(5.0)
    model = _FakeModel(AP)
    new, _, _ = refine_points(model, np.zeros((420, 400), np.float32), pts, shift_average=(0.08, 0.15))
    assert model.session.batches == [(90, 1, 96, 96)]  # 5 units x 9 crops + their mirrors
    c = np.mean([pts[n] for n in pts if n.startswith("L2")], axis=0)
    assert np.abs(np.array(new["L2.superior.left"]) - c).max() < 1e-4
