"""CLI: ``fusionwatch export cohort`` — the research coordinator's cohort tables (store adapter; no clinical logic)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from fusionwatch.cli._app import DbOption, app, console, err_console, escape, open_store, optional_date
from fusionwatch.cli.care import TodayOption
from fusionwatch.errors import InputError

__all__ = ["export_app"]

export_app = typer.Typer(help="Research exports across patients.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("cohort")
def cohort(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    patient: Annotated[
        list[str] | None, typer.Option("--patient", help="Patient key (repeatable) [default: every patient].")
    ] = None,
    identified: Annotated[
        bool,
        typer.Option("--identified/--deidentify",
                     help="De-identify (default: dates shifted so that each surgery is on 2000-01-01, film ids "
                          "hashed, patient keys written as their site pseudonyms FW-..., a keyed hash with the "
                          "secret in FUSIONWATCH_DEID_SECRET or the file <database>.deid-secret, stable across "
                          "exports) or keep real dates, film ids and keys."),
    ] = False,
    today: TodayOption = None,
    db: DbOption = None,
) -> None:
    """Write cohort-measurements.csv / .parquet (one row per film and measurement), cohort-visits.csv (one row per
    patient visit) and cohort-skipped.csv (each patient not exported, and why), de-identified unless --identified.
    Patients whose dates cannot be shifted (no surgery date) are left out; a patient whose stored record cannot be
    built is skipped, the others exported, and the command exits with code 1. Both are counted and named (by site
    pseudonym when de-identified, never by key: the console is a log)."""
    from fusionwatch.export.cohort import write_cohort
    from fusionwatch.export.secret import record_first_series, site_secret
    from fusionwatch.export.visits import write_visits
    from fusionwatch.io import output_folder
    from fusionwatch.pseudonym import pseudonym
    from fusionwatch.report.cohort import SkippedPatient, cohort_tables

    when = optional_date(today, "--today")
    out = output_folder(out, "--out")  # a file is refused before any work, as measure/detect/motion do
    store = open_store(db)
    try:
        known = store.list_patients()
        keys = list(dict.fromkeys(patient)) if patient else known
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise InputError(f"Unknown patient key(s): {', '.join(unknown)}; `fusionwatch patient list` shows them.")
        left_out = [] if identified else [k for k in keys if store.get_surgery(k) is None]
        keys = [k for k in keys if k not in left_out]
        if not keys:
            raise InputError("No patient to export" + (
                ": none has a surgery date, which de-identification needs (`fusionwatch patient list "
                "--without-surgery` lists them; add it with `fusionwatch patient add KEY --surgery-date D`, or export "
                "with --identified)." if left_out else "."))
        # read once for every table of the export; the first series is recorded once the tables are written
        secret = None if identified else site_secret(store, record=False)
        # everything is built (and every check made) before --out is created: an error leaves nothing behind;
        # a patient whose stored record cannot be built is skipped and named, the others exported
        tables = cohort_tables(store, keys, deidentify=not identified, secret=secret, today=when)
        # the console is a log: a de-identified export names the patients it left out by pseudonym, never by key
        left_out_names = left_out if identified else [pseudonym(k, secret) for k in left_out]
    finally:
        store.close()
    rows = tables.measurements
    not_exported = [SkippedPatient(n, "no surgery date: its dates cannot be shifted to de-identify")
                    for n in left_out_names] + tables.skipped
    suffix = "" if identified else "-deidentified"
    paths = [out / f"cohort-measurements{suffix}.csv", out / f"cohort-measurements{suffix}.parquet",
             out / f"cohort-visits{suffix}.csv", out / f"cohort-skipped{suffix}.csv"]
    taken = [p for p in paths if p.exists() and not p.is_file()]
    if taken:
        raise InputError(f"{taken[0]} is not a file (a folder?): move it away, or give another --out.")
    out.mkdir(parents=True, exist_ok=True)
    # all or nothing: each table is written to a temporary name in --out, then all are renamed into place
    temps = [p.with_name(f".{p.stem}.partial-{os.getpid()}{p.suffix}") for p in paths]
    try:
        write_cohort(rows, temps[0])
        write_cohort(rows, temps[1])
        write_visits(tables.visits, temps[2])
        _write_skipped(not_exported, temps[3])
        for tmp, final in zip(temps, paths, strict=True):
            os.replace(tmp, final)
    except OSError as exc:
        raise InputError(f"Cannot write the cohort tables in {out}: {exc.strerror or exc}; nothing was "
                         "written.") from None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    if secret is not None:
        store = open_store(db)
        try:
            record_first_series(store, secret)
        finally:
            store.close()
    films = len({r["film"] for r in rows})
    for p in paths:
        console.print(str(p), highlight=False, soft_wrap=True, markup=False)
    console.print(f"{len(tables.exported)} of {len(keys) + len(left_out)} patient(s) exported, {films} measured "
                  f"film(s), {len(rows)} measurement row(s)"
                  + ("" if identified else "; de-identified (dates shifted: surgery = 2000-01-01)"), highlight=False)
    if tables.skipped:
        lines = "\n".join(f"  {s.patient}: {s.reason}" for s in tables.skipped)
        err_console.print(f"[red]skipped[/] {len(tables.skipped)} patient(s) whose stored record could not be built "
                          f"(the others were exported; listed in {escape(paths[3].name)}):\n{escape(lines)}",
                          highlight=False, soft_wrap=True)
    if left_out:
        err_console.print(f"[yellow]note[/] left out {len(left_out)} patient(s) without a surgery date (dates cannot "
                          f"be shifted): {escape(', '.join(left_out_names))} — `fusionwatch patient list "
                          "--without-surgery` lists them by key; add the surgery with `fusionwatch patient add KEY "
                          "--surgery-date D`.", highlight=False, soft_wrap=True)
    if tables.skipped:
        raise typer.Exit(1)  # not every patient asked for is in the tables: a script must not take them as complete


def _write_skipped(skipped: list[Any], path: Path) -> None:
    """``patient,reason`` per patient not exported (a header only when none): beside the tables, so a coordinator
    who reads only the files sees who is missing and why."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["patient", "reason"])
        w.writerows([s.patient, s.reason] for s in skipped)


