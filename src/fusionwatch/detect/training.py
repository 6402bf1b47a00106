"""Training of the landmark and view models (torch, imported lazily; ``pip install '.[train]'``).

``fusionwatch train --data SPEC ... --out DIR --model ap-film`` calls :func:`train`. A run is resumable (``--resume``):
the checkpoint ``DIR/<model>.ckpt`` holds the weights, optimiser, step, elapsed time and random state, written every
``checkpoint_every_s`` seconds and at the end; the time budget counts the time of every session together. At the end the
model is exported to ``DIR/<model>.onnx`` with its :class:`~fusionwatch.detect.specs.ModelSpec` in the metadata.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fusionwatch.detect import augment as aug
from fusionwatch.detect._geometry import apply_affine, crop_box, crop_matrix, letterbox_matrix, prepare_input
from fusionwatch.detect.datasets import Sample, split_by_patient
from fusionwatch.detect.specs import PRESETS, VIEW_CLASSES, ModelSpec
from fusionwatch.errors import InputError
from fusionwatch.radiograph import View

__all__ = [
    "TrainResult",
    "train",
    "make_example",
    "crop_box",
    "export_onnx",
    "export_checkpoint",
    "load_matching_weights",
    "load_onnx_weights",
    "read_onnx_weights",
    "resolve_init_from",
    "store_weights_fp16",
]


APPEARANCE_P = 0.6
"""Share of training films (film, crop and view stages) given radiograph appearance changes
(:func:`fusionwatch.detect.augment.appearance`: flank shading, grouped gas, local equalisation, grain) before the
geometric and intensity augmentation. 0 gives the augmentation of the models before 2026-11-24 14:00 UTC (ap-spine/3
and earlier)."""

APPEARANCE_ON_NEGATIVES = True
"""Whether the view stage's synthetic non-spine films (``Sample.view`` None) get the appearance changes too. False:
spine films only (view/4). The gate's draw is made either way, so one spine film augmented from a given generator
state is the same; but a non-spine film that skips :func:`~fusionwatch.detect.augment.appearance` leaves its draws
unmade, and training shares one generator over all examples, so every later example's augmentation (spine films
included) and sample choice differ from a run with True."""

WASHED_OUT_P = 0.0
"""View stage only: share of spine films (never the synthetic negatives) made washed-out
(:func:`fusionwatch.detect.augment.washed_out`), half of those also given burnt-in text
(:func:`~fusionwatch.detect.augment.burnt_in_text`), after the appearance changes. 0 (the default) makes no random
draw, so every other model, and view models trained before view/5, get exactly the examples they got before.
view/5 was trained with 0.3 (model card, "View model view/5, session 10")."""


@dataclass
class TrainResult:
    onnx_path: Path
    steps: int
    elapsed_s: float
    val_median_px: float | None
    n_train: int
    n_val: int


def _sample_matrix(
    sample: Sample, spec: ModelSpec, rng: np.random.Generator | None, points: dict[str, tuple[float, float]]
) -> np.ndarray:
    hw = sample.image.shape[:2]
    if spec.stage == "crop":
        pts = np.array([points[n] for n in spec.crop_points if n in points])
        if len(pts) < 2:
            pts = np.array(list(points.values()))
        box = crop_box(pts, spec.input_hw, spec.margin)
        if rng is not None:  # imitate the film stage's error: shift and scale the box
            x0, y0, x1, y1 = box
            bw, bh = x1 - x0, y1 - y0
            dx, dy = rng.normal(0, 0.05, 2) * np.array([bw, bh])
            s = math.exp(rng.normal(0, 0.1))
            cx, cy = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
            box = (cx - bw * s / 2, cy - bh * s / 2, cx + bw * s / 2, cy + bh * s / 2)
        return crop_matrix(box, spec.input_hw)
    return letterbox_matrix(hw, spec.input_hw)


def make_example(
    sample: Sample, spec: ModelSpec, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One network input with its targets.

    Returns
    -------
    x : (H, W) float32 input
    target : (K, 2) float32, input pixels (NaN where unknown)
    mask : (K,) float32, 1 where the point is known and inside the input
    label : int
        View class index (see VIEW_CLASSES) for the view model, else -1.

    Refine models (``spec.stage == "refine"``) get one jittered per-vertebra crop of a random unit
    (:func:`fusionwatch.detect.refine.make_refine_example`).
    """
    if spec.stage == "refine":
        from fusionwatch.detect.refine import make_refine_example

        x, target, mask, _ = make_refine_example(sample, spec, rng)
        return x, target, mask, -1
    img = sample.image.astype(np.float32)
    lo, hi = float(img.min()), float(img.max())
    img01 = (img - lo) / max(hi - lo, 1e-6)
    points = dict(sample.points)
    # points that are not fusionwatch landmarks (SpineWeb's T1-T12), only for the models that name them
    wanted = set(spec.point_names)
    points.update({n: p for n, p in sample.truth.get("extra_points", {}).items() if n in wanted})
    hw = img.shape[:2]
    m_aug = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    if rng is not None:
        if rng.random() < APPEARANCE_P and (sample.view is not None or APPEARANCE_ON_NEGATIVES):
            # in the source frame, before flips and warps (points as annotated)
            img01 = aug.appearance(rng, img01, points)
        if WASHED_OUT_P > 0.0 and spec.stage == "view" and sample.view is not None and rng.random() < WASHED_OUT_P:
            img01 = aug.washed_out(rng, img01)
            if rng.random() < 0.5:
                img01 = aug.burnt_in_text(rng, img01)
        if rng.random() < 0.5:
            m_aug = aug.flip_matrix(hw[1])
            points = {
                n: tuple(apply_affine(m_aug, np.array([p]))[0]) for n, p in aug.flip_names(points, sample.view).items()
            }
            m_aug = m_aug  # image is flipped by the final warp
        m_rot = aug.random_affine(rng, hw)
        points_aug = {n: tuple(apply_affine(m_rot, np.array([p]))[0]) for n, p in points.items()}
        m_aug = aug.compose(m_rot, m_aug)
        points = points_aug
        img01 = aug.intensity(rng, img01)
        if rng.random() < 0.35:
            # implants are drawn in the source frame: map the (augmented) points back to it
            inv = np.linalg.inv(np.vstack([m_aug, [0, 0, 1]]))[:2]
            src_pts = {n: tuple(apply_affine(inv, np.array([p]))[0]) for n, p in points.items()}
            img01 = aug.implant_overlay(rng, img01, src_pts)
    m_in = _sample_matrix(sample, spec, rng, points)
    m = aug.compose(m_in, m_aug)
    x = prepare_input(img01, m, spec.input_hw)
    if rng is not None:
        x = aug.add_noise(rng, x)
    k = len(spec.point_names)
    target = np.full((k, 2), np.nan, np.float32)
    mask = np.zeros(k, np.float32)
    h, w = spec.input_hw
    for i, n in enumerate(spec.point_names):
        if n in points:
            p = apply_affine(m_in, np.array([points[n]]))[0]
            target[i] = p
            mask[i] = float(-0.5 <= p[0] <= w - 0.5 and -0.5 <= p[1] <= h - 0.5)
    label = -1
    if spec.stage == "view":
        label = view_label(sample.view, points)
    return x, np.nan_to_num(target), mask, label


