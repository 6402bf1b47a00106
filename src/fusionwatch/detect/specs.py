"""What each shipped model predicts and at which input size (shared by training, inference and evaluation).

The spec travels inside each ONNX file as the metadata entry ``fusionwatch.spec`` (JSON), so an exported model is
self-describing: inference never guesses point order or input size.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from fusionwatch.anatomy import AP_POINT_NAMES, FEMORAL_HEADS, LATERAL_POINT_NAMES
from fusionwatch.radiograph import View

__all__ = ["ModelSpec", "PRESETS", "VIEW_CLASSES"]

VIEW_CLASSES: tuple[str, ...] = ("ap", "lateral_left", "lateral_right", "other")
"""Classes of the view model: AP, lateral facing image-left (anterior on the left), lateral facing right, other."""


@dataclass(frozen=True)
class ModelSpec:
    """One model: its job, input size and output names.

    Attributes
    ----------
    name : str
        ``"ap-film"``, ``"ap-spine"`` (T1-L5 film stage), ``"ap-crop"``, ``"lateral-film"``, ``"lateral-crop"``,
        ``"ap-vertebra"``, ``"lateral-vertebra"`` or ``"view"``.
    view : str
        ``"ap"``, ``"lateral"`` or ``"any"`` (the view classifier).
    stage : str
        ``"film"`` (whole film letterboxed), ``"crop"`` (a box around ``crop_points`` from the film stage), ``"view"``,
        ``"refine"`` (one upright square crop per vertebra; :mod:`fusionwatch.detect.refine`, units in ``extra``).
    input_hw : (int, int)
        Network input height and width in pixels.
    point_names : tuple[str, ...]
        Output landmark channels, in order.
    crop_points : tuple[str, ...]
        Points whose bounding box (plus ``margin`` of its size on each side) defines the crop, for ``stage="crop"``.
    classes : tuple[str, ...]
        Class logits, in order (view model only).
    version : int
        Bumped whenever a retrained model ships.
    extra : dict
        Free-form: ``trained_points``; for ``stage="refine"``: ``units``
        (:class:`fusionwatch.detect.refine.RefineUnit`), ``context`` (crop side / vertebral body size), ``passes``,
        ``flip_average``, ``mirror_augment``.
    """

    name: str
    view: str
    stage: str
    input_hw: tuple[int, int]
    point_names: tuple[str, ...] = ()
    crop_points: tuple[str, ...] = ()
    margin: float = 0.3
    classes: tuple[str, ...] = ()
    version: int = 1
    width: int = 16
    extra: dict = field(default_factory=dict)

    @property
    def view_enum(self) -> View | None:
        return {"ap": View.AP, "lateral": View.LATERAL}.get(self.view)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        d = json.loads(text)
        for k in ("input_hw", "point_names", "crop_points", "classes"):
            d[k] = tuple(d.get(k, ()))
        return cls(**d)


_AP_LUMBAR = tuple(n for n in AP_POINT_NAMES if not n.startswith("S1."))
_AP_SPINE = (
    tuple(f"T{k}.{e}.{s}" for k in range(1, 13) for e in ("superior", "inferior") for s in ("left", "right"))
    + _AP_LUMBAR
)
"""68 corners of the 17 vertebrae T1..L5 (SpineWeb Dataset 16's annotation), top to bottom."""
_LAT_LOW = tuple(n for n in LATERAL_POINT_NAMES if n.startswith(("L4.", "L5.", "S1."))) + FEMORAL_HEADS


def _refine_spec(name: str, view: str) -> ModelSpec:
    """Per-vertebra refine model (``<view>-vertebra.onnx``): channels 0-3 are the 4 corners of the vertebra in the
    crop's centre; lateral also S1 superior corners (4, 5) and the femoral heads (6, 7)."""
    from fusionwatch.detect.refine import RefineUnit, vertebra_units

    levels = ("L1", "L2", "L3", "L4", "L5")
    if view == "ap":
        channels = tuple(f"corner.{e}.{s}" for e in ("superior", "inferior") for s in ("left", "right"))
        units = vertebra_units(levels, "left", "right")
        # shift_average: 8 more crops moved by 0.08 and 0.15 body sizes left, right, down, up, averaged
        # (ap-vertebra/3 = ap-vertebra/2's network; /2 had 0.08 only; refine.refine_points)
        extra = {
            "context": 1.8,
            "passes": 1,
            "flip_average": True,
            "mirror_augment": True,
            "shift_average": [0.08, 0.15],
        }
    else:
        channels = tuple(f"corner.{e}.{s}" for e in ("superior", "inferior") for s in ("anterior", "posterior"))
        channels += ("S1.superior.anterior", "S1.superior.posterior") + FEMORAL_HEADS
        units = vertebra_units(levels, "anterior", "posterior")
        l5 = units[-1].size
        s1 = ("S1.superior.anterior", "S1.superior.posterior")
        units.append(RefineUnit(((s1[0], 4), (s1[1], 5)), (s1,), l5, s1))
        units.append(RefineUnit(((FEMORAL_HEADS[0], 6), (FEMORAL_HEADS[1], 7)), units[-2].axis, l5, FEMORAL_HEADS))
        extra = {"context": 1.8, "passes": 1, "flip_average": False, "mirror_augment": False}
    extra["units"] = [u.to_json() for u in units]
    return ModelSpec(name, view, "refine", (96, 96), channels, version=3 if view == "ap" else 1, extra=extra)


PRESETS: dict[str, ModelSpec] = {
    "ap-film": ModelSpec("ap-film", "ap", "film", (384, 192), AP_POINT_NAMES),
    # level counting: the whole column T1-L5 on the film, so L1-L5 are the 5 lowest of 17 found vertebrae (replaces
    # ap-film as the AP film stage when ap-spine.onnx is installed; only its L1-L5 points leave the detector)
    "ap-spine": ModelSpec("ap-spine", "ap", "film", (448, 160), _AP_SPINE),
    "ap-crop": ModelSpec("ap-crop", "ap", "crop", (320, 192), AP_POINT_NAMES, crop_points=_AP_LUMBAR, margin=0.25),
    "lateral-film": ModelSpec("lateral-film", "lateral", "film", (288, 224), LATERAL_POINT_NAMES),
    "lateral-crop": ModelSpec(
        "lateral-crop", "lateral", "crop", (256, 256), _LAT_LOW, crop_points=_LAT_LOW, margin=0.2
    ),
    "view": ModelSpec("view", "any", "view", (128, 128), classes=VIEW_CLASSES, width=8),
    "ap-vertebra": _refine_spec("ap-vertebra", "ap"),
    "lateral-vertebra": _refine_spec("lateral-vertebra", "lateral"),
}
