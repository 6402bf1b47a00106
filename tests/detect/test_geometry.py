"""Tests for fusionwatch.detect._geometry: letterbox/crop affines, exact point round trips, input preparation."""

from __future__ import annotations

import numpy as np
import pytest

from fusionwatch.detect._geometry import (
    apply_affine,
    crop_box,
    crop_matrix,
    invert_affine,
    letterbox_matrix,
    normalise,
    prepare_input,
    warp,
)


class TestLetterbox:
    """Tests for letterbox_matrix()."""

    @pytest.mark.parametrize("src_hw", [(2300, 800), (973, 355), (384, 192), (100, 900), (3755, 1427)])
    def test_round_trip_is_exact(self, src_hw: tuple[int, int]) -> None:
        """Points mapped into the input and back land where they started (to float precision)."""
        rng = np.random.default_rng(1)
        pts = rng.uniform(0, 1, (50, 2)) * [src_hw[1] - 1, src_hw[0] - 1]
        m = letterbox_matrix(src_hw, (384, 192))
        back = apply_affine(invert_affine(m), apply_affine(m, pts))
        np.testing.assert_allclose(back, pts, atol=1e-9)

    @pytest.mark.parametrize("src_hw", [(2300, 800), (100, 900)])
    def test_keeps_aspect_and_fits(self, src_hw: tuple[int, int]) -> None:
        """One scale for x and y; the image corners land inside the input canvas."""
        m = letterbox_matrix(src_hw, (384, 192))
        assert m[0, 0] == pytest.approx(m[1, 1]) and m[0, 1] == 0 and m[1, 0] == 0
        edges = apply_affine(m, np.array([[-0.5, -0.5], [src_hw[1] - 0.5, src_hw[0] - 0.5]]))
        assert edges.min() >= -0.5 - 1e-9
        assert edges[1, 0] <= 192 - 0.5 + 1e-9 and edges[1, 1] <= 384 - 0.5 + 1e-9

    def test_angles_unchanged(self) -> None:
        """An endplate drawn at 30 degrees keeps its angle through the letterbox (no stretching)."""
        m = letterbox_matrix((2000, 700), (384, 192))
        a, b = np.array([[100.0, 100.0], [100.0 + np.cos(np.radians(30)) * 50, 100.0 + np.sin(np.radians(30)) * 50]])
        pa, pb = apply_affine(m, np.array([a, b]))
        assert np.degrees(np.arctan2(pb[1] - pa[1], pb[0] - pa[0])) == pytest.approx(30.0, abs=1e-9)

    def test_pixel_centres_follow_points(self) -> None:
        """A bright pixel at an integer position is found by warp() at the position apply_affine() gives."""
        img = np.zeros((200, 100), np.float32)
        img[150, 30] = 1.0
        m = np.array([[2.0, 0.0, 5.0], [0.0, 2.0, 3.0]])  # exact 2x up-scale: the peak stays on a pixel centre
        out = warp(img, m, (420, 220))
        peak = np.unravel_index(np.argmax(out), out.shape)
        assert (peak[1], peak[0]) == tuple(apply_affine(m, np.array([[30.0, 150.0]]))[0].astype(int))


class TestCrop:
    """Tests for crop_box() and crop_matrix()."""

    def test_box_contains_points_with_margin_and_aspect(self) -> None:
        """The box holds every point, grows by the margin and has the input's aspect ratio."""
        pts = np.array([[100.0, 200.0], [160.0, 520.0], [130.0, 300.0]])
        x0, y0, x1, y1 = crop_box(pts, (320, 192), 0.25)
        assert x0 < 100 and x1 > 160 and y0 < 200 and y1 > 520
        assert (y1 - y0) == pytest.approx(320 * 1.5, rel=1e-9)  # height 320 px + 2 x 25 %
        assert (x1 - x0) / (y1 - y0) == pytest.approx(192 / 320)

    def test_crop_round_trip(self) -> None:
        """Mapping through a crop and back is exact."""
        m = crop_matrix((50.3, 70.1, 250.9, 400.2), (320, 192))
        pts = np.array([[60.0, 80.0], [240.5, 390.25]])
        np.testing.assert_allclose(apply_affine(invert_affine(m), apply_affine(m, pts)), pts, atol=1e-9)

    def test_empty_box_raises(self) -> None:
        """A box without area raises ValueError."""
        with pytest.raises(ValueError, match="positive size"):
            crop_matrix((10, 10, 10, 50), (64, 64))


class TestPrepareInput:
    """Tests for normalise() and prepare_input()."""

    def test_padding_and_range(self) -> None:
        """The padded area is -1; the covered area is normalised to about [-1, 1] (clipped to [-3, 3])."""
        rng = np.random.default_rng(0)
        img = rng.uniform(1000, 3000, (400, 100)).astype(np.float32)
        x = prepare_input(img, letterbox_matrix(img.shape, (128, 128)), (128, 128))
        assert x.shape == (128, 128) and x.dtype == np.float32
        assert np.all(x[:, :10] == -1.0)  # tall film: padding on both sides
        inner = x[10:-10, 60:68]
        assert -1.2 < inner.mean() < 1.2 and x.max() <= 3.0

    def test_normalise_is_contrast_invariant(self) -> None:
        """A linear change of the pixel values does not change the network input."""
        rng = np.random.default_rng(2)
        img = rng.normal(0, 1, (64, 64)).astype(np.float32)
        np.testing.assert_allclose(normalise(img), normalise(img * 7.0 + 300.0), atol=1e-4)
