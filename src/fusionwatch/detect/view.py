"""View classification (AP / lateral facing left / lateral facing right / not a lumbar film) and refusal of wrong input.

Two layers: cheap checks on the pixels (blank, flat or tiny images are refused as :class:`UnsupportedImageError` before
any model runs), then the shipped ``view.onnx`` classifier. Its "other" class was trained on synthetic non-spine images
(:func:`synthetic_non_spine`: blank and gradient fields, noise, photo-like scenes, chest-like films, documents), so it
refuses them instead of producing confident nonsense landmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fusionwatch.detect._geometry import letterbox_matrix, prepare_input, to_gray_float
from fusionwatch.detect.specs import VIEW_CLASSES
from fusionwatch.errors import UnsupportedImageError
from fusionwatch.radiograph import Facing, View

__all__ = ["ViewResult", "classify_view", "check_pixels", "synthetic_non_spine", "OTHER_THRESHOLD", "SMOOTH_THRESHOLD"]

SMOOTH_THRESHOLD = 0.01
"""Refuse images whose fine detail (image minus a 2 px Gaussian blur, on a <= 256 px sub-sample) has a standard dev.
under this fraction of the image's: smooth gradients. The lowest value over the 481 SpineWeb films was 0.035."""

OTHER_THRESHOLD = 0.5
"""Refuse the film when the classifier gives "not a lumbar film" at least this probability."""


