"""Implant detection against the simulator's truth: screws (tip, axis, level), rods, hardware findings per visit.

The demo journeys (``fusionwatch.sim.demo_journeys``: one per scenario, seeds 100-104, 1000 x 1250 px films) are
generated once into OUT_DIR (reused when current). Every post-operative lateral and AP film is run through
:func:`fusionwatch.implants.detect_implants`. A true screw counts as found when a detected screw of the same level has
its tip within 3 mm and its axis within 5 deg. On a lateral film the left and right screws of a level superimpose, so
one detected screw may match both (it stands for the pair). Detected screws matching no true screw are "false".
Hardware findings: :func:`fusionwatch.implants.check_implants` between the 6-weeks lateral film (the baseline the
follow-up uses) and each later lateral film, compared with the manifest's expected hardware findings.

Run: ``nice -n 10 .venv/bin/python -m benchmarks.bench_implants [OUT_DIR]``.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

TIP_MM, AXIS_DEG = 3.0, 5.0
HARDWARE = ("rod_fracture", "screw_loosening", "screw_breakage", "cage_migration")


def _match(found, truth, mm: float, lateral: bool) -> tuple[int, int, list[float], list[float]]:
    """(true screws found, detected screws matching nothing, tip errors mm, axis errors deg)."""
    used: set[int] = set()
    n_found, tips, axes = 0, [], []
    for t in truth:
        level = t["id"].split(".")[0]
        for i, s in enumerate(found.screws):
            if s.level is None or s.level.value != level or (i in used and not lateral):
                continue
            cos = abs(float(np.dot(s.axis, t["axis"])))
            tip, ang = math.dist(s.tip, t["tip"]) * mm, math.degrees(math.acos(min(1.0, cos)))
            if tip <= TIP_MM and ang <= AXIS_DEG:
                used.add(i)
                n_found += 1
                tips.append(tip)
                axes.append(ang)
                break
    return n_found, len(found.screws) - len(used), tips, axes


def evaluate(journey: Path) -> dict:
    from fusionwatch.implants import check_implants, detect_implants
    from fusionwatch.io import read_landmarks, read_radiograph

    data = json.loads(journey.read_text())
    st: dict = defaultdict(list)
    laterals = {}
    for f in data["films"]:
        if f["view"] not in ("lateral", "ap"):
            continue
        film = read_radiograph(journey.parent / f["file"])
        lm = read_landmarks(journey.parent / f["landmarks"])
        found = detect_implants(film, lm)
        truth = f["truth"].get("implants")
        if f["view"] == "lateral":
            laterals[f["visit"]] = (film, lm, found)
        if not truth:
            st["preop_false"].append(len(found.screws))
            continue
        mm = film.spacing.dx_mm if film.spacing else 1.0
        n, false, tips, axes = _match(found, truth["screws"], mm, f["view"] == "lateral")
        v = f["view"]
        st[f"{v}_true"].append(len(truth["screws"]))
        st[f"{v}_found"].append(n)
        st[f"{v}_false"].append(false)
        st[f"{v}_tip"] += tips
        st[f"{v}_axis"] += axes
        st[f"{v}_rods"].append(len(found.rods))
    hw = {}
    if "6-weeks" in laterals:
        bf, bl, bi = laterals["6-weeks"]
        for visit, (cf, cl, ci) in laterals.items():
            if visit in ("pre-op", "immediate-post-op", "6-weeks"):
                continue
            got = sorted({k.kind.removesuffix("_suspected") for k in check_implants(bf, bl, bi, cf, cl, ci)})
            want = sorted(
                k.removesuffix("_suspected")
                for k in data["expected"].get(visit, {}).get("findings", [])
                if k.startswith(HARDWARE)
            )
            hw[visit] = (want, got)
    st["hardware"] = hw
    return st


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from fusionwatch.sim import demo_journeys
    except ImportError:
        print("fusionwatch.sim.demo_journeys not available: nothing to benchmark")
        return
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="bench_implants_"))
    paths = demo_journeys(out)
    print(
        "| scenario | view | films | true screws | found (tip <= 3 mm, axis <= 5 deg) | false screws | "
        "tip error mean (mm) | axis error mean (deg) | rods per film (truth 2) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    total: dict = defaultdict(list)
    hardware = {}
    for path in paths:
        st = evaluate(path)
        name = json.loads(path.read_text())["scenario"]
        hardware[name] = st["hardware"]
        for v in ("lateral", "ap"):
            if not st[f"{v}_true"]:
                continue
            for k in ("true", "found", "false", "tip", "axis", "rods"):
                total[f"{v}_{k}"] += st[f"{v}_{k}"]
            print(_row(name, v, st))
        total["preop_false"] += st["preop_false"]
    for v in ("lateral", "ap"):
        if total[f"{v}_true"]:
            print(_row("all", v, total))
    print(f"\nFalse screws on pre-operative films (lateral + AP): {int(sum(total['preop_false']))}")
    print("\n| scenario | visit | expected hardware findings | found |")
    print("|---|---|---|---|")
    for name, hw in hardware.items():
        for visit, (want, got) in hw.items():
            mark = "" if want == got else " **(differs)**"
            print(f"| {name} | {visit} | {', '.join(want) or '-'} | {', '.join(got) or '-'}{mark} |")


def _row(name: str, v: str, st: dict) -> str:
    tip = f"{np.mean(st[f'{v}_tip']):.2f}" if st[f"{v}_tip"] else "n/a"
    axis = f"{np.mean(st[f'{v}_axis']):.2f}" if st[f"{v}_axis"] else "n/a"
    return (
        f"| {name} | {v} | {len(st[f'{v}_true'])} | {int(sum(st[f'{v}_true']))} | {int(sum(st[f'{v}_found']))} | "
        f"{int(sum(st[f'{v}_false']))} | {tip} | {axis} | {np.mean(st[f'{v}_rods']):.1f} |"
    )


if __name__ == "__main__":
    main()
