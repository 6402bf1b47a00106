"""Implants and graft on both views: pedicle screws with the loosening halo around them, rods, interbody cages with
their marker pins, and the graft or fusion mass (its true bridging fraction is returned for the truth)."""

from __future__ import annotations

import cv2
import numpy as np

from fusionwatch.sim.camera import Camera
from fusionwatch.sim.implants import CageGeom, Healing, ScrewGeom
from fusionwatch.sim.pose import Pose
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.draw import _quad_mask, _warp_add, capsule

HALO_RIM_MM = 0.3
"""Thickness of the thin sclerotic line around a loosening halo (mm; version 15, was 0.7 at full cortical density)."""


def _halo(L: np.ndarray, cam: Camera, s: ScrewGeom, halo_mm: float) -> None:
    """Loosening: the bone of the screw track is replaced by a fibrous layer ``halo_mm`` thick, bounded by a thin,
    faint sclerotic line: on a film a clear dark band along the shaft (version 15).

    Attenuation (1/mm at the renderer's ~62 keV, NIST XCOM mass coefficients x ICRU densities; differences to water,
    like the bone maps): cortical bone 0.3148 cm2/g x 1.92 g/cm3 = 0.060, i.e. 0.040 over water (``MU["cortical"]``
    0.038). The bone that holds a well-fixed screw is compacted trabecular bone with bone grown onto the thread, and
    the pedicle's cortical isthmus: an apparent density about three quarters of cortical bone's, 0.028-0.031 over
    water (the upper end of what is plausible; plain trabecular bone, ``MU["trabecular"]``, is 0.0115). Fibrous
    tissue is soft tissue (0.204 cm2/g x 1.06 g/cm3 = 0.0216, 0.001 over water). So the layer takes away
    ``halo_deficit`` = 0.030 per mm of path through it. The reactive margin is woven bone, about half as dense as
    cortex (``halo_rim`` 0.019 /mm), 0.3 mm thick. Projected across a 6 mm screw with a 2.2 mm halo the band takes
    away up to ~0.26 mu.mm (deepest at the metal edge), the rim adds at most ~0.07 in a thin line. Version 14 used
    0.020 /mm and a 0.7 mm rim at full cortical density, which outweighed the lucent band: the halo could not be seen.
    AP films now show a clear dark band; on lateral films the S1 screws lie in the scatter-dominated pelvis, where the
    band's contrast is compressed several-fold (docs/simulator.md, version 15).
    """
    axis = (s.tip - s.head) / np.linalg.norm(s.tip - s.head)
    if halo_mm > 0:
        a, r_out = s.head + axis * 12.0, s.radius + halo_mm
        capsule(L, cam, a, s.tip, r_out, -MU["halo_deficit"], inner_radius=s.radius)
        capsule(L, cam, a, s.tip, r_out + HALO_RIM_MM, MU["halo_rim"], inner_radius=r_out)


def _screw(L: np.ndarray, cam: Camera, s: ScrewGeom) -> None:
    axis = (s.tip - s.head) / np.linalg.norm(s.tip - s.head)
    capsule(
        L,
        cam,
        s.head,
        s.tip,
        s.radius * 0.72,
        MU["titanium"],
        thread_pitch=2.8,
        thread_depth=s.radius * 0.28,
        taper_mm=6.0,
    )
    capsule(L, cam, s.head, s.head - axis * 4.0, s.radius * 0.9, MU["titanium"])
    capsule(L, cam, s.head - axis * 2.0, s.tulip_end, 6.2, MU["titanium"] * 0.55)


ROD_RADIUS_MM = 2.75


def _rods(L: np.ndarray, cam: Camera, rods: list[list[np.ndarray]]) -> None:
    """Each rod piece as the union (not the sum) of flat-ended cylinders and round joints: no double-counted metal
    where segments meet, and a broken rod's pieces end flat at the fracture, so the gap holds no metal."""
    for poly in rods:
        piece = np.zeros_like(L)
        seg = np.zeros_like(L)
        for a, b in zip(poly[:-1], poly[1:], strict=False):
            seg.fill(0.0)
            capsule(seg, cam, a, b, ROD_RADIUS_MM, MU["titanium"], round_ends=False)
            np.maximum(piece, seg, out=piece)
        for j in poly[1:-1]:
            seg.fill(0.0)
            capsule(seg, cam, j, j, ROD_RADIUS_MM, MU["titanium"])
            np.maximum(piece, seg, out=piece)
        L += piece


