"""Per-patient anatomical variety on top of the one bundled anatomy: bone shapes, soft-tissue thickness, bowel gas.

Every simulated patient otherwise has the Visible Human Male's bones and the one CT's soft tissue and bowel gas, so
films look like the same person. :func:`patient_anatomy` returns a new :class:`~fusionwatch.sim.anatomy.Anatomy` for a
seed with:

- **bone shapes**: each lumbar vertebra and the sacrum is deformed by a smooth, invertible in-plane (sagittal) field
  ``q = p + D(q)`` in the mesh frame (+x anterior, +z superior, mm): a posterior-element stretch (pedicles, laminae
  and spinous process longer or shorter: ``D_x = k * softmin(x - x_wall, 0)`` behind the posterior wall) plus a sum of
  low-frequency sine modes (about 1 mm); the left-right width is scaled per bone. The lateral maps are resampled
  with the inverse map, the AP voxel points and the endplate corners are moved with the forward map, the AP endplate
  half-widths with the width factor, so the ground truth stays exact (the corners *are* the deformed corners);
- **soft tissue**: a smooth random thickness field (+-6 %), the AP map mirrored left-right in half the patients, most
  of the CT's own bowel gas removed and replaced by
  patient-specific gas: chains of ellipsoids (colon-like) in the abdomen in 3-D, summed along y for the lateral map
  and along x for the AP map, so lateral and AP films of one patient show the same gas.

The pelvis and femoral heads are not deformed (head centres are landmarks; the pelvis varies by size and pose).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np
from scipy import ndimage

from fusionwatch.sim import abdomen
from fusionwatch.sim.anatomy import Anatomy, LateralMap, load_anatomy

__all__ = ["BoneWarp", "patient_anatomy", "patient_skeleton", "sample_warps"]

_SOFT_MM = 3.0
"""Smoothness (mm) of the posterior-wall ramp of the posterior-element stretch."""
_LUMBAR = ("L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class BoneWarp:
    """A smooth deformation of one bone in its mesh frame (mm).

    Forward map ``p -> q`` with ``q = p + D(q)``; the inverse (used to resample images) is simply ``p = q - D(q)``.

    Attributes
    ----------
    wall_x : float
        x (mm) of the posterior vertebral wall; behind it the posterior elements are stretched by ``stretch``.
    stretch : float
        Relative change of the posterior elements' anterior-posterior length (0.1 = 10 % longer).
    freqs : ndarray (K, 2)
        Spatial frequencies (cycles/mm) of the sine modes in (x, z).
    phases : ndarray (K, 2)
        Phases (rad) of each mode for the x and the z displacement.
    amps : ndarray (K, 2)
        Amplitudes (mm) of each mode for the x and the z displacement.
    width : float
        Left-right (y) scale factor.
    """

    wall_x: float
    stretch: float
    freqs: np.ndarray
    phases: np.ndarray
    amps: np.ndarray
    width: float = 1.0

    def displacement(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``D(x, z)`` in mm (same shapes as ``x`` and ``z``)."""
        x = np.asarray(x, dtype=np.float64)
        z = np.asarray(z, dtype=np.float64)
        u = (x - self.wall_x) / _SOFT_MM
        dx = self.stretch * (-_SOFT_MM) * np.logaddexp(0.0, -u)  # ~ stretch * (x - wall) behind the wall, ~0 in front
        dz = np.zeros_like(dx)
        for (fx, fz), (px, pz), (ax, az) in zip(self.freqs, self.phases, self.amps, strict=True):
            arg = 2 * math.pi * (fx * x + fz * z)
            dx = dx + ax * np.sin(arg + px)
            dz = dz + az * np.sin(arg + pz)
        return dx, dz

    def forward(self, xz: np.ndarray, tol_mm: float = 1e-9) -> np.ndarray:
        """Deformed positions of points ``(..., 2)`` (x, z) mm: the fixed point of ``q = p + D(q)`` (iterated to
        ``tol_mm``; D is a contraction: its gradient stays well below 1)."""
        p = np.asarray(xz, dtype=np.float64)
        q = p.copy()
        for _ in range(100):
            dx, dz = self.displacement(q[..., 0], q[..., 1])
            new = p + np.stack([dx, dz], axis=-1)
            done = np.abs(new - q).max(initial=0.0) < tol_mm
            q = new
            if done:
                break
        return q

    def inverse(self, xz: np.ndarray) -> np.ndarray:
        """Original positions of deformed points ``(..., 2)``: ``q - D(q)`` (exact)."""
        q = np.asarray(xz, dtype=np.float64)
        dx, dz = self.displacement(q[..., 0], q[..., 1])
        return q - np.stack([dx, dz], axis=-1)


def sample_warps(an: Anatomy, rng: np.random.Generator) -> dict[str, BoneWarp]:
    """Random smooth deformations for L1-L5 and the sacrum (posterior stretch -10 % ... +15 %, ~1 mm sine modes,
    width +-6 %)."""
    out = {}
    for b in (*_LUMBAR, "S1"):
        c = an.corners[b]
        wall = float(np.mean([v[0] for k, v in c.items() if k.endswith("posterior")]))
        k = 4
        wavelength = rng.uniform(35.0, 90.0, k)
        ang = rng.uniform(0.0, math.pi, k)
        freqs = np.c_[np.cos(ang), np.sin(ang)] / wavelength[:, None]
        amp = 0.45 if b != "S1" else 0.35
        out[b] = BoneWarp(
            wall_x=wall,
            stretch=float(rng.uniform(-0.10, 0.15)) if b != "S1" else 0.0,
            freqs=freqs,
            phases=rng.uniform(0.0, 2 * math.pi, (k, 2)),
            amps=rng.normal(0.0, amp, (k, 2)),
            width=float(np.clip(rng.normal(1.0, 0.035), 0.92, 1.08)),
        )
    return out


