"""Vertebral level bookkeeping: how far one set of vertebra corners sits from another *along the spine*, in levels.

Used to count whole-column level shifts in the evaluation (a column placed one vertebra too high or too low, e.g. T12
labelled L1) and, in the AP detector, to keep the crop stage from moving the column that the level-counting film
stage (``ap-spine``) placed by a whole level.

Points are ``(x, y)`` pixels (x right, y down); names ``<level>.<endplate>.<side>`` as in :mod:`fusionwatch.anatomy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["LUMBAR", "level_offset"]

LUMBAR: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5")


def level_offset(
    predicted: Mapping[str, tuple[float, float]],
    truth: Mapping[str, tuple[float, float]],
    levels: Sequence[str] = LUMBAR,
) -> float | None:
    """Mean signed offset of the predicted vertebrae along the spine, in vertebral levels (+ = too low, i.e. caudal).

    Each level's centre is the mean of its 4 corners (names ``<level>.*``); its offset is the projection of
    (predicted - true centre) on the local spine axis (the true centres of its neighbours), divided by the local
    level pitch (distance between consecutive true centres). ``None`` when fewer than 2 levels have all 4 corners
    in both point sets. ``|offset| > 0.5`` means the column is shifted by a whole level on average.
    """

    def centre(points: Mapping[str, tuple[float, float]], lv: str) -> np.ndarray | None:
        c = [points[n] for n in points if n.startswith(f"{lv}.")]
        return np.mean(np.asarray(c, float), axis=0) if len(c) == 4 else None

    pairs = [(centre(truth, lv), centre(predicted, lv)) for lv in levels]
    pairs = [(t, p) for t, p in pairs if t is not None and p is not None]
    if len(pairs) < 2:
        return None
    true_c = np.array([t for t, _ in pairs])
    offs = []
    for i, (t, p) in enumerate(pairs):
        a, b = true_c[max(i - 1, 0)], true_c[min(i + 1, len(pairs) - 1)]
        pitch = np.linalg.norm(b - a) / (min(i + 1, len(pairs) - 1) - max(i - 1, 0))
        if pitch <= 0:
            return None
        axis = (b - a) / np.linalg.norm(b - a)
        offs.append(float((p - t) @ axis) / pitch)
    return float(np.mean(offs))
