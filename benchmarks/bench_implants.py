"""Implant detection against the simulator's truth: screws (tip, axis, level), rods, halo width, findings.

For each simulated journey (``fusionwatch.sim.simulate_journey``; skipped when it does not exist) every post-operative
lateral and AP film is run through :func:`fusionwatch.implants.detect_implants`; each true screw counts as found when a
detected screw of the same level has its tip within 3 mm and its axis within 5 deg. Also reported: detected screws that
match no true screw (false), rods found, and the halo width error of matched screws.

Run: ``nice -n 10 .venv/bin/python -m benchmarks.bench_implants [OUT_DIR]`` (OUT_DIR keeps the journeys for reuse).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

SCENARIOS = ("solid-fusion", "screw-loosening", "pseudarthrosis")
TIP_MM, AXIS_DEG = 3.0, 5.0


def evaluate(journey: Path) -> dict[str, list[float]]:
    from fusionwatch.implants import detect_implants, halo_width
    from fusionwatch.io import read_landmarks, read_radiograph

    data = json.loads(journey.read_text())
    stats: dict[str, list[float]] = {"true": [], "found": [], "false": [], "halo_err": [], "rods": [], "films": []}
    for f in data["films"]:
        truth = f["truth"].get("implants")
        if f["view"] not in ("lateral", "ap") or not truth:
            continue
        film = read_radiograph(journey.parent / f["file"])
        lm = read_landmarks(journey.parent / f["landmarks"])
        found = detect_implants(film, lm)
        mm = film.spacing.dx_mm if film.spacing else 1.0
        matched: set[int] = set()
        for t in truth["screws"]:
            level = t["id"].split(".")[0]
            ok = None
            for i, s in enumerate(found.screws):
                if s.level is None or s.level.value != level or i in matched:
                    continue
                cos = abs(float(np.dot(s.axis, t["axis"])))
                if math.dist(s.tip, t["tip"]) * mm <= TIP_MM and math.degrees(math.acos(min(1.0, cos))) <= AXIS_DEG:
                    ok = i
                    break
            stats["true"].append(1.0)
            stats["found"].append(0.0 if ok is None else 1.0)
            if ok is not None:
                matched.add(ok)
                h = halo_width(film, found.screws[ok])
                if h.width_mm is not None:
                    stats["halo_err"].append(h.width_mm - float(t.get("halo_mm", 0.0)))
        stats["false"].append(float(len(found.screws) - len(matched)))
        stats["rods"].append(float(len(found.rods)))
        stats["films"].append(1.0)
    return stats


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from fusionwatch.sim import simulate_journey
    except ImportError:
        print("fusionwatch.sim.simulate_journey not available: nothing to benchmark")
        return
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="bench_implants_"))
    print(
        "| scenario | post-op films | true screws | found (tip <= 3 mm, axis <= 5 deg) | false screws per film | "
        "rods per film (truth: 2) | halo error mean / SD (mm) |"
    )
    print("|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        path = out / f"{scenario}-0" / "journey.json"
        if not path.exists():
            path = Path(simulate_journey(scenario, 0, out / f"{scenario}-0"))
        st = evaluate(path)
        n = len(st["films"])
        halo = np.array(st["halo_err"])
        halo_txt = f"{halo.mean():+.2f} / {halo.std(ddof=1):.2f}" if halo.size > 1 else "n/a"
        print(
            f"| {scenario} | {n} | {len(st['true'])} | {int(sum(st['found']))} | "
            f"{np.mean(st['false']) if n else float('nan'):.1f} | {np.mean(st['rods']) if n else float('nan'):.1f} | "
            f"{halo_txt} |"
        )


if __name__ == "__main__":
    main()
