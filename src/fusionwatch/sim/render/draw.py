"""Drawing on a path image: analytic shapes and splatted points on any camera.

A path image is float32 ``(rows, cols)`` holding mu x path length (dimensionless) per detector pixel. Capsules
(cylinders with round or flat ends, optionally threaded, tapered, shelled or hollow) are integrated exactly per pixel
for the ray's direction; point sets (mu x volume per point) are splatted bilinearly; pre-projected 2-D maps are posed by
one affine warp; layers can be blurred before they are added.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from fusionwatch.sim.camera import Camera


def _warp_add(dst: np.ndarray, src: np.ndarray, M: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> None:
    """dst += warpAffine(src, M) restricted to the destination bounding box of src (M maps src (col,row) -> dst)."""
    h, w = src.shape
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=float) @ M.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, dst.shape[1]), min(y1, dst.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    Mr = M.copy()
    Mr[:, 2] -= (x0, y0)
    dst[y0:y1, x0:x1] += cv2.warpAffine(
        src, Mr, (x1 - x0, y1 - y0), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0
    )


def _map_affine(
    cam: Camera, origin: tuple[float, float], res: float, A: np.ndarray, t: np.ndarray, depth: float
) -> np.ndarray:
    """Affine from map indices (k along z = cv2 x, i along x = cv2 y) to detector (col, row)."""
    P = cam.plane_affine(depth)[:, :2]
    c = cam.plane_affine(depth)[:, 2]
    o = np.asarray(origin)
    B = P @ A  # patient (x,z) mesh -> pixels
    M = np.empty((2, 3))
    M[:, 0] = B[:, 1] * res  # d/dk
    M[:, 1] = B[:, 0] * res  # d/di
    M[:, 2] = B @ o + P @ t + c
    return M


def capsule(
    L: np.ndarray,
    cam: Camera,
    a3: np.ndarray,
    b3: np.ndarray,
    radius: float,
    mu: float,
    *,
    thread_pitch: float = 0.0,
    thread_depth: float = 0.0,
    taper_mm: float = 0.0,
    shell: tuple[float, float] | None = None,
    inner_radius: float = 0.0,
    round_ends: bool = True,
) -> None:
    """Add mu x path length through a capsule (cylinder with round ends) from ``a3`` to ``b3`` (patient mm) to ``L``.

    ``shell=(thickness, mu_inner)``: the outer ``thickness`` mm has ``mu`` and the core ``mu_inner`` (bone cortex).
    ``inner_radius``: subtract a coaxial capsule (an annulus: the halo around a screw). Thread: radius oscillates by
    ``thread_depth`` with ``thread_pitch`` along the axis; ``taper_mm`` narrows the last millimetres to a tip at ``b3``.
    """
    a3, b3 = np.asarray(a3, float), np.asarray(b3, float)
    a2, b2 = cam.project(a3), cam.project(b3)
    mid_depth = float(cam.depth((a3 + b3) / 2))
    g = cam.gain(mid_depth)
    v = b3 - a3
    length = float(np.linalg.norm(v))
    ray = np.zeros(3)
    ray[cam.ray_axis] = 1.0
    sin_phi = math.sqrt(max(0.0, 1.0 - (float(v @ ray) / length) ** 2)) if length > 1e-6 else 1.0
    r_px = (radius + thread_depth) * g
    lo = np.floor(np.minimum(a2, b2) - r_px - 2).astype(int)
    hi = np.ceil(np.maximum(a2, b2) + r_px + 2).astype(int)
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], L.shape[1] - 1), min(hi[1], L.shape[0] - 1)
    if x1 < x0 or y1 < y0:
        return
    xs = np.arange(x0, x1 + 1, dtype=np.float32)
    ys = np.arange(y0, y1 + 1, dtype=np.float32)[:, None]
    d2 = (b2 - a2).astype(np.float32)
    dd = float(d2 @ d2)
    if dd > 1e-9:
        t_raw = ((xs - a2[0]) * d2[0] + (ys - a2[1]) * d2[1]) / dd
        t = np.clip(t_raw, 0.0, 1.0)
    else:
        t = np.zeros((len(ys), len(xs)), np.float32)
    dx = xs - (a2[0] + t * d2[0])
    dy = ys - (a2[1] + t * d2[1])
    dist = np.sqrt(dx * dx + dy * dy) / g  # mm at the object
    r = np.full_like(dist, radius)
    if thread_pitch > 0:
        s = t * length / thread_pitch
        r = r + thread_depth * (2.0 * np.abs(s - np.floor(s) - 0.5))
    if taper_mm > 0 and length > taper_mm:
        r = r * np.clip((length - t * length) / taper_mm, 0.35, 1.0)
    stretch = min(1.0 / max(sin_phi, 1e-3), (length + 2 * radius) / (2 * radius))

    def chord(rr: np.ndarray | float) -> np.ndarray:
        return 2.0 * np.sqrt(np.clip(rr * rr - dist * dist, 0.0, None)) * stretch

    if shell is not None:
        th, mu_in = shell
        c_out, c_in = chord(r), chord(np.maximum(r - th, 0.0))
        val = mu * (c_out - c_in) + mu_in * c_in
    else:
        val = mu * chord(r)
        if inner_radius > 0:
            val = val - mu * chord(np.minimum(inner_radius, r))
    if not round_ends and dd > 1e-9:
        val = val * ((t_raw >= 0.0) & (t_raw <= 1.0))
    L[y0 : y1 + 1, x0 : x1 + 1] += val.astype(np.float32)


def _quad_mask(shape: tuple[int, int], quad_px: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(quad_px * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    return m.astype(bool)


def _polygon(L: np.ndarray, cam: Camera, xz: np.ndarray, value: float, blur_mm: float) -> None:
    """Add ``value`` (mu x path) inside a convex sagittal polygon at the mid-sagittal plane, softly edged."""
    q = cam.project(np.c_[xz[:, 0], np.zeros(len(xz)), xz[:, 1]])
    pad = int(3 * blur_mm * cam.gain(0.0)) + 3
    x0, y0 = np.floor(q.min(0)).astype(int) - pad
    x1, y1 = np.ceil(q.max(0)).astype(int) + pad
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, L.shape[1]), min(y1, L.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    m = _quad_mask((y1 - y0, x1 - x0), q - (x0, y0)).astype(np.float32)
    L[y0:y1, x0:x1] += cv2.GaussianBlur(m, (0, 0), max(0.5, blur_mm * cam.gain(0.0))) * value


def _add_blurred(L: np.ndarray, layer: np.ndarray, sigma_px: float) -> None:
    """Add ``layer`` blurred by a Gaussian of ``sigma_px`` to ``L``, blurring only the window around its non-zero
    pixels (with a margin of 4 sigma; the same values as blurring the whole image: the analytic AP cortex covers a
    fraction of the film)."""
    rows, cols = np.flatnonzero(layer.any(axis=1)), np.flatnonzero(layer.any(axis=0))
    if rows.size == 0:
        return
    if sigma_px <= 0:
        L += layer
        return
    m = int(math.ceil(4.0 * sigma_px)) + 2
    r0, r1 = max(0, rows[0] - m), min(layer.shape[0], rows[-1] + m + 1)
    c0, c1 = max(0, cols[0] - m), min(layer.shape[1], cols[-1] + m + 1)
    L[r0:r1, c0:c1] += cv2.GaussianBlur(layer[r0:r1, c0:c1], (0, 0), sigma_px)


def _splat(L: np.ndarray, cam: Camera, p3: np.ndarray, w: np.ndarray) -> None:
    """Add point weights (mu x volume, mm^3 per point) as path integrals (per pixel area at each point) with bilinear
    splatting, then a half-pixel blur of the touched window."""
    cr = cam.project(p3)
    g = cam.mag_at(cam.depth(p3)) / cam.pixel_mm
    ww = w * g * g  # / pixel area at the object
    x0, y0 = np.floor(cr.min(0)).astype(int) - 3
    x1, y1 = np.ceil(cr.max(0)).astype(int) + 4
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, L.shape[1]), min(y1, L.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    gw, gh = x1 - x0, y1 - y0
    c0 = np.floor(cr[:, 0]).astype(np.int64)
    r0 = np.floor(cr[:, 1]).astype(np.int64)
    fc, fr = cr[:, 0] - c0, cr[:, 1] - r0
    acc = np.zeros(gh * gw, np.float64)
    for dc, dr, wk in ((0, 0, (1 - fc) * (1 - fr)), (1, 0, fc * (1 - fr)), (0, 1, (1 - fc) * fr), (1, 1, fc * fr)):
        cc, rr = c0 + dc - x0, r0 + dr - y0
        ok = (cc >= 0) & (cc < gw) & (rr >= 0) & (rr < gh)
        acc += np.bincount(rr[ok] * gw + cc[ok], weights=(ww * wk)[ok], minlength=gh * gw)
    L[y0:y1, x0:x1] += cv2.GaussianBlur(acc.reshape(gh, gw).astype(np.float32), (0, 0), 0.6)


def _add_coarse(L: np.ndarray, cam: Camera, sigma_px: float, draw) -> None:
    """Add a smooth layer to ``L``: ``draw(layer, camera)`` adds its unblurred values to a zero image of the camera's
    size; the result is blurred by a Gaussian of ``sigma_px`` (pixels of ``cam``). With ``sigma_px >= 8`` the layer is
    drawn on a grid ``f = sigma_px // 4`` times coarser (a camera with ``f`` times the pixel pitch), blurred there and
    upsampled (bicubic, only around its non-zero pixels): version 19, for wide blurs of smooth layers (the psoas)."""
    f = max(1, int(sigma_px // 4))
    if f == 1:
        layer = np.zeros_like(L)
        draw(layer, cam)
        _add_blurred(L, layer, sigma_px)
        return
    H, W = L.shape
    h, w = -(-H // f), -(-W // f)
    small = np.zeros((h, w), np.float32)
    draw(small, replace(cam, width=w, height=h, pixel_mm=cam.pixel_mm * f))
    rows, cols = np.flatnonzero(small.any(axis=1)), np.flatnonzero(small.any(axis=0))
    if rows.size == 0:
        return
    small = cv2.GaussianBlur(small, (0, 0), sigma_px / f)
    # full-resolution pixel (x, y) sits at coarse ((x - (W - 1) / 2) / f + (w - 1) / 2, likewise for y)
    ox, oy = (w - 1) / 2 - (W - 1) / (2 * f), (h - 1) / 2 - (H - 1) / (2 * f)
    m = int(math.ceil(4.0 * sigma_px / f)) + 3
    r0, r1 = max(0, int((rows[0] - m - oy) * f)), min(H, int((rows[-1] + m + 1 - oy) * f) + 1)
    c0, c1 = max(0, int((cols[0] - m - ox) * f)), min(W, int((cols[-1] + m + 1 - ox) * f) + 1)
    if r1 <= r0 or c1 <= c0:
        return
    M = np.array([[1.0 / f, 0.0, c0 / f + ox], [0.0, 1.0 / f, r0 / f + oy]])
    L[r0:r1, c0:c1] += cv2.warpAffine(
        small, M, (c1 - c0, r1 - r0), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT
    )
