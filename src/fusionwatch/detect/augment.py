"""Augmentations suited to radiographs (numpy + OpenCV; no torch).

Geometric changes are returned as 2 x 3 affine matrices (see :mod:`fusionwatch.detect._geometry`) so the image and its
points move together exactly; a horizontal flip also renames AP left/right points (lateral names are anatomical).
Intensity changes mimic exposure and processing differences (gamma, contrast, windowing), detector noise and blur, and
metal implants (screws, rods, cages) drawn as saturated bright shapes near the lumbosacral spine, and the appearance
of real films (:func:`appearance`): darker or brighter flanks, grouped bowel gas and stool over or beside the spine,
local equalisation (CLAHE-like) and grain.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fusionwatch.radiograph import View

__all__ = [
    "random_affine",
    "flip_matrix",
    "flip_names",
    "intensity",
    "implant_overlay",
    "add_noise",
    "appearance",
    "flank_shading",
    "gas_overlay",
    "local_contrast",
    "grain",
    "washed_out",
    "burnt_in_text",
]


def random_affine(
    rng: np.random.Generator,
    hw: tuple[int, int],
    *,
    max_rot_deg: float = 10.0,
    scale_range: tuple[float, float] = (0.85, 1.15),
    max_shift: float = 0.05,
) -> np.ndarray:
    """A random similarity about the image centre: rotation, isotropic scale and shift (fraction of the size)."""
    h, w = hw
    a = math.radians(rng.uniform(-max_rot_deg, max_rot_deg))
    s = rng.uniform(*scale_range)
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    c, si = s * math.cos(a), s * math.sin(a)
    tx = cx - c * cx + si * cy + rng.uniform(-max_shift, max_shift) * w
    ty = cy - si * cx - c * cy + rng.uniform(-max_shift, max_shift) * h
    return np.array([[c, -si, tx], [si, c, ty]], dtype=np.float64)


def flip_matrix(width: int) -> np.ndarray:
    """Horizontal mirror x -> W - 1 - x (pixel centres)."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0]])


def mirrored_name(name: str) -> str:
    """The name of an AP point after a horizontal mirror: ``*.left`` <-> ``*.right`` (image sides); others unchanged."""
    if name.endswith(".left"):
        return name[: -len("left")] + "right"
    if name.endswith(".right"):
        return name[: -len("right")] + "left"
    return name


def mirror_channel_index(names: list[str] | tuple[str, ...]) -> list[int]:
    """For each channel, the channel naming the same point after a horizontal mirror (identity without a partner)."""
    names = list(names)
    return [names.index(mirrored_name(n)) if mirrored_name(n) in names else i for i, n in enumerate(names)]


def flip_names(points: dict[str, tuple[float, float]], view: View) -> dict[str, tuple[float, float]]:
    """Rename points after a horizontal mirror: AP image-side names swap; lateral names do not."""
    if view is not View.AP:
        return dict(points)
    return {mirrored_name(n): p for n, p in points.items()}


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The affine ``a`` applied after ``b``."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]


def intensity(rng: np.random.Generator, img01: np.ndarray) -> np.ndarray:
    """Random gamma (0.6-1.6), contrast/brightness, windowing and blur on an image scaled to [0, 1]."""
    out = np.clip(img01, 0.0, 1.0) ** rng.uniform(0.6, 1.6)
    if rng.random() < 0.5:
        lo, hi = rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0)
        out = np.clip((out - lo) / (hi - lo), 0.0, 1.0)
    out = out * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out.astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
    if rng.random() < 0.2:  # unsharp mask, as many processing pipelines do
        blur = cv2.GaussianBlur(out.astype(np.float32), (0, 0), rng.uniform(2.0, 8.0))
        out = out + rng.uniform(0.3, 1.0) * (out - blur)
    return out.astype(np.float32)


def add_noise(rng: np.random.Generator, x: np.ndarray, max_sigma: float = 0.15) -> np.ndarray:
    """Gaussian detector noise on a normalised network input."""
    return (x + rng.normal(0.0, rng.uniform(0.0, max_sigma), x.shape)).astype(np.float32)


