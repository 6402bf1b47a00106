"""Rendering: line integrals of attenuation through the posed anatomy and hardware, then the imaging chain.

Attenuation coefficients are linear (per mm) at an effective energy of about 60-65 keV (diagnostic lumbar films at
80-90 kVp); bone and implants are added as *differences* to water because the soft-tissue map (from the real CT) already
counts water in their place. Metal is nearly opaque next to bone.

Lateral films: each bone's line-integral map along y was projected once at 0.5 mm (``scripts/build_sim_data.py``);
sagittal rotations and translations commute with a projection along y, so a bone is posed by one 2-D affine warp, with
the magnification of its own depth (each hip bone and femoral head gets its own: the double contour of real films).
AP films: the bones' 1.5 mm label volumes are re-projected in 3-D by splatting (lower resolution, as allowed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from fusionwatch.sim.anatomy import LATERAL_BONES, Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.implants import CageGeom, Healing, ScrewGeom
from fusionwatch.sim.pose import T12_SHAPE_SCALE, Pose

__all__ = ["MU", "Exposure", "line_integrals", "line_integrals_with_metal", "expose"]

MU = {
    "water": 0.0175,
    "trabecular": 0.0115,  # difference to water
    "cortical": 0.0380,  # difference to water
    "graft": 0.0110,
    "titanium": 0.25,  # ~4.5 x cortical bone (0.0555 absolute)
    "halo_deficit": 0.0300,  # version 15: dense peri-screw bone minus the fibrous tissue that replaces it (see _halo)
    "halo_rim": 0.0190,  # version 15: the thin sclerotic line around a halo, half cortical density (see _halo)
    "tantalum": 2.0,
    "peek": 0.0060,
    "lead": 3.0,
}
"""Linear attenuation (1/mm) ~62 keV: water; bone, graft, PEEK as differences to water; metals absolute."""
HALO_RIM_MM = 0.3
"""Thickness of the thin sclerotic line around a loosening halo (mm; version 15, was 0.7 at full cortical density)."""


@dataclass(frozen=True)
class Exposure:
    """Imaging-chain settings of one film (sampled per film for realism)."""

    photons_per_mm2: float = 1.5e7
    scatter_to_primary: float = 0.35
    focal_spot_mm: float = 1.0
    detector_blur_px: float = 0.7
    edge_enhance: float = 0.8
    equalise: float = 0.92
    """Fraction of the large-scale (``equalise_mm``) density variation removed by processing."""
    equalise_mm: float = 22.0
    contrast: float = 5.0
    """Slope of the sigmoid tone curve."""
    gamma: float = 1.0
    collimation_mm: tuple[float, float, float, float] = (12.0, 12.0, 12.0, 12.0)
    """Unexposed margins left, top, right, bottom (mm on the detector)."""
    marker: str = "L"
    window_top_pct: float = 99.8
    """Version 24 trial F: the percentile of the anatomy's processed log image at which the console's window ends
    (99.8 up to version 23, every film); a full-spine scoliosis film is windowed over the chest too, so its densest
    lumbar and pelvic part can lie above the window's top and show white (see ``journey.exam_exposure``)."""


# ----------------------------------------------------------------------------------------------------------------------
# bone maps


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


# ----------------------------------------------------------------------------------------------------------------------
# analytic primitives (cylinders, capsules, spheres) rendered on any camera


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


def _quad_mask(shape: tuple[int, int], quad_px: np.ndarray) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(quad_px * 16).astype(np.int32), 1, lineType=cv2.LINE_8, shift=4)
    return m.astype(bool)


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


# ----------------------------------------------------------------------------------------------------------------------
# line integrals per view


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


@dataclass
class Scene:
    """Everything needed to render one film of one patient."""

    anatomy: Anatomy
    pose: Pose
    bone_maps: dict[str, np.ndarray]
    screws: list[ScrewGeom]
    rods: list[list[np.ndarray]]
    cage: CageGeom | None
    healing: Healing
    approach: str
    seed: int
    soft_scale: float = 1.0
    degeneration: tuple[float, ...] = (0.0,) * 5
    body_half_width_mm: float = 0.0
    """Version 23, AP films: the patient's half-width at the waist (mm at the patient; 0: the bundled CT's body,
    about 210-270 mm, wider than the field). See :func:`narrow_body`."""


def line_integrals(scene: Scene, cam: Camera) -> tuple[np.ndarray, float | None]:
    """Total mu x path length image (float32, H x W) and the true bridging fraction (None without graft)."""
    L, _, fraction = line_integrals_with_metal(scene, cam)
    return L, fraction


def line_integrals_with_metal(scene: Scene, cam: Camera) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """As :func:`line_integrals`, plus the pedicle screws' and rods' own mu x path image (None without them), which
    the console processing of :func:`expose` uses as its metal segmentation."""
    L = np.zeros((cam.height, cam.width), np.float32)
    an, pose = scene.anatomy, scene.pose
    s = pose.scale
    A_p, t_p = pose.transforms["pelvis"]
    if cam.view == "lateral":
        soft = an.soft_lat * (MU["water"] * s * scene.soft_scale)
        # cubic: the coarse, steeply sloped soft-tissue map must not leave bilinear kinks (streaks after processing)
        _warp_add(L, soft, _map_affine(cam, an.soft_lat_origin, an.soft_res, A_p, t_p, 0.0), cv2.INTER_CUBIC)
        for b in (*LATERAL_BONES, "T12"):
            m = "L1" if b == "T12" else b
            A, t = pose.transforms[b]
            depth = an.lateral[m].depth_mm * s
            _warp_add(L, scene.bone_maps[m] * s, _map_affine(cam, an.lateral[m].origin, an.lateral[m].res, A, t, depth))
        _degeneration(L, cam, pose, scene.degeneration)
    else:
        _ap_soft(L, cam, scene)
        _psoas(L, cam, scene)
        _ap_bones(L, cam, scene)
        cortex, outline, pedicles = np.zeros_like(L), np.zeros_like(L), np.zeros_like(L)
        processes = np.zeros_like(L)
        _ap_cortex(cortex, cam, scene, outline=outline, pedicles=pedicles, processes=processes)
        if AP_DISC_MU > 0.0:  # version 24 trial D: the discs denser than water
            excised = ("L5",) if scene.cage is not None else ()  # the interbody cage replaces the L5-S1 disc
            _ap_discs(outline, cam, pose, an, max(0.5, 0.8 * cam.pixel_mm / cam.magnification), excised)
        # version 16: the analytic cortex as soft as the film's other bone edges; version 17: the bodies' outline
        # (wall and endplates) and the pedicles on their own layers, softer (real AP films show faint, soft-edged
        # endplates and walls fading into the body and pedicles as soft ovals, not crisp rings)
        for layer, blur_mm in (
            (cortex, AP_CORTEX_BLUR_MM),
            (outline, AP_OUTLINE_BLUR_MM),
            (pedicles, AP_PEDICLE_BLUR_MM),
            (processes, AP_PROCESS_BLUR_MM),  # version 18: the transverse processes, soft-edged
        ):
            _add_blurred(L, layer, blur_mm / cam.patient_pixel_mm)
    for c, r in pose.femoral_heads:
        _femur(L, cam, c, r)
    _ribs(L, cam, scene)
    fraction = None
    if scene.healing.bridging_fraction > 0 or scene.cage is not None or scene.screws:
        if scene.screws:
            fraction = (
                _graft_region(L, cam, pose, scene.healing, scene.approach, scene.seed, scene.cage is not None)
                if cam.view == "lateral"
                else None
            )
    if scene.cage is not None and cam.view == "lateral":
        _cage_lateral(L, cam, scene.cage)
    elif scene.cage is not None:
        _cage_ap(L, cam, scene.cage)
    for sc in scene.screws:
        _halo(L, cam, sc, scene.healing.halo_mm.get(sc.id, 0.0))
    metal = None
    if scene.screws or scene.rods:
        metal = np.zeros_like(L)
        for sc in scene.screws:
            _screw(metal, cam, sc)
        _rods(metal, cam, scene.rods)
        L += metal
    return L, metal, fraction


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


AP_CORTICAL_GAIN = 0.55
AP_TRABECULAR_GAIN = 0.4
"""Calibration of the 1.5 mm AP volumes against the real SpineWeb AP films (docs/simulator.md, "Realism"): the coarse
voxels smear the thin cortex over a thick shell and overstate body contrast; these gains bring the simulated vertebral
contrast toward the real films'."""
AP_POSTERIOR_GAIN = 1.1
"""Extra weight of the lumbar posterior elements (behind the posterior vertebral wall: pedicles, transverse processes,
laminae, spinous process) on AP films, whose thin cortices the 1.5 mm volumes under-represent (real AP films show the
pedicle rings and transverse processes clearly)."""

_AP_POINTS: list[tuple[Anatomy, dict[str, tuple[np.ndarray, np.ndarray]]]] = []


