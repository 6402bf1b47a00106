"""The bundled anatomy: real bone shapes (ArtiSynth / Visible Human Male meshes), real soft tissue (a real CT).

Everything is in the mesh frame, millimetres: **+x anterior, +y lateral (toward the lateral detector), +z superior**.
The arrays were made by ``scripts/build_sim_data.py`` from ``../shared/data`` and live in ``sim/data/`` with their
licences and citations, so the simulator runs without ``../shared``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["Anatomy", "load_anatomy", "SPINE_BONES", "LATERAL_BONES"]

SPINE_BONES: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5", "S1")
"""Rigid bones of the spine chain, top to bottom; ``S1`` is the whole sacrum."""
LATERAL_BONES: tuple[str, ...] = (*SPINE_BONES, "pelvis_pos", "pelvis_neg")
"""Bones with a lateral line-integral map; the pelvis is split at y = 0 so each hip bone gets its own magnification."""


@dataclass(frozen=True)
class LateralMap:
    """Bone path length along y (mm) on a regular (x, z) grid.

    ``total[i, k]`` is at x = origin[0] + i * res, z = origin[1] + k * res (pixel centres). ``depth_mm`` is the mean y.
    """

    total: np.ndarray
    cortical: np.ndarray
    origin: tuple[float, float]
    res: float
    depth_mm: float


@dataclass(frozen=True)
class Volume:
    """uint8 labels (0 outside, 1 trabecular, 2 cortical) on a regular grid, voxel [0,0,0] centre at ``origin``."""

    labels: np.ndarray
    origin: tuple[float, float, float]
    res: float


@dataclass(frozen=True)
class Anatomy:
    lateral: dict[str, LateralMap]
    volumes: dict[str, Volume]
    corners: dict[str, dict[str, tuple[float, float]]]
    """Bone -> ``"superior.anterior"`` etc. -> (x, z) mm, mid-sagittal plane y = 0."""
    femoral_heads: tuple[tuple[np.ndarray, float], tuple[np.ndarray, float]]
    """((centre xyz mm, radius mm), ...) for the +y and the -y head."""
    centroids: dict[str, np.ndarray]
    soft_lat: np.ndarray
    soft_lat_origin: tuple[float, float]
    soft_ap: np.ndarray
    soft_ap_origin: tuple[float, float]
    soft_res: float
    endplate_half_widths: dict[str, dict[str, float]]
    """Bone -> ``"superior"``/``"inferior"`` -> half the left-right endplate width (mm), for AP corners."""
    warps: dict[str, Any] = field(default_factory=dict)
    """Bone -> :class:`fusionwatch.sim.variation.BoneWarp` already applied to ``lateral`` and ``corners``, still to
    apply to the ``volumes`` voxel positions (empty for the bundled anatomy)."""


_REFINE = 3


def _pair(a: np.ndarray) -> tuple[float, float]:
    return (float(a[0]), float(a[1]))


def _triple(a: np.ndarray) -> tuple[float, float, float]:
    return (float(a[0]), float(a[1]), float(a[2]))


def _refine(a: np.ndarray) -> np.ndarray:
    """Cubic-spline upsampling by ``_REFINE``, keeping pixel [0, 0] at the same position (pixel centres)."""
    from scipy import ndimage

    a = a.astype(np.float32)
    n0, n1 = a.shape
    i = np.arange((n0 - 1) * _REFINE + 1, dtype=np.float32) / _REFINE
    k = np.arange((n1 - 1) * _REFINE + 1, dtype=np.float32) / _REFINE
    coeffs = ndimage.spline_filter(a, order=3)
    out = ndimage.map_coordinates(coeffs, np.meshgrid(i, k, indexing="ij"), order=3, prefilter=False)
    return np.clip(out, 0.0, None).astype(np.float32)


@lru_cache(maxsize=1)
def load_anatomy() -> Anatomy:
    """Load (once per process) the bundled anatomy arrays."""
    data = resources.files("fusionwatch.sim") / "data"
    with (data / "anatomy.npz").open("rb") as fh:
        z = dict(np.load(fh))
    info = json.loads((data / "anatomy.json").read_text())
    res = info["resolution_mm"]
    lateral = {}
    for b in LATERAL_BONES:
        depth = float(z[f"lat_{b}_depth"][0]) if f"lat_{b}_depth" in z else 0.0
        lateral[b] = LateralMap(
            z[f"lat_{b}_total"].astype(np.float32),
            z[f"lat_{b}_cortical"].astype(np.float32),
            _pair(z[f"lat_{b}_origin"]),
            float(res["lateral_maps"]),
            depth,
        )
    volumes = {
        b: Volume(z[f"vol_{b}"], _triple(z[f"vol_{b}_origin"]), float(res["volumes"])) for b in (*SPINE_BONES, "pelvis")
    }
    corners = {b: {k: (float(v[0]), float(v[1])) for k, v in c.items()} for b, c in info["corners"].items()}
    heads = tuple((np.asarray(h["centre"], dtype=float), float(h["radius"])) for h in info["femoral_heads"])
    if heads[0][0][1] < heads[1][0][1]:
        heads = (heads[1], heads[0])
    return Anatomy(
        lateral=lateral,
        volumes=volumes,
        corners=corners,
        femoral_heads=heads,  # type: ignore[arg-type]
        centroids={b: np.asarray(v, dtype=float) for b, v in info["centroids"].items()},
        # upsampled x3 with cubic splines: bilinear kinks on the 1.5 mm grid would show as fine streaks after processing
        soft_lat=_refine(z["soft_lat"]),
        soft_lat_origin=_pair(z["soft_lat_origin"]),
        soft_ap=_refine(z["soft_ap"]),
        soft_ap_origin=_pair(z["soft_ap_origin"]),
        soft_res=float(res["soft_tissue"]) / _REFINE,
        endplate_half_widths=info["endplate_half_widths"],
    )
