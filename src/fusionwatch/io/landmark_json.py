"""Read and write the landmark JSON file (schema ``fusionwatch.landmarks/1``, docs/landmarks.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fusionwatch.errors import LandmarkError
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import View

__all__ = ["SCHEMA", "landmarks_from_dict", "landmarks_to_dict", "read_landmarks", "write_landmarks"]

SCHEMA = "fusionwatch.landmarks/1"


def landmarks_from_dict(d: Any, where: str = "landmark data") -> Landmarks:
    """Build :class:`Landmarks` from the parsed JSON object, raising LandmarkError with what is wrong and where."""
    if not isinstance(d, dict):
        raise LandmarkError(f"{where}: expected a JSON object, got {type(d).__name__}.")
    if d.get("schema") != SCHEMA:
        raise LandmarkError(f"{where}: expected \"schema\": \"{SCHEMA}\", got {d.get('schema')!r}.")
    image = d.get("image")
    if not isinstance(image, dict) or not all(isinstance(image.get(k), int) for k in ("width", "height")):
        raise LandmarkError(f"{where}: \"image\" must be {{\"width\": W, \"height\": H}} with integer pixels.")
    try:
        view = View(d.get("view", "lateral"))
    except ValueError:
        raise LandmarkError(
            f"{where}: unknown view {d.get('view')!r}; expected one of {[v.value for v in View]}."
        ) from None
    points = d.get("points")
    if not isinstance(points, dict):
        raise LandmarkError(f"{where}: \"points\" must be an object mapping names to [x, y].")
    for name, p in points.items():
        if not (
            isinstance(p, list) and len(p) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
        ):
            raise LandmarkError(f"{where}: point {name!r} must be [x, y] numbers, got {p!r}.")
    confidence = d.get("confidence", {}) or {}
    if not isinstance(confidence, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in confidence.values()
    ):
        raise LandmarkError(f"{where}: \"confidence\" must map names to numbers.")
    needs_review = d.get("needs_review", []) or []
    if not isinstance(needs_review, list) or not all(isinstance(r, str) for r in needs_review):
        raise LandmarkError(
            f"{where}: \"needs_review\" must be a list of texts (one reason each), got {needs_review!r}."
        )
    try:
        return Landmarks(
            points={n: (float(p[0]), float(p[1])) for n, p in points.items()},
            width=image["width"],
            height=image["height"],
            view=view,
            confidence={n: float(c) for n, c in confidence.items()},
            source=str(d.get("source", "")),
            needs_review=tuple(needs_review),
        )
    except LandmarkError as exc:  # which file: a motion run reads two, an ingest one per film
        raise LandmarkError(f"{where}: {exc}") from None


def landmarks_to_dict(landmarks: Landmarks) -> dict[str, Any]:
    """The JSON object for ``landmarks`` (points rounded to 1/1000 px)."""
    d: dict[str, Any] = {
        "schema": SCHEMA,
        "image": {"width": landmarks.width, "height": landmarks.height},
        "view": landmarks.view.value,
        "points": {n: [round(p[0], 3), round(p[1], 3)] for n, p in landmarks.points.items()},
        "confidence": {n: round(c, 4) for n, c in landmarks.confidence.items()},
        "source": landmarks.source,
    }
    if landmarks.needs_review:
        d["needs_review"] = list(landmarks.needs_review)
    return d


def read_landmarks(path: str | Path) -> Landmarks:
    """Read a landmark JSON file.

    Raises
    ------
    LandmarkError
        If the file is missing, is not UTF-8 text (a UTF-8 byte-order mark is accepted), is not JSON, or does not follow
        the schema or the landmark rules; the message names the file and the problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors write one) is no error
    except FileNotFoundError:
        raise LandmarkError(f"Landmark file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise LandmarkError(
            f"{path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); a landmark file "
            "is JSON in UTF-8: save it again as UTF-8."
        ) from None
    except OSError as exc:
        raise LandmarkError(f"Cannot read landmark file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LandmarkError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    return landmarks_from_dict(data, where=str(path))


def write_landmarks(landmarks: Landmarks, path: str | Path) -> Path:
    """Write ``landmarks`` as JSON (UTF-8, indented) and return the path."""
    path = Path(path)
    path.write_text(json.dumps(landmarks_to_dict(landmarks), indent=2) + "\n", encoding="utf-8")
    return path
