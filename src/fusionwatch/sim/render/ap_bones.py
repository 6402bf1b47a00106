"""AP films: the bones' 1.5 mm label volumes re-projected in 3-D by splatting their posed voxel centres.

The lumbar vertebrae, T12, the sacrum and the hip bones; each voxel carries its posed volume. Here too: the AP gains of
the cortical and trabecular voxels, the density textures fixed in the bone, and the pelvis's own cortex and trabecular
images.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import cv2
import numpy as np

from fusionwatch.sim.anatomy import Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.pose import T12_SHAPE_SCALE
from fusionwatch.sim.render.attenuation import MU

if TYPE_CHECKING:
    from fusionwatch.sim.render.projection import Scene
    from fusionwatch.sim.variation import BoneWarp

AP_CORTICAL_GAIN = 0.55
AP_TRABECULAR_GAIN = 0.4
"""Calibration of the 1.5 mm AP volumes against the real SpineWeb AP films (docs/simulator.md, "Realism"): the coarse
voxels smear the thin cortex over a thick shell and overstate body contrast; these gains bring the simulated vertebral
contrast toward the real films'."""
AP_POSTERIOR_GAIN = 1.1
"""Extra weight of the lumbar posterior elements (behind the posterior vertebral wall: pedicles, transverse processes,
laminae, spinous process) on AP films, whose thin cortices the 1.5 mm volumes under-represent (real AP films show the
pedicle rings and transverse processes clearly)."""


class BonePoints(NamedTuple):
    """One bone's 1.5 mm voxels as AP points (mesh frame, before the pose): see :func:`_ap_points`."""

    xyz: np.ndarray
    """(N, 3) float32 mm: voxel centres, moved by the patient's bone warp."""
    weight: np.ndarray
    """(N,) float32: mu x voxel size (1/mm x mm), with the AP gains of the cortical / trabecular voxels and the
    posterior elements' ``AP_POSTERIOR_GAIN``."""
    body: np.ndarray
    """(N,) bool: a lumbar vertebra's voxel in front of its posterior wall, less 2 mm (its body, version 31's
    ``AP_BODY_CORTEX_FACTOR``), judged on the warped centres; all False for the sacrum and hip bones."""


AP_POINT_VOLUMES = True
"""Version 33: every AP point of the bone volumes carries the volume the patient's bone warp (:func:`_warp_area` x the
warp's width) and a wedged body's coronal bend (:meth:`Pose.bend_weight`; also on the body's wall,
:func:`~fusionwatch.sim.render.ap_vertebrae._body_wall`) give it. False: the version-32 weights (pixels exactly as
version 32's), for tests that pin older pixels."""

_AP_POINTS: list[tuple[Anatomy, bool, dict[str, BonePoints]]] = []


WARP_STEP_MM = 0.05
"""Step (mm) of the central differences of a bone warp's inverse map in :func:`_warp_area`."""


def _warp_area(warp: BoneWarp, q: np.ndarray) -> np.ndarray:
    """Version 33: the area factor of a bone warp's sagittal map at the warped points ``q`` (N, 2) (x, z) mm: the
    Jacobian determinant of the forward map ``p -> q``, ``1 / det(d inverse / d q)`` (the inverse ``q - D(q)`` is
    explicit; central differences of ``WARP_STEP_MM``). A warp that stretches the posterior elements front to back
    by 15 % makes them 15 % deeper along the AP ray: their points spread along the ray onto the same pixels, so each
    must weigh 15 % more; one that stretches a region up or down spreads its points over more pixels at the same
    depth, so each must weigh more by as much to keep the path. Up to version 32 the points kept their weight: a
    warp width 1.08 drew L3's path x0.93, and the stretch and the sine modes moved the path where they spread or
    crowded the points."""
    h = WARP_STEP_MM
    ex, ez = np.array([h, 0.0]), np.array([0.0, h])
    dx = (warp.inverse(q + ex) - warp.inverse(q - ex)) / (2 * h)
    dz = (warp.inverse(q + ez) - warp.inverse(q - ez)) / (2 * h)
    return 1.0 / (dx[:, 0] * dz[:, 1] - dx[:, 1] * dz[:, 0])


