"""Tests for fusionwatch.detect.inference with the shipped ONNX models (onnxruntime only; no torch needed)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from fusionwatch.detect import detect_landmarks
from fusionwatch.detect.inference import MODELS_DIR, confidence_from_spread, load_detector
from fusionwatch.detect.view import synthetic_non_spine
from fusionwatch.errors import UnsupportedImageError, ViewError
from fusionwatch.landmarks import lateral_facing
from fusionwatch.radiograph import Facing, Radiograph, View

SHARED = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def _sim_film(seed: int, view: str = "lateral"):  # noqa: ANN202
    pytest.importorskip("fusionwatch.sim.film", reason="simulator not available")
    from fusionwatch.detect._simdata import random_film

    return random_film(seed, view)


def _spineweb(limit: int = 4):  # noqa: ANN202
    folder = SHARED / "spineweb16-ap"
    if not folder.is_dir():
        pytest.skip(f"shared data absent: {folder}")
    from fusionwatch.detect.datasets import read_spineweb_samples, split_by_patient

    samples = read_spineweb_samples(folder, max_side=1024, limit=120)
    _, val = split_by_patient(samples, 0.2, 0)
    return [samples[i] for i in val[:limit]]


class TestRefusals:
    """Wrong input is refused with a specific error instead of landmarks."""

    def test_blank_image_refused(self) -> None:
        """A uniform image raises UnsupportedImageError before any model runs."""
        with pytest.raises(UnsupportedImageError, match="blank or nearly uniform"):
            detect_landmarks(Radiograph(np.full((500, 400), 1000.0, np.float32)))

    def test_pure_noise_refused_as_noise(self) -> None:
        """A random-noise image is refused as noise without structure, not called 'uniform' (its contrast is large)."""
        noise = np.random.default_rng(3).uniform(0, 255, (500, 400)).astype(np.float32)
        with pytest.raises(UnsupportedImageError, match="pixel noise without structure") as info:
            detect_landmarks(Radiograph(noise))
        assert "uniform" not in str(info.value)

    def test_tiny_image_refused(self) -> None:
        """An image under 64 px on a side raises UnsupportedImageError."""
        with pytest.raises(UnsupportedImageError, match="too small"):
            detect_landmarks(Radiograph(np.random.default_rng(0).uniform(0, 1, (40, 300)).astype(np.float32)))

    @pytest.mark.parametrize("kind", ["photo", "chest", "document", "limb", "gradient", "noise"])
    def test_non_spine_images_refused(self, kind: str) -> None:
        """Synthetic non-spine images (seeds unseen in training) are refused as 'not a lumbar radiograph'."""
        rng = np.random.default_rng(987_654 + len(kind))
        img = synthetic_non_spine(rng, kind).astype(np.float32)
        refused = "does not look like a lumbar spine radiograph|blank|no fine structure|pixel noise"
        with pytest.raises(UnsupportedImageError, match=refused):
            detect_landmarks(Radiograph(img))

    @pytest.mark.shared_data
    def test_ap_film_declared_lateral_raises(self) -> None:
        """A real AP film declared lateral raises ViewError naming both views."""
        s = _spineweb(1)[0]
        with pytest.raises(ViewError, match="declared lateral"):
            detect_landmarks(Radiograph(s.image.astype(np.float32), view=View.LATERAL))

    def test_missing_model_for_view_raises(self, tmp_path: Path) -> None:
        """With only the AP film model (ap-spine), no view model, a film declared lateral raises ViewError."""
        import cv2

        shutil.copy(MODELS_DIR / "ap-spine.onnx", tmp_path / "ap-spine.onnx")
        noise = np.random.default_rng(1).normal(0, 1, (300, 200)).astype(np.float32)
        img = cv2.GaussianBlur(noise, (0, 0), 4.0)
        with pytest.raises(ViewError, match="No lateral landmark model"):
            load_detector(tmp_path).detect(Radiograph(img, view=View.LATERAL))

    def test_unknown_view_without_view_model_raises(self, tmp_path: Path) -> None:
        """Without a view model, a film of unknown view raises ViewError asking for the view."""
        import cv2

        shutil.copy(MODELS_DIR / "ap-spine.onnx", tmp_path / "ap-spine.onnx")
        img = cv2.GaussianBlur(np.random.default_rng(2).normal(0, 1, (300, 200)).astype(np.float32), (0, 0), 4.0)
        with pytest.raises(ViewError, match="give the view"):
            load_detector(tmp_path).detect(Radiograph(img))


class TestLateral:
    """Detection on simulated lateral films never seen in training (seeds >= 900000)."""

    def test_accuracy_and_output(self) -> None:
        """24 named points, median error within 3.6 mm (budget: twice the shipped model's held-out median of 1.8 mm on
        100 unseen simulated films, MODEL_CARD.md), confidences in [0, 1], source names the models, facing correct."""
        film = _sim_film(900_001)
        spacing_mm = film.truth["camera"]["patient_pixel_spacing_mm"]
        lm = detect_landmarks(Radiograph(film.pixels.astype(np.float32), view=View.LATERAL))
        assert lm.view is View.LATERAL and lm.source.startswith("model:lateral-film/")
        assert all(0.0 <= c <= 1.0 for c in lm.confidence.values())
        errs = [math.dist(lm.points[n], p) * spacing_mm for n, p in film.landmarks.points.items() if n in lm.points]
        assert len(errs) >= 22
        assert float(np.median(errs)) < 3.6
        assert lateral_facing(lm) is (Facing.LEFT if film.truth["camera"]["facing"] == "left" else Facing.RIGHT)

    def test_mirrored_film_gives_mirrored_points(self) -> None:
        """Mirroring the film mirrors the points (x -> W - 1 - x) and flips the facing; names stay anatomical."""
        film = _sim_film(900_002)
        px = film.pixels.astype(np.float32)
        a = detect_landmarks(Radiograph(px, view=View.LATERAL))
        b = detect_landmarks(Radiograph(px[:, ::-1].copy(), view=View.LATERAL))
        w = px.shape[1]
        diag = math.hypot(*px.shape)
        d = [math.dist((w - 1 - a.points[n][0], a.points[n][1]), b.points[n]) / diag * 100 for n in a.points]
        assert float(np.median(d)) < 1.0
        assert lateral_facing(a) is not lateral_facing(b)

    def test_scale_equivariance(self) -> None:
        """The same film at half size gives the same points at half the coordinates (exact map-back, within 1 %)."""
        import cv2

        film = _sim_film(900_003)
        px = film.pixels.astype(np.float32)
        full = detect_landmarks(Radiograph(px, view=View.LATERAL))
        half_px = cv2.resize(px, (px.shape[1] // 2, px.shape[0] // 2), interpolation=cv2.INTER_AREA)
        half = detect_landmarks(Radiograph(half_px, view=View.LATERAL))
        diag = math.hypot(*px.shape)
        d = [
            math.dist(((full.points[n][0] + 0.5) / 2 - 0.5, (full.points[n][1] + 0.5) / 2 - 0.5), half.points[n])
            / (diag / 2)
            * 100
            for n in full.points
        ]
        assert float(np.median(d)) < 1.0


class TestAP:
    """Detection on real SpineWeb AP films of the patient-grouped validation split."""

    @pytest.mark.shared_data
    def test_accuracy(self) -> None:
        """L1-L5 corners: median error within 3 % of the image diagonal (the shipped model's held-out median is
        documented in MODEL_CARD.md; this is a regression budget, not the target)."""
        errs = []
        for s in _spineweb(4):
            lm = detect_landmarks(Radiograph(s.image.astype(np.float32), view=View.AP))
            assert lm.view is View.AP and len(lm.points) == 20
            diag = math.hypot(*s.image.shape)
            errs += [math.dist(lm.points[n], p) / diag * 100 for n, p in s.points.items()]
        assert float(np.median(errs)) < 3.0


def test_confidence_is_monotone() -> None:
    """Tighter probability maps give higher confidence, within (0, 1]."""
    c = confidence_from_spread(np.array([0.5, 2.0, 6.0, 20.0, 80.0]))
    assert np.all(np.diff(c) <= 0) and c[0] == pytest.approx(1.0) and 0 < c[-1] < 0.1
