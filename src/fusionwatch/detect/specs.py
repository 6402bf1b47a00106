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
        ``"ap-film"``, ``"ap-crop"``, ``"lateral-film"``, ``"lateral-crop"`` or ``"view"``.
    view : str
        ``"ap"``, ``"lateral"`` or ``"any"`` (the view classifier).
    stage : str
        ``"film"`` (whole film letterboxed), ``"crop"`` (a box around ``crop_points`` from the film stage), ``"view"``.
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
_LAT_LOW = tuple(n for n in LATERAL_POINT_NAMES if n.startswith(("L4.", "L5.", "S1."))) + FEMORAL_HEADS

PRESETS: dict[str, ModelSpec] = {
    "ap-film": ModelSpec("ap-film", "ap", "film", (384, 192), AP_POINT_NAMES),
    "ap-crop": ModelSpec("ap-crop", "ap", "crop", (320, 192), AP_POINT_NAMES, crop_points=_AP_LUMBAR, margin=0.25),
    "lateral-film": ModelSpec("lateral-film", "lateral", "film", (288, 224), LATERAL_POINT_NAMES),
    "lateral-crop": ModelSpec(
        "lateral-crop", "lateral", "crop", (256, 256), _LAT_LOW, crop_points=_LAT_LOW, margin=0.2
    ),
    "view": ModelSpec("view", "any", "view", (128, 128), classes=VIEW_CLASSES, width=8),
}
