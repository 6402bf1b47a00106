"""Landmark detection with the shipped ONNX models (onnxruntime only; no torch).

Pipeline for one film (:func:`detect_landmarks`):

1. refuse unusable pixels (:func:`fusionwatch.detect.view.check_pixels`);
2. classify the view (AP / lateral facing left or right / not a lumbar film) and refuse "other" and contradictions;
3. film stage: the whole film, letterboxed (aspect ratio kept), gives every landmark (AP: ``ap-spine.onnx`` when
   installed finds all 17 vertebrae T1-L5, so L1-L5 are counted from T1 and the ribs; else ``ap-film.onnx``);
4. crop stage: a box around the film stage's points, at a finer scale, refines them (AP: L1-S1 corners; lateral: L4, L5,
   S1 corners and the femoral heads);
4b. vertebra stage (when ``<view>-vertebra.onnx`` is installed): one upright square crop per vertebra (lateral: also S1
   and the femoral heads) refines its corners (:mod:`fusionwatch.detect.refine`);
5. confidence per point from the spread of its probability map, plus geometric plausibility checks, become
   ``Landmarks.confidence`` and ``Landmarks.needs_review``.

Points are mapped back to the original pixels with the exact inverse of the affine used to build the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from fusionwatch.anatomy import AP_POINT_NAMES, LATERAL_POINT_NAMES
from fusionwatch.detect._geometry import (
    apply_affine,
    crop_box,
    crop_matrix,
    invert_affine,
    letterbox_matrix,
    prepare_input,
    to_gray_float,
)
from fusionwatch.detect.augment import mirror_channel_index
from fusionwatch.detect.levels import level_offset
from fusionwatch.detect.specs import ModelSpec
from fusionwatch.detect.view import OTHER_THRESHOLD, ViewResult, check_pixels, classify_view
from fusionwatch.errors import InputError, LandmarkError, UnsupportedImageError, ViewError
from fusionwatch.landmarks import Landmarks, check_vertebra_order
from fusionwatch.radiograph import Radiograph, View

__all__ = [
    "MODELS_DIR",
    "LandmarkModel",
    "Detector",
    "load_detector",
    "detect_landmarks",
    "load_radiograph",
    "confidence_from_spread",
    "REVIEW_CONFIDENCE",
]

MODELS_DIR = Path(__file__).parent / "models"
REVIEW_CONFIDENCE = 0.3
CROP_MAX_LEVEL_MOVE = 0.5
"""With the level-counting film stage (``ap-spine``): crop-stage points that move the L1-L5 column by more than this
many vertebral levels (mean, along the spine; :func:`fusionwatch.detect.levels.level_offset`) are discarded: the crop
sees only L1-L5 and cannot count levels, the film stage sees T1-L5."""
_LANDMARK_NAMES = frozenset(AP_POINT_NAMES) | frozenset(LATERAL_POINT_NAMES)
"""A point whose confidence is below this is listed in ``needs_review``."""


def confidence_from_spread(spread_px: np.ndarray, stride: int = 4) -> np.ndarray:
    """Map the spread (RMS radius, input pixels) of a landmark's probability map to a confidence in (0, 1].

    A map as tight as one output cell gives ~0.9; one spread over 4 cells (16 input px) gives ~0.25. Monotone, so it
    ranks points; it is not a calibrated probability (see MODEL_CARD.md).
    """
    return np.exp(-np.maximum(np.asarray(spread_px, float) - stride / 2, 0.0) / (stride * 2.5))


class LandmarkModel:
    """One ONNX landmark model with its :class:`ModelSpec` (read from the file's metadata)."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"Cannot load detection model {self.path}: {exc}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "fusionwatch.spec" not in meta:
            raise InputError(f"{self.path.name} is not a fusionwatch model (no 'fusionwatch.spec' metadata).")
        self.spec = ModelSpec.from_json(meta["fusionwatch.spec"])

    @property
    def tag(self) -> str:
        return f"{self.spec.name}/{self.spec.version}"

    @property
    def trained_points(self) -> tuple[str, ...]:
        return tuple(self.spec.extra.get("trained_points", self.spec.point_names))

    @property
    def _flip_index(self) -> list[int]:
        """For each channel, the channel that names the same point after a horizontal mirror (AP left <-> right)."""
        names = list(self.spec.point_names)
        if self.spec.view != "ap":
            return list(range(len(names)))
        return mirror_channel_index(names)

    def run(
        self, image: np.ndarray, m: np.ndarray, *, flip_average: bool = True
    ) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
        """Predict points on ``image`` through the input affine ``m`` (image -> input pixels).

        With ``flip_average`` the input and its mirror image are both run and the (un-mirrored, renamed) predictions
        averaged: the models were trained with flips, and averaging the two passes lowers the error.

        Returns
        -------
        points : name -> (x, y) in ``image`` pixels
        spread : name -> spread in *input* pixels
        """
        x = prepare_input(image, m, self.spec.input_hw)
        if flip_average:
            batch = np.stack([x, x[:, ::-1]])[:, None].copy()
            coords, spread = self.session.run(["coords", "spread"], {"image": batch})
            w = self.spec.input_hw[1]
            mirrored = coords[1][self._flip_index]
            mirrored[:, 0] = w - 1 - mirrored[:, 0]
            coords = ((coords[0] + mirrored) / 2.0)[None]
            gap = np.linalg.norm(coords[0] - mirrored, axis=1)  # disagreement between the two passes adds to the spread
            spread = (np.maximum(spread[0], spread[1][self._flip_index]) + gap)[None]
        else:
            coords, spread = self.session.run(["coords", "spread"], {"image": x[None, None]})
        back = apply_affine(invert_affine(m), coords[0])
        keep = set(self.trained_points)
        pts = {n: (float(p[0]), float(p[1])) for n, p in zip(self.spec.point_names, back, strict=False) if n in keep}
        spr = {n: float(s) for n, s in zip(self.spec.point_names, spread[0], strict=False) if n in keep}
        return pts, spr


@dataclass
class Detector:
    """The set of models for both views. Any may be missing; ``view`` is needed to classify unknown films."""

    view: object | None = None  # onnxruntime.InferenceSession
    view_hw: tuple[int, int] = (128, 128)
    film: dict[View, LandmarkModel] = field(default_factory=dict)
    crop: dict[View, LandmarkModel] = field(default_factory=dict)
    vertebra: dict[View, LandmarkModel] = field(default_factory=dict)
    spine: dict[View, LandmarkModel] = field(default_factory=dict)
    """Level-counting film stage (``ap-spine.onnx``: T1-L5 corners); replaces ``film`` for its view when present."""

    def classify(self, radiograph: Radiograph) -> ViewResult | None:
        if self.view is None:
            return None
        return classify_view(radiograph.pixels, self.view, self.view_hw)

    def detect(self, radiograph: Radiograph, *, refine: bool = True) -> Landmarks:
        """See :func:`detect_landmarks`."""
        check_pixels(radiograph.pixels, radiograph.source or "image")
        review: list[str] = []
        vr = self.classify(radiograph)
        view = _decide_view(radiograph, vr, review)
        key = View.AP if view is View.AP else View.LATERAL
        if key not in self.film and key not in self.spine:
            raise ViewError(
                f"No {key.value} landmark model is installed; cannot detect landmarks on a {view.value} film."
            )
        image = to_gray_float(radiograph.pixels)
        film_model = self.spine.get(key) or self.film[key]
        m = letterbox_matrix(image.shape[:2], film_model.spec.input_hw)
        points, spread = film_model.run(image, m)
        if key in self.spine:
            # the level-counting stage finds T1-L5; only fusionwatch landmarks (L1-L5 corners) go on
            points = {n: p for n, p in points.items() if n in _LANDMARK_NAMES}
            spread = {n: v for n, v in spread.items() if n in _LANDMARK_NAMES}
        scale_in = {n: m[0, 0] for n in points}
        source = film_model.tag
        crop_model = self.crop.get(key) if refine else None
        if crop_model is not None:
            base = [points[n] for n in crop_model.spec.crop_points if n in points]
            if len(base) >= 2:
                box = crop_box(np.asarray(base), crop_model.spec.input_hw, crop_model.spec.margin)
                mc = crop_matrix(box, crop_model.spec.input_hw)
                p2, s2 = crop_model.run(image, mc)
                moved = level_offset(p2, points) if key in self.spine else None
                if moved is not None and abs(moved) > CROP_MAX_LEVEL_MOVE:
                    review.append(
                        f"the crop stage placed L1-L5 {abs(moved):.1f} levels {'lower' if moved > 0 else 'higher'} "
                        "than the level-counting film stage (film stage kept): check the vertebral levels"
                    )
                else:
                    points.update(p2)
                    spread.update(s2)
                    scale_in.update({n: mc[0, 0] for n in p2})
                    source = f"{film_model.tag}+{crop_model.spec.name}/{crop_model.spec.version}"
        vertebra_model = self.vertebra.get(key) if refine else None
        if vertebra_model is not None:
            from fusionwatch.detect.refine import refine_points

            p3, s3, k3 = refine_points(vertebra_model, image, points)
            if p3:
                # confidence never rises through refinement: the small crop cannot see a wrong level, so the earlier
                # stages' spread is kept unless the vertebra stage is less sure (both in the earlier input's pixels)
                for n in p3:
                    spread[n] = max(spread.get(n, 0.0), s3[n] / k3[n] * scale_in.get(n, k3[n]))
                points.update(p3)
                source = f"{source}+{vertebra_model.spec.name}/{vertebra_model.spec.version}"
        conf = {n: float(confidence_from_spread(np.array([spread[n]]))[0]) for n in points}
        low = sorted((n for n, c in conf.items() if c < REVIEW_CONFIDENCE), key=conf.get)
        if low:
            review.append(f"low model confidence at {', '.join(low[:6])}{' ...' if len(low) > 6 else ''}")
        lm_view = (
            View.AP
            if key is View.AP
            else (radiograph.view if radiograph.view and radiograph.view.is_lateral else View.LATERAL)
        )
        h, w = image.shape[:2]
        points = {n: (min(max(p[0], 0.0), w - 1.0), min(max(p[1], 0.0), h - 1.0)) for n, p in points.items()}
        lm = Landmarks(points, w, h, lm_view, conf, f"model:{source}")
        review += _plausibility(lm, radiograph, vr)
        return Landmarks(points, w, h, lm_view, conf, f"model:{source}", tuple(dict.fromkeys(review)))


def _decide_view(radiograph: Radiograph, vr: ViewResult | None, review: list[str]) -> View:
    """The view to detect: the declared one unless the classifier contradicts it strongly; refuse non-spine images."""
    declared = radiograph.view
    if vr is not None:
        p_other = vr.probabilities["other"]
        if p_other >= OTHER_THRESHOLD:
            raise UnsupportedImageError(
                f"{radiograph.source or 'This image'} does not look like a lumbar spine radiograph "
                f"(view model: {p_other:.0%} 'not a lumbar film'); expected a lateral or AP lumbar film."
            )
        if declared is not None:
            p_declared = vr.probabilities["ap"] if declared is View.AP else vr.p_lateral
            if p_declared < 0.05:
                other = "AP" if declared.is_lateral else "lateral"
                raise ViewError(
                    f"The film is declared {declared.value} but looks like an {other} film "
                    f"(view model: {1 - p_declared - p_other:.0%} {other}). Check the view, or give --view."
                )
            if p_declared < 0.5:
                review.append(f"declared view {declared.value} but the view model gives it only {p_declared:.0%}")
            return declared
        return View.AP if vr.probabilities["ap"] >= vr.p_lateral else View.LATERAL
    if declared is None:
        raise ViewError("The view of this film is unknown and no view model is installed: give the view (--view).")
    return declared


def _plausibility(lm: Landmarks, radiograph: Radiograph, vr: ViewResult | None) -> list[str]:
    """Geometric review reasons: vertebra order, body sizes and angles (measure.plausibility), facing agreement."""
    reasons: list[str] = []
    try:
        check_vertebra_order(lm)
    except LandmarkError as exc:
        reasons.append(str(exc))
    try:
        from fusionwatch.measure import measure_film, plausibility_reasons

        spacing = radiograph.spacing
        reasons += list(plausibility_reasons(lm, spacing, measure_film(lm, spacing), low_confidence=0.0))
    except (LandmarkError, ViewError) as exc:
        reasons.append(f"measurement check failed: {exc}")
    if lm.view.is_lateral:
        from fusionwatch.landmarks import lateral_facing

        try:
            facing = lateral_facing(lm)
        except LandmarkError as exc:
            reasons.append(str(exc))
        else:
            if vr is not None and vr.facing is not None and vr.facing is not facing:
                reasons.append(
                    f"facing from the landmarks ({facing.value}) disagrees with the view model ({vr.facing.value})"
                )
            if radiograph.facing is not None and radiograph.facing is not facing:
                reasons.append(
                    f"facing from the landmarks ({facing.value}) disagrees with the film's recorded facing "
                    f"({radiograph.facing.value})"
                )
    return reasons


@lru_cache(maxsize=4)
def load_detector(models_dir: str | Path | None = None) -> Detector:
    """Load every model found in ``models_dir`` (default: the shipped models): ``view.onnx``, ``<view>-film.onnx``,
    ``<view>-crop.onnx``, ``<view>-vertebra.onnx`` and the level-counting film stage ``ap-spine.onnx`` (used instead
    of ``ap-film.onnx`` when present). Cached per folder."""
    import onnxruntime as ort

    folder = Path(models_dir) if models_dir is not None else MODELS_DIR
    if not folder.is_dir():
        raise InputError(f"Model folder not found: {folder}")
    det = Detector()
    view_path = folder / "view.onnx"
    if view_path.is_file():
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        opts.log_severity_level = 3
        det.view = ort.InferenceSession(str(view_path), opts, providers=["CPUExecutionProvider"])
        meta = det.view.get_modelmeta().custom_metadata_map
        if "fusionwatch.spec" in meta:
            det.view_hw = tuple(ModelSpec.from_json(meta["fusionwatch.spec"]).input_hw)
    for v in (View.AP, View.LATERAL):
        stages = (("film", det.film), ("crop", det.crop), ("vertebra", det.vertebra), ("spine", det.spine))
        for stage, store in stages:
            p = folder / f"{v.value}-{stage}.onnx"
            if p.is_file():
                store[v] = LandmarkModel(p)
    return det


def detect_landmarks(radiograph: Radiograph, *, models_dir: str | Path | None = None, refine: bool = True) -> Landmarks:
    """Find the vertebral landmarks of a lumbar film.

    Parameters
    ----------
    radiograph : Radiograph
        Any size; pixels bone bright. ``radiograph.view`` is used when given (the view model may still refuse a film
        is clearly not a lumbar radiograph, or contradicts the declared view).
    models_dir : path, optional
        A folder of ONNX models (``view.onnx``, ``ap-spine.onnx`` or ``ap-film.onnx``, ``ap-crop.onnx``,
        ``lateral-film.onnx``, ``lateral-crop.onnx``, optionally ``ap-vertebra.onnx``, ``lateral-vertebra.onnx``);
        default: the models shipped in the package (AP: ``ap-spine``, the level-counting film stage). A missing crop or
        vertebra model skips that stage.
    refine : bool
        Run the crop and vertebra stages when their models exist.

    Returns
    -------
    Landmarks
        Pixels of ``radiograph`` (origin at the centre of the top-left pixel); ``confidence`` per point;
        ``source = "model:<film model>/<version>[+<crop model>/<version>][+<vertebra model>/<version>]"``;
        ``needs_review`` lists low-confidence points and failed plausibility checks. AP landmarks use image-side
        names (``L3.superior.left``); lateral landmarks are anatomical, whichever way the patient faces.

    Raises
    ------
    UnsupportedImageError
        Blank, tiny or non-finite images, and images the view model calls "not a lumbar film".
    ViewError
        The declared view contradicts the film, or no model for the view is installed.
    """
    return load_detector(models_dir).detect(radiograph, refine=refine)


def load_radiograph(path: str | Path, *, view: str | None = None) -> Radiograph:
    """Read a film for the CLI, through :func:`fusionwatch.io.read_radiograph`, with an optional forced view."""
    from fusionwatch.io import read_radiograph

    v = None
    if view is not None:
        try:
            v = View(view.lower())
        except ValueError:
            raise InputError(f"Unknown view {view!r}; expected one of {', '.join(x.value for x in View)}.") from None
    return read_radiograph(path, view=v)
