"""Implant detection and hardware checks against the simulator's truth.

The demo journeys (``fusionwatch.sim.demo_journeys``: one per scenario, seeds 100-104, 1000 x 1250 px films; or
``--size WxH`` for other sizes, with ``--scenarios`` to pick a few) are generated once into OUT_DIR (reused when
current). Every post-operative lateral and AP film is run through :func:`fusionwatch.implants.detect_implants` with the
simulator's landmark files.

- Screws: a true screw counts as found when a detected screw of the same level has its tip within 3 mm and its axis
  within 5 deg. On a lateral film the left and right screws of a level superimpose, so one detected screw may match
  both (it stands for the pair). Detected screws matching no true screw are "false".
- Screw-endplate angle change (:func:`fusionwatch.implants.screw_angle_change`) between the 6-weeks lateral film (the
  follow-up's baseline) and each later one, against the truth (the mean of the left and right screws' true axes
  against the true endplate): error, SD and error / SD.
- Halo (:func:`fusionwatch.implants.check_screw_halo` inside ``check_implants``): per screw level and visit, the
  truth's widest halo against the halo findings (a lateral film's level stands for both screws; an AP level reports
  when either screw does).
- Hardware findings as the ingest makes them: :func:`fusionwatch.implants.check_implants` between the 6-weeks lateral
  and each later lateral film, and between the immediate post-operative AP film and each later AP film, against the
  manifest's expected hardware findings.

Run: ``nice -n 10 .venv/bin/python -m benchmarks.bench_implants [OUT_DIR] [--size 2000x2500] [--scenarios a,b]
[--seeds 1-16] [--ap-flank LO,HI] [--ap-flank-per-film LO,HI] [--ap-gamma LO,HI]`` (``--seeds``: those seeds of
every scenario given instead of the demo seeds; for the coverage of the angle change's SD over many journeys).

Robustness of the AP checks to brightness differences, without editing the simulator (its module globals are set in
this process only, before the films are rendered; use a fresh OUT_DIR per variant, the variant is in the cache stamp):
``--ap-flank LO,HI`` sets ``fusionwatch.sim.render.ap_brightness.AP_FLANK`` (the darker flanks of docs/simulator.md,
drawn per patient: a patient's films darken alike); ``--ap-flank-per-film LO,HI`` draws the flank per AP film instead
(baseline and follow-up differ: the harder, realistic case); ``--ap-gamma LO,HI`` puts a per-film look-up-table power
``u -> u ** g`` (g log-uniform in LO..HI) on every finished AP film with metal (a console's tone curve differing
between visits).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
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


def _true_angle(truth_screws: list[dict], landmarks, spacing, level) -> float:
    """Mean true screw-endplate angle of a level's screws (deg, image axes, on mm coordinates)."""
    from fusionwatch.implants.checks import _endplate

    a, p = (np.asarray(q, float) * [spacing.dx_mm, spacing.dy_mm] for q in _endplate(landmarks, level))
    e = math.atan2(*(p - a)[::-1])
    out = []
    for t in truth_screws:
        if t["id"].split(".")[0] != level.value:
            continue
        ax = np.asarray(t["axis"], float) * [spacing.dx_mm, spacing.dy_mm]
        out.append((math.degrees(math.atan2(ax[1], ax[0]) - e) + 90.0) % 180.0 - 90.0)
    return float(np.mean(out))


