"""Level anchor (detect/anchor.py): sites along an AP column, the whole-level shift decision, relabelling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fusionwatch.detect.anchor import (
    ANCHOR_CLASSES,
    COLUMN_LEVELS,
    anchor_sites,
    choose_shift,
    reference_width,
    region_index,
    shift_scores,
    shifted_lumbar_points,
    site_frame,
)

_CORNERS = ("superior.left", "superior.right", "inferior.left", "inferior.right")


def _column(pitch: float = 40.0, width: float = 36.0, height: float = 28.0, tilt_deg: float = 0.0) -> dict:
    """T1-L5 corners of a straight column running down (turned by ``tilt_deg``), L1's centre at (200, 500)."""
    t = math.radians(tilt_deg)
    down = np.array([-math.sin(t), math.cos(t)])
    right = np.array([math.cos(t), math.sin(t)])
    pts = {}
    for i, lv in enumerate(COLUMN_LEVELS):
        c = np.array([200.0, 500.0]) + (i - 12) * pitch * down
        for name, (sx, sy) in zip(_CORNERS, ((-1, -1), (1, -1), (-1, 1), (1, 1)), strict=True):
            p = c + sx * width / 2 * right + sy * height / 2 * down
            pts[f"{lv}.{name}"] = (float(p[0]), float(p[1]))
    return pts


def _centre(pts: dict, lv: str) -> np.ndarray:
    return np.mean([pts[f"{lv}.{c}"] for c in _CORNERS], axis=0)


def test_region_index_boundaries():
    assert [region_index(r) for r in (-3, -1, 0, 4, 5, 7)] == [0, 0, 1, 1, 2, 2]
    assert ANCHOR_CLASSES[region_index(-1)] == "thoracic" and ANCHOR_CLASSES[region_index(5)] == "sacral"


def test_anchor_sites_cover_t10_to_three_below_l5_with_the_l4_l5_pitch():
    pts = _column(pitch=40.0, tilt_deg=10.0)
    sites = anchor_sites(pts)
    assert [s.rel for s in sites] == list(range(-3, 8))
    assert [s.extrapolated for s in sites] == [False] * 8 + [True] * 3
    l5 = _centre(pts, "L5")
    step = l5 - _centre(pts, "L4")
    for j, s in enumerate(sites[-3:], 1):
        np.testing.assert_allclose(s.centre, l5 + j * step, atol=1e-9)
    for s in sites:  # every crop upright along the tilted column
        assert s.angle == pytest.approx(math.radians(10.0), abs=1e-9)
    assert reference_width(pts) == pytest.approx(36.0)
    assert site_frame(sites[0], 36.0).side == pytest.approx(2.0 * 36.0)


def test_anchor_sites_skip_missing_levels_and_need_l4_for_the_places_below():
    pts = {n: p for n, p in _column().items() if not n.startswith(("T11.", "L4."))}
    rels = [s.rel for s in anchor_sites(pts)]
    assert rels == [-3, -1, 0, 1, 2, 4]


def _log_probs(rels, true_shift, sure=0.95):
    """Log-probabilities of a classifier that is ``sure`` of the classes the sites have under ``true_shift``."""
    lp = np.full((len(rels), 3), math.log((1 - sure) / 2))
    for i, r in enumerate(rels):
        lp[i, region_index(r - true_shift)] = math.log(sure)
    return lp


@pytest.mark.parametrize("true_shift", [-2, -1, 1, 2])
def test_choose_shift_picks_the_shift_the_classifier_favours(true_shift):
    rels = list(range(-3, 8))
    d = choose_shift(_log_probs(rels, true_shift), rels)
    assert d.shift == true_shift == d.best
    assert d.margin > 2.0
    assert max(d.scores, key=d.scores.get) == true_shift


def test_choose_shift_keeps_the_count_without_a_clear_margin():
    rels = list(range(-3, 8))
    # a classifier that barely prefers shift +1: its margin over 0 stays below min_margin
    lp = np.log(np.full((len(rels), 3), 1 / 3))
    lp[3] = np.log([0.45, 0.45, 0.10])  # detected L1: a touch more thoracic than an uninformed guess, not enough
    lp[3, 0] += 0.3
    d = choose_shift(lp, rels, prior=0.0, min_margin=2.0)
    assert d.best == 1 and 0 < d.margin < 2.0
    assert d.shift == 0
    # the prior alone keeps 0 when the classifier has no opinion
    flat = np.log(np.full((len(rels), 3), 1 / 3))
    assert choose_shift(flat, rels).shift == 0 and choose_shift(flat, rels).best == 0