def _warp_map(m: LateralMap, w: BoneWarp) -> LateralMap:
    """Resample a lateral line-integral map under ``w`` (path lengths along y scale with the width)."""
    n0, n1 = m.total.shape
    ii, kk = np.nonzero(m.total > 0)
    step = max(1, len(ii) // 4000)
    pts = np.c_[m.origin[0] + ii[::step] * m.res, m.origin[1] + kk[::step] * m.res]
    q = w.forward(pts)
    lo = np.minimum(q.min(axis=0), [m.origin[0], m.origin[1]]) - 3.0
    hi = np.maximum(q.max(axis=0), [m.origin[0] + (n0 - 1) * m.res, m.origin[1] + (n1 - 1) * m.res]) + 3.0
    origin = (float(np.floor(lo[0] / m.res) * m.res), float(np.floor(lo[1] / m.res) * m.res))
    shape = (int(math.ceil((hi[0] - origin[0]) / m.res)) + 1, int(math.ceil((hi[1] - origin[1]) / m.res)) + 1)
    gx = origin[0] + np.arange(shape[0]) * m.res
    gz = origin[1] + np.arange(shape[1]) * m.res
    X, Z = np.meshgrid(gx, gz, indexing="ij")
    src = w.inverse(np.stack([X, Z], axis=-1))
    ci = (src[..., 0] - m.origin[0]) / m.res
    ck = (src[..., 1] - m.origin[1]) / m.res

    def resample(a: np.ndarray) -> np.ndarray:
        out = ndimage.map_coordinates(a, [ci, ck], order=1, mode="constant", cval=0.0)
        return (out * w.width).astype(np.float32)

    return LateralMap(resample(m.total), resample(m.cortical), origin, m.res, m.depth_mm)


def _smooth_field(shape: tuple[int, int], res_mm: float, corr_mm: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-std smooth random field on a grid of ``shape`` (cubic upsampling of coarse noise)."""
    cell = max(1, int(round(corr_mm / res_mm)))
    coarse = rng.standard_normal((shape[0] // cell + 3, shape[1] // cell + 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(coarse, (0, 0), 0.8)
    f = cv2.resize(smooth, (smooth.shape[1] * cell, smooth.shape[0] * cell), interpolation=cv2.INTER_CUBIC)
    f = f[cell : cell + shape[0], cell : cell + shape[1]]
    return (f - f.mean()) / (f.std() + 1e-6)


@lru_cache(maxsize=2)
def _ct_gas(view: str) -> np.ndarray:
    """The CT's own gas (negative detail inside the body) of the bundled ``"lateral"`` or ``"ap"`` thickness map."""
    an = load_anatomy()
    soft, res = (an.soft_lat if view == "lateral" else an.soft_ap), an.soft_res
    base = cv2.GaussianBlur(soft, (0, 0), 20.0 / res)  # gas pockets up to a few cm
    body = (soft > 60.0).astype(np.uint8)
    inner = cv2.erode(body, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(30 / res) | 1, int(30 / res) | 1)))
    inner_f = cv2.GaussianBlur(inner.astype(np.float32), (0, 0), 4.0 / res)
    return np.minimum(soft - base, 0.0) * inner_f


