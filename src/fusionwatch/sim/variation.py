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


def _gas_volume(
    an: Anatomy, rng: np.random.Generator, vox: float = 2.0
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """A boolean gas volume (x, y, z at ``vox`` mm) of colon-like ellipsoid chains in the abdomen (mesh frame)."""
    res = an.soft_res
    ox, oz = an.soft_lat_origin
    origin = (-100.0, -250.0, -150.0)
    shape = (int(350 / vox), int(500 / vox), int(400 / vox))
    gas = np.zeros(shape, bool)
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

    gx = origin[0] + (np.arange(shape[0]) + 0.5) * vox
    gy = origin[1] + (np.arange(shape[1]) + 0.5) * vox
    gz = origin[2] + (np.arange(shape[2]) + 0.5) * vox
    for _ in range(int(rng.integers(4, 11))):
        z = float(rng.uniform(-80.0, 170.0))
        fx = front_x(z)
        x = float(rng.uniform(spine_front + 15.0, max(spine_front + 20.0, fx - 30.0)))
        hy = half_y(z)
        y = float(rng.uniform(-0.75 * hy, 0.75 * hy))
        heading = rng.uniform(0.0, 2 * math.pi)
        vertical = rng.random() < 0.4
        for _ in range(int(rng.integers(2, 8))):
            r = rng.uniform(4.0, 14.0, 3) * (1.0 if rng.random() < 0.7 else 0.5)
            sl = tuple(
                slice(int(max(0, (c - rr - o) // vox)), int(min(n, (c + rr - o) // vox + 2)))
                for c, rr, o, n in zip((x, y, z), r, origin, shape, strict=True)
            )
            d = (
                ((gx[sl[0]] - x) / r[0])[:, None, None] ** 2
                + ((gy[sl[1]] - y) / r[1])[None, :, None] ** 2
                + ((gz[sl[2]] - z) / r[2])[None, None, :] ** 2
            )
            gas[sl] |= d <= 1.0
            step = rng.uniform(14.0, 26.0)
            heading += rng.normal(0.0, 0.5)
            if vertical:
                z += step * math.cos(heading) * 0.4 + step * 0.9
                y += step * math.sin(heading) * 0.3
            else:
                y += step * math.cos(heading)
                z += step * math.sin(heading) * 0.4
            x = float(np.clip(x + rng.normal(0.0, 4.0), spine_front + 10.0, front_x(z) - 20.0))
            z = float(np.clip(z, -100.0, 200.0))
    return gas, origin


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


def _patient_soft(an: Anatomy, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    res = an.soft_res
    keep = float(rng.uniform(0.15, 0.5))  # share of the CT's own gas left
    flip = bool(rng.random() < 0.5)
    gas, g_origin = _gas_volume(an, rng)
    vox = 2.0
    out = []
    for view, soft, origin, axis, plane in (
        ("lateral", an.soft_lat, an.soft_lat_origin, 1, (g_origin[0], g_origin[2])),
        ("ap", an.soft_ap, an.soft_ap_origin, 0, (g_origin[1], g_origin[2])),
    ):
        s = soft - (1.0 - keep) * _ct_gas(view)
        if view == "ap" and flip:  # the CT's left-right asymmetry (organs, remaining gas) mirrored in half the patients
            s = s[::-1].copy()
        s = s * (1.0 + 0.06 * _smooth_field(s.shape, res, 50.0, rng)).astype(np.float32)
        proj = gas.sum(axis=axis).astype(np.float32) * vox
        # stool and folds: gas is mottled, not clean balloons
        proj *= np.clip(0.65 + 0.35 * _smooth_field(proj.shape, vox, 6.0, rng), 0.2, 1.2)
        out.append(_add_projection(s, origin, res, proj, plane, vox).astype(np.float32))
    return out[0], out[1]


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
    soft_lat, soft_ap = _patient_soft(an, rng)
    return replace(patient_skeleton(seed), lateral=lateral, soft_lat=soft_lat, soft_ap=soft_ap, warps=warps)
