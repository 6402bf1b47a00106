"""Closed vocabularies of lumbar anatomy and the landmark names built from them.

Lateral names are anatomical (``L5.inferior.posterior``); AP names use image sides (``L3.superior.left``). The JSON
landmark schema (docs/landmarks.md) uses exactly these strings.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "Level",
    "Endplate",
    "Corner",
    "ImageSide",
    "LUMBAR_LEVELS",
    "LATERAL_POINT_NAMES",
    "AP_POINT_NAMES",
    "FEMORAL_HEADS",
    "corner_name",
    "ap_corner_name",
]


class Level(str, Enum):
    """A vertebra, top to bottom."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    L5 = "L5"
    S1 = "S1"

    @property
    def index(self) -> int:
        """0 for L1 ... 5 for S1: larger is lower (more caudal)."""
        return list(Level).index(self)

    @property
    def below(self) -> "Level":
        """The next vertebra down (L5 -> S1). Raises ValueError for S1."""
        if self is Level.S1:
            raise ValueError("S1 is the lowest level this tool names.")
        return list(Level)[self.index + 1]


LUMBAR_LEVELS: tuple[Level, ...] = (Level.L1, Level.L2, Level.L3, Level.L4, Level.L5)


class Endplate(str, Enum):
    SUPERIOR = "superior"
    INFERIOR = "inferior"


class Corner(str, Enum):
    """Anatomical side of an endplate on a lateral film."""

    ANTERIOR = "anterior"
    POSTERIOR = "posterior"


class ImageSide(str, Enum):
    """Side of an endplate on an AP film, as seen in the image (not the patient's side)."""

    LEFT = "left"
    RIGHT = "right"


def corner_name(level: Level, endplate: Endplate, corner: Corner) -> str:
    """``corner_name(Level.L5, Endplate.INFERIOR, Corner.POSTERIOR) == "L5.inferior.posterior"``."""
    return f"{level.value}.{endplate.value}.{corner.value}"


def ap_corner_name(level: Level, endplate: Endplate, side: ImageSide) -> str:
    """``ap_corner_name(Level.L3, Endplate.SUPERIOR, ImageSide.LEFT) == "L3.superior.left"``."""
    return f"{level.value}.{endplate.value}.{side.value}"


FEMORAL_HEADS: tuple[str, str] = ("femoral_head.1", "femoral_head.2")

LATERAL_POINT_NAMES: tuple[str, ...] = (
    *(corner_name(lv, ep, c) for lv in LUMBAR_LEVELS for ep in Endplate for c in Corner),
    corner_name(Level.S1, Endplate.SUPERIOR, Corner.ANTERIOR),
    corner_name(Level.S1, Endplate.SUPERIOR, Corner.POSTERIOR),
    *FEMORAL_HEADS,
)
"""Every lateral landmark name, top to bottom: 20 lumbar corners, 2 S1 corners, 2 femoral head centres."""

AP_POINT_NAMES: tuple[str, ...] = (
    *(ap_corner_name(lv, ep, s) for lv in LUMBAR_LEVELS for ep in Endplate for s in ImageSide),
    ap_corner_name(Level.S1, Endplate.SUPERIOR, ImageSide.LEFT),
    ap_corner_name(Level.S1, Endplate.SUPERIOR, ImageSide.RIGHT),
)
"""Every AP landmark name, top to bottom: 20 lumbar corners and the 2 S1 superior corners."""
