"""Flexion-extension motion precision: body registration vs the landmark-difference method, on the same pairs.

Three sources of pairs with known motion:

1. synthetic pairs drawn by :func:`fusionwatch.motion.synth.synthetic_pair` (textured bodies, half with implants);
2. real SpineWeb AP films (``../shared/data/spineweb16-ap``) where the L4 body region is moved by a known rigid
   transform relative to L5 and the whole film is repositioned (skipped when the data are absent);
3. simulated flexion/extension films from :func:`fusionwatch.sim.simulate_journey` (skipped until it exists);
4. every flexion/extension pair of the five README demo journeys (:func:`fusionwatch.sim.demo_journeys`, fixed seeds,
   1000 x 1250 px), run twice without re-click noise: with the simulator's exact landmark files, and with the landmarks
   of the automatic detector (:func:`fusionwatch.detect.detect_landmarks`), which is what ingest uses when a film has no
   landmark file. True motion = extension minus flexion of ``truth["motion"]`` (each relative to the neutral film).
   Each level is listed with PASS when within 0.5 deg and 0.5 mm of the truth, and whether the truth lies within
   1.96 reported SD.

Both methods start from the same landmarks with simulated re-clicking noise: each corner moves by an isotropic Gaussian
with SD = :data:`CLICK_SD_FRACTION` x the endplate length, chosen so that the landmark-difference angle has an SD of
about 2.5 deg, the re-clicking spread reported by Liu et al. (PMC3489412, CLINICAL.md).

Run: ``nice -n 10 .venv/bin/python -m benchmarks.bench_motion [N] [--sim-only | --demo-only]`` (N pairs per drawn/real
source; N // 10 simulator seeds, at least 2; ``--sim-only`` runs only the simulated journeys, ``--demo-only`` only the
demo pairs (about a minute); ``FUSIONWATCH_SIM_DIR`` reuses a folder of journeys as they are, ``FUSIONWATCH_DEMO_DIR``
one of demo journeys: used as they are when every demo scenario's journey.json is there, else generated).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fusionwatch.landmarks import Landmarks
from fusionwatch.motion import register_motion
from fusionwatch.motion._geometry import apply, parse_level, segment_points
from fusionwatch.motion._register import _segment_motion
from fusionwatch.motion.synth import rigid, synthetic_pair
from fusionwatch.radiograph import Facing, Radiograph, View
from fusionwatch.units import Spacing, SpacingSource

CLICK_SD_FRACTION = 0.0154
"""Corner re-click noise SD as a fraction of the endplate length: 2*sqrt(2)*0.0154 rad = 2.5 deg SD of an angle
change."""
SPINEWEB_L4_WIDTH_MM = 45.0
"""SpineWeb films carry no spacing; the L4 superior endplate is taken as 45 mm wide to express translations in mm."""


@dataclass(frozen=True)
class Pair:
    flexion: Radiograph
    extension: Radiograph
    lm_flexion: Landmarks
    lm_extension: Landmarks
    truth: dict[str, dict[str, float | None]]
    levels: tuple[str, ...]
    label: str


def _shared() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("FUSIONWATCH_SHARED_DATA", default))


def reclick(lm: Landmarks, rng: np.random.Generator) -> Landmarks:
    """Landmarks with re-clicking noise: SD = CLICK_SD_FRACTION x the mean endplate length of the film."""
    pts = lm.points
    lengths = [math.dist(pts[n], pts[n.replace("anterior", "posterior")]) for n in pts if n.endswith("anterior")]
    sd = CLICK_SD_FRACTION * float(np.mean(lengths))
    return lm.with_points(
        {n: (p[0] + rng.normal(0, sd), p[1] + rng.normal(0, sd)) for n, p in pts.items()}, source="benchmark:reclicked"
    )


# ------------------------------------------------------------------------------------------------------------ sources
def synthetic_pairs(n: int, seed: int = 1000) -> Iterator[Pair]:
    rng = np.random.default_rng(seed)
    for k in range(n):
        angles = {lv: float(rng.uniform(-10, 10)) for lv in ("L4-L5", "L5-S1")}
        shifts = {lv: float(rng.uniform(-2, 2)) for lv in ("L4-L5", "L5-S1")}
        p = synthetic_pair(
            seed + k,
            angle_deg=angles,
            translation_mm=shifts,
            implants=bool(k % 2),
            facing=Facing.LEFT if k % 3 else Facing.RIGHT,
        )
        yield Pair(
            p.flexion,
            p.extension,
            p.lm_flexion,
            p.lm_extension,
            p.truth,
            ("L4-L5", "L5-S1"),
            "synthetic+implants" if k % 2 else "synthetic",
        )


def _spineweb_lateral_names(ap: Landmarks) -> dict[str, tuple[float, float]]:
    """AP corners renamed as lateral ones (image-left = 'anterior') so the lateral motion code can run on them."""
    out = {}
    for lv in ("L3", "L4", "L5"):
        for ep in ("superior", "inferior"):
            for side, name in (("left", "anterior"), ("right", "posterior")):
                p = ap.get(f"{lv}.{ep}.{side}")
                if p is not None:
                    out[f"{lv}.{ep}.{name}"] = p
    return out


def spineweb_pair(root: Path, index: int, angle_deg: float, shift_px: tuple[float, float], seed: int) -> Pair:
    """A real AP film and a copy where L4 is moved by a known rigid transform relative to L5 (L3-L4-L5 as 'lateral').

    The copy is also repositioned as a whole (rotation up to 2 deg, shift up to 6 px) and both films get independent
    noise (SD 2 grey levels). Truth is computed from the exact transforms with the same definitions as the registration.
    """
    from fusionwatch.io import read_radiograph
    from fusionwatch.io.spineweb import read_spineweb

    rng = np.random.default_rng(seed)
    found = next(((n, lm) for i, (n, lm) in enumerate(read_spineweb(root)) if i == index), None)
    if found is None:
        raise IndexError(index)
    name, lm_ap = found
    film = read_radiograph(root / "images" / name)
    pts = _spineweb_lateral_names(lm_ap)
    lm = Landmarks(pts, lm_ap.width, lm_ap.height, View.FLEXION, source="spineweb")
    l4 = np.array(
        [
            pts["L4.superior.anterior"],
            pts["L4.superior.posterior"],
            pts["L4.inferior.posterior"],
            pts["L4.inferior.anterior"],
        ]
    )
    width_px = math.dist(pts["L4.superior.anterior"], pts["L4.superior.posterior"])
    spacing = Spacing.isotropic(SPINEWEB_L4_WIDTH_MM / width_px, SpacingSource.USER_CALIBRATION)
    c = l4.mean(0)
    local = rigid(0, *c) @ rigid(angle_deg, *shift_px) @ rigid(0, *-c)
    h, w = film.pixels.shape
    centre = np.array([w / 2, h / 2])
    g = rigid(0, *centre) @ rigid(rng.uniform(-2, 2), rng.uniform(-6, 6), rng.uniform(-6, 6)) @ rigid(0, *-centre)
    src = film.pixels.astype(np.float32)

    def warp(m: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(
            src, m[:2].astype(np.float64), (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
        )

    moved_all, moved_l4 = warp(g), warp(g @ local)
    mask: np.ndarray = np.zeros((h, w), np.float32)
    grown = apply(g @ local, c + (l4 - c) * 1.15)
    cv2.fillPoly(mask, [np.round(grown).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), 2.0)
    ext_px = moved_all * (1 - mask) + moved_l4 * mask
    flex_px = src + rng.normal(0, 2.0, src.shape).astype(np.float32)
    ext_px = ext_px + rng.normal(0, 2.0, src.shape).astype(np.float32)
    transforms = {"L3": g, "L4": g @ local, "L5": g}
    ext_pts = {n: tuple(apply(transforms[n.split(".")[0]], np.array([p]))[0]) for n, p in pts.items()}
    lm_e = Landmarks(ext_pts, w, h, View.EXTENSION, source="spineweb:transformed")
    flexion = Radiograph(flex_px, spacing, View.FLEXION, Facing.LEFT, source=f"spineweb-{index}")
    extension = Radiograph(
        ext_px.astype(np.float32), spacing, View.EXTENSION, Facing.LEFT, source=f"spineweb-{index}-moved"
    )
    truth = {}
    for level in ("L4-L5",):
        seg = parse_level(level)
        a, t_mm, pct, _, _ = _segment_motion(
            segment_points(lm, seg),
            segment_points(lm_e, seg),
            transforms[seg.upper.value],
            transforms[seg.lower.value],
            1.0,
            spacing,
            spacing,
        )
        truth[level] = {"angle_deg": a, "translation_mm": t_mm, "translation_percent": pct}
    return Pair(flexion, extension, lm, lm_e, truth, ("L4-L5",), "spineweb-warped")


def spineweb_pairs(n: int, seed: int = 2000) -> Iterator[Pair]:
    root = _shared() / "spineweb16-ap"
    if not (root / "landmarks.csv").exists():
        print(f"  SpineWeb data not found at {root}: skipped")
        return
    rng = np.random.default_rng(seed)
    from fusionwatch.io.spineweb import read_spineweb

    usable = [i for i, (_, lm) in enumerate(read_spineweb(root)) if not lm.needs_review]
    for k, index in enumerate(rng.choice(usable, size=min(n, len(usable)), replace=False)):
        yield spineweb_pair(
            root,
            int(index),
            float(rng.uniform(-8, 8)),
            (float(rng.uniform(-4, 4)), float(rng.uniform(-4, 4))),
            seed + k,
        )


SIM_SIZES: tuple[tuple[int, int], ...] = ((400, 500), (1000, 1250))
"""Film sizes of the simulated journeys: the scenario tests' small films (0.74 mm px) and the demo size (0.30 mm px)."""


