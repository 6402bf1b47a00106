"""Attenuation coefficients of the simulated films.

Linear coefficients (per mm) at an effective energy of about 60-65 keV (diagnostic lumbar films at 80-90 kVp). Bone,
graft and PEEK are given as *differences* to water, because the soft-tissue maps (from the real CT) already count water
in their place; metals are absolute and nearly opaque next to bone.
"""

from __future__ import annotations

__all__ = ["MU"]

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
