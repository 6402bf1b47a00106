"""Rendering: line integrals of attenuation through the posed anatomy and hardware, then the imaging chain.

One module per job (docs/simulator.md, "How it works"):

- :mod:`~fusionwatch.sim.render.attenuation`: the attenuation coefficients (``MU``).
- :mod:`~fusionwatch.sim.render.projection`: the scene of one film and the order its parts are drawn in
  (:func:`line_integrals`).
- :mod:`~fusionwatch.sim.render.draw`: capsules, splatted points, warped maps and blurred layers on any camera.
- :mod:`~fusionwatch.sim.render.lateral`: lateral films, each bone's map posed by one 2-D warp.
- :mod:`~fusionwatch.sim.render.ap_bones`: AP films, the bones' 1.5 mm volumes splatted in 3-D.
- :mod:`~fusionwatch.sim.render.ap_vertebrae`: AP films, endplates, body walls, pedicles, transverse processes.
- :mod:`~fusionwatch.sim.render.ap_arch`: AP films, laminae, facet columns, spinous processes.
- :mod:`~fusionwatch.sim.render.ap_soft_tissue`: AP films, the soft-tissue map and waist, psoas, discs.
- :mod:`~fusionwatch.sim.render.femur_ribs`: femoral heads and lower ribs on every view.
- :mod:`~fusionwatch.sim.render.hardware`: screws, halos, rods, cages, graft.
- :mod:`~fusionwatch.sim.render.ap_brightness`: AP films, exposure fall-off, flanks, lung bases, iliac wings.
- :mod:`~fusionwatch.sim.render.exposure`: the detector and the console, to a 12-bit film (:func:`expose`).

Each setting (``AP_...`` and the like) lives in the module that draws with it, and is read and patched there
(``ap_brightness.AP_FLANK = ...``): it is not re-exported here, where a copy would be stale.
"""

from __future__ import annotations

from fusionwatch.sim.render.ap_brightness import ap_layout, patient_flank, patient_layout
from fusionwatch.sim.render.ap_soft_tissue import narrow_body, patient_waist
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.exposure import METAL_MIN_PATH, Exposure, expose
from fusionwatch.sim.render.lateral import bone_mu_maps
from fusionwatch.sim.render.projection import Scene, line_integrals, line_integrals_with_metal

__all__ = [
    "METAL_MIN_PATH",
    "MU",
    "Exposure",
    "Scene",
    "ap_layout",
    "bone_mu_maps",
    "expose",
    "line_integrals",
    "line_integrals_with_metal",
    "narrow_body",
    "patient_flank",
    "patient_layout",
    "patient_waist",
]
