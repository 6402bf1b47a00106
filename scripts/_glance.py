"""Pure parts of ``scripts/realism_glance.py``: the blind sheet's layout and scorer, glance-size features, grouped CV.

No file, film or simulator access here (the script does that through ``scripts/sim_realism.py``), so the tests can
exercise everything on synthetic arrays. Images are 2-D float arrays in [0, 1] indexed ``[row, col]`` (``[y, x]``);
sizes are given as ``(width, height)`` in pixels, as OpenCV and Pillow take them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import stats
from skimage.feature import hog

GLANCE_SIZE = (160, 200)
"""(width, height) px of a tile on the blind sheet: about what a person takes in at a glance (the crop's 0.8 aspect)."""
THUMB_SIZE = (48, 60)
"""(width, height) px of the discriminator's thumbnails: the tile shrunk 3.3x (layout and coarse texture only)."""
SPECTRUM_BINS = 16
HISTOGRAM_BINS = 16
LABEL_H = 22
"""Height in px of the number strip under each tile of the sheet."""

# IJG (libjpeg) standard luminance quantisation table (ITU-T T.81 Annex K, Table K.1), natural order.
_IJG_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
     14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.int64,
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------- JPEG


def ijg_quality(luma_table: list[int] | np.ndarray) -> int:
    """The libjpeg quality (1-100) whose scaled standard luminance table is closest to ``luma_table``.

    Parameters
    ----------
    luma_table : (64,) ints
        A JPEG file's first quantisation table (Pillow: ``Image.open(path).quantization[0]``), in the order Pillow
        gives it (natural order for baseline files written by libjpeg).

    Returns
    -------
    int
        The quality ``q`` minimising the summed absolute difference to libjpeg's table for ``q`` (scale
        ``5000 / q`` below 50, ``200 - 2 q`` from 50; entries clipped to 1-255).
    """
    table = np.asarray(luma_table, dtype=np.int64).ravel()
    if table.size != 64:
        raise ValueError(f"A JPEG quantisation table has 64 entries, got {table.size}.")
    best, best_err = 1, None
    for q in range(1, 101):
        scale = 5000 // q if q < 50 else 200 - 2 * q
        ref = np.clip((_IJG_LUMA * scale + 50) // 100, 1, 255)
        err = int(np.abs(ref - table).sum())
        if best_err is None or err < best_err:
            best, best_err = q, err
    return best


def jpeg_round_trip(img8: np.ndarray, quality: int) -> np.ndarray:
    """``img8`` (uint8, 2-D) encoded as a baseline greyscale JPEG at libjpeg ``quality`` and decoded again."""
    if img8.dtype != np.uint8 or img8.ndim != 2:
        raise ValueError(f"Expected a 2-D uint8 image, got {img8.dtype} with shape {img8.shape}.")
    buf = io.BytesIO()
    Image.fromarray(img8).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


# ---------------------------------------------------------------------------------------------------- the blind sheet


def resize01(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` (float, [0, 1]) area-averaged to ``size`` = (width, height) px."""
    return cv2.resize(img.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 0-255 (clipped, rounded)."""
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def shuffled_kinds(n_real: int, n_sim: int, seed: int) -> list[str]:
    """The kind (``"real"`` / ``"sim"``) of each tile 1 ... n_real + n_sim in sheet order, shuffled by ``seed``."""
    kinds = np.array(["real"] * n_real + ["sim"] * n_sim)
    np.random.default_rng(seed).shuffle(kinds)
    return [str(k) for k in kinds]


def sheet_image(tiles: list[np.ndarray], cols: int = 4) -> Image.Image:
    """Tiles (uint8, all one shape) in rows of ``cols``, each numbered 1, 2, ... on a strip under it; nothing else.

    The sheet carries no title, seed or label: a person takes the test from it alone.
    """
    if not tiles:
        raise ValueError("A sheet needs at least one tile.")
    h, w = tiles[0].shape
    if any(t.shape != (h, w) for t in tiles):
        raise ValueError(f"Every tile must be {w} x {h} px; got shapes {sorted({t.shape for t in tiles})}.")
    rows = -(-len(tiles) // cols)
    gap = 6
    sheet = Image.new("L", (cols * (w + gap) + gap, rows * (h + LABEL_H + gap) + gap), 255)
    draw = ImageDraw.Draw(sheet)
    try:
        font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=16)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for i, tile in enumerate(tiles):
        x = gap + (i % cols) * (w + gap)
        y = gap + (i // cols) * (h + LABEL_H + gap)
        sheet.paste(Image.fromarray(tile), (x, y))
        draw.text((x + w // 2, y + h + LABEL_H // 2), str(i + 1), fill=0, font=font, anchor="mm")
    return sheet


def parse_tiles(text: str) -> list[int]:
    """``"3, 7,11"`` -> ``[3, 7, 11]`` (tile numbers as printed on the sheet; empty text: no tile)."""
    out = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"Tile numbers are whole numbers separated by commas; got {part!r} in {text!r}.")
        out.append(int(part))
    return out


@dataclass(frozen=True)
class GlanceScore:
    """How well a person told the simulated tiles from the real ones."""

    hits: int
    """Simulated tiles called simulated."""
    misses: int
    """Simulated tiles not called."""
    false_alarms: int
    """Real tiles called simulated."""
    correct_rejections: int
    """Real tiles not called."""
    accuracy: float
    """Share of all tiles classified right (0.5 expected from guessing with half the tiles simulated)."""
    p_binomial: float
    """One-sided P(at least this many tiles right | each call an independent coin flip), ``binom.sf(correct - 1, n,
    0.5)``. Too small for a guesser who calls as many tiles as the sheet holds simulated ones (the natural guess
    when told "8 of 16"): 12 of 16 right gives 0.038 where the exact chance is 0.066. Use :attr:`p_value`."""
    p_fisher: float
    """One-sided Fisher exact P for the 2 x 2 table (conditions on how many tiles were called; exact under
    any guessing strategy that does not look at the tiles)."""
    n_tiles: int

    @property
    def p_value(self) -> float:
        """The p to report: :attr:`p_fisher` (valid whatever number of tiles a guesser calls)."""
        return self.p_fisher


def score_calls(kinds: list[str], called_sim: list[int]) -> GlanceScore:
    """Score the tiles a person called simulated against the key.

    Parameters
    ----------
    kinds : list of "real" | "sim"
        The key: kind of tile 1, 2, ... in sheet order.
    called_sim : list of int
        Tile numbers (1-based, as printed) the person thinks are simulated; every other tile counts as called real.

    Raises
    ------
    ValueError
        A tile number outside 1 ... len(kinds), or a number given twice.
    """
    n = len(kinds)
    bad = [t for t in called_sim if not 1 <= t <= n]
    if bad:
        raise ValueError(f"Tile numbers must be 1 to {n}; got {bad}.")
    if len(set(called_sim)) != len(called_sim):
        raise ValueError(f"A tile number was given twice: {sorted(called_sim)}.")
    called = set(called_sim)
    hits = sum(1 for i, k in enumerate(kinds, 1) if k == "sim" and i in called)
    false_alarms = sum(1 for i, k in enumerate(kinds, 1) if k == "real" and i in called)
    n_sim = sum(k == "sim" for k in kinds)
    misses, correct_rejections = n_sim - hits, (n - n_sim) - false_alarms
    correct = hits + correct_rejections
    p_bin = float(stats.binom.sf(correct - 1, n, 0.5))
    p_fisher = float(stats.fisher_exact([[hits, misses], [false_alarms, correct_rejections]], alternative="greater")[1])
    return GlanceScore(hits, misses, false_alarms, correct_rejections, correct / n, p_bin, p_fisher, n)


# ---------------------------------------------------------------------------------------------------- features


def radial_spectrum(img: np.ndarray, bins: int = SPECTRUM_BINS) -> np.ndarray:
    """Log radial power spectrum of ``img`` (mean removed, Hann window): ``bins`` log-spaced rings from 1 cycle per
    image to the Nyquist frequency, log10 of the mean power in each (absolute, so overall contrast counts too)."""
    h, w = img.shape
    win = np.outer(np.hanning(h), np.hanning(w))
    f = np.fft.fftshift(np.fft.fft2((img - img.mean()) * win))
    power = np.abs(f) ** 2
    fy, fx = np.meshgrid((np.arange(h) - h // 2) / h, (np.arange(w) - w // 2) / w, indexing="ij")
    r = np.hypot(fx, fy)
    edges = np.geomspace(1.0 / max(h, w), 0.5, bins + 1)
    out = np.empty(bins)
    for i in range(bins):
        m = (r >= edges[i]) & (r < edges[i + 1])
        out[i] = np.log10(power[m].mean() + 1e-12) if m.any() else -12.0
    return out


def histogram_features(img: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Share of pixels in ``bins`` equal bins of [0, 1]."""
    h, _ = np.histogram(img, bins=bins, range=(0.0, 1.0))
    return h / max(1, h.sum())


def hog_features(thumb: np.ndarray) -> np.ndarray:
    """Histogram of oriented gradients of a thumbnail: 8 x 8 px cells, 2 x 2 blocks, 9 orientations."""
    return hog(thumb, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), feature_vector=True)


FEATURE_GROUPS = ("pixels", "hog", "spectrum", "histogram")
"""Feature groups computed on the glance views; ``all`` concatenates them."""


def glance_features(crop: np.ndarray) -> dict[str, np.ndarray]:
    """Features of one normalised crop as a person would see it: ``pixels`` and ``hog`` of the THUMB_SIZE thumbnail,
    ``spectrum`` and ``histogram`` of the GLANCE_SIZE tile (the spectrum reaches the tile's finest texture)."""
    tile = resize01(crop, GLANCE_SIZE)
    thumb = resize01(crop, THUMB_SIZE)
    return {
        "pixels": thumb.ravel().astype(np.float64),
        "hog": hog_features(thumb),
        "spectrum": radial_spectrum(tile),
        "histogram": histogram_features(tile),
    }


def spectrum_ring_periods_px(shape: tuple[int, int], bins: int = SPECTRUM_BINS) -> list[tuple[float, float]]:
    """(longest, shortest) period in pixels of each ring of :func:`radial_spectrum` on an image of ``shape``."""
    edges = np.geomspace(1.0 / max(shape), 0.5, bins + 1)
    return [(float(1 / edges[i]), float(1 / edges[i + 1])) for i in range(bins)]


def block_means(img: np.ndarray, cols: int = 4, rows: int = 5) -> np.ndarray:
    """Mean grey level of each block of a ``rows`` x ``cols`` grid over ``img``, row by row from the top left."""
    h, w = img.shape
    ys = np.linspace(0, h, rows + 1).round().astype(int)
    xs = np.linspace(0, w, cols + 1).round().astype(int)
    return np.array([img[ys[r] : ys[r + 1], xs[c] : xs[c + 1]].mean() for r in range(rows) for c in range(cols)])


# ---------------------------------------------------------------------------------------------------- ablations


def jittered(crop: np.ndarray, rng: np.random.Generator, shift: float = 0.08, scale: float = 0.1) -> np.ndarray:
    """``crop`` shifted by up to ``shift`` of its width / height and scaled by 1 +- ``scale`` about its centre (uniform
    draws from ``rng``; edges reflected): the same for both sets, so what is left of a layout cue is the layout
    itself, not where exactly the bodies fall in the crop."""
    h, w = crop.shape
    s = 1.0 + rng.uniform(-scale, scale)
    dx, dy = rng.uniform(-shift, shift) * w, rng.uniform(-shift, shift) * h
    m = np.array([[s, 0.0, (1 - s) * w / 2 + dx], [0.0, s, (1 - s) * h / 2 + dy]], np.float32)
    return cv2.warpAffine(crop.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def spine_band(crop: np.ndarray, share: float = 0.4) -> np.ndarray:
    """The central ``share`` of the crop's width (the column of vertebral bodies; crops are centred on the spine)."""
    w = crop.shape[1]
    a = int(round(w * (1 - share) / 2))
    return crop[:, a : w - a]


def flanks(crop: np.ndarray, share: float = 0.4) -> np.ndarray:
    """The crop without its central ``share`` of width: left and right strips side by side (soft tissue, gas,
    psoas, iliac wings, film edges)."""
    w = crop.shape[1]
    a = int(round(w * (1 - share) / 2))
    return np.hstack([crop[:, :a], crop[:, w - a :]])


def blurred(crop: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur (sigma in crop pixels): what is left is the coarse layout."""
    return cv2.GaussianBlur(crop.astype(np.float32), (0, 0), sigma_px)


def high_passed(crop: np.ndarray, sigma_px: float) -> np.ndarray:
    """``crop`` minus its Gaussian blur (sigma in crop pixels), shifted to 0.5: fine texture only, layout and
    brightness removed."""
    c = crop.astype(np.float32)
    return np.clip(c - cv2.GaussianBlur(c, (0, 0), sigma_px) + 0.5, 0.0, 1.0)


def equalised(crop: np.ndarray) -> np.ndarray:
    """Exact histogram equalisation by rank: every crop gets the same (uniform) grey-level distribution, so the
    brightness distribution carries nothing; the spatial arrangement of the grey levels is kept."""
    flat = crop.ravel()
    ranks = np.empty(flat.size, np.float64)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (ranks / max(1, flat.size - 1)).reshape(crop.shape).astype(np.float32)


# ---------------------------------------------------------------------------------------------------- grouped CV


def grouped_folds(y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index arrays of a stratified, group-respecting ``n_splits``-fold split shuffled by ``seed``:
    every group (a patient: all films of one real patient number, or one simulated patient seed) lies wholly in
    one test fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y, groups)]


@dataclass(frozen=True)
class Discrimination:
    """Cross-validated real-vs-simulated classification. 0.5 balanced accuracy / 0.5 AUC: cannot be told apart."""

    balanced_accuracy: float
    """Mean over repeats of the out-of-fold balanced accuracy (mean of the two classes' recall)."""
    auc: float
    """Mean over repeats of the out-of-fold ROC AUC (probability that a simulated film scores above a real one)."""
    accuracy_sd: float
    """Standard deviation of the balanced accuracy over repeats (different fold shuffles)."""
    auc_sd: float
    accuracy_ci95: tuple[float, float]
    """2.5-97.5 % of the balanced accuracy over a bootstrap of groups (first repeat's out-of-fold predictions)."""
    auc_ci95: tuple[float, float]
    n_real: int
    n_sim: int

    def as_dict(self) -> dict[str, object]:
        return {
            "balanced_accuracy": round(self.balanced_accuracy, 4),
            "balanced_accuracy_sd_over_repeats": round(self.accuracy_sd, 4),
            "balanced_accuracy_ci95_bootstrap": [round(v, 4) for v in self.accuracy_ci95],
            "roc_auc": round(self.auc, 4),
            "roc_auc_sd_over_repeats": round(self.auc_sd, 4),
            "roc_auc_ci95_bootstrap": [round(v, 4) for v in self.auc_ci95],
            "n_real": self.n_real,
            "n_sim": self.n_sim,
        }


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a class-1 row > score of a class-0 row), ties counting half
    (the Mann-Whitney U statistic over n1 x n0)."""
    r = stats.rankdata(score)
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _model(c: float, n_columns: int, block_sizes: list[int] | None):
    """StandardScaler (+ equal weights per feature group, see :func:`discriminate`) + L2 logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    steps: list = [StandardScaler()]
    if block_sizes is not None:
        if sum(block_sizes) != n_columns:
            raise ValueError(f"block_sizes sum to {sum(block_sizes)}; X has {n_columns} columns.")
        k = len(block_sizes)
        weights = np.concatenate([np.full(d, np.sqrt(n_columns / (k * d))) for d in block_sizes])
        steps.append(FunctionTransformer(_scale_columns, kw_args={"weights": weights}))
    lr = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=5000)
    return make_pipeline(*steps, lr)


def _scale_columns(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return X * weights


def _balanced_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    pred = p >= 0.5
    return float(0.5 * (np.mean(pred[y == 1]) + np.mean(~pred[y == 0])))


def discriminate(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    n_splits: int = 5,
    repeats: int = 3,
    c: float = 0.05,
    n_boot: int = 1000,
    seed: int = 0,
    block_sizes: list[int] | None = None,
) -> Discrimination:
    """Standardised features + L2 logistic regression (inverse strength ``c``, classes weighted to balance; liblinear's
    dual solver, fast when there are more features than films), grouped stratified CV.

    Parameters
    ----------
    X : (N, F) floats
    y : (N,) ints, 1 = simulated, 0 = real
    groups : (N,) patient keys; all of a group's rows go to the same fold
    block_sizes : list of int, optional
        When X concatenates feature groups (columns in this order), each standardised column of a group of ``d``
        columns (of ``D`` in ``k`` groups) is scaled by ``sqrt(D / (k d))``: under the L2 penalty every group then
        weighs the same (and all together as much as unscaled), so 16 spectrum rings are not drowned by 2880 pixels.
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y).astype(int)
    groups = np.asarray(groups)
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"y must hold both classes 0 (real) and 1 (simulated); got {sorted(set(np.unique(y)))}.")
    accs, aucs, first = [], [], None
    for r in range(repeats):
        oof = np.full(len(y), np.nan)
        for tr, te in grouped_folds(y, groups, n_splits, seed + r):
            model = _model(c, X.shape[1], block_sizes)
            model.fit(X[tr], y[tr])
            oof[te] = model.predict_proba(X[te])[:, 1]
        accs.append(_balanced_accuracy(y, oof))
        aucs.append(float(roc_auc(y, oof)))
        if first is None:
            first = oof
    # bootstrap over groups, stratified by class (a group holds one class)
    rng = np.random.default_rng(seed)
    ug = np.unique(groups)
    g_class = np.array([y[groups == g][0] for g in ug])
    members = [np.flatnonzero(groups == g) for g in ug]
    singletons = all(m.size == 1 for m in members)
    first_member = np.array([m[0] for m in members])
    by_class = [np.flatnonzero(g_class == k) for k in (0, 1)]
    boot_acc, boot_auc = [], []
    for _ in range(n_boot):
        pick = np.concatenate([rng.choice(b, size=b.size, replace=True) for b in by_class])
        idx = first_member[pick] if singletons else np.concatenate([members[i] for i in pick])
        boot_acc.append(_balanced_accuracy(y[idx], first[idx]))
        boot_auc.append(float(roc_auc(y[idx], first[idx])))
    q = (2.5, 97.5)
    return Discrimination(
        float(np.mean(accs)),
        float(np.mean(aucs)),
        float(np.std(accs)),
        float(np.std(aucs)),
        tuple(float(v) for v in np.percentile(boot_acc, q)),  # type: ignore[arg-type]
        tuple(float(v) for v in np.percentile(boot_auc, q)),  # type: ignore[arg-type]
        int(np.sum(y == 0)),
        int(np.sum(y == 1)),
    )


def learning_curve(
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    sizes: tuple[int, ...] = (2, 5, 10, 20, 40),
    *,
    draws: int = 20,
    c: float = 0.05,
    seed: int = 0,
    block_sizes: list[int] | None = None,
) -> dict[int, dict[str, float]]:
    """How many labelled films of each kind the discriminator needs: for each ``k`` in ``sizes``, ``draws`` times,
    train on ``k`` random groups (patients) of each class and test on every other group.

    Returns ``{k: {"balanced_accuracy": mean, "balanced_accuracy_sd": sd over draws, "roc_auc": mean,
    "roc_auc_sd": sd}}``; sizes that leave no test group of a class are skipped. A gap a person sees after a few
    examples shows up at small ``k``; one that needs dozens of films is subtle.
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y).astype(int)
    groups = np.asarray(groups)
    ug = np.unique(groups)
    g_class = np.array([y[groups == g][0] for g in ug])
    by_class = [ug[g_class == k] for k in (0, 1)]
    rng = np.random.default_rng(seed)
    out: dict[int, dict[str, float]] = {}
    for k in sizes:
        if any(b.size <= k for b in by_class):
            continue
        accs, aucs = [], []
        for _ in range(draws):
            train_groups = np.concatenate([rng.choice(b, size=k, replace=False) for b in by_class])
            tr = np.isin(groups, train_groups)
            model = _model(c, X.shape[1], block_sizes)
            model.fit(X[tr], y[tr])
            p = model.predict_proba(X[~tr])[:, 1]
            accs.append(_balanced_accuracy(y[~tr], p))
            aucs.append(roc_auc(y[~tr], p))
        out[k] = {
            "balanced_accuracy": round(float(np.mean(accs)), 4),
            "balanced_accuracy_sd": round(float(np.std(accs)), 4),
            "roc_auc": round(float(np.mean(aucs)), 4),
            "roc_auc_sd": round(float(np.std(aucs)), 4),
        }
    return out
