"""Level anchor on AP films: name the lumbar levels the radiologist's way, by the ribs above and the sacrum below.

The AP film stage (``ap-spine``) counts vertebrae from T1; on about a quarter of the held-out SpineWeb films its
L1-L5 column is one level off (e.g. T12 called L1). This module gives an *independent* anchor: a small classifier
(``ap-level.onnx``) looks at a wide, upright crop around one vertebra — wide enough to hold the ribs, transverse
processes and iliac wings — and says whether that vertebra is **thoracic** (rib-bearing, T12 and above), **lumbar**
(L1-L5) or **sacral** (S1 and below). Along the detected column, the whole-level relabelling ``k`` (``-2..+2``) whose
names agree best with the classifier is chosen (:func:`choose_shift`), only with a clear margin over ``k = 0``.

Sign convention of ``k``: the true L1 is the column's vertebra ``k`` places *below* the detected L1; ``k = +1``
means the detector named T12 "L1" (its column sits one level too high), ``k = -1`` that it named L2 "L1".

Geometry as in :mod:`fusionwatch.detect._geometry`: ``(x, y)`` film pixels, origin at the centre of the top-left
pixel, x right, y down; angles in radians, y down (clockwise on the film positive). Points are named
``<level>.<superior|inferior>.<left|right>`` (image sides), levels ``T1..T12``, ``L1..L5``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fusionwatch.detect.refine import UnitFrame, frame_matrix, prepare_crop

__all__ = [
    "ANCHOR_CLASSES",
    "ANCHOR_HW",
    "ANCHOR_CONTEXT",
    "COLUMN_LEVELS",
    "AnchorSite",
    "ShiftDecision",
    "region_index",
    "anchor_sites",
    "site_frame",
    "shift_scores",
    "choose_shift",
    "shifted_lumbar_points",
    "reference_width",
    "site_crops",
    "LevelAnchorModel",
    "PRIOR",
    "MIN_MARGIN",
    "anchor_decision",
    "relabel_levels",
    "TRAIN_SITE_WEIGHTS",
    "training_sites",
    "make_anchor_example",
    "train_anchor",
]

ANCHOR_CLASSES: tuple[str, ...] = ("thoracic", "lumbar", "sacral")
"""Classes of the level-anchor model: rib-bearing vertebra (T12 and above), L1-L5, sacrum (S1 and below)."""
ANCHOR_HW: tuple[int, int] = (64, 112)
"""Input height, width (pixels) of the level-anchor model."""
ANCHOR_CONTEXT = 2.0
"""Crop height in reference body widths (the film's median L1-L5 endplate width); the crop is ``112 / 64`` as wide
(3.5 body widths: ribs, transverse processes, the iliac wings' inner edge)."""
PRIOR = 1.0
"""Log-score cost per level of relabelling (:func:`choose_shift`): favours the film stage's own count."""
MIN_MARGIN = 2.0
"""Relabel only when the best shift beats ``k = 0`` by this much (natural log; e^2 ~ 7 times more likely)."""
COLUMN_LEVELS: tuple[str, ...] = tuple(f"T{k}" for k in range(1, 13)) + ("L1", "L2", "L3", "L4", "L5")
_CORNERS = ("superior.left", "superior.right", "inferior.left", "inferior.right")


def region_index(rel: int) -> int:
    """Class index (:data:`ANCHOR_CLASSES`) of the vertebra ``rel`` places below L1 (``rel = -1``: T12; ``5``: S1)."""
    return 0 if rel < 0 else (1 if rel <= 4 else 2)


@dataclass(frozen=True)
class AnchorSite:
    """One place along the column where the anchor model looks.

    Attributes
    ----------
    rel : int
        Position relative to the detected L1 (``-3`` = T10, ``0`` = L1, ``4`` = L5, ``5`` = one pitch below L5).
    centre : (float, float)
        Film pixels.
    angle : float
        Angle of the vertebra's left -> right axis, radians (y down).
    extrapolated : bool
        ``True`` below L5 (no detected vertebra there: L5 moved by whole L4 -> L5 pitches).
    """

    rel: int
    centre: tuple[float, float]
    angle: float
    extrapolated: bool = False


def _corners(points: Mapping[str, tuple[float, float]], level: str) -> np.ndarray | None:
    names = [f"{level}.{c}" for c in _CORNERS]
    if not all(n in points for n in names):
        return None
    return np.array([points[n] for n in names], float)


def _centre_angle(c: np.ndarray) -> tuple[np.ndarray, float]:
    v = (c[1] - c[0]) / max(float(np.linalg.norm(c[1] - c[0])), 1e-9)
    v = v + (c[3] - c[2]) / max(float(np.linalg.norm(c[3] - c[2])), 1e-9)
    if v[0] < 0:  # a column drawn right -> left: keep the crop upright
        v = -v
    return c.mean(axis=0), math.atan2(v[1], v[0])


def reference_width(points: Mapping[str, tuple[float, float]]) -> float:
    """Median endplate width of the L1-L5 vertebrae in ``points`` (film pixels): the anchor crops' size unit.

    Raises
    ------
    ValueError
        None of L1-L5 has its 4 corners.
    """
    widths = []
    for lv in ("L1", "L2", "L3", "L4", "L5"):
        c = _corners(points, lv)
        if c is not None:
            widths.append((np.linalg.norm(c[0] - c[1]) + np.linalg.norm(c[2] - c[3])) / 2.0)
    if not widths:
        raise ValueError("no L1-L5 vertebra with 4 corners: no reference width for the level anchor")
    return float(np.median(widths))


def anchor_sites(points: Mapping[str, tuple[float, float]], *, above: int = 3, below: int = 3) -> list[AnchorSite]:
    """The anchor sites of one AP column, top to bottom: the ``above`` vertebrae above L1 that have 4 corners
    (T12, T11, T10 for ``above=3``), L1-L5, and ``below`` places extrapolated below L5, each one L4 -> L5 centre
    pitch further along that direction, with L5's angle.

    Parameters
    ----------
    points : name -> (x, y)
        Corners of the column (film pixels); L4 and L5 are needed for the places below L5.

    Returns
    -------
    list of AnchorSite, ordered by ``rel``; levels missing from ``points`` are skipped.
    """
    sites: list[AnchorSite] = []
    for rel in range(-above, 5):
        c = _corners(points, COLUMN_LEVELS[12 + rel])
        if c is not None:
            centre, angle = _centre_angle(c)
            sites.append(AnchorSite(rel, (float(centre[0]), float(centre[1])), angle))
    c4, c5 = _corners(points, "L4"), _corners(points, "L5")
    if below > 0 and c4 is not None and c5 is not None:
        m4, _ = _centre_angle(c4)
        m5, a5 = _centre_angle(c5)
        step = m5 - m4
        for j in range(1, below + 1):
            p = m5 + j * step
            sites.append(AnchorSite(4 + j, (float(p[0]), float(p[1])), a5, True))
    return sites


def site_frame(site: AnchorSite, ref_width: float, *, context: float = ANCHOR_CONTEXT) -> UnitFrame:
    """The crop frame of a site: centred on it, upright (turned by ``-site.angle``), ``context x ref_width`` high."""
    return UnitFrame(site.centre, max(context * ref_width, 8.0), site.angle, False)


def site_crops(
    image: np.ndarray,
    sites: Sequence[AnchorSite],
    ref_width: float,
    input_hw: tuple[int, int] = ANCHOR_HW,
    context: float = ANCHOR_CONTEXT,
) -> np.ndarray:
    """Network inputs ``(N, H, W)`` float32 of the sites (normalised like every fusionwatch input, padding -1)."""
    return (
        np.stack(
            [
                prepare_crop(image, frame_matrix(site_frame(s, ref_width, context=context), input_hw), input_hw)
                for s in sites
            ]
        )
        if sites
        else np.zeros((0, *input_hw), np.float32)
    )


# ------------------------------------------------------------------------------------------------------- decision
@dataclass(frozen=True)
class ShiftDecision:
    """The relabelling chosen for a column.

    Attributes
    ----------
    shift : int
        Whole levels (see the module docstring for the sign); 0 = keep the detected names.
    scores : dict[int, float]
        Log-likelihood of every tried shift (classifier log-probabilities summed over the sites, plus the prior).
    margin : float
        Score of the best shift minus the score of ``0`` (natural log units); 0 when the best is 0.
    best : int
        The best-scoring shift, even when its margin was too small to use it.
    """

    shift: int
    scores: dict[int, float]
    margin: float
    best: int


def shift_scores(
    log_probs: np.ndarray, rels: Sequence[int], shifts: Sequence[int] = (-2, -1, 0, 1, 2)
) -> dict[int, float]:
    """Sum of the log-probability of the class each site would have under each shift.

    Parameters
    ----------
    log_probs : (N, 3) array
        Natural-log class probabilities (:data:`ANCHOR_CLASSES` order) of N sites.
    rels : sequence of N int
        Each site's position relative to the detected L1.
    shifts : sequence of int
        Under shift ``k`` the site at ``rel`` is the vertebra ``rel - k`` places below the true L1.
    """
    lp = np.asarray(log_probs, float)
    if lp.shape != (len(rels), len(ANCHOR_CLASSES)):
        raise ValueError(f"log_probs must have shape ({len(rels)}, {len(ANCHOR_CLASSES)}), got {lp.shape}")
    return {int(k): float(sum(lp[i, region_index(r - k)] for i, r in enumerate(rels))) for k in shifts}


def choose_shift(
    log_probs: np.ndarray,
    rels: Sequence[int],
    *,
    shifts: Sequence[int] = (-2, -1, 0, 1, 2),
    prior: float = 1.0,
    min_margin: float = 2.0,
) -> ShiftDecision:
    """Choose the whole-level relabelling of a column from the anchor model's class log-probabilities.

    Score of shift ``k`` = :func:`shift_scores` ``- prior * |k|`` (a prior favouring the detector's own count). The
    best shift is used only when its score beats that of ``k = 0`` by at least ``min_margin`` (natural-log units:
    ``2.0`` = the classifier finds the shifted names e^2 ~ 7 times more likely after the prior); otherwise 0.
    """
    raw = shift_scores(log_probs, rels, shifts)
    scores = {k: v - prior * abs(k) for k, v in raw.items()}
    best = max(scores, key=lambda k: (scores[k], -abs(k)))
    base = scores.get(0, -math.inf)
    margin = scores[best] - base if best != 0 else 0.0
    shift = best if best != 0 and margin >= min_margin else 0
    return ShiftDecision(shift, scores, float(margin), best)


def shifted_lumbar_points(
    column: Mapping[str, tuple[float, float]], shift: int
) -> dict[str, tuple[float, float]] | None:
    """L1-L5 corners after relabelling the column by ``shift`` whole levels.

    New ``L<i>`` = the column's vertebra at ``rel = i - 1 + shift``: a detected vertebra's corners when the column has
    it (``T<k>`` above L1 from the film stage, L1-L5 as detected), else L5's corners moved by whole L4 -> L5 centre
    pitches (below L5). ``None`` when a needed vertebra is missing. The corners are a seed: refine them.
    """
    c4, c5 = _corners(column, "L4"), _corners(column, "L5")
    out: dict[str, tuple[float, float]] = {}
    for i in range(5):
        rel = i + shift
        if rel <= 4:
            if 12 + rel < 0:
                return None
            c = _corners(column, COLUMN_LEVELS[12 + rel])
        else:
            if c4 is None or c5 is None:
                return None
            c = c5 + (rel - 4) * (c5.mean(axis=0) - c4.mean(axis=0))
        if c is None:
            return None
        for name, p in zip(_CORNERS, c, strict=True):
            out[f"L{i + 1}.{name}"] = (float(p[0]), float(p[1]))
    return out


# ----------------------------------------------------------------------------------------------------------- model
class LevelAnchorModel:
    """The level-anchor classifier (``ap-level.onnx``): class log-probabilities of anchor sites."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        from fusionwatch.detect.specs import ModelSpec
        from fusionwatch.errors import InputError

        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"Cannot load level-anchor model {self.path}: {exc}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if "fusionwatch.spec" not in meta:
            raise InputError(f"{self.path.name} is not a fusionwatch model (no 'fusionwatch.spec' metadata).")
        self.spec = ModelSpec.from_json(meta["fusionwatch.spec"])
        if tuple(self.spec.classes) != ANCHOR_CLASSES:
            raise InputError(
                f"{self.path.name} is not a level-anchor model: classes {self.spec.classes}, expected {ANCHOR_CLASSES}"
            )

    @property
    def tag(self) -> str:
        return f"{self.spec.name}/{self.spec.version}"

    @property
    def context(self) -> float:
        return float(self.spec.extra.get("context", ANCHOR_CONTEXT))

    def log_probs(self, x: np.ndarray) -> np.ndarray:
        """Class log-probabilities ``(N, 3)`` of network inputs ``x`` ``(N, H, W)``, averaged over each crop and its
        mirror image (the classes do not depend on left / right)."""
        x = np.asarray(x, np.float32)
        if len(x) == 0:
            return np.zeros((0, len(ANCHOR_CLASSES)))
        batch = np.concatenate([x, x[:, :, ::-1]])[:, None].copy()
        (logits,) = self.session.run(["logits"], {"image": batch})
        logits = logits.astype(np.float64)
        lp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        n = len(x)
        p = (np.exp(lp[:n]) + np.exp(lp[n:])) / 2.0
        return np.log(np.clip(p, 1e-9, 1.0))

    def classify_sites(self, image: np.ndarray, sites: Sequence[AnchorSite], ref_width: float) -> np.ndarray:
        """Class log-probabilities ``(N, 3)`` of the sites on ``image`` (crops of :func:`site_crops`)."""
        return self.log_probs(site_crops(image, sites, ref_width, tuple(self.spec.input_hw), self.context))


def anchor_decision(
    model: LevelAnchorModel,
    image: np.ndarray,
    column: Mapping[str, tuple[float, float]],
    *,
    prior: float = PRIOR,
    min_margin: float = MIN_MARGIN,
) -> ShiftDecision:
    """The whole-level relabelling the anchor model supports for a detected AP column.

    Parameters
    ----------
    model : LevelAnchorModel
    image : (H, W) float ndarray
        The film.
    column : name -> (x, y)
        The detected column, film pixels: T10-T12 corners (from the film stage; any missing are skipped) and L1-L5.

    Raises
    ------
    ValueError
        No L1-L5 vertebra with 4 corners in ``column``.
    """
    sites = anchor_sites(column)
    lp = model.classify_sites(image, sites, reference_width(column))
    return choose_shift(lp, [s.rel for s in sites], prior=prior, min_margin=min_margin)


def relabel_levels(
    model: LevelAnchorModel,
    image: np.ndarray,
    column: Mapping[str, tuple[float, float]],
    *,
    prior: float = PRIOR,
    min_margin: float = MIN_MARGIN,
) -> tuple[dict[str, tuple[float, float]] | None, ShiftDecision]:
    """Relabel a detected AP column by the level anchor: ``(new L1-L5 seed corners or None, decision)``.

    ``None`` when the decision keeps the detected names (or the needed vertebrae are missing). The seed corners are
    the column's own vertebrae renamed (:func:`shifted_lumbar_points`): run the vertebra stage on them.
    """
    decision = anchor_decision(model, image, column, prior=prior, min_margin=min_margin)
    if decision.shift == 0:
        return None, decision
    return shifted_lumbar_points(column, decision.shift), decision


# -------------------------------------------------------------------------------------------------------- training
TRAIN_SITE_WEIGHTS: dict[int, float] = {
    -5: 0.5,
    -4: 0.5,
    -3: 1.0,
    -2: 1.0,
    -1: 2.0,
    0: 2.0,
    1: 1.0,
    2: 0.7,
    3: 1.0,
    4: 2.0,
    5: 2.0,
    6: 1.0,
    7: 0.7,
}
"""How often each site is drawn in training (``rel`` to L1: T8 .. three places below L5); the boundaries T12 / L1
and L5 / S1 twice as often."""


def training_sites(points: Mapping[str, tuple[float, float]]) -> list[AnchorSite]:
    """The sites of an annotated film (true T1-L5 corners): T8..L5 and S1..S3 placed by the true L4 -> L5 pitch."""
    return [s for s in anchor_sites(points, above=5, below=3) if s.rel in TRAIN_SITE_WEIGHTS]


def make_anchor_example(
    image01: np.ndarray,
    site: AnchorSite,
    ref_width: float,
    rng: np.random.Generator | None,
    *,
    low_points: Mapping[str, tuple[float, float]] | None = None,
    input_hw: tuple[int, int] = ANCHOR_HW,
    context: float = ANCHOR_CONTEXT,
) -> tuple[np.ndarray, int]:
    """One training crop and its class index.

    Jitter (with ``rng``): centre +-0.25 reference widths (uniform, both film axes), size x0.85-1.15 (log-uniform),
    angle +-8 deg; intensity augmentation, metal overlays on 25 % of the crops at L3 and below (around
    ``low_points``, the true L4 / L5 corners), noise, mirror on half. ``rng=None``: the plain crop.

    Parameters
    ----------
    image01 : (H, W) float32
        The film scaled to [0, 1].
    """
    from fusionwatch.detect import augment as aug
    from fusionwatch.detect._geometry import apply_affine, normalise

    fr = site_frame(site, ref_width, context=context)
    if rng is not None:
        d = rng.uniform(-0.25, 0.25, 2) * ref_width
        fr = UnitFrame(
            (fr.centre[0] + d[0], fr.centre[1] + d[1]),
            fr.side * math.exp(rng.uniform(math.log(0.85), math.log(1.15))),
            fr.angle + math.radians(rng.uniform(-8.0, 8.0)),
            False,
        )
    m = frame_matrix(fr, input_hw)
    crop, covered = _sub_warp(image01, m, input_hw)
    if rng is not None:
        crop = aug.intensity(rng, crop)
        if low_points and site.rel >= 2 and rng.random() < 0.25:
            inside = {n: tuple(apply_affine(m, np.array([p]))[0]) for n, p in low_points.items()}
            crop = aug.implant_overlay(rng, crop, inside)
    x = normalise(crop, covered)
    x[~covered] = -1.0
    if rng is not None:
        x = aug.add_noise(rng, x)
        if rng.random() < 0.5:
            x = x[:, ::-1]
    return np.ascontiguousarray(x, np.float32), region_index(site.rel)


def _sub_warp(image: np.ndarray, m: np.ndarray, input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``warp`` of the part of ``image`` the crop covers (fast on large films) and the covered mask."""
    from fusionwatch.detect._geometry import apply_affine, invert_affine, warp

    h, w = input_hw
    c = apply_affine(invert_affine(m), np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]]))
    ih, iw = image.shape[:2]
    x0, y0 = max(int(math.floor(c[:, 0].min())) - 4, 0), max(int(math.floor(c[:, 1].min())) - 4, 0)
    x1, y1 = min(int(math.ceil(c[:, 0].max())) + 5, iw), min(int(math.ceil(c[:, 1].max())) + 5, ih)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros(input_hw, np.float32), np.zeros(input_hw, bool)
    ms = m.copy()
    ms[:, 2] = m[:, 2] + m[:, :2] @ np.array([x0, y0], float)
    sub = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
    return warp(sub, ms, input_hw, fill=0.0), warp(np.ones(sub.shape, np.float32), ms, input_hw, fill=0.0) > 0.5