def _ap_points(an: Anatomy) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Voxel centres (deformed by the patient's bone warps) and mu x voxel size of every bone (cached per anatomy)."""
    if not _AP_POINTS or _AP_POINTS[0][0] is not an:
        out = {}
        for b, vol in an.volumes.items():
            idx = np.argwhere(vol.labels > 0)
            lab = vol.labels[vol.labels > 0]
            xyz = np.asarray(vol.origin) + idx * vol.res
            behind = np.zeros(len(xyz), bool)
            if b in ("L1", "L2", "L3", "L4", "L5"):
                wall = min(v[0] for k, v in an.corners[b].items() if k.endswith("posterior"))
                behind = xyz[:, 0] < wall - 2.0  # (corners are already warped: a ~1 mm blur of the boundary only)
            if b in an.warps:
                w = an.warps[b]
                xyz[:, [0, 2]] = w.forward(xyz[:, [0, 2]])
                xyz[:, 1] *= w.width
            xyz = xyz.astype(np.float32)
            w = (
                np.where(lab == 2, MU["cortical"] * AP_CORTICAL_GAIN, MU["trabecular"] * AP_TRABECULAR_GAIN).astype(
                    np.float32
                )
                * vol.res
                * np.where(behind, AP_POSTERIOR_GAIN, 1.0).astype(np.float32)
            )
            out[b] = (xyz, w)
        _AP_POINTS[:] = [(an, out)]
    return _AP_POINTS[0][1]


def _ap_bones(L: np.ndarray, cam: Camera, scene: Scene) -> None:
    """Splat the posed label volumes onto a coarse grid (about 1 mm), then resample to the film."""
    pose = scene.pose
    pts = _ap_points(scene.anatomy)
    an_corners = {b: c for b, c in scene.anatomy.corners.items() if b in ("L1", "L2", "L3", "L4", "L5")}
    an_corners["T12"] = an_corners["L1"]
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

    for i_b, (b, (xyz, w)) in enumerate([*pts.items(), ("T12", pts["L1"])]):
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
        if b not in ("pelvis", "S1"):  # version 17: the vertebrae's voxel cortex fainter, the body a little denser
            cortex_factor = np.float32(AP_VERTEBRA_CORTEX_FACTOR)
            if b in an_corners:  # version 31: the body's 1.5 mm voxel shell (in front of the posterior wall)
                wall = min(v[0] for k, v in an_corners[b].items() if k.endswith("posterior"))
                cortex_factor = np.where(xyz[:, 0] >= wall - 2.0, AP_BODY_CORTEX_FACTOR, cortex_factor)
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


AP_TP_HALF_SPAN_MM = {"L1": 31.0, "L2": 39.0, "L3": 48.0, "L4": 42.0, "L5": 38.0}
"""Transverse-process tip distance from the mid-plane (mm, before the patient's factor 0.9-1.15 and a +-7 % factor per
side and level): L3 the longest, L1 and L5 short."""
AP_TP_RADIUS_MM = {"L1": 3.0, "L2": 3.3, "L3": 3.5, "L4": 3.9, "L5": 6.2}
"""Transverse-process root radius (mm): L5's short, thick process."""
AP_TP_TILT_DEG = {"L1": 4.0, "L2": 0.0, "L3": -2.0, "L4": 6.0, "L5": 16.0}
"""Mean rise of a transverse process toward its tip (deg; L4 up a little, L5 up-and-out toward the ala)."""
AP_ENDPLATE_MM = 0.9
AP_ENDPLATE_GAIN_V13 = 0.45
"""Version 13: the analytic endplates' weight (with the console's detail amplification, version-12 weights drew every
endplate as a stark white line at contact-sheet scale; real endplates are softer). 0.7 up to version 25; 0.45 since
version 26 (crisp bright endplate lines over dark gaps were the lead's first give-away)."""
"""Thickness of the cortical endplate plates added on AP films."""
AP_ENDPLATE_CONCAVITY_MM = (1.0, 2.6)
"""Range of the depth of the endplates' central dish (mm, per endplate): a concave plate seen edge-on is a soft band
with a brighter rim, not a sharp line (version 12)."""


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


AP_OUTLINE_GAIN = 1.2
"""Version 16: weight of the vertebral bodies' analytic wall and endplates on AP films (1.0 up to version 15: crisp,
bright-outlined boxes). Version 23 trials, not shipped (bright rims over a flatter body, as real films show at 1:1):
1.6 with ``AP_OUTLINE_BLUR_MM`` 0.25 and ``AP_VERTEBRA_TRABECULAR_FACTOR`` 1.1 level-shifted 2 of the 30
detector-check films and the AP screw detector found 184 of 192 with 10 false; 1.2 / 0.3 / 1.4: 2 of 30 shifted, 189
of 192 screws with 7 false (docs/simulator.md "Version 23"). 0.8 up to version 23; 1.2 since version 24 (R2 shipped
with ``AP_OUTLINE_BLUR_MM`` 0.3 and ``AP_VERTEBRA_TRABECULAR_FACTOR`` 1.4). The discs of ``_ap_discs`` are splatted
on the same layer but carry their own weight (``AP_DISC_MU``), not this gain."""
AP_CORTEX_BLUR_MM = 0.3
"""Version 16: blur (mm at the patient) of the analytic AP cortex (endplates, walls, pedicles, processes)."""
AP_OUTLINE_BLUR_MM = 0.3
"""Version 17: blur (mm at the patient) of the lumbar bodies' analytic wall and endplates on AP films (0.3 in version
16; 0.6 in versions 17-19, softer than real films' white endplate lines; 0.35 in versions 20-23; 0.3 since version
24, trial R2)."""
AP_PEDICLE_BLUR_MM = 1.0
"""Version 17: blur (mm at the patient) of the analytic pedicle rings on AP films (0.3 in version 16: crisp round
rings; 1.0 in versions 17-19; 0.55 in version 20: crisp bright rings on every vertebra, the sheet's "eyes"; 1.0 again
since version 21, with fainter rings, ``AP_PEDICLE_VISIBILITY``)."""
AP_WALL_MM = 0.8
"""Thickness of the vertebral body's cortical wall added on AP films (seen tangentially at the body's sides)."""
AP_BODY_WAIST = 0.11
"""Relative narrowing of the vertebral body at mid-height (the concave lateral outline; 0.07 up to version 11)."""


def _body_wall(L: np.ndarray, cam: Camera, pose: Pose, an: Anatomy, b: str, step: float) -> None:
    """The cortical wall of a lumbar body as an elliptic-cylinder shell between its endplates, with a waist (splatted
    points, AP films): where the beam runs tangentially, at the body's sides, it draws the bright lateral outline."""
    c = pose.corners[b]
    hw_i = an.endplate_half_widths[b]["inferior"] * pose.scale
    hw_s = an.endplate_half_widths[b]["superior"] * pose.scale
    height = float(
        np.linalg.norm(
            (c["superior.posterior"] + c["superior.anterior"]) / 2
            - (c["inferior.posterior"] + c["inferior.anterior"]) / 2
        )
    )
    depth = float(np.linalg.norm(c["inferior.anterior"] - c["inferior.posterior"]))
    nv = max(4, int(height / step))
    n_th = max(16, int(np.pi * (depth / 2 + max(hw_i, hw_s)) / step))
    v = (np.arange(nv) + 0.5) / nv
    th = (np.arange(n_th) + 0.5) / n_th * 2 * np.pi
    V, T = np.meshgrid(v, th, indexing="ij")
    post = (1 - V)[..., None] * c["inferior.posterior"] + V[..., None] * c["superior.posterior"]
    ant = (1 - V)[..., None] * c["inferior.anterior"] + V[..., None] * c["superior.anterior"]
    hw = ((1 - V) * hw_i + V * hw_s) * (1.0 - AP_BODY_WAIST * np.sin(np.pi * V) ** 0.7)
    u = 0.5 + 0.5 * np.cos(T)
    xz = post + (ant - post) * u[..., None]
    y = hw * np.sin(T)
    ds = np.sqrt((depth / 2 * np.sin(T)) ** 2 + (hw * np.cos(T)) ** 2) * (2 * np.pi / n_th)
    p3 = pose.apply_coronal(b, np.column_stack([xz[..., 0].ravel(), y.ravel(), xz[..., 1].ravel()]))
    w = (MU["cortical"] * 0.28 * AP_WALL_MM * AP_OUTLINE_GAIN * (height / nv) * ds).ravel().astype(np.float32)
    w = w * np.float32(pose.width_weight(b))  # version 21 (a widened vertebra): its path along the ray stays
    _splat(L, cam, p3, w)


AP_DISC_MU = 0.0012
"""Version 24 trial D, on since version 24 (0.0: off, no pixel changes): attenuation of the lumbar intervertebral discs
above water's (1/mm, AP films). The disc is drawn as soft tissue only up to version 23, so its gap on an AP film is as
dark as the abdomen's water beside it; the annulus fibrosus is dense collagen (about 1.2 g/cm3 against 1.0-1.05 for the
fat and muscle around it), the nucleus a little denser than water: about +10-20 % of water's attenuation. Set with
``AP_DISC_ANNULUS`` (the outer ring's extra share)."""
AP_DISC_ANNULUS = 1.2
"""Version 24 trial D: the annulus (outer ring) is ``1 + AP_DISC_ANNULUS`` times as dense (above water) as the
nucleus (weight ``1 + AP_DISC_ANNULUS * rho**4``, ``rho`` the relative radius)."""


AP_DISC_UPPER = ("L1", "L2", "L3", "L4", "L5")
"""Version 24 trial D: the discs drawn, by their upper vertebra (L5: the L5-S1 disc)."""
AP_DISC_DEPTH_STEP_MM = 4.0
"""Version 24 trial D: spacing (mm) of the disc's points front to back, nearly along the AP ray (points along a ray
fall on the same pixel; the disc's tilt moves them 1 mm at most up or down): a 0.5 mm grid there cost 0.6-0.8 s per
2000 x 2500 film."""


def _ap_discs(L: np.ndarray, cam: Camera, pose: Pose, an: Anatomy, step: float, excised: tuple[str, ...] = ()) -> None:
    """Version 24 trial D, AP films: each lumbar disc (L1-L2 to L5-S1) as a volume between the upper vertebra's
    inferior endplate and the lower one's superior endplate (posed: sagittal, then each vertebra's coronal pose,
    blended across the disc's height), elliptic across (half-width between the two endplates'), attenuating
    ``AP_DISC_MU`` above water, more in the annulus (splatted points). ``excised``: upper vertebrae of the discs
    removed at surgery (an interbody fusion's discectomy: the cage and graft take the disc's place), not drawn.

    Units: ``L`` gains mu x path (dimensionless: 1/mm x mm) per pixel; ``step`` is the points' spacing across the
    disc's height and width (mm at the patient, the pose's frame); along the AP ray they are
    :data:`AP_DISC_DEPTH_STEP_MM` apart."""
    names = ("L1", "L2", "L3", "L4", "L5", "S1")
    for up, lo in zip(names[:-1], names[1:], strict=True):
        if up in excised or up not in AP_DISC_UPPER:
            continue
        cu, cl = pose.corners[up], pose.corners[lo]
        if "superior.anterior" not in cl or "inferior.anterior" not in cu:
            continue
        hwu = an.endplate_half_widths[up]["inferior"] * pose.scale
        hwl = an.endplate_half_widths[lo]["superior"] * pose.scale if lo != "S1" else hwu
        depth = float(np.linalg.norm(cu["inferior.anterior"] - cu["inferior.posterior"]))
        height = float(
            np.linalg.norm(
                (cu["inferior.anterior"] + cu["inferior.posterior"]) / 2
                - (cl["superior.anterior"] + cl["superior.posterior"]) / 2
            )
        )
        nv = max(3, int(math.ceil(height / step)))
        nf = max(6, int(math.ceil(depth / AP_DISC_DEPTH_STEP_MM)))  # along the ray: coarse (same pixels)
        hw_max = max(hwu, hwl)
        ny = max(8, int(math.ceil(2 * hw_max / step)))
        V, F, Yn = np.meshgrid(
            (np.arange(nv) + 0.5) / nv, (np.arange(nf) + 0.5) / nf, (np.arange(ny) + 0.5) / ny * 2 - 1, indexing="ij"
        )
        hw = (1 - V) * hwu + V * hwl
        post = (1 - V)[..., None] * cu["inferior.posterior"] + V[..., None] * cl["superior.posterior"]
        ant = (1 - V)[..., None] * cu["inferior.anterior"] + V[..., None] * cl["superior.anterior"]
        xz = post + (ant - post) * F[..., None]
        y = Yn * hw_max
        rho2 = (y / hw) ** 2 + (2 * F - 1) ** 2
        keep = rho2 <= 1.0
        p3 = np.column_stack([xz[..., 0][keep], y[keep], xz[..., 1][keep]])
        v = V[keep][:, None]
        p3 = (1 - v) * pose.apply_coronal(up, p3) + v * pose.apply_coronal(lo, p3)
        vol = (height / nv) * (depth / nf) * (2 * hw_max / ny)
        w = AP_DISC_MU * (1.0 + AP_DISC_ANNULUS * np.clip(rho2[keep], 0.0, 1.0) ** 2) * vol
        # version 25: widened vertebrae spread the points in y; the weights grow by the blended width factor, so the
        # path along the ray stays (as the bones' in _body_wall and the voxel bones)
        w = w * pose.width_weight(up, lo, v[:, 0])
        _splat(L, cam, p3, w.astype(np.float32))


def _tube(
    L: np.ndarray, cam: Camera, a3: np.ndarray, b3: np.ndarray, half_y: float, half_z: float, wall: float, step: float
) -> None:
    """An open cortical tube of elliptic section (half-axes ``half_y`` across, ``half_z`` up; ``wall`` mm thick)
    from ``a3`` to ``b3`` (patient mm, axis roughly along the AP ray), as splatted points. AP films (pedicles)."""
    length = float(np.linalg.norm(b3 - a3))
    n_s = max(4, int(length / step))
    n_t = max(24, int(np.pi * (half_y + half_z) / step))
    sv = (np.arange(n_s) + 0.5) / n_s
    th = (np.arange(n_t) + 0.5) / n_t * 2 * np.pi
    S, T = np.meshgrid(sv, th, indexing="ij")
    p3 = a3 + S[..., None] * (b3 - a3)
    p3 = p3.reshape(-1, 3).copy()
    p3[:, 1] += (half_y * np.cos(T)).ravel()
    p3[:, 2] += (half_z * np.sin(T)).ravel()
    arc = np.sqrt((half_y * np.sin(T)) ** 2 + (half_z * np.cos(T)) ** 2) * (2 * np.pi / n_t)
    w = (MU["cortical"] * 0.25 * wall * (length / n_s) * arc).ravel().astype(np.float32)
    _splat(L, cam, p3, w)


AP_PEDICLE_HALF_WIDTH_MM = (4.0, 4.4, 5.0, 5.8, 7.0)
"""Version 13: half the left-right width of the pedicle's oval (outer, mm) for L1 ... L5 (x 0.85-1.15 per side)."""
AP_PEDICLE_ASPECT = (1.9, 1.75, 1.55, 1.35, 1.12)
"""Version 13: height over width of the pedicle's oval, L1 ... L5 (upright at L1, nearly round at L5)."""
AP_PEDICLE_WALL_GAIN = 0.5
"""Version 13: share of cortical bone's attenuation of the pedicle wall seen end-on (the wall is filled across its
thickness: a thick ring; version 12 drew a line at 0.25; version 13-16: 0.45; version 17: 0.5, blurred by
``AP_PEDICLE_BLUR_MM``, a soft oval)."""


def _tube_v13(
    L: np.ndarray,
    cam: Camera,
    a3: np.ndarray,
    b3: np.ndarray,
    ey: np.ndarray,
    ez: np.ndarray,
    half_y: float,
    half_z: float,
    wall: float,
    step: float,
    roll_deg: float = 0.0,
    fade: float = 0.0,
    gain: float = 1.0,
) -> None:
    """An open cortical tube of elliptic section (version 13): half-axes ``half_y`` along ``ey`` and ``half_z``
    along ``ez`` (the vertebra's own left-right and up directions, so the section turns with it), rolled by
    ``roll_deg``, with a ``wall`` mm thick cortex filled across its thickness (a thick ring, not a line); ``fade``
    (-1 ... 1) weakens the half toward ``+ey`` (positive) or ``-ey`` (negative); ``gain`` scales the whole ring
    (version 21). AP films (pedicles)."""
    ey = ey / np.linalg.norm(ey)
    ez = ez - ey * float(ez @ ey)
    ez = ez / np.linalg.norm(ez)
    r = math.radians(roll_deg)
    ey, ez = math.cos(r) * ey + math.sin(r) * ez, -math.sin(r) * ey + math.cos(r) * ez
    length = float(np.linalg.norm(b3 - a3))
    n_s = max(4, int(length / step))
    n_t = max(24, int(np.pi * (half_y + half_z) / step))
    n_w = max(2, int(math.ceil(wall / (2.0 * step))))
    sv = (np.arange(n_s) + 0.5) / n_s
    th = (np.arange(n_t) + 0.5) / n_t * 2 * np.pi
    wv = (np.arange(n_w) + 0.5) / n_w
    S, T, Wd = np.meshgrid(sv, th, wv, indexing="ij")
    ry = np.maximum(half_y - wall * Wd, 0.3)
    rz = np.maximum(half_z - wall * Wd, 0.3)
    p3 = a3 + S[..., None] * (b3 - a3) + (ry * np.cos(T))[..., None] * ey + (rz * np.sin(T))[..., None] * ez
    arc = np.sqrt((ry * np.sin(T)) ** 2 + (rz * np.cos(T)) ** 2) * (2 * np.pi / n_t)
    wt = 1.0 - abs(fade) * np.clip(np.sign(fade) * np.cos(T), 0.0, 1.0)
    w = MU["cortical"] * AP_PEDICLE_WALL_GAIN * gain * (wall / n_w) * (length / n_s) * arc * wt
    _splat(L, cam, p3.reshape(-1, 3), w.ravel().astype(np.float32))


AP_PEDICLE_VISIBILITY = (0.8, 1.3)
"""Version 21: the pedicle rings' weight per patient (uniform in this range, x 0.75-1.2 per pedicle; 1 up to version
20): on real AP films the pedicles are soft ovals, often barely visible, not bright rings on every vertebra.
(0.35, 0.85) in versions 21-25; (0.8, 1.3) since version 26: at 1:1 the real pedicle ovals are the most conspicuous
feature of each vertebra, and with the soft 1.0 mm blur the rings stay ovals, not the version-20 "eyes"."""

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


def _ap_cortex(
    L: np.ndarray,
    cam: Camera,
    scene: Scene,
    *,
    outline: np.ndarray | None = None,
    pedicles: np.ndarray | None = None,
    processes: np.ndarray | None = None,
) -> None:
    """AP films: the thin cortical structures the 1.5 mm volumes smear out, added analytically on each lumbar
    vertebra's pose (sagittal and coronal): the endplates (concave dishes with a denser rim, seen nearly edge-on: a
    soft, slightly curved band; an oval double contour where the endplate tilts), the pedicles (end-on: oval rings)
    and the transverse processes (tapering, per-level length, thickness and rise; L5 short and thick). Appearance
    only. Version 17: the bodies' endplates and walls go to ``outline`` and the pedicles to ``pedicles`` when given
    (the caller blurs each layer by its own width), otherwise to ``L``."""
    outline = L if outline is None else outline
    pedicles = L if pedicles is None else pedicles
    processes = L if processes is None else processes
    rng18 = np.random.default_rng([scene.seed, 1802])  # version 18: irregular transverse processes
    an, pose = scene.anatomy, scene.pose
    rng = np.random.default_rng([scene.seed, 3131])
    tp_factor = rng.uniform(0.9, 1.15)
    tp_tilt = rng.normal(0.0, 6.0, 5)  # deg: a transverse process rises or falls toward its tip
    # version 12: its own stream (the draws above keep their values), per endplate and per side
    rng12 = np.random.default_rng([scene.seed, 3132])
    concavity = rng12.uniform(*AP_ENDPLATE_CONCAVITY_MM, size=(6, 2))
    plate_gain = rng12.uniform(0.75, 1.1, size=(6, 2))
    tp_side = rng12.uniform(0.93, 1.07, size=(5, 2))
    tp_bend = rng12.normal(0.0, 4.0, size=(5, 2))  # deg: the distal half bends up or down
    ped_tilt = rng12.uniform(1.0, 2.5, size=5)  # mm: half the pedicle's fall from front to back
    rng13 = np.random.default_rng([scene.seed, 1301])  # version 13: pedicle shapes and the posterior arch
    ped_w = rng13.uniform(0.85, 1.15, size=(5, 2))
    ped_asp = rng13.uniform(0.85, 1.15, size=(5, 2))
    ped_wall = rng13.uniform(1.6, 2.4, size=(5, 2))
    ped_roll = rng13.normal(8.0, 6.0, size=(5, 2))  # deg: the top leans outward
    ped_fade = np.where(rng13.random((5, 2)) < 0.35, rng13.uniform(-0.7, 0.7, (5, 2)), 0.0)
    arch = rng13.uniform(0.8, 1.2, size=(5, 6))
    rng21 = np.random.default_rng([scene.seed, 2102])  # version 21: how visible the pedicles are (own stream)
    ped_vis = rng21.uniform(*AP_PEDICLE_VISIBILITY) * rng21.uniform(0.75, 1.2, size=(5, 2))
    if AP_LAMINA_GAIN > 0.0:  # version 26 trial P: own stream, drawn only when on
        rng26 = np.random.default_rng([scene.seed, 2601])
        lam_drop = rng26.uniform(*AP_LAMINA_DROP, size=(5, 2))
        lam_gain = rng26.uniform(0.7, 1.2, size=5)[:, None] * rng26.uniform(0.85, 1.15, size=(5, 2))
    px_obj = cam.pixel_mm / cam.magnification
    step = max(0.25, 0.8 * px_obj)
    for i_b, b in enumerate(("L1", "L2", "L3", "L4", "L5", "S1")):
        c = pose.corners[b]
        width = an.warps[b].width if b in an.warps else 1.0
        centre = np.mean([v for v in c.values()], axis=0)
        for i_e, ep in enumerate(("superior", "inferior")):
            if f"{ep}.anterior" not in c:
                continue
            a, p = c[f"{ep}.anterior"], c[f"{ep}.posterior"]
            hw = an.endplate_half_widths[b][ep] * pose.scale
            ys = np.arange(-hw, hw, step) + step / 2
            fs = np.arange(0.0, 1.0, step / float(np.linalg.norm(a - p))) + step / (2 * float(np.linalg.norm(a - p)))
            Y, F = np.meshgrid(ys, fs, indexing="ij")
            half = np.sqrt(np.clip(1.0 - (Y / hw) ** 2, 0.0, 1.0))  # elliptic endplate outline
            keep = np.abs(F - 0.5) <= 0.5 * half
            mid, d = (a + p) / 2, a - p
            normal = np.array([-d[1], d[0]]) / float(np.linalg.norm(d))
            if float(normal @ (centre - mid)) < 0:  # into the body
                normal = -normal
            rho2 = np.clip((Y[keep] / hw) ** 2 + (2.0 * (F[keep] - 0.5)) ** 2, 0.0, 1.0)
            # the central dish sinks into the body; the rim (ring apophysis) is denser than the thin centre
            xz = mid + (F[keep] - 0.5)[:, None] * d + (concavity[i_b, i_e] * (1.0 - rho2))[:, None] * normal
            p3 = np.column_stack([xz[:, 0], Y[keep], xz[:, 1]])
            p3 = pose.apply_coronal(b, p3)
            wt = (0.5 + 0.7 * rho2**3) * plate_gain[i_b, i_e] * AP_ENDPLATE_GAIN_V13 * AP_OUTLINE_GAIN
            wt = wt * pose.width_weight(b)  # version 21: as in _ap_bones
            _splat(
                outline if b != "S1" else L,
                cam,
                p3,
                (MU["cortical"] * 0.2 * AP_ENDPLATE_MM * step * step * wt).astype(np.float32),
            )
        if b == "S1":
            continue
        _body_wall(outline, cam, pose, an, b, step)
        A, t = pose.transforms[b]
        m = an.corners[b]  # mesh frame (warped)
        xp = float(np.mean([v[0] for k, v in m.items() if k.endswith("posterior")]))
        zs = float(np.mean([v[1] for k, v in m.items() if k.startswith("superior")]))
        zi = float(np.mean([v[1] for k, v in m.items() if k.startswith("inferior")]))
        hw = float(np.mean(list(an.endplate_half_widths[b].values()))) * width
        ped_y = 0.64 * hw
        z_ped = zi + 0.62 * (zs - zi)
        lvl = ("L1", "L2", "L3", "L4", "L5").index(b)
        r_tp = AP_TP_RADIUS_MM[b]
        for i_s, side in enumerate((-1.0, 1.0)):

            def posed(x, y, z, b: str = b, A: np.ndarray = A, t: np.ndarray = t) -> np.ndarray:
                """Mesh-frame (x, y, z) mm (scalars or equal-length arrays) -> the film's patient frame."""
                x, y, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, y, z)))
                xz = np.stack([x, z], axis=-1) @ A.T + t
                return pose.apply_coronal(b, np.stack([xz[..., 0], y * pose.scale, xz[..., 1]], axis=-1))

            # pedicle: an open cortical tube of oval section (taller than wide) running back and a little down and
            # out; seen end-on, an upright oval ring (its ends merge into the body and the lamina: no caps)
            # (version 13: the cross-section turns with the vertebra (axial rotation, coronal tilt), the wall is
            # 1.6-2.4 mm thick across its width, width and shape vary by level (L1 narrow and upright, L5 broad and
            # round), a slight roll, and the lateral or medial half is sometimes faint)
            front = posed(xp + 1.0, side * ped_y * 0.92, z_ped + ped_tilt[lvl])
            rear = posed(xp - 13.0, side * ped_y * 1.04, z_ped - ped_tilt[lvl])
            o3 = posed(xp - 6.0, side * ped_y, z_ped)
            ey = posed(xp - 6.0, side * ped_y + side / pose.scale, z_ped) - o3
            ez = posed(xp - 6.0, side * ped_y, z_ped + 1.0 / float(np.linalg.norm(A[:, 1]))) - o3
            hy = AP_PEDICLE_HALF_WIDTH_MM[lvl] * ped_w[lvl, i_s] * pose.scale
            hz = hy * AP_PEDICLE_ASPECT[lvl] * ped_asp[lvl, i_s]
            _tube_v13(
                pedicles,
                cam,
                front,
                rear,
                ey,
                ez,
                hy,
                hz,
                ped_wall[lvl, i_s],
                step,
                ped_roll[lvl, i_s] * side,
                ped_fade[lvl, i_s],
                float(ped_vis[lvl, i_s]),
            )
            # version 29: the splatted arch points carry the width weight, as the bones'; version 30: the whole
            # posed volume of their mesh-frame cells (scale^3 x depth x height x width; version 29: scale x width)
            cell = pose.mesh_weight(b) * float(pose.width_weight(b))
            _posterior_arch(L, cam, posed, side, xp, zs, zi, ped_y, z_ped, lvl, arch[lvl], pose.scale, cell)
            if AP_LAMINA_GAIN > 0.0:  # version 26 trial P: the laminae and facets over the disc space below
                y_f = _facet_column_y(ped_y, lvl, arch[lvl, 1])
                _lamina(
                    processes,
                    cam,
                    posed,
                    side,
                    xp,
                    zi,
                    zs - zi,
                    y_f,
                    z_ped,
                    float(lam_drop[lvl, i_s]),
                    AP_LAMINA_GAIN * float(lam_gain[lvl, i_s]),
                    AP_FACET_GAIN * float(lam_gain[lvl, i_s]),
                    cell,
                )
            # transverse process: a broad root, a straight proximal half and a tapering distal half that bends a
            # little; length, thickness and rise per level (L3 longest, L5 short, thick and rising toward the ala)
            tp_y = AP_TP_HALF_SPAN_MM[b] * tp_factor * width * tp_side[lvl, i_s]
            rise = math.tan(math.radians(AP_TP_TILT_DEG[b] + 0.6 * tp_tilt[lvl] * side))
            bend = math.tan(math.radians(AP_TP_TILT_DEG[b] + 0.6 * tp_tilt[lvl] * side + tp_bend[lvl, i_s]))
            span = tp_y - ped_y
            y_mid = ped_y + 2.0 + 0.5 * span
            z_mid = z_ped - 1.0 + rise * (y_mid - ped_y)
            root = posed(xp - 14.0, side * (ped_y + 2.0), z_ped - 1.0)
            midp = posed(xp - 17.0, side * y_mid, z_mid)
            tip = posed(xp - 19.0, side * tp_y, z_mid + bend * (tp_y - y_mid))
            # version 18: thicker, fainter and irregular (real transverse processes are broad at the root, taper
            # to a rounded tip and have uneven outlines; the thin, uniform, bright bars of versions 12-17 read as
            # comb teeth): radius x AP_TP_THICKNESS, attenuation x AP_TP_MU_FACTOR, the distal half in six pieces
            # narrowing to AP_TP_TIP of the root radius, each piece's radius and height jittered
            r_root = r_tp * AP_TP_THICKNESS * rng18.uniform(0.85, 1.15) * pose.scale
            mu_tp = MU["cortical"] * 0.5 * AP_TP_MU_FACTOR * rng18.uniform(0.75, 1.1)
            shell = (1.3, MU["trabecular"] * 1.1 * AP_TP_MU_FACTOR)
            # flat ends where the pieces meet (round ends would double the path in the joint: a bright knot)
            capsule(processes, cam, root, midp, r_root, mu_tp, shell=shell, round_ends=False)
            n_p = 6
            prev = midp
            for q in range(n_p):
                u = (q + 1) / n_p
                nxt = midp + (tip - midp) * u
                if q < n_p - 1:
                    nxt = nxt + np.array([0.0, 0.0, rng18.normal(0.0, 0.9)])
                frac = 1.0 - (1.0 - AP_TP_TIP) * (q + 0.5) / n_p
                capsule(
                    processes,
                    cam,
                    prev,
                    nxt,
                    r_root * frac * rng18.uniform(0.85, 1.15),
                    mu_tp,
                    shell=shell,
                    round_ends=q == n_p - 1,
                )
                prev = nxt


