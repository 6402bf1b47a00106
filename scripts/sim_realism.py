"""Compare simulated AP films with the real SpineWeb AP radiographs: contact sheet and statistics.

    .venv/bin/python scripts/sim_realism.py [--shared ../shared/data] [--n-real 40] [--n-sim 12]
        [--population adolescent-scoliosis|adult] [--no-lateral]

Writes docs/realism/contact_sheet_ap.png (real | simulated lumbar crops side by side), docs/realism/lateral_examples.png
(simulated laterals across scenarios; no real lateral films are available here) and docs/realism/statistics.json, and
prints a Markdown table for docs/simulator.md. Real images are only read, never copied into the repository (the contact
sheet shows small downscaled crops for the comparison the simulator issue asks for).

Both sets are cropped the same way from their corner landmarks: from 10 % above L1 to 15 % of the L1-L5 span below the
lowest annotated endplate, width 0.8 x height (the tile's aspect: one scale in x and y), centred on the spine and
shifted sideways to stay inside the film where it is wide enough; the part inside the film is scaled to 480 px of box
height and normalised to the 1st-99th percentile (measures on that part only; on the sheet, what lies beyond a narrow
or short real film is white). Up to simulator version 20 the box was 0.9 x height, clipped to the film and stretched
to 384 x 480: every crop squeezed to 0.89 in x, narrow real films widened. Measures per image:
- histogram of normalised intensity (32 bins) -> mean, std, skewness; mean histogram intersection real vs simulated;
- edge density: mean Sobel gradient magnitude;
- texture: Laplacian standard deviation (fine detail) and GLCM contrast / homogeneity (distance 2 px, 32 levels);
- vertebral contrast: mean intensity inside the L2-L4 body quadrilaterals minus a band just beside each body;
- spine band (simulator version 26; the measure version 24's session script used): ``body_minus_disc``, the mean of
  the central 50 % x 50 % of the L2, L3 and L4 bodies minus the mean of the central 60 % x 50 % of the L2-L3, L3-L4 and
  L4-L5 disc gaps (the quadrilateral between the upper body's inferior and the lower body's superior corners), and
  ``disc_minus_beside``, that disc gap minus the same band shifted 0.75 x its width to either side: how much darker
  the disc gaps are than the bodies (real films: barely, the posterior elements project over them) and how much
  brighter than the soft tissue beside the spine.
- bowel gas (simulator version 34; :func:`gas_mask`, :func:`gas_measures`): dark regions of the crop relative to their
  surroundings (a grey closing fills dark holes up to ~60 mm; a ramp such as the body's edge is not gas), connected
  components; per film the gas area, the regions and specks off the spine column, their median and largest area
  (shares of the crop: the real films have no pixel spacing), gas-free films, wall sharpness, mottle inside the
  regions, gas cores per footprint (honeycomb), gas over the spine column and beside it. ``--gas-overlays N`` writes
  N crops of each kind with the segmentation outlined (``gas_overlay_real.png``, ``gas_overlay_sim.png``) to check
  by eye. Caveat: on real films the sacral foramina and the gaps between sacrum and iliac wings also count as specks.
  Version 35 adds the look of the gas regions: how dark, how round and convex, how many chains of segments in one
  footprint and how evenly sized their segments are (the lead's give-away of version 34: "segmented balloons").
- haze (simulator version 35/36; :func:`haze_measures`): the soft tissue beside the spine (off the column and the
  gas) split into grey bands (fine < 1 px, detail 1-3, structure 3-9, coarse 9-27 px, the broad field beyond), the
  broad field's share of the variance and the local 9 x 9 px SD (a smooth fog: little fine grain and detail, a high
  broad share); along the spine's strongest edges the dark rim beside bright bone (a console's edge enhancement) and
  the edge's 10-90 % rise width (the lead's give-away of version 34: "a smooth grey haze").
Simulated films are pre-operative AP films of journey patients (the real set has no hardware) drawn from the
population matched to the real set: ``sample_patient(..., population="adolescent-scoliosis")`` (simulator version 13:
adolescents with a structural lumbar curve and rotated vertebrae; version 14 also wedges L2 and L3;
``--population adult`` compares the product's own adult fusion patients instead).
"""

from __future__ import annotations

import argparse
import csv
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw
from skimage.feature import graycomatrix, graycoprops

from fusionwatch.io.spineweb import spineweb_patient_id
from fusionwatch.sim import SIM_VERSION

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "realism"
CW, CH = 384, 480
N_TILES = 6
"""Films per row of the contact sheet."""


