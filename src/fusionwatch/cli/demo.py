"""``fusionwatch demo``: the README's main command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fusionwatch.cli._app import app, console


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's films, database and reports.")] = Path(
        "demo-output"
    ),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write PDF reports (slower).")] = True,
) -> None:
    """Run the whole journey on bundled simulated patients and write the reports (no network, SQLite)."""
    from fusionwatch.demo import run_demo

    result = run_demo(out, pdf=pdf, progress=lambda msg: console.print(f"[dim]{msg}[/]", highlight=False,
                                                                       soft_wrap=True))
    console.print()
    for p in result.patients:
        flag = f"  [bold red]{len(p.red_flags)} red flag(s)[/]" if p.red_flags else ""
        console.print(f"[bold]{p.scenario}[/]: last films {p.last_visit}, automatic fusion status "
                      f"[bold]{p.status_text or p.status.replace('_', ' ')}[/]{flag}", highlight=False, soft_wrap=True)
        for f in (*p.red_flags, *p.routine_symptoms, *p.findings):  # plain text: "[ref KIND]" is not Rich markup
            console.print(f"    {f}", highlight=False, soft_wrap=True, markup=False)
        for f in p.earlier_symptoms:
            console.print(f"    {f}", style="dim", highlight=False, soft_wrap=True, markup=False)
    for n in result.notes:
        console.print(f"[yellow]note:[/] {n}", highlight=False)
    for path, what in ((result.cohort_visits, "one row per patient visit"),
                       (result.cohort_measurements, "one row per film and measurement")):
        if path is not None:
            console.print(f"Cohort CSV, de-identified ({what}): {path}", highlight=False, soft_wrap=True)
    console.print(f"\nOpen the demo index: [bold]{result.index}[/]")