AP_TP_THICKNESS = 1.35
"""Version 18: transverse-process radius factor on AP films (on ``AP_TP_RADIUS_MM``)."""
AP_TP_MU_FACTOR = 0.6
"""Version 18: transverse-process attenuation factor on AP films (thicker but fainter: less contrasty)."""
AP_TP_TIP = 0.45
"""Version 18: transverse-process radius at the tip, as a fraction of the root radius (versions 12-17: 0.62)."""
AP_PROCESS_BLUR_MM = 0.9
"""Version 18: blur (mm) of the transverse processes' layer on AP films."""


def _ap_soft(L: np.ndarray, cam: Camera, scene: Scene) -> None:
    an, pose = scene.anatomy, scene.pose
    A, t = pose.transforms["pelvis"]
    s = pose.scale
    # (iy, iz) grid -> patient (y, z): y = s * (oy + iy*res); z follows the pelvis transform of the spine's plane x = 0
    oy, oz = an.soft_ap_origin
    res = an.soft_res
    Ayz = np.array([[s, 0.0], [0.0, A[1, 1]]])
    tyz = np.array([0.0, t[1]])
    M = _map_affine(cam, (oy, oz), res, Ayz, tyz, 0.0)
    soft = an.soft_ap
    if scene.body_half_width_mm > 0.0:  # version 23: a thin patient's body, narrower than the field
        soft = narrow_body(scene)
    _warp_add(L, soft * (MU["water"] * s * scene.soft_scale), M, cv2.INTER_CUBIC)


