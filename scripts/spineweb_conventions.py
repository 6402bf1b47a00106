"""How differently the SpineWeb Dataset 16 annotation batches outline the lumbar vertebrae, and what that costs.

Usage::

    .venv/bin/python scripts/spineweb_conventions.py [SPINEWEB_DIR]

``SPINEWEB_DIR`` defaults to ``$FUSIONWATCH_SHARED_DATA/spineweb16-ap`` (else ``../shared/data/spineweb16-ap``
beside the repository). Reads only ``filenames.csv``, ``landmarks.csv`` and the image sizes.

The release's file names carry the annotation batch (``sunhl-1th-<day>-<Mon>-<year>-...``). Per batch, for L1-L5, it
prints shape ratios that do not depend on the film's scale, each divided by the vertebral pitch (half the distance
between the centres of the vertebrae above and below, a spacing the annotators cannot change by where they put a
corner): endplate width, body height, disc height. Then the **convention floor**: every L1-L5 quadrilateral of the
Jan 2017 and Jul + Nov 2016 batches is rescaled about its own centre, along its own endplate and side directions, by
the square root of the two batches' median width and height ratios (the "middle" convention), and the median corner
displacement is printed in % of the image diagonal. A detector that cannot tell which batch a film came from can do no
better, on the median, than roughly this against the truth as released.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

LUMBAR = slice(12, 17)  # T1..L5 read top to bottom: L1-L5 are the last five of the 17


def _default_dir() -> Path:
    shared = os.environ.get("FUSIONWATCH_SHARED_DATA")
    base = Path(shared) if shared else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return base / "spineweb16-ap"


def _batch(name: str) -> str:
    m = re.search(r"-\d+-([A-Za-z]{3})-(\d{4})", name)
    return f"{m.group(1)} {m.group(2)}" if m else "other"


def _quads(row: list[float], width: int, height: int) -> np.ndarray:
    """(17, 4, 2) corners in pixels, vertebrae sorted top to bottom (corners: TL, TR, BL, BR as released)."""
    pts = np.stack([np.array(row[:68]) * width, np.array(row[68:]) * height], axis=1).reshape(17, 4, 2)
    return pts[np.argsort(pts[:, :, 1].mean(axis=1))]


def _ratios(quads: np.ndarray, i: int) -> tuple[float, float, float]:
    """Endplate width, body height and disc height (below vertebra ``i``) over the pitch at vertebra ``i``."""
    q = quads[i]
    centres = quads.mean(axis=1)
    pitch = np.linalg.norm(centres[i + 1] - centres[i - 1]) / 2.0
    width = (np.linalg.norm(q[0] - q[1]) + np.linalg.norm(q[2] - q[3])) / 2.0
    body = (np.linalg.norm(q[0] - q[2]) + np.linalg.norm(q[1] - q[3])) / 2.0
    disc = np.linalg.norm(quads[i + 1, :2].mean(axis=0) - q[2:].mean(axis=0))
    return width / pitch, body / pitch, disc / pitch


def _rescaled(q: np.ndarray, f_width: float, f_height: float) -> np.ndarray:
    """``q`` scaled about its centre by ``f_width`` along its mean endplate direction and ``f_height`` across it."""
    c = q.mean(axis=0)
    u = (q[1] - q[0]) + (q[3] - q[2])
    u /= np.linalg.norm(u)
    v = np.array([-u[1], u[0]])
    d = q - c
    return c + np.outer((d @ u) * f_width, u) + np.outer((d @ v) * f_height, v)


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else _default_dir()
    if not (root / "landmarks.csv").is_file():
        sys.exit(f"error: no SpineWeb Dataset 16 at {root} (expected filenames.csv, landmarks.csv, images/).")
    names = [r[0] for r in csv.reader((root / "filenames.csv").open())]
    rows = [[float(x) for x in r] for r in csv.reader((root / "landmarks.csv").open())]
    films = []
    for name, row in zip(names, rows, strict=True):
        w, h = Image.open(root / "images" / name).size
        films.append((_batch(name), _quads(row, w, h), float(np.hypot(w, h))))
    ratios: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for batch, quads, _ in films:
        ratios[batch] += [_ratios(quads, i) for i in range(12, 16)]  # L1-L4 (L5 has no vertebra below)
    print("batch        films  width/pitch  body height/pitch  disc height/pitch   (L1-L4 medians)")
    med = {}
    for batch in sorted(ratios, key=lambda b: -len(ratios[b])):
        a = np.array(ratios[batch])
        med[batch] = np.median(a, axis=0)
        n = sum(1 for b, _, _ in films if b == batch)
        print(f"{batch:12s} {n:5d}  {med[batch][0]:11.3f}  {med[batch][1]:17.3f}  {med[batch][2]:17.3f}")
    thin, wide = "Jan 2017", ("Jul 2016", "Nov 2016")
    wide_med = np.median(np.concatenate([np.array(ratios[b]) for b in wide]), axis=0)
    f_w, f_h = np.sqrt(wide_med[0] / med[thin][0]), np.sqrt(wide_med[1] / med[thin][1])
    moved: dict[str, list[float]] = {thin: [], "Jul + Nov 2016": []}
    for batch, quads, diag in films:
        if batch == thin:
            key, fw, fh = thin, f_w, f_h
        elif batch in wide:
            key, fw, fh = "Jul + Nov 2016", 1 / f_w, 1 / f_h
        else:
            continue
        for q in quads[LUMBAR]:
            moved[key] += list(np.linalg.norm(_rescaled(q, fw, fh) - q, axis=1) / diag * 100)
    print(f"\nmiddle convention: width x{f_w:.3f}, height x{f_h:.3f} for {thin} (the inverse for Jul + Nov 2016)")
    for key, e in moved.items():
        print(f"convention floor {key:15s}: median corner displacement {np.median(e):.3f} % of the diagonal "
              f"({len(e)} L1-L5 corners)")
    print(f"convention floor, both: median {np.median(moved[thin] + moved['Jul + Nov 2016']):.3f} %")


if __name__ == "__main__":
    main(sys.argv[1:])