def _spline(ctrl: np.ndarray, step_mm: float) -> np.ndarray:
    """Points every ~``step_mm`` along a Catmull-Rom curve through the control points ``(K, 3)``."""
    P = np.vstack([ctrl[:1], ctrl, ctrl[-1:]])
    out = []
    for i in range(1, len(P) - 2):
        p0, p1, p2, p3 = P[i - 1], P[i], P[i + 1], P[i + 2]
        n = max(2, int(np.linalg.norm(p2 - p1) / step_mm))
        t = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
        out.append(
            0.5
            * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(P[-2:-1])
    return np.vstack(out)


@dataclass
class _Gas:
    """A patient's bowel gas: a coarse gas-fraction volume (tubular colon and small-bowel segments) and the small
    bubbles of stool (centres (N, 3) and radii (N,), mm), projected analytically at a finer grid."""

    volume: np.ndarray
    origin: tuple[float, float, float]
    vox: float
    bubbles: np.ndarray
    bubble_r: np.ndarray


def _gas_volume(an: Anatomy, rng: np.random.Generator, vox: float = 2.0) -> _Gas:
    """Bowel gas in the abdomen (mesh frame): the colon as a tube along its course (caecum and ascending colon on one
    side, a sagging transverse colon, descending colon, sigmoid loops and rectum over the sacrum) divided into
    haustral segments that are collapsed, gas-filled (haustral folds narrow the lumen) or filled with stool (a mottle
    of small bubbles); plus a few small-bowel loops."""
    res = an.soft_res
    ox, oz = an.soft_lat_origin
    origin = (-100.0, -250.0, -150.0)
    shape = (int(350 / vox), int(500 / vox), int(400 / vox))
    gas = np.zeros(shape, np.float32)
    spine_front = max(float(max(v[0] for v in an.corners[b].values())) for b in _LUMBAR)

    def front_x(z: float) -> float:
        k = int(round((z - oz) / res))
        col = an.soft_lat[:, int(np.clip(k, 0, an.soft_lat.shape[1] - 1))]
        idx = np.nonzero(col > 40.0)[0]
        return ox + res * float(idx.max()) if len(idx) else spine_front + 60.0

    def half_y(z: float) -> float:
        k = int(round((z - oz) / res))
        col = an.soft_ap[:, int(np.clip(k, 0, an.soft_ap.shape[1] - 1))]
        idx = np.nonzero(col > 40.0)[0]
        return 0.5 * res * float(idx.max() - idx.min()) if len(idx) else 120.0

    g = [origin[i] + (np.arange(shape[i]) + 0.5) * vox for i in range(3)]

    def ball(c: np.ndarray, r: float, value: float = 1.0) -> None:
        sl = tuple(
            slice(int(max(0, (cc - r - o) // vox)), int(max(0, min(n, (cc + r - o) // vox + 2))))
            for cc, o, n in zip(c, origin, shape, strict=True)
        )
        if any(q.stop <= q.start for q in sl):
            return
        d = (
            ((g[0][sl[0]] - c[0]) / r)[:, None, None] ** 2
            + ((g[1][sl[1]] - c[1]) / r)[None, :, None] ** 2
            + ((g[2][sl[2]] - c[2]) / r)[None, None, :] ** 2
        )
        np.maximum(gas[sl], value * np.clip((1.0 - d) / 0.2, 0.0, 1.0), out=gas[sl])  # soft-edged ball

    side = 1.0 if rng.random() < 0.5 else -1.0  # caecum side (the AP soft tissue is mirrored in half the patients)
    sf = spine_front
    z_sag = float(rng.uniform(90.0, 170.0))  # lowest point of the transverse colon
    J = lambda s=8.0: rng.normal(0.0, s)  # noqa: E731

    def at(xo: float, yf: float, z: float) -> list[float]:
        z = z + J()
        return [xo + J(), yf * half_y(z) + J(), z]

    fx = lambda z: front_x(z)  # noqa: E731
    course = [  # (control point, lumen radius mm)
        (at(sf + 30, 0.55 * side, 35), 26.0),  # caecum
        (at(sf + 20, 0.62 * side, 110), 22.0),
        (at(sf + 25, 0.55 * side, 180), 21.0),  # hepatic flexure
        (at(fx(z_sag) - 45, 0.25 * side, z_sag), 20.0),
        (at(fx(z_sag) - 45, -0.2 * side, z_sag + 15), 19.0),
        (at(sf + 20, -0.6 * side, 215), 18.0),  # splenic flexure
        (at(sf + 15, -0.66 * side, 120), 15.0),
        (at(sf + 20, -0.62 * side, 45), 15.0),
        (at(sf + 30, -0.35 * side, 5), 14.0),  # sigmoid
        (at(sf + 40, -0.05 * side, 30), 14.0),
        (at(sf + 15, 0.05 * side, -25), 16.0),
        (at(sf - 15, 0.0, -70), 18.0),  # rectum, over the sacrum
    ]
    ctrl = np.array([c for c, _ in course], float)
    radii = np.array([r for _, r in course]) * rng.uniform(0.75, 1.15)
    pts = _spline(ctrl, 2.0)
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    knots = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(ctrl, axis=0), axis=1))]
    knots *= arc[-1] / max(knots[-1], 1e-6)
    rad = np.interp(arc, knots, radii)
    # haustral segments: a Markov chain of collapsed / gas / stool
    p_gas, p_stool = float(rng.uniform(0.15, 0.45)), float(rng.uniform(0.1, 0.35))
    seg_len = rng.uniform(18.0, 30.0)
    n_seg = int(arc[-1] // seg_len) + 1
    state = np.zeros(n_seg, int)
    probs = np.array([max(0.1, 1 - p_gas - p_stool), p_gas, p_stool])
    probs /= probs.sum()
    cur = int(rng.choice(3, p=probs))
    for i in range(n_seg):
        if rng.random() > 0.55:
            cur = int(rng.choice(3, p=probs))
        state[i] = cur
    bubbles, bubble_r = [], []
    seg = (arc // seg_len).astype(int)
    u = (arc % seg_len) / seg_len
    fold = rng.uniform(0.55, 0.8)  # lumen left at a haustral fold
    distension = rng.uniform(0.55, 1.0, n_seg)  # gas segments: partly filled or distended
    for j in range(0, len(pts), 2):
        st, r = state[seg[j]], rad[j] * distension[seg[j]]
        if st == 1:
            ball(pts[j], r * (fold + (1 - fold) * np.sin(np.pi * u[j]) ** 0.5))
    # stool: small bubbles (mostly 0.8-2.8 mm, a few 4-7 mm pockets) filling ~4-10 % of the lumen of stool segments
    fill = rng.uniform(0.04, 0.1)
    for i in np.flatnonzero(state == 2):
        sel = np.flatnonzero(seg == i)
        if len(sel) < 2:
            continue
        r_mean = float(rad[sel].mean())
        vol = np.pi * r_mean**2 * seg_len * fill
        rr = rng.uniform(0.8, 2.8, int(vol / (4 / 3 * np.pi * 2.0**3)) + 1)
        big = rng.random(len(rr)) < 0.04
        rr[big] = rng.uniform(4.0, 7.0, int(big.sum()))
        k = rng.choice(sel, len(rr))
        d = rng.normal(size=(len(rr), 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        d *= (rad[k] * 0.85 * rng.random(len(rr)) ** (1 / 3))[:, None]
        bubbles.append(pts[k] + d)
        bubble_r.append(rr)
    # small bowel: a few short gas-filled loops in the mid-abdomen
    for _ in range(int(rng.integers(0, 5))):
        z = float(rng.uniform(30.0, 150.0))
        x = float(rng.uniform(sf + 25, max(sf + 30, front_x(z) - 35)))
        c = np.array([x, rng.uniform(-0.4, 0.4) * half_y(z), z])
        heading = rng.normal(size=3)
        r = float(rng.uniform(7.0, 12.0))
        for _ in range(int(rng.integers(12, 40))):
            ball(c, r * rng.uniform(0.85, 1.0))
            heading = heading + rng.normal(0.0, 0.6, 3)
            heading /= np.linalg.norm(heading)
            c = c + heading * 3.0
    np.clip(gas, 0.0, 1.0, out=gas)
    b = np.vstack(bubbles) if bubbles else np.zeros((0, 3))
    br = np.concatenate(bubble_r) if bubble_r else np.zeros(0)
    return _Gas(gas, origin, vox, b, br)


def _bubble_projection(
    centres: np.ndarray, radii: np.ndarray, axis: int, origin: tuple[float, float], shape: tuple[int, int], res: float
) -> np.ndarray:
    """Path length (mm) through spheres along ``axis`` (0: x, 1: y) on a 2-D grid over the other two axes."""
    out = np.zeros(shape, np.float32)
    keep = [i for i in range(3) if i != axis]
    for c, r in zip(centres[:, keep], radii, strict=True):
        i0 = int(max(0, (c[0] - r - origin[0]) // res))
        i1 = int(min(shape[0], (c[0] + r - origin[0]) // res + 2))
        k0 = int(max(0, (c[1] - r - origin[1]) // res))
        k1 = int(min(shape[1], (c[1] + r - origin[1]) // res + 2))
        if i1 <= i0 or k1 <= k0:
            continue
        a = origin[0] + (np.arange(i0, i1) + 0.5) * res - c[0]
        b = origin[1] + (np.arange(k0, k1) + 0.5) * res - c[1]
        out[i0:i1, k0:k1] += 2.0 * np.sqrt(np.clip(r * r - a[:, None] ** 2 - b[None, :] ** 2, 0.0, None))
    return out


def _add_projection(
    soft: np.ndarray,
    soft_origin: tuple[float, float],
    res: float,
    proj: np.ndarray,
    proj_origin: tuple[float, float],
    vox: float,
) -> np.ndarray:
    """``soft`` minus a coarse path-length map ``proj`` (cells of ``vox`` mm from ``proj_origin``), resampled."""
    n0, n1 = soft.shape
    i = np.arange(n0)
    k = np.arange(n1)
    ci = (soft_origin[0] + i * res - proj_origin[0]) / vox - 0.5
    ck = (soft_origin[1] + k * res - proj_origin[1]) / vox - 0.5
    ok_i = (ci > -1) & (ci < proj.shape[0])
    ok_k = (ck > -1) & (ck < proj.shape[1])
    gi, gk = np.meshgrid(ci[ok_i], ck[ok_k], indexing="ij")
    sm = cv2.GaussianBlur(proj.astype(np.float32), (0, 0), 0.7)
    vals = ndimage.map_coordinates(sm, [gi, gk], order=1, mode="constant", cval=0.0)
    out = soft.copy()
    win = np.ix_(np.nonzero(ok_i)[0], np.nonzero(ok_k)[0])
    out[win] = np.maximum(out[win] - vals, 0.25 * out[win])
    return out


AP_CT_DETAIL_KEPT = 0.25
"""Share of the CT's own fine soft-tissue detail (organ edges, the bright band of one bowel wall at about L2) kept
inside the body on AP films: it was the same in every simulated patient (version 12)."""


def _damp_ct_detail(soft: np.ndarray, res: float, scale_mm: float = 25.0, margin_mm: float = 35.0) -> np.ndarray:
    """The AP soft-tissue map with its detail finer than ``scale_mm`` (the one CT's organs and gas pockets) reduced
    to ``AP_CT_DETAIL_KEPT`` inside the body, fading in over ``margin_mm`` from the skin (the body outline stays sharp;
    the smoothing is normalised over the body so the skin does not darken the margin)."""
    # thin bright structures (< 12 mm: the bowel-wall band between two of the CT's gas pockets) go entirely: a grey
    # opening (square element: separable, fast), which leaves the broad body and its outline as they are
    k = int(round(12.0 / res)) | 1
    soft = cv2.morphologyEx(soft.astype(np.float32), cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    body = (soft > 0.3 * float(soft.max())).astype(np.float32)
    # normalised smoothing on a 4x coarser grid (the scale is 25 mm)
    n0, n1 = soft.shape
    f = 4
    small = (n1 // f, n0 // f)
    sb = cv2.resize(soft * body, small, interpolation=cv2.INTER_AREA)
    bb = cv2.resize(body, small, interpolation=cv2.INTER_AREA)
    sig = scale_mm / (res * f)
    smooth_small = cv2.GaussianBlur(sb, (0, 0), sig) / np.maximum(cv2.GaussianBlur(bb, (0, 0), sig), 1e-3)
    smooth = cv2.resize(smooth_small, (n1, n0), interpolation=cv2.INTER_LINEAR)
    inside = cv2.distanceTransform(body.astype(np.uint8), cv2.DIST_L2, 5) * res
    w = np.clip((inside - 8.0) / (margin_mm - 8.0), 0.0, 1.0).astype(np.float32)
    return (soft - (1.0 - AP_CT_DETAIL_KEPT) * w * (soft - smooth)).astype(np.float32)


_PAD_LAT_MM = 70.0
"""Room added in front of the lateral soft-tissue map for a protruding abdomen."""
_PAD_AP_MM = 35.0
"""Room added on each side of the AP soft-tissue map for a wider body."""


def _habitus(
    soft: np.ndarray,
    origin: tuple[float, float],
    res: float,
    scale: float,
    pivot: float,
    both_sides: bool,
    pad_lo_mm: float,
    pad_hi_mm: float,
    value_scale: float,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Stretch a soft-tissue map along its first axis by ``scale`` about ``pivot`` (mm; only beyond it unless
    ``both_sides``) on a grid padded by ``pad_lo_mm`` / ``pad_hi_mm``; path lengths times ``value_scale``."""
    lo, hi = int(round(pad_lo_mm / res)), int(round(pad_hi_mm / res))
    n0, n1 = soft.shape
    o0 = origin[0] - lo * res
    x = o0 + np.arange(n0 + lo + hi) * res
    if both_sides:
        src = pivot + (x - pivot) / scale
    else:
        src = np.where(x > pivot, pivot + (x - pivot) / scale, x)
    ci = (src - origin[0]) / res
    i0 = np.floor(ci).astype(int)
    f = (ci - i0).astype(np.float32)[:, None]
    ok = ((i0 >= 0) & (i0 < n0 - 1)).astype(np.float32)[:, None]
    i0 = np.clip(i0, 0, n0 - 2)
    out = ((1 - f) * soft[i0] + f * soft[i0 + 1]) * ok * value_scale
    return out.astype(np.float32), (float(o0), origin[1])


def _patient_soft(
    an: Anatomy, rng: np.random.Generator, ap_gas: float = 1.0
) -> tuple[np.ndarray, np.ndarray, tuple, tuple]:
    """The patient's soft-tissue maps (lateral, AP) and their origins: the CT's own gas mostly removed, the AP map
    mirrored in half the patients, a smooth thickness field, the body habitus (a protruding or flat abdomen: the
    lateral map stretched in front of the spine by 0.85-1.35; a wider or narrower body: the AP map stretched left-right
    by 0.88-1.15, path lengths scaled to match), and the bowel gas. ``ap_gas`` (version 34,
    :func:`abdomen.gas_amount`) weighs the AP map's small gas (all but the version-32 loops); it draws nothing."""
    res = an.soft_res
    keep = float(rng.uniform(0.0, 0.15))  # share of the CT's own gas left (the same pattern in every patient)
    flip = bool(rng.random() < 0.5)
    belly = float(rng.uniform(0.85, 1.35))
    width = float(rng.uniform(0.88, 1.15))
    pivot = max(float(max(v[0] for v in an.corners[b].values())) for b in _LUMBAR)  # front of the spine

    def shape(view: str, soft: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        if view == "lateral":
            return _habitus(soft, an.soft_lat_origin, res, belly, pivot, False, 0.0, _PAD_LAT_MM, width)
        return _habitus(
            soft, an.soft_ap_origin, res, width, 0.0, True, _PAD_AP_MM, _PAD_AP_MM, 1.0 + 0.6 * (belly - 1.0)
        )

    (lat0, lat_o), (ap0, ap_o) = shape("lateral", an.soft_lat), shape("ap", an.soft_ap)
    gas = _gas_volume(replace(an, soft_lat=lat0, soft_lat_origin=lat_o, soft_ap=ap0, soft_ap_origin=ap_o), rng)
    o = gas.origin
    out = []
    for view, soft, axis, plane in (
        ("lateral", an.soft_lat, 1, (o[0], o[2])),
        ("ap", an.soft_ap, 0, (o[1], o[2])),
    ):
        s = soft - (1.0 - keep) * _ct_gas(view)
        if view == "ap":  # version 12 (AP only: the lateral map and the random stream before this point unchanged)
            s = _damp_ct_detail(s, res)
        if view == "ap" and flip:  # the CT's left-right asymmetry (organs, remaining gas) mirrored in half the patients
            s = s[::-1].copy()
        s = s * (1.0 + 0.06 * _smooth_field(s.shape, res, 50.0, rng)).astype(np.float32)
        s, origin = shape(view, s)
        proj = gas.volume.sum(axis=axis).astype(np.float32) * gas.vox
        # folds and stool residue: gas columns are not clean balloons
        proj *= np.clip(0.8 + 0.25 * _smooth_field(proj.shape, gas.vox, 5.0, rng), 0.4, 1.2)
        w = ap_gas if view == "ap" else 1.0  # version 34: the patient's amount of small AP gas
        s = _add_projection(s, origin, res, proj * w if w != 1.0 else proj, plane, gas.vox)
        fine = 1.0
        shp = (int(round(gas.volume.shape[0 if axis == 1 else 1] * gas.vox / fine)), int(round(400 / fine)))
        bub = _bubble_projection(gas.bubbles, gas.bubble_r, axis, plane, shp, fine)
        if view == "ap":  # version 13 (AP only; after every draw of the lateral map and of the AP map above)
            s, bub = _ap_gas_v13(s, origin, res, proj, bub, plane, gas.vox, fine, rng, gain=w)
            # version 16 (AP only, the last draws of the patient's stream): gas loops of the real CT
            ct = _ap_ct_gas_loops(an, rng)
            s = s + shape(view, ct * w if w != 1.0 else ct)[0]
            # version 18 (AP only, its own stream seeded by the last draw of the patient's): the stool bubbles and
            # mottle become soft-edged, irregular, mottled stool regions, and gas-distended colon at the flanks
            bub = _ap_gas_v18(bub, plane, fine, np.random.default_rng([int(rng.integers(2**31)), 1801]), gain=w)
        out.append((_add_projection(s, origin, res, bub, plane, fine).astype(np.float32), origin))
    return out[0][0], out[1][0], out[0][1], out[1][1]


AP_GAS_KEPT = 0.45
"""AP films: share of the colon's gas path kept as solid lucency (the rest broken into mottle): whole gas-filled
segments seen end-on over their full depth were too dark and too round next to real AP films (version 13: 0.55;
version 16: 0.45, beside the real CT's gas loops)."""


AP_SOFT_LARGE_SCALE = 0.05
"""Version 13, AP films: amplitude of an extra smooth (~60 mm) thickness field (the simulated abdomen was flat grey;
0.08 brought the mean-histogram intersection to 0.944 but lowered the vertebral contrast to 0.18 vs the real 0.21)."""


def _bandpass(
    shape: tuple[int, int], res_mm: float, lo_mm: float, hi_mm: float, rng: np.random.Generator
) -> np.ndarray:
    """Unit-std band-passed white noise (features between ``lo_mm`` and ``hi_mm``) on a grid of ``res_mm``."""
    n = rng.standard_normal(shape).astype(np.float32)
    f = cv2.GaussianBlur(n, (0, 0), lo_mm / res_mm) - cv2.GaussianBlur(n, (0, 0), hi_mm / res_mm)
    return f / (f.std() + 1e-6)


def _ap_gas_v13(
    soft: np.ndarray,
    origin: tuple[float, float],
    res: float,
    proj: np.ndarray,
    bub: np.ndarray,
    plane: tuple[float, float],
    vox: float,
    fine: float,
    rng: np.random.Generator,
    gain: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """AP bowel gas as real AP films show it (version 13): the colon's gas broken up (only ``AP_GAS_KEPT`` of its
    path as a smooth lucency, the rest as 2-8 mm pockets) and a mottle of small gas pockets (stool and small bowel)
    spread over the abdomen around the colon's course, 40-90 mm wide, not only inside the drawn segments; gas-filled
    loops get crisper walls (the colon's path map softly thresholded at 35 % of its local peak), and the abdomen a
    smooth +-``AP_SOFT_LARGE_SCALE`` thickness field over ~60 mm (organs, fat, bowel content). Returns the soft-tissue
    map with the colon gas already subtracted and the fine (``fine`` mm) gas map to subtract. ``gain`` (version 34)
    weighs the colon's gas (``soft`` has it subtracted at that weight; the fine map is weighed in
    :func:`_ap_gas_v18`); it changes no draw."""
    kept = AP_GAS_KEPT * float(rng.uniform(0.8, 1.2))
    pockets = np.clip(0.5 + 0.6 * _bandpass(proj.shape, vox, *AP_GAS_POCKET_MM, rng), 0.0, 1.6)
    if AP_GAS_CRISP_WALLS:  # gas-filled loops keep a crisp wall: the colon's path map sharpened (a soft threshold at
        # 35 % of its local peak; versions 13-17)
        peak = cv2.dilate(proj, np.ones((9, 9), np.uint8))
        edge = np.clip((proj - 0.35 * peak) / (0.15 * peak + 1e-3), 0.0, 1.0)
        proj_sharp = np.where(peak > 1.0, peak * edge, proj).astype(np.float32)
        soft = _add_projection(soft, origin, res, proj_sharp - proj, plane, vox)
        proj = proj_sharp
    back = proj * (kept - 1.0) * (1.0 - pockets * 0.8)
    soft = _add_projection(soft, origin, res, back * gain if gain != 1.0 else back, plane, vox)
    # large-scale, irregular density differences of the abdomen (organs, fat, bowel content): +-5 % over ~60 mm
    soft = (soft * (1.0 + AP_SOFT_LARGE_SCALE * _smooth_field(soft.shape, res, 60.0, rng))).astype(np.float32)
    # spread: where the colon runs (its footprint blurred over 40-90 mm), and the lower abdomen in general
    f = int(round(vox / fine))
    foot = cv2.resize((proj > 2.0).astype(np.float32), (proj.shape[1] * f, proj.shape[0] * f))
    foot = foot[: bub.shape[0], : bub.shape[1]]
    foot = np.pad(foot, ((0, bub.shape[0] - foot.shape[0]), (0, bub.shape[1] - foot.shape[1])))
    region = cv2.GaussianBlur(foot, (0, 0), float(rng.uniform(20.0, 45.0)) / fine)
    region = np.clip(region / (region.max() + 1e-6) * 1.6, 0.0, 1.0) * float(rng.uniform(0.5, 1.0))
    # patches (stool-filled loops, 15-40 mm) inside that region, each a mottle of 1-6 mm pockets
    patches = np.clip(_bandpass(bub.shape, fine, 8.0, 30.0, rng) - 0.3, 0.0, 1.0) * region
    mottle = np.zeros_like(bub)
    for lo, hi, thr, amp in ((0.8, 2.5, 0.7, 4.0), (1.5, 5.0, 0.8, 7.0)):
        n = _bandpass(bub.shape, fine, lo, hi, rng)
        mottle += amp * np.clip(n - thr, 0.0, None) / (1.0 + np.clip(n - thr, 0.0, None))
    return soft, bub + AP_MOTTLE_GAIN * mottle * np.clip(patches * 2.0, 0.0, 1.0)


AP_GAS_POCKET_MM = (4.0, 14.0)
"""Scales (mm) of the pockets the AP colon gas is broken into (versions 13-17: 2-8 mm, round, crisp "flowers"; version
18: larger, irregular pockets)."""
AP_GAS_CRISP_WALLS = False
"""Versions 13-17 sharpened the AP colon gas's walls (a soft threshold at 35 % of the local peak); version 18 keeps the
soft walls the 3-D tube projects to."""
AP_STOOL_SHARE = 0.75
"""Version 18, AP films: share of the stool bubbles' and mottle's gas path redistributed as soft, irregular, mottled
stool regions (:func:`_ap_gas_v18`); the rest stays as the bubbles, blurred ``AP_BUBBLE_BLUR_MM``."""
AP_BUBBLE_BLUR_MM = 1.5
AP_FLANK_GAS_MM = (20.0, 45.0)
"""Version 18, AP films: range of the gas path (mm) at the middle of a gas-distended colon region at the flanks."""


def _ap_gas_v18(
    bub: np.ndarray, plane: tuple[float, float], fine: float, rng: np.random.Generator, gain: float = 1.0
) -> np.ndarray:
    """Version 18, AP films: the fine gas map (``fine`` mm cells from ``plane`` = (y, z) of its first cell; path mm)
    made to look like real AP bowel gas. The stool bubbles (crisp round spheres, in chains along the colon) and the
    mottle keep ``1 - AP_STOOL_SHARE`` of their path, blurred; the rest fills soft-edged, irregular stool regions
    around them (the local gas density blurred over ~6 mm, cut by a ~12 mm random field) with a mottle of
    soft-edged 2-10 mm pockets inside; and 0-3 gas-distended colon regions (40-90 mm, irregular, mottled, soft
    3 mm edges) at the flanks, beside the spine (ascending and descending colon), as real films often show them.
    ``gain`` (version 34) weighs all of it but the version-32 loops; no draw moves."""
    total = float(bub.sum())
    sm = lambda a, mm: cv2.GaussianBlur(a, (0, 0), mm / fine)  # noqa: E731
    # (every random field drawn first, whatever the input: the flank gas does not depend on the bubbles)
    cells = np.clip(
        0.7 * _bandpass(bub.shape, fine, 1.2, 4.0, rng) + 0.8 * _bandpass(bub.shape, fine, 3.0, 10.0, rng) - 0.2,
        0.0,
        None,
    )
    cells = sm(cells, 1.2)
    cells = cells / (float(cells.max()) + 1e-6)
    outline = np.clip(0.55 + 0.6 * _bandpass(bub.shape, fine, 8.0, 40.0, rng), 0.0, 1.0)
    wobble = _bandpass(bub.shape, fine, 10.0, 40.0, rng)
    out = sm(bub, AP_BUBBLE_BLUR_MM) * (1.0 - AP_STOOL_SHARE)
    dens = sm(bub, 6.0)
    if total > 0 and (dens > 0.05).any():
        region = np.clip(dens / (float(np.percentile(dens[dens > 0.05], 85)) + 1e-6), 0.0, 1.0)
        stool = sm(region * outline, 2.0) * (0.6 + 1.2 * cells)
        out += stool * (AP_STOOL_SHARE * total / max(float(stool.sum()), 1e-6))
    else:
        out += sm(bub, AP_BUBBLE_BLUR_MM) * AP_STOOL_SHARE
    # gas-distended colon at the flanks (never within 25 mm of the mid-line)
    y = plane[0] + (np.arange(bub.shape[0]) + 0.5) * fine
    z = plane[1] + (np.arange(bub.shape[1]) + 0.5) * fine
    Y, Z = np.meshgrid(y, z, indexing="ij")
    off_spine = np.clip((np.abs(Y) - 25.0) / 15.0, 0.0, 1.0).astype(np.float32)
    n_flank = int(rng.choice(4, p=[0.25, 0.4, 0.25, 0.1]))
    for _ in range(n_flank):
        side = 1.0 if rng.random() < 0.5 else -1.0
        cy, cz = side * rng.uniform(75.0, 130.0), rng.uniform(-10.0, 210.0)
        ry, rz = rng.uniform(20.0, 45.0), rng.uniform(30.0, 70.0)
        d = ((Y - cy) / ry) ** 2 + ((Z - cz) / rz) ** 2
        blob = np.clip((1.0 - d + 0.45 * wobble) / 0.25, 0.0, 1.0).astype(np.float32)
        blob = sm(blob, 3.0) * off_spine
        out += blob * rng.uniform(*AP_FLANK_GAS_MM) * (1.15 - 0.5 * AP_FLANK_MOTTLE + AP_FLANK_MOTTLE * cells)
    if AP_GAS_MASSES:  # version 23 trial G, on since 24: large honeycombed gas-and-stool masses (own stream, last)
        out += _gas_masses(Y, Z, fine, np.random.default_rng([int(rng.integers(2**31)), 2311]))
    if gain != 1.0:  # version 34
        out *= gain
    if abdomen.AP_GAS_LOOPS is not None:  # version 32: gas-distended loops (own stream, drawn last)
        out += abdomen.gas_loops(Y, Z, fine, np.random.default_rng([int(rng.integers(2**31)), 3001]))
    return out.astype(np.float32)


AP_FLANK_MOTTLE = 0.3
"""Mottle ``m`` of the version-18 flank gas: its path x ``(1.15 - m / 2 + m cells)`` (``cells`` in [0, 1]; versions
18-33: 0.8, i.e. x 0.75-1.55: mottled patches)."""
AP_GAS_MASS_COUNT = (0.5, 0.4, 0.1)
"""Probabilities of 0, 1 or 2 version-23 gas masses per patient (versions 24-33: 0.3 / 0.45 / 0.25)."""
AP_GAS_MASSES = True
"""Version 23 trial G, **on since version 24** (off up to 23): 0-2 large (56-110 x 50-100 mm) gas-and-stool masses
per patient on AP films, each a honeycomb of 5-15 mm gas cells between soft stool walls (:func:`_gas_masses`),
anywhere from the sacrum to L3 and across the spine, as some real films show (the realism sheet's give-away "gas").
Tried in version 23 (not shipped): the detector check shifted films (docs/simulator.md "Version 23"; the version-21
candidate of the same idea shifted one); it needed the AP level counting trained on such films; version 24's checks
with ap-spine/5 shifted none (docs/simulator.md "Version 24"). Off: no draw and no pixel changes."""
AP_GAS_MASS_PATH_MM = (12.0, 26.0)
"""Version 23 (on since version 24): gas path (water-equivalent mm) in the open cells of a gas mass."""


def _gas_masses(Y: np.ndarray, Z: np.ndarray, fine: float, rng: np.random.Generator) -> np.ndarray:
    """Version 23 (``AP_GAS_MASSES``): large honeycombed gas-and-stool masses on the AP fine gas grid (``Y``, ``Z``:
    cell centres, mm, left-right and cranio-caudal; ``fine`` mm cells); returns gas path (mm, >= 0). 0, 1 or 2 masses
    (probabilities 0.3 / 0.45 / 0.25), centres -120..120 mm left-right and -45..140 mm along the spine (sacrum to L3),
    56-110 x 50-100 mm with an irregular outline (soft 3 mm edge); inside, gas cells where a 5-15 mm band-passed field
    is high, separated by soft stool walls."""
    shape = Y.shape
    sm = lambda a, mm: cv2.GaussianBlur(a, (0, 0), mm / fine)  # noqa: E731
    wobble = _bandpass(shape, fine, 10.0, 40.0, rng)
    comb = 0.7 * _bandpass(shape, fine, 2.5, 7.0, rng) + 0.5 * _bandpass(shape, fine, 5.0, 15.0, rng)
    cells = np.clip((comb + 0.15) / 0.5, 0.0, 1.0).astype(np.float32)
    cells = sm(cells, 0.8)
    out = np.zeros(shape, np.float32)
    for _ in range(int(rng.choice(3, p=AP_GAS_MASS_COUNT))):
        cy, cz = rng.uniform(-120.0, 120.0), rng.uniform(-45.0, 140.0)
        ry, rz = 0.5 * rng.uniform(56.0, 110.0), 0.5 * rng.uniform(50.0, 100.0)
        d = ((Y - cy) / ry) ** 2 + ((Z - cz) / rz) ** 2
        blob = sm(np.clip((1.0 - d + 0.4 * wobble) / 0.3, 0.0, 1.0).astype(np.float32), 3.0)
        out += blob * cells * float(rng.uniform(*AP_GAS_MASS_PATH_MM))
    return out


AP_MOTTLE_GAIN = 0.4
"""Weight of the AP films' mottle of small gas pockets (version 13: 1.0, dot-like specks strewn around the colon;
version 16: 0.4, the real CT's gas loops carry more of the gas)."""
AP_CT_GAS_GAIN = (0.8, 1.5)
"""Version 16, AP films: range of the weight of the real CT's gas loops added per patient
(:func:`_ap_ct_gas_loops`)."""
AP_CT_GAS_Z_MM = (30.0, 240.0)
"""Height range (mesh frame, mm) of the bundled CT's AP gas map used: its abdomen between about L5 and above L1 (the
map's top edge and the pelvis hold no gas, only the CT's field edge and the rims of the removed bones)."""


def _ap_ct_gas_loops(an: Anatomy, rng: np.random.Generator) -> np.ndarray:
    """Version 16, AP films: bowel gas of the real CT (on the bundled AP soft-tissue grid, water-equivalent mm, <= 0).

    The CT's own gas loops (irregular, partly gas-filled colon and small bowel with soft, uneven walls: real gas, unlike
    the drawn colon and mottle) are the same in every patient, so each patient gets two copies of the CT's abdomen,
    each flipped left-right and up-down at random, shifted by up to +-45 mm across and +-50 mm along the spine, and
    kept only where a smooth random field (~35 mm) is high: a different share and arrangement of the CT's loops per
    patient, at a weight of ``AP_CT_GAS_GAIN``."""
    res = an.soft_res
    g = _ct_gas("ap")
    z = an.soft_ap_origin[1] + np.arange(g.shape[1]) * res
    zlo, zhi = AP_CT_GAS_Z_MM
    band = np.clip(np.minimum(z - zlo, zhi - z) / 15.0, 0.0, 1.0).astype(np.float32)
    g = g * band[None, :]
    out = np.zeros_like(g)
    for _ in range(2):
        t = g
        if rng.random() < 0.5:
            t = t[::-1]
        if rng.random() < 0.5:
            t = t[:, ::-1]
            t = np.roll(t, int(round((zlo + zhi - 2 * float(z.mean())) / res)), axis=1)  # keep it in the abdomen
        dy, dz = (int(round(v / res)) for v in (rng.uniform(-45.0, 45.0), rng.uniform(-50.0, 50.0)))
        t = np.roll(np.roll(t, dy, axis=0), dz, axis=1)
        keep = np.clip(0.5 + 1.2 * _smooth_field(g.shape, res, 35.0, rng), 0.0, 1.0)
        out += t * keep * float(rng.uniform(*AP_CT_GAS_GAIN))
    return (out * band[None, :]).astype(np.float32)


def _draw(seed: int) -> tuple[dict[str, BoneWarp], np.random.Generator]:
    rng = np.random.default_rng([seed, 4242])
    return sample_warps(load_anatomy(), rng), rng


@lru_cache(maxsize=256)
def patient_skeleton(seed: int) -> Anatomy:
    """The bundled anatomy with only the patient's landmark geometry (deformed endplate corners and AP half-widths):
    enough for ground-truth landmarks and measurements without rendering; cheap."""
    an = load_anatomy()
    warps, _ = _draw(seed)
    corners = {b: dict(c) for b, c in an.corners.items()}
    half = {b: dict(h) for b, h in an.endplate_half_widths.items()}
    for b, w in warps.items():
        for k, v in corners[b].items():
            q = w.forward(np.asarray(v, dtype=float))
            corners[b][k] = (float(q[0]), float(q[1]))
        half[b] = {k: v * w.width for k, v in half[b].items()}
    return replace(an, corners=corners, endplate_half_widths=half)


@lru_cache(maxsize=4)
def patient_anatomy(seed: int) -> Anatomy:
    """The bundled anatomy varied for one patient (deterministic by ``seed``; cached); see the module docstring.
    Its corners and half-widths are those of :func:`patient_skeleton`."""
    an = load_anatomy()
    warps, rng = _draw(seed)
    lateral = dict(an.lateral)
    for b, w in warps.items():
        lateral[b] = _warp_map(an.lateral[b], w)
    soft_lat, soft_ap, lat_origin, ap_origin = _patient_soft(an, rng, abdomen.gas_amount(seed))
    return replace(
        patient_skeleton(seed),
        lateral=lateral,
        soft_lat=soft_lat,
        soft_ap=soft_ap,
        soft_lat_origin=lat_origin,
        soft_ap_origin=ap_origin,
        warps=warps,
    )
