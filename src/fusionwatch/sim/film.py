"""One simulated film: pixels, camera, exact landmarks, exact measurement values and implant geometry.

Use :func:`simulate_film` for a single film with chosen parameters; :mod:`fusionwatch.sim.journey` strings films into
patient journeys.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fusionwatch.anatomy import FEMORAL_HEADS, LUMBAR_LEVELS, Endplate, ImageSide, Level, ap_corner_name
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import View
from fusionwatch.sim.anatomy import Anatomy, load_anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.implants import Hardware, Healing, cage_geometry, rod_geometry, screw_geometry
from fusionwatch.sim.pose import Pose, SpineParams, pose_spine
from fusionwatch.sim.render import (
    Exposure,
    Scene,
    ap_layout,
    bone_mu_maps,
    expose,
    line_integrals_with_metal,
    patient_flank,
    patient_layout,
    patient_waist,
)
from fusionwatch.sim.truth import ap_truth, lateral_truth, to_anatomical
from fusionwatch.sim.variation import patient_anatomy, patient_skeleton

__all__ = ["FilmSpec", "Film", "simulate_film", "SOURCE", "field_box", "ground_truth_landmarks"]

SOURCE = "sim:ground-truth"
LATERAL_FOV_MM = (360.0, 450.0)
"""Detector field (width, height) in mm for lateral films; AP films use the same."""


@dataclass(frozen=True)
class FilmSpec:
    """How a film is taken.

    Attributes
    ----------
    view : View
        ``LATERAL``, ``AP``, ``FLEXION`` or ``EXTENSION``.
    width, height : int
        Pixels; the detector field stays 360 x 450 mm, so smaller images have larger pixels.
    facing_left : bool
        Lateral: patient's front toward the image left.
    sid_mm, oid_mm : float
        Source-to-detector distance and reference-plane-to-detector distance; magnification = SID / (SID - OID).
    centre_offset_mm : (float, float)
        Central ray offset from the default centring (patient mm, in-plane).
    exposure : Exposure
    """

    view: View = View.LATERAL
    width: int = 2000
    height: int = 2500
    facing_left: bool = True
    sid_mm: float = 1100.0
    oid_mm: float = 190.0
    centre_offset_mm: tuple[float, float] = (0.0, 0.0)
    exposure: Exposure = field(default_factory=Exposure)

    def __post_init__(self) -> None:
        if not (64 <= self.width <= 4096 and 64 <= self.height <= 4096):
            raise ValueError(f"film size must be 64-4096 px each way, got {self.width} x {self.height}.")
        if not 0 < self.oid_mm < self.sid_mm / 2:
            raise ValueError(f"oid_mm must be in (0, sid_mm / 2), got {self.oid_mm!r} with sid {self.sid_mm!r}.")


@dataclass
class Film:
    pixels: np.ndarray
    """uint16, 12-bit, MONOCHROME2 (bone bright)."""
    camera: Camera
    view: View
    landmarks: Landmarks
    truth: dict[str, Any]


FIELD_MARGIN_MM = 12.0
"""Distance (mm on the detector) kept between every ground-truth point and the collimation edge when centring."""


def _landmarks_3d(pose: Pose, view: View, an: Anatomy) -> dict[str, np.ndarray]:
    """Every ground-truth point of a view in the patient frame (mm).

    Lateral: endplate corners (mid-sagittal, y = 0) and femoral head centres. AP: the endplates' left and right
    corners at the endplate half-width (patient right = -y is on the image left of an AP film).
    """
    pts: dict[str, np.ndarray] = {}
    if view is View.AP:
        for lv in (*LUMBAR_LEVELS, Level.S1):
            c = pose.corners[lv.value]
            for ep in Endplate:
                if f"{ep.value}.anterior" not in c:
                    continue
                mid = (c[f"{ep.value}.anterior"] + c[f"{ep.value}.posterior"]) / 2
                hw = an.endplate_half_widths[lv.value][ep.value] * pose.scale
                pts[ap_corner_name(lv, ep, ImageSide.LEFT)] = pose.apply_coronal(
                    lv.value, np.array([mid[0], -hw, mid[1]])
                )
                pts[ap_corner_name(lv, ep, ImageSide.RIGHT)] = pose.apply_coronal(
                    lv.value, np.array([mid[0], hw, mid[1]])
                )
        return pts
    for bone, bone_corners in pose.corners.items():
        for key, xz in bone_corners.items():
            pts[f"{bone}.{key}"] = np.array([xz[0], 0.0, xz[1]])
    for name, (centre, _radius) in zip(FEMORAL_HEADS, pose.femoral_heads, strict=False):
        pts[name] = np.asarray(centre, dtype=float)
    return pts


def field_box(cam: Camera, collimation_mm: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The exposed (collimated) field in pixels: (first col, first row, last col, last row), inclusive."""
    c0, r0, c1, r1 = (int(round(m / cam.pixel_mm)) for m in collimation_mm)
    return (float(c0), float(r0), float(cam.width - 1 - c1), float(cam.height - 1 - r1))