def view_label(view: View, points: dict[str, tuple[float, float]]) -> int:
    """Class index of VIEW_CLASSES for a film of ``view`` with these points (facing from anterior vs posterior x)."""
    if view is View.AP:
        return VIEW_CLASSES.index("ap")
    if view is None:
        return VIEW_CLASSES.index("other")
    d = [
        points[n][0] - points[n.replace(".anterior", ".posterior")][0]
        for n in points
        if n.endswith(".anterior") and n.replace(".anterior", ".posterior") in points
    ]
    left = float(np.median(d)) < 0 if d else True
    return VIEW_CLASSES.index("lateral_left" if left else "lateral_right")


def _negative_sample(rng: np.random.Generator) -> Sample:
    from fusionwatch.detect.view import synthetic_non_spine

    return Sample(synthetic_non_spine(rng), {}, None, "negative")  # type: ignore[arg-type]


def _loss(torch, coords, prob, target, mask, stride: int):  # noqa: ANN001
    """L1 on soft-argmax coordinates plus the expected distance under each map (keeps maps sharp), in output cells."""
    n, k, h, w = prob.shape
    denom = mask.sum().clamp(min=1.0)
    l1 = ((coords - target).abs().sum(-1) * mask).sum() / denom / stride
    xs = (torch.arange(w, dtype=prob.dtype) + 0.5) * stride - 0.5
    ys = (torch.arange(h, dtype=prob.dtype) + 0.5) * stride - 0.5
    dx = xs.view(1, 1, 1, w) - target[..., 0].view(n, k, 1, 1)
    dy = ys.view(1, 1, h, 1) - target[..., 1].view(n, k, 1, 1)
    dist = torch.sqrt(dx**2 + dy**2 + 1e-6)
    ed = ((prob * dist).sum((2, 3)) * mask).sum() / denom / stride
    return l1 + 0.5 * ed


