"""``fusionwatch measure``: one film + its landmarks -> measurements.json, overlay.png and a table on the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fusionwatch.cli._app import app, console, escape
from fusionwatch.radiograph import View
from fusionwatch.units import Unit

__all__ = ["measure"]


@app.command()
def measure(
    image: Annotated[Path, typer.Argument(help="Radiograph: DICOM, PNG, JPEG or TIFF.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for measurements.json and overlay.png (created).")],
    landmarks: Annotated[
        Path | None,
        typer.Option("--landmarks", help="Landmark JSON (schema fusionwatch.landmarks/1, docs/landmarks.md)."),
    ] = None,
    pixel_spacing: Annotated[
        float | None,
        typer.Option("--pixel-spacing", help="Square pixel size in mm (user calibration; overrides the file's)."),
    ] = None,
    view: Annotated[
        View | None,
        typer.Option("--view", case_sensitive=False, help="Force the view (otherwise from DICOM / landmarks)."),
    ] = None,
) -> None:
    """Measure one film: spinopelvic and segmental angles, disc heights, slip (lateral) or coronal values (AP)."""
    from fusionwatch.io import output_folder, read_landmarks, read_radiograph, write_landmarks
    from fusionwatch.io.loading import with_plausible_date
    from fusionwatch.pipeline import analyse_film
    from fusionwatch.report.overlay import save_overlay

    out = output_folder(out)
    # a date that cannot be the film's (in the future, before 1900) is the one check ingest refuses by: not used here
    radiograph = with_plausible_date(read_radiograph(image, pixel_spacing_mm=pixel_spacing, view=view))
    points = read_landmarks(landmarks) if landmarks is not None else None
    analysis = analyse_film(radiograph, points)

    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "measurements.json"
    json_path.write_text(json.dumps(analysis.to_dict(), indent=2) + "\n", encoding="utf-8")
    if points is None:  # automatic landmarks: saved so a reader can check, correct and re-run with --landmarks
        write_landmarks(analysis.landmarks, out / "landmarks.json")
    overlay_path = save_overlay(
        analysis.radiograph,
        analysis.landmarks,
        analysis.measurements,
        out / "overlay.png",
        warnings=analysis.warnings,
        needs_review=analysis.needs_review,
    )

    info = analysis.film_info()
    spacing = info["pixel_spacing_mm"]
    calibration = (
        f"{spacing['dx']:.4g} x {spacing['dy']:.4g} mm/px ({spacing['source']})" if spacing else "none (px and ratios)"
    )
    title = f"{escape(image.name)}: {info['view']}" + (f", facing {info['facing']}" if info["facing"] else "")
    table = Table(title=title, caption=f"spacing: {calibration}", title_justify="left")
    table.add_column("measurement")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("note", overflow="fold")
    for m in analysis.measurements:
        if m.value is None:  # no unit beside a value not given (an uncalibrated film never shows "mm")
            table.add_row(m.name.value, "—", "", f"[dim]{escape(m.reason or '')}[/]")
            continue
        digits = 2 if m.unit is Unit.RATIO else 1
        value = m.formatted() if m.unit is Unit.GRADE else f"{round(m.value, digits) + 0.0:.{digits}f}"  # no "-0.0"
        note = escape("; ".join(m.warnings)) if m.warnings and m.unit is not Unit.MM else ""
        table.add_row(m.name.value, value, m.unit.value if m.unit is not Unit.GRADE else "", note)
    console.print(table)
    for w in analysis.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    for r in analysis.needs_review:
        console.print(f"[bold red]needs review:[/] {escape(r)}", highlight=False)
    console.print(f"wrote {json_path} and {overlay_path}", highlight=False, markup=False)
