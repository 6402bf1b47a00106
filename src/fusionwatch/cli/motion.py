"""``fusionwatch motion FLEXION EXTENSION``: flexion-extension motion by body registration, with overlay and JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fusionwatch.cli._app import app, console, escape
from fusionwatch.errors import InputError, LandmarkError, ViewError

__all__ = ["motion"]


def _landmarks_for(film: Path, given: Path | None, radiograph):  # noqa: ANN001, ANN202 - adapter helper
    """The given landmark file, else ``<film stem>.landmarks.json`` beside the film, else the detector's landmarks."""
    from fusionwatch.io import read_landmarks

    if given is not None:
        return read_landmarks(given)
    for candidate in (film.with_suffix(".landmarks.json"), film.parent / f"{film.name}.landmarks.json"):
        if candidate.is_file():
            return read_landmarks(candidate)
    try:
        from fusionwatch.detect import detect_landmarks

        return detect_landmarks(radiograph)
    except Exception as exc:  # noqa: BLE001 - any detector failure becomes one clear message
        raise LandmarkError(
            f"No landmarks for {film.name}: give --landmarks-flexion/--landmarks-extension, or put "
            f"{film.with_suffix('.landmarks.json').name} beside the film (automatic detection failed: {exc})."
        ) from None


OUTPUT_NAMES = ("motion.json", "motion_overlay.png")


def _check_writable(out: Path) -> None:
    """Check a file can be written in ``out`` (or, not made yet, in its nearest existing parent folder) before the
    registration (seconds of work) runs; nothing is created.

    Raises
    ------
    OSError
        With ``filename``: the folder cannot be made or written (the CLI says "cannot use ...", exit 2).
    InputError
        A folder stands where an output file goes.
    """
    import tempfile

    for name in OUTPUT_NAMES:
        if (out / name).is_dir():
            raise InputError(f"{out / name} is a folder; motion writes a file of that name: move it or give "
                             "another --out.")
    # the folder itself, or (not made yet: nothing is left behind when the work fails) the nearest one that exists
    where = out if out.is_dir() else next((p for p in out.parents if p.is_dir()), None)
    if where is None:
        return
    try:
        with tempfile.NamedTemporaryFile(dir=where, prefix=".fusionwatch-write-check-"):
            pass
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or "cannot write here", str(out)) from None


