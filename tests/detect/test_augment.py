"""Tests for fusionwatch.detect.augment and the training example builder (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest

from fusionwatch.detect import augment as aug
from fusionwatch.detect._geometry import apply_affine, warp
from fusionwatch.detect.datasets import Sample
from fusionwatch.detect.specs import PRESETS
from fusionwatch.detect.training import make_example, view_label
from fusionwatch.radiograph import View


def _dot_image(points: dict[str, tuple[float, float]], hw: tuple[int, int] = (300, 200)) -> np.ndarray:
    img = np.zeros(hw, np.float32)
    for x, y in points.values():
        img[int(round(y)), int(round(x))] = 1.0
    return img


class TestGeometricAugment:
    """Random affines and flips move image and points together."""

    def test_random_affine_moves_points_with_pixels(self) -> None:
        """A dot warped by a random similarity peaks where the matrix maps its position (within 1 px)."""
        rng = np.random.default_rng(4)
        img = np.zeros((300, 200), np.float32)
        img[150:153, 80:83] = 1.0  # 3x3 block centred at (81, 151)
        for _ in range(5):
            m = aug.random_affine(rng, img.shape)
            out = warp(img, m, img.shape)
            ys, xs = np.nonzero(out > 0.2 * out.max())
            centre = np.average(np.stack([xs, ys], 1), axis=0, weights=out[ys, xs])
            np.testing.assert_allclose(centre, apply_affine(m, np.array([[81.0, 151.0]]))[0], atol=1.0)

    def test_flip_swaps_ap_names_only(self) -> None:
        """After a mirror, AP left/right names swap; lateral anatomical names stay."""
        pts = {"L3.superior.left": (10.0, 5.0), "L3.superior.right": (40.0, 5.0)}
        assert set(aug.flip_names(pts, View.AP)) == set(pts)
        assert aug.flip_names(pts, View.AP)["L3.superior.right"] == (10.0, 5.0)
        lat = {"L3.superior.anterior": (10.0, 5.0)}
        assert aug.flip_names(lat, View.LATERAL) == lat

    def test_flip_matrix_is_mirror_about_pixel_centres(self) -> None:
        """x -> W - 1 - x: the first pixel column becomes the last."""
        m = aug.flip_matrix(200)
        np.testing.assert_allclose(apply_affine(m, np.array([[0.0, 7.0], [199.0, 3.0]])), [[199.0, 7.0], [0.0, 3.0]])


class TestIntensityAndImplants:
    """Intensity augmentation and metal overlays."""

    def test_intensity_keeps_shape_and_finite(self) -> None:
        """Output has the input shape and finite values."""
        rng = np.random.default_rng(0)
        img = rng.uniform(0, 1, (64, 48)).astype(np.float32)
        for _ in range(10):
            out = aug.intensity(rng, img)
            assert out.shape == img.shape and np.isfinite(out).all()

    def test_implants_drawn_near_lumbosacral_points(self) -> None:
        """Metal (near-saturated pixels) appears, and mostly within the L4-S1 region."""
        rng = np.random.default_rng(1)
        img = np.full((400, 300), 0.3, np.float32)
        pts = {"L4.superior.anterior": (150.0, 200.0), "S1.superior.posterior": (170.0, 260.0)}
        changed = np.zeros_like(img, dtype=bool)
        for _ in range(10):
            changed |= aug.implant_overlay(rng, img, pts) > 0.8
        ys, xs = np.nonzero(changed)
        assert changed.any()
        assert abs(np.median(ys) - 230) < 60 and abs(np.median(xs) - 160) < 60


class TestMakeExample:
    """Tests for make_example(): the input and targets stay in register under augmentation."""

    @pytest.mark.parametrize("model", ["ap-film", "ap-crop", "lateral-film", "lateral-crop"])
    def test_targets_follow_the_image(self, model: str) -> None:
        """Each target lies on the bright dot drawn at its landmark in the source image (within 1.5 input px)."""
        spec = PRESETS[model]
        rng = np.random.default_rng(7)
        names = [n for n in spec.point_names][:8]
        pts = {n: (60.0 + 15 * (i % 2) * 4, 60.0 + 25 * i) for i, n in enumerate(names)}
        img = _dot_image(pts)
        img = np.maximum(img, 0.0)
        from scipy.ndimage import maximum_filter

        sample = Sample(maximum_filter(img, 3), pts, View.AP if spec.view == "ap" else View.LATERAL, "p")
        for _ in range(3):
            x, target, mask, _ = make_example(sample, spec, rng if model.endswith("film") else None)
            assert x.shape == spec.input_hw
            for t, mk in zip(target, mask, strict=False):
                if mk:
                    xi, yi = int(round(t[0])), int(round(t[1]))
                    win = x[max(yi - 2, 0) : yi + 3, max(xi - 2, 0) : xi + 3]
                    assert win.max() > x.mean() + 1.0

    def test_view_labels(self) -> None:
        """AP -> ap; lateral with anterior at smaller x -> lateral_left; no view -> other."""
        assert view_label(View.AP, {}) == 0
        left = {"L3.superior.anterior": (10.0, 0.0), "L3.superior.posterior": (50.0, 0.0)}
        assert view_label(View.LATERAL, left) == 1
        right = {"L3.superior.anterior": (60.0, 0.0), "L3.superior.posterior": (20.0, 0.0)}
        assert view_label(View.LATERAL, right) == 2
        assert view_label(None, {}) == 3  # type: ignore[arg-type]


def _film(hw: tuple[int, int] = (320, 160), seed: int = 0) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """A film-like image (bright spine column on a mid-grey body, darker flanks absent) and 5 levels of 4 corners."""
    rng = np.random.default_rng(seed)
    h, w = hw
    img = np.full(hw, 0.45, np.float32) + rng.normal(0, 0.02, hw).astype(np.float32)
    pts: dict[str, tuple[float, float]] = {}
    for i, lv in enumerate(["L1", "L2", "L3", "L4", "L5"]):
        y0, y1 = 60.0 + 45 * i, 90.0 + 45 * i
        img[int(y0) : int(y1), w // 2 - 20 : w // 2 + 20] = 0.85
        for e, yy in (("superior", y0), ("inferior", y1)):
            pts[f"{lv}.{e}.left"] = (w / 2 - 20, yy)
            pts[f"{lv}.{e}.right"] = (w / 2 + 20, yy)
    return np.clip(img, 0, 1), pts


APPEARANCE_FUNCS = {
    "gas": lambda rng, img, pts: aug.gas_overlay(rng, img, pts),
    "flank": lambda rng, img, pts: aug.flank_shading(rng, img, pts),
    "contrast": lambda rng, img, pts: aug.local_contrast(rng, img),
    "grain": lambda rng, img, pts: aug.grain(rng, img),
    "appearance": lambda rng, img, pts: aug.appearance(rng, img, pts),
}


class TestAppearance:
    """Radiograph appearance augmentations: flank shading, grouped gas, local equalisation, grain."""

    @pytest.mark.parametrize("name", list(APPEARANCE_FUNCS))
    def test_shape_range_and_points_unchanged(self, name: str) -> None:
        """Same shape, float32, values in [0, 1], the input and the points left untouched, and the image changed."""
        img, pts = _film()
        before_img, before_pts = img.copy(), dict(pts)
        rng = np.random.default_rng(3)
        for _ in range(5):
            out = APPEARANCE_FUNCS[name](rng, img, pts)
            assert out.shape == img.shape and out.dtype == np.float32
            assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
            assert np.abs(out - img).max() > 1e-3
        np.testing.assert_array_equal(img, before_img)
        assert pts == before_pts

    @pytest.mark.parametrize("name", list(APPEARANCE_FUNCS))
    def test_deterministic_by_rng(self, name: str) -> None:
        """The same seed gives the same image; another seed another image."""
        img, pts = _film()
        a = APPEARANCE_FUNCS[name](np.random.default_rng(11), img, pts)
        b = APPEARANCE_FUNCS[name](np.random.default_rng(11), img, pts)
        c = APPEARANCE_FUNCS[name](np.random.default_rng(12), img, pts)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_flank_shading_is_smooth_and_grows_toward_the_sides(self) -> None:
        """On a flat image the change is constant down each column, zero near the spine's centre line and largest at
        an edge; neighbouring columns differ by little (smooth); mostly a darkening."""
        img = np.full((100, 200), 0.6, np.float32)
        img[:, ::7] = 0.4  # a grey range for the amplitude
        pts = {"L3.superior.left": (95.0, 50.0), "L3.superior.right": (105.0, 50.0)}
        darker = 0
        for seed in range(20):
            out = aug.flank_shading(np.random.default_rng(seed), img, pts)
            d = (img - out)[:, 1::7].mean(axis=0)  # columns of the 0.6 level
            centre = np.abs(d[len(d) // 2 - 1 : len(d) // 2 + 2]).max()
            edge = max(abs(d[0]), abs(d[-1]))
            assert edge > centre + 0.005
            assert np.abs(np.diff(d)).max() < 0.05
            darker += int(d[0] + d[-1] > 0)
        assert darker >= 12

    def test_gas_darkens_over_the_spine_sometimes(self) -> None:
        """Gas only lowers the image (never brightens), and over the spine on some draws (within 2 level heights of
        the named points' column) and beside it on others."""
        img, pts = _film()
        over = beside = 0
        for seed in range(30):
            out = aug.gas_overlay(np.random.default_rng(seed), img, pts)
            d = img - out
            assert d.min() >= -1e-6
            cols = np.nonzero(d.max(axis=0) > 0.02)[0]
            if cols.size == 0:
                continue
            if np.any(np.abs(cols - img.shape[1] / 2) < 30):
                over += 1
            if np.any(np.abs(cols - img.shape[1] / 2) > 60):
                beside += 1
        assert over >= 5 and beside >= 3

    def test_gas_has_texture(self) -> None:
        """Inside a gas region the darkening is mottled (honeycomb), not a flat disc."""
        img = np.full((300, 300), 0.7, np.float32)
        img[::9, :] = 0.2
        stds = []
        for seed in range(10):
            d = img - aug.gas_overlay(np.random.default_rng(seed), img, {})
            inside = d[d > 0.5 * d.max()] if d.max() > 0 else np.zeros(1)
            stds.append(float(inside.std() / max(inside.mean(), 1e-6)))
        assert np.median(stds) > 0.05

    def test_local_contrast_keeps_order_of_large_structures(self) -> None:
        """Equalisation changes local contrast but a bright band stays brighter than the dark surroundings."""
        img, _ = _film()
        for seed in range(10):
            out = aug.local_contrast(np.random.default_rng(seed), img)
            assert out[60:90, 70:90].mean() > out[60:90, 5:25].mean()

    def test_grain_is_small_and_zero_mean(self) -> None:
        """Grain moves pixels by a few per cent of the range, without a shift of the mean grey level."""
        img = np.full((200, 200), 0.5, np.float32)
        for seed in range(5):
            d = aug.grain(np.random.default_rng(seed), img) - img
            assert 0.003 < d.std() < 0.08 and abs(d.mean()) < 0.01

    def test_make_example_applies_appearance_without_moving_targets(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """make_example passes the film and its source-frame points to the appearance step; the input changes and the
        targets and mask do not (the appearance step here draws from its own generator, so the geometric draws of
        both runs are the same)."""
        from fusionwatch.detect import training

        spec = PRESETS["ap-spine"]
        img, pts = _film((640, 320))
        sample = Sample(img, pts, View.AP, "p")
        seen: list[dict[str, tuple[float, float]]] = []
        appearance = aug.appearance

        def real(_rng: np.random.Generator, im: np.ndarray, p: dict[str, tuple[float, float]]) -> np.ndarray:
            seen.append(dict(p))
            return appearance(np.random.default_rng(99), im, p)

        monkeypatch.setattr(training, "APPEARANCE_P", 1.0)
        monkeypatch.setattr(training.aug, "appearance", lambda _rng, im, _p: im)
        x0, t0, m0, _ = make_example(sample, spec, np.random.default_rng(5))
        monkeypatch.setattr(training.aug, "appearance", real)
        x1, t1, m1, _ = make_example(sample, spec, np.random.default_rng(5))
        assert m0.sum() > 0 and seen == [pts]
        assert not np.allclose(x0, x1)
        np.testing.assert_array_equal(t0, t1)
        np.testing.assert_array_equal(m0, m1)
        monkeypatch.setattr(training, "APPEARANCE_P", 0.0)
        seen.clear()
        make_example(sample, spec, np.random.default_rng(5))
        assert seen == []