def _build(spec: ModelSpec):  # noqa: ANN202
    from fusionwatch.detect.network import LandmarkNet, ViewNet

    if spec.stage == "view":
        return ViewNet(len(spec.classes), spec.width)
    return LandmarkNet(len(spec.point_names), 0, spec.width)


def _export(torch, module, dummy, path: Path, names: list[str]) -> None:  # noqa: ANN001
    torch.onnx.export(
        module,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=names,
        opset_version=17,
        dynamic_axes={"image": {0: "n"}, **{o: {0: "n"} for o in names}},
        dynamo=False,
    )


def export_onnx(model, spec: ModelSpec, path: Path) -> Path:  # noqa: ANN001
    """Export to ONNX (opset 17, dynamic batch) and store the spec as metadata ``fusionwatch.spec``."""
    import onnx
    import torch

    model.eval()
    dummy = torch.zeros(1, 1, *spec.input_hw)
    names = ["logits"] if spec.stage == "view" else ["coords", "spread"]

    class _Wrap(torch.nn.Module):
        def __init__(self, m):  # noqa: ANN001
            super().__init__()
            self.m = m

        def forward(self, x):  # noqa: ANN001
            out = self.m(x)
            return out if spec.stage == "view" else (out[0], out[1])

    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the legacy exporter warns that it is legacy
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(torch, _Wrap(model).eval(), dummy, path, names)
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "fusionwatch.spec", spec.to_json()
    onnx.save(proto, str(path))
    return path