def _camera(spec: FilmSpec, pose: Pose, an: Anatomy | None = None) -> Camera:
    """The film's camera: central ray near L4 (iliac crest level) plus ``spec.centre_offset_mm``, then moved as little
    as needed for every ground-truth point (L1 to the femoral heads on a lateral, L1 to S1 on an AP) to lie inside the
    collimated field with :data:`FIELD_MARGIN_MM` to spare; when they cannot all fit, they are centred in the field
    (and the ones off the film are left out of the ground truth)."""
    an = an or load_anatomy()
    sod = spec.sid_mm - spec.oid_mm
    pix = max(LATERAL_FOV_MM[0] / spec.width, LATERAL_FOV_MM[1] / spec.height)
    view = View.AP if spec.view is View.AP else View.LATERAL
    p3 = np.array(list(_landmarks_3d(pose, view, an).values()))
    if view is View.AP:
        xs = [v[0] for b in ("L3", "L4", "L5") for v in pose.corners[b].values()]
        base = Camera("ap", spec.width, spec.height, pix, spec.sid_mm, sod, (0.0, 0.0), ref_depth_x=float(np.mean(xs)))
    else:
        base = Camera(
            "lateral", spec.width, spec.height, pix, spec.sid_mm, sod, (0.0, 0.0), facing_left=spec.facing_left
        )
    l4 = pose.corners["L4"]
    zc = float(l4["superior.posterior"][1]) - 5.0  # centred near L4 (iliac crest), as lumbar films are
    hc = 0.0 if view is View.AP else float(np.mean([v[0] for v in l4.values()])) - 25.0
    centre = np.array([hc + spec.centre_offset_mm[0], zc + spec.centre_offset_mm[1]])
    box = np.array(field_box(base, spec.exposure.collimation_mm))
    m = FIELD_MARGIN_MM / pix
    lo, hi = box[:2] + m, box[2:] - m
    g = base.gain(0.0)
    sign = np.array([base.h_sign, -1.0])  # d(col)/d(centre h) = -h_sign * g; d(row)/d(centre z) = +g
    for _ in range(4):  # divergent beam: points at other depths move slightly more or less; converge in a few steps
        cam = replace(base, centre=(float(centre[0]), float(centre[1])))
        q = cam.project(p3)
        qmin, qmax = q.min(axis=0), q.max(axis=0)
        shift = np.where(
            qmax - qmin > hi - lo,
            (lo + hi) / 2 - (qmin + qmax) / 2,  # does not fit: centre the points in the field
            np.clip(0.0, lo - qmin, hi - qmax),
        )
        if np.all(np.abs(shift) < 1e-3):
            break
        centre = centre - sign * shift / g
    return replace(base, centre=(float(centre[0]), float(centre[1])))


def _landmarks(
    cam: Camera, pose: Pose, view: View, box: tuple[float, float, float, float], an: Anatomy
) -> tuple[Landmarks, list[str]]:
    """Ground-truth landmarks that are on the film (inside ``box``, the collimated field); and the names left out."""
    v = View.AP if view is View.AP else View.LATERAL
    pts: dict[str, tuple[float, float]] = {}
    off: list[str] = []
    for name, p in _landmarks_3d(pose, v, an).items():
        q = cam.project(p)
        if box[0] <= q[0] <= box[2] and box[1] <= q[1] <= box[3]:
            pts[name] = (float(q[0]), float(q[1]))
        else:
            off.append(name)
    return Landmarks(pts, cam.width, cam.height, view, {}, SOURCE), off