SIM_VERSIONS_SEEN: set[str] = set()
"""Simulator versions written in the journeys actually evaluated (a cached folder may hold an older version)."""


def simulated_pairs(out: Path, seeds: tuple[int, ...] = (1, 2), size: tuple[int, int] = (1000, 1250)) -> Iterator[Pair]:
    """Every flexion/extension pair of every scenario's journey (:func:`fusionwatch.sim.simulate_journey`) for the
    given seeds and film size, with the simulator's landmark files.

    True motion = extension minus flexion of ``truth["motion"]`` (each film's L4-L5 / L5-S1 rotation and translation
    relative to the neutral posture; the same definitions as the registration's angle and slip change)."""
    try:
        from fusionwatch.sim import SCENARIOS, simulate_journey
    except ImportError:
        print("  fusionwatch.sim.simulate_journey not available: skipped")
        return
    import json

    from fusionwatch.io import read_landmarks, read_radiograph

    for seed in seeds:
        for scenario in SCENARIOS:
            folder = out / f"{scenario}-{seed}-{size[0]}x{size[1]}"
            try:
                path = folder / "journey.json"
                if not path.exists():
                    path = simulate_journey(scenario, seed, folder, size=size)
            except Exception as exc:  # noqa: BLE001 - a missing scenario must not stop the benchmark
                print(f"  simulate_journey({scenario!r}, {seed}) failed: {exc}")
                continue
            journey = json.loads(Path(path).read_text())
            SIM_VERSIONS_SEEN.add(str(journey.get("simulator_version", "?")))
            base = Path(path).parent
            for _visit, fl, ex in _journey_motion_pairs(journey):
                truth = _true_motion(fl, ex)
                yield Pair(
                    read_radiograph(base / fl["file"], view=View.FLEXION),
                    read_radiograph(base / ex["file"], view=View.EXTENSION),
                    read_landmarks(base / fl["landmarks"]),
                    read_landmarks(base / ex["landmarks"]),
                    truth,
                    tuple(truth),
                    f"sim {size[0]}x{size[1]}",
                )


