"""``fusionwatch simulate journey`` and ``fusionwatch simulate film``: the radiograph simulator on the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from fusionwatch.cli._app import app, console, optional_date
from fusionwatch.errors import InputError

__all__ = ["simulate_app"]

simulate_app = typer.Typer(help="Simulated lumbar radiographs with exact ground truth.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must be WIDTHxHEIGHT in pixels (e.g. 2000x2500), got {text!r}.") from None
    if not (64 <= w <= 4096 and 64 <= h <= 4096):
        raise InputError(f"--size must be 64-4096 px each way, got {text!r}.")
    return w, h


@simulate_app.command("journey")
def journey(
    scenario: Annotated[
        str,
        typer.Option(
            help="solid-fusion, pseudarthrosis, cage-subsidence, screw-loosening or adjacent-segment-degeneration."
        ),
    ],
    seed: Annotated[int, typer.Option(help="Same seed, same films and truth.")] = 0,
    out: Annotated[Path, typer.Option("--out", help="Output folder (journey.json, DICOM, PNG, landmarks).")] = Path(
        "."
    ),
    surgery_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default 2025-06-02).")] = None,
    size: Annotated[str, typer.Option(help="Film size WIDTHxHEIGHT in pixels.")] = "2000x2500",
) -> None:
    """Simulate one patient's L5-S1 fusion journey from pre-op to 12 months."""
    from fusionwatch.sim import simulate_journey

    date = optional_date(surgery_date, "--surgery-date")
    path = simulate_journey(scenario, seed, out, surgery_date=date, size=_size(size))
    data = json.loads(path.read_text())
    console.print(f"{len(data['films'])} films ({scenario}, seed {seed}) -> {path}", markup=False)


