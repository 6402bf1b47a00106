"""Augmentations suited to radiographs (numpy + OpenCV; no torch).

Geometric changes are returned as 2 x 3 affine matrices (see :mod:`fusionwatch.detect._geometry`) so the image and its
points move together exactly; a horizontal flip also renames AP left/right points (lateral names are anatomical).
Intensity changes mimic exposure and processing differences (gamma, contrast, windowing), detector noise and blur, and
metal implants (screws, rods, cages) drawn as saturated bright shapes near the lumbosacral spine.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fusionwatch.radiograph import View

__all__ = ["random_affine", "flip_matrix", "flip_names", "intensity", "implant_overlay", "add_noise"]


def random_affine(
    rng: np.random.Generator,
    hw: tuple[int, int],
    *,
    max_rot_deg: float = 10.0,
    scale_range: tuple[float, float] = (0.85, 1.15),
    max_shift: float = 0.05,
) -> np.ndarray:
    """A random similarity about the image centre: rotation, isotropic scale and shift (fraction of the size)."""
    h, w = hw
    a = math.radians(rng.uniform(-max_rot_deg, max_rot_deg))
    s = rng.uniform(*scale_range)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    c, si = s * math.cos(a), s * math.sin(a)
    tx = cx - c * cx + si * cy + rng.uniform(-max_shift, max_shift) * w
    ty = cy - si * cx - c * cy + rng.uniform(-max_shift, max_shift) * h
    return np.array([[c, -si, tx], [si, c, ty]], dtype=np.float64)


def flip_matrix(width: int) -> np.ndarray:
    """Horizontal mirror x -> W - 1 - x (pixel centres)."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]])


def mirrored_name(name: str) -> str:
    """The name of an AP point after a horizontal mirror: ``*.left`` <-> ``*.right`` (image sides); others unchanged."""
    if name.endswith(".left"):
        return name[: -len("left")] + "right"
    if name.endswith(".right"):
        return name[: -len("right")] + "left"
    return name


def mirror_channel_index(names: list[str] | tuple[str, ...]) -> list[int]:
    """For each channel, the channel naming the same point after a horizontal mirror (identity without a partner)."""
    names = list(names)
    return [names.index(mirrored_name(n)) if mirrored_name(n) in names else i for i, n in enumerate(names)]


def flip_names(points: dict[str, tuple[float, float]], view: View) -> dict[str, tuple[float, float]]:
    """Rename points after a horizontal mirror: AP image-side names swap; lateral names do not."""
    if view is not View.AP:
        return dict(points)
    return {mirrored_name(n): p for n, p in points.items()}


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The affine ``a`` applied after ``b``."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def intensity(rng: np.random.Generator, img01: np.ndarray) -> np.ndarray:
    """Random gamma (0.6-1.6), contrast/brightness, windowing and blur on an image scaled to [0, 1]."""
    out = np.clip(img01, 0.0, 1.0) ** rng.uniform(0.6, 1.6)
    if rng.random() < 0.5:
        lo, hi = rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0)
        out = np.clip((out - lo) / (hi - lo), 0.0, 1.0)
    out = out * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out.astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
    if rng.random() < 0.2:  # unsharp mask, as many processing pipelines do
        blur = cv2.GaussianBlur(out.astype(np.float32), (0, 0), rng.uniform(2.0, 8.0))
        out = out + rng.uniform(0.3, 1.0) * (out - blur)
    return out.astype(np.float32)


def add_noise(rng: np.random.Generator, x: np.ndarray, max_sigma: float = 0.15) -> np.ndarray:
    """Gaussian detector noise on a normalised network input."""
    return (x + rng.normal(0.0, rng.uniform(0.0, max_sigma), x.shape)).astype(np.float32)


def implant_overlay(rng: np.random.Generator, img01: np.ndarray, points: dict[str, tuple[float, float]]) -> np.ndarray:
    """Draw metal-like screws, rods and a cage near the lowest vertebrae named in ``points`` (bright, saturated).

    The positions are random around the L4-S1 corners (or the image centre when none is named): they need not be
    surgically exact; the aim is that landmarks are not pulled towards metal.
    """
    out = img01.copy()
    h, w = out.shape
    low = [p for n, p in points.items() if n.startswith(("L4.", "L5.", "S1."))]
    if low:
        c = np.mean(low, axis=0)
        span = max(np.ptp(np.asarray(low)[:, 1]), 20.0)
    else:
        c = np.array([w / 2, h * 0.6])
        span = h * 0.2
    level = float(rng.uniform(0.9, 1.0))
    n_screws = int(rng.integers(0, 5))
    heads = []
    for _ in range(n_screws):
        head = c + rng.normal(0, span * 0.4, 2)
        ang = rng.uniform(0, 2 * math.pi)
        length = span * rng.uniform(0.3, 0.6)
        tip = head + length * np.array([math.cos(ang), math.sin(ang)])
        thick = max(2, int(span * rng.uniform(0.03, 0.06)))
        cv2.line(out, tuple(int(v) for v in head), tuple(int(v) for v in tip), level, thick, cv2.LINE_AA)
        cv2.circle(out, tuple(int(v) for v in head), thick * 2, level, -1, cv2.LINE_AA)
        heads.append(head)
    if len(heads) >= 2 and rng.random() < 0.7:
        hs = sorted(heads, key=lambda p: p[1])
        cv2.line(
            out,
            tuple(int(v) for v in hs[0]),
            tuple(int(v) for v in hs[-1]),
            level,
            max(2, int(span * 0.04)),
            cv2.LINE_AA,
        )
    if rng.random() < 0.5:
        cc = c + rng.normal(0, span * 0.2, 2)
        size = (int(span * rng.uniform(0.2, 0.4)), int(span * rng.uniform(0.08, 0.15)))
        box = cv2.boxPoints(((float(cc[0]), float(cc[1])), size, float(rng.uniform(-30, 30))))
        cv2.polylines(out, [box.astype(np.int32)], True, level * 0.9, max(1, int(span * 0.015)), cv2.LINE_AA)
    return out
