"""Simulator speed and memory: one 2000 x 2500 lateral film, one AP film (adult and, since version 13, scoliotic),
a whole journey (targets: <= 2 s per film, <= 60 s per journey, <= 2 GB peak resident memory).

    .venv/bin/python -m benchmarks.bench_sim
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    from fusionwatch.radiograph import View
    from fusionwatch.sim import FilmSpec, Hardware, Healing, SpineParams, simulate_film, simulate_journey
    from fusionwatch.sim.anatomy import load_anatomy

    t0 = time.perf_counter()
    load_anatomy()
    print(f"load bundled anatomy: {time.perf_counter() - t0:.2f} s")
    from fusionwatch.sim.variation import patient_anatomy

    t0 = time.perf_counter()
    patient_anatomy(987)
    print(
        f"one new patient's anatomy (bone warps, soft tissue, bowel gas; cached per patient): "
        f"{time.perf_counter() - t0:.2f} s"
    )
    params = SpineParams(slips_mm=(0, 0, 0, 0, 5.0))
    simulate_film(params, FilmSpec(width=400, height=500))  # warm caches (texture maps, AP points)
    simulate_film(params, FilmSpec(view=View.AP, width=400, height=500))
    # version 13: an adolescent-scoliosis pose (coronal curve with axial rotation), pre-op AP; version 14 (when the
    # simulator has it) also wedges L2 and L3
    scoliotic = replace(
        params,
        slips_mm=(0.0,) * 5,
        coronal_wedges_deg=(10.0, 14.0, 9.0, -8.0, -5.0),
        axial_rotations_deg=(10.0, 18.0, 14.0, 5.0, -3.0),
    )
    if hasattr(scoliotic, "vertebral_wedges_deg"):
        scoliotic = replace(
            scoliotic, coronal_wedges_deg=(8.0, 10.5, 7.5, -8.0, -5.0), vertebral_wedges_deg=(0, 4.0, 3.0, 0, 0)
        )
    cases = (
        (View.LATERAL, None, params, ""),
        (View.LATERAL, Hardware(), params, ""),
        (View.AP, Hardware(), params, ""),
        (View.AP, None, scoliotic, ", scoliotic pose (curve + axial rotation)"),
    )
    for view, hw, p, extra in cases:
        times = []
        for k in range(3):
            t = time.perf_counter()
            simulate_film(
                p,
                FilmSpec(view=view, width=2000, height=2500),
                hardware=hw,
                healing=Healing(bridging_fraction=0.5),
                noise_seed=k,
            )
            times.append(time.perf_counter() - t)
        label = f"{view.value} {'with implants' if hw else 'pre-op'}{extra}"
        print(f"film 2000x2500 {label}: best {min(times):.2f} s, median {sorted(times)[1]:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = simulate_journey("pseudarthrosis", 1, Path(tmp))
        n = len(__import__("json").loads(path.read_text())["films"])
        print(
            f"journey pseudarthrosis, {n} films at 2000x2500 (DICOM + PNG + landmarks): {time.perf_counter() - t:.1f} s"
        )
    print(f"peak resident memory: {_peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