def train(
    samples: Sequence[Sample],
    out_dir: str | Path,
    *,
    model: str = "ap-film",
    time_budget_min: float = 30.0,
    resume: bool = False,
    seed: int = 0,
    batch_size: int = 8,
    lr: float = 2e-3,
    val_fraction: float = 0.2,
    negatives: float = 0.25,
    checkpoint_every_s: float = 120.0,
    init_from: str | Path | None = None,
    progress: Callable[[dict], None] | None = None,
    sample_factory: Callable[[int], Sample] | None = None,
    train_only: Sequence[Sample] = (),
    train_only_share: float = 0.5,
) -> TrainResult:
    """Train one model on ``samples`` for ``time_budget_min`` minutes of wall time (all sessions together).

    Parameters
    ----------
    samples
        Annotated films (see :mod:`fusionwatch.detect.datasets`); split by patient into training and validation.
    model
        A preset name of :data:`fusionwatch.detect.specs.PRESETS`.
    resume
        Continue from ``out_dir/<model>.ckpt`` (weights, optimiser, step, time used, random state).
    negatives
        View model only: fraction of each batch that is synthetic non-spine images (class "other").
    init_from
        Weights to start from (fine-tuning): a training checkpoint (``<model>.ckpt``), an ONNX model written by
        :func:`export_onnx` (also fp16-stored, as shipped; :func:`load_onnx_weights`, BatchNorms calibrated on 32
        augmented training examples), or ``"shipped"`` (the package's own ``<model>.onnx``). Starting from an ONNX
        model of the same name ``<name>/<v>``, the result is exported as version ``v + 1``; ``extra["fine_tuned_from"]``
        names the start.
    sample_factory
        Optional: ``f(i) -> Sample`` producing fresh training films on the fly (the simulator), used for half the batch.
    train_only
        Films used only for training, never for validation (e.g. simulated lumbar-only AP films mixed into a SpineWeb
        fine-tune, so that SpineWeb's patient split, and hence ``evaluate --split val``, stays the same). Each film
        of a batch is drawn from them with probability ``train_only_share``. They teach only the points the main
        ``samples`` have (a simulated film's S1 does not become a trained point of a model whose main data lacks
        it); points a film does not show (T1-T12 on a lumbar-only film) are masked out of the loss like any unknown
        point (see :func:`make_example`).
    train_only_share
        Probability that a batch film is one of ``train_only`` (0-1).
    """
    try:
        import torch
    except ImportError as exc:
        raise InputError("Training needs torch: pip install 'fusionwatch[train]' (CPU torch 2.13.0).") from exc
    if model not in PRESETS:
        raise InputError(f"Unknown model {model!r}; expected one of {', '.join(PRESETS)}.")
    spec = PRESETS[model]
    if spec.view_enum is not None:
        samples = [s for s in samples if s.view is spec.view_enum or (spec.view == "lateral" and s.view is not View.AP)]
    if not samples:
        raise InputError(f"No training films for the {model} model (view {spec.view}).")
    if spec.stage == "refine":
        from fusionwatch.detect.refine import spec_units

        units = spec_units(spec)
        samples = [s for s in samples if any(u.needs <= s.points.keys() for u in units)]
        if not samples:
            raise InputError(f"No training film has all the points of any {model} unit.")
        seen = set().union(*(s.points for s in samples))
        trained = [n for u in units if u.needs <= seen for n in u.names]
        spec = replace(spec, extra={**spec.extra, "trained_points": trained})
    elif spec.stage != "view":
        seen = set().union(*(s.points for s in samples), *(s.truth.get("extra_points", {}) for s in samples))
        trained = [n for n in spec.point_names if n in seen]
        spec = replace(spec, extra={**spec.extra, "trained_points": trained})
    if not 0.0 <= train_only_share <= 1.0:
        raise InputError(f"train_only_share must be between 0 and 1, got {train_only_share}.")
    extra_pool = restrict_points(train_only, spec, samples)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / f"{model}.ckpt"
    train_idx, val_idx = split_by_patient(samples, val_fraction, seed)
    net = _build(spec)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    step, used_s = 0, 0.0
    rng = np.random.default_rng(seed)
    if resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, weights_only=False)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, used_s = ck["step"], ck["elapsed_s"]
        rng.bit_generator.state = ck["rng"]
        saved = ModelSpec.from_json(ck["spec"]) if "spec" in ck else spec
        keep = {k: saved.extra[k] for k in ("fine_tuned_from",) if k in saved.extra}
        spec = replace(spec, version=max(spec.version, saved.version), extra={**spec.extra, **keep})
    elif init_from is not None:
        init_path = resolve_init_from(init_from, model)
        if is_onnx_file(init_path):
            cal_rng = np.random.default_rng(seed + 7919)
            picks = [samples[train_idx[int(cal_rng.integers(len(train_idx)))]] for _ in range(min(32, len(train_idx)))]
            calibration = np.stack([make_example(s, spec, cal_rng)[0] for s in picks])[:, None] if picks else None
            load_onnx_weights(net, spec, init_path, calibration)
            src = ModelSpec.from_json(_onnx_spec_json(init_path))
            if src.name == spec.name:  # a fine-tune of <name>/<v> is exported as <name>/<v + 1>
                spec = replace(spec, version=max(spec.version, src.version + 1))
            spec = replace(spec, extra={**spec.extra, "fine_tuned_from": f"{src.name}/{src.version}"})
        else:
            try:
                ck = torch.load(init_path, weights_only=False)
            except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file is bad input
                raise InputError(f"--init-from {init_path}: not a torch checkpoint or ONNX model ({exc}).") from exc
            if not isinstance(ck, dict) or "model" not in ck:
                raise InputError(f"--init-from {init_path}: not a fusionwatch training checkpoint (no 'model' entry).")
            try:
                load_matching_weights(net, spec, ck)
            except RuntimeError as exc:
                raise InputError(f"--init-from {init_path} does not fit the {model} network: {exc}") from exc
    budget_s = time_budget_min * 60.0
    t0 = time.monotonic() - used_s
    last_ck = time.monotonic()

    def save() -> None:
        torch.save(
            {
                "model": net.state_dict(),
                "opt": opt.state_dict(),
                "step": step,
                "elapsed_s": time.monotonic() - t0,
                "rng": rng.bit_generator.state,
                "spec": spec.to_json(),
            },
            ckpt_path,
        )

    net.train()
    running = None
    while (elapsed := time.monotonic() - t0) < budget_s:
        frac = elapsed / budget_s
        cur_lr = lr * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * frac))
        for g in opt.param_groups:
            g["lr"] = cur_lr
        xs, ts, ms, ls = [], [], [], []
        for b in range(batch_size):
            if spec.stage == "view" and rng.random() < negatives:
                s = _negative_sample(rng)
            elif sample_factory is not None and b % 2 == 1:
                s = sample_factory(int(rng.integers(0, 2**31)))
            elif extra_pool and rng.random() < train_only_share:
                s = extra_pool[int(rng.integers(len(extra_pool)))]
            else:
                s = samples[train_idx[int(rng.integers(len(train_idx)))]]
            x, t, mk, lab = make_example(s, spec, rng)
            xs.append(x)
            ts.append(t)
            ms.append(mk)
            ls.append(lab)
        xb = torch.from_numpy(np.stack(xs)[:, None])
        if spec.stage == "view":
            logits = net(xb)
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor(ls))
        else:
            coords, spread, _, prob = net(xb)
            loss = _loss(
                torch, coords, prob, torch.from_numpy(np.stack(ts)), torch.from_numpy(np.stack(ms)), net.stride
            )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        step += 1
        lv = float(loss.detach())
        running = lv if running is None else 0.98 * running + 0.02 * lv
        if progress is not None:
            progress({"step": step, "loss": running, "elapsed_s": elapsed, "budget_s": budget_s, "lr": cur_lr})
        if time.monotonic() - last_ck > checkpoint_every_s:
            save()
            last_ck = time.monotonic()
    save()
    net.eval()
    val_med = None
    if val_idx and spec.stage == "refine":
        val_med = refine_validation_error(net, spec, [samples[i] for i in val_idx[:200]])
    elif val_idx and spec.stage != "view":
        errs = []
        with torch.no_grad():
            for i in val_idx[:200]:
                x, t, mk, _ = make_example(samples[i], spec, None)
                c = net(torch.from_numpy(x[None, None]))[0][0].numpy()
                d = np.linalg.norm(c - t, axis=1)
                # back to the sample's image pixels: the input scale of this example
                s_in = _input_scale(samples[i], spec)
                errs.extend((d[mk > 0] / s_in / samples[i].scale).tolist())
        val_med = float(np.median(errs)) if errs else None
    onnx_path = export_onnx(net, spec, out / f"{model}.onnx")
    return TrainResult(onnx_path, step, time.monotonic() - t0, val_med, len(train_idx), len(val_idx))


