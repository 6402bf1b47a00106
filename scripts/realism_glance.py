"""Can real and simulated AP lumbar crops be told apart at a glance? A blind sheet for a person and a discriminator.

    # 1. a blind sheet: 8 real + 8 simulated crops, shuffled, numbered; the key goes elsewhere
    .venv/bin/python scripts/realism_glance.py sheet [--n 8] [--seed S] [--sheet PNG] [--key JSON]
    # 2. score the tiles the person called simulated
    .venv/bin/python scripts/realism_glance.py score --key JSON --score "3,7,11"
    # 3. the automatic discriminator at glance resolution, with ablations (writes docs/realism/glance_v<SIM>.json)
    nice -n 10 .venv/bin/python scripts/realism_glance.py discriminate [--n-sim 150] [--out JSON]

Both measures crop and normalise exactly as ``scripts/sim_realism.py`` does: its ``real_set``, ``sim_set``,
``crop_box``, ``extract``, ``normalise`` and ``measures`` are imported from that file by path (``--sim-realism``), never
copied. Two things are added so that nothing but the image content differs between the two kinds of tile:

- Only **complete** crops: a real film whose crop box reaches beyond the film (narrow or short films; the contact sheet
  shows that part white) is left out, since a white margin would give a real tile away.
- The simulated films go through what the real ones went through: the simulator's 8-bit rendering (``pixels >> 4``,
  as ``simulate_journey`` writes its PNGs) and a JPEG round trip at the real films' quality (libjpeg quality 75,
  read from their quantisation tables: ``--jpeg-quality``), before cropping.

Simulated films are those of ``sim_set`` (pre-operative AP films, 800 x 1000 px, adolescent-scoliosis population,
patient seeds 500, 501, ...), cached by SIM_VERSION in ``--cache``. Pure code (scorer, sheet layout, features,
grouped cross-validation) lives in ``scripts/_glance.py``. See docs/realism/GLANCE.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import importlib.util
import io
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _glance as G  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = Path(os.environ.get("FUSIONWATCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_CACHE = Path("/tmp/fusionwatch-glance-cache")
DEFAULT_SHEET = Path("/tmp/fusionwatch-glance/sheet.png")
DEFAULT_KEY = Path("/tmp/fusionwatch-glance-key/key.json")
JPEG_QUALITY = 75
"""libjpeg quality of the SpineWeb films: every one of their luminance tables is libjpeg's standard table at 75."""
SIM_SEED0 = 500
"""First simulated patient seed: ``sim_set``'s default, so the first twelve are the contact sheet's films."""
REAL_RNG_SEED = 0
"""The generator seed ``sim_realism.py`` gives ``real_set`` (the order of the films; with n above the number of
patients every patient is drawn)."""
CONTACT_SHEET_SEEN = 12
"""Films of each kind the blind sheet leaves out because ``docs/realism/contact_sheet_ap.png`` shows them under the
labels "real" and "simulated" (a person who has looked at it would recognise them): ``sim_realism.py`` puts the first
``N_TILES`` (6) films of ``real_set(shared, CONTACT_SHEET_N_REAL, default_rng(0))`` and of ``sim_set`` (seeds 500, ...)
on it; 12 of each leave room for films its check skips. Without this, 6 of the 40 simulated films of the pool were
contact-sheet films (3 in 4 sheets showed at least one) against 2 of the 147 real ones."""
CONTACT_SHEET_N_REAL = 40
"""``sim_realism.py``'s ``--n-real`` default: the number of real films its contact sheet draws (order depends on it)."""
COMPLETE_TOL = 0.005
"""A crop box may reach this share of its size beyond the film and still count as complete (the edge is repeated)."""
VERY_COARSE_SIGMA_PX = 36.0
"""Ablation 'very coarse layout': Gaussian sigma in crop pixels (15 px on the tile: bright and dark regions only)."""
JITTER_SEED = 2611
"""Seed of the 'jittered' ablation's draws (with the film's index in the run)."""
BLUR_SIGMA_PX = 12.0
"""Ablation 'coarse layout': Gaussian sigma in crop pixels (crop 480 px high; 5 px on the 200-px tile)."""
HIGH_PASS_SIGMA_PX = 6.0
"""Ablation 'fine texture': crop minus its Gaussian blur of this sigma in crop pixels (2.5 px on the tile)."""


