"""Speed and memory of automatic landmark detection plus measurement of one film (targets: <= 1 s, <= 1 GB peak).

Run: ``.venv/bin/python -m benchmarks.bench_detect``. Uses the shipped ONNX models. Films: a simulated lateral film at
full detector size (2000 x 2500 px, from :mod:`fusionwatch.sim`), and a SpineWeb AP film from ../shared/data if present.
The peak memory is the process's maximum resident set size (``ru_maxrss``), which includes Python, numpy and
onnxruntime themselves.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np

from fusionwatch.detect import detect_landmarks, load_detector
from fusionwatch.measure import measure_film
from fusionwatch.radiograph import Radiograph, View

SHARED = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _films() -> list[tuple[str, Radiograph]]:
    films = []
    try:
        from fusionwatch.detect._simdata import random_film

        f = random_film(123_456, "lateral", size=(2000, 2500))
        films.append(("simulated lateral 2000x2500", Radiograph(f.pixels.astype(np.float32), view=View.LATERAL)))
    except Exception as exc:  # noqa: BLE001 - the simulator is optional for this benchmark
        print(f"(no simulated film: {exc})")
    folder = SHARED / "spineweb16-ap" / "images"
    if folder.is_dir():
        from PIL import Image

        path = sorted(folder.glob("*.jpg"))[0]
        px = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        films.append((f"SpineWeb AP {px.shape[1]}x{px.shape[0]}", Radiograph(px, view=View.AP)))
    return films


def main(repeats: int = 10) -> None:
    t0 = time.perf_counter()
    load_detector()
    print(f"model loading: {time.perf_counter() - t0:.2f} s (once per process)")
    for label, film in _films():
        detect_landmarks(film)  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            lm = detect_landmarks(film)
            measure_film(lm, film.spacing)
            times.append(time.perf_counter() - t)
        a = np.array(times)
        print(
            f"{label}: detect + measure median {np.median(a):.3f} s, max {a.max():.3f} s over {repeats} runs "
            f"({len(lm.points)} points, needs_review={len(lm.needs_review)})"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
