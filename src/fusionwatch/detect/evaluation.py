"""Accuracy of the detector against annotated films: landmark errors, success rates, derived-measurement errors.

:func:`evaluate` runs :func:`fusionwatch.detect.inference.Detector.detect` on every sample and compares with the truth:

- radial error of every landmark in pixels of the original film, in millimetres when the film's spacing is known,
  and in % of the image diagonal (scale-free: SpineWeb films have no spacing);
- success detection rates (share of points within 2, 2.5, 3, 4 mm; or within 0.4, 0.8, 1.5, 3 % of the diagonal);
- the error of every derived measurement (:func:`fusionwatch.measure.measure_film` on predicted vs true points, the
  truth without the structures the detector gives no point of, so that e.g. an L1-L5 coronal Cobb is not scored
  against L1-S1; a structure given in part, such as one femoral head, keeps its whole truth);
- failure rate (refusals and errors) and ``needs_review`` rate;
- a worst-cases sheet (PNG) with predicted (red) and true (green) points.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fusionwatch.detect.datasets import Sample
from fusionwatch.detect.levels import level_offset
from fusionwatch.errors import FusionwatchError
from fusionwatch.landmarks import Landmarks
from fusionwatch.radiograph import Radiograph, View

__all__ = [
    "SDR_MM",
    "SDR_DIAG_PERCENT",
    "LEVEL_SHIFT_THRESHOLD",
    "FilmResult",
    "EvaluationReport",
    "evaluate",
    "level_offset",
    "worst_cases_sheet",
]

SDR_MM: tuple[float, ...] = (2.0, 2.5, 3.0, 4.0)
SDR_DIAG_PERCENT: tuple[float, ...] = (0.4, 0.8, 1.5, 3.0)


@dataclass
class FilmResult:
    """Errors on one film. ``errors_px`` are in pixels of the original film; ``errors_mm`` empty without spacing."""

    source: str
    errors_px: dict[str, float] = field(default_factory=dict)
    errors_mm: dict[str, float] = field(default_factory=dict)
    errors_diag_percent: dict[str, float] = field(default_factory=dict)
    measure_errors: dict[str, float] = field(default_factory=dict)
    measure_units: dict[str, str] = field(default_factory=dict)
    needs_review: tuple[str, ...] = ()
    failure: str | None = None
    measure_failure: str | None = None
    predicted: Landmarks | None = None
    level_offset: float | None = None
    group: str = ""

    @property
    def mean_error_diag(self) -> float:
        return float(np.mean(list(self.errors_diag_percent.values()))) if self.errors_diag_percent else math.inf


def _stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "p95": float(np.percentile(a, 95)),
        "max": float(a.max()),
    }


@dataclass
class EvaluationReport:
    """Summary over films (see :meth:`to_dict` for the JSON written by ``fusionwatch evaluate``)."""

    films: list[FilmResult]

    def to_dict(self) -> dict:
        """The summary over all films; with films from more than one group (:attr:`Sample.group`, e.g. SpineWeb's
        batches), ``by_group`` holds the same summary per group."""
        out = _summary(self.films)
        groups = sorted({f.group for f in self.films if f.group})
        if len(groups) > 1:
            out["by_group"] = {g: _summary([f for f in self.films if f.group == g]) for g in groups}
        return out


def _summary(films: Sequence[FilmResult]) -> dict:
    """Error statistics, success rates, measurement errors, failures and level shifts over ``films``."""
    ok = [f for f in films if f.failure is None]
    px = [e for f in ok for e in f.errors_px.values()]
    mm = [e for f in ok for e in f.errors_mm.values()]
    dg = [e for f in ok for e in f.errors_diag_percent.values()]
    per_lm: dict[str, list[float]] = defaultdict(list)
    for f in ok:
        for n, e in (f.errors_mm or f.errors_diag_percent).items():
            per_lm[n].append(e)
    meas: dict[str, list[float]] = defaultdict(list)
    units: dict[str, str] = {}
    for f in ok:
        for n, e in f.measure_errors.items():
            meas[n].append(abs(e))
            units[n] = f.measure_units.get(n, "")
    out = {
        "films": len(films),
        "failures": len(films) - len(ok),
        "failure_rate": (len(films) - len(ok)) / max(len(films), 1),
        "needs_review_rate": sum(bool(f.needs_review) for f in ok) / max(len(ok), 1),
        "measurement_failure_rate": sum(f.measure_failure is not None for f in ok) / max(len(ok), 1),
        "measurement_failure_reasons": [f.measure_failure for f in ok if f.measure_failure][:10],
        "radial_error_px": _stats(px),
        "radial_error_mm": _stats(mm),
        "radial_error_diag_percent": _stats(dg),
        "sdr_mm": {f"{t:g}": float(np.mean(np.asarray(mm) <= t)) for t in SDR_MM} if mm else {},
        "sdr_diag_percent": {f"{t:g}": float(np.mean(np.asarray(dg) <= t)) for t in SDR_DIAG_PERCENT} if dg else {},
        "per_landmark": {n: _stats(v) for n, v in sorted(per_lm.items())},
        "per_landmark_unit": "mm" if mm else "% of diagonal",
        "measurement_abs_error": {n: {**_stats(v), "unit": units[n]} for n, v in sorted(meas.items())},
        "failure_reasons": [f.failure for f in films if f.failure][:20],
        "level_offset": _level_stats([f.level_offset for f in ok if f.level_offset is not None]),
    }
    return out


LEVEL_SHIFT_THRESHOLD = 0.5
"""A film whose L1-L5 column is off by more than this many vertebral levels (mean signed offset along the spine)
counts as *level-shifted* (e.g. T12 labelled L1)."""


def _level_stats(offsets: Sequence[float]) -> dict[str, float]:
    a = np.abs(np.asarray(offsets, dtype=float))
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "shifted_films": int((a > LEVEL_SHIFT_THRESHOLD).sum()),
        "threshold_levels": LEVEL_SHIFT_THRESHOLD,
        "abs_mean": float(a.mean()),
        "abs_max": float(a.max()),
    }


def _measure(lm: Landmarks, spacing) -> tuple[dict[str, tuple[float, str]], str | None]:  # noqa: ANN001
    from fusionwatch.measure import measure_film

    try:
        ms = measure_film(lm, spacing)
    except FusionwatchError as exc:
        return {}, f"{type(exc).__name__}: {exc}"
    return {m.name.value: (float(m.value), m.unit.value) for m in ms if m.value is not None}, None


def _structure(name: str) -> str:
    """The structure a landmark belongs to: ``"L5"`` for ``"L5.inferior.left"``, ``"femoral_head"`` for both heads."""
    return name.split(".", 1)[0]


def evaluate_one(detect: Callable[[Radiograph], Landmarks], sample: Sample) -> FilmResult:
    """Detect on one sample (its possibly downscaled image) and compare with its truth, in original-film units."""
    res = FilmResult(sample.source, group=sample.group)
    view = sample.view if sample.view is View.AP else View.LATERAL
    spacing_small = None
    if sample.spacing is not None:
        from fusionwatch.units import Spacing

        spacing_small = Spacing(
            sample.spacing.dx_mm / sample.scale, sample.spacing.dy_mm / sample.scale, sample.spacing.source
        )
    radiograph = Radiograph(
        np.asarray(sample.image, dtype=np.float32), spacing=spacing_small, view=view, source=sample.source
    )
    try:
        pred = detect(radiograph)
    except FusionwatchError as exc:
        res.failure = f"{type(exc).__name__}: {exc}"
        return res
    res.predicted = pred
    res.needs_review = pred.needs_review
    h, w = sample.image.shape[:2]
    diag = math.hypot(w, h)
    for n, p in sample.points.items():
        q = pred.get(n)
        if q is None:
            continue
        d = math.dist(p, q)
        res.errors_px[n] = d / sample.scale
        res.errors_diag_percent[n] = d / diag * 100.0
        if sample.spacing is not None:
            res.errors_mm[n] = math.hypot((p[0] - q[0]) * spacing_small.dx_mm, (p[1] - q[1]) * spacing_small.dy_mm)
    res.level_offset = level_offset(dict(pred.points), sample.points)
    # like for like: the truth's measurements leave out the structures the detector gives no point of (the AP models
    # give no S1, so the truth's L1-S1 coronal Cobb would be scored against a predicted L1-L5 one); a structure it gives
    # in part (one femoral head, three corners of a vertebra) keeps all its true points, so the gap shows as an error
    given = {_structure(n) for n in pred.points}
    truth = Landmarks({n: p for n, p in sample.points.items() if _structure(n) in given}, w, h, view)
    true_m, _ = _measure(truth, spacing_small)
    pred_m, res.measure_failure = _measure(Landmarks(dict(pred.points), w, h, view), spacing_small)
    for n, (v, unit) in true_m.items():
        if n in pred_m and pred_m[n][1] == unit:
            res.measure_errors[n] = pred_m[n][0] - v
            res.measure_units[n] = unit
    return res


def evaluate(
    samples: Sequence[Sample],
    *,
    models_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    worst: int = 12,
    progress: Callable[[int, int], None] | None = None,
    refine: bool = True,
) -> EvaluationReport:
    """Evaluate the detector in ``models_dir`` (default: shipped models) on ``samples``.

    ``refine=False`` measures the film stage alone (no crop or vertebra stage). Writes ``evaluation.json`` and
    ``worst_cases.png`` into ``out_dir`` when given.
    """
    from fusionwatch.detect.inference import load_detector

    det = load_detector(models_dir)
    films = []
    for i, s in enumerate(samples):
        films.append(evaluate_one(lambda r: det.detect(r, refine=refine), s))
        if progress is not None:
            progress(i + 1, len(samples))
    report = EvaluationReport(films)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "evaluation.json").write_text(json.dumps(report.to_dict(), indent=2))
        order = sorted(range(len(films)), key=lambda k: -films[k].mean_error_diag if films[k].failure is None else -1e9)
        worst_cases_sheet(
            [(samples[k], films[k]) for k in order[:worst] if films[k].predicted is not None], out / "worst_cases.png"
        )
    return report


def worst_cases_sheet(cases: Sequence[tuple[Sample, FilmResult]], path: str | Path, cols: int = 4) -> Path | None:
    """A grid of films with true (green) and predicted (red) points joined by yellow lines, worst first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not cases:
        return None
    rows = math.ceil(len(cases) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.2, rows * 4.2), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, (s, r)) in enumerate(zip(axes.ravel(), cases, strict=False), 1):
        ax.imshow(s.image, cmap="gray")
        pred = r.predicted
        for n, p in s.points.items():
            q = pred.get(n) if pred is not None else None
            ax.plot(p[0], p[1], ".", color="lime", ms=3)
            if q is not None:
                ax.plot([p[0], q[0]], [p[1], q[1]], "-", color="yellow", lw=0.6)
                ax.plot(q[0], q[1], ".", color="red", ms=3)
        label = f"{r.mean_error_diag:.2f} % diag"
        if r.errors_mm:
            label = f"{np.mean(list(r.errors_mm.values())):.1f} mm"
        ax.set_title(
            f"worst #{k} ({s.view.value if s.view else '?'})\nmean {label}", fontsize=7
        )  # no file names: may identify
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