def restrict_points(extra: Sequence[Sample], spec: ModelSpec, main: Sequence[Sample]) -> list[Sample]:
    """The films of ``extra`` that suit ``spec``'s view, each keeping only the points that ``main`` also has.

    A training-only film (:func:`train`, ``train_only``) must not add trained points: a point the main data never
    shows (S1 on SpineWeb) keeps no label. Points it lacks stay unknown and are masked out of the loss.
    """
    if spec.view_enum is not None:
        extra = [s for s in extra if s.view is spec.view_enum or (spec.view == "lateral" and s.view is not View.AP)]
    known = set().union(*(s.points for s in main), *(s.truth.get("extra_points", {}) for s in main)) if main else set()
    return [replace(s, points={n: p for n, p in s.points.items() if n in known}) for s in extra]


def load_matching_weights(net, spec: ModelSpec, ck: dict) -> list[str]:  # noqa: ANN001
    """Load a checkpoint's weights into ``net``; output channels are matched by point name.

    Same point set: a plain ``load_state_dict``. Otherwise (e.g. ``ap-spine`` started from ``ap-film``: 68 channels
    from 20) every tensor of the same shape is copied, and the landmark head's channels (``head.weight``,
    ``head.bias``) are copied for the points both specs name; the other channels keep their fresh initialisation.
    Returns the point names copied from the checkpoint.
    """
    import torch

    state = ck["model"]
    if "spec" not in ck:  # no names to match: the same architecture is assumed
        net.load_state_dict(state)
        return list(spec.point_names)
    old_names = list(ModelSpec.from_json(ck["spec"]).point_names)
    if old_names == list(spec.point_names):
        net.load_state_dict(state)
        return old_names
    own = net.state_dict()
    shared = [n for n in spec.point_names if n in old_names]
    with torch.no_grad():
        for key, value in state.items():
            if key in own and own[key].shape == value.shape and not key.startswith("head."):
                own[key].copy_(value)
        for key in ("head.weight", "head.bias"):
            if key in state and key in own:
                for n in shared:
                    own[key][spec.point_names.index(n)] = state[key][old_names.index(n)]
    net.load_state_dict(own)
    return shared