def _journey_motion_pairs(journey: dict) -> Iterator[tuple[str, dict, dict]]:
    """(visit, flexion film entry, extension film entry) for every visit of a journey.json with both films."""
    by_visit: dict[str, dict[str, dict]] = {}
    for f in journey["films"]:
        if f["view"] in ("flexion", "extension"):
            by_visit.setdefault(f["visit"], {})[f["view"]] = f
    for visit, pair in by_visit.items():
        if set(pair) == {"flexion", "extension"}:
            yield visit, pair["flexion"], pair["extension"]


def _true_motion(flexion: dict, extension: dict) -> dict[str, dict[str, float | None]]:
    """True extension-minus-flexion motion per level from the two films' simulator truth (deg, mm at the patient)."""
    mf, me = flexion["truth"]["motion"], extension["truth"]["motion"]
    truth: dict[str, dict[str, float | None]] = {}
    for level in ("L4-L5", "L5-S1"):
        k = level.replace("-", "_")
        truth[level] = {
            "angle_deg": me[f"{k}_rotation_deg"] - mf[f"{k}_rotation_deg"],
            "translation_mm": me[f"{k}_translation_mm"] - mf[f"{k}_translation_mm"],
            "translation_percent": None,
        }
    return truth


# ------------------------------------------------------------------------------------------------------------ running
def demo_pairs(out: Path, detector: bool) -> Iterator[Pair]:
    """Flexion/extension pairs of the README demo journeys, with the landmark files or the detector's landmarks."""
    import json

    from fusionwatch.detect import detect_landmarks
    from fusionwatch.io import read_landmarks, read_radiograph
    from fusionwatch.sim import demo_journeys
    from fusionwatch.sim.demo import DEMO_SEEDS

    # FUSIONWATCH_DEMO_DIR: a folder of demo journeys to reuse as they are (any simulator version), like
    # FUSIONWATCH_SIM_DIR; otherwise (or when one is missing) the journeys of the current simulator version
    cached = [out / name / "journey.json" for name in DEMO_SEEDS]
    reuse = "FUSIONWATCH_DEMO_DIR" in os.environ and all(p.is_file() for p in cached)
    for path in cached if reuse else demo_journeys(out):
        journey = json.loads(path.read_text())
        SIM_VERSIONS_SEEN.add(f"demo {journey.get('simulator_version', '?')}")
        for visit, fl, ex in _journey_motion_pairs(journey):
            flex = read_radiograph(path.parent / fl["file"], view=View.FLEXION)
            ext = read_radiograph(path.parent / ex["file"], view=View.EXTENSION)
            truth = _true_motion(fl, ex)
            label = f"demo {'detector' if detector else 'file'} landmarks: {journey['scenario']} {visit}"
            try:
                if detector:
                    lm_f, lm_e = detect_landmarks(flex), detect_landmarks(ext)
                else:
                    lm_f, lm_e = (
                        read_landmarks(path.parent / fl["landmarks"]),
                        read_landmarks(path.parent / ex["landmarks"]),
                    )
            except Exception as exc:  # noqa: BLE001 - a detector failure is reported, not fatal
                print(f"  {label}: landmarks failed: {exc}")
                continue
            yield Pair(flex, ext, lm_f, lm_e, truth, tuple(truth), label)