@export_app.command("pseudonym-series")
def pseudonym_series(
    start_new: Annotated[
        bool,
        typer.Option("--start-new",
                     help="Start a new pseudonym series with the secret now in use (FUSIONWATCH_DEID_SECRET, else "
                          "the file <database>.deid-secret, created when missing): every patient gets a new "
                          "pseudonym, not linked to earlier exports. Needs --reason; recorded in the database."),
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why the new series (recorded with it).")] = None,
    db: DbOption = None,
) -> None:
    """List the pseudonym series recorded in the database (when each started, where its secret came from, the
    secret's fingerprint — never the secret — and why), or start a new one with --start-new --reason TEXT."""
    from fusionwatch.export.secret import start_new_series

    if start_new and reason is None:
        raise InputError("--start-new needs --reason TEXT (why the pseudonyms change; recorded with the series).")
    if reason is not None and not start_new:
        raise InputError("--reason goes with --start-new.")
    store = open_store(db)
    try:
        if start_new:
            start_new_series(store, reason or "")
        series = store.pseudonym_series()
    finally:
        store.close()
    if not series:
        console.print("No pseudonym series recorded yet: the first de-identified export records one.", highlight=False)
        return
    for i, s in enumerate(series, 1):
        current = "  (current)" if i == len(series) else ""
        console.print(f"{i}. since {s.started_at:%Y-%m-%d %H:%M} UTC, secret from the {s.source}, fingerprint "
                      f"{s.fingerprint[:12]}: {s.reason}{current}", highlight=False, soft_wrap=True, markup=False)