def evaluate(journey: Path) -> dict:
    from fusionwatch.anatomy import Level
    from fusionwatch.implants import check_implants, detect_implants, screw_angle_change
    from fusionwatch.io import read_landmarks, read_radiograph

    data = json.loads(journey.read_text())
    st: dict = defaultdict(list)
    films: dict[tuple[str, str], tuple] = {}
    for f in data["films"]:
        if f["view"] not in ("lateral", "ap"):
            continue
        film = read_radiograph(journey.parent / f["file"])
        lm = read_landmarks(journey.parent / f["landmarks"])
        t0 = time.perf_counter()
        found = detect_implants(film, lm)
        st["seconds"].append(time.perf_counter() - t0)
        truth = f["truth"].get("implants")
        films[(f["visit"], f["view"])] = (film, lm, found, truth)
        if not truth:
            st["preop_false"].append(len(found.screws))
            st["preop_rods"].append(len(found.rods))
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
    hw, angles = {}, []
    pairs = []
    if ("6-weeks", "lateral") in films:
        pairs += [("6-weeks", v, "lateral") for (v, view) in films if view == "lateral"]
    if ("immediate-post-op", "ap") in films:
        pairs += [("immediate-post-op", v, "ap") for (v, view) in films if view == "ap"]
    for base, visit, view in pairs:
        if visit in ("pre-op", "immediate-post-op", "6-weeks"):
            continue
        bf, bl, bi, bt = films[(base, view)]
        cf, cl, ci, ct = films[(visit, view)]
        findings = check_implants(bf, bl, bi, cf, cl, ci)
        got = {k.kind.removesuffix("_suspected") for k in findings}
        hw.setdefault(visit, set()).update(got)
        # halo: per level, the truth's widest halo against the halo findings (criterion "halo")
        called = {f.evidence["level"]: f.evidence["halo_mm"] for f in findings if f.evidence.get("criterion") == "halo"}
        for lv in sorted({t["id"].split(".")[0] for t in ct["screws"]}):
            true_mm = max(t.get("halo_mm", 0.0) for t in ct["screws"] if t["id"].split(".")[0] == lv)
            st["halo"].append((data["scenario"], view, visit, lv, true_mm, called.get(lv)))
        if view != "lateral":
            continue
        for r in screw_angle_change(bi, bl, ci, cl):
            lv = Level(r["level"])
            true = _true_angle(ct["screws"], cl, cf.spacing, lv) - _true_angle(bt["screws"], bl, bf.spacing, lv)
            angles.append((data["scenario"], visit, r["level"], r["change_deg"], true, r["sd_deg"], r["call"]))
    want = {
        visit: {k.removesuffix("_suspected") for k in e.get("findings", []) if k.startswith(HARDWARE)}
        for visit, e in data["expected"].items()
    }
    st["hardware"] = {v: (sorted(want.get(v, set())), sorted(got)) for v, got in hw.items()}
    st["angles"] = angles
    return st


def _variant(
    flank: tuple[float, float] | None, per_film: tuple[float, float] | None, gamma: tuple[float, float] | None
):
    """Apply the AP brightness variant to the simulator's module globals in this process (see the module docstring);
    returns its label for the cache stamp ('' when none)."""
    from fusionwatch.sim import film, render
    from fusionwatch.sim.render import ap_brightness

    label = []
    if flank is not None:
        ap_brightness.AP_FLANK = flank
        label.append(f"flank-per-patient {flank[0]:g}-{flank[1]:g}")
    if per_film is not None:
        ap_brightness.AP_FLANK = per_film
        calls: dict[int, int] = defaultdict(int)

        def per_film_flank(anatomy_seed: int) -> float:  # one draw per AP film of the patient, in film order
            calls[anatomy_seed] += 1
            return float(np.random.default_rng([anatomy_seed, 2103, calls[anatomy_seed]]).uniform(*per_film))

        film.patient_flank = per_film_flank
        label.append(f"flank-per-film {per_film[0]:g}-{per_film[1]:g}")
    if gamma is not None:
        expose = render.expose

        def expose_with_gamma(L, cam, exp, rng, metal_path=None, flank=0.0):
            out = expose(L, cam, exp, rng, metal_path, flank)
            if cam.view == "ap" and metal_path is not None and np.any(metal_path > render.METAL_MIN_PATH):
                g = math.exp(rng.uniform(math.log(gamma[0]), math.log(gamma[1])))  # rng is not used after expose
                out = np.round(4095.0 * (out / 4095.0) ** g).astype(out.dtype)
            return out

        film.expose = expose_with_gamma
        label.append(f"gamma-per-film {gamma[0]:g}-{gamma[1]:g}")
    return ", ".join(label)