def demo_report(rows: dict[str, list[dict[str, float]]]) -> str:
    """One line per demo pair and level: errors, reported SDs, PASS (0.5 deg / 0.5 mm), truth within 1.96 SD."""
    lines = [
        "| pair | level | angle error (deg) / SD | translation error (mm) / SD | within 0.5 deg & 0.5 mm | "
        "truth within 1.96 SD |",
        "|---|---|---|---|---|---|",
    ]
    for label, rs in rows.items():
        for r in rs:
            if r.get("failed"):
                lines.append(f"| {label} | - | failed | failed | no | - |")
                continue
            ae, te = r["angle_err"], r.get("trans_err", float("nan"))
            ok = abs(ae) <= 0.5 and abs(te) <= 0.5
            cover = abs(ae) <= 1.96 * r["angle_sd"] and abs(te) <= 1.96 * r.get("trans_sd", float("nan"))
            lines.append(
                f"| {label} | {r['level']} | {ae:+.2f} / {r['angle_sd']:.2f} | {te:+.2f} / "
                f"{r.get('trans_sd', float('nan')):.2f} | {'PASS' if ok else 'fail'} | {'yes' if cover else 'NO'} |"
            )
    return "\n".join(lines)


def evaluate(pairs: Iterator[Pair], seed: int = 7, noise: bool = True) -> dict[str, list[dict[str, float]]]:
    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict[str, float]]] = {}
    for pair in pairs:
        lm_f, lm_e = pair.lm_flexion, pair.lm_extension
        if noise:
            lm_f, lm_e = reclick(lm_f, rng), reclick(lm_e, rng)
        t0 = time.perf_counter()
        try:
            results = register_motion(pair.flexion, pair.extension, lm_f, lm_e, levels=pair.levels)
        except Exception as exc:  # noqa: BLE001 - count failures, keep going
            rows.setdefault(pair.label, []).append({"failed": 1.0})
            print(f"  {pair.label}: registration failed: {exc}")
            continue
        dt = (time.perf_counter() - t0) / len(results)
        for r in results:
            t = pair.truth[r.level]
            true_angle, true_mm = float(t["angle_deg"] or 0.0), t.get("translation_mm")
            lm = r.landmark_difference
            row: dict[str, Any] = {
                "level": r.level,
                "angle_err": r.angle_deg - true_angle,
                "angle_sd": r.angle_sd_deg,
                "lm_angle_err": (lm.angle_deg if lm else float("nan")) - true_angle,
                "seconds": dt,
                "failed": 0.0,
            }
            if true_mm is not None and r.translation_mm is not None:
                row["trans_err"] = r.translation_mm - true_mm
                row["trans_sd"] = r.translation_sd
                if lm is not None and lm.translation_mm is not None:
                    row["lm_trans_err"] = lm.translation_mm - true_mm
            rows.setdefault(pair.label, []).append(row)
    return rows