def _ap_layout(cam: Camera, pose: Pose, an: Anatomy, anatomy_seed: int) -> np.ndarray | None:
    """Version 28: the patient's coarse AP layout field (:func:`render.ap_layout`) anchored on the projected endplate
    centres of L1-L5 and S1 (the mean of each endplate's left and right AP corners)."""
    pts = _landmarks_3d(pose, View.AP, an)
    centres: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for lv in (*LUMBAR_LEVELS, Level.S1):
        ends = []
        for ep in Endplate:
            a, b = ap_corner_name(lv, ep, ImageSide.LEFT), ap_corner_name(lv, ep, ImageSide.RIGHT)
            if a in pts and b in pts:
                ends.append(cam.project((pts[a] + pts[b]) / 2))
        if ends:
            centres[lv.value] = (ends[0], ends[-1])
    if not all(k in centres for k in ("L1", "L4", "L5", "S1")):
        return None
    return ap_layout(centres, (cam.height, cam.width), cam.patient_pixel_mm, patient_layout(anatomy_seed))


def _r(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(float(v), nd)


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Rendering runs its point transforms ((N, 3) @ (3, 3), N up to ~10^6) on one BLAS thread: on the shared 2-core
    machine OpenBLAS's threads cost a scoliotic AP film ~0.4 s (matmul of 3 x 10^5 points 129 ms on 2 threads vs 20 ms
    on one, load ~4); the inner dimension is 3, so the result is the same with any number of threads (films
    byte-identical, checked). Without threadpoolctl it does nothing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def simulate_film(
    params: SpineParams,
    spec: FilmSpec = FilmSpec(),
    *,
    hardware: Hardware | None = None,
    healing: Healing | None = None,
    surgery_params: SpineParams | None = None,
    neutral_params: SpineParams | None = None,
    anatomy_seed: int = 0,
    noise_seed: int = 0,
    soft_scale: float = 1.0,
    anatomy: Anatomy | None = None,
    body_half_width_mm: float | None = None,
) -> Film:
    """Render one film and its exact ground truth.

    Parameters
    ----------
    params : SpineParams
        The posture on this film (for flexion/extension: the bent posture).
    spec : FilmSpec
    hardware : Hardware | None
        Implants; ``None`` for a pre-operative film.
    healing : Healing
        Graft, subsidence, migration, halos, rod state.
    surgery_params : SpineParams | None
        The posture on the day of surgery (fixes the cage height); defaults to ``params``.
    neutral_params : SpineParams | None
        For flexion/extension: the neutral posture, so the truth holds the motion relative to it.
    anatomy_seed, noise_seed : int
        Seeds of the patient's bone texture and of this film's quantum noise.
    soft_scale : float
        Soft-tissue thickness factor (body habitus).
    body_half_width_mm : float | None
        Version 23, AP films: the body's half-width at the waist (mm at the patient; a thin patient shows air beyond
        the flanks, see ``render.narrow_body``); None: the bundled CT's body (wider than the field).
    """
    if hardware is not None and (params.coronal_wedges_deg[4] or params.lateral_listhesis_mm[4]):
        raise ValueError(
            "An instrumented L5-S1 is aligned coronally: its coronal wedge and lateral listhesis must be 0."
        )
    if hardware is not None and (params.axial_rotations_deg[3] or params.axial_rotations_deg[4]):
        raise ValueError("Pedicle screws follow the sagittal and coronal pose only: L4 and L5 must not be rotated.")
    if hardware is not None and (params.vertebral_wedges_deg[3] or params.vertebral_wedges_deg[4]):
        raise ValueError("Pedicle screws follow rigid vertebrae only: L4 and L5 must not be wedged.")
    if hardware is not None and (params.coronal_widths[3] != 1.0 or params.coronal_widths[4] != 1.0):
        raise ValueError("Pedicle screws follow the bundled pedicle positions: L4 and L5 must keep width 1.")
    an = anatomy or patient_anatomy(anatomy_seed)
    healing = healing or Healing()
    if body_half_width_mm is None and spec.view is View.AP:  # version 23: adults' default (off: None)
        body_half_width_mm = patient_waist(anatomy_seed, "adult")
    pose = pose_spine(an, params)
    cam = _camera(spec, pose, an)
    screws, rods, cage = [], [], None
    if hardware is not None:
        screws = screw_geometry(pose, hardware, healing)
        rods = rod_geometry(screws, healing.rod_broken)
        if hardware.has_cage:
            sp = pose_spine(an, surgery_params or params)
            s1, l5 = sp.corners["S1"], sp.corners["L5"]
            h = (
                float(np.linalg.norm(l5["inferior.posterior"] - s1["superior.posterior"])),
                float(np.linalg.norm(l5["inferior.anterior"] - s1["superior.anterior"])),
            )
            cage = cage_geometry(pose, h, hardware, healing)
    scene = Scene(
        an,
        pose,
        _bone_maps(an, anatomy_seed),
        screws,
        rods,
        cage,
        healing,
        hardware.approach if hardware else "none",
        anatomy_seed,
        soft_scale,
        params.disc_degeneration,
        float(body_half_width_mm or 0.0) if spec.view is View.AP else 0.0,
    )
    with _one_blas_thread():
        L, metal, bridging = line_integrals_with_metal(scene, cam)
        # version 21: the patient's flanks (own stream, AP films only; lateral films draw nothing new)
        flank = patient_flank(anatomy_seed) if spec.view is View.AP else 0.0
        # version 28: the lung bases and iliac wings around the lumbar spine (own stream, AP films only)
        layout = _ap_layout(cam, pose, an, anatomy_seed) if spec.view is View.AP else None
        pixels = expose(
            L,
            cam,
            spec.exposure,
            np.random.default_rng(noise_seed),
            metal,
            flank,
            scene.body_half_width_mm > 0.0,
            layout,
        )
    lms, off_field = _landmarks(cam, pose, spec.view, field_box(cam, spec.exposure.collimation_mm), an)
    reasons: dict[str, str] = {}
    truth: dict[str, Any] = {
        "camera": {
            "view": cam.view,
            "imager_pixel_spacing_mm": _r(cam.pixel_mm, 6),
            "magnification": _r(cam.magnification, 6),
            "patient_pixel_spacing_mm": _r(cam.patient_pixel_mm, 8),
            "sid_mm": _r(cam.sid_mm, 2),
            "sod_mm": _r(cam.sod_mm, 2),
            "facing": ("left" if cam.facing_left else "right") if cam.view == "lateral" else None,
            "head_magnifications": [_r(float(cam.mag_at(cam.depth(c))), 6) for c, _ in pose.femoral_heads],
        },
        "parameters": {
            "pelvic_incidence_deg": params.pelvic_incidence_deg,
            "pelvic_tilt_deg": params.pelvic_tilt_deg,
            "disc_angles_deg": list(params.disc_angles_deg),
            "disc_posterior_heights_mm": list(params.disc_posterior_heights_mm),
            "slips_mm": list(params.slips_mm),
            "scale": params.scale,
            "body_shapes": [list(b) for b in params.body_shapes],
            "disc_degeneration": list(params.disc_degeneration),
            "coronal_wedges_deg": list(params.coronal_wedges_deg),
            "lateral_listhesis_mm": list(params.lateral_listhesis_mm),
        },
    }
    if any(params.axial_rotations_deg):  # version 13; absent when zero, so films without rotation keep their truth
        truth["parameters"]["axial_rotations_deg"] = list(params.axial_rotations_deg)
    if any(params.vertebral_wedges_deg):  # version 14; absent when zero, as above
        truth["parameters"]["vertebral_wedges_deg"] = list(params.vertebral_wedges_deg)
    if any(v != 1.0 for v in params.coronal_widths):  # version 21; absent when all 1, as above
        truth["parameters"]["coronal_widths"] = list(params.coronal_widths)
    if spec.view is View.AP:
        truth["measurements"] = {k: _r(v, 6) for k, v in ap_truth(lms.points, cam.patient_pixel_mm, reasons).items()}
    if spec.view.is_lateral:
        truth["measurements"] = {k: _r(v, 6) for k, v in _lateral_values(lms, cam, reasons).items()}
        if neutral_params is not None:
            neutral = simulate_truth_only(neutral_params, spec, an)
            truth["motion"] = {k: _r(v, 6) for k, v in _motion(neutral, truth["measurements"]).items()}
    truth["landmarks_off_field"] = off_field
    truth["missing_measurements"] = reasons
    if hardware is not None:
        truth["implants"] = _implants_px(cam, screws, rods, cage, healing)
        truth["subsidence_mm"] = _r(healing.subsidence_mm)
        truth["migration_mm"] = _r(healing.migration_mm)
        truth["bridging_fraction"] = _r(bridging if bridging is not None else healing.bridging_fraction)
        truth["rod_broken"] = healing.rod_broken
    return Film(pixels, cam, spec.view, lms, truth)


