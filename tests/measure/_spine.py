"""Build landmark sets from known answers (anatomical parameters -> corner points) for measurement tests.

The spine is drawn in the anatomical frame (X anterior, Y up, millimetres) from the bottom up, then placed on a film:
mirrored for the facing, rotated, translated and divided by the pixel spacing. Every true value follows from the
parameters by construction (see each attribute's comment), independently of the code under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fusionwatch.anatomy import LUMBAR_LEVELS, Level
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Facing, View

Point = tuple[float, float]


def _unit(theta_deg: float) -> Point:
    t = math.radians(theta_deg)
    return (math.cos(t), math.sin(t))


def _add(p: Point, *terms: tuple[float, Point]) -> Point:
    x, y = p
    for k, v in terms:
        x, y = x + k * v[0], y + k * v[1]
    return (x, y)


@dataclass
class LateralSpine:
    """Parameters of a lateral lumbar spine; angles in degrees, lengths in mm.

    disc_angles / slips / disc_heights are per disc, top to bottom: L1-L2, L2-L3, L3-L4, L4-L5, L5-S1.
    body_wedges are per body L1..L5 (superior minus inferior endplate inclination).
    """

    ss: float = 40.0
    pt: float = 13.0
    disc_angles: tuple[float, ...] = (2.0, 4.0, 7.0, 10.0, 14.0)
    body_wedges: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    slips: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    disc_heights: tuple[float, ...] = (8.0, 9.0, 9.0, 9.0, 8.0)  # posterior, measured along the lower endplate normal
    body_height: float = 27.0
    body_depth: float = 40.0
    s1_depth: float = 42.0
    pelvic_radius: float = 110.0
    s1_mid: Point = (0.0, 0.0)
    points: dict[str, Point] = field(init=False)

    def __post_init__(self) -> None:
        pts: dict[str, Point] = {}
        theta = -self.ss  # S1 endplate inclination: anterior corner lower by SS
        u = _unit(theta)
        post = _add(self.s1_mid, (-self.s1_depth / 2, u))
        pts["S1.superior.posterior"], pts["S1.superior.anterior"] = post, _add(post, (self.s1_depth, u))
        for i, level in reversed(list(enumerate(LUMBAR_LEVELS))):
            n = (-u[1], u[0])  # upward normal of the lower endplate
            post = _add(post, (self.slips[i], u), (self.disc_heights[i], n))
            theta += self.disc_angles[i]
            u = _unit(theta)
            pts[f"{level.value}.inferior.posterior"] = post
            pts[f"{level.value}.inferior.anterior"] = _add(post, (self.body_depth, u))
            n = (-u[1], u[0])
            post = _add(post, (self.body_height, n))
            theta += self.body_wedges[i]
            u = _unit(theta)
            pts[f"{level.value}.superior.posterior"] = post
            pts[f"{level.value}.superior.anterior"] = _add(post, (self.body_depth, u))
        hip = _add(
            self.s1_mid, (self.pelvic_radius, (math.sin(math.radians(self.pt)), -math.cos(math.radians(self.pt))))
        )
        pts["femoral_head.1"] = _add(hip, (4.0, (1.0, 0.3)))  # two heads, symmetric about the hip axis
        pts["femoral_head.2"] = _add(hip, (-4.0, (1.0, 0.3)))
        self.points = pts

    # true values, straight from the parameters
    @property
    def pi(self) -> float:
        return self.pt + self.ss

    @property
    def lordosis(self) -> float:
        """L1 superior vs S1 superior: every disc angle and every body wedge on the way up."""
        return sum(self.disc_angles) + sum(self.body_wedges)

    def slip_percent(self, disc: int) -> float:
        lower_depth = self.s1_depth if disc == 4 else self.body_depth
        return 100.0 * self.slips[disc] / lower_depth


def place(
    points_mm: dict[str, Point],
    *,
    facing: Facing = Facing.LEFT,
    rotation_deg: float = 0.0,
    spacing: tuple[float, float] = (1.0, 1.0),
    origin_px: Point = (600.0, 500.0),
    view: View = View.LATERAL,
    size: tuple[int, int] = (1400, 1400),
) -> Landmarks:
    """Put anatomical-frame mm points on a film: mirror for ``facing``, rotate counter-clockwise on the screen by
    ``rotation_deg``, convert with ``spacing`` = (dx_mm, dy_mm), translate to ``origin_px``."""
    sign = 1.0 if facing is Facing.RIGHT else -1.0
    c, s = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    out = {}
    for name, (x, y) in points_mm.items():
        x, y = sign * x, y  # image-right / up, mm
        x, y = c * x - s * y, s * x + c * y  # counter-clockwise with y up = counter-clockwise on the screen
        out[name] = (origin_px[0] + x / spacing[0], origin_px[1] - y / spacing[1])
    return Landmarks(out, width=size[0], height=size[1], view=view, source="test:synthetic")


def ap_spine(
    tilts: dict[Level, tuple[float, float]], width_mm: float = 45.0, shifts: dict[Level, float] | None = None
) -> dict[str, Point]:
    """AP endplates in a Y-up mm frame (X = image right): level -> (superior tilt, inferior tilt) in degrees
    (positive = image-right end higher); S1 uses only its superior tilt. ``shifts`` moves whole bodies to the image
    right (mm). Bodies are 27 mm tall with 9 mm discs, stacked downward from Y = 0."""
    shifts = shifts or {}
    pts: dict[str, Point] = {}
    y = 0.0
    for level in Level:
        sup, inf = tilts[level]
        x0 = shifts.get(level, 0.0)
        for end, tilt, yy in (("superior", sup, y), ("inferior", inf, y - 27.0)):
            if level is Level.S1 and end == "inferior":
                continue
            u = _unit(tilt)
            mid = (x0, yy)
            pts[f"{level.value}.{end}.left"] = _add(mid, (-width_mm / 2, u))
            pts[f"{level.value}.{end}.right"] = _add(mid, (width_mm / 2, u))
        y -= 36.0
    return pts
