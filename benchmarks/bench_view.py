"""Held-out accuracy of the view model (``detect/models/view.onnx``), the groups of the model card's "View model" line.

Run: ``.venv/bin/python -m benchmarks.bench_view [--model FILE] [--cache DIR] [--json FILE] [--sim-tree DIR]``.

Groups (none of them used in training; seeds disjoint from the training specs in the model card):

- SpineWeb AP validation patients (``split_by_patient`` of the SpineWeb set alone, seed 0: 90 films, 47 patients);
  skipped when ../shared/data is absent;
- ``sim:100:lateral:100000``: unseen simulated lateral films, correct only with the right facing;
- ``journey:50:lateral:700000`` + ``journey:10:flexion:710000`` + ``journey:10:extension:720000``: scenario films;
- ``journey:20:ap:730000``: scenario AP films;
- 140 synthetic non-spine images (``synthetic_non_spine``, 20 of each kind, rng 12345): refused by the pixel checks or
  by p(other) >= 0.5;
- ``fusionwatch simulate film --view ap --seed 5..8`` (its default patient, 2000 x 2500 px, the PNG's 8-bit pixels);
- ``detect._simdata.random_film(9000 + k, size=(1000, 1250), view="ap")``, k = 0-39 (the simulator's own check);
- ``sim:30:ap:900000`` as rendered, and flank-shaded AP films (view/3's check): the SpineWeb validation films and
  ``sim:30:ap:900000`` with ``augment.flank_shading`` at amplitude 0.3-0.5 and 0.5-0.7 of the grey range (rng
  ``[781, i]``; 20 % of the shaded sides are brightened, the rest darkened), and ``sim:30:ap:900000`` rendered with
  ``render.ap_soft_tissue.AP_ADULT_WAIST_MM = (135, 200)`` (a thin adult body, set in-process only).
  Refused = p(other) >= 0.5 or
  p(AP) < 0.05 (the detector's rules for a film declared AP);
- with ``--sim-tree DIR`` (a source tree with ``src/fusionwatch``, e.g. the simulator engineer's candidate
  ``/tmp/cand25/tree``): ``sim:30:ap:900000`` rendered by THAT tree's simulator (in a subprocess with
  ``PYTHONPATH=DIR/src``; cached in ``--cache``/sim-tree under its SIM_VERSION), refused / called lateral as above.
  This is the check "the view model refuses none of the candidate simulator's AP films" (model card, view/4).

Simulated films are generated with the installed simulator (``fusionwatch.sim.SIM_VERSION``) and cached in ``--cache``
(the cache key includes the simulator version). Generating every film takes ~10-20 min on 2 shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CLASSES = ("ap", "lateral_left", "lateral_right", "other")


def _session(path: Path):  # noqa: ANN202
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so)


def _group(samples: list, session) -> dict:  # noqa: ANN001
    from fusionwatch.detect.training import view_label
    from fusionwatch.detect.view import classify_view

    correct, predicted, p_ap = 0, [], []
    for s in samples:
        r = classify_view(s.image, session)
        correct += r.best == CLASSES[view_label(s.view, s.points)]
        predicted.append(r.best)
        p_ap.append(r.probabilities["ap"])
    out = {"n": len(samples), "correct": correct, "predicted": {c: predicted.count(c) for c in CLASSES}}
    if samples and all(CLASSES[view_label(s.view, s.points)] == "ap" for s in samples):
        out |= _p_ap_summary(p_ap)
    return out


def _p_ap_summary(p_ap: list[float]) -> dict:
    return {
        "p_ap_min": round(min(p_ap), 3),
        "p_ap_median": round(float(np.median(p_ap)), 3),
        "n_p_ap_ge_0.9": int(sum(p >= 0.9 for p in p_ap)),
    }


def _cached_pixels(path: Path, make) -> np.ndarray:  # noqa: ANN001
    if path.is_file():
        return np.load(path)
    a = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, a)
    return a


def _cli_ap_film(seed: int) -> np.ndarray:
    """8-bit PNG pixels of ``fusionwatch simulate film --view ap --seed SEED`` (CLI defaults, 2000 x 2500)."""
    from fusionwatch.radiograph import View
    from fusionwatch.sim import FilmSpec, SpineParams, simulate_film

    params = replace(SpineParams(pelvic_incidence_deg=52.0, pelvic_tilt_deg=13.0), slips_mm=(0.0,) * 5)
    spec = FilmSpec(view=View.AP, width=2000, height=2500, facing_left=True, oid_mm=105.0)
    film = simulate_film(params, spec, anatomy_seed=seed, noise_seed=seed + 1)
    return (film.pixels >> 4).astype(np.uint8)


def run(model: Path, cache: Path, sim_tree: Path | None = None) -> dict:
    from fusionwatch.detect.datasets import load_data, split_by_patient
    from fusionwatch.detect.view import check_pixels, classify_view, synthetic_non_spine
    from fusionwatch.errors import UnsupportedImageError
    from fusionwatch.sim import SIM_VERSION

    session = _session(model)
    out: dict = {"model": str(model), "sim_version": SIM_VERSION}
    folder = SHARED / "spineweb16-ap"
    if folder.is_dir():
        sw = load_data(f"spineweb:{folder}", cache_dir=cache)
        _, val = split_by_patient(sw)
        out["spineweb_ap_val"] = _group([sw[i] for i in val], session)
    else:
        out["spineweb_ap_val"] = f"skipped: {folder} absent"
    out["sim_lateral_100000"] = _group(load_data("sim:100:lateral:100000", cache_dir=cache), session)
    journey = [
        s
        for spec in ("journey:50:lateral:700000", "journey:10:flexion:710000", "journey:10:extension:720000")
        for s in load_data(spec, cache_dir=cache)
    ]
    out["journey_lateral_flexion_extension"] = _group(journey, session)
    out["journey_ap_730000"] = _group(load_data("journey:20:ap:730000", cache_dir=cache), session)

    rng = np.random.default_rng(12345)
    refused = 0
    kinds = ("blank", "gradient", "noise", "photo", "chest", "document", "limb")
    for k in range(140):
        img = synthetic_non_spine(rng, kinds[k % 7])
        try:
            check_pixels(img)
            refused += classify_view(img, session).probabilities["other"] >= 0.5
        except UnsupportedImageError:
            refused += 1
    out["non_spine_refused"] = {"n": 140, "refused": int(refused)}

    cli = {}
    for seed in (5, 6, 7, 8):
        px = _cached_pixels(cache / f"view-bench-cli-ap-v{SIM_VERSION}-{seed}.npy", lambda s=seed: _cli_ap_film(s))
        cli[str(seed)] = round(classify_view(px, session).probabilities["ap"], 3)
    out["simulate_film_ap_seeds_5_8_p_ap"] = cli

    from fusionwatch.detect._simdata import random_film

    p_ap, best = [], []
    for k in range(40):
        px = _cached_pixels(
            cache / f"view-bench-random-ap-v{SIM_VERSION}-{9000 + k}.npy",
            lambda k=k: random_film(9000 + k, size=(1000, 1250), view="ap").pixels,
        )
        r = classify_view(px, session)
        p_ap.append(r.probabilities["ap"])
        best.append(r.best)
    out["random_film_ap_9000"] = {"n": 40, "correct": best.count("ap")} | _p_ap_summary(p_ap)
    sim_ap = load_data("sim:30:ap:900000", cache_dir=cache)
    sets = {"sim_ap_900000": [(s.image, _all_points(s)) for s in sim_ap]}
    if folder.is_dir():
        sets = {"spineweb_ap_val": [(sw[i].image, _all_points(sw[i])) for i in val]} | sets
    out["sim_ap_900000"] = _ap_refusals([s.image for s in sim_ap], session)
    for name, films in sets.items():
        for amp in ((0.3, 0.5), (0.5, 0.7)):
            out[f"{name}_flank_{amp[0]}_{amp[1]}"] = _ap_refusals(
                [_flank(img, pts, amp, i) for i, (img, pts) in enumerate(films)], session
            )
    out["sim_ap_900000_thin_adult_waist_135_200"] = _ap_refusals([s.image for s in _thin_adult_ap(cache)], session)
    if sim_tree is not None:
        version, images = sim_tree_films(sim_tree, cache / "sim-tree")
        out["sim_tree_ap_900000"] = {"sim_tree": str(sim_tree), "sim_version": version} | _ap_refusals(images, session)
    return out


def _tree_src(tree: Path) -> Path:
    src = Path(tree) / "src"
    if not (src / "fusionwatch" / "sim").is_dir():
        raise FileNotFoundError(f"--sim-tree {tree}: no src/fusionwatch/sim in it; expected a fusionwatch source tree")
    return src


def sim_tree_films(tree: Path, cache: Path, spec: str = "sim:30:ap:900000") -> tuple[str, list[np.ndarray]]:
    """The films of ``spec`` rendered by the simulator of another source tree: ``load_data(spec)`` run in a
    subprocess with ``PYTHONPATH=TREE/src`` (cached in ``cache`` under that tree's SIM_VERSION, so a changed tree
    needs a new SIM_VERSION or a fresh cache). Returns (that SIM_VERSION, the images)."""
    import subprocess
    import sys
    import tempfile

    src = _tree_src(tree)
    code = (
        "import sys, numpy as np; from pathlib import Path; from fusionwatch.detect.datasets import load_data; "
        "from fusionwatch.sim import SIM_VERSION; "
        "s = load_data(sys.argv[1], cache_dir=Path(sys.argv[2])); "
        "np.savez(sys.argv[3], version=np.array(SIM_VERSION), *[x.image for x in s])"
    )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "films.npz"
        env = dict(os.environ, PYTHONPATH=str(src))
        subprocess.run([sys.executable, "-c", code, spec, str(cache), str(out)], env=env, check=True)
        with np.load(out) as z:
            return str(z["version"]), [z[f"arr_{i}"] for i in range(len(z.files) - 1)]


def _all_points(sample) -> dict:  # noqa: ANN001
    return dict(sample.points) | dict(sample.truth.get("extra_points", {}))


def _flank(img: np.ndarray, points: dict, amplitude: tuple[float, float], i: int) -> np.ndarray:
    """``augment.flank_shading`` at a fixed amplitude range, rng ``[781, i]`` (the model card's check)."""
    from fusionwatch.detect import augment

    a = img.astype(np.float32)
    lo, hi = float(a.min()), float(a.max())
    a01 = (a - lo) / max(hi - lo, 1e-6)
    return augment.flank_shading(np.random.default_rng([781, i]), a01, points, amplitude=amplitude)


def _thin_adult_ap(cache: Path) -> list:
    """``sim:30:ap:900000`` with ``ap_soft_tissue.AP_ADULT_WAIST_MM = (135, 200)``, restored afterwards (own cache
    folder)."""
    from fusionwatch.detect.datasets import load_data
    from fusionwatch.sim.render import ap_soft_tissue

    old = ap_soft_tissue.AP_ADULT_WAIST_MM
    ap_soft_tissue.AP_ADULT_WAIST_MM = (135.0, 200.0)
    try:
        return load_data("sim:30:ap:900000", cache_dir=cache / "thin-adult-waist-135-200")
    finally:
        ap_soft_tissue.AP_ADULT_WAIST_MM = old


def _ap_refusals(images: list[np.ndarray], session) -> dict:  # noqa: ANN001
    """AP films: refused (p(other) >= 0.5 or p(AP) < 0.05), called lateral, called AP, lowest / median p(AP)."""
    from fusionwatch.detect.view import OTHER_THRESHOLD, classify_view

    refused, lateral, best_ap, p_ap = 0, 0, 0, []
    for img in images:
        p = classify_view(img, session).probabilities
        p_ap.append(p["ap"])
        refused += p["other"] >= OTHER_THRESHOLD or p["ap"] < 0.05
        best = max(p, key=p.__getitem__)
        lateral += best.startswith("lateral")
        best_ap += best == "ap"
    return {"n": len(images), "refused": int(refused), "called_lateral": int(lateral), "correct": int(best_ap)} | {
        "p_ap_min": round(min(p_ap), 3),
        "p_ap_median": round(float(np.median(p_ap)), 3),
    }


def main(argv: list[str] | None = None) -> None:
    from fusionwatch.detect.inference import MODELS_DIR

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=MODELS_DIR / "view.onnx")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "fusionwatch" / "train")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--sim-tree", type=Path, default=None, help="also run sim:30:ap:900000 rendered by this tree")
    a = ap.parse_args(argv)
    if a.sim_tree is not None:
        _tree_src(a.sim_tree)  # fail before the long run
    t0 = time.perf_counter()
    out = run(a.model, a.cache, a.sim_tree)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(out, indent=1)
    print(text)
    if a.json is not None:
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