def implant_overlay(rng: np.random.Generator, img01: np.ndarray, points: dict[str, tuple[float, float]]) -> np.ndarray:
    """Draw metal-like screws, rods and a cage near the lowest vertebrae named in ``points`` (bright, saturated).

    The positions are random around the L4-S1 corners (or the image centre when none is named): they need not be
    surgically exact; the aim is that landmarks are not pulled towards metal.
    """
    out = img01.copy()
    h, w = out.shape
    low = [p for n, p in points.items() if n.startswith(("L4.", "L5.", "S1."))]
    if low:
        c = np.mean(low, axis=0)
        span = max(np.ptp(np.asarray(low)[:, 1]), 20.0)
    else:
        c = np.array([w / 2, h * 0.6])
        span = h * 0.2
    level = float(rng.uniform(0.9, 1.0))
    n_screws = int(rng.integers(0, 5))
    heads = []
    for _ in range(n_screws):
        head = c + rng.normal(0, span * 0.4, 2)
        ang = rng.uniform(0, 2 * math.pi)
        length = span * rng.uniform(0.3, 0.6)
        tip = head + length * np.array([math.cos(ang), math.sin(ang)])
        thick = max(2, int(span * rng.uniform(0.03, 0.06)))
        cv2.line(out, tuple(int(v) for v in head), tuple(int(v) for v in tip), level, thick, cv2.LINE_AA)
        cv2.circle(out, tuple(int(v) for v in head), thick * 2, level, -1, cv2.LINE_AA)
        heads.append(head)
    if len(heads) >= 2 and rng.random() < 0.7:
        hs = sorted(heads, key=lambda p: p[1])
        cv2.line(
            out,
            tuple(int(v) for v in hs[0]),
            tuple(int(v) for v in hs[-1]),
            level,
            max(2, int(span * 0.04)),
            cv2.LINE_AA,
        )
    if rng.random() < 0.5:
        cc = c + rng.normal(0, span * 0.2, 2)
        size = (int(span * rng.uniform(0.2, 0.4)), int(span * rng.uniform(0.08, 0.15)))
        box = cv2.boxPoints(((float(cc[0]), float(cc[1])), size, float(rng.uniform(-30, 30))))
        cv2.polylines(out, [box.astype(np.int32)], True, level * 0.9, max(1, int(span * 0.015)), cv2.LINE_AA)
    return out


# --- radiograph appearance (2026-11-24): what real films show and the AP film stage was fragile to ---

FLANK_RANGE = (0.05, 0.7)
"""Flank shading amplitude, a share of the film's 2-98 % grey range at full reach (the simulator's ``AP_FLANK`` tried
0.05-0.45 and 0.15-0.70)."""


def _spine_centre_x(points: dict[str, tuple[float, float]] | None, w: int) -> float:
    xs = [p[0] for p in (points or {}).values() if np.isfinite(p[0])]
    return float(np.median(xs)) if xs else (w - 1) / 2.0


def _level_height(points: dict[str, tuple[float, float]] | None, h: int) -> float:
    """A vertebra's height in pixels from the named points (the vertical extent over the levels named), else h / 20."""
    pts = [p for p in (points or {}).values() if np.isfinite(p[1])]
    levels = {n.split(".")[0] for n in (points or {})}
    if len(pts) >= 4 and len(levels) >= 2:
        ys = np.asarray(pts)[:, 1]
        return float(max(np.ptp(ys) / len(levels), 6.0))
    return h / 20.0