def _cage_lateral(L: np.ndarray, cam: Camera, cage: CageGeom) -> None:
    pts = np.c_[cage.outline[:, 0], np.zeros(4), cage.outline[:, 1]]
    quad = cam.project(pts)
    x0, y0 = np.floor(quad.min(0)).astype(int) - 2
    x1, y1 = np.ceil(quad.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, L.shape[1]), min(y1, L.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    sub = quad - (x0, y0)
    m = _quad_mask((y1 - y0, x1 - x0), sub).astype(np.float32)
    g = cam.gain(0.0)
    wall_px = max(1.0, 1.6 * g)
    inner = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(2 * wall_px) | 1,) * 2))
    if cage.material == "Ti":
        val = MU["titanium"] * ((m - inner) * cage.width_mm + inner * 2 * 1.6 + inner * 0.12 * cage.width_mm)
    else:
        val = MU["peek"] * m * cage.width_mm
    L[y0:y1, x0:x1] += cv2.GaussianBlur(val, (0, 0), 0.6)
    for a, b in cage.markers:
        capsule(L, cam, a, b, 0.5, MU["tantalum"])


def _graft_region(
    L: np.ndarray, cam: Camera, pose: Pose, healing: Healing, approach: str, seed: int, cage_present: bool
) -> float:
    """Graft / fusion mass in the L5-S1 disc space (interbody) or the posterolateral gutters; returns the true bridging
    fraction (share of columns across the region that are bone from one endplate to the other)."""
    rng = np.random.default_rng(seed)
    s1 = pose.corners["S1"]
    l5 = pose.corners["L5"]
    p, a = s1["superior.posterior"], s1["superior.anterior"]
    u = (a - p) / np.linalg.norm(a - p)
    n = np.array([-u[1], u[0]])
    length = float(np.linalg.norm(a - p))
    nu, nv = 96, 32
    # columns: a smooth ordering field decides which columns bridge first; a vertical profile keeps gaps at the ends
    noise_rank = cv2.GaussianBlur(rng.random((1, nu)).astype(np.float32), (0, 0), 3.0).ravel()
    col_rank = np.argsort(np.argsort(noise_rank)) / (nu - 1)
    f = float(np.clip(healing.bridging_fraction, 0.0, 1.0))
    bridged = col_rank < f - 1e-9
    blurred = cv2.GaussianBlur(rng.random((nv, nu)).astype(np.float32), (0, 0), sigmaX=1.5, sigmaY=4.0)
    growth = (blurred - blurred.min()) / (np.ptp(blurred) + 1e-6)
    partial = growth < (0.25 + 0.6 * f)
    mask = np.where(bridged[None, :], True, partial & (np.arange(nv)[:, None] % nv != nv // 2))
    # each unbridged column keeps at least one gap row so it never spans
    gap_row = rng.integers(2, nv - 2, size=nu)
    for j in np.flatnonzero(~bridged):
        mask[max(0, gap_row[j] - 1) : gap_row[j] + 2, j] = False
    chips = rng.random((nv, nu)) < 0.55
    granular = (1 - healing.graft_maturity) * (0.6 + 1.2 * chips) + healing.graft_maturity * 1.0
    dens = (mask * granular).astype(np.float32)
    true_fraction = float(np.mean(mask.all(axis=0)))
    if approach == "posterolateral":
        width = 26.0
        u0, u1 = -0.95 * length, -0.15 * length
        v_lo = -14.0
        hp = float(np.linalg.norm(l5["inferior.posterior"] - p)) + 14.0
    else:
        width = 20.0 if cage_present else 26.0
        u0, u1 = 0.04 * length, 0.96 * length
        v_lo = 0.0
        hp = float(np.linalg.norm(l5["inferior.posterior"] - p))
    ha = float(np.linalg.norm(l5["inferior.anterior"] - a))
    # the local grid (iu, iv) -> patient: p + (u0 + iu*du) u + (v_lo + iv*dv(iu)) n; use the mean height (affine)
    hv = (hp + ha) / 2 - v_lo if approach != "posterolateral" else hp - v_lo
    du, dv = (u1 - u0) / (nu - 1), hv / (nv - 1)
    A = np.column_stack([u * du, n * dv])  # patient (x,z) per (iu, iv)
    t = p + u * u0 + n * v_lo
    P = cam.plane_affine(0.0)
    B = P[:, :2] @ A
    M = np.column_stack([B[:, 0], B[:, 1], P[:, :2] @ t + P[:, 2]])
    src = cv2.GaussianBlur(dens * (MU["graft"] * width), (0, 0), 0.7)
    _warp_add(L, src, M)
    return true_fraction


def _cage_ap(L: np.ndarray, cam: Camera, cage: CageGeom) -> None:
    """AP: the cage as a box (its sagittal outline swept over its width), markers as pins."""
    o = cage.outline
    xm = float(o[:, 0].mean())
    zb, zt = float(o[:2, 1].mean()), float(o[2:, 1].mean())
    w = cage.width_mm
    quad = cam.project(np.array([[xm, -w / 2, zb], [xm, w / 2, zb], [xm, w / 2, zt], [xm, -w / 2, zt]]))
    m = _quad_mask(L.shape, quad).astype(np.float32)
    depth = float(np.linalg.norm(o[1] - o[0]))
    mu = MU["titanium"] * 0.25 if cage.material == "Ti" else MU["peek"]
    L += cv2.GaussianBlur(m * (mu * depth), (0, 0), 0.8)
    for a, b in cage.markers:
        capsule(L, cam, a, b, 0.5, MU["tantalum"])