def _lateral_values(lms: Landmarks, cam: Camera, reasons: dict[str, str] | None = None) -> dict[str, float | None]:
    return lateral_truth(to_anatomical(lms.points, cam.patient_pixel_mm, cam.facing_left), reasons)


def _motion(neutral: dict[str, float | None], moved: dict[str, float | None]) -> dict[str, float | None]:
    from fusionwatch.sim.truth import segment_motion

    return segment_motion(neutral, moved)


def simulate_truth_only(params: SpineParams, spec: FilmSpec, anatomy: Anatomy | None = None) -> dict[str, float | None]:
    """The exact lateral measurement values of a posture (all landmarks, on or off the film), without pixels."""
    an = anatomy or load_anatomy()
    pose = pose_spine(an, params)
    cam = _camera(spec, pose, an)
    inf = float("inf")
    return _lateral_values(_landmarks(cam, pose, View.LATERAL, (-inf, -inf, inf, inf), an)[0], cam)


def ground_truth_landmarks(
    params: SpineParams, spec: FilmSpec, anatomy: Anatomy | None = None, *, anatomy_seed: int = 0
) -> tuple[Landmarks, list[str]]:
    """The ground-truth landmarks a film of ``params`` taken with ``spec`` would carry, without rendering pixels.

    ``anatomy`` defaults to the patient anatomy of ``anatomy_seed`` (as in :func:`simulate_film`). Returns the
    landmarks (only points inside the image and the collimated field) and the names of those left out.
    """
    an = anatomy or patient_skeleton(anatomy_seed)
    pose = pose_spine(an, params)
    cam = _camera(spec, pose, an)
    return _landmarks(cam, pose, spec.view, field_box(cam, spec.exposure.collimation_mm), an)


