"""AP films: the posterior arch of a lumbar vertebra: the laminae, the articular processes (facet columns) and the
spinous process, drawn in the vertebra's mesh frame and posed with it. Appearance only."""

from __future__ import annotations

import numpy as np

from fusionwatch.sim.camera import Camera
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.draw import _splat, capsule

AP_ARCH_MU = 0.5
"""Version 13: weight of the analytic posterior arch (laminae, articular processes, spinous process) as a share of
cortical bone's attenuation (shell) on AP films."""


def _facet_column_y(ped_y: float, lvl: int, facet_size: float) -> float:
    """Distance (mm, the vertebra's mesh frame, before the patient's scale) of a lumbar vertebra's facet column (the
    articular processes) from the mid-plane on AP films: a little inside the pedicle's centre ``ped_y``, wider apart
    toward L5 (``lvl`` 0 ... 4 for L1 ... L5), with the patient's facet size factor ``facet_size`` (0.8-1.2). Named
    once in version 30: :func:`_posterior_arch` (the articular processes) and :func:`_lamina` (the lamina's lateral
    end and the inferior articular process) place their columns here."""
    return ped_y * (0.9 + 0.08 * lvl / 4) * facet_size**0.3


def _posterior_arch(
    L: np.ndarray,
    cam: Camera,
    posed,
    side: float,
    xp: float,
    zs: float,
    zi: float,
    ped_y: float,
    z_ped: float,
    lvl: int,
    f: np.ndarray,
    scale: float,
    cell: float = 1.0,
) -> None:
    """One side of a lumbar vertebra's posterior arch on AP films (version 13; appearance only), in the bone's frame
    (``posed`` maps mesh (x, y, z) to the film's patient frame): the lamina running from behind the pedicle down and
    in to the midline (the two laminae and the spinous process make the laminar "Y"), the superior and inferior
    articular processes (the facet columns lateral to the spinous process, reaching the disc level above and
    below), and (once, for ``side > 0``) the spinous process: posterior and down from the laminae's junction,
    thick at its base and tapering (seen end-on on the AP: a bright teardrop pointing down, over the disc below).
    ``f``: six per-patient factors (lamina, facet, spinous size and brightness). ``scale``: the patient's size factor
    (the capsules' radii). ``cell``: the posed volume of a mesh-frame cell, :meth:`Pose.mesh_weight` x
    :meth:`Pose.width_weight` (version 30; version 29: the width weight alone, with ``scale``), on the spinous
    process's splatted points, which ``posed`` spreads (the capsules keep their path: only their end points move)."""
    h = zs - zi
    mu = MU["cortical"] * AP_ARCH_MU
    sh = (1.2, MU["trabecular"] * 0.8)
    y_f = _facet_column_y(ped_y, lvl, f[1])
    # lamina: a flat-ish band from behind the pedicle down-medially to the spinous base
    lam_top = posed(xp - 15.0, side * ped_y * 0.8, z_ped - 3.0)
    base = posed(xp - 24.0, side * 2.0, zi + 0.1 * h)
    capsule(L, cam, lam_top, base, 2.6 * f[0] * scale, mu * 0.8, shell=sh, round_ends=False)
    # articular processes: the superior one above and lateral to the pedicle (up to the disc above), the inferior
    # one below it (down past the inferior endplate); both kept off the pedicle's ring
    top = posed(xp - 14.0, side * y_f * 1.12, z_ped + 0.45 * h)
    sup = posed(xp - 17.0, side * y_f * 1.15, zs + 6.0 * f[2])
    capsule(L, cam, top, sup, 2.8 * scale, mu * 0.7, shell=sh, taper_mm=5.0)
    low = posed(xp - 19.0, side * y_f * 0.78, z_ped - 0.4 * h)
    inf = posed(xp - 22.0, side * y_f * 0.72, zi - 8.0 * f[3])
    capsule(L, cam, low, inf, 3.0 * scale, mu * 0.7, shell=sh, taper_mm=7.0)
    if side > 0:
        _spinous(L, cam, posed, xp, zi, h, f[4], f[5], cell)


