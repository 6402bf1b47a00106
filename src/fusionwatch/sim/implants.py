"""Fusion hardware and healing state, and their 3-D geometry in the patient frame for one pose.

Patient frame (mm): +x anterior, +y toward the lateral detector (patient left), +z superior. Screws are fixed in their
vertebra (they move with it); the interbody cage sits on the S1 superior endplate, sinks into it by ``subsidence_mm``,
slides posteriorly by ``migration_mm``; the graft fills the disc space (interbody) or the posterolateral gutters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fusionwatch.sim.pose import Pose, rot2

__all__ = ["Hardware", "Healing", "ScrewGeom", "CageGeom", "screw_geometry", "cage_geometry", "rod_geometry"]


@dataclass(frozen=True)
class Hardware:
    """What was implanted. Lengths in mm."""

    approach: str = "TLIF"
    """``"TLIF"``, ``"PLIF"``, ``"ALIF"`` or ``"posterolateral"`` (no cage)."""
    levels: tuple[str, ...] = ("L5", "S1")
    """Instrumented vertebrae, top to bottom (``("L4", "L5", "S1")`` for L4-S1)."""
    screw_diameter_mm: float = 6.5
    screw_length_mm: float = 45.0
    cage_material: str = "PEEK"
    """``"PEEK"`` (radiolucent, tantalum marker pins) or ``"Ti"``."""
    cage_length_mm: float = 26.0

    def __post_init__(self) -> None:
        if self.approach not in ("TLIF", "PLIF", "ALIF", "posterolateral"):
            raise ValueError(f"approach must be TLIF, PLIF, ALIF or posterolateral, got {self.approach!r}.")
        if not 6.0 <= self.screw_diameter_mm <= 7.5:
            raise ValueError(f"screw diameter must be 6-7.5 mm, got {self.screw_diameter_mm!r}.")
        if not 40.0 <= self.screw_length_mm <= 50.0:
            raise ValueError(f"screw length must be 40-50 mm, got {self.screw_length_mm!r}.")
        if self.cage_material not in ("PEEK", "Ti"):
            raise ValueError(f"cage material must be PEEK or Ti, got {self.cage_material!r}.")

    @property
    def has_cage(self) -> bool:
        return self.approach != "posterolateral"


@dataclass(frozen=True)
class Healing:
    """State of the fusion and hardware at one film."""

    bridging_fraction: float = 0.0
    """Fraction (0-1) of the graft region's columns bridged by continuous bone from endplate to endplate."""
    graft_maturity: float = 0.0
    """0 = fresh morselised chips (granular, dense), 1 = remodelled trabecular bone."""
    subsidence_mm: float = 0.0
    migration_mm: float = 0.0
    """Posterior displacement of the cage along the S1 endplate (mm); negative = anterior."""
    halo_mm: dict[str, float] = field(default_factory=dict)
    """Screw id (``"S1.left"``) -> width of the radiolucent halo around it (mm)."""
    rod_broken: bool = False
    screw_toggle_deg: dict[str, float] = field(default_factory=dict)
    """Screw id -> change of its sagittal angle inside a loosened track (deg, tip moving up positive)."""


@dataclass(frozen=True)
class ScrewGeom:
    id: str
    bone: str
    head: np.ndarray
    """Where the shank meets the tulip (x, y, z) mm."""
    tip: np.ndarray
    radius: float
    tulip_end: np.ndarray
    """Posterior end of the tulip head (x, y, z) mm."""


@dataclass(frozen=True)
class CageGeom:
    outline: np.ndarray
    """(4, 2) sagittal corners (x, z) mm: posterior-inf, anterior-inf, anterior-sup, posterior-sup."""
    width_mm: float
    markers: list[tuple[np.ndarray, np.ndarray]]
    """Tantalum pins as (end, end) (x, y, z) mm."""
    material: str


def _frame(P: dict[str, np.ndarray], ep: str = "superior") -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    a, p = P[f"{ep}.anterior"], P[f"{ep}.posterior"]
    length = float(np.linalg.norm(a - p))
    u = (a - p) / length
    return p, u, np.array([-u[1], u[0]]), length