AP_AIR_PATH = 0.35
"""Version 23: mu x path (about 20 mm of water) below which an AP pixel counts as direct exposure (air beside a
narrow body) for the console (:func:`expose`, ``air_aware``)."""
AP_BODY_MARGIN_MM = 15.0
"""Version 23: soft tissue (skin, fat, muscle) kept beside the widest bone at every height (iliac crest, lower ribs)
when the body is narrowed (mm at the patient; a thin adolescent's flank over the iliac crest is 10-20 mm thick)."""
AP_BODY_SMOOTH_MM = 15.0
"""Version 23: the narrowed body's half-width varies smoothly along the spine (Gaussian, mm): waist, flare over the
iliac crests and the lower ribs."""


def narrow_body(scene: Scene) -> np.ndarray:
    """The patient's AP soft-tissue map (``anatomy.soft_ap``: path mm along the AP ray on a (left-right, cranio-caudal)
     grid) narrowed left-right so the body is ``scene.body_half_width_mm`` wide each side of the mid-line at the waist
     (version 23).

     The bundled CT is of a heavy man (body about 2 x 235 mm wide at L3, path 300 mm of water at the mid-line): the
     whole 360 mm AP field lies inside his body. A thin patient (an adolescent with a 60-75 cm waist: half-width
     105-145 mm) is narrower than the field, so the film shows air - black, direct exposure - beyond the flanks and a
     thinning path toward them. Each row (height) of the map is compressed toward the mid-line by one factor (its
     profile, organs and gas keep their shape, closer together; path values unchanged: the AP depth is
     ``soft_scale``'s), never below the widest bone at that height (hip bones, lower ribs) plus
     :data:`AP_BODY_MARGIN_MM`, never widened, smooth along the spine (:data:`AP_BODY_SMOOTH_MM`). Units: mm at the
     patient (the map's own frame is before the patient's scale ``pose.scale``, divided out here).
    ."""
    an, pose = scene.anatomy, scene.pose
    s = pose.scale
    soft = an.soft_ap
    oy, oz = an.soft_ap_origin
    res = an.soft_res
    ny, nz = soft.shape
    # widest bone per height (map frame: y / s; z through the pelvis transform)
    bone = np.zeros(nz, np.float64)
    A, t = pose.transforms["pelvis"]
    for b in ("pelvis", "S1"):
        xyz = _ap_points(an)[b][0]
        k = np.clip(np.round((xyz[:, 2] - oz) / res).astype(int), 0, nz - 1)
        np.maximum.at(bone, k, np.abs(xyz[:, 1]).astype(np.float64))
    for poly, r in rib_polylines(an, pose, scene.seed, True):
        zz = (poly[:, 2] - t[1]) / A[1, 1]
        k = np.clip(np.round((zz - oz) / res).astype(int), 0, nz - 1)
        np.maximum.at(bone, k, (np.abs(poly[:, 1]) + r) / s)
    need = np.maximum(scene.body_half_width_mm / s, np.where(bone > 0, bone + AP_BODY_MARGIN_MM / s, 0.0))
    k = max(1, int(round(AP_BODY_SMOOTH_MM / res)))
    from scipy.ndimage import gaussian_filter1d, maximum_filter1d

    # a smooth outline: the bone envelope spread by the smoothing scale, smoothed, then never inside the envelope
    envelope = np.where(bone > 0, bone + AP_BODY_MARGIN_MM / s, 0.0)
    need = gaussian_filter1d(maximum_filter1d(need, 2 * k + 1, mode="nearest"), k, mode="nearest")
    need = gaussian_filter1d(np.maximum(need, envelope), max(1, k // 4), mode="nearest")
    # the map's own half-width per height (path > 10 % of its peak), the larger side
    y = oy + np.arange(ny) * res
    body = soft > 0.1 * float(soft.max())
    has = body.any(axis=0)
    yb = np.where(body, np.abs(y)[:, None], 0.0).max(axis=0)
    yb = np.where(has, yb, need)
    f = np.clip(need / np.maximum(yb, 1e-3), 0.05, 1.0)
    f = gaussian_filter1d(f, max(1, k // 4), mode="nearest")
    mapy = ((y[:, None] / f[None, :] - oy) / res).astype(np.float32)
    mapx = np.broadcast_to(np.arange(nz, dtype=np.float32)[None, :], (ny, nz)).copy()
    out = cv2.remap(soft, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    if AP_FLANK_FAT_STRIPE is not None:  # version 24 trial S: the properitoneal fat stripes (own stream)
        _flank_fat_stripes(out, y, s, np.random.default_rng([scene.seed, 2403]))
    return out


AP_FLANK_FAT_STRIPE: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None
"""Version 24 trial S (None: off, no draw): the properitoneal ("flank") fat stripe on AP films of a narrowed body:
(depth inside the body outline (mm), half-width (SD, mm), path deficit (mm of water)), each drawn per patient and
side. Between the abdominal wall muscles and the peritoneum lies a 3-6 mm layer of fat; where the beam runs along it,
at the flank, it crosses 40-70 mm of fat (the chord of a curved layer, about 2 sqrt(2 R t)) instead of muscle or
bowel wall, whose density is about 0.1-0.15 g/cm3 higher: a lucent line of several mm of water's path, parallel to
the body outline, as real AP films of the abdomen show."""


def _flank_fat_stripes(out: np.ndarray, y: np.ndarray, scale: float, rng: np.random.Generator) -> None:
    """Subtract the fat stripes (``AP_FLANK_FAT_STRIPE``) from the narrowed AP soft-tissue map ``out`` (path mm,
    (left-right, cranio-caudal)) in place; ``y`` the map's left-right coordinates (map mm), ``scale`` the patient's
    scale (patient mm = map mm x scale)."""
    from scipy.ndimage import gaussian_filter1d

    depth_r, sd_r, deficit_r = AP_FLANK_FAT_STRIPE
    peak = out.max(axis=0)
    body = out > 0.1 * np.maximum(peak, 1e-6)[None, :]
    has = body.any(axis=0) & (peak > 0.2 * float(out.max()))
    if not has.any():
        return

    yy = y[:, None]
    for side in (-1.0, 1.0):
        depth, sd, deficit = (float(rng.uniform(*r)) for r in (depth_r, sd_r, deficit_r))
        edge = np.where(body & (np.sign(yy) == side), np.abs(yy), 0.0).max(axis=0)
        edge = gaussian_filter1d(np.where(has, edge, np.median(edge[has])), 10.0, mode="nearest")
        centre = edge - depth / scale
        prof = np.exp(-0.5 * ((side * yy - centre[None, :]) / (sd / scale)) ** 2)
        cut = deficit * prof * has[None, :]
        out -= np.minimum(cut, 0.5 * out).astype(np.float32)


PSOAS_MU = 0.15 * MU["water"]
"""Psoas muscle's attenuation excess over the retroperitoneal fat around it (1/mm): its fat-lined lateral margin is the
psoas shadow of real AP films (version 12)."""


def _psoas(L: np.ndarray, cam: Camera, scene: Scene) -> None:
    """AP films: the two psoas muscles as cones beside the lumbar bodies, narrow at L1 and widening down to the pelvic
    brim, posed with L1 and L5 (sagittal and coronal); size and visibility per patient. Appearance only."""
    an, pose = scene.anatomy, scene.pose
    rng = np.random.default_rng([scene.seed, 3133])
    size = rng.uniform(0.8, 1.2)
    for side in (-1.0, 1.0):
        ends = []
        for b, ep, dz, r in (("L1", "superior", 4.0, 8.0), ("L5", "inferior", -40.0, 23.0)):
            c = pose.corners[b]
            mid = (c[f"{ep}.anterior"] + c[f"{ep}.posterior"]) / 2
            back = c[f"{ep}.posterior"] + 0.25 * (c[f"{ep}.anterior"] - c[f"{ep}.posterior"])
            hw = an.endplate_half_widths[b][ep] * pose.scale
            rr = r * size * rng.uniform(0.9, 1.1) * pose.scale
            y = side * (hw + (0.7 if b == "L1" else 1.0) * rr + rng.uniform(-2.0, 3.0))
            ends.append((pose.apply_coronal(b, np.array([back[0], y, mid[1] + dz])), rr))
        (bottom, r_b), (top, r_t) = ends[1], ends[0]
        mu = PSOAS_MU * rng.uniform(0.7, 1.3)
        # version 18: a cone in AP_PSOAS_PIECES flat-ended pieces (radius growing from the top one to the bottom one:
        # an oblique lateral margin) on its own layer, blurred AP_PSOAS_BLUR_MM; versions 12-17 drew one capsule whose
        # taper reached only its last millimetres: two long, straight, crisp vertical lines beside the spine
        n = AP_PSOAS_PIECES

        def draw(layer: np.ndarray, c: Camera, top=top, bottom=bottom, r_t=r_t, r_b=r_b, mu=mu, n=n) -> None:
            for i in range(n):
                a3, b3 = top + (bottom - top) * (i / n), top + (bottom - top) * ((i + 1) / n)
                r = r_t + (r_b - r_t) * ((i + 0.5) / n)
                capsule(layer, c, a3, b3, r, mu, round_ends=i == n - 1)

        # version 19: drawn and blurred on a coarser grid and upsampled (the 2.5 mm blur is about 17 pixels on a
        # 2000 x 2500 film: the same look at a fraction of the time)
        _add_coarse(L, cam, AP_PSOAS_BLUR_MM / cam.patient_pixel_mm, draw)


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


AP_PSOAS_PIECES = 10
AP_PSOAS_BLUR_MM = 2.5
"""Version 18: the psoas cone's pieces and its blur (mm) on AP films."""


# ----------------------------------------------------------------------------------------------------------------------
# imaging chain


def _smooth(img: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian smoothing; large kernels run on a downsampled copy."""
    f = max(1, int(sigma_px // 4))
    if f == 1:
        return cv2.GaussianBlur(img, (0, 0), sigma_px)
    H, W = img.shape
    small = cv2.resize(img, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma_px / f)
    # one big upsampling step leaves period-f kinks that processing amplifies into streaks: go up in two steps with a
    # blur at the intermediate scale (cheap), so the remaining kinks are only a few pixels apart and negligible
    g = max(1, f // 4)
    mid = cv2.resize(small, (max(1, W // g), max(1, H // g)), interpolation=cv2.INTER_LINEAR)
    mid = cv2.GaussianBlur(mid, (0, 0), 0.6 * f / g)
    return cv2.resize(mid, (W, H), interpolation=cv2.INTER_LINEAR)


def _smooth_up(small: np.ndarray, W: int, H: int, f: int) -> np.ndarray:
    """Upsample a smooth low-resolution image by about ``f`` without period-f kinks (two steps, blur in between)."""
    g = max(1, f // 4)
    mid = cv2.resize(small, (max(1, W // g), max(1, H // g)), interpolation=cv2.INTER_LINEAR)
    mid = cv2.GaussianBlur(mid, (0, 0), 0.6 * f / g)
    return cv2.resize(mid, (W, H), interpolation=cv2.INTER_LINEAR)


METAL_MIN_PATH = 0.15
"""Implant mu x path (about 0.6 mm of titanium) above which the console treats a pixel as metal."""
METAL_FULL_PATH = 1.2
"""Implant mu x path (about 5 mm of titanium: a screw core seen side-on) displayed white."""
METAL_HEADROOM = 0.1
"""Top fraction of the grey scale kept for metal on films with implants (the anatomy's window maps below it)."""
METAL_KNEE = 0.8
"""On films with implants the anatomy's grey levels below this are kept as on a film without them; only the brighter
bone is compressed (softly) under the metal headroom, so post-operative bone is not washed out."""
METAL_RAMP = 0.15
"""Excess over the anatomy window's top (in window widths) at which metal reaches white."""


AP_DETAIL_BANDS_MM = (0.3, 0.9, 2.7, 8.0)
"""Version 13: the scales (mm at the detector) of the detail bands the AP console amplifies."""
AP_DETAIL_GAINS = ((0.7, 0.9), (1.1, 1.4), (1.1, 1.4), (0.85, 1.05))
"""Version 13: range of the gain of each detail band (finest first), drawn per film."""
AP_DETAIL_GAINS_NO_METAL: tuple[tuple[float, float], ...] | None = ((0.9, 1.1), (1.6, 2.1), (1.3, 1.6), (0.85, 1.05))
"""Version 23: the detail gains of AP films without segmented metal (pre-operative films, the adolescent-scoliosis
films; the same draws from the film's stream, other ranges; None: ``AP_DETAIL_GAINS`` on every AP film, as up to
version 22): the 0.9-2.7 mm band x1.6-2.1 and the 2.7-8 mm band x1.3-1.6 (were 1.1-1.4 each), the finest band
(mostly quantum noise) x0.9-1.1 (was 0.7-0.9): crisper, brighter bone edges (endplates, walls, pedicles, processes)
and more visible grain, as on the real films. Films with metal keep ``AP_DETAIL_GAINS``: the same stronger gains on
them cost the AP screw detector 3 screws and added 3-4 false ones (version-20 trials S1/S2), as the implant-aware
console keeps a gentler processing (see ``AP_EQUALISE_FACTOR``)."""
AP_DETAIL_POWER = 0.9
"""Version 13: compressive power of the detail amplification (< 1: faint detail boosted more than strong edges, the
MUSICA-type non-linearity)."""
AP_LUT_GAMMA = (0.38, 0.8)
"""Version 13: range of an extra gamma of the AP look-up table on films without metal (real AP films are mostly light
grey and white: the mean grey histogram of the real crops is flat from 0.35 to 0.95, the simulated one peaked at 0.55
without it). With segmented metal the console keeps the version-12 table (as with ``AP_EQUALISE_FACTOR``): the bone
around the implants stays below the metal knee."""
AP_EQUALISE_FACTOR = 0.5
"""Version 13: AP films without metal keep more of their large-scale density range (the equalisation drawn per film
is halved): with the detail amplification doing the local contrast, the real crops' broad grey histogram needs the
large-scale range (bright pelvis and spine, dark gas; mean-histogram intersection 0.886 -> 0.915). With segmented
metal the console keeps the full equalisation (a different protocol, as implant-aware consoles choose): halved, the
sacrum rose into the compressed top of the window and an S1 loosening halo darkened the rim by only ~30 grey levels
instead of > 80 (tests/sim/test_film.py)."""


def _multiscale_contrast(
    q: np.ndarray, cam: Camera, rng: np.random.Generator, ranges: tuple[tuple[float, float], ...] | None = None
) -> np.ndarray:
    """Multi-scale (Laplacian-pyramid-like) contrast amplification of the log image, as DR consoles do for AP films
    (version 13): each detail band between successive Gaussian scales of :data:`AP_DETAIL_BANDS_MM` is amplified by a
    per-film gain with a compressive non-linearity, ``d -> g M sign(d) (|d| / M)^p`` (``M`` = 3 x the band's standard
    deviation): crisp bone edges and trabecular detail, and visible quantum mottle in the soft tissue, as on real
    processed films. The finest band (mostly quantum noise) is scaled linearly; the next one is processed at half,
    the two coarse ones at a quarter of the resolution (they are smooth there); the image is changed by ``f(d) - d``
    per band, so a gain of 1 and a power of 1 leave it as it was."""
    gains = [float(rng.uniform(*g)) for g in (ranges or AP_DETAIL_GAINS)]
    H, W = q.shape

    def boost(d: np.ndarray, g: float) -> np.ndarray:
        m = 3.0 * float(np.std(d[::4, ::4])) + 1e-6
        a = np.maximum(np.abs(d) * (1.0 / m), 1e-2)  # g M sign(d) (|d| / M)^p = d g (|d| / M)^(p - 1)
        cv2.pow(a, AP_DETAIL_POWER - 1.0, dst=a)
        return d * (g * a - 1.0)

    # finest band (mostly quantum noise): linear, at full resolution
    g0 = cv2.GaussianBlur(q, (0, 0), AP_DETAIL_BANDS_MM[0] / cam.pixel_mm)
    out = g0 + gains[0] * (q - g0)
    # the next band at half, the two coarse ones at a quarter of the resolution (their detail is smooth there)
    prev = g0
    for f, bands in ((2, (1,)), (4, (2, 3))):
        small = cv2.resize(prev, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
        corr = np.zeros_like(small)
        for i in bands:
            nxt = cv2.GaussianBlur(small, (0, 0), AP_DETAIL_BANDS_MM[i] / (cam.pixel_mm * f))
            corr += boost(small - nxt, gains[i])
            small = nxt
        out += cv2.resize(corr, (W, H), interpolation=cv2.INTER_CUBIC)
        if f == 2:
            prev = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    return out


AP_HEEL = (0.05, 0.3)
AP_VIGNETTE = (0.0, 0.3)
"""Version 18, AP films: amplitude ranges (fractions of the log image's 2-98 % range) of the exposure fall-off added
after the console's equalisation: a linear heel-effect ramp along a random, mostly vertical direction and a radial
fall-off toward the corners (real films are not evenly exposed)."""


AP_FLANK = (0.0, 0.0)
AP_FLANK_MM = 140.0
"""Version 21, AP films: the flanks' darkening, a share of the log image's 2-98 % range drawn per patient from
``AP_FLANK`` by :func:`patient_flank` (so a patient's films at different visits darken alike), growing with the
square of the distance from the film's centre line up to ``AP_FLANK_MM`` at the patient and constant beyond.
**Off** in version 21 (``(0, 0)``: no pixel changes). Tried: 0.15-0.7 and 0.05-0.35 drawn per film cost the implant
benchmark's AP halo check (3 and 5 of 12 halos instead of 9); 0.05-0.45 per patient 7 of 12 halos, AP screws 187 of
192 with 8 false, and a level-shifted detector-check film; see docs/simulator.md "Version 21"."""


def patient_flank(anatomy_seed: int) -> float:
    """The patient's flank darkening on AP films (share of the range, ``AP_FLANK``), from its own stream
    ``[anatomy_seed, 2103]`` (version 21: no earlier draw changes)."""
    return float(np.random.default_rng([anatomy_seed, 2103]).uniform(*AP_FLANK))


AP_ADOLESCENT_WAIST_MM = (105.0, 165.0)
"""Version 23: range of the adolescent-scoliosis population's waist half-width on AP films (mm at the patient).
Girls of 11-18 years have a waist circumference of about 58-85 cm (AIS patients are on average thinner than their
peers); an ellipse of that perimeter with a width-to-depth ratio of about 1.4 is 2 x 105-165 mm wide: narrower than
the 360 mm field (about 2 x 150 mm at the patient), so their films show air beyond the flanks and a thinning path
toward them (see :func:`narrow_body`)."""
AP_ADOLESCENT_BROAD = 0.0
AP_ADOLESCENT_BROAD_MM = (175.0, 235.0)
"""Version 24 trial V (share 0.0: off, no draw): a share of the adolescent-scoliosis population with a broad waist
(half-width drawn from ``AP_ADOLESCENT_BROAD_MM``, mm at the patient; waist about 95-130 cm), drawn on its own
stream ``[anatomy_seed, 2401]``: about one in five adolescents is overweight (and some scoliosis films are of
older patients), and about a third of the real SpineWeb crops show no dark, air-backed flank at all; with every
simulated waist 105-165 mm nearly every simulated crop had the same dark sides (crop-mean spread 0.048, real
0.079)."""
AP_ADULT_WAIST_MM: tuple[float, float] | None = None
"""Version 23, **off** (None: the bundled CT's body, wider than the field, for every adult film): the same for the
product's adult patients (waist about 75-115 cm: 2 x 135-200 mm; only the thinnest show air at the field's edges).
See docs/simulator.md "Version 23" for what it did to the detector and implant checks."""


def patient_waist(anatomy_seed: int, population: str = "adult") -> float | None:
    """The patient's waist half-width on AP films (mm) from its own stream ``[anatomy_seed, 2301]`` (version 23: no
    earlier draw changes), or None for the bundled body (adults while ``AP_ADULT_WAIST_MM`` is off). Version 24 trial
    V (``AP_ADOLESCENT_BROAD`` > 0; off): a share of adolescents a broad waist instead, from the stream
    ``[anatomy_seed, 2401]``; off, nothing is drawn from it."""
    span = AP_ADOLESCENT_WAIST_MM if population == "adolescent-scoliosis" else AP_ADULT_WAIST_MM
    if span is None:
        return None
    waist = float(np.round(np.random.default_rng([anatomy_seed, 2301]).uniform(*span), 2))
    if population == "adolescent-scoliosis" and AP_ADOLESCENT_BROAD > 0.0:  # version 24 trial V (own stream)
        rng = np.random.default_rng([anatomy_seed, 2401])
        if rng.random() < AP_ADOLESCENT_BROAD:
            waist = float(np.round(rng.uniform(*AP_ADOLESCENT_BROAD_MM), 2))
    return waist


AP_LUNG = (0.05, 0.25)
"""Version 28, AP films: strength (share of the log image's 2-98 % range, drawn per patient) of the lung bases'
darkening above the diaphragm beside the spine. The bundled CT starts at T12 and has no lung in it; on real AP films
the posterior costophrenic recesses (air) reach down beside T12-L1, so the top of the lumbar crop is darker beside the
spine. ``(0, 0)``: off (no draw changes anything: see :func:`patient_layout`)."""
AP_LUNG_RECESS = (-0.05, 0.12)
"""Version 28: the right (image-left) costophrenic recess's lowest point below the L1 superior endplate's centre, in
units of the L1-superior-to-L5-inferior span (drawn per patient); the left one lies lower by ``AP_LUNG_LEFT_LOWER``
(the left hemidiaphragm sits lower than the right, above the spleen and stomach, not the liver)."""
AP_LUNG_LEFT_LOWER = (0.02, 0.08)
AP_LUNG_RIGHT = 0.3
"""Version 28: the right (image-left) lung base's darkening as a share of the left one's: on the right the liver
fills the recess region (real crops are brighter at the top left than at the top right: 0.56 vs 0.43)."""
AP_LUNG_MM = (10.0, 55.0)
"""Version 28: the lung darkening grows from 0 at ``AP_LUNG_MM[0]`` to full at ``AP_LUNG_MM[1]`` from the spine's
centre line (mm at the patient), and from 0 at the recess to full 0.25 span above it (smoothstep both)."""
AP_ILIAC = (0.05, 0.35)
"""Version 28, AP films: strength (share of the range, per patient) of the iliac wings' and sacro-iliac region's
brightening at the bottom corners of the lumbar region: real AP films show the pelvis there brighter (dense bone over
the whole width, washed out by the console) than the simulated pelvis alone made it. Grows from 0 at the L4-L5 disc
(the iliac crests) to full 0.1 span below the S1 superior endplate, and sideways from ``AP_ILIAC_MM[0]`` to
``AP_ILIAC_MM[1]`` from the spine's centre line. ``(0, 0)``: off."""
AP_ILIAC_MM = (25.0, 60.0)
AP_LAYOUT_GRID_MM = 2.0
"""Version 28: the grid (mm at the patient) on which :func:`ap_layout` computes its smooth field before resizing."""


def _smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def patient_layout(anatomy_seed: int) -> tuple[float, float, float, float]:
    """The patient's version-28 coarse-layout draws (lung strength, right recess, left recess extra depth, iliac
    strength) from its own stream ``[anatomy_seed, 2801]`` (no earlier draw changes; the same for every film of the
    patient, so a patient's films darken alike)."""
    rng = np.random.default_rng([anatomy_seed, 2801])
    return (
        float(rng.uniform(*AP_LUNG)),
        float(rng.uniform(*AP_LUNG_RECESS)),
        float(rng.uniform(*AP_LUNG_LEFT_LOWER)),
        float(rng.uniform(*AP_ILIAC)),
    )


def ap_layout(
    centres_px: dict[str, tuple[np.ndarray, np.ndarray]],
    shape: tuple[int, int],
    patient_px_mm: float,
    draws: tuple[float, float, float, float],
) -> np.ndarray | None:
    """Version 28: the coarse brightness layout of an AP film around the lumbar spine, a (rows, cols) float32 field
    in shares of the log image's range (negative: darker), added by :func:`expose` after the console's equalisation.

    ``centres_px``: level name (L1 ... L5, S1) -> (superior endplate centre, inferior endplate centre), each (col, row)
    pixels (S1: its superior centre twice); ``patient_px_mm``: mm at the patient per pixel; ``draws``:
    :func:`patient_layout`. Lung bases beside the spine above the costophrenic recesses (darker; the left recess
    lower) and the iliac wings beside the lower lumbar spine and sacrum (brighter). None when both are off."""
    lung, rec_r, rec_l, iliac = draws
    if lung <= 0.0 and iliac <= 0.0:
        return None
    H, W = shape
    rows = np.array([c[k][1] for c in centres_px.values() for k in (0, 1)], dtype=np.float64)
    cols = np.array([c[k][0] for c in centres_px.values() for k in (0, 1)], dtype=np.float64)
    order = np.argsort(rows)
    rows, cols = rows[order], cols[order]
    top = float(centres_px["L1"][0][1])
    span = max(float(centres_px["L5"][1][1]) - top, 1.0)
    # the field is smooth (its steps span 10-45 mm): computed on a grid of about 2 mm at the patient and resized
    # linearly (the grid's points are where cv2's linear resize samples them), not on every pixel
    f = max(1, int(AP_LAYOUT_GRID_MM / patient_px_mm))
    h, w = -(-H // f), -(-W // f)
    y = (np.arange(h, dtype=np.float64) + 0.5) * (H / h) - 0.5
    spine_x = np.interp(y, rows, cols)  # constant beyond the first and last centre
    x = (np.arange(w, dtype=np.float64) + 0.5) * (W / w) - 0.5
    d_mm = (x[None, :] - spine_x[:, None]) * patient_px_mm  # + : image right (patient left)
    ad = np.abs(d_mm)
    out = np.zeros((h, w), np.float64)
    if lung > 0.0:
        lateral = _smoothstep(AP_LUNG_MM[0], AP_LUNG_MM[1], ad)
        for sign, rec, share in ((-1.0, rec_r, AP_LUNG_RIGHT), (1.0, rec_r + rec_l, 1.0)):
            yb = top + rec * span  # the recess's lowest row; the lung fills upward from it
            vert = _smoothstep(yb, yb - 0.25 * span, y)[:, None]
            side = (d_mm * sign > 0).astype(np.float64)
            out -= share * lung * vert * lateral * side
    if iliac > 0.0:
        l45 = 0.5 * (float(centres_px["L4"][1][1]) + float(centres_px["L5"][0][1]))
        s1 = float(centres_px["S1"][0][1])
        vert = _smoothstep(l45, s1 + 0.1 * span, y)[:, None]
        out += iliac * vert * _smoothstep(AP_ILIAC_MM[0], AP_ILIAC_MM[1], ad)
    out = out.astype(np.float32)
    return out if (h, w) == (H, W) else cv2.resize(out, (W, H), interpolation=cv2.INTER_LINEAR)


def _falloff(
    q: np.ndarray,
    cam: Camera,
    rng: np.random.Generator,
    win: tuple[slice, slice],
    flank: float = 0.0,
    body: np.ndarray | None = None,
    layout: np.ndarray | None = None,
    body_full: np.ndarray | None = None,
) -> None:
    """Add the AP exposure fall-off (``AP_HEEL``, ``AP_VIGNETTE``), the flanks' darkening (``flank``, a share of
    the range; see ``AP_FLANK``) and the version-28 coarse layout (``layout``, shares of the range, see
    :func:`ap_layout`; only inside the body ``body_full`` when given: air stays air) to the log image ``q`` in place."""
    H, W = q.shape
    lo, hi = np.percentile(q[win] if body is None else q[win][body], [2.0, 98.0])
    rng_f = np.random.default_rng([int(rng.integers(2**31)), 1805])
    ang = rng_f.normal(0.5 * math.pi, 0.5) + (math.pi if rng_f.random() < 0.5 else 0.0)
    heel = float(rng_f.uniform(*AP_HEEL)) * (hi - lo)
    vig = float(rng_f.uniform(*AP_VIGNETTE)) * (hi - lo)
    cx, cy = rng_f.uniform(0.35, 0.65) * W, rng_f.uniform(0.35, 0.65) * H
    x = ((np.arange(W, dtype=np.float32) - cx) / (0.5 * W))[None, :]
    y = ((np.arange(H, dtype=np.float32) - cy) / (0.5 * H))[:, None]
    q += np.float32(heel * 0.5 * math.cos(ang)) * x + np.float32(heel * 0.5 * math.sin(ang)) * y
    q += np.float32(vig * 0.5) * (x * x + y * y)
    if flank > 0.0:  # version 21: darker flanks (the patient's body thins toward its sides; no draw here)
        xm = (np.arange(W, dtype=np.float32) - 0.5 * W) * np.float32(cam.pixel_mm / cam.magnification / AP_FLANK_MM)
        q -= np.float32(flank * (hi - lo)) * np.minimum(xm * xm, 1.0)[None, :]
    if layout is not None:  # version 28 (no draw here: the patient's draws are in ``layout``)
        add = layout * np.float32(hi - lo)
        if body_full is not None:
            add *= body_full
        q += add


def expose(
    L: np.ndarray,
    cam: Camera,
    exp: Exposure,
    rng: np.random.Generator,
    metal_path: np.ndarray | None = None,
    flank: float = 0.0,
    air_aware: bool = False,
    layout: np.ndarray | None = None,
) -> np.ndarray:
    """Detector image from line integrals: Beer-Lambert, scatter, focal-spot and detector blur, quantum noise, log,
    edge enhancement, tone curve, collimation and a burned-in lead side marker. Returns uint16, 12 bits, MONOCHROME2
    (bone bright).

    ``metal_path``: the implants' own mu x path image (from :func:`line_integrals_with_metal`); where it exceeds
    ``METAL_MIN_PATH`` the console treats the pixels as metal (as real consoles segment implants): they neither lift the
    equalisation background nor set the anatomy's window, and are mapped into the top ``METAL_HEADROOM`` of the grey
    scale, above all anatomy.

    ``air_aware`` (version 23, AP films of a body narrower than the field): pixels whose path is below
    :data:`AP_AIR_PATH` are direct exposure (air beside the flanks); as real consoles do, they neither set the
    equalisation background nor the window, so they stay black and the anatomy keeps its grey levels.

    ``layout`` (version 28, AP films): the coarse brightness layout of :func:`ap_layout` (shares of the range), added
    with the fall-off."""
    H, W = L.shape
    body = None
    if air_aware:
        body = L >= AP_AIR_PATH
        if body.all():
            body = None
    # lead side marker (on the detector: not magnified), inside the collimated field
    marker = np.zeros((H, W), np.uint8)
    size = max(0.6, 0.0022 * min(H, W))
    c0, r0, c1, r1 = (int(round(m / cam.pixel_mm)) for m in exp.collimation_mm)
    on_right = exp.marker == "L" if cam.view == "ap" else not cam.facing_left
    x = (W - c1 - int(0.09 * W)) if on_right else (c0 + int(0.03 * W))
    y = r0 + int(0.09 * H)
    cv2.putText(marker, exp.marker, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size * 1.6, 1, max(2, int(size * 4)), cv2.LINE_AA)
    Lm = L + marker.astype(np.float32) * (MU["lead"] * 1.5)
    primary = np.exp(-Lm)
    # scatter: a very smooth fraction of the primary (grid-reduced)
    f = 16
    small = cv2.resize(primary, (max(1, W // f), max(1, H // f)), interpolation=cv2.INTER_AREA)
    sig = 45.0 / (cam.pixel_mm * f)
    small = cv2.GaussianBlur(small, (0, 0), sig)
    scatter = _smooth_up(small, W, H, f) * exp.scatter_to_primary
    signal = primary + scatter
    # focal spot penumbra at the reference plane + detector (scintillator) spread
    blur = math.hypot(exp.focal_spot_mm * (cam.magnification - 1) / 2.355 / cam.pixel_mm, exp.detector_blur_px)
    signal = cv2.GaussianBlur(signal, (0, 0), blur)
    n0 = exp.photons_per_mm2 * cam.pixel_mm**2
    noise = rng.standard_normal((H, W), dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.5) * 1.9
    p = np.empty((H, W), np.float32)
    for y0 in range(0, H, _TONE_ROWS):  # elementwise, on blocks of rows (cache-resident temporaries)
        rows = slice(y0, min(H, y0 + _TONE_ROWS))
        s_, n_ = signal[rows], noise[rows]
        counts = np.maximum(n0 * s_ + np.sqrt(np.maximum(n0 * s_, 1.0)) * n_, 0.5)
        p[rows] = -np.log(counts / n0)
    # collimation: outside the field almost no exposure (shown white after processing)
    inside = np.zeros((H, W), bool)
    inside[r0 : H - r1, c0 : W - c1] = True
    # DR console processing: strong large-scale equalisation (latitude compression), mid-frequency edge enhancement
    # metal-aware (as real consoles): segmented implants neither lift the equalisation background (which would darken
    # them and the bone around them) nor set the window (so the anatomy fills the grey scale and metal sits above it)
    sig = exp.equalise_mm / cam.pixel_mm
    if body is None:
        coarse = _smooth(p, sig)
    else:  # version 23: the background of the body only (normalised smoothing; air keeps its neighbours' level)
        wb = body.astype(np.float32)
        coarse = _smooth(p * wb, sig) / np.maximum(_smooth(wb, sig), 1e-3)
    metal = np.zeros((H, W), bool)
    if metal_path is not None:
        metal = cv2.dilate((metal_path > METAL_MIN_PATH).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if metal.any():
        for _ in range(2):  # fill the metal with its surroundings' background, twice (the first fill is still lifted)
            filled = p.copy()
            filled[metal] = np.minimum(p[metal], coarse[metal])
            coarse = (
                _smooth(filled, sig) if body is None else _smooth(filled * wb, sig) / np.maximum(_smooth(wb, sig), 1e-3)
            )
    win = (slice(r0, H - r1, 4), slice(c0, W - c1, 4))
    cmean = float(np.mean(coarse[win])) if body is None else float(np.mean(coarse[win][body[win]]))
    # (version 13: AP films without metal keep more of their large-scale range; with metal the console keeps the
    # full equalisation, so the bone around the screws stays below the metal knee and a loosening halo visible)
    eq = exp.equalise * (AP_EQUALISE_FACTOR if cam.view == "ap" and not metal.any() else 1.0)
    coarse -= cmean  # q = p - eq * (coarse - cmean), without full-size temporaries
    coarse *= eq
    q = np.subtract(p, coarse, out=coarse)
    ap_gamma = 1.0
    if cam.view == "ap":  # version 13: multi-scale contrast amplification, as real DR consoles process AP films
        # version 23: films without metal may take other detail gains (AP_DETAIL_GAINS_NO_METAL; same draws)
        q = _multiscale_contrast(q, cam, rng, None if metal.any() else AP_DETAIL_GAINS_NO_METAL)
        ap_gamma = float(rng.uniform(*AP_LUT_GAMMA))  # and a brighter look-up table (without metal: see below)
        if metal.any():
            ap_gamma = 1.0
        # version 18: exposure fall-off (heel effect, vignetting); v21 flanks; v23 its range over the body only
        _falloff(q, cam, rng, win, flank, None if body is None else body[win], layout, body)
    sm = _smooth(q, 1.5 / cam.pixel_mm)  # q + edge_enhance * (q - smooth(q)), in place
    np.subtract(q, sm, out=sm)
    sm *= exp.edge_enhance
    q += sm
    anat = ~metal[win]
    if body is not None:
        anat &= body[win]
    lo, hi = np.percentile(q[win][anat] if anat.sum() > 100 else q[win], [1.5, exp.window_top_pct])
    den = max(hi - lo, 1e-6)
    mp = cv2.GaussianBlur(metal_path.astype(np.float32), (0, 0), blur) if metal.any() else None
    out = np.empty((H, W), np.uint16)
    # the tone mapping is elementwise (float64, as the percentiles make it): run it on blocks of rows, which stay in
    # the cache instead of allocating a dozen full-size float64 temporaries (same operations, same pixels)
    for y0 in range(0, H, _TONE_ROWS):
        rows = slice(y0, min(H, y0 + _TONE_ROWS))
        out[rows] = _tone(
            q[rows], lo, den, exp, ap_gamma, metal[rows], None if mp is None else mp[rows], inside[rows], noise[rows]
        )
    if cam.view == "ap" and not metal.any() and AP_LUT_BEND != (0.0, 0.0):
        # version 22: the console's look-up table shape varies per film (own stream, drawn after every other draw)
        _lut_bend(out, (slice(r0, H - r1), slice(c0, W - c1)), np.random.default_rng([int(rng.integers(2**31)), 2201]))
    return out


AP_LUT_BEND = (-0.8, 0.8)
AP_LUT_ROI = (0.25, 0.15)
AP_LUT_PERCENTILES = (1.0, 75.0)
"""Version 22, AP films without metal: a per-film bend ``k`` (drawn from ``AP_LUT_BEND``) of the console's look-up
table, applied to the finished grey levels inside the collimated field: ``u -> u + k u (1 - u)`` on ``u`` = the grey
level relative to the ``AP_LUT_PERCENTILES`` (1st and 75th) percentiles of the film's central region (``AP_LUT_ROI``:
the middle 50 % of the field's width and 70 % of its height, where consoles read the anatomy's histogram); identity
outside that range, so the brightest quarter of the anatomy (the vertebral bodies, the pelvis) keeps its grey
levels. Monotone for ``|k| <= 1`` (slope >= 0.2 here). ``k > 0`` lifts the soft tissue toward the bone (a washed-out
film), ``k < 0`` darkens it (a dark, contrasty one): real processed AP films vary much more in overall brightness
(realism sheet crop-mean spread 0.079; 0.047 in version 21). A power law (the version-21 trial "A") barely acts
there: the anatomy lies near the top of the grey scale, where any power is nearly linear. Bending the whole range
(1st-99th percentile) widened the spread more, but lifting the bright tones (``k`` >= 0.2) shifted a detector-check
film (sim seed 900006) by a level; with the 75th percentile no film of ``sim:30:ap:900000`` comes within 0.1 of a
shift even at ``k = +-0.8`` (docs/simulator.md "Version 22"). Films with segmented metal keep the version-21 table
(the implant checks compare a patient's films; see ``AP_EQUALISE_FACTOR``)."""


def _lut_bend(out: np.ndarray, field: tuple[slice, slice], rng: np.random.Generator) -> None:
    """Apply the version-22 look-up-table bend (``AP_LUT_BEND``, one draw from ``rng``) to the uint16 12-bit
    image ``out`` inside ``field``, in place."""
    k = float(rng.uniform(*AP_LUT_BEND))
    img = out[field]
    h, w = img.shape
    cx, cy = AP_LUT_ROI
    roi = img[
        int(cy * h) : max(int(cy * h) + 1, int((1 - cy) * h)) : 3,
        int(cx * w) : max(int(cx * w) + 1, int((1 - cx) * w)) : 3,
    ]
    lo, hi = (float(x) for x in np.percentile(roi, AP_LUT_PERCENTILES))
    if hi - lo < 1.0:
        return
    g = np.arange(4096, dtype=np.float64)
    u = np.clip((g - lo) / (hi - lo), 0.0, 1.0)
    lut = np.clip(np.rint(g + k * (hi - lo) * u * (1.0 - u)), 0, 4095).astype(np.uint16)
    out[field] = lut[np.minimum(img, 4095)]


_TONE_ROWS = 64
"""Rows per block of :func:`expose`'s tone mapping (a 2000-px-wide block of float64 is 1 MB)."""


def _tone(
    q: np.ndarray,
    lo: float,
    den: float,
    exp: Exposure,
    ap_gamma: float,
    metal: np.ndarray,
    mp: np.ndarray | None,
    inside: np.ndarray,
    noise: np.ndarray,
) -> np.ndarray:
    """The console's look-up table and metal display on a block of rows of the processed log image ``q`` (see
    :func:`expose`; ``mp`` is the blurred metal path, None without metal). Returns uint16, 12 bits."""
    x = (q - lo) / den
    v = np.clip(x, 0.0, 1.0)
    v = 1.0 / (1.0 + np.exp(-exp.contrast * (v - 0.5)))
    v = (v - 1.0 / (1.0 + math.exp(exp.contrast * 0.5))) / (1.0 - 2.0 / (1.0 + math.exp(exp.contrast * 0.5)))
    v = np.clip(v, 0.0, 1.0) ** exp.gamma
    if ap_gamma != 1.0:  # (two powers, not one: the v13 films cached at 03:53-04:00 UTC are bit-exact with this)
        v = v**ap_gamma
    if mp is not None:  # anatomy below METAL_HEADROOM, metal above it: near-opaque implants the brightest, sharp-edged
        room = 1.0 - METAL_HEADROOM - METAL_KNEE
        # (each step only where it changes anything: above the knee, on metal, where the metal image is non-zero;
        # elsewhere it would add 0 or take the maximum with 0 of a v >= 0: the same pixels, much less float64 work)
        knee = v > METAL_KNEE
        v[knee] = METAL_KNEE + room * (1.0 - np.exp(-(v[knee] - METAL_KNEE) / room))
        v[metal] += METAL_HEADROOM * np.clip((x[metal] - 1.0) / METAL_RAMP, 0.0, 1.0)  # only metal rises into it
        # the console's metal display: segmented metal at the top of the scale whatever lies behind it (under a
        # scatter-dominated dense pelvis the log signal alone leaves a screw barely above the sacrum); the optical blur
        # of the metal image keeps its edge (and thread) as sharp as the detector allows
        w = np.clip(mp / METAL_MIN_PATH - 1.0, 0.0, 1.0)
        on = w > 0.0
        w, m_ = w[on], mp[on]
        v[on] = np.maximum(
            v[on], w * ((1.0 - METAL_HEADROOM) + METAL_HEADROOM * np.clip(m_ / METAL_FULL_PATH, 0.0, 1.0))
        )
    v = np.where(inside, v, 0.93 + 0.02 * noise)
    return np.clip(v * 4095.0, 0, 4095).astype(np.uint16)
