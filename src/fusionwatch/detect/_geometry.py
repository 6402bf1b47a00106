"""Pixel geometry shared by training and inference: letterboxing, crops, affine point maps, intensity normalisation.

All points are ``(x, y)`` with the origin at the centre of the top-left pixel, x right, y down, pixels. The 2 x 3 affine
matrices follow OpenCV's ``warpAffine`` convention (destination = M @ [x, y, 1] for a source point), which uses the same
pixel-centre origin, so mapping an image and its points with the same matrix keeps them exactly in register.
Aspect ratio is always preserved (one scale for x and y, padding elsewhere): angles are never distorted.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "letterbox_matrix",
    "crop_matrix",
    "crop_box",
    "invert_affine",
    "apply_affine",
    "warp",
    "normalise",
    "to_gray_float",
]


def letterbox_matrix(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> np.ndarray:
    """Similarity that fits a ``src_hw`` image centred inside ``dst_hw`` with one scale (padding the rest).

    Returns
    -------
    (2, 3) float64 ndarray
        Maps source pixel ``(x, y)`` to destination pixel coordinates.
    """
    return crop_matrix((0.0, 0.0, float(src_hw[1]), float(src_hw[0])), dst_hw)


def crop_matrix(box: tuple[float, float, float, float], dst_hw: tuple[int, int]) -> np.ndarray:
    """Similarity mapping the box ``(x0, y0, x1, y1)`` (pixel edges, source pixels) centred into ``dst_hw``, one scale.

    The box edges are pixel borders: the full image of width W is ``(0, 0, W, H)``, whose border pixel centres are at
    0 and W - 1.
    """
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    if bw <= 0 or bh <= 0:
        raise ValueError(f"Crop box must have positive size, got {box!r}.")
    h, w = dst_hw
    s = min(w / bw, h / bh)
    # source edge x0 - 0.5 (pixel border) goes to the destination border of the centred box
    cx_src, cy_src = (x0 + x1) / 2.0 - 0.5, (y0 + y1) / 2.0 - 0.5
    cx_dst, cy_dst = w / 2.0 - 0.5, h / 2.0 - 0.5
    return np.array([[s, 0.0, cx_dst - s * cx_src], [0.0, s, cy_dst - s * cy_src]], dtype=np.float64)


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2 x 3 affine matrix."""
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map ``(N, 2)`` points ``(x, y)`` with a 2 x 3 matrix."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def warp(image: np.ndarray, m: np.ndarray, dst_hw: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """Resample ``image`` into a ``dst_hw`` canvas with the forward matrix ``m`` (bilinear, ``fill`` outside)."""
    s = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    src = image
    # pre-blur when shrinking a lot, so the bilinear sample does not alias
    if s < 0.5:
        sigma = 0.5 / s * 0.5
        src = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.warpAffine(
        src,
        m.astype(np.float64),
        (int(dst_hw[1]), int(dst_hw[0])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=float(fill),
    )


def to_gray_float(pixels: np.ndarray) -> np.ndarray:
    """2-D float32 copy of the pixels (averaging colour channels if any)."""
    a = np.asarray(pixels)
    if a.ndim == 3:
        a = a[..., :3].mean(axis=-1)
    return a.astype(np.float32, copy=False)


def normalise(image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Robust intensity normalisation to roughly zero mean and unit spread.

    Percentiles 1 and 99 (over ``mask`` when given: the non-padded area) go to -1 and +1; values are clipped to [-3, 3].
    """
    a = image.astype(np.float32, copy=False)
    vals = a[mask] if mask is not None and mask.any() else a
    if vals.size > 40000:
        vals = vals.ravel()[:: vals.size // 40000]
    lo, hi = np.percentile(vals, [1.0, 99.0])
    scale = max(float(hi - lo), 1e-6) / 2.0
    out = (a - (lo + hi) / 2.0) / scale
    return np.clip(out, -3.0, 3.0).astype(np.float32)


def prepare_input(image: np.ndarray, m: np.ndarray, dst_hw: tuple[int, int]) -> np.ndarray:
    """The network input: ``image`` warped by ``m`` into ``dst_hw``, normalised over the covered area, padding at -1.

    Returns
    -------
    (H, W) float32 ndarray
    """
    img = to_gray_float(image)
    warped = warp(img, m, dst_hw, fill=0.0)
    covered = warp(np.ones(img.shape, np.float32), m, dst_hw, fill=0.0) > 0.5
    out = normalise(warped, covered)
    out[~covered] = -1.0
    return out


def crop_box(points: np.ndarray, input_hw: tuple[int, int], margin: float) -> tuple[float, float, float, float]:
    """Box around ``(N, 2)`` points, grown by ``margin`` x its size on each side, with the input's aspect ratio."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    c = (lo + hi) / 2.0 + 0.5  # box edges are pixel borders
    bw, bh = (hi - lo) * (1 + 2 * margin)
    h, w = input_hw
    bh = max(bh, bw * h / w, 16.0)
    bw = bh * w / h
    return (c[0] - bw / 2, c[1] - bh / 2, c[0] + bw / 2, c[1] + bh / 2)