def _implants_px(cam: Camera, screws, rods, cage, healing: Healing) -> dict[str, Any]:
    out: dict[str, Any] = {"screws": [], "rods": [], "cage": None}
    for s in screws:
        h, t = cam.project(s.head), cam.project(s.tip)
        ax = (t - h) / (np.linalg.norm(t - h) + 1e-12)
        out["screws"].append(
            {
                "id": s.id,
                "head": [_r(h[0], 3), _r(h[1], 3)],
                "tip": [_r(t[0], 3), _r(t[1], 3)],
                "axis": [_r(ax[0], 6), _r(ax[1], 6)],
                "diameter_mm": _r(2 * s.radius, 3),
                "length_mm": _r(float(np.linalg.norm(s.tip - s.head)), 3),
                "halo_mm": _r(healing.halo_mm.get(s.id, 0.0), 3),
            }
        )
    for poly in rods:
        pp = cam.project(np.asarray(poly))
        out["rods"].append({"polyline": [[_r(p[0], 3), _r(p[1], 3)] for p in pp], "broken": healing.rod_broken})
    if cage is not None:
        if cam.view == "lateral":
            q = cam.project(np.c_[cage.outline[:, 0], np.zeros(len(cage.outline)), cage.outline[:, 1]])
        else:
            o = cage.outline
            xm, w = float(o[:, 0].mean()), cage.width_mm
            zb, zt = float(o[:2, 1].mean()), float(o[2:, 1].mean())
            q = cam.project(np.array([[xm, -w / 2, zb], [xm, w / 2, zb], [xm, w / 2, zt], [xm, -w / 2, zt]]))
        mk = [cam.project((a + b) / 2) for a, b in cage.markers]
        out["cage"] = {
            "material": cage.material,
            "outline": [[_r(p[0], 3), _r(p[1], 3)] for p in q],
            "markers": [[_r(p[0], 3), _r(p[1], 3)] for p in mk],
        }
    return out


_MAPS: list[tuple[Anatomy, int, dict[str, np.ndarray]]] = []


def _bone_maps(an: Anatomy, seed: int) -> dict[str, np.ndarray]:
    """Textured bone maps, cached per (anatomy object, seed); the cache holds the anatomy so its id is not reused."""
    for a, s, maps in _MAPS:
        if a is an and s == seed:
            return maps
    maps = bone_mu_maps(an, seed)
    _MAPS.insert(0, (an, seed, maps))
    del _MAPS[4:]
    return maps
