"""Read SpineWeb Dataset 16 (AASCE 2019, AP films) corner landmarks into AP :class:`~fusionwatch.landmarks.Landmarks`.

The release holds ``filenames.csv`` (one image name per row), ``landmarks.csv`` (same row order, 136 numbers per row:
68 x values divided by the image width, then 68 y values divided by the image height; origin top-left, y down) and
``images/``. The 68 points are 17 vertebrae T1..L5, top to bottom, 4 corners each, nominally top-left, top-right,
bottom-left, bottom-right as seen; a few quadrilaterals break that order, so corners are sorted geometrically here
(:func:`_sort_corners`). Only L1..L5 (vertebrae 13-17) are returned, with AP names of image sides
(``L3.superior.left`` ...). Rows whose geometry is still implausible after sorting (a vertebra out of order, a
collapsed endplate, a point outside the image) are returned with a reason in ``needs_review``, not dropped:
callers training a model should skip them (``if lm.needs_review: continue``). In the 481-film training release, 24
rows are flagged, mostly films where L5 is cut off and was annotated at the top of the image or copied from L4.

Credit: Wu et al., "Automatic landmark estimation for adolescent idiopathic scoliosis assessment using BoostNet",
MICCAI 2017 (SpineWeb Dataset 16).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from fusionwatch.anatomy import LUMBAR_LEVELS, Endplate, ImageSide, ap_corner_name
from fusionwatch.errors import InputError, LandmarkError
from fusionwatch.landmarks import Landmarks, check_inside_image, check_vertebra_order
from fusionwatch.radiograph import View

__all__ = ["read_spineweb_row", "read_spineweb", "spineweb_patient_id", "SPINEWEB_SOURCE"]

SPINEWEB_SOURCE = "file:spineweb16"
_N_VERTEBRAE = 17  # T1..T12, L1..L5
_FIRST_LUMBAR = 12  # index of L1 in the 17
_MIN_ENDPLATE_RATIO = 0.3  # an endplate shorter than 30 % of the other one is a collapsed (mislabelled) quadrilateral

_RING = (
    (Endplate.SUPERIOR, ImageSide.LEFT),
    (Endplate.SUPERIOR, ImageSide.RIGHT),
    (Endplate.INFERIOR, ImageSide.RIGHT),
    (Endplate.INFERIOR, ImageSide.LEFT),
)  # the body's outline, in order around it

_PATIENT = re.compile(r"^sunhl-\d+th-\d{1,2}-[A-Za-z]{3}-\d{4}-(\d+)\s")
_CORONAL = re.compile(r"^sunhl-\d+th-\d{1,2}-[A-Za-z]{3}-\d{4}-coronal(\d+)\.\w+$")


def spineweb_patient_id(filename: str) -> str:
    """The patient an image belongs to, for patient-grouped splits.

    ``sunhl-1th-02-Jan-2017-162 A AP.jpg`` -> ``"162"`` (images of one patient share the number before the letter);
    ``sunhl-1th-20-Jul-2016-coronal6.jpg`` -> ``"coronal6"`` (each of the 17 ``coronal<K>`` files is its own patient).

    Raises
    ------
    InputError
        If the name follows neither pattern (so a split cannot silently leak a patient across folds).
    """
    name = Path(filename).name.strip()
    if m := _CORONAL.match(name):
        return f"coronal{int(m.group(1))}"
    if m := _PATIENT.match(name):
        return str(int(m.group(1)))
    raise InputError(
        f"Cannot tell the patient of SpineWeb image {name!r}: expected 'sunhl-1th-<date>-<N> <letter> AP.jpg' or "
        "'sunhl-1th-<date>-coronal<K>.jpg'."
    )


def _cross(u: np.ndarray, v: np.ndarray) -> float:
    """z component of the cross product of two 2-D vectors (positive: v turns clockwise from u in image axes)."""
    return float(u[0] * v[1] - u[1] * v[0])


def _segments_cross(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
    def orient(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
        return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return d1 * d2 < 0 and d3 * d4 < 0


def _sort_corners(quad: np.ndarray, axis: np.ndarray) -> dict[tuple[Endplate, ImageSide], np.ndarray]:
    """Label the 4 corners of one vertebra whatever their order.

    Of the three ways to split 4 points into 2 segments, the diagonals cross and are skipped; of the others, the
    endplates are the pair of segments most perpendicular to the local spine ``axis`` (unit vector pointing down the
    spine). The superior endplate is the one higher along the axis; on each endplate "left" is the corner further
    towards image-left across the axis.
    """
    down = axis / np.linalg.norm(axis)
    across = np.array([down[1], -down[0]])
    if across[0] < 0:
        across = -across  # points to image right
    best: tuple[float, tuple[tuple[int, int], tuple[int, int]]] | None = None
    for a, b in (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))):
        if _segments_cross(quad[a[0]], quad[a[1]], quad[b[0]], quad[b[1]]):
            continue
        cost = 0.0
        for i, j in (a, b):
            seg = quad[j] - quad[i]
            length = float(np.linalg.norm(seg))
            cost += abs(float(np.dot(seg, down))) / length if length > 0 else 1.0
        if best is None or cost < best[0]:
            best = (cost, (a, b))
    assert best is not None  # at most one pairing crosses
    (a, b) = best[1]
    seg_a, seg_b = quad[list(a)], quad[list(b)]
    if float(np.dot(seg_a.mean(axis=0), down)) > float(np.dot(seg_b.mean(axis=0), down)):
        seg_a, seg_b = seg_b, seg_a
    out: dict[tuple[Endplate, ImageSide], np.ndarray] = {}
    for endplate, seg in ((Endplate.SUPERIOR, seg_a), (Endplate.INFERIOR, seg_b)):
        left, right = (seg[0], seg[1]) if np.dot(seg[0], across) <= np.dot(seg[1], across) else (seg[1], seg[0])
        out[(endplate, ImageSide.LEFT)], out[(endplate, ImageSide.RIGHT)] = left, right
    return out


def _local_axes(centres: np.ndarray) -> np.ndarray:
    """Unit direction down the spine at each vertebra, from the nearest plausible neighbours' centres.

    A vertebra whose centre is far from both neighbours (> 3 median steps, e.g. a level annotated at the top of the film
    because it was cut off) or on top of a neighbour (< 1/4 median step, a duplicated quadrilateral) is not used as a
    neighbour; the spine may bend strongly (scoliosis), so no global direction is imposed.
    """
    n = len(centres)
    gaps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    step = float(np.median(gaps)) or 1.0
    valid = np.ones(n, dtype=bool)
    for k in range(n):
        near = [gaps[k - 1]] if k > 0 else []
        near += [gaps[k]] if k < n - 1 else []
        if all(g > 3 * step for g in near) or any(g < 0.25 * step for g in near):
            valid[k] = False
    idx = np.flatnonzero(valid)
    fallback = centres[idx[-1]] - centres[idx[0]] if len(idx) >= 2 else np.array([0.0, 1.0])
    axes = []
    for k in range(n):
        before, after = idx[idx < k], idx[idx > k]
        a = before[-1] if len(before) else (k if valid[k] else None)
        b = after[0] if len(after) else (k if valid[k] else None)
        d = centres[b] - centres[a] if a is not None and b is not None and a != b else fallback
        if d[1] < 0:
            d = -d  # down the image: T1 is at the top of an AP film
        axes.append(d / (np.linalg.norm(d) or 1.0))
    return np.array(axes)


def read_spineweb_row(values_136: Sequence[float | str], width: int, height: int) -> Landmarks:
    """One ``landmarks.csv`` row -> AP landmarks of L1..L5 in pixels.

    Parameters
    ----------
    values_136 : sequence of 136 floats (or numeric strings, as read from the CSV)
        68 x values divided by the image width, then 68 y values divided by the image height (T1..L5 x 4 corners).
    width, height : int
        Image size in pixels; ``x_px = x * width``, ``y_px = y * height``.

    Returns
    -------
    Landmarks
        View AP, 20 points ``L1.superior.left`` ... ``L5.inferior.right`` (image sides), source ``file:spineweb16``;
        ``needs_review`` explains any implausible geometry left after sorting the corners.

    Raises
    ------
    LandmarkError
        If the row does not hold 136 finite numbers near [0, 1] (a point slightly outside the image, as in one row of
        the release, is kept and flagged in ``needs_review``) or the image size is not positive.
    """
    try:
        v = np.asarray([float(x) for x in values_136], dtype=np.float64)
    except (TypeError, ValueError):
        raise LandmarkError("SpineWeb row holds a value that is not a number.") from None
    if v.shape != (136,):
        raise LandmarkError(f"SpineWeb row has {v.size} values; expected 136 (68 x then 68 y).")
    if not np.all(np.isfinite(v)) or v.min() < -0.5 or v.max() > 1.5:
        raise LandmarkError(
            f"SpineWeb values must be normalised to the image size (about [0, 1]); got range "
            f"[{np.nanmin(v):.3g}, {np.nanmax(v):.3g}]. Is this a landmarks.csv row?"
        )
    if width <= 0 or height <= 0:
        raise LandmarkError(f"Image size must be positive, got {width} x {height}.")
    pts = np.stack([v[:68] * width, v[68:] * height], axis=1).reshape(_N_VERTEBRAE, 4, 2)
    centres = pts.mean(axis=1)
    axes = _local_axes(centres)
    points: dict[str, tuple[float, float]] = {}
    review: list[str] = []
    for i, level in enumerate(LUMBAR_LEVELS):
        k = _FIRST_LUMBAR + i
        corners = _sort_corners(pts[k], axes[k])
        for (endplate, side), p in corners.items():
            points[ap_corner_name(level, endplate, side)] = (float(p[0]), float(p[1]))
        ring = [corners[k] for k in _RING]
        turns = [_cross(ring[(j + 1) % 4] - ring[j], ring[(j + 2) % 4] - ring[(j + 1) % 4]) for j in range(4)]
        if not (all(t > 0 for t in turns) or all(t < 0 for t in turns)):
            review.append(f"{level.value}: the four corners do not form a convex vertebral body (mislabelled corner).")
        widths = [float(np.linalg.norm(corners[(e, ImageSide.LEFT)] - corners[(e, ImageSide.RIGHT)])) for e in Endplate]
        if min(widths) < _MIN_ENDPLATE_RATIO * max(widths):
            review.append(
                f"{level.value}: one endplate is {min(widths):.0f} px wide against {max(widths):.0f} px for the other "
                "(collapsed or mislabelled corners)."
            )
    landmarks = Landmarks(points, width=int(width), height=int(height), view=View.AP, source=SPINEWEB_SOURCE)
    for check in (check_inside_image, check_vertebra_order):
        try:
            check(landmarks)
        except LandmarkError as exc:
            review.append(str(exc))
    if review:
        landmarks = Landmarks(
            points,
            width=int(width),
            height=int(height),
            view=View.AP,
            source=SPINEWEB_SOURCE,
            needs_review=tuple(review),
        )
    return landmarks


def read_spineweb(folder: str | Path) -> Iterator[tuple[str, Landmarks]]:
    """Iterate ``(image file name, Landmarks)`` over a SpineWeb Dataset 16 folder, in ``filenames.csv`` order.

    Parameters
    ----------
    folder : str or Path
        Holding ``filenames.csv``, ``landmarks.csv`` and ``images/`` (the image sizes are read from the image headers).

    Raises
    ------
    InputError
        If a file is missing, the two CSVs have different row counts, or a listed image is absent.
    LandmarkError
        If a row cannot be parsed (the message names the row).
    """
    from fusionwatch.io.loading import image_size

    folder = Path(folder)
    files = {name: folder / name for name in ("filenames.csv", "landmarks.csv")}
    for path in files.values():
        if not path.is_file():
            raise InputError(f"SpineWeb folder {folder} has no {path.name}.")
    with files["filenames.csv"].open(newline="", encoding="utf-8") as fh:
        names = [row[0].strip() for row in csv.reader(fh) if row and row[0].strip()]
    with files["landmarks.csv"].open(newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.reader(fh) if row and any(c.strip() for c in row)]
    if len(names) != len(rows):
        raise InputError(f"{folder}: filenames.csv has {len(names)} rows but landmarks.csv has {len(rows)}.")
    for line, (name, row) in enumerate(zip(names, rows, strict=True), start=1):
        image = folder / "images" / name
        if not image.is_file():
            raise InputError(f"{folder}: image {name!r} listed in filenames.csv (row {line}) is not in images/.")
        width, height = image_size(image)
        try:
            landmarks = read_spineweb_row(row, width, height)
        except LandmarkError as exc:
            raise LandmarkError(f"{files['landmarks.csv']} row {line} ({name}): {exc}") from None
        yield name, landmarks