def flank_shading(
    rng: np.random.Generator,
    img01: np.ndarray,
    points: dict[str, tuple[float, float]] | None = None,
    *,
    amplitude: tuple[float, float] = FLANK_RANGE,
) -> np.ndarray:
    """Darken (mostly) or brighten the film toward one or both sides, smoothly, as a thinning body does.

    The log (display) image is lowered by ``a * range * min(((x - c) / reach)^2, 1)`` on each shaded side: ``c`` is
    the spine's centre line (median x of ``points``, else the middle) moved by up to 5 % of the width, ``reach`` 25-60 %
    of the width, ``a`` from ``amplitude`` (a share of the 2-98 % grey range) per side; 20 % of the shaded sides are
    brightened instead. Both sides on half the calls, one side on the other half. Result clipped to [0, 1].

    Parameters
    ----------
    img01 : (H, W) float image in [0, 1] (bright = dense).
    points : landmark name -> (x, y) in ``img01`` pixels (only read for the centre line).
    """
    h, w = img01.shape
    lo, hi = np.percentile(img01[::4, ::4], [2.0, 98.0])
    rng_ = float(max(hi - lo, 1e-3))
    c = _spine_centre_x(points, w) + rng.uniform(-0.05, 0.05) * w
    which = rng.random()
    sides = (True, True) if which < 0.5 else ((True, False) if which < 0.75 else (False, True))  # (left, right)
    x = np.arange(w, dtype=np.float32) - np.float32(c)
    prof = np.zeros(w, np.float32)
    for side, on in zip((-1.0, 1.0), sides, strict=True):
        a = float(rng.uniform(*amplitude)) * (-1.0 if rng.random() < 0.2 else 1.0)
        reach = float(rng.uniform(0.25, 0.6)) * w
        if not on:
            continue
        t = np.clip(side * x / reach, 0.0, 1.0)
        prof += np.float32(a * rng_) * t * t
    return np.clip(img01 - prof[None, :], 0.0, 1.0).astype(np.float32)


def gas_overlay(
    rng: np.random.Generator,
    img01: np.ndarray,
    points: dict[str, tuple[float, float]] | None = None,
    *,
    over_spine: float = 0.5,
) -> np.ndarray:
    """Grouped bowel gas / stool: clusters of dark rounded pockets with a honeycomb (mottled) texture.

    One to three clusters; each a group of 3-14 soft-edged elliptic pockets, 0.3-1.3 vertebral heights across, in a
    region 1-3 heights wide, sometimes one large mottled mass (stool: a honeycomb of small bubbles). With probability
    ``over_spine`` a cluster is centred on a random named point (over the vertebrae), else anywhere in the lower
    two thirds of the film. The pockets lower the image by 5-35 % of its 2-98 % grey range (gas lets more X-rays
    through: darker). Result clipped to [0, 1]; points are not moved.

    Parameters
    ----------
    img01 : (H, W) float image in [0, 1] (bright = dense).
    points : landmark name -> (x, y) in ``img01`` pixels (positions and the vertebra size; may be empty).
    """
    h, w = img01.shape
    lo, hi = np.percentile(img01[::4, ::4], [2.0, 98.0])
    rng_ = float(max(hi - lo, 1e-3))
    vh = _level_height(points, h)
    named = [p for p in (points or {}).values() if np.isfinite(p[0]) and np.isfinite(p[1])]
    dark = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        if named and rng.random() < over_spine:
            cx, cy = named[int(rng.integers(len(named)))]
            cx += rng.normal(0.0, 0.5 * vh)
            cy += rng.normal(0.0, 0.5 * vh)
        else:
            cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.33, 0.95) * h
        spread = vh * rng.uniform(1.0, 3.0)
        r_max = int(math.ceil(spread + 1.5 * vh)) + 4
        x0, x1 = max(0, int(cx) - r_max), min(w, int(cx) + r_max + 1)
        y0, y1 = max(0, int(cy) - r_max), min(h, int(cy) + r_max + 1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        if rng.random() < 0.35:  # one large mottled mass (stool)
            ax = (max(1, int(spread * rng.uniform(0.5, 0.9))), max(1, int(spread * rng.uniform(0.4, 0.8))))
            cv2.ellipse(mask, (int(cx) - x0, int(cy) - y0), ax, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
            bubble = max(1.0, vh * rng.uniform(0.06, 0.15))
        else:
            for _ in range(int(rng.integers(3, 15))):
                px = cx + rng.normal(0.0, 0.5 * spread) - x0
                py = cy + rng.normal(0.0, 0.5 * spread) - y0
                ax = (max(1, int(vh * rng.uniform(0.15, 0.65))), max(1, int(vh * rng.uniform(0.15, 0.65))))
                cv2.ellipse(mask, (int(px), int(py)), ax, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
            bubble = max(1.0, vh * rng.uniform(0.04, 0.1))
        # honeycomb: thin brighter walls between bubbles (band-passed noise), soft outer edge
        noise = rng.standard_normal(mask.shape).astype(np.float32)
        cells = cv2.GaussianBlur(noise, (0, 0), bubble)
        cells /= float(cells.std()) + 1e-6
        texture = np.clip(0.65 + 0.35 * np.tanh(1.5 * cells), 0.0, 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.08 * vh)) * texture
        depth = float(rng.uniform(0.05, 0.35)) * rng_
        region = dark[y0:y1, x0:x1]
        np.maximum(region, depth * mask, out=region)
    return np.clip(img01 - dark, 0.0, 1.0).astype(np.float32)


def local_contrast(rng: np.random.Generator, img01: np.ndarray) -> np.ndarray:
    """A console's local equalisation: CLAHE (clip limit 1.5-5, 2-8 tiles across) or a large-kernel dynamic-range
    compression (the image minus 30-90 % of its blur at 4-15 % of the size), blended with the input (30-100 %).

    Result clipped to [0, 1] (bright = dense)."""
    img = np.clip(img01, 0.0, 1.0).astype(np.float32)
    h, w = img.shape
    if rng.random() < 0.5:
        tiles = int(rng.integers(2, 9))
        clahe = cv2.createCLAHE(
            clipLimit=float(rng.uniform(1.5, 5.0)), tileGridSize=(tiles, max(1, round(tiles * h / w)))
        )
        eq = clahe.apply((img * 65535.0).astype(np.uint16)).astype(np.float32) / 65535.0
    else:
        blur = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.04, 0.15)) * max(h, w))
        eq = img - float(rng.uniform(0.3, 0.9)) * (blur - float(blur.mean()))
        lo, hi = np.percentile(eq, [0.5, 99.5])
        eq = (eq - lo) / max(float(hi - lo), 1e-6)
    alpha = float(rng.uniform(0.3, 1.0))
    return np.clip((1.0 - alpha) * img + alpha * eq, 0.0, 1.0).astype(np.float32)


