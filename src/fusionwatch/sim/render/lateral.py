"""Lateral films (and flexion, extension): the soft tissue and the bones posed by 2-D warps of their maps.

Each bone's line-integral map along y was projected once at 0.5 mm (``scripts/build_sim_data.py``); sagittal rotations
and translations commute with a projection along y, so a bone is posed by one 2-D affine warp, with the magnification
of its own depth. Disc degeneration (osteophytes, endplate sclerosis) is drawn on lateral films only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from fusionwatch.sim.anatomy import LATERAL_BONES, Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.pose import Pose
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.draw import _map_affine, _polygon, _warp_add

if TYPE_CHECKING:
    from fusionwatch.sim.render.projection import Scene


def _texture(shape: tuple[int, int], rng: np.random.Generator, vertical: bool = True) -> np.ndarray:
    """Trabecular texture (mean 1) on a 0.5 mm grid: band-passed noise, elongated along z (index 1) like vertical
    trabeculae."""
    n = rng.standard_normal(shape).astype(np.float32)
    a = cv2.GaussianBlur(n, (0, 0), sigmaX=1.2 if vertical else 0.8, sigmaY=0.55)
    b = cv2.GaussianBlur(n, (0, 0), sigmaX=4.0, sigmaY=4.0)
    t = a - b
    t /= t.std() + 1e-6
    return np.clip(1.0 + 0.3 * t, 0.2, 2.0).astype(np.float32)


def bone_mu_maps(anatomy: Anatomy, seed: int) -> dict[str, np.ndarray]:
    """Per-bone lateral mu-line-integral maps (unitless) with a patient-specific trabecular texture."""
    rng = np.random.default_rng(seed)
    out = {}
    for b in LATERAL_BONES:
        m = anatomy.lateral[b]
        trab = np.clip(m.total - m.cortical, 0.0, None)
        tex = _texture(trab.shape, rng)
        out[b] = (MU["trabecular"] * trab * tex + MU["cortical"] * m.cortical).astype(np.float32)
    return out


def _degeneration(L: np.ndarray, cam: Camera, pose: Pose, degeneration: tuple[float, ...]) -> None:
    """Lateral: anterior osteophytes (spurs growing from both anterior corners toward the disc) and endplate sclerosis
    (a dense band under each endplate) for every disc with degeneration > 0."""
    from fusionwatch.sim.pose import DISCS

    for (upper, lower), g in zip(DISCS, degeneration, strict=True):
        if g <= 0.05:
            continue
        for bone, ep, sgn in ((upper, "inferior", -1.0), (lower, "superior", 1.0)):
            c = pose.corners[bone]
            if f"{ep}.anterior" not in c:
                continue
            a, p = c[f"{ep}.anterior"], c[f"{ep}.posterior"]
            u = (a - p) / np.linalg.norm(a - p)
            n = np.array([-u[1], u[0]]) * sgn  # into the disc
            length = 2.0 + 5.0 * g
            spur = np.array(
                [
                    a - n * length * 1.5 - u * 1.5,
                    a - u * 1.5 + n * 0.5,
                    a + u * length + n * length * 0.7,
                    a + u * length * 0.5 - n * length * 0.6,
                ]
            )
            _polygon(L, cam, spur, MU["cortical"] * 20.0 * g, blur_mm=0.4)
            band = np.array([p - n * 0.2, a - n * 0.2, a - n * (1.0 + 2.5 * g), p - n * (1.0 + 2.5 * g)])
            _polygon(L, cam, band, MU["cortical"] * 0.35 * g * 30.0, blur_mm=0.8)


def _lateral_anatomy(L: np.ndarray, cam: Camera, scene: Scene) -> None:
    """Add a lateral film's soft tissue and bones (T12 as L1's map) to ``L``, each posed by one affine warp of its
    map with the magnification of its own depth, and the degenerated discs' osteophytes and sclerosis."""
    an, pose = scene.anatomy, scene.pose
    s = pose.scale
    A_p, t_p = pose.transforms["pelvis"]
    soft = an.soft_lat * (MU["water"] * s * scene.soft_scale)
    # cubic: the coarse, steeply sloped soft-tissue map must not leave bilinear kinks (streaks after processing)
    _warp_add(L, soft, _map_affine(cam, an.soft_lat_origin, an.soft_res, A_p, t_p, 0.0), cv2.INTER_CUBIC)
    for b in (*LATERAL_BONES, "T12"):
        m = "L1" if b == "T12" else b
        A, t = pose.transforms[b]
        depth = an.lateral[m].depth_mm * s
        _warp_add(L, scene.bone_maps[m] * s, _map_affine(cam, an.lateral[m].origin, an.lateral[m].res, A, t, depth))
    _degeneration(L, cam, pose, scene.degeneration)