def _anchor_net(width: int = 16):  # noqa: ANN202 - torch module (torch imported only for training)
    """The classifier: 5 stride-2 stages of two 3x3 conv + BN + ReLU (width 1, 2, 3, 4, 6 x ``width`` channels),
    global mean pooling, dropout 0.2, a linear layer to the 3 class logits (~0.25 M parameters)."""
    from torch import nn

    def block(ci: int, co: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(ci, co, 3, 2, 1, bias=False),
            nn.BatchNorm2d(co),
            nn.ReLU(inplace=True),
            nn.Conv2d(co, co, 3, 1, 1, bias=False),
            nn.BatchNorm2d(co),
            nn.ReLU(inplace=True),
        )

    class AnchorNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ch = [width, 2 * width, 3 * width, 4 * width, 6 * width]
            self.body = nn.Sequential(*[block(ci, co) for ci, co in zip([1, *ch[:-1]], ch, strict=True)])
            self.drop = nn.Dropout(0.2)
            self.head = nn.Linear(ch[-1], len(ANCHOR_CLASSES))

        def forward(self, x):  # noqa: ANN001, ANN202
            return self.head(self.drop(self.body(x).mean(dim=(2, 3))))

    return AnchorNet()


def train_anchor(
    samples: Sequence,  # datasets.Sample with truth["extra_points"] (T1-T12), e.g. the SpineWeb reader's
    out_dir: str | Path,
    *,
    time_budget_min: float = 28.0,
    batch_size: int = 48,
    lr: float = 2e-3,
    seed: int = 0,
    threads: int = 1,
) -> Path:
    """Train the level-anchor classifier on annotated AP films and export ``out_dir/ap-level.onnx``.

    Resumable: ``out_dir/ap-level.ckpt`` is written every 2 minutes and at the end; a new call continues it and the
    time budget counts every session together (cosine learning rate over the whole budget). AdamW, weight decay
    1e-4, cross-entropy with label smoothing 0.02. Films without T8-L5 all annotated contribute the sites they have.
    The ONNX file (opset 17, dynamic batch, output ``logits``) carries its spec (``ap-level``, version 1) as the
    metadata entry ``fusionwatch.spec`` and stores its weights as float16 (:func:`training.store_weights_fp16`).
    """
    import time
    import warnings

    import torch
    from torch.nn import functional as F

    from fusionwatch.detect.specs import ModelSpec
    from fusionwatch.detect.training import store_weights_fp16

    torch.set_num_threads(threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    films = []
    for s in samples:
        pts = {**s.points, **s.truth.get("extra_points", {})}
        sites = training_sites(pts)
        if not sites:
            continue
        img = np.asarray(s.image, np.float32)
        lo, hi = float(img.min()), float(img.max())
        low = {n: p for n, p in s.points.items() if n.startswith(("L4.", "L5."))}
        films.append(((img - lo) / max(hi - lo, 1e-6), sites, reference_width(s.points), low))
    if not films:
        raise ValueError("no film with annotated L1-L5 corners: nothing to train the level anchor on")
    net = _anchor_net()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    ck = out / "ap-level.ckpt"
    step, used = 0, 0.0
    if ck.is_file():
        state = torch.load(ck, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step, used = int(state["step"]), float(state["used"])
    rng = np.random.default_rng(seed + 1000 * step)

    def save() -> None:
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "used": used}, ck)

    budget = time_budget_min * 60.0
    t0, last = time.time() - used, time.time()
    net.train()
    while time.time() - t0 < budget:
        frac = min((time.time() - t0) / budget, 1.0)
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * frac)) + lr * 0.01
        xs, ys = [], []
        for _ in range(batch_size):
            img01, sites, ref, low = films[int(rng.integers(len(films)))]
            wts = np.array([TRAIN_SITE_WEIGHTS[s.rel] for s in sites])
            site = sites[int(rng.choice(len(sites), p=wts / wts.sum()))]
            x, y = make_anchor_example(img01, site, ref, rng, low_points=low)
            xs.append(x)
            ys.append(y)
        loss = F.cross_entropy(net(torch.from_numpy(np.stack(xs))[:, None]), torch.tensor(ys), label_smoothing=0.02)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if time.time() - last > 120:
            used = time.time() - t0
            save()
            last = time.time()
    used = time.time() - t0
    save()
    net.eval()
    spec = ModelSpec(
        "ap-level", "ap", "anchor", ANCHOR_HW, classes=ANCHOR_CLASSES, version=1, extra={"context": ANCHOR_CONTEXT}
    )
    path = out / "ap-level.onnx"
    import onnx

    with warnings.catch_warnings():  # the legacy exporter warns that it is legacy
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.zeros(1, 1, *ANCHOR_HW),),
            str(path),
            input_names=["image"],
            output_names=["logits"],
            opset_version=17,
            dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}},
            dynamo=False,
        )
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "fusionwatch.spec", spec.to_json()
    onnx.save(proto, str(path))
    return store_weights_fp16(path)
