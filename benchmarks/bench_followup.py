"""Speed of the follow-up path: ingest of simulated journeys (per film, with and without the visit analysis), a
re-run that skips everything, and building the timeline from the store.

Run: ``.venv/bin/python -m benchmarks.bench_followup``. Simulates the five scenario journeys (1000 x 1250 px films,
seed 1) into a temporary folder, ingests each into a fresh SQLite file. No shared data needed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from fusionwatch.ingest import ingest_journey
from fusionwatch.sim.journey import SCENARIOS, simulate_journey
from fusionwatch.store import Store

SIZE = (1000, 1250)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fw-bench-followup-") as tmp:
        root = Path(tmp)
        rows = []
        for scenario in SCENARIOS:
            manifest = simulate_journey(scenario, 1, root / scenario, size=SIZE)
            key = f"SIM-{scenario}-1"
            timings = {}
            for analyse in (False, True):
                db = root / f"{scenario}-{analyse}.db"
                with Store(db) as store:
                    t0 = time.perf_counter()
                    report = ingest_journey(manifest, store, analyse=analyse)
                    timings[analyse] = (time.perf_counter() - t0, len(report.added))
                    if analyse:
                        t0 = time.perf_counter()
                        again = ingest_journey(manifest, store, analyse=False)
                        rerun = time.perf_counter() - t0
                        assert len(again.skipped) == len(report.added)
                        loads = []
                        for _ in range(5):
                            t0 = time.perf_counter()
                            store.load_timeline(key)
                            loads.append(time.perf_counter() - t0)
            n = timings[True][1]
            rows.append((scenario, n, timings[False][0], timings[True][0], rerun, statistics.median(loads)))
        print(f"films {SIZE[0]} x {SIZE[1]} px, SQLite file store")
        print(f"{'scenario':32s} {'films':>5s} {'ingest s/film':>14s} {'+analysis s/film':>17s} "
              f"{'re-run (all skipped) s':>23s} {'load_timeline ms':>17s}")
        for scenario, n, plain, full, rerun, load in rows:
            print(f"{scenario:32s} {n:5d} {plain / n:14.3f} {full / n:17.3f} {rerun:23.3f} {load * 1000:17.1f}")


if __name__ == "__main__":
    main()