@app.command()
def motion(
    flexion: Annotated[Path, typer.Argument(help="Lateral film in flexion: DICOM, PNG, JPEG or TIFF.")],
    extension: Annotated[Path, typer.Argument(help="Lateral film in extension.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for motion.json and motion_overlay.png.")],
    landmarks_flexion: Annotated[
        Path | None, typer.Option("--landmarks-flexion", help="Landmark JSON of the flexion film.")
    ] = None,
    landmarks_extension: Annotated[
        Path | None, typer.Option("--landmarks-extension", help="Landmark JSON of the extension film.")
    ] = None,
    pixel_spacing: Annotated[
        float | None, typer.Option("--pixel-spacing", help="Pixel size in mm (user calibration) for both films.")
    ] = None,
    levels: Annotated[str, typer.Option(help="Comma-separated segments.")] = "L4-L5,L5-S1",
    views_as_given: Annotated[
        bool,
        typer.Option(
            "--views-as-given",
            help="The films are the flexion and the extension film as given, whatever their DICOM attributes say "
            "about view or posture (recorded in motion.json). Patients and dates are still checked.",
        ),
    ] = False,
) -> None:
    """Register the L4, L5 and S1 bodies between flexion and extension and report motion per segment."""
    from fusionwatch.io import output_folder, read_radiograph
    from fusionwatch.motion import (
        RegistrationError,
        check_pair,
        classify_motion,
        register_motion,
        save_motion_overlay,
    )
    from fusionwatch.radiograph import View

    out = output_folder(out)
    wanted = tuple(s.strip() for s in levels.split(",") if s.strip())
    if not wanted:
        raise InputError(f"--levels names no segment ({levels!r}); give e.g. L4-L5,L5-S1.")
    if flexion.is_file() and extension.is_file() and flexion.resolve() == extension.resolve():
        raise InputError(f"The flexion and extension films are the same file ({flexion}): give the two films of the "
                         "pair (motion between a film and itself is zero by construction).")
    flex = read_radiograph(flexion, pixel_spacing_mm=pixel_spacing)
    ext = read_radiograph(extension, pixel_spacing_mm=pixel_spacing)
    try:  # one patient, one day, the postures in the order given
        overruled = check_pair(flex, ext, views_as_given=views_as_given)
    except ViewError as exc:
        raise ViewError(f"{exc} If the films are the ones you meant (their attributes are wrong), run again with "
                        "--views-as-given.") from None
    for film, name, posture in ((flex, flexion.name, "flexion"), (ext, extension.name, "extension")):
        # a neutral lateral given as one posture halves the measured motion, always towards "fused" (R's F6)
        if film.view is View.LATERAL:
            said = (f"{film.source or name} is a neutral lateral film by its DICOM attributes (its View Position or "
                    "Series Description says lateral, with no flexion or extension word); expected the lateral "
                    f"{posture} film there: a neutral film in the pair understates the motion")
            if not views_as_given:
                raise ViewError(f"{said}. If it is the {posture} film (its attributes are wrong), run again with "
                                "--views-as-given.")
            overruled.append(said + ".")
    flex, ext = replace(flex, view=View.FLEXION), replace(ext, view=View.EXTENSION)
    _check_writable(out)
    lm_f = _landmarks_for(flexion, landmarks_flexion, flex)
    lm_e = _landmarks_for(extension, landmarks_extension, ext)
    try:
        results = register_motion(flex, ext, lm_f, lm_e, levels=wanted)
    except RegistrationError as exc:  # one clear line: what failed and what to do, never OpenCV's internals
        raise RegistrationError(f"{str(exc).rstrip('.')}. Check that body's landmarks on both films (the four "
                                "corners of the body), or leave its segment out with --levels.") from None
    films = (flex.source or flexion.name, ext.source or extension.name)
    findings = [classify_motion(r, films=films) for r in results]
    out.mkdir(parents=True, exist_ok=True)
    try:
        overlay = save_motion_overlay(out / "motion_overlay.png", flex, ext, lm_f, results, lm_e)
    except OSError as exc:  # the overlay writer's own error names no file: one line, never a traceback (R's F3)
        if exc.filename is not None:
            raise
        raise InputError(f"Could not write {out / 'motion_overlay.png'} ({exc}); check --out and its permissions. "
                         "Nothing was written.") from None
    payload = {
        "schema": "fusionwatch.motion/1",
        "films": {"flexion": films[0], "extension": films[1]},
        "views_as_given": [f"overruled by the reader: {c}" for c in overruled],
        "results": [r.to_dict() for r in results],
        "findings": [
            {
                "kind": f.kind,
                "severity": f.severity.value,
                "summary": f.summary,
                "evidence": f.evidence,
                "threshold": f.threshold,
                "films": list(f.films),
            }
            for f in findings
        ],
    }
    (out / "motion.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")

    table = Table(title="Flexion-extension motion (extension minus flexion)")
    for col in ("level", "angle (deg)", "translation", "landmark method", "finding"):
        table.add_column(col)
    for r, f in zip(results, findings, strict=True):
        t = (
            f"{r.translation_mm:+.2f} +/- {r.translation_sd:.2f} mm"
            if r.translation_mm is not None
            else f"{r.translation_percent:+.1f} +/- {r.translation_sd:.1f} % of endplate"
        )
        lm = r.landmark_difference
        table.add_row(
            r.level,
            f"{r.angle_deg:+.2f} +/- {r.angle_sd_deg:.2f}",
            t,
            f"{lm.angle_deg:+.1f} deg" if lm else "-",
            f.kind,
        )
    console.print(table)
    for c in overruled:
        console.print(f"[yellow]warning:[/] views taken as given (--views-as-given); {escape(c)}")
    for w in sorted({w for r in results for w in r.warnings}):
        console.print(f"[yellow]warning:[/] {escape(w)}")
    console.print(f"-> {out / 'motion.json'}, {overlay}", markup=False)
