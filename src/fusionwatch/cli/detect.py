"""``fusionwatch detect``, ``fusionwatch train`` and ``fusionwatch evaluate``: landmark detection commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fusionwatch.cli._app import app, console

__all__ = ["detect", "train", "evaluate"]

DEFAULT_CACHE = Path.home() / ".cache" / "fusionwatch" / "train"


@app.command()
def detect(
    image: Annotated[Path, typer.Argument(help="Radiograph: DICOM, PNG, JPEG or TIFF.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for <image stem>.landmarks.json.")] = Path("."),
    view: Annotated[str | None, typer.Option(help="Force the view: lateral or ap (otherwise classified).")] = None,
    models: Annotated[
        Path | None, typer.Option(help="Folder with other ONNX models (default: shipped models).")
    ] = None,
) -> None:
    """Find the vertebral landmarks of a film and write them as landmark JSON."""
    from fusionwatch.detect import detect_landmarks
    from fusionwatch.detect.inference import load_radiograph
    from fusionwatch.io import output_folder
    from fusionwatch.io.landmark_json import write_landmarks

    out = output_folder(out)
    radiograph = load_radiograph(image, view=view)
    landmarks = detect_landmarks(radiograph, models_dir=models)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{image.stem}.landmarks.json"
    write_landmarks(landmarks, path)
    console.print(f"{len(landmarks.points)} landmarks ({landmarks.view.value}, {landmarks.source}) -> {path}",
                  markup=False)
    for reason in landmarks.needs_review:
        console.print(f"[yellow]needs review:[/] {reason}")


@app.command()
def train(
    data: Annotated[
        list[str],
        typer.Option(
            "--data", help="KIND:ARG, repeatable: spineweb:DIR spineweb-as-released:DIR sim:N buu:DIR mendeley:DIR "
            "coco:FILE fusionwatch:DIR."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the checkpoint and the exported ONNX model.")],
    model: Annotated[str, typer.Option(help="ap-film, ap-crop, lateral-film, lateral-crop or view.")] = "ap-film",
    time_budget: Annotated[float, typer.Option("--time-budget", help="Minutes of wall time, all sessions.")] = 30.0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/<model>.ckpt.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (split, augmentation, initialisation).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Films per step.")] = 8,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, cosine decay over the budget).")] = 2e-3,
    init_from: Annotated[
        str | None,
        typer.Option(
            help="Start from these weights (fine-tuning): a checkpoint OUT/<model>.ckpt, an ONNX model exported by "
            "fusionwatch (<model>.onnx, e.g. a shipped file), or 'shipped' (the package's own file for --model)."
        ),
    ] = None,
    sim_on_the_fly: Annotated[
        bool, typer.Option(help="Lateral/view: half of each batch are fresh simulator films.")
    ] = False,
    cache: Annotated[Path, typer.Option(help="Cache folder for decoded training films.")] = DEFAULT_CACHE,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 2,
    val_fraction: Annotated[
        float,
        typer.Option(
            "--val-fraction",
            min=0.01,
            max=0.9,
            help="Share of patients held out for validation (give `evaluate --split val` the same value).",
        ),
    ] = 0.2,
    train_only_data: Annotated[
        list[str] | None,
        typer.Option(
            "--train-only-data",
            help="KIND:ARG, repeatable: films used only for training, never split off for validation "
            "(e.g. sim:200:ap:200000 mixed into a SpineWeb fine-tune; keeps the SpineWeb validation split).",
        ),
    ] = None,
    train_only_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of each batch drawn from --train-only-data.")
    ] = 0.5,
) -> None:
    """Train one detection model from scratch (or fine-tune it) and export it to ONNX."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from fusionwatch.detect.datasets import load_data
    from fusionwatch.detect.specs import PRESETS
    from fusionwatch.detect.training import resolve_init_from
    from fusionwatch.detect.training import train as run_train

    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    spec = PRESETS.get(model)
    if init_from is not None and spec is not None:
        resolve_init_from(init_from, model)  # a wrong name fails now, not after the films are loaded
    sim_view = "ap" if spec is not None and spec.view == "ap" else "lateral"
    samples = []
    for d in data:
        if d.startswith("sim:") and model == "view":
            samples += load_data(d, sim_view="lateral", cache_dir=cache)
        else:
            samples += load_data(d, sim_view=sim_view, cache_dir=cache)
    extra = []
    for d in train_only_data or []:
        extra += load_data(d, sim_view=sim_view, cache_dir=cache)
    console.print(f"{len(samples)} films from {len(data)} source(s); training {model} for {time_budget:g} min")
    if extra:
        console.print(f"+ {len(extra)} training-only films, {train_only_share:.0%} of each batch")
    factory = None
    if sim_on_the_fly:
        from fusionwatch.detect._simdata import simulate_sample

        def factory(seed_: int):  # noqa: ANN202
            return simulate_sample(10_000_000 + seed_ % 1_000_000, sim_view, 1024)

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(model, total=time_budget * 60.0, info="")

        def progress(p: dict) -> None:
            if p["step"] % 10 == 0:
                bar.update(task, completed=p["elapsed_s"], info=f"step {p['step']} loss {p['loss']:.3f}")
            if not console.is_terminal and p["step"] % 200 == 0:  # logs: one plain line now and then
                console.print(
                    f"step {p['step']} loss {p['loss']:.4f} {p['elapsed_s'] / 60:.1f}/{p['budget_s'] / 60:.0f} min"
                )

        result = run_train(
            samples,
            out,
            model=model,
            time_budget_min=time_budget,
            resume=resume,
            seed=seed,
            batch_size=batch_size,
            lr=lr,
            init_from=init_from,
            val_fraction=val_fraction,
            progress=progress,
            sample_factory=factory,
            train_only=extra,
            train_only_share=train_only_share,
        )
    med = "n/a" if result.val_median_px is None else f"{result.val_median_px:.1f} px"
    console.print(
        f"{result.steps} steps in {result.elapsed_s / 60:.1f} min; {result.n_train} train / {result.n_val} "
        f"validation films; validation median error {med} -> {result.onnx_path}"
    )