def crop_box(corners: dict[str, np.ndarray], shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """The lumbar crop of a film: ``corners["L1"]`` etc. are (4, 2) arrays of (x, y) px; ``shape`` (rows, cols).

    From 10 % of the L1-L5 span above L1 to 15 % below L5, ``CW / CH`` x that height wide (so a crop is scaled the same
    in x and y), centred on the spine, shifted sideways to stay inside the film where the film is wide enough. The box
    (x0, y0, x1, y1) may still reach beyond the film (narrow or short real films): see :func:`extract`.
    """
    top = corners["L1"][:, 1].min()
    bottom_level = max(k for k in corners if k.startswith("L"))
    span = corners[bottom_level][:, 1].max() - top
    bottom = corners[bottom_level][:, 1].max() + 0.15 * span
    top -= 0.1 * span
    h = bottom - top
    cx = np.mean([c[:, 0].mean() for c in corners.values()])
    w = h * CW / CH
    x0, x1 = cx - w / 2, cx + w / 2
    if x0 < 0:
        d = min(-x0, max(0.0, shape[1] - x1))
        x0, x1 = x0 + d, x1 + d
    elif x1 > shape[1]:
        d = min(x1 - shape[1], max(0.0, x0))
        x0, x1 = x0 - d, x1 - d
    return float(x0), float(top), float(x1), float(bottom)


def extract(im: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, tuple[int, int], float]:
    """The part of ``box`` inside the film, resized by one scale (CH / box height) in x and y.

    Returns (pixels, (x, y) offset of that part inside the CW x CH tile, scale). Up to simulator version 20 this script
    clipped a 0.9 x height box to the film and stretched what was left to the 0.8-aspect tile, so every crop was
    squeezed to 0.89 in x and the narrow real films (46 % are narrower than the box) were widened, by up to 2x.
    """
    x0, y0, x1, y1 = box
    s = CH / (y1 - y0)
    vx0, vy0 = int(max(0, np.floor(x0))), int(max(0, np.floor(y0)))
    vx1, vy1 = int(min(im.shape[1], np.ceil(x1))), int(min(im.shape[0], np.ceil(y1)))
    part = im[vy0:vy1, vx0:vx1].astype(np.float32)
    ox, oy = max(0, int(round((vx0 - x0) * s))), max(0, int(round((vy0 - y0) * s)))
    ow = max(1, min(CW - ox, int(round((vx1 - vx0) * s))))
    oh = max(1, min(CH - oy, int(round((vy1 - vy0) * s))))
    return cv2.resize(part, (ow, oh), interpolation=cv2.INTER_AREA), (ox, oy), s


def normalise(img: np.ndarray) -> np.ndarray:
    img = img.astype(np.float32)
    lo, hi = np.percentile(img, [1, 99])
    return np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def _poly_mean(img: np.ndarray, quad: np.ndarray) -> float:
    """Mean of ``img`` inside the convex quadrilateral ``quad`` ((4, 2) x, y crop pixels); NaN if it holds no pixel."""
    m = np.zeros(img.shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 1)
    return float(img[m.astype(bool)].mean()) if m.any() else float("nan")


def _shrink(quad: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """``quad`` scaled about its centroid by ``fx`` in x and ``fy`` in y."""
    c = quad.mean(0)
    return c + (quad - c) * np.array([fx, fy])


def spine_band(img: np.ndarray, quads: dict[str, np.ndarray]) -> dict[str, float]:
    """Body-minus-disc-gap brightness along the spine (see the module docstring).

    ``img`` normalised crop in [0, 1]; ``quads`` level name -> body quadrilateral (4, 2) in crop pixels, in the order
    top-left, top-right, bottom-right, bottom-left (as :func:`_quads` gives them). Returns ``body_minus_disc`` and
    ``disc_minus_beside`` (normalised grey levels; NaN when the levels are missing)."""
    bodies = [_poly_mean(img, _shrink(quads[lv], 0.5, 0.5)) for lv in ("L2", "L3", "L4") if lv in quads]
    discs, beside = [], []
    for up, lo in (("L2", "L3"), ("L3", "L4"), ("L4", "L5")):
        if up not in quads or lo not in quads:
            continue
        a, b = quads[up], quads[lo]
        gap = np.array([a[3], a[2], b[1], b[0]])  # upper body's bottom-left, bottom-right; lower's top-right, top-left
        discs.append(_poly_mean(img, _shrink(gap, 0.6, 0.5)))
        w = np.ptp(gap[:, 0])
        beside.append(
            np.nanmean([_poly_mean(img, _shrink(gap + np.array([s * 0.75 * w, 0.0]), 1.0, 0.5)) for s in (-1, 1)])
        )
    nan = float("nan")
    body = float(np.nanmean(bodies)) if bodies else nan
    disc = float(np.nanmean(discs)) if discs else nan
    return {
        "body_minus_disc": body - disc,
        "disc_minus_beside": disc - float(np.nanmean(beside)) if beside else nan,
    }


def measures(
    img: np.ndarray, bodies: list[np.ndarray], levels: dict[str, np.ndarray] | None = None
) -> dict[str, float]:
    """``img`` normalised (CH, CW) float in [0, 1]; ``bodies``: body quadrilaterals (4, 2) in crop pixels; ``levels``:
    L2-L5 quadrilaterals by level name for :func:`spine_band` (NaN measures without them)."""
    hist, _ = np.histogram(img, bins=32, range=(0, 1))
    hist = hist / hist.sum()
    mean, std = float(img.mean()), float(img.std())
    skew = float(np.mean(((img - mean) / (std + 1e-9)) ** 3))
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    lap = cv2.Laplacian(cv2.GaussianBlur(img, (0, 0), 0.8), cv2.CV_32F)
    q = np.clip((img * 31).round(), 0, 31).astype(np.uint8)
    glcm = graycomatrix(q, [2], [0, np.pi / 2], levels=32, symmetric=True, normed=True)
    inside, beside = [], []
    for quad in bodies:
        m = np.zeros(img.shape, np.uint8)
        cv2.fillConvexPoly(m, np.round(quad).astype(np.int32), 1)
        w = np.ptp(quad[:, 0])
        ring = np.zeros(img.shape, np.uint8)
        for sgn in (-1, 1):
            shifted = quad.copy()
            shifted[:, 0] += sgn * 0.75 * w
            cv2.fillConvexPoly(ring, np.round(shifted).astype(np.int32), 1)
        ring &= 1 - m
        if m.any() and ring.any():
            inside.append(img[m.astype(bool)].mean())
            beside.append(img[ring.astype(bool)].mean())
    return {
        "hist": hist.tolist(),
        "mean": mean,
        "std": std,
        "skewness": skew,
        "edge_density": float(np.mean(np.hypot(gx, gy))),
        "laplacian_std": float(lap.std()),
        "glcm_contrast": float(graycoprops(glcm, "contrast").mean()),
        "glcm_homogeneity": float(graycoprops(glcm, "homogeneity").mean()),
        "vertebral_contrast": float(np.mean(inside) - np.mean(beside)) if inside else float("nan"),
        **spine_band(img, levels or {}),
    }


GAS_DEPTH = 0.18
"""Bowel gas (simulator version 34): a pixel is gas where the smoothed crop lies this far (normalised grey) below its
grey closing over ``GAS_CLOSE_PX`` (the surrounding tissue with every darker hole up to ~60 mm filled) ..."""
GAS_BELOW_TISSUE = 0.08
"""... and this far below the 40th percentile of a ~75 mm window (so the soft tissue between bright processes, a
valley only because bone lies on both sides, is not gas)."""
GAS_FOOTPRINT = (0.10, 0.04)
"""The looser (depth, below-tissue) thresholds of a gas region's footprint (a mottled patch is one footprint with
many separate cores)."""
GAS_CLOSE_PX = 64
GAS_MIN_PX = 40
"""Components smaller than this (crop pixels, about 8 mm^2 on a 480 px crop of a ~210 mm L1-L5 box) are left out."""
GAS_REGION = 0.0025
"""A gas region: a component of at least this share of the crop (about 0.25 %: a pocket ~12 mm across); smaller
ones are specks (bubbles)."""
GAS_COLUMN_GROW = 0.3
GAS_CHAIN_CORES = 3
"""Version 35: a footprint holding at least this many gas components is a chain (a loop of segments between haustral
folds, or a honeycomb); ``gas_uneven`` is the spread of its components' sizes (SD / mean: a chain of evenly sized
balloons low)."""
"""The spine column (hull of the L1-L5 bodies) widened by this share of its width for the off-spine counts."""


def _filled(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(valid, f)``: where the crop ``img`` holds a film (not NaN beyond a narrow or short real film), and the crop
    as float32 with each NaN replaced by the nearest value inside the film."""
    from scipy import ndimage

    valid = np.isfinite(img)
    f = np.where(valid, img, 0.0).astype(np.float32)
    if not valid.all():
        idx = ndimage.distance_transform_edt(~valid, return_distances=False, return_indices=True)
        f = f[tuple(idx)]
    return valid, f


def gas_mask(
    img: np.ndarray, depth: float = GAS_DEPTH, below: float = GAS_BELOW_TISSUE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dark gas regions of a normalised crop (simulator version 34).

    ``img`` (CH, CW) in [0, 1], NaN beyond a narrow or short real film (filled with the nearest value inside it).
    Returns (mask, depth map = closing minus smoothed crop, smoothed crop). The crop is smoothed 1.5 px (JPEG and
    quantum noise alike), grey-closed with a disc of ``GAS_CLOSE_PX`` px (on a 4x smaller grid): a monotone ramp (the
    body's edge, the heel effect) is left as it is, a dark hole up to ~2 x that wide is filled; gas is where the crop
    lies ``depth`` below that and ``below`` under the local 40th percentile; components under ``GAS_MIN_PX`` and the
    10 px next to the crop's or film's edge are left out.
    """
    from scipy import ndimage

    valid, f = _filled(img)
    sm = cv2.GaussianBlur(f, (0, 0), 1.5)
    s = 4
    small = cv2.resize(sm, (sm.shape[1] // s, sm.shape[0] // s), interpolation=cv2.INTER_AREA)
    r = GAS_CLOSE_PX // s
    pad = r + 1
    padded = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    clo = cv2.GaussianBlur(cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[pad:-pad, pad:-pad], (0, 0), 2.0)
    ref = ndimage.percentile_filter(small, 40, size=161 // s | 1, mode="reflect")
    clo = cv2.resize(clo, (sm.shape[1], sm.shape[0]), interpolation=cv2.INTER_LINEAR)
    ref = cv2.resize(ref, (sm.shape[1], sm.shape[0]), interpolation=cv2.INTER_LINEAR)
    dark = ((clo - sm) > depth) & (sm < ref - below) & ndimage.binary_erosion(valid, iterations=10, border_value=0)
    lab, n = ndimage.label(dark)
    if n:
        sizes = np.asarray(ndimage.sum(dark, lab, np.arange(1, n + 1)))
        dark = np.r_[False, sizes >= GAS_MIN_PX][lab]
    return dark, clo - sm, sm


def _column(shape: tuple[int, int], quads: list[np.ndarray], grow: float = 0.0) -> np.ndarray:
    """The spine column: the convex hull of the body quadrilaterals ((4, 2) x, y crop px), widened by ``grow``."""
    pts = np.vstack(quads)
    c = pts.mean(0)
    pts = c + (pts - c) * np.array([1.0 + grow, 1.0])
    col = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(col, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    return col.astype(bool)


def gas_measures(img: np.ndarray, quads: list[np.ndarray]) -> dict[str, float]:
    """Bowel gas of one normalised crop (simulator version 34; see :func:`gas_mask`).

    ``img`` (CH, CW) in [0, 1] with NaN beyond the film; ``quads`` the L1-L5 body quadrilaterals (crop px, tile
    frame). Areas are shares of the crop inside the film (the real films have no pixel spacing). Off the spine column
    (widened ``GAS_COLUMN_GROW``): ``gas_regions`` (components >= ``GAS_REGION``), ``gas_specks`` (smaller ones:
    bubbles), ``gas_median`` / ``gas_largest`` (component areas), ``gas_free`` (1 when no region),
    ``gas_wall`` (median over regions of the wall's mean gradient (1 px smoothing) over the region's depth: 1/px, a
    sharp wall high), ``gas_mottle`` (SD of the grey level inside a region over its depth: a mottled patch high, a
    uniform black colon low), ``gas_cores`` (separate gas cores per footprint at the looser ``GAS_FOOTPRINT``: a
    honeycomb or mottled patch has many). Everywhere: ``gas_area``, ``gas_spine`` (share of the column that is gas),
    ``gas_flanks`` (share of the rest). Version 35 (the loops' look): ``gas_black`` (median over regions of their
    median grey: near-black gas low), ``gas_round`` (median over regions of 4 pi area / perimeter^2: a rounded
    balloon near 1, an irregular pocket lower), ``gas_solid`` (median over regions of area / convex-hull area),
    ``gas_chains`` (footprints holding >= ``GAS_CHAIN_CORES`` components: chains of segments), ``gas_uneven`` (median
    over chains of the SD / mean of their components' sizes: evenly sized segments low).
    """
    from scipy import ndimage

    valid = np.isfinite(img)
    area = float(valid.sum())
    m, depth, sm = gas_mask(img)
    col = _column(img.shape, quads) & valid
    wide = _column(img.shape, quads, GAS_COLUMN_GROW)
    off = m & ~wide
    lab, n = ndimage.label(off)
    sizes = np.asarray(ndimage.sum(off, lab, np.arange(1, n + 1))) if n else np.zeros(0)
    f1 = cv2.GaussianBlur(sm, (0, 0), 0.5)
    grad = np.hypot(cv2.Sobel(f1, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(f1, cv2.CV_32F, 0, 1, ksize=3)) / 8
    walls, mottle, black, roundness, solid = [], [], [], [], []
    for i in np.flatnonzero(sizes >= GAS_REGION * area) + 1:
        c = lab == i
        d = float(np.median(depth[c]))
        black.append(float(np.median(sm[c])))  # version 35: how dark the gas is (normalised grey)
        cnt, _ = cv2.findContours(c.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        big_c = max(cnt, key=cv2.contourArea)
        per = float(cv2.arcLength(big_c, True))
        roundness.append(4.0 * np.pi * float(c.sum()) / max(per * per, 1.0))
        solid.append(float(c.sum()) / max(float(cv2.contourArea(cv2.convexHull(big_c))), 1.0))
        walls.append(float(np.median(grad[c & ~ndimage.binary_erosion(c, iterations=2)])) / max(d, 1e-3))
        core = ndimage.binary_erosion(c, iterations=3)
        if core.sum() > 20:
            mottle.append(float(np.std(sm[core])) / max(d, 1e-3))
    foot = gas_mask(img, *GAS_FOOTPRINT)[0] & ~wide
    flab, fn = ndimage.label(foot)
    cores, chains, even = [], 0, []
    for j in range(1, fn + 1):
        fj = flab == j
        if fj.sum() >= GAS_REGION * area and (fj & off).any():
            ids = np.unique(lab[fj & off])
            ids = ids[ids > 0]
            cores.append(len(ids))
            if len(ids) >= GAS_CHAIN_CORES:  # version 35: a chain of segments (or a honeycomb) in one footprint
                chains += 1
                cs = sizes[ids - 1]
                even.append(float(np.std(cs) / np.mean(cs)))
    nan = float("nan")
    big = sizes >= GAS_REGION * area
    return {
        "gas_area": float(m.sum() / area),
        "gas_regions": float(big.sum()),
        "gas_specks": float((~big).sum()),
        "gas_median": float(np.median(sizes)) / area if n else 0.0,
        "gas_largest": float(sizes.max()) / area if n else 0.0,
        "gas_free": float(not big.any()),
        "gas_wall": float(np.median(walls)) if walls else nan,
        "gas_mottle": float(np.median(mottle)) if mottle else nan,
        "gas_cores": float(np.mean(cores)) if cores else nan,
        "gas_spine": float(m[col].mean()) if col.any() else nan,
        "gas_flanks": float(m[valid & ~col].mean()),
        "gas_black": float(np.median(black)) if black else nan,
        "gas_round": float(np.median(roundness)) if roundness else nan,
        "gas_solid": float(np.median(solid)) if solid else nan,
        "gas_chains": float(chains),
        "gas_uneven": float(np.median(even)) if even else nan,
    }


GAS_KEYS = (
    "gas_area",
    "gas_regions",
    "gas_specks",
    "gas_median",
    "gas_largest",
    "gas_free",
    "gas_wall",
    "gas_mottle",
    "gas_cores",
    "gas_spine",
    "gas_flanks",
    "gas_black",
    "gas_round",
    "gas_solid",
    "gas_chains",
    "gas_uneven",
)


def gas_overlay(img: np.ndarray) -> np.ndarray:
    """An RGB (CH, 2 CW) spot-check picture: the crop, and beside it the crop with the gas regions outlined in red."""
    g = (np.nan_to_num(img, nan=1.0) * 255).astype(np.uint8)
    rgb = np.dstack([g, g, g])
    ov = rgb.copy()
    cnt, _ = cv2.findContours(gas_mask(img)[0].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(ov, cnt, -1, (255, 0, 0), 1)
    return np.concatenate([rgb, ov], 1)


HAZE_BANDS_PX = (1.0, 3.0, 9.0, 27.0)
"""Haze measures (simulator version 35/36): the Gaussian scales (crop px; a 480 px crop spans ~210 mm, 1 px ~0.45 mm)
whose differences split the soft tissue's grey variation into bands: fine (< 1 px: grain, JPEG), detail (1-3 px),
structure (3-9 px), coarse (9-27 px) and the rest (> 27 px: the broad brightness field)."""
HAZE_COLUMN_GROW = 0.6
"""The soft tissue of the haze measures: off the L1-L5 column widened by this share of its width, off the gas (dilated
5 px) and 10 px inside the crop or film."""
RIM_SAMPLES_PX = (2.0, 12.0)
"""Edge rims: the dark side of a bone edge is read from ``RIM_SAMPLES_PX[0]`` to ``[1]`` px out along the gradient."""


def haze_measures(img: np.ndarray, quads: list[np.ndarray], gas: np.ndarray | None = None) -> dict[str, float]:
    """The smooth grey haze of one normalised crop (the lead's give-away of version 34: soft, foggy glow with little
    structure beside the spine, where real films show grain, structured soft tissue and processed bone edges).

    ``img`` (CH, CW) in [0, 1] with NaN beyond the film; ``quads`` the L1-L5 body quadrilaterals (crop px, tile
    frame); ``gas`` the crop's gas mask (:func:`gas_mask`; computed when None). Per film, in the soft tissue (see
    ``HAZE_COLUMN_GROW``): ``haze_fine`` / ``haze_detail`` / ``haze_structure`` / ``haze_coarse``: the grey SD of the
    bands of ``HAZE_BANDS_PX`` (normalised grey levels); ``haze_low_share``: the share of the soft tissue's grey
    variance in the broad field (> 27 px) against all bands (a smooth fog: high); ``haze_local_sd``: median SD in
    9 x 9 px windows of the crop with the broad field (> 27 px) taken out (how much the soft tissue varies locally).
    Along the spine's bone edges (the strongest 4 % of gradients (1 px smoothing) inside the column widened 0.3):
    ``edge_rim``, median over edge pixels of (mean of the dark side 8-12 px out minus the minimum 2-6 px out) over the
    edge's step (bright side 2-4 px in minus dark side 8-12 px out): a dark rim beside bright bone (edge enhancement)
    is positive, a plain blurred step near 0; ``edge_width``: median 10-90 % rise distance (px) of the edge profile
    from 6 px out to 6 px in (crisp edges low)."""
    from scipy import ndimage

    valid, f = _filled(img)
    if gas is None:
        gas = gas_mask(img)[0]
    inner = ndimage.binary_erosion(valid, iterations=10, border_value=0)
    soft = (
        inner
        & ~_column(img.shape, quads, HAZE_COLUMN_GROW)
        & ~cv2.dilate(gas.astype(np.uint8), np.ones((11, 11))).astype(bool)
    )
    levels = [f] + [cv2.GaussianBlur(f, (0, 0), s) for s in HAZE_BANDS_PX]
    nan = float("nan")
    out: dict[str, float] = {}
    if soft.sum() < 500:
        out.update(
            dict.fromkeys(
                ("haze_fine", "haze_detail", "haze_structure", "haze_coarse", "haze_low_share", "haze_local_sd"), nan
            )
        )
    else:
        var = []
        for name, a, b in zip(("fine", "detail", "structure", "coarse"), levels[:-1], levels[1:], strict=True):
            d = (a - b)[soft]
            out[f"haze_{name}"] = float(d.std())
            var.append(float(d.var()))
        low = levels[-1][soft]
        low_var = float(low.var())
        out["haze_low_share"] = low_var / (low_var + sum(var) + 1e-12)
        hp = f - levels[-1]
        m1 = cv2.blur(hp, (9, 9))
        m2 = cv2.blur(hp * hp, (9, 9))
        out["haze_local_sd"] = float(np.median(np.sqrt(np.maximum(m2 - m1 * m1, 0.0))[soft]))
    # bone edges along the spine
    edges = _edge_profiles(f, _column(img.shape, quads, 0.3) & inner)
    if edges is None:
        return {**out, "edge_rim": nan, "edge_width": nan}
    t, prof = edges
    ti = {int(v): i for i, v in enumerate(t)}
    far = prof[:, [ti[-12], ti[-11], ti[-10], ti[-9], ti[-8]]].mean(1)
    near_min = prof[:, [ti[-6], ti[-5], ti[-4], ti[-3], ti[-2]]].min(1)
    bright = prof[:, [ti[2], ti[3], ti[4]]].mean(1)
    step = bright - far
    ok = step > 0.05
    out["edge_rim"] = float(np.median((far[ok] - near_min[ok]) / step[ok])) if ok.sum() > 20 else nan
    seg = prof[:, ti[-6] : ti[6] + 1]
    lo_, hi_ = seg[:, :1], seg[:, -1:]
    rel = (seg - lo_) / np.maximum(hi_ - lo_, 1e-6)
    ok2 = (hi_ - lo_)[:, 0] > 0.05
    w10 = np.argmax(rel >= 0.1, axis=1)
    w90 = np.argmax(rel >= 0.9, axis=1)
    out["edge_width"] = float(np.median((w90 - w10)[ok2])) if ok2.sum() > 20 else nan
    return out


def _edge_profiles(f: np.ndarray, col: np.ndarray, t0: int = -12, t1: int = 7) -> tuple[np.ndarray, np.ndarray] | None:
    """Grey profiles across the strongest 4 % of gradients (1 px smoothing) inside ``col`` (at most 4000, a fixed
    draw): ``t`` (px along the gradient, negative toward the dark side, ``t0`` ... ``t1 - 1``) and the (edges, len(t))
    profiles of ``f`` (NaN-free crop); None when ``col`` has fewer than 500 pixels."""
    from scipy import ndimage

    f1 = cv2.GaussianBlur(f, (0, 0), 1.0)
    gx = cv2.Sobel(f1, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(f1, cv2.CV_32F, 0, 1, ksize=3) / 8
    mag = np.hypot(gx, gy)
    if col.sum() < 500:
        return None
    thr = np.percentile(mag[col], 96)
    ys, xs = np.nonzero(col & (mag >= thr))
    if len(ys) > 4000:
        pick = np.random.default_rng(0).choice(len(ys), 4000, replace=False)
        ys, xs = ys[pick], xs[pick]
    nx, ny = gx[ys, xs] / (mag[ys, xs] + 1e-9), gy[ys, xs] / (mag[ys, xs] + 1e-9)  # toward the bright side
    t = np.arange(t0, t1, dtype=np.float32)
    px = xs[:, None] + nx[:, None] * t[None, :]
    py = ys[:, None] + ny[:, None] * t[None, :]
    prof = ndimage.map_coordinates(f, [py.ravel(), px.ravel()], order=1, mode="nearest").reshape(px.shape)
    return t, prof


GLOW_BANDS_PX = ((0, 4), (10, 30), (60, 80))
"""Glow measures (simulator version 36): the bands of the brightness profile beside the bodies (crop px out from the
body column's edge along each row; ~0.45 mm per px): at the edge, 4.5-13.5 mm and 27-36 mm out."""


def glow_measures(img: np.ndarray, quads: list[np.ndarray], gas: np.ndarray | None = None) -> dict[str, float]:
    """The broad glow beside the spine, the smooth dark sides and the bone's crispness of one normalised crop (the
    lead's give-aways of version 35: a large smooth brightness glow 20-40 mm beside the spine with soft, low-contrast
    bone inside it, smooth dark side bands, soft doubled vertebral outlines).

    ``img`` (CH, CW) in [0, 1] with NaN beyond the film; ``quads`` the L1-L5 body quadrilaterals (crop px, tile
    frame); ``gas`` the crop's gas mask (computed when None). Per film:
    ``glow_drop``: the median profile beside the bodies (rows of the middle 60 % of the column, both sides, off the
    gas dilated 5 px) at the column's edge minus 4.5-13.5 mm out (``GLOW_BANDS_PX``): how fast the brightness falls
    from the bone into the soft tissue (a glow around the column: small); ``glow_fall``: 4.5-13.5 mm out minus
    27-36 mm out (the broad ramp further out);
    ``dark_local_sd`` / ``bright_local_sd``: the median 9 x 9 px SD of the crop with its broad field (> 27 px) taken
    out, in the soft tissue of :func:`haze_measures` whose broad field is in its darkest / brightest third (smooth
    dark side bands or vignetting: low in the dark third);
    ``column_local_sd``: the same inside the body column (the bone's local contrast);
    ``edge_double``: the share of the spine's strongest edges (as ``edge_width``) whose slope across the edge, from
    6 px on the dark side to 8 px on the bright side, has a second peak 3 or more px from the first of at least half
    its height (a doubled outline)."""
    from scipy import ndimage

    nan = float("nan")
    valid, f = _filled(img)
    if gas is None:
        gas = gas_mask(img)[0]
    gas_d = cv2.dilate(gas.astype(np.uint8), np.ones((11, 11))).astype(bool)
    out: dict[str, float] = {}
    col = _column(img.shape, quads, 0.0)
    rows = np.nonzero(col.any(1))[0]
    n_out = GLOW_BANDS_PX[-1][1]
    prof = []
    if len(rows) > 10:
        r0, r1 = rows.min(), rows.max()
        for y in rows[(rows >= r0 + 0.2 * (r1 - r0)) & (rows <= r1 - 0.2 * (r1 - r0))]:
            xs = np.nonzero(col[y])[0]
            for xx in (xs.min() - 1 - np.arange(n_out), xs.max() + 1 + np.arange(n_out)):
                ok = (xx >= 0) & (xx < img.shape[1])
                v = np.full(n_out, np.nan)
                v[ok] = np.where(gas_d[y, xx[ok]], np.nan, img[y, xx[ok]])
                prof.append(v)
    band = [nan] * len(GLOW_BANDS_PX)
    if prof:
        with warnings.catch_warnings():  # a distance beyond a narrow film on every row: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(np.array(prof), 0)
            band = [float(np.nanmean(med[a:b])) for a, b in GLOW_BANDS_PX]
    out["glow_drop"] = band[0] - band[1]
    out["glow_fall"] = band[1] - band[2]
    inner = ndimage.binary_erosion(valid, iterations=10, border_value=0)
    broad = cv2.GaussianBlur(f, (0, 0), HAZE_BANDS_PX[-1])
    hp = f - broad
    m1 = cv2.blur(hp, (9, 9))
    m2 = cv2.blur(hp * hp, (9, 9))
    lsd = np.sqrt(np.maximum(m2 - m1 * m1, 0.0))
    soft = inner & ~_column(img.shape, quads, HAZE_COLUMN_GROW) & ~gas_d
    if soft.sum() < 500:
        out["dark_local_sd"] = out["bright_local_sd"] = nan
    else:
        lo, hi = np.percentile(broad[soft], [100 / 3, 200 / 3])
        out["dark_local_sd"] = float(np.median(lsd[soft & (broad <= lo)]))
        out["bright_local_sd"] = float(np.median(lsd[soft & (broad >= hi)]))
    inside = col & inner
    out["column_local_sd"] = float(np.median(lsd[inside])) if inside.sum() >= 500 else nan
    edges = _edge_profiles(f, _column(img.shape, quads, 0.3) & inner, -6, 9)
    if edges is None:
        out["edge_double"] = nan
        return out
    _, p = edges
    slope = np.diff(p, axis=1)
    step = p[:, -1] - p[:, 0]
    ok = step > 0.05
    if ok.sum() <= 20:
        out["edge_double"] = nan
        return out
    s = slope[ok]
    k = np.arange(s.shape[1])
    main = np.argmax(s, axis=1)
    peak = s[np.arange(len(s)), main]
    local = np.zeros_like(s, dtype=bool)
    local[:, 1:-1] = (s[:, 1:-1] >= s[:, :-2]) & (s[:, 1:-1] >= s[:, 2:])
    far = np.abs(k[None, :] - main[:, None]) >= 3
    second = local & far & (s >= 0.5 * peak[:, None])
    out["edge_double"] = float(second.any(1).mean())
    return out


HAZE_KEYS = (
    "haze_fine",
    "haze_detail",
    "haze_structure",
    "haze_coarse",
    "haze_low_share",
    "haze_local_sd",
    "edge_rim",
    "edge_width",
)


GLOW_KEYS = ("glow_drop", "glow_fall", "dark_local_sd", "bright_local_sd", "column_local_sd", "edge_double")

LAYOUT_GRID = (5, 4)
"""Rows x columns of :func:`layout_grid` (simulator version 28): the glance discriminator's 4 x 5 blocks."""


def layout_grid(tile: np.ndarray, grid: tuple[int, int] = LAYOUT_GRID) -> np.ndarray:
    """Coarse brightness layout of a crop (simulator version 28): the mean normalised grey level of each cell of a
    ``grid`` (rows, cols) over the ``(CH, CW)`` tile, top row first; ``tile`` holds NaN beyond a narrow or short
    real film (those pixels count in no cell; a cell with none is NaN). Averaged over films, real against simulated,
    it shows where the simulated crops are brighter or darker (the glance test's coarse-layout cue)."""
    rows, cols = grid
    h, w = tile.shape
    out = np.full(grid, np.nan)
    for r in range(rows):
        for c in range(cols):
            cell = tile[r * h // rows : (r + 1) * h // rows, c * w // cols : (c + 1) * w // cols]
            if np.isfinite(cell).any():
                out[r, c] = float(np.nanmean(cell))
    return out


def layout_difference(real: np.ndarray, sim: np.ndarray) -> dict[str, float]:
    """Mean absolute difference of the mean layouts (``real``, ``sim``: (films, rows, cols) from
    :func:`layout_grid`) and of their film-to-film SDs, cell by cell (normalised grey levels; 0 = same layout)."""
    return {
        "mean_abs_difference": float(np.nanmean(np.abs(np.nanmean(sim, 0) - np.nanmean(real, 0)))),
        "sd_abs_difference": float(np.nanmean(np.abs(np.nanstd(sim, 0) - np.nanstd(real, 0)))),
    }


def _quads(
    corners: dict[str, np.ndarray], box, scale: tuple[float, float], levels: tuple[str, ...] = ("L2", "L3", "L4")
) -> list[np.ndarray]:
    out = []
    for lv in levels:
        if lv in corners:
            c = corners[lv].copy()
            c[:, 0] = (c[:, 0] - box[0]) * scale[0]
            c[:, 1] = (c[:, 1] - box[1]) * scale[1]
            tl, tr, bl, br = c  # image order: top-left, top-right, bottom-left, bottom-right
            out.append(np.array([tl, tr, br, bl]))
    return out


def real_set(shared: Path, n: int, rng: np.random.Generator):
    d = shared / "spineweb16-ap"
    names = [r[0] for r in csv.reader(open(d / "filenames.csv"))]
    rows = [list(map(float, r)) for r in csv.reader(open(d / "landmarks.csv"))]
    # one image per patient (the number after the date; the same patient's films on other days look alike)
    by_patient: dict[str, int] = {}
    for i, nm in enumerate(names):
        by_patient.setdefault(spineweb_patient_id(nm), i)
    idx = rng.choice(sorted(by_patient.values()), size=min(n, len(by_patient)), replace=False)
    for i in idx:
        im = np.asarray(Image.open(d / "images" / names[i]).convert("L"))
        H, W = im.shape
        xs, ys = np.array(rows[i][:68]) * W, np.array(rows[i][68:]) * H
        corners = {
            f"L{k + 1}": np.c_[xs[4 * (12 + k) : 4 * (13 + k)], ys[4 * (12 + k) : 4 * (13 + k)]] for k in range(5)
        }
        yield im, corners


def sim_set(n: int, seed0: int = 500, population: str = "adolescent-scoliosis"):
    from fusionwatch.anatomy import Endplate, ImageSide, Level, ap_corner_name
    from fusionwatch.radiograph import View
    from fusionwatch.sim.film import FilmSpec, simulate_film
    from fusionwatch.sim.journey import (
        DEFAULT_SURGERY_DATE,
        SCENARIOS,
        _exposure,
        exam_exposure,
        journey_plan,
        sample_patient,
    )

    for k in range(n):
        scenario = SCENARIOS[k % len(SCENARIOS)]
        rng = np.random.default_rng([seed0 + k, 0])
        patient = sample_patient(rng, scenario, seed0 + k, DEFAULT_SURGERY_DATE, population=population)
        hw, states = journey_plan(scenario, patient, rng)
        st = states[0]  # pre-op: the real set has no hardware (metal would also shift the percentile normalisation)
        spec = FilmSpec(
            view=View.AP,
            width=800,
            height=1000,
            sid_mm=patient.sid_mm,
            oid_mm=patient.oid_mm * 0.55,
            exposure=exam_exposure(_exposure(rng, "L", "ap"), population, "ap"),
        )
        film = simulate_film(
            st.params,
            spec,
            hardware=hw if st.healing else None,
            healing=st.healing or __import__("fusionwatch.sim", fromlist=["Healing"]).Healing(),
            surgery_params=states[1].params,
            anatomy_seed=patient.anatomy_seed,
            noise_seed=k,
            soft_scale=patient.soft_scale,
            body_half_width_mm=patient.body_half_width_mm,
        )
        lm = film.landmarks
        corners = {}
        for lv in ("L1", "L2", "L3", "L4", "L5"):
            level = Level(lv)
            pts = [lm.get(ap_corner_name(level, ep, s)) for ep in Endplate for s in ImageSide]
            corners[lv] = np.array(pts)
        yield (film.pixels.astype(np.float32)), corners, film


def lateral_sheet(path: Path) -> None:
    import tempfile

    from fusionwatch.sim.journey import SCENARIOS, simulate_journey

    tiles = []
    tmp = Path(tempfile.mkdtemp(prefix="fusionwatch-realism-"))
    for k, sc in enumerate(SCENARIOS):
        j = simulate_journey(sc, 900 + k, tmp / sc, size=(800, 1000))
        d = json.loads(j.read_text())
        f = next(
            f for f in d["films"] if f["visit"] == ("12-months" if k % 2 else "6-months") and f["view"] == "lateral"
        )
        tiles.append((Image.open(j.parent / f["png"]).resize((320, 400)), f"{sc} {f['visit']}"))
    pre = next(f for f in d["films"] if f["visit"] == "pre-op" and f["view"] == "lateral")
    tiles.insert(0, (Image.open(j.parent / pre["png"]).resize((320, 400)), "pre-op"))
    sheet = Image.new("L", (320 * 3, 420 * 2), 255)
    dr = ImageDraw.Draw(sheet)
    for i, (t, label) in enumerate(tiles[:6]):
        x, y = 320 * (i % 3), 420 * (i // 3)
        sheet.paste(t, (x, y))
        dr.text((x + 4, y + 402), label, fill=0)
    sheet.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--n-real", type=int, default=40)
    ap.add_argument("--n-sim", type=int, default=12)
    ap.add_argument("--no-lateral", action="store_true")
    ap.add_argument("--population", default="adolescent-scoliosis", choices=("adolescent-scoliosis", "adult"))
    ap.add_argument("--out", default=str(OUT), help="folder for the sheet and statistics (default docs/realism)")
    ap.add_argument(
        "--gas-overlays",
        type=int,
        default=0,
        help="write gas_overlay_real.png / gas_overlay_sim.png: this many crops of each kind with the gas outlined",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    groups: dict[str, list[dict[str, float]]] = {"real": [], "sim": []}
    tiles: dict[str, list[Image.Image]] = {"real": [], "sim": []}
    layouts: dict[str, list[np.ndarray]] = {"real": [], "sim": []}  # version 28: coarse brightness layout
    overlays: dict[str, list[np.ndarray]] = {"real": [], "sim": []}  # version 34: gas segmentation spot checks
    for name, it in (
        ("real", real_set(Path(args.shared), args.n_real, rng)),
        ("sim", sim_set(args.n_sim, population=args.population)),
    ):
        for item in it:
            im, corners = item[0], item[1]
            box = crop_box(corners, im.shape)
            if box[3] - box[1] < 16 or min(box[2], im.shape[1]) - max(box[0], 0) < 16:  # broken landmark rows
                print("skip", name, box)
                continue
            small, (ox, oy), sc = extract(im, box)
            norm = normalise(small)
            off = (box[0] + ox / sc, box[1] + oy / sc)
            band = ("L2", "L3", "L4", "L5")
            levels = dict(zip([lv for lv in band if lv in corners], _quads(corners, off, (sc, sc), band), strict=True))
            groups[name].append(measures(norm, _quads(corners, off, (sc, sc)), levels))
            full = np.full((CH, CW), np.nan, np.float32)
            full[oy : oy + norm.shape[0], ox : ox + norm.shape[1]] = norm
            layouts[name].append(layout_grid(full))
            body = _quads(corners, off, (sc, sc), ("L1", "L2", "L3", "L4", "L5"))
            body_t = [q + np.array([ox, oy]) for q in body]
            groups[name][-1].update(gas_measures(full, body_t))
            groups[name][-1].update(haze_measures(full, body_t))  # version 35/36: the soft grey haze
            groups[name][-1].update(glow_measures(full, body_t))  # version 36: the glow beside the spine
            if len(overlays[name]) < args.gas_overlays:
                overlays[name].append(gas_overlay(full))
            if len(tiles[name]) < N_TILES:
                tile = np.full((CH, CW), 255, np.uint8)  # beyond a narrow or short real film: the sheet's white
                tile[oy : oy + norm.shape[0], ox : ox + norm.shape[1]] = (norm * 255).astype(np.uint8)
                tiles[name].append(Image.fromarray(tile).resize((CW // 2, CH // 2)))
    sheet = Image.new("L", (CW // 2 * N_TILES, CH // 2 * 2 + 30), 255)
    dr = ImageDraw.Draw(sheet)
    for r, name in enumerate(("real", "sim")):
        for c, t in enumerate(tiles[name]):
            sheet.paste(t, (c * CW // 2, r * (CH // 2 + 15) + 15))
        dr.text(
            (4, r * (CH // 2 + 15) + 2),
            "real SpineWeb AP (adolescent scoliosis; lumbar crop)"
            if name == "real"
            else (
                f"simulated AP (same crop rule), simulator v{SIM_VERSION}: "
                + (
                    "adolescent-scoliosis population matched to the real set (curves, rotated vertebrae)"
                    if args.population != "adult"
                    else "adult fusion patients (NOT matched to the real set)"
                )
            ),
            fill=0,
        )
    sheet.save(out / "contact_sheet_ap.png", optimize=True)
    summary = {}
    for name, rows in groups.items():
        keys = [k for k in rows[0] if k != "hist"]
        summary[name] = {
            k: {"mean": float(np.nanmean([r[k] for r in rows])), "sd": float(np.nanstd([r[k] for r in rows]))}
            for k in keys
        }
        summary[name]["n"] = len(rows)
        summary[name]["hist"] = np.mean([r["hist"] for r in rows], axis=0).round(5).tolist()
    inter = float(np.minimum(summary["real"]["hist"], summary["sim"]["hist"]).sum())
    summary["histogram_intersection"] = inter
    with np.errstate(all="ignore"):
        lay = {k: np.array(v) for k, v in layouts.items()}
        summary["layout_grid"] = {
            k: {
                "rows_cols": list(LAYOUT_GRID),
                "mean": np.nanmean(v, 0).round(4).tolist(),
                "sd": np.nanstd(v, 0).round(4).tolist(),
            }
            for k, v in lay.items()
        }
        summary["layout_difference"] = layout_difference(lay["real"], lay["sim"])
    summary["gas_per_film"] = {k: [{g: round(r[g], 5) for g in GAS_KEYS} for r in v] for k, v in groups.items()}
    summary["haze_per_film"] = {k: [{g: round(r[g], 5) for g in HAZE_KEYS} for r in v] for k, v in groups.items()}
    summary["glow_per_film"] = {k: [{g: round(r[g], 5) for g in GLOW_KEYS} for r in v] for k, v in groups.items()}
    for name, ims in overlays.items():
        if ims:
            rows = [
                np.concatenate(ims[i : i + 3] + [np.full_like(ims[0], 255)] * (3 - len(ims[i : i + 3])), 1)
                for i in range(0, len(ims), 3)
            ]
            Image.fromarray(np.concatenate(rows, 0)).save(out / f"gas_overlay_{name}.png", optimize=True)
    summary["simulator_version"] = SIM_VERSION
    summary["population"] = args.population
    (out / "statistics.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"| measure | real (n={summary['real']['n']}) | simulated (n={summary['sim']['n']}) |")
    print("|---|---|---|")
    for k in (
        "mean",
        "std",
        "skewness",
        "edge_density",
        "laplacian_std",
        "glcm_contrast",
        "glcm_homogeneity",
        "vertebral_contrast",
        "body_minus_disc",
        "disc_minus_beside",
    ):
        r, s = summary["real"][k], summary["sim"][k]
        print(f"| {k} | {r['mean']:.3f} ± {r['sd']:.3f} | {s['mean']:.3f} ± {s['sd']:.3f} |")
    for k in GAS_KEYS + HAZE_KEYS + GLOW_KEYS:
        r, s_ = summary["real"][k], summary["sim"][k]
        print(f"| {k} | {r['mean']:.4f} ± {r['sd']:.4f} | {s_['mean']:.4f} ± {s_['sd']:.4f} |")
    print(f"| histogram intersection (mean histograms) | {inter:.3f} | |")
    ld = summary["layout_difference"]
    print(
        f"| coarse layout {LAYOUT_GRID[0]} x {LAYOUT_GRID[1]}: mean abs difference of the mean / of the SD | "
        f"{ld['mean_abs_difference']:.3f} / {ld['sd_abs_difference']:.3f} | |"
    )
    if not args.no_lateral:
        lateral_sheet(out / "lateral_examples.png")


if __name__ == "__main__":
    main()