def _ap_points(an: Anatomy) -> dict[str, BonePoints]:
    """Voxel centres (deformed by the patient's bone warps), mu x voxel size and the body mask of every bone (cached
    per anatomy: a patient's films share them)."""
    if not _AP_POINTS or _AP_POINTS[0][0] is not an or _AP_POINTS[0][1] != AP_POINT_VOLUMES:
        out = {}
        for b, vol in an.volumes.items():
            idx = np.argwhere(vol.labels > 0)
            lab = vol.labels[vol.labels > 0]
            xyz = np.asarray(vol.origin) + idx * vol.res
            behind = np.zeros(len(xyz), bool)
            lumbar = b in ("L1", "L2", "L3", "L4", "L5")
            if lumbar:
                wall = min(v[0] for k, v in an.corners[b].items() if k.endswith("posterior"))
                behind = xyz[:, 0] < wall - 2.0  # (corners are already warped: a ~1 mm blur of the boundary only)
            volume = np.float32(1.0)
            if b in an.warps:
                w = an.warps[b]
                xyz[:, [0, 2]] = w.forward(xyz[:, [0, 2]])
                xyz[:, 1] *= w.width
                if AP_POINT_VOLUMES:  # version 33: each voxel carries the volume the warp gives it
                    volume = (w.width * _warp_area(w, xyz[:, [0, 2]])).astype(np.float32)
            xyz = xyz.astype(np.float32)
            w = (
                np.where(lab == 2, MU["cortical"] * AP_CORTICAL_GAIN, MU["trabecular"] * AP_TRABECULAR_GAIN).astype(
                    np.float32
                )
                * vol.res
                * np.where(behind, AP_POSTERIOR_GAIN, 1.0).astype(np.float32)
                * volume
            )
            # the body (version 31), on the warped centres; ``behind`` above is judged before the warp (the
            # posterior elements' gain since version 12): the two masks differ by the warp at the wall only
            body = xyz[:, 0] >= wall - 2.0 if lumbar else np.zeros(len(xyz), bool)
            out[b] = BonePoints(xyz, w, body)
        _AP_POINTS[:] = [(an, AP_POINT_VOLUMES, out)]
    return _AP_POINTS[0][2]


