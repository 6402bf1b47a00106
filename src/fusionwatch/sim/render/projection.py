"""The line integrals of one film: the patient's scene, and which parts are drawn on a lateral or an AP film, in
which order (soft tissue, bones, the AP cortex layers, femoral heads, ribs, graft, cage, halos, then the metal)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusionwatch.sim.anatomy import Anatomy
from fusionwatch.sim.camera import Camera
from fusionwatch.sim.implants import CageGeom, Healing, ScrewGeom
from fusionwatch.sim.pose import Pose
from fusionwatch.sim.render import ap_soft_tissue, ap_vertebrae
from fusionwatch.sim.render.ap_bones import _ap_bones
from fusionwatch.sim.render.ap_soft_tissue import _ap_soft, _psoas
from fusionwatch.sim.render.ap_vertebrae import _ap_cortex
from fusionwatch.sim.render.draw import _add_blurred
from fusionwatch.sim.render.femur_ribs import _femur, _ribs
from fusionwatch.sim.render.hardware import _cage_ap, _cage_lateral, _graft_region, _halo, _rods, _screw
from fusionwatch.sim.render.lateral import _lateral_anatomy

__all__ = ["Scene", "line_integrals", "line_integrals_with_metal"]


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
    if cam.view == "lateral":
        _lateral_anatomy(L, cam, scene)
    else:
        _ap_soft(L, cam, scene)
        _psoas(L, cam, scene)
        _ap_bones(L, cam, scene)
        cortex, outline, pedicles = np.zeros_like(L), np.zeros_like(L), np.zeros_like(L)
        processes = np.zeros_like(L)
        _ap_cortex(cortex, cam, scene, outline=outline, pedicles=pedicles, processes=processes)
        if ap_soft_tissue.AP_DISC_MU > 0.0:  # version 24 trial D: the discs denser than water
            excised = ("L5",) if scene.cage is not None else ()  # the interbody cage replaces the L5-S1 disc
            ap_soft_tissue._ap_discs(outline, cam, pose, an, max(0.5, 0.8 * cam.pixel_mm / cam.magnification), excised)
        # version 16: the analytic cortex as soft as the film's other bone edges; version 17: the bodies' outline
        # (wall and endplates) and the pedicles on their own layers, softer (real AP films show faint, soft-edged
        # endplates and walls fading into the body and pedicles as soft ovals, not crisp rings)
        for layer, blur_mm in (
            (cortex, ap_vertebrae.AP_CORTEX_BLUR_MM),
            (outline, ap_vertebrae.AP_OUTLINE_BLUR_MM),
            (pedicles, ap_vertebrae.AP_PEDICLE_BLUR_MM),
            (processes, ap_vertebrae.AP_PROCESS_BLUR_MM),  # version 18: the transverse processes, soft-edged
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
