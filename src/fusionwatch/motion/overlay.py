"""Overlay of the registered vertebral body outlines on the flexion and extension films (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from fusionwatch.anatomy import Level
from fusionwatch.landmarks import Landmarks
from fusionwatch.motion._geometry import apply, body_outline
from fusionwatch.motion._register import MotionResult
from fusionwatch.radiograph import Radiograph

__all__ = ["save_motion_overlay", "motion_overlay"]

_FLEX_COLOUR = (80, 220, 80)  # BGR green: landmark outline on flexion
_REG_COLOUR = (255, 200, 0)  # BGR cyan-blue: registered outline on extension
_LM_COLOUR = (0, 200, 255)  # BGR amber: extension landmarks, for comparison


def _u8(img: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(img, [0.5, 99.5])
    return (np.clip((img - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)


def _poly(canvas: np.ndarray, pts: np.ndarray, colour: tuple[int, int, int], thick: int) -> None:
    cv2.polylines(canvas, [np.round(pts * 16).astype(np.int32)], True, colour, thick, cv2.LINE_AA, shift=4)


def motion_overlay(
    flexion: Radiograph,
    extension: Radiograph,
    lm_flexion: Landmarks,
    results: Sequence[MotionResult],
    lm_extension: Landmarks | None = None,
) -> np.ndarray:
    """Side-by-side BGR uint8 image: flexion with the landmark body outlines (green), extension with the registered
    outlines (blue) and, when given, the extension landmark outlines (amber, thin) for comparison. When S1 was
    registered on the pelvic region, that region is drawn thin on both films too."""
    thick = max(1, round(max(flexion.width, flexion.height) / 500))
    left = cv2.cvtColor(_u8(flexion.pixels), cv2.COLOR_GRAY2BGR)
    right = cv2.cvtColor(_u8(extension.pixels), cv2.COLOR_GRAY2BGR)
    drawn: set[str] = set()
    for r in results:
        for name, body in r.evidence.get("bodies", {}).items():
            if name in drawn:
                continue
            drawn.add(name)
            outline = body_outline(lm_flexion, Level(name))
            _poly(left, outline, _FLEX_COLOUR, thick)
            m = np.vstack([np.asarray(body["transform"], float), [0, 0, 1]])
            _poly(right, apply(m, outline), _REG_COLOUR, thick)
            if lm_extension is not None:
                _poly(right, body_outline(lm_extension, Level(name)), _LM_COLOUR, max(1, thick // 2))
            region = str(body.get("region", ""))
            if region.startswith("pelvic"):  # the S1 region actually matched (docs/motion.md): thin outline
                pelvic = body_outline(lm_flexion, Level(name), float(region.split()[1]))
                _poly(left, pelvic, _FLEX_COLOUR, max(1, thick // 2))
                _poly(right, apply(m, pelvic), _REG_COLOUR, max(1, thick // 2))
    h = max(left.shape[0], right.shape[0])
    pad = lambda im: cv2.copyMakeBorder(im, 0, h - im.shape[0], 0, 0, cv2.BORDER_CONSTANT)  # noqa: E731
    canvas = np.hstack([pad(left), pad(right)])
    scale = max(0.4, h / 900)
    y = int(28 * scale)
    for text in ["flexion (landmarks)", ""]:
        cv2.putText(canvas, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, (255, 255, 255), thick, cv2.LINE_AA)
    cv2.putText(
        canvas,
        "extension (registered)",
        (left.shape[1] + 8, y),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7 * scale,
        (255, 255, 255),
        thick,
        cv2.LINE_AA,
    )
    for i, r in enumerate(results):
        t = "" if r.translation_mm is None else f", {r.translation_mm:+.1f}+/-{r.translation_sd:.1f} mm"
        text = f"{r.level}: {r.angle_deg:+.1f}+/-{r.angle_sd_deg:.1f} deg{t} ({r.translation_percent:+.1f} %)"
        cv2.putText(
            canvas,
            text,
            (8, y + int((i + 1) * 30 * scale)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            (255, 255, 255),
            thick,
            cv2.LINE_AA,
        )
    return canvas


def save_motion_overlay(
    path: str | Path,
    flexion: Radiograph,
    extension: Radiograph,
    lm_flexion: Landmarks,
    results: Sequence[MotionResult],
    lm_extension: Landmarks | None = None,
) -> Path:
    """Write :func:`motion_overlay` as a PNG and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), motion_overlay(flexion, extension, lm_flexion, results, lm_extension)):
        raise OSError(f"Could not write the overlay to {path}.")
    return path