def export_checkpoint(
    ckpt_path: str | Path, onnx_path: str | Path, trained_points: Sequence[str] | None = None
) -> Path:
    """Export a training checkpoint (``<model>.ckpt``) to ONNX, e.g. after an interrupted run."""
    import torch

    ck = torch.load(ckpt_path, weights_only=False)
    spec = ModelSpec.from_json(ck["spec"])
    if trained_points is not None:
        spec = replace(spec, extra={**spec.extra, "trained_points": list(trained_points)})
    net = _build(spec)
    net.load_state_dict(ck["model"])
    return export_onnx(net, spec, Path(onnx_path))


def refine_validation_error(net, spec: ModelSpec, samples: Sequence[Sample], seed: int = 12345) -> float | None:  # noqa: ANN001
    """Median error (sample-image pixels) of a refine network over every unit of ``samples``, each crop jittered
    once with a fixed seed (so successive checks are comparable): what the stage corrects, not a film evaluation."""
    import torch

    from fusionwatch.detect.refine import make_refine_example, spec_units

    units = spec_units(spec)
    jr = np.random.default_rng(seed)
    errs: list[float] = []
    with torch.no_grad():
        for s in samples:
            for i, u in enumerate(units):
                if not u.needs <= s.points.keys():
                    continue
                x, t, mk, scale = make_refine_example(s, spec, None, unit_index=i, jitter_rng=jr)
                c = net(torch.from_numpy(x[None, None]))[0][0].numpy()
                d = np.linalg.norm(c - t, axis=1)
                errs.extend((d[mk > 0] / scale).tolist())
    return float(np.median(errs)) if errs else None


def _input_scale(sample: Sample, spec: ModelSpec) -> float:
    m = _sample_matrix(sample, spec, None, sample.points)
    return float(m[0, 0])


