"""Versions 32 and 34, AP films: what lies around the lumbar spine (appearance only; no truth changes).

Drawn from its own random stream (no earlier draw moves), with a switch that restores the previous version's pixels
when off:

- **Gas-distended bowel loops** (:func:`gas_loops`, ``AP_GAS_LOOPS``): large, dark, sharp-walled gas-filled colon
  segments with haustral indentations, as real AP films show them beside and across the lumbar spine. The earlier
  AP gas (versions 13-24) is small pockets, mottle and soft-edged regions; a gas-filled segment of colon (30-55 mm
  across) seen through a thin patient removes 20-50 mm of water's path over a region with a wall as sharp as the
  bowel wall: the large black regions of real films.
- **How much small gas a patient has** (version 34, :func:`gas_amount`, ``AP_GAS_AMOUNT``): one weight per patient
  for everything but the loops (the colon's broken-up pockets, mottle, stool regions, the CT's gas, flank gas and
  masses). Real adolescent AP films show either little gas or a few large black regions; version 32 strewed mottled
  patches and small bubbles over every abdomen.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

AP_GAS_LOOPS: tuple[float, float, float, float] | None = (0.15, 0.35, 0.3, 0.2)
"""Version 32, AP films: probabilities of 0, 1, 2 or 3 gas-distended bowel loops per patient (None: off, no draw,
version-31 pixels)."""
AP_GAS_AMOUNT: tuple[float, tuple[float, float], tuple[float, float]] | None = (0.25, (0.3, 0.6), (0.8, 1.2))
"""Version 34, AP films: (p, gas-poor range, other range): with probability p a patient's small AP gas (everything but
the loops) is weighed by a factor from the first range, else from the second (None: off, weight 1; with the
other version-34 settings back, version-33 pixels). Own stream ``[anatomy_seed, 3301]``: nothing drawn before moves."""
AP_GAS_LOOP_MOTTLE = 0.04
"""Version 34: SD of the fluid-and-stool mottle inside a loop's gas (versions 32-33: 0.12, mottled grey loops where
real ones are evenly black)."""
AP_GAS_LOOP_RADIUS_MM = (18.0, 32.0)
"""Version 32: lumen radius (mm, map frame) of a gas-distended loop between haustral folds (colon 28-52 mm across)."""
AP_GAS_LOOP_FILL = (0.85, 1.0)
"""Share of the lumen's path that is gas (the rest fluid, stool, folds seen en face; versions 32-33: 0.7-0.95)."""
AP_GAS_LOOP_LENGTH_MM = (60.0, 170.0)
"""Version 32: length (mm) of the visible gas-filled stretch of a loop."""
AP_GAS_LOOP_HAUSTRA_MM = (16.0, 30.0)
"""Version 32: spacing (mm) of the haustral folds that indent a loop's wall (to ``AP_GAS_LOOP_FOLD`` of its radius)."""
AP_GAS_LOOP_FOLD = (0.55, 0.85)
AP_GAS_LOOP_SPINE_MM = (20.0, 40.0)
"""Version 32: the loops fade out toward the mid-line, from full at the second distance (mm, left-right, map frame) to
none at the first. A first try let a transverse colon cross the spine: on one detector-check film (an adult, sim
seed 900006) its loop over T12-L1 shifted the AP level count by 0.75 of a level."""