@simulate_app.command("film")
def film(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("."),
    view: Annotated[str, typer.Option(help="lateral, ap, flexion or extension.")] = "lateral",
    seed: Annotated[int, typer.Option(help="Noise and texture seed.")] = 0,
    pi: Annotated[float, typer.Option("--pi", help="Pelvic incidence (deg).")] = 52.0,
    pt: Annotated[float, typer.Option("--pt", help="Pelvic tilt (deg).")] = 13.0,
    slip: Annotated[float, typer.Option(help="L5-S1 slip (mm, anterolisthesis positive).")] = 0.0,
    slip_level: Annotated[str, typer.Option(help="Level of the slip: L5-S1 or L4-L5.")] = "L5-S1",
    implants: Annotated[str, typer.Option(help="none, TLIF, PLIF, ALIF or posterolateral.")] = "none",
    bridging: Annotated[float, typer.Option(help="Bridging fraction 0-1 (healing stage).")] = 0.0,
    subsidence: Annotated[float, typer.Option(help="Cage subsidence (mm).")] = 0.0,
    halo: Annotated[float, typer.Option(help="Halo around the S1 screws (mm).")] = 0.0,
    rod_broken: Annotated[bool, typer.Option(help="Break the left rod.")] = False,
    facing: Annotated[str, typer.Option(help="Lateral: left or right.")] = "left",
    size: Annotated[str, typer.Option(help="Film size WIDTHxHEIGHT in pixels.")] = "2000x2500",
    name: Annotated[str, typer.Option(help="File stem.")] = "film",
    coronal_wedges: Annotated[
        str, typer.Option(help="AP: coronal wedge of the discs L1-L2,...,L5-S1 (deg, 5 comma-separated values).")
    ] = "0,0,0,0,0",
    lateral_listhesis: Annotated[
        str, typer.Option(help="AP: lateral listhesis of the discs L1-L2,...,L5-S1 (mm, 5 comma-separated values).")
    ] = "0,0,0,0,0",
    axial_rotations: Annotated[
        str,
        typer.Option(help="AP: axial rotation of the vertebrae L1,...,L5 (deg, 5 comma-separated values, +-40)."),
    ] = "0,0,0,0,0",
    vertebral_wedges: Annotated[
        str,
        typer.Option(help="AP: coronal wedge of the vertebral bodies L1,...,L5 (deg, 5 comma-separated values, +-15)."),
    ] = "0,0,0,0,0",
) -> None:
    """Simulate one film with chosen parameters: DICOM DX, PNG, landmarks and truth JSON."""
    from dataclasses import replace

    import numpy as np
    from PIL import Image
    from pydicom.uid import generate_uid

    from fusionwatch.io.dicom_dx import DxFilm, write_dx
    from fusionwatch.io.landmark_json import write_landmarks
    from fusionwatch.radiograph import View
    from fusionwatch.sim import FilmSpec, Hardware, Healing, SpineParams, simulate_film

    try:
        v = View(view)
    except ValueError:
        raise InputError(f"--view must be lateral, ap, flexion or extension, got {view!r}.") from None
    if slip_level not in ("L5-S1", "L4-L5"):
        raise InputError(f"--slip-level must be L5-S1 or L4-L5, got {slip_level!r}.")
    if facing not in ("left", "right"):
        raise InputError(f"--facing must be left or right, got {facing!r}.")
    if implants not in ("none", "TLIF", "PLIF", "ALIF", "posterolateral"):
        raise InputError(f"--implants must be none, TLIF, PLIF, ALIF or posterolateral, got {implants!r}.")
    if not 0.0 <= bridging <= 1.0:
        raise InputError(f"--bridging must be in [0, 1], got {bridging!r}.")
    coronal = {
        "coronal_wedges_deg": _five(coronal_wedges, "--coronal-wedges"),
        "lateral_listhesis_mm": _five(lateral_listhesis, "--lateral-listhesis"),
        "axial_rotations_deg": _five(axial_rotations, "--axial-rotations", "L1 ... L5"),
        "vertebral_wedges_deg": _five(vertebral_wedges, "--vertebral-wedges", "L1 ... L5"),
    }
    try:
        params = SpineParams(pelvic_incidence_deg=pi, pelvic_tilt_deg=pt, **coronal)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if implants != "none" and (coronal["coronal_wedges_deg"][4] or coronal["lateral_listhesis_mm"][4]):
        raise InputError("With implants the L5-S1 coronal wedge and lateral listhesis must be 0 (fused in alignment).")
    slips = [0.0] * 5
    slips[4 if slip_level == "L5-S1" else 3] = slip
    params = replace(params, slips_mm=tuple(slips))
    neutral = None
    if v in (View.FLEXION, View.EXTENSION):
        sgn = -1.0 if v is View.FLEXION else 1.0
        neutral = params
        params = params.moved(d_angles=tuple(sgn * a for a in (3.5, 4.5, 5.0, 5.5, 0.5 if implants != "none" else 4.0)))
    hw = None if implants == "none" else Hardware(approach=implants)
    healing = Healing(
        bridging_fraction=bridging,
        graft_maturity=bridging,
        subsidence_mm=subsidence,
        halo_mm={"S1.left": halo, "S1.right": halo} if halo > 0 else {},
        rod_broken=rod_broken,
    )
    if subsidence:
        params = params.moved(d_angles=(0.0,) * 5, d_heights=(0, 0, 0, 0, -subsidence))
    w, h = _size(size)
    spec = FilmSpec(view=v, width=w, height=h, facing_left=facing == "left", oid_mm=190.0 if v.is_lateral else 105.0)
    try:
        result = simulate_film(
            params, spec, hardware=hw, healing=healing, neutral_params=neutral, anatomy_seed=seed, noise_seed=seed + 1
        )
    except ValueError as exc:  # a combination the simulator cannot draw (e.g. screws in a rotated vertebra)
        raise InputError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    cam = result.camera
    uid = generate_uid(entropy_srcs=["fusionwatch-sim-film", str(seed), view, name])
    write_dx(
        out / f"{name}.dcm",
        result.pixels,
        DxFilm(
            view=view,
            imager_pixel_spacing_mm=cam.pixel_mm,
            magnification=cam.magnification,
            sid_mm=cam.sid_mm,
            sod_mm=cam.sod_mm,
            patient_id=f"SIMFILM{seed:06d}",
            patient_name="Phantom^Film",
            birth_date=dt.date(1970, 1, 1),
            sex="O",
            study_date=dt.date(2026, 1, 5),
            study_uid=uid,
            series_uid=generate_uid(entropy_srcs=[uid, "se"]),
            sop_uid=generate_uid(entropy_srcs=[uid, "sop"]),
            patient_orientation=("L", "F") if view == "ap" else (("P", "F") if cam.facing_left else ("A", "F")),
        ),
    )
    Image.fromarray((result.pixels >> 4).astype(np.uint8)).save(out / f"{name}.png")
    write_landmarks(result.landmarks, out / f"{name}.landmarks.json")
    (out / f"{name}.truth.json").write_text(json.dumps(result.truth, indent=1) + "\n")
    console.print(f"{view} film {w}x{h} -> {out / (name + '.dcm')}", markup=False)


def _five(text: str, option: str, what: str = "L1-L2 ... L5-S1") -> tuple[float, ...]:
    """Five comma-separated numbers (one per disc L1-L2 ... L5-S1, or per vertebra L1 ... L5)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 5:
        raise InputError(f"{option} needs 5 comma-separated numbers ({what}), got {text!r}.")
    return values