def _stat(rows: list[dict[str, float]], key: str) -> tuple[float, float, float]:
    v = np.array([r[key] for r in rows if key in r], float)
    if v.size == 0:
        return (float("nan"),) * 3
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"), float(np.abs(v).max())


def report(rows: dict[str, list[dict[str, float]]]) -> str:
    lines = [
        "| pairs | n (levels) | failed | registration angle error mean / SD / max (deg) | landmark-difference angle "
        "error SD (deg) | registration translation error mean / SD / max (mm) | landmark-difference translation "
        "error SD (mm) | mean reported SD angle / translation | s per level |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, rs in rows.items():
        ok = [r for r in rs if not r.get("failed")]
        fails = len(rs) - len(ok)
        am, asd, amax = _stat(ok, "angle_err")
        tm, tsd, tmax = _stat(ok, "trans_err")
        _, lsd, _ = _stat(ok, "lm_angle_err")
        _, ltsd, _ = _stat(ok, "lm_trans_err")
        rep_a, _, _ = _stat(ok, "angle_sd")
        rep_t, _, _ = _stat(ok, "trans_sd")
        secs, _, _ = _stat(ok, "seconds")
        lines.append(
            f"| {label} | {len(ok)} | {fails} | {am:+.3f} / {asd:.3f} / {amax:.3f} | {lsd:.2f} | "
            f"{tm:+.3f} / {tsd:.3f} / {tmax:.3f} | {ltsd:.2f} | {rep_a:.3f} / {rep_t:.3f} | {secs:.2f} |"
        )
    return "\n".join(lines)


def level_report(rows: dict[str, list[dict[str, float]]]) -> str:
    """Per source and level: error bias (mean), SD, robust SD (1.4826 x MAD), max, and the coverage of the reported
    95 % interval (share of levels with |error| <= 1.96 reported SD), for angle and translation."""
    lines = [
        "| pairs | level | n | angle error bias / SD / robust SD / max (deg) | angle 95 % coverage | translation error "
        "bias / SD / robust SD / max (mm) | translation 95 % coverage | median reported SD angle / translation | "
        "landmark-difference angle / translation error SD |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, rs in rows.items():
        ok = [r for r in rs if not r.get("failed")]
        for level in sorted({str(r["level"]) for r in ok}):
            sel = [r for r in ok if r["level"] == level]
            cells = []
            for err, sd in (("angle_err", "angle_sd"), ("trans_err", "trans_sd")):
                pairs = [(r[err], r[sd]) for r in sel if err in r and sd in r]
                if not pairs:
                    cells += ["-", "-"]
                    continue
                e = np.array([p[0] for p in pairs], float)
                s_ = np.array([p[1] for p in pairs], float)
                rob = 1.4826 * float(np.median(np.abs(e - np.median(e))))
                sd_txt = f"{e.std(ddof=1):.3f}" if e.size > 1 else "-"
                cells.append(f"{e.mean():+.3f} / {sd_txt} / {rob:.3f} / {np.abs(e).max():.2f}")
                cover = int(np.sum(np.abs(e) <= 1.96 * s_))
                cells.append(f"{cover}/{e.size} ({100 * cover / e.size:.0f} %)")
            med_a = float(np.median([r["angle_sd"] for r in sel]))
            med_t = float(np.median([r["trans_sd"] for r in sel if "trans_sd" in r] or [float("nan")]))
            _, lsd, _ = _stat(sel, "lm_angle_err")
            _, ltsd, _ = _stat(sel, "lm_trans_err")
            lines.append(
                f"| {label} | {level} | {len(sel)} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} | "
                f"{med_a:.2f} / {med_t:.2f} | {lsd:.2f} / {ltsd:.2f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv and argv[0].isdigit() else 24
    sim_only = "--sim-only" in argv
    demo_only = "--demo-only" in argv
    t0 = time.perf_counter()
    rows: dict[str, list[dict[str, float]]] = {}
    if not (sim_only or demo_only):
        rows.update(evaluate(synthetic_pairs(n)))
        rows.update(evaluate(spineweb_pairs(n)))
        print(report(rows))
        print(level_report(rows))
    # simulated journeys: every scenario, several seeds, two film sizes; exact landmark files (registration precision
    # and coverage), then with re-click noise (side by side with the landmark-difference method)
    seeds = tuple(range(1, 1 + max(2, n // 10)))
    # FUSIONWATCH_SIM_DIR: a folder of journeys to reuse as they are (any simulator version: the version printed is
    # the one the journeys carry); default: a temporary folder per current simulator version
    from fusionwatch.sim import SIM_VERSION

    default_dir = Path(tempfile.gettempdir()) / "fusionwatch-bench-motion-sim" / f"v{SIM_VERSION}"
    sim_dir = Path(os.environ.get("FUSIONWATCH_SIM_DIR", default_dir))
    sim_rows: dict[str, list[dict[str, float]]] = {}
    for size in () if demo_only else SIM_SIZES:
        exact = evaluate(simulated_pairs(sim_dir, seeds, size), noise=False)
        sim_rows.update({f"{k}, file landmarks": v for k, v in exact.items()})
        noisy = evaluate(simulated_pairs(sim_dir, seeds, size))
        sim_rows.update({f"{k}, re-clicked": v for k, v in noisy.items()})
    if not demo_only:
        versions = sorted(SIM_VERSIONS_SEEN)
        print(f"simulator version(s) of the journeys {versions}, seeds {seeds}, all scenarios, {sim_dir}")
        print(level_report(sim_rows))
    if sim_only:
        print(f"total {time.perf_counter() - t0:.0f} s")
        return
    demo_dir = Path(os.environ.get("FUSIONWATCH_DEMO_DIR", Path(tempfile.gettempdir()) / "fusionwatch-demo-journeys"))
    for detector in (False, True):
        got = evaluate(demo_pairs(demo_dir, detector), noise=False)
        pooled = {f"demo pairs, {'detector' if detector else 'file'} landmarks (no click noise)": sum(got.values(), [])}
        print(report(pooled))
        print(level_report(pooled))
        print(demo_report(got))
    print(f"demo journeys: {demo_dir}, simulator version(s) seen {sorted(SIM_VERSIONS_SEEN)}")
    print(f"click noise SD = {CLICK_SD_FRACTION} x endplate length; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