def screw_geometry(pose: Pose, hw: Hardware, healing: Healing) -> list[ScrewGeom]:
    """Both pedicle screws of every instrumented level, posed."""
    out = []
    L = hw.screw_length_mm
    for bone in hw.levels:
        P = pose.corners[bone]
        if bone == "S1":
            p, u, n, depth = _frame(P)
            tip2 = p + u * (0.80 * depth) - n * 11.0
            d2 = rot2(6.0) @ u  # toward the promontory, nearly parallel to the endplate
            conv, tip_y = 25.0, 9.0
        else:
            ps, us, _, depth = _frame(P, "superior")
            pi_, ui, _, _ = _frame(P, "inferior")
            u = us + ui
            u /= np.linalg.norm(u)
            centre = (
                P["superior.anterior"] + P["superior.posterior"] + P["inferior.anterior"] + P["inferior.posterior"]
            ) / 4
            tip2 = centre + u * (0.32 * depth) + np.array([-u[1], u[0]]) * 2.0
            d2 = u
            conv, tip_y = 12.0, 8.0
        for side, sy in (("left", 1.0), ("right", -1.0)):
            sid = f"{bone}.{side}"
            toggle = healing.screw_toggle_deg.get(sid, 0.0)
            dd = rot2(toggle) @ d2
            c = math.cos(math.radians(conv))
            head2 = tip2 - dd * L * c
            tip = np.array([tip2[0], sy * tip_y, tip2[1]])
            head = np.array([head2[0], sy * (tip_y + L * math.sin(math.radians(conv))), head2[1]])
            axis = (tip - head) / np.linalg.norm(tip - head)
            tulip_end = head - axis * 13.0
            out.append(ScrewGeom(sid, bone, head, tip, hw.screw_diameter_mm / 2, tulip_end))
    return out


def rod_geometry(screws: list[ScrewGeom], broken: bool) -> list[list[np.ndarray]]:
    """Rod polylines (x, y, z) mm, one or more pieces per side (a broken rod has a 1.5 mm gap at its middle)."""
    rods = []
    for side in ("left", "right"):
        heads = [s for s in screws if s.id.endswith(side)]
        pts = [((s.head + s.tulip_end) / 2) for s in heads]
        pts = [pts[0] + (pts[0] - pts[1]) * 0.15 / max(1, len(pts) - 1), *pts, pts[-1] + (pts[-1] - pts[-2]) * 0.15]
        if broken and side == "left":
            i = len(pts) // 2
            a, b = pts[i - 1], pts[i]
            d = (b - a) / np.linalg.norm(b - a)
            mid = (a + b) / 2
            rods.append([*pts[:i], mid - d * 0.75])
            rods.append([mid + d * 0.75 + np.array([1.0, 0, -0.5]), *[q + np.array([1.0, 0, -0.5]) for q in pts[i:]]])
        else:
            rods.append(pts)
    return rods


def cage_geometry(
    pose_now: Pose, disc_height_at_surgery: tuple[float, float], hw: Hardware, healing: Healing
) -> CageGeom:
    """The cage on the S1 superior endplate, its height fixed at surgery (posterior, anterior disc heights in mm)."""
    p, u, n, length = _frame(pose_now.corners["S1"])
    if hw.approach == "ALIF":
        f0, f1, width = 0.12, 0.92, 30.0
    elif hw.approach == "PLIF":
        f0, f1, width = 0.12, 0.75, 20.0
    else:  # TLIF: oblique banana cage seen end-on: shorter footprint, wide chord
        f0, f1, width = 0.25, 0.85, 14.0
    f1 = min(f1, f0 + hw.cage_length_mm / length)
    hp, ha = disc_height_at_surgery
    shift = -healing.migration_mm
    sub = healing.subsidence_mm

    def h_at(f: float) -> float:
        return (hp + (ha - hp) * f) * 0.97

    pts = []
    for f, top in ((f0, False), (f1, False), (f1, True), (f0, True)):
        base = p + u * (f * length + shift) - n * sub
        pts.append(base + n * h_at(f) if top else base)
    outline = np.array(pts)
    markers = []
    if hw.cage_material == "PEEK":
        for f, ys in ((f0 + 0.04, (-3.0, 3.0)), (f1 - 0.03, (0.0,))):
            base = p + u * (f * length + shift) - n * sub
            h = h_at(f)
            for y in ys:
                a2, b2 = base + n * (0.2 * h), base + n * (0.8 * h)
                markers.append((np.array([a2[0], y, a2[1]]), np.array([b2[0], y, b2[1]])))
    return CageGeom(outline, width, markers, hw.cage_material)