AP_LAMINA_GAIN = 4.0
"""Version 26 trial P, on since version 26 (0.0: off, draws nothing): weight of the laminae drawn as plates over the
disc space below their vertebra, as a share of ``AP_ARCH_MU``'s attenuation (see :func:`_lamina`). On real AP films
the laminae, the inferior articular processes and the spinous process project over the disc gap (body minus disc gap
on the realism crops: real 0.029, version 25 0.088), which makes the spine one busy band rather than boxes over dark
gaps."""
AP_LAMINA_DROP = (0.4, 0.65)
"""Version 26 trial P: how far (share of the body's height, per vertebra and side) the lamina's lower margin
reaches below the inferior endplate at its lateral end (the inferior articular process, beside the upper part of the
vertebra below); medially it ends at 0.2 of the height below the endplate (the interlaminar window's apex)."""
AP_FACET_GAIN = 2.0
"""Version 26 trial P, on since version 26 (0.0: off): weight of the inferior articular process drawn as an upright
oval with a bright rim at the lateral end of each lamina, over the disc space (the facet joint's column), as a share
of ``AP_ARCH_MU``."""


def _facet_profile(rho: np.ndarray) -> np.ndarray:
    """Version 31: relative path (mm of ``AP_ARCH_MU`` bone before the gain) through the inferior articular process at
    relative radius ``rho`` (0 centre, 1 edge of its upright oval): 2 + 5 sqrt(1 - rho^2), the path through a solid
    column (mean over the oval 5.3, as the version-26 ring's 3 + 3 x rim)."""
    return 2.0 + 5.0 * np.sqrt(np.clip(1.0 - rho**2, 0.0, 1.0))


def _lamina(
    L: np.ndarray,
    cam: Camera,
    posed,
    side: float,
    xp: float,
    zi: float,
    h: float,
    y_f: float,
    z_ped: float,
    drop: float,
    gain: float,
    facet_gain: float,
    cell: float,
) -> None:
    """Version 26 trial P, AP films: one lamina of a lumbar vertebra as a plate seen en face (mesh frame of the
    vertebra, ``posed`` maps it to the film's patient frame; mm): from the midline (the spinous base) to the facet
    column ``y_f``, its top under the pedicle (``z_ped``), its lower margin sloping from 0.2 of the body's height
    ``h`` below the inferior endplate ``zi`` at the midline to ``drop`` x ``h`` below it laterally, so the pair
    leaves the interlaminar window (an inverted V) in the midline of the disc space below. Its interior weighs about
    3 mm of ``AP_ARCH_MU`` bone, its lower margin (cortex seen tangentially) about 7 mm, both x ``gain``; the edges
    toward the pedicle, the midline and the facet column fade. At the lateral end, with ``facet_gain`` > 0, the
    inferior articular process: an upright oval (half-width 3 mm, from 0.1 of the height above the endplate to
    ``drop`` + 0.1 below it) with a bright rim. ``cell``: the posed volume of a mesh-frame cell
    (:meth:`Pose.mesh_weight` x :meth:`Pose.width_weight`, version 30): the plates are grids in the mesh frame, so
    their path scales with the patient's scale and the body's depth factor, not with its height. Appearance only."""
    step = max(0.3, 0.8 * cam.pixel_mm / cam.magnification)
    mu = MU["cortical"] * AP_ARCH_MU
    y_in, y_out = 1.5, y_f
    uu = np.arange(0.0, 1.0, step / (y_out - y_in)) + step / (2 * (y_out - y_in))
    zz = np.arange(zi - (drop + 0.05) * h, z_ped, step) + step / 2
    U, Z = np.meshgrid(uu, zz, indexing="ij")
    bottom = zi - h * (0.2 + (drop - 0.2) * U)
    top = zi + 0.1 * h + (z_ped - 0.2 * h - zi - 0.1 * h) * U  # medial: low on the body; laterally: under the pedicle
    inside = (Z >= bottom) & (Z <= top)
    rim = np.clip(1.0 - (Z - bottom) / 1.5, 0.0, 1.0)  # the lower margin, seen along its surface
    fade = np.clip((top - Z) / 4.0, 0.0, 1.0) * np.clip(U / 0.15, 0.3, 1.0) * np.clip((1.0 - U) / 0.15, 0.4, 1.0)
    w = mu * gain * (3.0 + 4.0 * rim) * fade * step * step * cell
    y = side * (y_in + U * (y_out - y_in))
    pts = posed(xp - 20.0, y[inside], Z[inside])
    _splat(L, cam, pts, w[inside].astype(np.float32))
    if facet_gain <= 0.0:
        return
    zc, hz, hy = zi - 0.5 * drop * h, (0.5 * drop + 0.1) * h, 3.0
    yy = np.arange(-hy, hy, step) + step / 2
    zf = np.arange(zc - hz, zc + hz, step) + step / 2
    Y, Zf = np.meshgrid(yy, zf, indexing="ij")
    rho = np.sqrt((Y / hy) ** 2 + ((Zf - zc) / hz) ** 2)
    inside = rho <= 1.0
    # version 31: a solid column, thickest along the ray in its middle (an elliptic section's path); up to version 30
    # a ring (3 + 3 x a 1.2 mm rim), which drew every facet as a bright ring: the posterior elements' "bubbles"
    wf = mu * facet_gain * _facet_profile(rho) * step * step * cell
    pts = posed(xp - 20.0, side * y_f * 0.9 + Y[inside], Zf[inside])
    _splat(L, cam, pts, wf[inside].astype(np.float32))


