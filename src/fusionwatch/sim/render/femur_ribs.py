"""Bones drawn as analytic shapes on every view: the femoral heads, necks and proximal shafts, and the lower ribs
(10-12 each side, posed with T12; appearance only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fusionwatch.sim.anatomy import Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.pose import T12_SHAPE_SCALE, Pose
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.draw import capsule

if TYPE_CHECKING:
    from fusionwatch.sim.render.projection import Scene


def _femur(L: np.ndarray, cam: Camera, centre: np.ndarray, radius: float) -> None:
    """Femoral head (sphere with a cortical shell), neck (anteverted: runs posterior-lateral-inferior to the
    trochanter) and proximal shaft; the neck and shaft have flat ends so they add no extra rings."""
    side = 1.0 if centre[1] > 0 else -1.0
    neck_dir = np.array([-0.3, 0.75 * side, -0.6])
    neck_dir /= np.linalg.norm(neck_dir)
    troch = centre + neck_dir * 55.0
    shaft_end = troch + np.array([0.08 * 300, -0.1 * side * 300, -300.0])
    inner = MU["trabecular"] * 0.55
    if cam.view == "ap":  # version 13: the head drawn out a little along the neck (not a perfect circle)
        capsule(
            L, cam, centre - neck_dir * 2.0, centre + neck_dir * 3.0, radius * 0.95, MU["cortical"], shell=(1.6, inner)
        )
    else:
        capsule(L, cam, centre, centre, radius, MU["cortical"], shell=(1.4, inner))
    capsule(
        L,
        cam,
        centre + neck_dir * (radius * 0.85),
        troch,
        radius * 0.62,
        MU["cortical"] * 0.6,
        shell=(1.6, inner),
        round_ends=cam.view == "ap",
    )
    capsule(
        L,
        cam,
        troch + np.array([0.0, 0.0, 10.0]),
        shaft_end,
        15.0,
        MU["cortical"] * 0.7,
        shell=(3.5, MU["trabecular"] * 0.25),
        round_ends=cam.view == "ap",
    )


RIB_CONTROL = {
    # rib: (height of its vertebra above T12 (mm, T12 frame), control points (x from the posterior vertebral wall,
    # |y| from the mid-plane, z from the T12 body centre), mm, left side mirrored); ribs 10-12 as they leave the spine
    # backwards, sweep laterally and curve forward and down (12: short, floating; 10: toward the costal margin)
    12: (0.0, ((3, 16, 2), (-12, 32, -2), (-22, 55, -12), (-22, 80, -30), (-14, 100, -48))),
    11: (30.0, ((3, 16, 0), (-14, 34, -3), (-26, 60, -14), (-26, 92, -32), (-12, 120, -52), (12, 138, -70))),
    10: (
        60.0,
        (
            (3, 16, 0),
            (-15, 35, -3),
            (-28, 62, -12),
            (-28, 98, -28),
            (-8, 132, -48),
            (25, 150, -68),
            (60, 145, -85),
            (90, 120, -95),
        ),
    ),
}
"""Lower ribs (10-12) in the T12 bone frame before the patient's own length, droop and width factors."""
RIB_RADIUS_MM = 5.0
RIB_CORTEX_MM = 1.1
AP_RIB_GAIN = 0.45
"""Ribs' weight on AP films (version 13: 0.7, bright smooth tubes at the top of every lumbar crop gave the films away;
version 16: 0.45, the lower ribs over the upper abdomen are faint on real lumbar films)."""


def rib_polylines(anatomy: Anatomy, pose: Pose, seed: int, ap: bool) -> list[tuple[np.ndarray, float]]:
    """The patient's lower ribs (10-12 each side) as posed 3-D polylines (patient mm) with their radius (mm): attached
    to T12 (rib 12) and the vertebrae above it (11, 10: the T12 frame moved up), following T12's sagittal pose and, on
    AP films, its coronal pose. Appearance only: no landmark depends on them."""
    from fusionwatch.sim.variation import _spline

    rng = np.random.default_rng([seed, 1212])
    c = anatomy.corners["L1"]
    xp = float(np.mean([v[0] for k, v in c.items() if k.endswith("posterior")]))
    zc = float(np.mean([v[1] for v in c.values()]))
    A, t = pose.transforms["T12"]
    ys = pose.scale * T12_SHAPE_SCALE
    out = []
    width = rng.uniform(0.9, 1.12)
    for rib, (dz, ctrl) in RIB_CONTROL.items():
        length = rng.uniform(0.65, 1.2) if rib == 12 else rng.uniform(0.85, 1.1)
        droop = rng.uniform(0.8, 1.3)
        for side in (1.0, -1.0):
            q = np.array(ctrl, float)
            q = q[:1] + (q - q[:1]) * np.array([length, length * width, length * droop])
            q += rng.normal(0.0, 2.0, q.shape) * (np.arange(len(q)) > 0)[:, None]
            pts = _spline(q, 6.0)
            xz = np.c_[xp + pts[:, 0], zc + dz + pts[:, 2]] @ A.T + t
            p3 = np.c_[xz[:, 0], side * pts[:, 1] * ys, xz[:, 1]]
            if ap:
                p3 = pose.apply_coronal("T12", p3)
            out.append((p3, RIB_RADIUS_MM * pose.scale * (1.08 if rib == 10 else 1.0)))
    return out


def _ribs(L: np.ndarray, cam: Camera, scene: Scene) -> None:
    """Lower ribs: each a dense chain of cortical-shelled spheres along its polyline, weighted so that the chain's
    path integral equals a tube's (weight 3 ds / 4 r per sphere: a tube of length ds has pi r^2 ds of the sphere's
    4/3 pi r^3), tapering over the last third. (Flat-ended cylinders would leave seams where the rib runs along the
    ray on the lateral.)"""
    ds = 2.0 if cam.view == "lateral" else 1.2  # version 13: a denser chain on AP films (no beading)
    for poly, r in rib_polylines(scene.anatomy, scene.pose, scene.seed, cam.view == "ap"):
        seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
        arc = np.r_[0.0, np.cumsum(seg)]
        s_at = np.arange(0.0, arc[-1], ds)
        pts = np.column_stack([np.interp(s_at, arc, poly[:, k]) for k in range(3)])
        for s_, p in zip(s_at, pts, strict=True):
            rr = r * (1.0 - 0.3 * max(0.0, (s_ / arc[-1] - 0.66) / 0.34))
            w = 3.0 * ds / (4.0 * rr)
            w = w if cam.view == "lateral" else w * AP_RIB_GAIN
            capsule(L, cam, p, p, rr, MU["cortical"] * 0.8 * w, shell=(RIB_CORTEX_MM, MU["trabecular"] * 0.5 * w))