def _ap_bones(L: np.ndarray, cam: Camera, scene: Scene) -> None:
    """Splat the posed label volumes onto a coarse grid (about 1 mm), then resample to the film."""
    pose = scene.pose
    pts = _ap_points(scene.anatomy)
    k = max(1, int(round(1.0 * cam.gain(0.0))))
    gh, gw = -(-cam.height // k), -(-cam.width // k)
    acc = np.zeros(gh * gw, np.float64)
    acc_pelvis = np.zeros(gh * gw, np.float64)
    acc_pelvis_cortex = np.zeros(gh * gw, np.float64)  # version 16: the hip bones' and sacrum's cortex on its own
    acc_hip_cortex = np.zeros(gh * gw, np.float64)  # version 18: the hip bones' cortex apart from the sacrum's
    rng = np.random.default_rng(scene.seed + 7)
    rng18 = np.random.default_rng([scene.seed, 1803])  # version 18: bone density texture (own stream)
    vert_tex = _wave_field(rng18, AP_VERTEBRA_TEXTURE_MM, vertical=True)
    hip_tex = (_wave_field(rng18, AP_HIP_LARGE_MM), _wave_field(rng18, AP_HIP_FINE_MM))
    hip_gain = float(rng18.uniform(*AP_HIP_GAIN))

    def add(target: np.ndarray, cr: np.ndarray, weights: np.ndarray) -> None:  # bilinear splat onto the coarse grid
        c0 = np.floor(cr[:, 0]).astype(np.int64)
        r0 = np.floor(cr[:, 1]).astype(np.int64)
        fc, fr = cr[:, 0] - c0, cr[:, 1] - r0
        for dc, dr, ws in ((0, 0, (1 - fc) * (1 - fr)), (1, 0, fc * (1 - fr)), (0, 1, (1 - fc) * fr), (1, 1, fc * fr)):
            cc, rr = c0 + dc, r0 + dr
            ok = (cc >= 0) & (cc < gw) & (rr >= 0) & (rr < gh)
            target += np.bincount(rr[ok] * gw + cc[ok], weights=(weights * ws)[ok], minlength=gh * gw)

    for i_b, (b, (xyz, w, body)) in enumerate([*pts.items(), ("T12", pts["L1"])]):
        A, t = pose.transforms[b]
        xz = xyz[:, [0, 2]] @ A.T.astype(np.float32) + t.astype(np.float32)
        jit = rng.uniform(-0.75, 0.75, size=(len(w), 2)).astype(np.float32)  # breaks the voxel grid (no moire)
        ys = xyz[:, 1] * (pose.scale * (T12_SHAPE_SCALE if b == "T12" else 1.0))
        p3 = pose.apply_coronal(b, np.column_stack([xz[:, 0], ys + jit[:, 0], xz[:, 1] + jit[:, 1]]))
        cr = cam.project(p3) / k
        cortex = w > MU["trabecular"] * 2
        tex = (1.0 + AP_VOXEL_GRAIN * rng.standard_normal(len(w))).astype(np.float32)
        # version 30: each voxel carries its posed volume (Pose.mesh_weight: scale^3 x depth x height; up to version
        # 29 scale alone, so the path fell with the body's height and scale and ignored its depth)
        ww = w * np.float32(pose.mesh_weight(b)) * np.where(cortex, 1.0, tex)
        ww = ww * np.float32(pose.width_weight(b))  # version 21: a widened vertebra keeps its path along the ray
        if AP_POINT_VOLUMES and b in pose.bend:  # version 33: a wedged body's points carry their bent volume
            bent = pose.bend_weight(b, np.column_stack([xz[:, 0], ys, xz[:, 1]]))
            ww = ww * np.asarray(bent, dtype=np.float32)
        if b not in ("pelvis", "S1"):  # version 17: the vertebrae's voxel cortex fainter, the body a little denser
            # version 31: the body's 1.5 mm voxel shell (in front of the posterior wall) weighs its own factor
            cortex_factor = np.where(body, AP_BODY_CORTEX_FACTOR, np.float32(AP_VERTEBRA_CORTEX_FACTOR))
            ww = ww * np.where(cortex, cortex_factor, AP_VERTEBRA_TRABECULAR_FACTOR).astype(np.float32)
            # version 18: a trabecular density texture fixed in the bone (vertical striation), the body only
            ww = ww * np.where(cortex, 1.0, 1.0 + AP_VERTEBRA_TEXTURE * vert_tex(xyz)).astype(np.float32)
        elif b == "pelvis":  # version 18: the hip bones' density varies inside the wing (the sacrum as before)
            f = 1.0 + AP_HIP_LARGE * hip_tex[0](xyz) + AP_HIP_FINE * hip_tex[1](xyz)
            ww = ww * (hip_gain * np.clip(f, 0.3, 1.7)).astype(np.float32)
            ww = ww * np.where(cortex, AP_HIP_CORTEX_FACTOR, 1.0).astype(np.float32)
        # version 16: some points are splatted in several passes with fresh jitter (their own stream) and averaged:
        # one pass leaves a grain (a random number of 1.5 mm voxels per ~1 mm pixel) that the console amplifies into
        # a hatched pattern over the vertebral bodies and a sandpaper look of the iliac wings' en-face cortex; a blur
        # wide enough to hide it would also wipe out the iliac crest, the pelvic brim and the vertebral outlines
        if b in ("pelvis", "S1"):  # the hip bones' and sacrum's trabecular bone and cortex on their own images
            add(acc_pelvis, cr[~cortex], ww[~cortex])
            passes, sel = AP_PELVIS_CORTEX_PASSES, cortex
            target = acc_hip_cortex if b == "pelvis" else acc_pelvis_cortex
        else:
            passes, sel, target = AP_VERTEBRA_PASSES, np.ones(len(w), bool), acc
        add(target, cr[sel], ww[sel] / passes)
        if passes > 1:
            rng16 = np.random.default_rng([scene.seed, 1601, i_b])
            xs, zs, yss, ws_ = xz[sel, 0], xz[sel, 1], ys[sel], ww[sel] / passes
            for _ in range(passes - 1):
                jc = rng16.uniform(-0.75, 0.75, size=(len(ws_), 2)).astype(np.float32)
                p3 = pose.apply_coronal(b, np.column_stack([xs, yss + jc[:, 0], zs + jc[:, 1]]))
                add(target, cam.project(p3) / k, ws_)
    # each voxel's mu*res counted once per crossing ray: convert point density to path per coarse pixel
    vox_per_px = (k / cam.gain(0.0) / 1.5) ** 2  # voxel columns per coarse pixel
    px_mm = k / cam.gain(0.0)
    img = cv2.GaussianBlur((acc.reshape(gh, gw) / vox_per_px).astype(np.float32), (0, 0), 0.8)
    img += _pelvis_texture(
        (acc_pelvis.reshape(gh, gw) / vox_per_px).astype(np.float32) * AP_PELVIS_TRABECULAR_GAIN, px_mm, scene
    )
    cortex_img = (acc_pelvis_cortex.reshape(gh, gw) / vox_per_px).astype(np.float32) * AP_PELVIS_CORTEX_GAIN
    img += cv2.GaussianBlur(cortex_img, (0, 0), max(0.8, AP_PELVIS_CORTEX_BLUR_MM / px_mm))
    hip_img = (acc_hip_cortex.reshape(gh, gw) / vox_per_px).astype(np.float32) * AP_PELVIS_CORTEX_GAIN
    img += cv2.GaussianBlur(hip_img, (0, 0), max(0.8, AP_HIP_CORTEX_BLUR_MM / px_mm))
    L += cv2.resize(img, (gw * k, gh * k), interpolation=cv2.INTER_LINEAR)[: cam.height, : cam.width]


def _wave_field(rng: np.random.Generator, wavelengths_mm: tuple[float, float], *, vertical: bool = False, n: int = 16):
    """Version 18: a random smooth 3-D field (unit variance; a sum of ``n`` plane waves of random direction, phase and
    wavelength in ``wavelengths_mm``, their wave vectors across the AP ray) as a function of mesh-frame points (N, 3)
    mm. ``vertical``: the wave vectors lie mostly left-right, so the features are drawn out along z (vertical
    trabeculae)."""
    k = rng.standard_normal((n, 3))
    k[:, 0] = 0.0  # constant along the AP ray (+x in the mesh frame): a texture along it would average out
    if vertical:
        k[:, 2] *= 0.2
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    k *= (2.0 * np.pi / rng.uniform(*wavelengths_mm, n))[:, None]
    phase = rng.uniform(0.0, 2.0 * np.pi, n)
    k32, ph32, norm = k.astype(np.float32), phase.astype(np.float32), np.float32(math.sqrt(2.0 / n))

    def field(xyz: np.ndarray) -> np.ndarray:
        return np.cos(xyz @ k32.T + ph32).sum(axis=1) * norm

    return field


AP_VERTEBRA_TEXTURE = 0.03
AP_VERTEBRA_TEXTURE_MM = (2.0, 6.0)
"""Version 18: relative amplitude and wavelengths of the lumbar bodies' trabecular density texture on AP films (the
bodies were smooth, uniform blocks). 0.12 up to version 25; 0.03 since version 26 (at 1:1 the simulated bodies were
mottled where real ones are a smooth grey)."""
AP_HIP_LARGE, AP_HIP_LARGE_MM = 0.35, (25.0, 80.0)
AP_HIP_FINE, AP_HIP_FINE_MM = 0.08, (4.0, 12.0)
AP_HIP_GAIN = (0.7, 1.05)
AP_HIP_CORTEX_FACTOR = 0.6
AP_HIP_CORTEX_BLUR_MM = 2.5
"""Version 18, AP films: the hip bones' (not the sacrum's) density varies inside the wing (relative amplitudes at
25-80 mm and 4-12 mm), the whole hip bone weighs 0.7-1.05 per patient, its cortex 0.6 and blurred 1.4 mm instead
of 0.8 mm (the iliac wings were uniform, bright domes with a hard outline). Version 26: the cortex blurred 2.5 mm
(with ``AP_PELVIS_CORTEX_GAIN`` 0.9: the iliac wings' crisp rings around darker interiors wash out, as on real
films)."""

AP_VOXEL_GRAIN = 0.0
"""Random weight (+-SD) of each 1.5 mm trabecular voxel on AP films (0.15 up to version 15: with the console's
detail amplification it drew a hatched, sandpaper grain over every vertebral body; version 16: none)."""
AP_PELVIS_CORTEX_PASSES = 6
"""Version 16: splatting passes (fresh jitter each) averaged for the hip bones' and sacrum's cortex on AP films."""
AP_VERTEBRA_CORTEX_FACTOR = 0.75
AP_VERTEBRA_TRABECULAR_FACTOR = 1.65
"""Version 17: weights of the lumbar vertebrae's (and T12's) cortical and trabecular voxels on AP films, on top of
``AP_CORTICAL_GAIN`` / ``AP_TRABECULAR_GAIN`` (the pelvis keeps its own): the 1.5 mm voxels' cortical shell drew a
bright, doubled box outline around every body (with the analytic wall beside it); fainter, with a denser trabecular
body, the cortex fades into the body as on real films, and the body stays as bright against the soft tissue
(vertebral contrast of the realism sheet 0.19 -> 0.22, real 0.21). The trabecular factor was 1.8 up to version 23;
1.4 since version 24 (trial R2, bright rims over a flatter body, with ``AP_OUTLINE_GAIN`` 1.2 and
``AP_OUTLINE_BLUR_MM`` 0.3). Version 26 tried 1.2 (candidate "26-C", with stronger laminae): coronal Cobb error
8.60 deg on the detector check, at its limit; not shipped. Version 31: 1.65 (the bodies' voxel shell lighter,
``AP_BODY_CORTEX_FACTOR``: the interior keeps the body's path)."""
AP_BODY_CORTEX_FACTOR = 0.5
"""Version 31: weight of the lumbar bodies' cortical voxels (the 1.5 mm surface layer in front of the posterior wall)
on AP films, instead of ``AP_VERTEBRA_CORTEX_FACTOR`` (the posterior elements keep it). The body's cortex was
counted twice: the surface voxels' excess over the trabecular interior (1.5 mm x (0.0157 - 0.0064)/mm, 0.37 mm of
cortical bone) and the analytic wall of :func:`_body_wall` (0.8 mm at 0.28 x 1.2, 0.27 mm) made a 0.63 mm shell,
where a lumbar body's is about 0.4 mm (0.2-0.5); the flat voxel layer seen tangentially over the body's depth drew a
crisp line along every endplate and wall (patient 0's L3 voxels alone: endplates 1.22 / 1.48 x and walls
1.23 / 1.18 x the path through its middle; tests/sim/test_render_bones.py). At 0.5, with the interior denser
(``AP_VERTEBRA_TRABECULAR_FACTOR`` 1.65), the voxels' excess is 0.11 mm (shell 0.38 mm with the wall): endplates
1.07 / 1.13 x, walls 0.89 / 0.92 x; the concave endplate dishes and the wall stay analytic."""
AP_VERTEBRA_PASSES = 5
"""Version 16: splatting passes averaged for the lumbar vertebrae (and T12) on AP films (3 up to version 25; 5 since
version 26: less voxel grain over the bodies)."""
AP_PELVIS_CORTEX_GAIN = 0.9
AP_PELVIS_TRABECULAR_GAIN = 1.0
AP_PELVIS_CORTEX_BLUR_MM = 1.8
"""Version 16: the hip bones' and sacrum's cortex and trabecular bone weighted and blurred separately on AP films:
the cortex sharper and heavier (where the beam runs along it: the iliac crest, the pelvic brim, the sacroiliac joints
and the sacral foramina draw lines, as on real films), the trabecular bone lighter and smoother (the uniformly
bright, grainy iliac "domes" of versions 13-15 gave every crop away; up to version 15 both were blurred 1.6 mm
together and the trabecular pattern modulated them by +-7 %). Cortex gain 1.6, trabecular gain 0.75 and cortex
blur 0.8 mm in versions 16-25; 0.9 / 1.0 / 1.8 mm since version 26 (issue 3, give-away 3: the sacrum and iliac wings
showed crisp cortical rings around darker interiors; on real films that overlapped region washes out to a bright,
low-detail area with soft sacroiliac lines)."""


def _pelvis_texture(img: np.ndarray, px_mm: float, scene: Scene) -> np.ndarray:
    """Version 13, AP films: the hip bones' and the sacrum's splatted path image (``px_mm`` mm per pixel) smoothed
    out of its voxel grain (a 1.2 mm blur instead of 0.8 px) and given a trabecular pattern: band-passed noise of
    1.5-5 mm, partly drawn out along two oblique directions (the iliac trabecular trajectories), modulating the bone
    by +-25 % (the uniform, speckled iliac wings of version 12 were a give-away). Since version 16 only the trabecular
    bone comes here (blur ``AP_PELVIS_TRABECULAR_BLUR_MM``, modulation ``AP_PELVIS_GRAIN``); the cortex is added apart
    (:func:`_ap_bones`)."""
    rng = np.random.default_rng([scene.seed, 1303])
    out = cv2.GaussianBlur(img, (0, 0), max(0.8, AP_PELVIS_TRABECULAR_BLUR_MM / px_mm))
    n = rng.standard_normal(img.shape).astype(np.float32)
    iso = cv2.GaussianBlur(n, (0, 0), 0.9 / px_mm) - cv2.GaussianBlur(n, (0, 0), 4.0 / px_mm)
    streak = np.zeros_like(iso)
    for ang in rng.uniform(-60.0, 60.0, 2):
        kl = max(3, int(9.0 / px_mm) | 1)
        ker = np.zeros((kl, kl), np.float32)
        ker[kl // 2, :] = 1.0
        R = cv2.getRotationMatrix2D((kl / 2 - 0.5, kl / 2 - 0.5), float(ang), 1.0)
        ker = cv2.warpAffine(ker, R, (kl, kl))
        streak += cv2.filter2D(iso, -1, ker / ker.sum())
    tex = iso / (iso.std() + 1e-6) + 0.6 * streak / (streak.std() + 1e-6)
    tex /= tex.std() + 1e-6
    return out * np.clip(1.0 + AP_PELVIS_GRAIN * tex, 0.5, 1.5)


AP_PELVIS_TRABECULAR_BLUR_MM = 3.0
"""Blur (mm) of the hip bones' trabecular path image on AP films (the 1.5 mm voxels' grain)."""
AP_PELVIS_GRAIN = 0.03
"""Amplitude of the iliac trabecular pattern (relative modulation of the hip bones' path, AP films)."""
