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

Each setting (``AP_...`` and the like) lives in the module that draws with it: patch it there. The names in
``__all__`` are also readable here, always with their home module's current value; assigning one of them here
(``render.AP_FLANK = ...``, as the benchmarks do) assigns it in its home module, so the renderer sees it (a plain
re-export would keep a copy here that the renderer never reads).
"""

from __future__ import annotations

import sys
import types

from fusionwatch.sim.render import ap_brightness, ap_soft_tissue, attenuation, exposure, lateral, projection
from fusionwatch.sim.render.ap_brightness import AP_FLANK, ap_layout, patient_flank, patient_layout
from fusionwatch.sim.render.ap_soft_tissue import AP_ADULT_WAIST_MM, narrow_body, patient_waist
from fusionwatch.sim.render.attenuation import MU
from fusionwatch.sim.render.exposure import METAL_MIN_PATH, Exposure, expose
from fusionwatch.sim.render.lateral import bone_mu_maps
from fusionwatch.sim.render.projection import Scene, line_integrals, line_integrals_with_metal

__all__ = [
    "AP_ADULT_WAIST_MM",
    "AP_FLANK",
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

_HOME = {
    **dict.fromkeys(("AP_FLANK", "ap_layout", "patient_flank", "patient_layout"), ap_brightness),
    **dict.fromkeys(("AP_ADULT_WAIST_MM", "narrow_body", "patient_waist"), ap_soft_tissue),
    "MU": attenuation,
    **dict.fromkeys(("METAL_MIN_PATH", "Exposure", "expose"), exposure),
    "bone_mu_maps": lateral,
    **dict.fromkeys(("Scene", "line_integrals", "line_integrals_with_metal"), projection),
}
"""The module each re-exported name lives in (the one whose functions read it)."""


class _Render(types.ModuleType):
    """This package's module type: each name of ``__all__`` is a property reading and assigning it in its home module
    (a property, so ``monkeypatch.setattr`` and its undo go through it too)."""


def _forwarded(name: str, home: types.ModuleType) -> property:
    def get(_package: types.ModuleType) -> object:
        return getattr(home, name)

    def set_(_package: types.ModuleType, value: object) -> None:
        if name == "MU":  # every drawing module holds the one dict
            raise AttributeError("render.MU is shared by every drawing module: change its items, not the name.")
        setattr(home, name, value)

    return property(get, set_, doc=f"``{home.__name__}.{name}``")


for _name, _home in _HOME.items():
    setattr(_Render, _name, _forwarded(_name, _home))
sys.modules[__name__].__class__ = _Render