# ---------------------------------------------------------------------------------------------------- loading


def load_sim_realism(path: Path) -> ModuleType:
    """``scripts/sim_realism.py`` imported as a module from ``path`` (it is a script, not part of the package)."""
    if not path.is_file():
        raise FileNotFoundError(f"sim_realism.py not found at {path}; give its path with --sim-realism.")
    spec = importlib.util.spec_from_file_location("sim_realism", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def complete_crop(sr: ModuleType, im: np.ndarray, corners: dict[str, np.ndarray]):
    """The normalised crop (sim_realism's CH x CW float32 in [0, 1]) and L2-L4 body quadrilaterals in crop px, or
    None when the crop box is broken or reaches beyond the film (more than COMPLETE_TOL of its width or height)."""
    box = sr.crop_box(corners, im.shape)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if h < 16 or w < 16:
        return None
    tx, ty = COMPLETE_TOL * w, COMPLETE_TOL * h
    if x0 < -tx or y0 < -ty or x1 > im.shape[1] + tx or y1 > im.shape[0] + ty:
        return None
    small, (ox, oy), sc = sr.extract(im, box)
    ch, cw = sr.CH, sr.CW
    # a box inside the film to within COMPLETE_TOL: repeat the last rows / columns (at most 2 px of 480)
    pad = np.pad(small, ((oy, max(0, ch - oy - small.shape[0])), (ox, max(0, cw - ox - small.shape[1]))), mode="edge")
    crop = sr.normalise(pad[:ch, :cw])
    bodies = sr._quads(corners, (x0, y0), (sc, sc))
    return crop, bodies


def _match_rows(names: list[str], rows: np.ndarray, im: np.ndarray, corners: dict[str, np.ndarray]) -> str:
    """The file name whose landmark row gives these L1-L5 corners (real_set yields pixels and corners, not names)."""
    H, W = im.shape
    xs = np.concatenate([corners[f"L{k}"][:, 0] for k in range(1, 6)]) / W
    ys = np.concatenate([corners[f"L{k}"][:, 1] for k in range(1, 6)]) / H
    err = np.abs(rows[:, 48:68] - xs).sum(1) + np.abs(rows[:, 68 + 48 : 68 + 68] - ys).sum(1)
    i = int(np.argmin(err))
    if err[i] > 1e-4:
        raise RuntimeError("A real film's corners match no landmark row; sim_realism.real_set may have changed.")
    return names[i]


def _landmark_table(shared: Path) -> tuple[Path, list[str], np.ndarray]:
    """The SpineWeb AP folder, its file names and its landmark rows (N, 136)."""
    d = shared / "spineweb16-ap"
    if not (d / "filenames.csv").is_file():
        raise FileNotFoundError(f"No SpineWeb AP set at {d}; give --shared (or FUSIONWATCH_SHARED_DATA).")
    names = [r[0] for r in csv.reader(open(d / "filenames.csv"))]
    rows = np.array([list(map(float, r)) for r in csv.reader(open(d / "landmarks.csv"))])
    return d, names, rows


def contact_sheet_films(sr: ModuleType, shared: Path) -> tuple[set[str], set[int]]:
    """(real file names, simulated seeds) of the films the contact sheet may show (see CONTACT_SHEET_SEEN)."""
    _, names, rows = _landmark_table(shared)
    real: set[str] = set()
    for im, corners in sr.real_set(shared, CONTACT_SHEET_N_REAL, np.random.default_rng(REAL_RNG_SEED)):
        real.add(_match_rows(names, rows, im, corners))
        if len(real) == CONTACT_SHEET_SEEN:
            break
    return real, set(range(SIM_SEED0, SIM_SEED0 + CONTACT_SHEET_SEEN))


def real_crops(sr: ModuleType, shared: Path) -> tuple[list[dict], dict]:
    """Every complete real crop (one film per patient number, as ``real_set`` draws them) and a summary."""
    from fusionwatch.io.spineweb import spineweb_patient_id

    d, names, rows = _landmark_table(shared)
    items, skipped, qualities = [], 0, []
    for im, corners in sr.real_set(shared, 10**6, np.random.default_rng(REAL_RNG_SEED)):
        name = _match_rows(names, rows, im, corners)
        got = complete_crop(sr, im, corners)
        if got is None:
            skipped += 1
            continue
        q = Image.open(d / "images" / name).quantization
        qualities.append(G.ijg_quality(q[0]) if q else None)
        items.append({"crop": got[0], "bodies": got[1], "group": f"real-{spineweb_patient_id(name)}", "name": name})
    groups = [it["group"] for it in items]
    summary = {
        "films_drawn": len(items) + skipped,
        "complete_crops_used": len(items),
        "incomplete_crops_left_out": skipped,
        "patients": len(set(groups)),
        "jpeg_quality_of_real_films": {str(q): qualities.count(q) for q in sorted(set(qualities), key=str)},
    }
    return items, summary


def _cache_dir(cache: Path, sr: ModuleType, population: str, quality: int) -> Path:
    """One folder per SIM_VERSION, population, JPEG quality and the exact simulator code: the source of
    ``sim_set`` and of every module of the imported ``fusionwatch.sim`` (so an edit without a version bump, or
    another tree, never reads stale films; an edit elsewhere in sim_realism.py keeps the cache)."""
    import inspect

    import fusionwatch.sim as sim

    h = hashlib.sha1(inspect.getsource(sr.sim_set).encode())
    for f in sorted(Path(sim.__file__).resolve().parent.glob("*.py")):
        h.update(f.read_bytes())
    return cache / f"v{sr.SIM_VERSION}-{population}-s{SIM_SEED0}-q{quality}-{h.hexdigest()[:10]}"


def sim_crops(sr: ModuleType, n: int, population: str, quality: int, cache: Path) -> list[dict]:
    """The first ``n`` films of ``sim_set`` (patient seeds SIM_SEED0 ...), 8-bit, JPEG round-tripped, cropped.

    Rendered films are cached as their JPEG bytes and corners by SIM_VERSION and simulator code (:func:`_cache_dir`),
    so a second run renders nothing; a run asking for more films than are cached renders them all again
    (``sim_set`` is a generator that cannot start at film k).
    """
    folder = _cache_dir(cache, sr, population, quality)
    paths = [folder / f"film_{SIM_SEED0 + k}.npz" for k in range(n)]
    if not all(p.is_file() for p in paths):
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        for k, (_px, corners, film) in enumerate(sr.sim_set(n, seed0=SIM_SEED0, population=population)):
            img8 = (np.asarray(film.pixels) >> 4).astype(np.uint8)  # simulate_journey's PNG rule (12 -> 8 bit)
            buf = io.BytesIO()
            Image.fromarray(img8).save(buf, format="JPEG", quality=quality)
            np.savez(
                paths[k],
                jpeg=np.frombuffer(buf.getvalue(), np.uint8),
                corners=np.stack([corners[f"L{i}"] for i in range(1, 6)]),
            )
            print(f"  rendered simulated film {k + 1}/{n} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    items = []
    for k, p in enumerate(paths):
        z = np.load(p)
        im = np.asarray(Image.open(io.BytesIO(z["jpeg"].tobytes())).convert("L")).astype(np.float32)
        corners = {f"L{i + 1}": z["corners"][i] for i in range(5)}
        got = complete_crop(sr, im, corners)
        if got is not None:
            items.append({"crop": got[0], "bodies": got[1], "group": f"sim-{SIM_SEED0 + k}", "seed": SIM_SEED0 + k})
    return items


# ---------------------------------------------------------------------------------------------------- commands


def cmd_sheet(args: argparse.Namespace) -> None:
    sheet_path, key_path = Path(args.sheet), Path(args.key)
    sheet_dir = sheet_path.resolve().parent
    if sheet_dir == key_path.resolve().parent or sheet_dir in key_path.resolve().parents:
        raise SystemExit("error: --key must not be in the sheet's folder (the person taking the test must not see it).")
    sr = load_sim_realism(Path(args.sim_realism))
    seed = args.seed if args.seed is not None else secrets.randbits(31)
    real, _ = real_crops(sr, Path(args.shared))
    seen_real, seen_sim = contact_sheet_films(sr, Path(args.shared))
    real = [it for it in real if it["name"] not in seen_real]
    n_sim = CONTACT_SHEET_SEEN + max(args.pool, args.n)
    sim = sim_crops(sr, n_sim, args.population, args.jpeg_quality, Path(args.cache))
    sim = [it for it in sim if it["seed"] not in seen_sim]
    rng = np.random.default_rng(seed)
    pick_real = [real[i] for i in rng.choice(len(real), args.n, replace=False)]
    pick_sim = [sim[i] for i in rng.choice(len(sim), args.n, replace=False)]
    kinds = G.shuffled_kinds(args.n, args.n, seed)
    queues = {"real": list(pick_real), "sim": list(pick_sim)}
    tiles, entries = [], []
    for number, kind in enumerate(kinds, 1):
        it = queues[kind].pop(0)
        tiles.append(G.to_uint8(G.resize01(it["crop"], G.GLANCE_SIZE)))
        source = {"file": it["name"]} if kind == "real" else {"seed": it["seed"]}
        entries.append({"tile": number, "kind": kind, **source})
    sheet_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    G.sheet_image(tiles, cols=args.cols).save(sheet_path, optimize=True)
    key = {
        "schema": "fusionwatch.realism.glance_key/1",
        "seed": seed,
        "simulator_version": sr.SIM_VERSION,
        "simulator_code": _cache_dir(Path(args.cache), sr, args.population, args.jpeg_quality).name,
        "simulator_source": str(Path(sys.modules["fusionwatch.sim"].__file__ or "").resolve().parent),
        "population": args.population,
        "jpeg_quality": args.jpeg_quality,
        "tile_size_px": list(G.GLANCE_SIZE),
        "left_out_as_on_the_contact_sheet": {"real": sorted(seen_real), "sim_seeds": sorted(seen_sim)},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tiles": entries,
    }
    key_path.write_text(json.dumps(key, indent=1) + "\n")
    print(f"sheet: {sheet_path} ({2 * args.n} tiles)")
    print(f"key:   {key_path} (do not open it before scoring)")
    print(f'then:  .venv/bin/python scripts/realism_glance.py score --key {key_path} --score "3,7,..."')


def cmd_score(args: argparse.Namespace) -> None:
    key = json.loads(Path(args.key).read_text())
    kinds = [t["kind"] for t in sorted(key["tiles"], key=lambda t: t["tile"])]
    try:
        s = G.score_calls(kinds, G.parse_tiles(args.score))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    print(f"simulator version {key['simulator_version']}, {s.n_tiles} tiles ({kinds.count('sim')} simulated)")
    print(f"hits (simulated called simulated): {s.hits} of {s.hits + s.misses}")
    print(f"false alarms (real called simulated): {s.false_alarms} of {s.false_alarms + s.correct_rejections}")
    print(f"accuracy: {s.accuracy:.3f} (0.5 = guessing)")
    print(f"p = {s.p_value:.4f} (one-sided Fisher exact: this well by guessing, given how many tiles were called)")
    print(f"(binomial p {s.p_binomial:.4f}: assumes every call an independent coin flip; too small for a guess of 8)")
    print("tiles: " + " ".join(f"{i}={'S' if k == 'sim' else 'R'}" for i, k in enumerate(kinds, 1)))


def _stat_vector(sr: ModuleType, crop: np.ndarray, bodies: list) -> np.ndarray:
    m = sr.measures(crop, bodies)
    vals = [0.0 if np.isnan(m[k]) else m[k] for k in STAT_KEYS]  # no L2-L4 body in the crop: no vertebral contrast
    return np.array(vals + list(m["hist"]))


VARIANTS = {
    "as_is": "the normalised crops as on the sheet",
    "coarse_layout": f"Gaussian blur sigma {BLUR_SIGMA_PX:g} crop px ({BLUR_SIGMA_PX * 200 / 480:.1f} px on the tile), "
    "re-normalised: only the coarse layout is left",
    "very_coarse_layout": f"Gaussian blur sigma {VERY_COARSE_SIGMA_PX:g} crop px "
    f"({VERY_COARSE_SIGMA_PX * 200 / 480:.0f} px on the tile), re-normalised: bright and dark regions only",
    "fine_texture": f"crop minus its Gaussian blur (sigma {HIGH_PASS_SIGMA_PX:g} crop px), re-normalised: fine texture "
    "only",
    "equalised": "each crop histogram-equalised (rank -> uniform): the grey-level distribution carries nothing",
    "jittered": "each crop shifted by up to 8 % of its size and scaled 0.9-1.1 at random (own seed per film), edges "
    "reflected: where exactly the bodies fall in the crop no longer lines up across films",
    "spine_band": "the central 40 % of the crop's width only (the vertebral column), not re-normalised",
    "flanks": "the crop without its central 40 % (left and right strips side by side), not re-normalised",
}


def _variant(sr: ModuleType, name: str, crop: np.ndarray, index: int = 0) -> np.ndarray:
    """``crop`` as ablation ``name`` shows it (see VARIANTS); ``index`` seeds the 'jittered' draw of this film."""
    if name == "as_is":
        return crop
    if name == "coarse_layout":
        return sr.normalise(G.blurred(crop, BLUR_SIGMA_PX))
    if name == "very_coarse_layout":
        return sr.normalise(G.blurred(crop, VERY_COARSE_SIGMA_PX))
    if name == "fine_texture":
        return sr.normalise(G.high_passed(crop, HIGH_PASS_SIGMA_PX))
    if name == "equalised":
        return G.equalised(crop)
    if name == "jittered":
        return G.jittered(crop, np.random.default_rng([JITTER_SEED, index]))
    if name == "spine_band":
        return G.spine_band(crop)
    if name == "flanks":
        return G.flanks(crop)
    raise ValueError(name)


STAT_KEYS = (
    "mean",
    "std",
    "skewness",
    "edge_density",
    "laplacian_std",
    "glcm_contrast",
    "glcm_homogeneity",
    "vertebral_contrast",
)


def single_features(sr: ModuleType, items: list[dict], y: np.ndarray, stats: np.ndarray) -> list[dict]:
    """ROC AUC of each interpretable feature alone (no fitting; > 0.5: higher on simulated crops), sorted by how far
    from 0.5: spectrum rings and histogram bins of the tile, block means of a 4 x 5 grid, sim_realism's statistics."""
    tiles = [G.resize01(it["crop"], G.GLANCE_SIZE) for it in items]
    cols: dict[str, np.ndarray] = {}
    spec = np.stack([G.radial_spectrum(t) for t in tiles])
    for i, (a, b) in enumerate(G.spectrum_ring_periods_px(tiles[0].shape)):
        cols[f"spectrum: power at periods {a:.1f}-{b:.1f} tile px"] = spec[:, i]
    hist = np.stack([G.histogram_features(t) for t in tiles])
    for i in range(G.HISTOGRAM_BINS):
        cols[f"histogram: share of grey {i / G.HISTOGRAM_BINS:.3f}-{(i + 1) / G.HISTOGRAM_BINS:.3f}"] = hist[:, i]
    blocks = np.stack([G.block_means(t) for t in tiles])
    for i in range(blocks.shape[1]):
        r, c = divmod(i, 4)
        cols[f"layout: mean grey of block row {r + 1}/5 (top=1), column {c + 1}/4 (left=1)"] = blocks[:, i]
    for i, k in enumerate(STAT_KEYS):
        cols[f"sim_realism statistic: {k}"] = stats[:, i]
    out = []
    for name, v in cols.items():
        auc = G.roc_auc(y, v)
        out.append(
            {
                "feature": name,
                "roc_auc": round(auc, 4),
                "real_mean": float(np.mean(v[y == 0])),
                "sim_mean": float(np.mean(v[y == 1])),
            }
        )
    return sorted(out, key=lambda d: -abs(d["roc_auc"] - 0.5))


def layout_spread(real: list[dict], sim: list[dict]) -> dict:
    """How much the layout varies from film to film in each set, in crop pixels (crop 480 px high): the spread of
    the L2, L3 and L4 body centres and sizes (from the landmarks), and the mean per-pixel standard deviation of the
    tiles across films. A set whose bodies always sit at the same place gives itself away to a pixel classifier."""
    out: dict[str, dict] = {}
    for name, items in (("real", real), ("sim", sim)):
        rows = {}
        for i, level in enumerate(("L2", "L3", "L4")):
            quads = [it["bodies"][i] for it in items if len(it["bodies"]) == 3]
            c = np.array([q.mean(0) for q in quads])
            w = np.array([np.ptp(q[:, 0]) for q in quads])
            h = np.array([np.ptp(q[:, 1]) for q in quads])
            rows[level] = {
                "centre_x_sd": round(float(c[:, 0].std()), 1),
                "centre_y_sd": round(float(c[:, 1].std()), 1),
                "width_mean": round(float(w.mean()), 1),
                "width_sd": round(float(w.std()), 1),
                "height_mean": round(float(h.mean()), 1),
                "height_sd": round(float(h.std()), 1),
            }
        tiles = np.stack([G.resize01(it["crop"], G.GLANCE_SIZE) for it in items])
        rows["tile_pixel_sd_across_films"] = round(float(tiles.std(0).mean()), 4)
        out[name] = rows
    return out


def discriminator_report(sr: ModuleType, real: list[dict], sim: list[dict], *, repeats: int, seed: int) -> dict:
    """Balanced accuracy and ROC AUC per feature group and ablation variant, plus the null checks."""
    items = real + sim
    y = np.array([0] * len(real) + [1] * len(sim))
    groups = np.array([it["group"] for it in items])
    out: dict[str, dict] = {}
    for vname in VARIANTS:
        feats = [G.glance_features(_variant(sr, vname, it["crop"], i)) for i, it in enumerate(items)]
        res = {}
        for g in G.FEATURE_GROUPS:
            X = np.stack([f[g] for f in feats])
            res[g] = G.discriminate(X, y, groups, repeats=repeats, seed=seed).as_dict()
        X_all = np.hstack([np.stack([f[g] for f in feats]) for g in G.FEATURE_GROUPS])
        blocks = [feats[0][g].size for g in G.FEATURE_GROUPS]
        res["all"] = G.discriminate(X_all, y, groups, repeats=repeats, seed=seed, block_sizes=blocks).as_dict()
        if vname == "as_is":
            X_stats = np.stack([_stat_vector(sr, it["crop"], it["bodies"]) for it in items])
            res["sim_realism_statistics"] = G.discriminate(X_stats, y, groups, repeats=repeats, seed=seed).as_dict()
            res["single_features"] = single_features(sr, items, y, X_stats)
            res["layout_spread_crop_px"] = layout_spread(real, sim)
            res["learning_curve_all"] = {
                str(k): v for k, v in G.learning_curve(X_all, y, groups, seed=seed, block_sizes=blocks).items()
            }
            # null checks: two halves of one kind (patients split at random) should not be told apart
            nulls = {}
            for kind, block in (("real_vs_real", slice(0, len(real))), ("sim_vs_sim", slice(len(real), len(items)))):
                Xk, gk = X_all[block], groups[block]
                ug = np.unique(gk)
                half = set(np.random.default_rng(seed).permutation(ug)[: len(ug) // 2])
                yk = np.array([int(g in half) for g in gk])
                nulls[kind] = G.discriminate(Xk, yk, gk, repeats=repeats, seed=seed, block_sizes=blocks).as_dict()
            res["null_checks"] = nulls
        out[vname] = res
        print(
            f"  {vname:14s} "
            + " ".join(
                f"{g}={res[g]['balanced_accuracy']:.2f}/{res[g]['roc_auc']:.2f}" for g in (*G.FEATURE_GROUPS, "all")
            ),
            file=sys.stderr,
            flush=True,
        )
    return out


def cmd_discriminate(args: argparse.Namespace) -> None:
    t0 = time.time()
    sr = load_sim_realism(Path(args.sim_realism))
    real, real_summary = real_crops(sr, Path(args.shared))
    sim = sim_crops(sr, args.n_sim, args.population, args.jpeg_quality, Path(args.cache))
    t_load = time.time() - t0
    results = discriminator_report(sr, real, sim, repeats=args.repeats, seed=args.seed)
    try:
        commit = subprocess.run(
            ["git", "-C", str(Path(sr.__file__).resolve().parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    import fusionwatch.sim as sim_pkg

    report = {
        "schema": "fusionwatch.realism.glance/1",
        "simulator_version": sr.SIM_VERSION,
        "simulator_source": str(Path(sim_pkg.__file__).resolve().parent),
        "git_commit_of_sim_realism_tree": commit,
        "population": args.population,
        "note": args.note,
        "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "nice -n 10 .venv/bin/python scripts/realism_glance.py " + shlex.join(sys.argv[1:]),
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),
        "seconds": None,
        "reading": "balanced accuracy / ROC AUC 0.5 = cannot be told apart; 1.0 = always told apart",
        "real": real_summary,
        "simulated": {
            "films": len(sim),
            "seeds": f"{SIM_SEED0}-{SIM_SEED0 + args.n_sim - 1}",
            "size_px": [800, 1000],
            "eight_bit": "pixels >> 4",
            "jpeg_quality": args.jpeg_quality,
        },
        "views": {"tile_px": list(G.GLANCE_SIZE), "thumbnail_px": list(G.THUMB_SIZE)},
        "features": {
            "pixels": f"thumbnail {G.THUMB_SIZE[0]} x {G.THUMB_SIZE[1]} grey levels",
            "hog": "HOG of the thumbnail (8 px cells, 2 x 2 blocks, 9 orientations)",
            "spectrum": f"log radial power spectrum of the {G.GLANCE_SIZE[0]} x {G.GLANCE_SIZE[1]} tile "
            f"({G.SPECTRUM_BINS} log-spaced rings)",
            "histogram": f"{G.HISTOGRAM_BINS}-bin grey-level histogram of the tile",
            "all": "the four concatenated, each group weighted equally (columns x sqrt(D / (k d)))",
            "sim_realism_statistics": "sim_realism.measures() on the full crop (8 scalars + 32-bin histogram)",
        },
        "classifier": "StandardScaler + L2 logistic regression (C 0.05), stratified group 5-fold CV "
        f"x {args.repeats} shuffles; CI: 1000 group bootstraps of the first shuffle's out-of-fold predictions",
        "variants": VARIANTS,
        "results": results,
    }
    a = results["as_is"]
    report["headline"] = {
        "all_features": a["all"]["balanced_accuracy"],
        "trained_on_5_of_each": a["learning_curve_all"].get("5", {}).get("balanced_accuracy"),
        "trained_on_10_of_each": a["learning_curve_all"].get("10", {}).get("balanced_accuracy"),
        "sim_realism_statistics": a["sim_realism_statistics"]["balanced_accuracy"],
        "coarse_layout_pixels": results["coarse_layout"]["pixels"]["balanced_accuracy"],
        "fine_texture_spectrum": results["fine_texture"]["spectrum"]["balanced_accuracy"],
        "histogram": a["histogram"]["balanced_accuracy"],
        "reading": "balanced accuracies; 0.5 = cannot be told apart. The full-data numbers saturate near 1.0; "
        "the learning curve and the per-view numbers move first when the simulator gets closer",
    }
    report = {k: report[k] for k in ("schema", "simulator_version", "headline")} | report
    report["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out or ROOT / "docs" / "realism" / f"glance_v{sr.SIM_VERSION}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"simulator version {sr.SIM_VERSION}: {len(real)} real, {len(sim)} simulated crops (loading {t_load:.0f} s, "
        f"total {report['seconds']:.0f} s) -> {out}"
    )
    print("| variant | " + " | ".join((*G.FEATURE_GROUPS, "all")) + " |")
    print("|---|" + "---|" * (len(G.FEATURE_GROUPS) + 1))
    for vname, res in results.items():
        print(
            f"| {vname} | "
            + " | ".join(
                f"{res[g]['balanced_accuracy']:.2f} / {res[g]['roc_auc']:.2f}" for g in (*G.FEATURE_GROUPS, "all")
            )
            + " |"
        )
    print("headline: " + ", ".join(f"{k} {v}" for k, v in report["headline"].items() if k != "reading"))
    a = results["as_is"]
    ls = a["layout_spread_crop_px"]
    for lv in ("L2", "L3", "L4"):
        r, m = ls["real"][lv], ls["sim"][lv]
        print(
            f"{lv} body centre sd x/y (crop px): real {r['centre_x_sd']}/{r['centre_y_sd']}, "
            f"sim {m['centre_x_sd']}/{m['centre_y_sd']}; width sd real {r['width_sd']}, sim {m['width_sd']}; "
            f"height sd real {r['height_sd']}, sim {m['height_sd']}"
        )
    print(
        "learning curve (all features; films of each kind trained on: balanced accuracy): "
        + ", ".join(f"{k}: {v['balanced_accuracy']:.2f}" for k, v in a["learning_curve_all"].items())
    )
    print(
        f"tile pixel sd across films: real {ls['real']['tile_pixel_sd_across_films']}, "
        f"sim {ls['sim']['tile_pixel_sd_across_films']}"
    )
    print("single features furthest from 0.5 (ROC AUC; > 0.5: higher on simulated crops; real mean -> simulated mean):")
    for f in a["single_features"][:12]:
        print(f"  {f['roc_auc']:.2f}  {f['feature']}  ({f['real_mean']:.3g} -> {f['sim_mean']:.3g})")
    print(
        f"sim_realism statistics: {a['sim_realism_statistics']['balanced_accuracy']:.2f} / "
        f"{a['sim_realism_statistics']['roc_auc']:.2f}; null real|real "
        f"{a['null_checks']['real_vs_real']['balanced_accuracy']:.2f}, sim|sim "
        f"{a['null_checks']['sim_vs_sim']['balanced_accuracy']:.2f} (balanced accuracy / AUC)"
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--shared", default=str(DEFAULT_SHARED), help="folder holding spineweb16-ap/")
    common.add_argument(
        "--sim-realism",
        default=str(ROOT / "scripts" / "sim_realism.py"),
        help="sim_realism.py to import the crop rule from",
    )
    common.add_argument("--population", default="adolescent-scoliosis", choices=("adolescent-scoliosis", "adult"))
    common.add_argument("--jpeg-quality", type=int, default=JPEG_QUALITY)
    common.add_argument("--cache", default=str(DEFAULT_CACHE), help="rendered simulated films, by SIM_VERSION")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sheet", parents=[common], help="write a blind glance sheet and its key")
    s.add_argument("--n", type=int, default=8, help="real tiles and simulated tiles (each)")
    s.add_argument("--seed", type=int, default=None, help="shuffle seed (default: random, recorded in the key)")
    s.add_argument("--pool", type=int, default=40, help="simulated films to draw the sheet's from")
    s.add_argument("--cols", type=int, default=4)
    s.add_argument("--sheet", default=str(DEFAULT_SHEET))
    s.add_argument("--key", default=str(DEFAULT_KEY), help="the answer key (not in the sheet's folder)")
    s.set_defaults(func=cmd_sheet)
    c = sub.add_parser("score", help="score the tiles a person called simulated")
    c.add_argument("--key", default=str(DEFAULT_KEY))
    c.add_argument("--score", required=True, help='tile numbers called simulated, e.g. "3,7,11"')
    c.set_defaults(func=cmd_score)
    d = sub.add_parser("discriminate", parents=[common], help="automatic discriminator at glance resolution")
    d.add_argument("--n-sim", type=int, default=150, help="simulated films (seeds 500 ...)")
    d.add_argument("--repeats", type=int, default=3, help="CV shuffles")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--note", default=None, help="free text stored in the JSON (e.g. which tree and commit)")
    d.add_argument("--out", default=None, help="JSON (default docs/realism/glance_v<SIM_VERSION>.json)")
    d.set_defaults(func=cmd_discriminate)
    return ap


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