@dataclass(frozen=True)
class ViewResult:
    """Class probabilities of one film.

    Attributes
    ----------
    probabilities : dict[str, float]
        ``"ap"``, ``"lateral_left"``, ``"lateral_right"``, ``"other"`` -> probability (sums to 1).
    """

    probabilities: dict[str, float]

    @property
    def best(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    @property
    def view(self) -> View | None:
        """``View.AP`` or ``View.LATERAL`` for the most likely spine class; ``None`` when "other" wins."""
        b = self.best
        return None if b == "other" else (View.AP if b == "ap" else View.LATERAL)

    @property
    def p_lateral(self) -> float:
        return self.probabilities["lateral_left"] + self.probabilities["lateral_right"]

    @property
    def facing(self) -> Facing | None:
        """Facing of a lateral film (anterior on the image left or right), ``None`` for AP/other."""
        if self.view is not View.LATERAL:
            return None
        return (
            Facing.LEFT if self.probabilities["lateral_left"] >= self.probabilities["lateral_right"] else Facing.RIGHT
        )


def check_pixels(pixels: np.ndarray, source: str = "image") -> None:
    """Refuse images that cannot be a radiograph whatever the model says.

    Raises
    ------
    UnsupportedImageError
        If the image is smaller than 64 px on a side, has non-finite values, or is (nearly) uniform: its robust contrast
        (99th - 1st percentile) is below 1 % of its range, or what varies is only pixel noise (the standard deviation
        after a 3 px Gaussian blur is under a quarter of the raw one), or it is smooth everywhere (no fine detail:
        see SMOOTH_THRESHOLD).
    """
    a = to_gray_float(pixels)
    if min(a.shape) < 64:
        raise UnsupportedImageError(
            f"{source}: {a.shape[1]} x {a.shape[0]} px is too small for landmark detection; "
            "expected a radiograph at least 64 px on each side."
        )
    if not np.isfinite(a).all():
        raise UnsupportedImageError(f"{source}: pixel values include NaN or infinity.")
    sub = a[:: max(1, a.shape[0] // 256), :: max(1, a.shape[1] // 256)]
    lo, hi = np.percentile(sub, [1.0, 99.0])
    span = float(a.max() - a.min())
    structure = float(cv2.GaussianBlur(sub.astype(np.float32), (0, 0), 3.0).std())
    if span <= 0 or (hi - lo) < 0.01 * span or structure < 1e-6 * span:
        raise UnsupportedImageError(
            f"{source}: the image is blank or nearly uniform (contrast {hi - lo:.3g}); "
            "expected a radiograph of the lumbar spine."
        )
    if structure < 0.25 * float(sub.std()):
        raise UnsupportedImageError(
            f"{source}: the image is pixel noise without structure (after a 3 px blur "
            f"{structure / float(sub.std()):.2f} of its variation is left, under 0.25); "
            "expected a radiograph of the lumbar spine."
        )
    fine = float((sub - cv2.GaussianBlur(sub.astype(np.float32), (0, 0), 2.0)).std())
    if fine < SMOOTH_THRESHOLD * float(sub.std()):
        raise UnsupportedImageError(
            f"{source}: the image has no fine structure (edge energy {fine / float(sub.std()):.3f} of its contrast, "
            f"under {SMOOTH_THRESHOLD}): a smooth gradient or an empty field, not a radiograph of the lumbar spine."
        )


def classify_view(pixels: np.ndarray, session, input_hw: tuple[int, int] = (128, 128)) -> ViewResult:  # noqa: ANN001
    """Run the view model (an onnxruntime session) on a film; returns the class probabilities."""
    img = to_gray_float(pixels)
    x = prepare_input(img, letterbox_matrix(img.shape[:2], input_hw), input_hw)
    logits = session.run(None, {"image": x[None, None]})[0][0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return ViewResult({c: float(v) for c, v in zip(VIEW_CLASSES, p, strict=False)})


# ------------------------------------------------------------------------------------------- synthetic negatives
def synthetic_non_spine(rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """A random image that is not a lumbar radiograph, for the view model's "other" class and for tests.

    Parameters
    ----------
    kind : str, optional
        ``"blank"``, ``"gradient"``, ``"noise"``, ``"photo"``, ``"chest"``, ``"document"``, ``"limb"``; else random.

    Returns
    -------
    (H, W) uint8 ndarray, 200-700 px per side.
    """
    kinds = ("blank", "gradient", "noise", "photo", "chest", "document", "limb")
    kind = kind or kinds[int(rng.integers(len(kinds)))]
    h, w = int(rng.integers(200, 700)), int(rng.integers(200, 700))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "blank":
        img = np.full((h, w), rng.uniform(0, 255), np.float32) + rng.normal(0, 2, (h, w))
    elif kind == "gradient":
        a = rng.uniform(0, 2 * math.pi)
        img = (np.cos(a) * xx / w + np.sin(a) * yy / h) * rng.uniform(50, 250) + rng.uniform(0, 100)
    elif kind == "noise":
        img = cv2.GaussianBlur(rng.normal(128, 60, (h, w)).astype(np.float32), (0, 0), rng.uniform(0.5, 6))
    elif kind == "photo":
        img = np.full((h, w), rng.uniform(40, 200), np.float32)
        for _ in range(int(rng.integers(5, 25))):
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            ax = (int(rng.integers(5, w // 3)), int(rng.integers(5, h // 3)))
            cv2.ellipse(img, c, ax, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0, 255)), -1)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 3)) + rng.normal(0, 8, (h, w))
    elif kind == "chest":
        img = np.full((h, w), 170.0, np.float32)
        for side in (-1, 1):
            cv2.ellipse(
                img, (int(w / 2 + side * w * 0.2), int(h * 0.45)), (int(w * 0.15), int(h * 0.3)), 0, 0, 360, 50.0, -1
            )
        for k in range(9):  # ribs
            y = int(h * (0.2 + 0.07 * k))
            for side in (-1, 1):
                cv2.ellipse(
                    img,
                    (int(w / 2), y),
                    (int(w * 0.38), int(h * 0.06)),
                    0,
                    0 if side > 0 else 180,
                    180 if side > 0 else 360,
                    140.0,
                    max(2, w // 80),
                )
        cv2.rectangle(img, (int(w * 0.47), 0), (int(w * 0.53), h), 200.0, -1)  # mediastinum / spine shadow
        cv2.ellipse(img, (int(w * 0.55), int(h * 0.6)), (int(w * 0.12), int(h * 0.12)), 0, 0, 360, 190.0, -1)  # heart
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(2, 6)) + rng.normal(0, 6, (h, w))
    elif kind == "document":
        img = np.full((h, w), 235.0, np.float32)
        for y in range(int(rng.integers(10, 30)), h - 10, int(rng.integers(12, 30))):
            x0 = int(rng.integers(5, 40))
            cv2.line(img, (x0, y), (int(rng.integers(w // 2, w - 5)), y), 30.0, int(rng.integers(1, 4)))
    else:  # limb: one long bright bone in soft tissue
        img = np.full((h, w), 30.0, np.float32)
        cv2.ellipse(img, (w // 2, h // 2), (int(w * 0.25), int(h * 0.48)), 0, 0, 360, 90.0, -1)
        cv2.rectangle(img, (int(w * 0.45), int(h * 0.05)), (int(w * 0.55), int(h * 0.95)), 200.0, -1)
        img = cv2.GaussianBlur(img, (0, 0), 3)
    if rng.random() < 0.5:
        img = img.T.copy() if kind != "chest" else img
    return np.clip(img, 0, 255).astype(np.uint8)