def grain(rng: np.random.Generator, img01: np.ndarray) -> np.ndarray:
    """Film / detector grain: Gaussian noise blurred by 0.5-1.5 px (spatially correlated), 1-5 % of the range, its
    strength varying by up to +-25 % with the grey level (either way: processing chains differ). Result clipped to
    [0, 1]."""
    img = np.clip(img01, 0.0, 1.0).astype(np.float32)
    n = cv2.GaussianBlur(rng.standard_normal(img.shape).astype(np.float32), (0, 0), float(rng.uniform(0.5, 1.5)))
    n /= float(n.std()) + 1e-6
    k = float(rng.uniform(-0.5, 0.5))
    sigma = float(rng.uniform(0.01, 0.05)) * (1.0 + k * (img - 0.5))
    return np.clip(img + sigma * n, 0.0, 1.0).astype(np.float32)


def appearance(
    rng: np.random.Generator,
    img01: np.ndarray,
    points: dict[str, tuple[float, float]] | None = None,
    *,
    p_gas: float = 0.4,
    p_flank: float = 0.5,
    p_contrast: float = 0.4,
    p_grain: float = 0.3,
) -> np.ndarray:
    """Radiograph appearance changes, each with its own probability, in the order physics -> console -> detector:
    grouped gas (:func:`gas_overlay`), flank shading (:func:`flank_shading`), local equalisation
    (:func:`local_contrast`), grain (:func:`grain`). At least one is applied. Points are not moved; result in [0, 1].
    """
    do = rng.random(4) < np.array([p_gas, p_flank, p_contrast, p_grain])
    if not do.any():
        do[int(rng.integers(4))] = True
    out = np.clip(img01, 0.0, 1.0).astype(np.float32)
    if do[0]:
        out = gas_overlay(rng, out, points)
    if do[1]:
        out = flank_shading(rng, out, points)
    if do[2]:
        out = local_contrast(rng, out)
    if do[3]:
        out = grain(rng, out)
    return out