def _catmull(ctrl: np.ndarray, step_mm: float) -> np.ndarray:
    """Points every ~``step_mm`` along a Catmull-Rom curve through ``ctrl`` ((N, 2), mm)."""
    p = np.vstack([2 * ctrl[0] - ctrl[1], ctrl, 2 * ctrl[-1] - ctrl[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        n = max(2, int(np.linalg.norm(p2 - p1) / step_mm) + 1)
        t = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
        out.append(
            0.5
            * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(p[-2][None, :])
    return np.vstack(out)


def gas_loops(Y: np.ndarray, Z: np.ndarray, fine: float, rng: np.random.Generator) -> np.ndarray:
    """Version 32 (``AP_GAS_LOOPS``): gas path (mm, >= 0) of 0-3 gas-distended bowel loops on the AP fine gas grid.

    ``Y``, ``Z``: cell centres (mm, mesh frame: left-right, cranio-caudal; the spine at y = 0, the S1 endplate near
    z = 0, L1's top near z = 200), ``fine`` mm cells. Each loop is a tube along a smooth curve: a transverse colon
    sagging across the upper abdomen, an ascending or descending colon at a flank, or a sigmoid / small-bowel loop low
    in the abdomen; its radius is indented at every haustral fold; the path through it is the chord of the tube
    (``2 sqrt(r^2 - d^2)``: a wall as sharp as the film resolves) times its gas share, with a faint mottle of the
    fluid and stool left in it; faded out over the spine (``AP_GAS_LOOP_SPINE_MM``)."""
    out = np.zeros(Y.shape, np.float32)
    if AP_GAS_LOOPS is None:
        return out
    y0, z0 = float(Y[0, 0]), float(Z[0, 0])
    n = int(rng.choice(4, p=AP_GAS_LOOPS))
    for _ in range(n):
        kind = int(rng.choice(3, p=[0.35, 0.35, 0.3]))
        length = float(rng.uniform(*AP_GAS_LOOP_LENGTH_MM))
        if kind == 0:  # transverse colon: across the upper abdomen, sagging
            zc = rng.uniform(60.0, 160.0)
            yc = rng.uniform(-60.0, 60.0)
            ang = rng.normal(0.0, 0.25)
        elif kind == 1:  # ascending / descending colon at a flank
            yc = (1.0 if rng.random() < 0.5 else -1.0) * rng.uniform(55.0, 125.0)
            zc = rng.uniform(30.0, 180.0)
            ang = 0.5 * math.pi + rng.normal(0.0, 0.3)
        else:  # sigmoid or small-bowel loop, low
            yc = rng.uniform(-110.0, 110.0)
            zc = rng.uniform(-40.0, 80.0)
            ang = rng.uniform(0.0, math.pi)
        d = np.array([math.cos(ang), math.sin(ang)])
        nrm = np.array([-d[1], d[0]])
        t = np.linspace(-0.5, 0.5, 5)[:, None]
        bend = rng.normal(0.0, 0.06 * length, size=(5, 1))  # gentle arcs (0.12: folds fanned out at tight bends)
        bend -= bend.mean()
        ctrl = np.array([yc, zc]) + t * length * d + bend * nrm + rng.normal(0.0, 2.0, size=(5, 2))
        curve = _catmull(ctrl, 1.0)
        s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))]
        radius = float(rng.uniform(*AP_GAS_LOOP_RADIUS_MM))
        spacing = float(rng.uniform(*AP_GAS_LOOP_HAUSTRA_MM))
        fold = float(rng.uniform(*AP_GAS_LOOP_FOLD))
        phase = float(rng.uniform(0.0, spacing))
        fill = float(rng.uniform(*AP_GAS_LOOP_FILL))
        # radius along the loop: haustral folds (narrow dips, each of its own depth, a third of them absent: real
        # haustra are irregular and often incomplete), tapering to nothing at both ends of the gas column
        k_fold = np.floor((s + phase) / spacing + 0.5).astype(np.int64)
        depth = (
            (1.0 - fold)
            * rng.uniform(0.3, 1.3, size=int(k_fold.max()) + 1)
            * (rng.random(int(k_fold.max()) + 1) > 0.33)
        )
        r_s = radius * (1.0 - depth[k_fold] * np.abs(np.cos(math.pi * (s + phase) / spacing)) ** 12)
        end = np.clip(np.minimum(s, s[-1] - s) / (0.6 * radius), 0.0, 1.0)
        r_s = r_s * np.sqrt(end)
        # the grid cells near the curve
        lo = curve.min(axis=0) - radius - 2.0
        hi = curve.max(axis=0) + radius + 2.0
        i0, i1 = max(0, int((lo[0] - y0) / fine)), min(Y.shape[0], int((hi[0] - y0) / fine) + 2)
        k0, k1 = max(0, int((lo[1] - z0) / fine)), min(Y.shape[1], int((hi[1] - z0) / fine) + 2)
        if i1 <= i0 or k1 <= k0:
            continue
        from scipy.spatial import cKDTree

        pts = np.column_stack([Y[i0:i1, k0:k1].ravel(), Z[i0:i1, k0:k1].ravel()])
        dist, idx = cKDTree(curve).query(pts, distance_upper_bound=radius + 2.0)
        ok = np.isfinite(dist)
        path = np.zeros(len(pts), np.float32)
        r = r_s[idx[ok]]
        path[ok] = 2.0 * np.sqrt(np.clip(r * r - dist[ok] ** 2, 0.0, None))
        out[i0:i1, k0:k1] += (path * fill).reshape(i1 - i0, k1 - k0)
    if n:
        lo, hi = AP_GAS_LOOP_SPINE_MM
        out *= np.clip((np.abs(Y) - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        mottle = rng.standard_normal(Y.shape).astype(np.float32)
        mottle = cv2.GaussianBlur(mottle, (0, 0), 2.5 / fine)
        mottle /= float(mottle.std()) + 1e-6
        out *= np.clip(1.0 + AP_GAS_LOOP_MOTTLE * mottle, 0.6, 1.3)
        out = cv2.GaussianBlur(out, (0, 0), 0.5 / fine)
    return out


def gas_amount(anatomy_seed: int) -> float:
    """Version 34 (``AP_GAS_AMOUNT``): the weight of a patient's small AP bowel gas (1.0 when off; no draw then).

    Drawn from its own stream ``[anatomy_seed, 3301]``, so no earlier draw of the patient moves; the same for every
    film of the patient (it is part of the patient's soft tissue)."""
    if AP_GAS_AMOUNT is None:
        return 1.0
    p, poor, other = AP_GAS_AMOUNT
    rng = np.random.default_rng([anatomy_seed, 3301])
    return float(rng.uniform(*poor)) if rng.random() < p else float(rng.uniform(*other))