def _journeys(
    out: Path, size: tuple[int, int], scenarios: list[str] | None, seeds: list[int] | None = None, variant: str = ""
) -> list[Path]:
    from fusionwatch.sim import demo_journeys
    from fusionwatch.sim.demo import DEMO_SEEDS
    from fusionwatch.sim.journey import SIM_VERSION, simulate_journey

    if size == (1000, 1250) and not scenarios and not seeds and not variant:
        return demo_journeys(out)
    paths = []
    for name in scenarios or list(DEMO_SEEDS):
        for seed in seeds or [DEMO_SEEDS[name]]:
            d = out / (f"{name}-{size[0]}x{size[1]}" if not seeds else f"{name}-{seed}-{size[0]}x{size[1]}")
            path = d / "journey.json"
            stamp = d / ".bench-version"
            want = SIM_VERSION + (f" {variant}" if variant else "")
            if not (path.is_file() and stamp.is_file() and stamp.read_text() == want):
                simulate_journey(name, seed, d, size=size)
                stamp.write_text(want)
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    size, scenarios = (1000, 1250), None
    if "--size" in argv:
        i = argv.index("--size")
        w, h = argv[i + 1].lower().split("x")
        size = (int(w), int(h))
        del argv[i : i + 2]
    if "--scenarios" in argv:
        i = argv.index("--scenarios")
        scenarios = argv[i + 1].split(",")
        del argv[i : i + 2]
    seeds = None
    if "--seeds" in argv:  # e.g. 1-16: many journeys per scenario, for the angle-change SD's coverage
        i = argv.index("--seeds")
        lo, _, hi = argv[i + 1].partition("-")
        seeds = list(range(int(lo), int(hi or lo) + 1))
        del argv[i : i + 2]
    ranges: dict[str, tuple[float, float] | None] = {}
    for opt in ("--ap-flank", "--ap-flank-per-film", "--ap-gamma"):
        ranges[opt] = None
        if opt in argv:
            i = argv.index(opt)
            lo, _, hi = argv[i + 1].partition(",")
            ranges[opt] = (float(lo), float(hi or lo))
            del argv[i : i + 2]
    try:
        from fusionwatch.sim.journey import SIM_VERSION
    except ImportError:
        print("fusionwatch.sim not available: nothing to benchmark")
        return
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="bench_implants_"))
    variant = _variant(ranges["--ap-flank"], ranges["--ap-flank-per-film"], ranges["--ap-gamma"])
    paths = _journeys(out, size, scenarios, seeds, variant)
    print(f"SIM_VERSION {SIM_VERSION}, films {size[0]} x {size[1]} px{', AP variant: ' + variant if variant else ''}\n")
    print(
        "| scenario | view | films | true screws | found (tip <= 3 mm, axis <= 5 deg) | false screws | "
        "tip error mean (mm) | axis error mean (deg) | rods per film (truth 2) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    total: dict = defaultdict(list)
    hardware, angles, halos = {}, [], []
    for path in paths:
        st = evaluate(path)
        name = json.loads(path.read_text())["scenario"]
        hardware[path.parent.name if seeds else name] = st["hardware"]
        angles += st["angles"]
        halos += st["halo"]
        for v in ("lateral", "ap"):
            if not st[f"{v}_true"]:
                continue
            for k in ("true", "found", "false", "tip", "axis", "rods"):
                total[f"{v}_{k}"] += st[f"{v}_{k}"]
            print(_row(name, v, st))
        for k in ("preop_false", "preop_rods", "seconds"):
            total[k] += st[k]
    for v in ("lateral", "ap"):
        if total[f"{v}_true"]:
            print(_row("**all**", v, total))
    print(
        f"\nPre-operative films (no metal; lateral + AP): {int(sum(total['preop_false']))} false screws, "
        f"{int(sum(total['preop_rods']))} false rods. detect_implants: mean {np.mean(total['seconds']):.2f} s per "
        f"film, max {np.max(total['seconds']):.2f} s."
    )
    if angles:
        err = np.array([a[3] - a[4] for a in angles])
        z = err / np.array([a[5] for a in angles])
        print(
            f"\nScrew-endplate angle change vs the 6-weeks film ({len(angles)} screw pairs): error rms "
            f"{np.sqrt(np.mean(err**2)):.2f} deg, max {np.max(np.abs(err)):.2f} deg; error / SD rms "
            f"{np.sqrt(np.mean(z**2)):.2f}, max {np.max(np.abs(z)):.2f}; inside the 95 % interval "
            f"{np.mean(np.abs(z) <= 1.96) * 100:.0f} %; median SD "
            f"{np.median([a[5] for a in angles]):.2f} deg."
        )
        print("\n| scenario | visit | level | change (deg) | truth (deg) | SD (deg) | call vs 1.9 deg |")
        print("|---|---|---|---|---|---|---|")
        for a in angles:
            if abs(a[4]) > 0.5 or a[6] != "below":
                print(f"| {a[0]} | {a[1]} | {a[2]} | {a[3]:+.2f} | {a[4]:+.2f} | {a[5]:.2f} | {a[6]} |")
    if halos:
        print("\nHalo findings (check_screw_halo against the baseline film) per screw level and visit, vs the truth:")
        print("\n| view | truth halo | levels x visits | halo reported | reported widths (mm) |")
        print("|---|---|---|---|---|")
        for view in ("ap", "lateral"):
            for label, lo, hi in (("none", -1.0, 0.0), ("0-1 mm", 0.0, 1.0), ("> 1 mm", 1.0, 99.0)):
                sel = [h for h in halos if h[1] == view and lo < h[4] <= hi]
                if not sel:
                    continue
                widths = sorted(h[5] for h in sel if h[5] is not None)
                span = f"{widths[0]:.1f}-{widths[-1]:.1f}" if widths else "-"
                print(f"| {view} | {label} | {len(sel)} | {len(widths)} | {span} |")
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
