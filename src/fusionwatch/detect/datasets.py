"""Readers for landmark training data, and the ``--data SPEC`` parser.

Every reader returns :class:`Sample` objects: a grayscale image (bone bright), its landmarks in pixels of that image
(names from :mod:`fusionwatch.anatomy`), the view, a patient key for grouped splits, and the pixel spacing when known.

Specs (``fusionwatch train --data SPEC``):

==========================  ==========================================================================================
``spineweb:DIR``            SpineWeb Dataset 16 / AASCE (``filenames.csv``, ``landmarks.csv``, ``images/``): AP, L1-L5
``sim:N[:VIEW[:SEED]]``     N films from :mod:`fusionwatch.sim` (exact truth), seeds SEED.. (default 0), VIEW lateral/ap
``journey:N[:VIEW[:SEED]]`` N films from :func:`fusionwatch.sim.journey.random_film` (scenarios, visits; VIEW also
                            flexion/extension/any)
``buu:DIR``                 BUU-LSPINE: one CSV per image (``x1,y1,x2,y2,label``, 11 endplates L1 sup .. S1 sup)
``mendeley:DIR``            Spondylolisthesis Vertebral Landmark Dataset: labelme-style JSON or YOLO-pose ``.txt``
``coco:FILE``               COCO keypoints JSON whose category keypoint names are fusionwatch landmark names
``fusionwatch:DIR``         images with ``<stem>.landmarks.json`` beside them (schema ``fusionwatch.landmarks/1``)
==========================  ==========================================================================================
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fusionwatch.anatomy import (
    AP_POINT_NAMES,
    LATERAL_POINT_NAMES,
    LUMBAR_LEVELS,
    Corner,
    Endplate,
    ImageSide,
    Level,
    ap_corner_name,
    corner_name,
)
from fusionwatch.errors import InputError, LandmarkError, UnsupportedImageError
from fusionwatch.radiograph import View
from fusionwatch.units import Spacing

__all__ = [
    "Sample",
    "parse_data_spec",
    "load_data",
    "read_spineweb_samples",
    "read_buu_samples",
    "read_mendeley_samples",
    "read_coco_samples",
    "read_fusionwatch_samples",
    "sim_samples",
    "spineweb_patient",
    "sort_quad",
    "ap_quad_points_named",
    "order_quads_top_to_bottom",
    "THORACIC_LEVEL_NAMES",
    "split_by_patient",
    "spineweb_batch",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm")


@dataclass
class Sample:
    """One annotated film.

    Attributes
    ----------
    image : (H, W) ndarray
        Grayscale pixels, bone bright; uint8 or float32. May be a downscaled copy of the original (see ``scale``).
    points : dict[str, (float, float)]
        Landmarks in pixels of ``image``.
    view : View
    patient : str
        Key for patient-grouped splits (never logged).
    spacing : Spacing | None
        Spacing of the *original* film.
    scale : float
        ``image`` pixels per original pixel (1.0 when not downscaled).
    source : str
        Description for messages (file name).
    truth : dict
        Extra ground truth (simulator measurements), may be empty.
    group : str
        The subset the film belongs to, for per-subset results in an evaluation (SpineWeb: the annotation batch,
        e.g. ``"batch Jan 2017"``, see :func:`spineweb_batch`); empty when the data has none.
    """

    image: np.ndarray
    points: dict[str, tuple[float, float]]
    view: View
    patient: str
    spacing: Spacing | None = None
    scale: float = 1.0
    source: str = ""
    truth: dict = field(default_factory=dict)
    original_size: tuple[int, int] | None = None  # (W, H) of the original film
    group: str = ""


# ----------------------------------------------------------------------------------------------------------- helpers
def _read_gray(path: Path) -> np.ndarray:
    """Grayscale image, bone bright, as float32 or uint8 (DICOM through fusionwatch.io when available)."""
    if path.suffix.lower() == ".dcm":
        try:
            from fusionwatch.io import read_radiograph  # type: ignore[attr-defined]
        except ImportError as exc:  # pragma: no cover - io engineer's reader not yet present
            raise UnsupportedImageError(
                f"Cannot read DICOM {path.name}: fusionwatch.io.read_radiograph missing."
            ) from exc
        return read_radiograph(path).pixels
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I"):
                return np.asarray(im, dtype=np.float32)
            return np.asarray(im.convert("L"))
    except (OSError, ValueError) as exc:
        raise UnsupportedImageError(f"Cannot read image {path}: {exc}") from None


def _downscale(img: np.ndarray, max_side: int | None) -> tuple[np.ndarray, float]:
    import cv2

    if max_side is None or max(img.shape) <= max_side:
        return img, 1.0
    s = max_side / max(img.shape)
    h, w = round(img.shape[0] * s), round(img.shape[1] * s)
    s_x, s_y = w / img.shape[1], h / img.shape[0]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    # exact pixel-centre mapping of INTER_AREA resize: x' = (x + 0.5) * s - 0.5; keep one scale (rounding < 1 px)
    return out, (s_x + s_y) / 2.0


def _scale_points(points: dict[str, tuple[float, float]], s: float) -> dict[str, tuple[float, float]]:
    return {n: ((p[0] + 0.5) * s - 0.5, (p[1] + 0.5) * s - 0.5) for n, p in points.items()}


def sort_quad(quad: np.ndarray) -> np.ndarray:
    """Order four corners of a vertebral body as top-left, top-right, bottom-left, bottom-right (image sides).

    "Top" is decided along the body's own axis: the two corners with the smallest y after removing the body's tilt
    (estimated from the two pairs split by x), so tilted bodies (scoliosis) sort correctly.

    Parameters
    ----------
    quad : (4, 2) array of (x, y)
    """
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    c = q.mean(axis=0)
    by_x = np.argsort(q[:, 0])
    left, right = q[by_x[:2]], q[by_x[2:]]
    # the left and right pairs each span the body's height: their mean direction is the body's vertical axis
    vl = left[np.argmax(left[:, 1])] - left[np.argmin(left[:, 1])]
    vr = right[np.argmax(right[:, 1])] - right[np.argmin(right[:, 1])]
    axis = vl + vr
    axis = axis / (np.linalg.norm(axis) + 1e-12)
    if axis[1] < 0:
        axis = -axis
    side = np.array([axis[1], -axis[0]])  # points to image right when the axis points down
    proj_v = (q - c) @ axis
    proj_s = (q - c) @ side
    top = np.argsort(proj_v)[:2]
    bottom = np.argsort(proj_v)[2:]
    tl, tr = sorted(top, key=lambda i: proj_s[i])
    bl, br = sorted(bottom, key=lambda i: proj_s[i])
    return q[[tl, tr, bl, br]]


def _ap_quad_points(level: Level, quad: np.ndarray) -> dict[str, tuple[float, float]]:
    tl, tr, bl, br = sort_quad(quad)
    out = {
        ap_corner_name(level, Endplate.SUPERIOR, ImageSide.LEFT): tl,
        ap_corner_name(level, Endplate.SUPERIOR, ImageSide.RIGHT): tr,
    }
    if level is not Level.S1:
        out[ap_corner_name(level, Endplate.INFERIOR, ImageSide.LEFT)] = bl
        out[ap_corner_name(level, Endplate.INFERIOR, ImageSide.RIGHT)] = br
    return {n: (float(p[0]), float(p[1])) for n, p in out.items()}


THORACIC_LEVEL_NAMES: tuple[str, ...] = tuple(f"T{k}" for k in range(1, 13))
"""Thoracic vertebrae annotated in SpineWeb Dataset 16 (T1..T12, above L1-L5). They are not fusionwatch landmarks
(:class:`fusionwatch.landmarks.Landmarks` rejects them): readers keep them in ``Sample.truth["extra_points"]``, which
only models that name them (the ``ap-spine`` level-counting film stage) train on."""


def ap_quad_points_named(level_name: str, quad: np.ndarray) -> dict[str, tuple[float, float]]:
    """The 4 AP corners of one vertebral body named ``<level>.<superior|inferior>.<left|right>`` (image sides),
    sorted geometrically by :func:`sort_quad`; ``level_name`` may be any label (``"T12"``)."""
    tl, tr, bl, br = sort_quad(quad)
    out = {
        f"{level_name}.superior.left": tl,
        f"{level_name}.superior.right": tr,
        f"{level_name}.inferior.left": bl,
        f"{level_name}.inferior.right": br,
    }
    return {n: (float(p[0]), float(p[1])) for n, p in out.items()}


# ---------------------------------------------------------------------------------------------------------- SpineWeb
def order_quads_top_to_bottom(quads: np.ndarray) -> np.ndarray:
    """Vertebral quadrilaterals of one AP film in top-to-bottom order (stable sort by the y of their centres).

    Parameters
    ----------
    quads : (N, 4, 2) array
        Corners ``(x, y)`` in image pixels (y down), one quadrilateral per vertebra, in file order.

    Returns
    -------
    (N, 4, 2) array
        The same quadrilaterals, the highest on the film (smallest centre y) first. On an AP film the column runs
        from top to bottom, so this is the anatomical order T1..L5 whatever order the file listed them in.
    """
    q = np.asarray(quads, dtype=np.float64)
    return q[np.argsort(q.mean(axis=1)[:, 1], kind="stable")]


_SPINEWEB_PATIENT = re.compile(r"-(\d+)\s+[A-Za-z]+\s+AP", re.IGNORECASE)


def spineweb_patient(filename: str) -> str:
    """Patient key of a SpineWeb Dataset 16 file name: the ``<N>`` of ``sunhl-1th-<date>-<N> <letter> AP.jpg``.

    The ``...-coronal<K>.jpg`` files have no shared patient number: each is its own patient (the file stem). Same
    grouping as :func:`fusionwatch.io.spineweb_patient_id`, with keys prefixed ``spineweb-`` (and stable, so the
    validation split of the shipped model can be reproduced).
    """
    m = _SPINEWEB_PATIENT.search(filename)
    return f"spineweb-{m.group(1)}" if m else f"spineweb-{Path(filename).stem}"


_SPINEWEB_BATCH = re.compile(r"-\d{1,2}-([A-Za-z]{3})-(\d{4})")


def spineweb_batch(filename: str) -> str:
    """The batch a SpineWeb Dataset 16 file name carries (its date, ``sunhl-1th-<day>-<Mon>-<year>-...``), e.g.
    ``"batch Jan 2017"``; ``"batch unknown"`` when the name has no date.

    Whether the date is that of the film or of its annotation is not stated; the batches' annotations outline the
    vertebrae differently (Jan 2017: narrower, thinner bodies at the same vertebral pitch;
    ``scripts/spineweb_conventions.py``), so evaluations report them separately as well as together.
    """
    m = _SPINEWEB_BATCH.search(filename)
    return f"batch {m.group(1).title()} {m.group(2)}" if m else "batch unknown"


def read_spineweb_samples(
    folder: str | Path, *, max_side: int | None = 1024, limit: int | None = None, order_levels: bool = True
) -> list[Sample]:
    """SpineWeb Dataset 16 AP films with the L1-L5 corners (the 5 lowest of 17 vertebrae T1..L5).

    The T1-T12 corners (same geometric sorting) go to ``Sample.truth["extra_points"]`` (names
    ``T<k>.<superior|inferior>.<left|right>``), for the level-counting ``ap-spine`` film stage.

    ``landmarks.csv`` holds 68 x values divided by the width, then 68 y values divided by the height; the corners
    are re-sorted geometrically (a few quadrilaterals in the release break the stated order).

    With ``order_levels`` (default) the 17 quadrilaterals are also put in top-to-bottom order (by the height of their
    centres) before they are named T1..L5: the release lists them out of anatomical order on 24 of 481 films (the
    "L5" quadrilateral above L4, twice above T1 at the film's top edge; once T2 above T1), which would name a
    vertebra by its place in the file instead of its place in the column (:func:`order_quads_top_to_bottom`).
    ``order_levels=False`` keeps the file's order (the annotation exactly as released).
    """
    folder = Path(folder)
    names_csv, marks_csv = folder / "filenames.csv", folder / "landmarks.csv"
    if not names_csv.is_file() or not marks_csv.is_file():
        raise InputError(
            f"{folder} is not a SpineWeb Dataset 16 folder: expected filenames.csv and landmarks.csv in it."
        )
    with names_csv.open(newline="") as f:
        names = [row[0].strip() for row in csv.reader(f) if row]
    with marks_csv.open(newline="") as f:
        rows = [[float(v) for v in row] for row in csv.reader(f) if row]
    if len(names) != len(rows):
        raise InputError(f"{folder}: filenames.csv has {len(names)} rows but landmarks.csv has {len(rows)}.")
    samples = []
    for name, row in list(zip(names, rows, strict=False))[:limit]:
        if len(row) != 136:
            raise InputError(f"{folder}/landmarks.csv: expected 136 numbers per row, got {len(row)} for {name!r}.")
        img = _read_gray(folder / "images" / name)
        h, w = img.shape[:2]
        xs, ys = np.array(row[:68]) * w, np.array(row[68:]) * h
        quads = np.stack([xs, ys], axis=1).reshape(17, 4, 2)
        if order_levels:
            quads = order_quads_top_to_bottom(quads)
        pts: dict[str, tuple[float, float]] = {}
        for i, level in enumerate(LUMBAR_LEVELS):
            pts.update(_ap_quad_points(level, quads[12 + i]))  # T1..T12 are 0..11
        thoracic: dict[str, tuple[float, float]] = {}
        for k, level_name in enumerate(THORACIC_LEVEL_NAMES):
            thoracic.update(ap_quad_points_named(level_name, quads[k]))
        small, s = _downscale(img, max_side)
        samples.append(
            Sample(
                small,
                _scale_points(pts, s) if s != 1.0 else pts,
                View.AP,
                spineweb_patient(name),
                None,
                s,
                name,
                truth={"extra_points": _scale_points(thoracic, s) if s != 1.0 else thoracic},
                original_size=(w, h),
                group=spineweb_batch(name),
            )
        )
    return samples


# ------------------------------------------------------------------------------------------------------- BUU-LSPINE
def _find_image(csv_path: Path) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for cand in (csv_path.with_suffix(suffix), csv_path.with_suffix(suffix.upper())):
            if cand.is_file():
                return cand
    return None


def read_buu_csv(path: str | Path, image: str | Path | None = None) -> dict[str, tuple[float, float]]:
    """Lateral landmarks of one BUU-LSPINE CSV via :func:`fusionwatch.io.read_buu_lateral_csv`."""
    from fusionwatch.io import read_buu_lateral_csv

    lm = read_buu_lateral_csv(path, image=image)
    return {n: (float(p[0]), float(p[1])) for n, p in lm.points.items()}


def read_buu_samples(folder: str | Path, *, max_side: int | None = 1024) -> list[Sample]:
    """BUU-LSPINE lateral films: every ``*.csv`` with an image of the same stem beside it. Patient = stem prefix."""
    folder = Path(folder)
    samples = []
    for csv_path in sorted(folder.rglob("*.csv")):
        img_path = _find_image(csv_path)
        if img_path is None:
            continue
        pts = read_buu_csv(csv_path, image=img_path)
        samples.append(_make_sample(img_path, pts, View.LATERAL, csv_path.stem.split("_")[0], max_side))
    if not samples:
        raise InputError(f"No BUU-LSPINE films in {folder}: expected <name>.csv beside <name>.jpg/.png.")
    return samples


def _make_sample(img_path: Path, pts: dict, view: View, patient: str, max_side: int | None, spacing=None) -> Sample:
    img = _read_gray(img_path)
    h, w = img.shape[:2]
    small, s = _downscale(img, max_side)
    return Sample(
        small,
        _scale_points(pts, s) if s != 1.0 else dict(pts),
        view,
        patient,
        spacing,
        s,
        img_path.name,
        original_size=(w, h),
    )


# --------------------------------------------------------------------------------------------------------- Mendeley
_MENDELEY_LEVELS = {"L3": Level.L3, "L4": Level.L4, "L5": Level.L5, "S1": Level.S1, "S": Level.S1}


def _lateral_quad_points(level: Level, quad: np.ndarray, facing_left: bool) -> dict[str, tuple[float, float]]:
    """Name the corners of one lateral body (or the 2 S1 corners) given the facing (anterior on image left?)."""
    q = np.asarray(quad, dtype=np.float64)
    if level is Level.S1 and len(q) == 2:
        a, b = sorted(q, key=lambda p: p[0])
        ant, post = (a, b) if facing_left else (b, a)
        return {
            corner_name(Level.S1, Endplate.SUPERIOR, Corner.ANTERIOR): (float(ant[0]), float(ant[1])),
            corner_name(Level.S1, Endplate.SUPERIOR, Corner.POSTERIOR): (float(post[0]), float(post[1])),
        }
    tl, tr, bl, br = sort_quad(q[:4])
    sides = {"left": (tl, bl), "right": (tr, br)}
    ant_side, post_side = ("left", "right") if facing_left else ("right", "left")
    out = {
        corner_name(level, Endplate.SUPERIOR, Corner.ANTERIOR): sides[ant_side][0],
        corner_name(level, Endplate.SUPERIOR, Corner.POSTERIOR): sides[post_side][0],
    }
    if level is not Level.S1:
        out[corner_name(level, Endplate.INFERIOR, Corner.ANTERIOR)] = sides[ant_side][1]
        out[corner_name(level, Endplate.INFERIOR, Corner.POSTERIOR)] = sides[post_side][1]
    return {n: (float(p[0]), float(p[1])) for n, p in out.items()}


def _xy_from_flat(kp: np.ndarray) -> np.ndarray:
    """``(N, 2)`` points from a flat keypoint list: ``x, y, v`` triples when every third value is a visibility flag
    (0, 1 or 2) and the length allows it, else ``x, y`` pairs."""
    kp = np.asarray(kp, dtype=float).ravel()
    if kp.size % 3 == 0 and kp.size >= 6:
        trip = kp.reshape(-1, 3)
        if np.all(np.isin(trip[:, 2], (0.0, 1.0, 2.0))) and (
            kp.size % 2 or not np.all(np.isin(kp[1::2], (0.0, 1.0, 2.0)))
        ):
            return trip[:, :2]
    if kp.size % 2:
        raise LandmarkError(f"Cannot split {kp.size} keypoint values into points (expected x, y pairs or x, y, v).")
    return kp.reshape(-1, 2)


def _facing_left_from_quads(quads: dict[Level, np.ndarray]) -> bool:
    """Anterior on image left? Lumbosacral lordosis: S1 lies posterior to L3-L5 bodies' anterior line, and the sacrum
    slopes down-backwards; we use the simplest robust cue: the S1 endplate's lower corner is anterior (sacral slope)."""
    if Level.S1 in quads and len(quads[Level.S1]) >= 2:
        s = np.asarray(quads[Level.S1])[:2]
        lower = s[np.argmax(s[:, 1])]
        return bool(lower[0] < s[:, 0].mean())
    return True


def read_mendeley_json(path: str | Path) -> dict[str, tuple[float, float]]:
    """Landmarks from a labelme-style JSON of the Spondylolisthesis Vertebral Landmark Dataset.

    Accepts ``{"shapes": [{"label": "L4", "points": [[x, y] x4]}, ...]}`` (polygons/keypoint groups per vertebra) and
    ``{"annotations"/"objects": [{"label"|"name": "L4", "keypoints": [x, y, (v), ...], "bbox": [...]}]}``. Corner order
    the file is ignored: corners are sorted geometrically, and anterior/posterior come from the S1 endplate slope.
    """
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LandmarkError(f"{path.name}: not a readable JSON file ({exc}).") from None
    items = d.get("shapes") or d.get("annotations") or d.get("objects") or []
    quads: dict[Level, np.ndarray] = {}
    for it in items:
        label = str(it.get("label") or it.get("name") or it.get("class") or "").strip().upper()
        level = _MENDELEY_LEVELS.get(label)
        if level is None:
            continue
        if "points" in it:
            pts = np.asarray(it["points"], dtype=float).reshape(-1, 2)
        elif "keypoints" in it:
            pts = _xy_from_flat(np.asarray(it["keypoints"], dtype=float))
        else:
            continue
        quads[level] = pts
    if not quads:
        raise LandmarkError(f"{path.name}: no L3, L4, L5 or S1 keypoints found.")
    facing_left = _facing_left_from_quads(quads)
    out: dict[str, tuple[float, float]] = {}
    for level, q in quads.items():
        out.update(_lateral_quad_points(level, q, facing_left))
    return out


def read_yolo_pose(
    path: str | Path, width: int, height: int, class_levels: Sequence[Level] = (Level.L3, Level.L4, Level.L5, Level.S1)
) -> dict[str, tuple[float, float]]:
    """Landmarks from a YOLO-pose ``.txt`` (one line per body: ``class cx cy w h x1 y1 [v1] x2 y2 ...``, normalised).

    The corner order of these files differs from the JSON files, so corners are sorted geometrically.
    """
    path = Path(path)
    quads: dict[Level, np.ndarray] = {}
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            vals = [float(v) for v in parts]
        except ValueError:
            raise LandmarkError(f"{path.name} line {line_no}: expected numbers, got {line!r}.") from None
        cls = int(vals[0])
        if not 0 <= cls < len(class_levels):
            raise LandmarkError(f"{path.name} line {line_no}: class {cls} outside 0..{len(class_levels) - 1}.")
        xy = _xy_from_flat(np.asarray(vals[5:]))
        quads[class_levels[cls]] = xy * np.array([width, height])
    if not quads:
        raise LandmarkError(f"{path.name}: no keypoints.")
    facing_left = _facing_left_from_quads(quads)
    out: dict[str, tuple[float, float]] = {}
    for level, q in quads.items():
        out.update(_lateral_quad_points(level, q, facing_left))
    return out


def read_mendeley_samples(folder: str | Path, *, max_side: int | None = 1024) -> list[Sample]:
    """Every image in ``folder`` (recursively) with a ``.json`` or YOLO ``.txt`` of the same stem somewhere in it."""
    folder = Path(folder)
    ann: dict[str, Path] = {}
    for p in folder.rglob("*"):
        if p.suffix.lower() in (".json", ".txt") and p.stem not in ann:
            ann[p.stem] = p
    samples = []
    for img_path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        a = ann.get(img_path.stem)
        if a is None:
            continue
        if a.suffix.lower() == ".json":
            pts = read_mendeley_json(a)
        else:
            img = _read_gray(img_path)
            pts = read_yolo_pose(a, img.shape[1], img.shape[0])
        samples.append(_make_sample(img_path, pts, View.LATERAL, img_path.stem, max_side))
    if not samples:
        raise InputError(f"No annotated films in {folder}: expected <name>.jpg with <name>.json or <name>.txt.")
    return samples


# ------------------------------------------------------------------------------------------------------------- COCO
def read_coco_samples(path: str | Path, *, max_side: int | None = 1024) -> list[Sample]:
    """COCO keypoints: the category's ``keypoints`` list names fusionwatch landmarks; images relative to the JSON file.

    The view is AP when the names are AP names, lateral otherwise. Keypoints with visibility 0 are skipped.
    """
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable COCO JSON file ({exc}).") from None
    cats = {c["id"]: c.get("keypoints", []) for c in d.get("categories", [])}
    images = {im["id"]: im for im in d.get("images", [])}
    samples = []
    for ann in d.get("annotations", []):
        names = cats.get(ann.get("category_id"), [])
        kp = np.asarray(ann.get("keypoints", []), dtype=float).reshape(-1, 3)
        if len(names) != len(kp):
            raise LandmarkError(
                f"{path.name}: annotation {ann.get('id')} has {len(kp)} keypoints for {len(names)} names."
            )
        pts = {n: (float(x), float(y)) for n, (x, y, v) in zip(names, kp, strict=False) if v > 0}
        view = (
            View.AP
            if set(pts) <= set(AP_POINT_NAMES) and any(n.endswith((".left", ".right")) for n in pts)
            else View.LATERAL
        )
        unknown = set(pts) - set(AP_POINT_NAMES if view is View.AP else LATERAL_POINT_NAMES)
        if unknown:
            raise LandmarkError(
                f"{path.name}: unknown keypoint names {sorted(unknown)}; use fusionwatch landmark names."
            )
        im = images.get(ann.get("image_id"))
        if im is None:
            raise LandmarkError(
                f"{path.name}: annotation {ann.get('id')} refers to unknown image {ann.get('image_id')}."
            )
        img_path = path.parent / im["file_name"]
        samples.append(_make_sample(img_path, pts, view, str(im.get("patient_id", im["id"])), max_side))
    if not samples:
        raise InputError(f"{path}: no keypoint annotations.")
    return samples


# ------------------------------------------------------------------------------------------------- fusionwatch JSON
def read_fusionwatch_samples(folder: str | Path, *, max_side: int | None = 1024) -> list[Sample]:
    """Images with ``<stem>.landmarks.json`` beside them (e.g. films corrected by readers). Patient = parent folder."""
    from fusionwatch.io.landmark_json import read_landmarks

    folder = Path(folder)
    samples = []
    for lm_path in sorted(folder.rglob("*.landmarks.json")):
        stem = lm_path.name[: -len(".landmarks.json")]
        img_path = next(
            (lm_path.with_name(stem + s) for s in IMAGE_SUFFIXES if lm_path.with_name(stem + s).is_file()), None
        )
        if img_path is None:
            continue
        lm = read_landmarks(lm_path)
        spacing = None
        sample = _make_sample(
            img_path,
            dict(lm.points),
            View.AP if lm.view is View.AP else View.LATERAL,
            lm_path.parent.name or stem,
            max_side,
            spacing,
        )
        if sample.original_size != (lm.width, lm.height):
            raise LandmarkError(
                f"{lm_path.name}: made for a {lm.width} x {lm.height} image, but {img_path.name} is "
                f"{sample.original_size[0]} x {sample.original_size[1]}."
            )
        samples.append(sample)
    if not samples:
        raise InputError(f"No <name>.landmarks.json beside an image in {folder}.")
    return samples


# -------------------------------------------------------------------------------------------------------- simulator
def sim_samples(n: int, *, seed: int = 0, view: str = "lateral", max_side: int | None = 1024) -> Iterable[Sample]:
    """``n`` simulated films with exact truth, generated lazily by :mod:`fusionwatch.sim` (see :func:`_sim_one`)."""
    for i in range(n):
        yield _sim_one(seed + i, view, max_side)


def _sim_one(seed: int, view: str, max_side: int | None) -> Sample:
    from fusionwatch.detect._simdata import simulate_sample

    return simulate_sample(seed, view, max_side)


# ----------------------------------------------------------------------------------------------------- spec parsing
def parse_data_spec(spec: str) -> tuple[str, str]:
    """Split ``kind:ARG``, checking the kind. Raises InputError naming the accepted kinds."""
    kinds = ("spineweb", "spineweb-as-released", "sim", "journey", "buu", "mendeley", "coco", "fusionwatch")
    kind, sep, arg = spec.partition(":")
    if not sep or kind not in kinds or not arg:
        raise InputError(
            f"Bad --data spec {spec!r}: expected KIND:ARG with KIND one of {', '.join(kinds)} "
            "(e.g. spineweb:../shared/data/spineweb16-ap, sim:200)."
        )
    return kind, arg


_READERS: dict[str, Callable[..., list[Sample]]] = {
    "spineweb": read_spineweb_samples,
    # the 17 quadrilaterals named in the file's order (24 release rows list them out of anatomical order): the
    # truth the AP targets are stated on
    "spineweb-as-released": functools.partial(read_spineweb_samples, order_levels=False),
    "buu": read_buu_samples,
    "mendeley": read_mendeley_samples,
    "coco": read_coco_samples,
    "fusionwatch": read_fusionwatch_samples,
}


def load_data(
    spec: str,
    *,
    max_side: int | None = 1024,
    sim_seed: int = 0,
    sim_view: str = "lateral",
    cache_dir: Path | None = None,
) -> list[Sample]:
    """Read every sample a spec names (simulator films are generated now). Cached in ``cache_dir`` if given."""
    kind, arg = parse_data_spec(spec)
    key_spec = spec
    if kind in ("sim", "journey"):
        # sim:N[:VIEW[:FIRST_SEED]] overrides the caller's defaults
        parts = arg.split(":")
        try:
            n = int(parts[0])
            if len(parts) > 1 and parts[1]:
                sim_view = parts[1]
            if len(parts) > 2:
                sim_seed = int(parts[2])
        except ValueError:
            msg = f"{kind} data spec must be {kind}:N[:VIEW[:FIRST_SEED]] with whole numbers, got {spec!r}."
            raise InputError(msg) from None
        views = ("lateral", "ap") if kind == "sim" else ("lateral", "ap", "flexion", "extension", "any")
        if sim_view not in views:
            raise InputError(f"{kind} view must be one of {', '.join(views)}, got {sim_view!r}.")
        key_spec = f"{kind}:{n}"
    key_text = f"{key_spec}|{max_side}|{sim_seed}|{sim_view}|v1"
    if kind in ("spineweb", "spineweb-as-released"):
        key_text += "|thoracic|ordered|batch"  # earlier caches lack T1-T12 / the file's order / the batch
    if kind in ("sim", "journey"):
        # the same seeds give other films after a simulator change: never serve a stale cache
        key_text += f"|sim{_sim_version()}"
    key = hashlib.sha1(key_text.encode()).hexdigest()[:16]
    if cache_dir is not None:
        cached = Path(cache_dir) / f"{kind}-{key}.npz"
        if cached.is_file():
            return _load_cache(cached)
    if kind == "sim":
        samples = list(sim_samples(n, seed=sim_seed, view=sim_view, max_side=max_side))
    elif kind == "journey":
        from fusionwatch.detect._simdata import journey_sample

        jv = None if sim_view == "any" else sim_view
        samples = [journey_sample(sim_seed + i, jv, max_side) for i in range(n)]
    else:
        if not Path(arg).exists():
            raise InputError(f"{kind} data not found: {arg} does not exist.")
        samples = _READERS[kind](arg, max_side=max_side)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        _save_cache(Path(cache_dir) / f"{kind}-{key}.npz", samples)
    return samples


def _sim_version() -> str:
    """The simulator's ``SIM_VERSION`` (part of the cache key of simulated films); "none" without the simulator."""
    try:
        import fusionwatch.sim as sim
    except ImportError:
        return "none"
    return str(getattr(sim, "SIM_VERSION", "none"))


def _save_cache(path: Path, samples: list[Sample]) -> None:
    import pickle

    path.write_bytes(pickle.dumps([s.__dict__ for s in samples], protocol=pickle.HIGHEST_PROTOCOL))


def _load_cache(path: Path) -> list[Sample]:
    import pickle

    return [Sample(**d) for d in pickle.loads(path.read_bytes())]  # noqa: S301 - our own cache file


def split_by_patient(
    samples: Sequence[Sample], val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices of a train / validation split where no patient appears in both (deterministic for a seed)."""
    patients = sorted({s.patient for s in samples})
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(patients))
    n_val = max(1, round(len(patients) * val_fraction)) if len(patients) > 1 else 0
    val_p = {patients[i] for i in order[:n_val]}
    train = [i for i, s in enumerate(samples) if s.patient not in val_p]
    val = [i for i, s in enumerate(samples) if s.patient in val_p]
    return train, val