def store_weights_fp16(path: str | Path, out: str | Path | None = None) -> Path:
    """Halve an exported model's size: float32 weights stored as float16, cast back to float32 when the graph runs.

    Used for the models shipped inside the package (<= 20 MB in total). Computation stays float32; the weights lose
    precision at ~1e-3 relative, far below the landmark errors (checked by comparing both models' outputs).
    """
    import onnx
    from onnx import helper, numpy_helper

    path = Path(path)
    model = onnx.load(str(path))
    graph = model.graph
    casts, keep = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= 64:
            half = numpy_helper.from_array(arr.astype(np.float16), init.name + "__fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
        else:
            keep.append(init)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    target = Path(out) if out is not None else path
    onnx.save(model, str(target))
    return target


def resolve_init_from(init_from: str | Path, model: str) -> Path:
    """The file ``--init-from`` names: ``"shipped"`` is the package's own ``<model>.onnx``, anything else a path.

    Raises
    ------
    InputError
        The file does not exist, or ``shipped`` is asked for a model the package does not ship.
    """
    if str(init_from) == "shipped":
        from fusionwatch.detect.inference import MODELS_DIR

        path = MODELS_DIR / f"{model}.onnx"
        if not path.is_file():
            shipped = ", ".join(sorted(p.stem for p in MODELS_DIR.glob("*.onnx"))) or "none"
            raise InputError(
                f"--init-from shipped: the package ships no {model}.onnx (shipped models: {shipped}); "
                "give a checkpoint or an ONNX file instead."
            )
        return path
    path = Path(init_from)
    if not path.is_file():
        raise InputError(
            f"--init-from {str(init_from)!r}: no such file; expected a training checkpoint (<model>.ckpt), an ONNX "
            "model exported by fusionwatch (<model>.onnx) or the word 'shipped'."
        )
    return path


def is_onnx_file(path: str | Path) -> bool:
    """True for an ONNX model file (by name ``*.onnx``, or a protobuf that is not a torch zip/pickle checkpoint)."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        return True
    with path.open("rb") as fh:
        head = fh.read(4)
    return not (head.startswith(b"PK") or head.startswith(b"\x80"))  # torch.save: zip archive or legacy pickle


def read_onnx_weights(path: str | Path) -> tuple[ModelSpec, dict[str, dict[str, np.ndarray]]]:
    """The spec and the weights of an ONNX model written by :func:`export_onnx` (fp32, or fp16 storage with Cast nodes).

    Returns
    -------
    spec : ModelSpec
        From the ``fusionwatch.spec`` metadata.
    layers : dict
        Torch module path (e.g. ``"enc1.3"``, ``"head"``, ``"fc"``) -> ``{"weight": array, "bias": array}`` (float32),
        read from each Conv / Gemm node; the module path is the node name's last scope (the legacy exporter names nodes
        ``/m/<scope>/<module path>/Conv``). In the exported graph each BatchNorm is folded into the convolution before
        it, so a convolution that has no bias in torch comes with the folded bias here.

    Raises
    ------
    InputError
        Not an ONNX file, no fusionwatch spec, or a graph this reader does not understand.
    """
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is bad input
        raise InputError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc}).") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    if "fusionwatch.spec" not in meta:
        raise InputError(
            f"{path}: no 'fusionwatch.spec' metadata; --init-from needs an ONNX model exported by fusionwatch "
            "(fusionwatch train / training.export_onnx), not another tool's model."
        )
    try:
        spec = ModelSpec.from_json(meta["fusionwatch.spec"])
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: unreadable 'fusionwatch.spec' metadata ({exc}).") from exc
    graph = proto.graph
    tensors = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    # fp16 storage (store_weights_fp16): Cast(initializer__fp16) -> the name the graph uses; equal initialisers the
    # exporter de-duplicated: Identity(other initialiser)
    for node in graph.node:
        if node.op_type in ("Cast", "Identity") and node.input and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
        elif node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value":
                    tensors[node.output[0]] = numpy_helper.to_array(a.t)
    if any(n.op_type == "BatchNormalization" for n in graph.node):
        raise InputError(f"{path}: the graph has unfolded BatchNormalization nodes (not written by export_onnx).")
    layers: dict[str, dict[str, np.ndarray]] = {}
    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        scopes = [s for s in node.name.split("/") if s]
        if len(scopes) < 2 or node.input[1] not in tensors:
            raise InputError(f"{path}: cannot tell which layer the {node.op_type} node {node.name!r} belongs to.")
        weight = np.asarray(tensors[node.input[1]], np.float32)
        if node.op_type == "Gemm":
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            weight = weight if trans_b else weight.T
        entry = {"weight": weight}
        if len(node.input) > 2 and node.input[2]:
            entry["bias"] = np.asarray(tensors[node.input[2]], np.float32)
        layers[scopes[-2]] = entry
    return spec, layers


def load_onnx_weights(net, spec: ModelSpec, path: str | Path, calibration: np.ndarray | None = None) -> list[str]:  # noqa: ANN001
    """Load the weights of an exported ONNX model (:func:`export_onnx`, also fp16-stored) into a torch network.

    Layers are matched by module path (the exporter's node names); output channels of the landmark head by point name
    (as :func:`load_matching_weights`), so ``ap-spine`` can start from an ``ap-film`` file. The exporter folded each
    BatchNorm into its convolution (``W' = W * g / s``, ``b' = beta - mean * g / s``); the folded weight goes into the
    convolution and the BatchNorm is set so that, in eval mode, the network computes exactly the ONNX model's function:
    running mean ``mu``, running variance ``v``, scale ``sqrt(v + eps)``, shift ``b' + mu``. ``mu`` and ``v`` are the
    per-channel mean and variance of that convolution's output over ``calibration`` (inputs ``(N, 1, H, W)``, e.g.
    augmented training examples), so that in training mode (batch statistics) the layer also starts close to the
    shipped function; without calibration ``mu = 0``, ``v = 1 - eps`` (exact in eval mode only).

    Returns
    -------
    list[str]
        The point names (or, for the view model, class names) whose output channels were loaded.

    Raises
    ------
    InputError
        The file is not a fusionwatch ONNX model, belongs to another kind of network (view vs landmark, other width,
        other view), lacks a layer, or a layer's shape differs; the message names the file and the layers.
    """
    import torch

    path = Path(path)
    src_spec, layers = read_onnx_weights(path)
    label = f"{src_spec.name}/{src_spec.version}"
    if (src_spec.stage == "view") != (spec.stage == "view") or src_spec.view != spec.view:
        raise InputError(
            f"{path} is a {label} model (view {src_spec.view}, stage {src_spec.stage}); it cannot start a "
            f"{spec.name} model (view {spec.view}, stage {spec.stage}): give a {spec.name} file."
        )
    if src_spec.width != spec.width:
        raise InputError(f"{path} is a {label} model of width {src_spec.width}; {spec.name} has width {spec.width}.")
    modules = list(net.named_modules())
    head_name = "fc" if spec.stage == "view" else "head"
    old_out = list(src_spec.classes if spec.stage == "view" else src_spec.point_names)
    new_out = list(spec.classes if spec.stage == "view" else spec.point_names)
    shared = [n for n in new_out if n in old_out]
    if not shared:
        raise InputError(f"{path} ({label}) names none of the outputs of {spec.name}: wrong model file.")
    missing, wrong_shape, wrong_names, plan = [], [], set(), []
    for i, (name, mod) in enumerate(modules):
        if not isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            continue
        if name not in layers:
            if isinstance(mod, torch.nn.Linear) and getattr(net, "n_classes", 1) == 0:
                continue  # LandmarkNet's unused class head: not in the graph
            missing.append(name)
            continue
        w = layers[name]["weight"]
        if name == head_name:
            expect = (len(old_out), *mod.weight.shape[1:])
        else:
            expect = tuple(mod.weight.shape)
        if tuple(w.shape) != tuple(expect):
            wrong_shape.append(f"{name} {tuple(w.shape)} (expected {tuple(expect)})")
            wrong_names.add(name)
            continue
        bn = modules[i + 1][1] if i + 1 < len(modules) else None
        bn = bn if isinstance(bn, torch.nn.BatchNorm2d) and mod.bias is None else None
        plan.append((name, mod, bn))
    unused = sorted(set(layers) - {n for n, _, _ in plan} - wrong_names)
    if missing or wrong_shape or unused:
        parts = []
        if missing:
            parts.append(f"no weights for {', '.join(missing)}")
        if wrong_shape:
            parts.append(f"other shapes: {'; '.join(wrong_shape)}")
        if unused:
            parts.append(f"layers {spec.name} does not have: {', '.join(unused)}")
        raise InputError(
            f"{path} ({label}) does not fit the {spec.name} network: {'; '.join(parts)}. Is it a model of another "
            "architecture or fusionwatch version?"
        )
    with torch.no_grad():
        for name, mod, bn in plan:
            w = torch.from_numpy(layers[name]["weight"].copy())
            b = layers[name].get("bias")
            b = torch.zeros(w.shape[0]) if b is None else torch.from_numpy(b.copy())
            if name == head_name and old_out != new_out:
                for n in shared:
                    mod.weight[new_out.index(n)] = w[old_out.index(n)]
                    mod.bias[new_out.index(n)] = b[old_out.index(n)]
                continue
            mod.weight.copy_(w)
            if mod.bias is not None:
                mod.bias.copy_(b)
            elif bn is not None:
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                bn.weight.fill_(1.0)
                bn.bias.copy_(b)
            elif bool((b != 0).any()):
                raise InputError(f"{path}: layer {name} has a bias but no BatchNorm follows it in {spec.name}.")
    if calibration is not None and len(calibration):
        _calibrate_batchnorm(net, [bn for _, _, bn in plan if bn is not None], calibration)
    return shared


def _calibrate_batchnorm(net, bns: list, x: np.ndarray) -> None:  # noqa: ANN001
    """Re-parameterise identity BatchNorms (mean 0, var 1 - eps, scale 1) to the statistics of their inputs over ``x``
    without changing the eval-mode function (see :func:`load_onnx_weights`)."""
    import torch

    sums: dict[int, list] = {id(bn): [0.0, 0.0, 0] for bn in bns}

    def hook(mod, inp, _out):  # noqa: ANN001, ANN202
        t = inp[0].double()
        acc = sums[id(mod)]
        acc[0] = acc[0] + t.sum((0, 2, 3))
        acc[1] = acc[1] + (t**2).sum((0, 2, 3))
        acc[2] += t.shape[0] * t.shape[2] * t.shape[3]

    handles = [bn.register_forward_hook(hook) for bn in bns]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), 8):
                net(torch.from_numpy(np.ascontiguousarray(x[i : i + 8], np.float32)))
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
    with torch.no_grad():
        for bn in bns:
            s, s2, n = sums[id(bn)]
            mu = s / n
            var = torch.clamp(s2 / n - mu**2, min=1e-6)
            shift = bn.bias.double().clone()  # the folded bias b'
            bn.running_mean.copy_(mu.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_((shift + mu).float())


def _onnx_spec_json(path: Path) -> str:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in proto.metadata_props}["fusionwatch.spec"]
