"""Read a BUU-LSPINE lateral annotation CSV into lateral :class:`~fusionwatch.landmarks.Landmarks`.

Format (BUU-LSPINE, Klinwichit et al., Appl. Sci. 2023, 13(15):8646; checked on real files, ../shared/data/README.md):
one CSV per image, 11 rows ``x1,y1,x2,y2,label`` in pixels (origin top-left, y down), rows = endplates L1 superior,
L1 inferior, L2 superior, ..., L5 inferior, S1 superior. The fifth column is ignored. The files checked had the patient
facing image-left with (x1, y1) the anterior corner, but only two films were checked, so the anterior corner is decided
from geometry here, never from the column order:

1. **Sides.** The spine axis runs from the L1 superior endplate midpoint to the S1 endplate midpoint. Every row's two
   corners are put on the two sides of that axis (the side each lies on across the axis), so a file whose columns are
   swapped in some rows still groups every anterior corner on one side.
2. **Which side is anterior**, by a vote of three anatomical cues (each votes for one side or abstains when too weak):

   a. *Sacral slope*: the S1 superior endplate slopes down towards the front (sacral slope ~ 40 deg +/- 8, CLINICAL.md),
      so the S1 corner further down the spine axis is anterior (abstains below 5 deg of tilt).
   b. *Lordosis*: the lumbar column bulges anteriorly, so the side towards which the endplate midpoints deviate from the
      L1-S1 chord is anterior (abstains below 1 % of the chord length).
   c. *Disc wedging*: the L4-L5 and L5-S1 discs are taller anteriorly in lordosis, so the side with the larger summed
      relative disc height is anterior (abstains below 10 %).

   The majority wins. When the cues disagree the result carries a ``needs_review`` note; when none votes (a perfectly
   straight, unwedged column) the dataset's documented convention (x1 anterior) is used and flagged for review.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from fusionwatch.anatomy import Corner, Endplate, Level, corner_name
from fusionwatch.errors import FusionwatchError, LandmarkError
from fusionwatch.landmarks import Landmarks, check_inside_image
from fusionwatch.radiograph import View

__all__ = ["read_buu_lateral_csv", "BUU_SOURCE", "BUU_ROWS"]

BUU_SOURCE = "file:buu-lspine"

BUU_ROWS: tuple[tuple[Level, Endplate], ...] = (
    *(
        (lv, ep)
        for lv in (Level.L1, Level.L2, Level.L3, Level.L4, Level.L5)
        for ep in (Endplate.SUPERIOR, Endplate.INFERIOR)
    ),
    (Level.S1, Endplate.SUPERIOR),
)
"""The endplate of each of the 11 rows, top to bottom."""

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".dcm", ".dicom")
_MIN_SACRAL_TILT = math.sin(math.radians(5.0))
_MIN_BULGE = 0.01
_MIN_WEDGE = 0.10


def _parse(path: Path) -> np.ndarray:
    """(11, 2, 2) array: row, corner (column 1 / column 2), (x, y)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LandmarkError(f"BUU-LSPINE annotation file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LandmarkError(f"Cannot read BUU-LSPINE annotation {path}: {exc}") from None
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if len(rows) == len(BUU_ROWS) + 1:  # tolerate one header line
        try:
            float(rows[0][0])
        except ValueError:
            rows = rows[1:]
    if len(rows) != len(BUU_ROWS):
        raise LandmarkError(
            f"{path} has {len(rows)} rows; a BUU-LSPINE lateral file has {len(BUU_ROWS)} (L1 superior ... S1 superior)."
        )
    out = np.empty((len(BUU_ROWS), 2, 2))
    for i, row in enumerate(rows):
        if len(row) < 4:
            raise LandmarkError(f"{path} row {i + 1} has {len(row)} columns; expected x1,y1,x2,y2[,label].")
        try:
            x1, y1, x2, y2 = (float(c) for c in row[:4])
        except ValueError:
            raise LandmarkError(f"{path} row {i + 1}: {row[:4]!r} are not four numbers x1,y1,x2,y2.") from None
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise LandmarkError(f"{path} row {i + 1}: coordinates must be finite, got {row[:4]!r}.")
        out[i] = ((x1, y1), (x2, y2))
    return out


def _anterior_side(rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Which corner of each row is anterior: an (11,) array of 0 (column 1) or 1 (column 2), and review notes."""
    mids = rows.mean(axis=1)
    chord = mids[-1] - mids[0]
    length = float(np.linalg.norm(chord))
    if length < 1e-6:
        raise LandmarkError("The L1 and S1 endplates coincide: the annotation is degenerate.")
    down = chord / length
    across = np.array([-down[1], down[0]])
    # side[i] = index of the corner of row i lying on the +across side.
    plus = np.array([0 if np.dot(r[0] - r[1], across) >= 0 else 1 for r in rows])
    corner_plus = rows[np.arange(len(rows)), plus]
    corner_minus = rows[np.arange(len(rows)), 1 - plus]

    votes: dict[str, int] = {}
    s1 = corner_plus[-1] - corner_minus[-1]
    tilt = float(np.dot(s1, down)) / max(float(np.linalg.norm(s1)), 1e-9)
    if abs(tilt) >= _MIN_SACRAL_TILT:
        votes["sacral slope"] = 1 if tilt > 0 else -1
    bulge = float(np.mean([np.dot(m - mids[0], across) for m in mids[1:-1]])) / length
    if abs(bulge) >= _MIN_BULGE:
        votes["lordosis"] = 1 if bulge > 0 else -1
    wedge = 0.0
    for upper, lower in ((7, 8), (9, 10)):  # L4 inferior / L5 superior, L5 inferior / S1 superior
        h_plus = float(np.linalg.norm(corner_plus[upper] - corner_plus[lower]))
        h_minus = float(np.linalg.norm(corner_minus[upper] - corner_minus[lower]))
        wedge += (h_plus - h_minus) / max((h_plus + h_minus) / 2, 1e-9)
    if abs(wedge) >= _MIN_WEDGE:
        votes["disc wedging"] = 1 if wedge > 0 else -1

    notes: list[str] = []
    total = sum(votes.values())
    if total == 0:
        notes.append(
            "Anterior side could not be decided from geometry (sacral slope, lordosis and disc wedging "
            f"{'disagree' if votes else 'are all too small'}); the column order (x1 anterior) was used."
        )
        return np.zeros(len(rows), dtype=int), notes
    if len(set(votes.values())) > 1:
        winners = [k for k, v in votes.items() if v == (1 if total > 0 else -1)]
        losers = [k for k, v in votes.items() if v != (1 if total > 0 else -1)]
        notes.append(
            f"Anterior side decided by {', '.join(winners)} against {', '.join(losers)}: check the corner labels."
        )
    anterior = plus if total > 0 else 1 - plus
    return anterior, notes


def _size(path: Path, width: int | None, height: int | None, image: str | Path | None) -> tuple[int, int]:
    from fusionwatch.io.loading import image_size

    if image is not None:
        try:
            size = image_size(image)
        except FusionwatchError as exc:
            raise LandmarkError(f"Cannot read the size of {image}: {exc}") from None
        if (width, height) != (None, None) and (width, height) != size:
            raise LandmarkError(f"Image size {width} x {height} given, but {image} is {size[0]} x {size[1]} px.")
        return size
    if width is not None and height is not None:
        return int(width), int(height)
    for candidate in sorted(path.parent.glob(path.stem + ".*")):
        if candidate.suffix.lower() in _IMAGE_SUFFIXES:
            return image_size(candidate)
    raise LandmarkError(
        f"{path}: no image size. Give width and height, the image path, or put the image beside the CSV with the same "
        "name (e.g. 0001-F-037Y1.jpg)."
    )


def read_buu_lateral_csv(
    path: str | Path,
    width: int | None = None,
    height: int | None = None,
    *,
    image: str | Path | None = None,
) -> Landmarks:
    """Read one BUU-LSPINE lateral CSV (11 endplates, L1 superior ... S1 superior).

    Parameters
    ----------
    path : str or Path
        The CSV.
    width, height : int, optional
        Image size in pixels. Not needed when ``image`` is given or the image lies beside the CSV with the same stem
        (``.jpg``, ``.png``, ``.tif``, ``.dcm``...).
    image : str or Path, optional
        The film the CSV belongs to; its size is read from the header (and must match ``width``/``height`` if also
        given).

    Returns
    -------
    Landmarks
        View lateral, the 22 corners ``L1.superior.anterior`` ... ``S1.superior.posterior`` in pixels, anterior and
        posterior decided by geometry (module docstring); source ``file:buu-lspine``; ``needs_review`` when the
        geometric cues disagree.

    Raises
    ------
    LandmarkError
        Missing or unparsable file, wrong number of rows or columns, no image size, degenerate geometry, or points
        outside the image (the message names the file).
    """
    path = Path(path)
    rows = _parse(path)
    w, h = _size(path, width, height, image)
    anterior, notes = _anterior_side(rows)
    points: dict[str, tuple[float, float]] = {}
    for i, (level, endplate) in enumerate(BUU_ROWS):
        a, p = rows[i, anterior[i]], rows[i, 1 - anterior[i]]
        points[corner_name(level, endplate, Corner.ANTERIOR)] = (float(a[0]), float(a[1]))
        points[corner_name(level, endplate, Corner.POSTERIOR)] = (float(p[0]), float(p[1]))
    landmarks = Landmarks(points, width=w, height=h, view=View.LATERAL, source=BUU_SOURCE, needs_review=tuple(notes))
    try:
        check_inside_image(landmarks)
    except LandmarkError as exc:
        raise LandmarkError(f"{path}: {exc}") from None
    return landmarks