@app.command()
def evaluate(
    data: Annotated[list[str], typer.Option("--data", help="KIND:ARG, repeatable (as for train).")],
    model: Annotated[Path | None, typer.Option("--model", help="Folder of ONNX models (default: shipped).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder for evaluation.json and worst_cases.png.")] = None,
    split: Annotated[
        str,
        typer.Option(
            help="'val': only the patient-grouped validation split that `train` held "
            "out (same seed); 'all': every film."
        ),
    ] = "all",
    val_fraction: Annotated[
        float, typer.Option("--val-fraction", min=0.01, max=0.9, help="Validation share given to `train`.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Split seed (as given to train).")] = 0,
    sim_seed: Annotated[int, typer.Option(help="First simulator seed for sim:N (training used 0).")] = 100_000,
    sim_view: Annotated[str, typer.Option(help="Simulator view for sim:N: lateral or ap.")] = "lateral",
    cache: Annotated[Path, typer.Option(help="Cache folder for decoded films.")] = DEFAULT_CACHE,
) -> None:
    """Measure landmark and measurement errors of the detector on annotated films."""
    from fusionwatch.detect.datasets import load_data, split_by_patient
    from fusionwatch.detect.evaluation import evaluate as run_eval

    samples = []
    for d in data:
        part = load_data(d, sim_seed=sim_seed, sim_view=sim_view, cache_dir=cache)
        if split == "val":
            _, val = split_by_patient(part, val_fraction, seed)
            part = [part[i] for i in val]
        elif split != "all":
            raise typer.BadParameter(f"--split must be 'val' or 'all', got {split!r}.")
        samples += part
    console.print(f"evaluating on {len(samples)} films")
    report = run_eval(samples, models_dir=model, out_dir=out)
    d = report.to_dict()
    table = {
        k: d[k]
        for k in (
            "films",
            "failure_rate",
            "needs_review_rate",
            "measurement_failure_rate",
            "radial_error_px",
            "radial_error_mm",
            "radial_error_diag_percent",
            "sdr_mm",
            "sdr_diag_percent",
        )
    }
    console.print_json(json.dumps(table))
    for name, st in d["measurement_abs_error"].items():
        console.print(
            f"  {name}: mean abs error {st['mean']:.2f} {st['unit']} (median {st['median']:.2f}, n={st['n']})"
        )
    for group, g in d.get("by_group", {}).items():
        err, lev = g["radial_error_diag_percent"], g["level_offset"]
        if err.get("n"):
            shifted = f", {lev['shifted_films']} level-shifted" if lev.get("n") else ""
            console.print(
                f"  {group}: {g['films']} films, corner error median {err['median']:.3f} / p95 {err['p95']:.3f} % "
                f"of the diagonal{shifted}",
                highlight=False,
                soft_wrap=True,
            )
    if out is not None:
        console.print(f"-> {out / 'evaluation.json'}, {out / 'worst_cases.png'}")
