"""Speed of one film's analysis: measurements alone, the whole pipeline, and the overlay at two film sizes.

Run: ``.venv/bin/python -m benchmarks.bench_measure``. Synthetic landmarks (no shared data needed).
"""

from __future__ import annotations

import math
import time

import numpy as np

from fusionwatch.landmarks import Landmarks
from fusionwatch.measure import measure_film
from fusionwatch.pipeline import analyse_film
from fusionwatch.radiograph import Radiograph, View
from fusionwatch.report.overlay import render_overlay
from fusionwatch.units import Spacing, SpacingSource


def _lateral(width: int, height: int) -> Landmarks:
    """A plausible lordotic column facing left, scaled to the film (mm at 0.15 mm/px for 2000 x 2500)."""
    mm = 0.15 * 2500 / height
    pts: dict[str, tuple[float, float]] = {}
    theta, x, y = -40.0, 0.0, 0.0  # S1 endplate inclination (deg), posterior corner (mm, anatomical frame)
    u = (math.cos(math.radians(theta)), math.sin(math.radians(theta)))
    pts["S1.superior.posterior"], pts["S1.superior.anterior"] = (x, y), (x + 44 * u[0], y + 44 * u[1])
    for i, level in reversed(list(enumerate(("L1", "L2", "L3", "L4", "L5")))):
        n = (-u[1], u[0])
        x, y = x + 8 * n[0], y + 8 * n[1]
        theta += (2, 4, 7, 10, 14)[i]
        u = (math.cos(math.radians(theta)), math.sin(math.radians(theta)))
        pts[f"{level}.inferior.posterior"], pts[f"{level}.inferior.anterior"] = (x, y), (x + 40 * u[0], y + 40 * u[1])
        n = (-u[1], u[0])
        x, y = x + 27 * n[0], y + 27 * n[1]
        pts[f"{level}.superior.posterior"], pts[f"{level}.superior.anterior"] = (x, y), (x + 40 * u[0], y + 40 * u[1])
    pts["femoral_head.1"] = (30 + 110 * math.sin(math.radians(13)), -110 * math.cos(math.radians(13)))
    cx, cy = width * 0.55, height * 0.62
    px = {n: (cx - p[0] / mm, cy - p[1] / mm) for n, p in pts.items()}  # facing left: anterior to the image left
    return Landmarks(px, width, height, View.LATERAL, source="bench")


def _time(fn, repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    for width, height in ((500, 600), (2000, 2500)):
        lm = _lateral(width, height)
        spacing = Spacing.isotropic(0.15 * 2500 / height, SpacingSource.PATIENT_PLANE)
        pixels = np.random.default_rng(0).normal(1000, 50, (height, width)).astype(np.float32)
        film = Radiograph(pixels, spacing=spacing)
        measures = _time(lambda: measure_film(lm, spacing), 300)  # noqa: B023
        analysis = analyse_film(film, lm)
        pipeline = _time(lambda: analyse_film(film, lm), 100)  # noqa: B023
        overlay = _time(lambda: render_overlay(film, lm, analysis.measurements), 3)  # noqa: B023
        print(
            f"{width}x{height}: measure_film {measures * 1e3:.2f} ms, analyse_film {pipeline * 1e3:.2f} ms, "
            f"render_overlay {overlay:.2f} s ({len(analysis.measurements)} measurements, "
            f"review={len(analysis.needs_review)})"
        )


if __name__ == "__main__":
    main()
