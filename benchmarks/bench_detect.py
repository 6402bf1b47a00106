"""Speed and memory of automatic landmark detection plus measurement of one film (targets: <= 1 s, <= 1 GB peak).

Run: ``.venv/bin/python -m benchmarks.bench_detect``. Uses the shipped ONNX models. Films: a simulated lateral film at
full detector size (2000 x 2500 px, from :mod:`fusionwatch.sim`), and a SpineWeb AP film from ../shared/data if present.
The peak memory is the process's maximum resident set size (``ru_maxrss``), which includes Python, numpy and
onnxruntime themselves.

``.venv/bin/python -m benchmarks.bench_detect --robustness [--models DIR] [--cache DIR]``: instead, the AP chain's
robustness to the appearance changes the simulator may bring (a few minutes; the simulator renders the films): the
30 lumbar-only films ``sim:30:ap:900000`` as rendered, with darker flanks
(``fusionwatch.sim.render.ap_brightness.AP_FLANK`` set to (0.05, 0.45) and to (0.15, 0.70) in this process only), and
with grouped gas drawn at test time (:func:`fusionwatch.detect.augment.gas_overlay`, rng ``[777, i]`` for film ``i``).
Per set: corner error median / p95 (% of the image diagonal), L4-L5 wedge error, level-shifted films (> 0.5 level),
largest level offset, refused.
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


ROBUSTNESS_SETS = {"as rendered": None, "AP_FLANK 0.05-0.45": (0.05, 0.45), "AP_FLANK 0.15-0.70": (0.15, 0.70)}


def robustness_sets(cache: Path | None = None) -> dict[str, list]:
    """The robustness films (see the module docstring) by set name; simulated films cached per flank setting."""
    from fusionwatch.detect import augment
    from fusionwatch.detect.datasets import Sample, load_data
    from fusionwatch.sim.render import ap_brightness

    out: dict[str, list] = {}
    for name, flank in ROBUSTNESS_SETS.items():
        old = ap_brightness.AP_FLANK
        if flank is not None:
            ap_brightness.AP_FLANK = flank
        try:
            sub = None if cache is None else cache / ("plain" if flank is None else f"flank_{flank[0]}_{flank[1]}")
            out[name] = load_data("sim:30:ap:900000", cache_dir=sub)
        finally:
            ap_brightness.AP_FLANK = old
    gas = []
    for i, s in enumerate(out["as rendered"]):
        img = np.asarray(s.image, np.float32)
        img01 = (img - img.min()) / max(float(img.max() - img.min()), 1e-6)
        new = augment.gas_overlay(np.random.default_rng([777, i]), img01, dict(s.points))
        gas.append(Sample(**{**s.__dict__, "image": new}))
    out["grouped gas (test-time overlay)"] = gas
    return out


def robustness(models: Path | None = None, cache: Path | None = None) -> None:
    from fusionwatch.detect.evaluation import EvaluationReport, evaluate_one

    det = load_detector(models) if models is not None else load_detector()
    import fusionwatch.sim as sim

    print(f"SIM_VERSION {sim.SIM_VERSION}")
    for name, films in robustness_sets(cache).items():
        res = [evaluate_one(lambda r: det.detect(r, refine=True), f) for f in films]
        d = EvaluationReport(res).to_dict()
        err = d["radial_error_diag_percent"]
        wedge = d["measurement_abs_error"].get("disc_wedge_L4_L5", {}).get("mean", float("nan"))
        offs = [abs(f.level_offset) for f in res if f.level_offset is not None]
        print(
            f"{name}: median {err['median']:.3f} % p95 {err['p95']:.2f} %; wedge {wedge:.2f} deg; "
            f"level-shifted {d['level_offset'].get('shifted_films')} of {len(res)} "
            f"(max offset {max(offs) if offs else float('nan'):.2f}); refused {sum(f.failure is not None for f in res)}"
        )


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--robustness", action="store_true", help="AP robustness sets instead of speed and memory")
    ap.add_argument("--models", type=Path, default=None, help="models folder (default: the shipped files)")
    ap.add_argument("--cache", type=Path, default=None, help="cache folder for the simulated films")
    a = ap.parse_args()
    if a.robustness:
        robustness(a.models, a.cache)
    else:
        main()
