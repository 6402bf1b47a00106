"""AP films: the soft tissue: the CT's soft-tissue map (narrowed to the patient's waist), the psoas muscles and the
intervertebral discs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fusionwatch.sim.anatomy import Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.pose import Pose
from fusionwatch.sim.render import ap_bones
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.draw import _add_coarse, _map_affine, _splat, _warp_add, capsule
from fusionwatch.sim.render.femur_ribs import rib_polylines

if TYPE_CHECKING:
    from fusionwatch.sim.render.projection import Scene


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
        if AP_THIN_SHOULDER_MM > 0.0:  # version 38
            soft = soft - paraspinal_deficit(soft, an)
    _warp_add(L, soft * (MU["water"] * s * scene.soft_scale), M, cv2.INTER_CUBIC)


AP_THIN_SHOULDER_MM = 6.0
"""Version 38, AP films of a narrowed (thin) body (``scene.body_half_width_mm`` > 0: the adolescent-scoliosis
population; adult films keep their pixels): the soft tissue's path (mm of water) taken away beside the lumbar bodies
(:func:`paraspinal_deficit`; 0.0: version-37 pixels). The bundled CT is of a heavy man: his soft-tissue map is flat
from the bodies' edge to ~18 mm out (broad paraspinal and psoas muscle) and falls only beyond; narrowed to a thin
adolescent's waist it kept that plateau, and the simulated crops' soft tissue stayed as bright as the bone's edge for
~5 mm and 0.03-0.05 brighter than the real crops' to ~18 mm out (``glow_drop`` 0.013, real 0.054: the lead's "glow
beside the spine", traced by simulator engineer B, docs/simulator.md "Version 36")."""
AP_THIN_SHOULDER_RAMP_MM = (12.0, 15.0)
"""Version 38: the deficit rises from 0 at the L3 body's edge to its full depth at the first distance (mm out, map
frame) and falls off beyond it as a Gaussian of the second SD (mm)."""
AP_THIN_PSOAS = 0.5
"""Version 38: the psoas muscles' attenuation excess on AP films of a narrowed (thin) body x this (1.0: version-37
pixels; adult films keep theirs): their bump (+0.05 of the path ~10 mm beside the bodies, a quarter of the bone's own
path there) was drawn for adult muscle; a thin adolescent's psoas is smaller, less distinct from the fat around it."""


def paraspinal_deficit(soft: np.ndarray, an: Anatomy) -> np.ndarray:
    """Version 38 (``AP_THIN_SHOULDER_MM``): the path (mm of water, >= 0) to take from a narrowed AP soft-tissue map
    ``soft`` ((left-right, cranio-caudal) grid of ``an.soft_res`` mm, origin ``an.soft_ap_origin``; map frame, before
    the patient's scale) beside the lumbar bodies: 0 over the bodies (inside the L3 inferior endplate's half-width of
    the mid-line), rising linearly to ``AP_THIN_SHOULDER_MM`` at ``AP_THIN_SHOULDER_RAMP_MM[0]`` beyond it, then
    falling as a Gaussian of SD ``AP_THIN_SHOULDER_RAMP_MM[1]``; only inside the body (path > 10 % of the map's peak),
    the same at every height. A softer shoulder: the soft tissue falls from the column's edge outward instead of staying
    flat for ~18 mm. It is drawn about the map's mid-line, not along a scoliotic curve."""
    oy, _ = an.soft_ap_origin
    edge = float(an.endplate_half_widths["L3"]["inferior"])
    rise, sd = AP_THIN_SHOULDER_RAMP_MM
    d = np.abs(oy + np.arange(soft.shape[0]) * an.soft_res) - edge
    g = np.clip(d / rise, 0.0, 1.0) * np.exp(-0.5 * (np.maximum(d - rise, 0.0) / sd) ** 2)
    inside = soft > 0.1 * float(soft.max())
    return (AP_THIN_SHOULDER_MM * g[:, None] * inside).astype(np.float32)


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
        xyz = ap_bones._ap_points(an)[b][0]
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
        mu = PSOAS_MU * rng.uniform(0.7, 1.3) * (AP_THIN_PSOAS if scene.body_half_width_mm > 0.0 else 1.0)
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


AP_PSOAS_PIECES = 10
AP_PSOAS_BLUR_MM = 2.5
"""Version 18: the psoas cone's pieces and its blur (mm) on AP films."""

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