def test_choose_shift_prior_penalises_larger_shifts():
    rels = list(range(-3, 8))
    lp = _log_probs(rels, 1, sure=0.6)
    weak = shift_scores(lp, rels)[1] - shift_scores(lp, rels)[0]
    assert choose_shift(lp, rels, prior=0.0, min_margin=0.0).shift == 1
    assert choose_shift(lp, rels, prior=weak + 0.1, min_margin=0.0).shift == 0


def test_shift_scores_checks_the_shape():
    with pytest.raises(ValueError, match="shape"):
        shift_scores(np.zeros((3, 3)), [0, 1])


def test_shifted_lumbar_points_relabel_whole_levels():
    pts = _column(pitch=40.0)
    up = shifted_lumbar_points(pts, -1)  # detector's L1 was L2: the new L1 is its T12
    for c in _CORNERS:
        assert up[f"L1.{c}"] == pts[f"T12.{c}"]
        assert up[f"L5.{c}"] == pts[f"L4.{c}"]
    down = shifted_lumbar_points(pts, 2)  # detector's L1 was T11: the new L5 lies two pitches below its L5
    for c in _CORNERS:
        assert down[f"L1.{c}"] == pts[f"L3.{c}"]
        np.testing.assert_allclose(down[f"L5.{c}"], np.add(pts[f"L5.{c}"], (0.0, 80.0)), atol=1e-9)
    assert shifted_lumbar_points({n: p for n, p in pts.items() if not n.startswith("L4.")}, 1) is None
    assert shifted_lumbar_points(pts, 0) == {n: p for n, p in pts.items() if n.startswith("L")}


def _film_sample():
    from fusionwatch.detect.datasets import Sample
    from fusionwatch.radiograph import View

    pts = _column(pitch=40.0, tilt_deg=5.0)
    rng = np.random.default_rng(3)
    image = (rng.random((900, 420)) * 60).astype(np.uint8)
    lumbar = {n: p for n, p in pts.items() if n.startswith("L")}
    thoracic = {n: p for n, p in pts.items() if n.startswith("T")}
    return Sample(image, lumbar, View.AP, "p1", truth={"extra_points": thoracic})


def test_make_anchor_example_shape_label_and_plain_crop():
    from fusionwatch.detect.anchor import ANCHOR_HW, make_anchor_example, training_sites

    s = _film_sample()
    sites = training_sites({**s.points, **s.truth["extra_points"]})
    assert [t.rel for t in sites] == list(range(-5, 8))
    img01 = s.image.astype(np.float32) / 255.0
    labels = [make_anchor_example(img01, t, 36.0, None)[1] for t in sites]
    assert labels == [0] * 5 + [1] * 5 + [2] * 3
    x, _ = make_anchor_example(img01, sites[0], 36.0, None)
    assert x.shape == ANCHOR_HW and x.dtype == np.float32
    # the plain crop is the inference crop (site_crops) of the same film
    from fusionwatch.detect.anchor import site_crops

    np.testing.assert_allclose(x, site_crops(img01, sites[:1], 36.0)[0], atol=1e-4)
    xj, _ = make_anchor_example(img01, sites[0], 36.0, np.random.default_rng(0))
    assert xj.shape == ANCHOR_HW and not np.allclose(xj, x)


@pytest.mark.slow
def test_trained_model_file_loads_and_classifies_crops(tmp_path):
    pytest.importorskip("torch")
    from fusionwatch.detect.anchor import LevelAnchorModel, anchor_decision, train_anchor

    path = train_anchor([_film_sample()], tmp_path, time_budget_min=0.02, batch_size=4)
    model = LevelAnchorModel(path)
    assert model.tag == "ap-level/1"
    s = _film_sample()
    column = {**s.points, **s.truth["extra_points"]}
    sites = anchor_sites(column)
    lp = model.classify_sites(s.image.astype(np.float32), sites, reference_width(column))
    assert lp.shape == (len(sites), 3)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-6)
    d = anchor_decision(model, s.image.astype(np.float32), column)
    assert set(d.scores) == {-2, -1, 0, 1, 2} and d.shift in d.scores
    assert (tmp_path / "ap-level.ckpt").is_file()


def test_level_anchor_model_refuses_other_files(tmp_path):
    from fusionwatch.detect.anchor import LevelAnchorModel
    from fusionwatch.errors import InputError

    bad = tmp_path / "ap-level.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(InputError, match="Cannot load level-anchor model"):
        LevelAnchorModel(bad)
