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