AP_SPINOUS_RIM = 2.5
"""Version 31: extra path (mm of ``AP_ARCH_MU`` bone) of the spinous process's 1.6 mm outline over its 3 mm interior
(5.0 up to version 30: a bright ring round every teardrop, one more "bubble" per level; the real process's faces
are curved and its tip tilts, so their tangential cortex spreads)."""


def _spinous(
    L: np.ndarray, cam: Camera, posed, xp: float, zi: float, h: float, size: float, bright: float, cell: float
) -> None:
    """The spinous process seen on an AP film (version 13): a plate in the mid-plane, 9-13 mm wide at its top and
    narrowing downward (a teardrop pointing down) from the laminae's junction to below the inferior endplate, seen
    along its 30 mm length: a moderately bright interior inside a brighter cortical outline. ``cell``: as in
    :func:`_lamina` (version 30; up to version 29 the patient's scale x the width weight)."""
    step = max(0.3, 0.8 * cam.pixel_mm / cam.magnification)
    top, bottom = zi + 0.25 * h, zi - 14.0 * size
    hw0 = 5.5 * size
    zz = np.arange(bottom, top, step) + step / 2
    yy = np.arange(-hw0, hw0, step) + step / 2
    Z, Y = np.meshgrid(zz, yy, indexing="ij")
    u = (Z - bottom) / (top - bottom)  # 0 at the tip, 1 at the top
    half = hw0 * np.sqrt(np.clip(u, 0.0, 1.0)) * np.clip(1.0 - ((u - 0.8) / 0.2).clip(0.0) ** 2 * 0.6, 0.0, 1.0)
    inside = np.abs(Y) < half
    rim = np.clip(1.0 - (half - np.abs(Y)) / 1.6, 0.0, 1.0)[inside]
    x = xp - 26.0 - 10.0 * (1.0 - u[inside])  # the tip lies further back
    pts = posed(x, Y[inside], Z[inside])
    w = MU["cortical"] * AP_ARCH_MU * bright * (3.0 + AP_SPINOUS_RIM * rim) * step * step * cell
    _splat(L, cam, pts, w.astype(np.float32))