# --- washed-out films (view/5, 2026-11-24): what view/2-view/4 refused on a real AP film ---

WASHED_OUT_VEIL = (0.0, 0.5)
"""Share of a large-blur copy blended into the film by :func:`washed_out` (a veil that lowers local contrast)."""
WASHED_OUT_GAMMA = (0.35, 0.8)
"""Exponent of :func:`washed_out`'s curve (< 1 lifts the dark parts: lungs and flanks grey instead of black)."""
WASHED_OUT_RANGE = ((0.1, 0.45), (0.65, 0.95))
"""The grey range :func:`washed_out` squeezes the film into: (low end, high end) each drawn from its interval."""


def washed_out(rng: np.random.Generator, img01: np.ndarray) -> np.ndarray:
    """A washed-out, low-contrast film (underexposed or flatly windowed): a veil of the film's own large-scale blur
    (``WASHED_OUT_VEIL``, blur 5-20 % of the longer side), a dark-lifting curve ``x ** g`` (``WASHED_OUT_GAMMA``) and
    the result squeezed into a grey range ``[lo, hi]`` (``WASHED_OUT_RANGE``), so that once burnt-in text or a black
    border takes the extremes the body sits in a narrow middle band, as on the real supine film that view/2-view/4
    refused (model card, "View model view/5, session 10").

    Parameters
    ----------
    img01 : (H, W) float image in [0, 1] (bright = dense).

    Returns
    -------
    (H, W) float32 ndarray in [0, 1].
    """
    img = np.clip(img01, 0.0, 1.0).astype(np.float32)
    h, w = img.shape
    veil = float(rng.uniform(*WASHED_OUT_VEIL))
    # the large blur on a copy 128 px long (the same to the eye, ~1000 x faster than a 200 px kernel at full size)
    f = min(1.0, 128.0 / max(h, w))
    small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), float(rng.uniform(0.05, 0.2)) * max(h, w) * f)
    blur = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    out = (1.0 - veil) * img + veil * blur
    out = np.clip(out, 0.0, 1.0) ** float(rng.uniform(*WASHED_OUT_GAMMA))
    lo, hi = float(rng.uniform(*WASHED_OUT_RANGE[0])), float(rng.uniform(*WASHED_OUT_RANGE[1]))
    return np.clip(lo + (hi - lo) * out, 0.0, 1.0).astype(np.float32)


_FILM_TEXT = ("R", "L", "AP", "PA", "SUPINE", "ERECT", "STANDING", "with traction", "LUMBAR", "12/03", "L SPINE")


def burnt_in_text(rng: np.random.Generator, img01: np.ndarray) -> np.ndarray:
    """One to four burnt-in annotations (side markers, "SUPINE", "with traction", dates) drawn in near-white
    (0.85-1.0) at random places, 1.2-3.5 % of the film's height tall, as many real films carry. Points are not moved.

    Parameters
    ----------
    img01 : (H, W) float image in [0, 1] (bright = dense).

    Returns
    -------
    (H, W) float32 ndarray in [0, 1].
    """
    out = np.clip(img01, 0.0, 1.0).astype(np.float32).copy()
    h, w = out.shape
    for _ in range(int(rng.integers(1, 5))):
        text = _FILM_TEXT[int(rng.integers(len(_FILM_TEXT)))]
        size_px = float(rng.uniform(0.012, 0.035)) * h
        scale = size_px / 22.0  # FONT_HERSHEY_SIMPLEX is about 22 px tall at scale 1
        thick = max(1, round(scale * rng.uniform(1.5, 3.0)))
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        x = int(rng.uniform(0, max(1, w - tw)))
        y = int(rng.uniform(th + 1, max(th + 2, h - 1)))
        level = float(rng.uniform(0.85, 1.0))
        mask = np.zeros((h, w), np.uint8)  # putText draws on 8-bit images only
        cv2.putText(mask, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
        np.maximum(out, mask.astype(np.float32) * np.float32(level / 255.0), out=out)
    return out
