"""CLI: ``fusionwatch ingest``, ``followup``, ``override [add|list|retract]``, ``patient add|correct|corrections|list``
(store adapter; no clinical logic)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

from fusionwatch.cli._app import (
    EXIT_SOME_REFUSED,
    EXIT_USER_ERROR,
    DbOption,
    app,
    console,
    err_console,
    escape,
    open_store,
    optional_date,
)
from fusionwatch.cli._entries import (
    AllOption,
    ByOption,
    IdOption,
    ReasonOption,
    print_entries,
    retract_entry,
    status_text,
)
from fusionwatch.errors import InputError
from fusionwatch.followup.refs import NotApplied
from fusionwatch.measurement import meyerding_grade_text

__all__ = ["patient_app", "override_app"]


patient_app = typer.Typer(help="Patients and their index surgery.", no_args_is_help=True)
app.add_typer(patient_app, name="patient")


class _AddByDefault(TyperGroup):
    """``fusionwatch override KEY VISIT ...`` (the form before ``list`` and ``retract`` existed) runs ``override add``:
    a first word that is not a subcommand is the patient key (a key spelt ``add``, ``list`` or ``retract`` needs
    ``override add KEY ...``)."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["add", *args]
        return super().parse_args(ctx, args)


override_app = typer.Typer(
    cls=_AddByDefault,
    help="A reader's fusion status, Bridwell grade, finding verdict or bone evidence (`fusionwatch override KEY VISIT "
    "...` = `override add`), the list of them with their ids, and marking one entered in error.",
    no_args_is_help=True,
)
app.add_typer(override_app, name="override")


def _journey_manifest(p: Path) -> Path | None:
    if p.is_file() and p.name == "journey.json":
        return p
    if p.is_dir() and (p / "journey.json").is_file():
        return p / "journey.json"
    return None


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders (recursive), DICOMDIR files or journey folders.")],
    db: DbOption = None,
    patient: Annotated[
        str | None, typer.Option("--patient", help="Patient key for files without DICOM identifiers.")
    ] = None,
    date: Annotated[
        str | None, typer.Option("--date", help="Film date YYYY-MM-DD for files without DICOM dates (used for every "
                                 "file of the run, also over a DICOM file's own date: each such film is named).")
    ] = None,
    view: Annotated[str | None, typer.Option("--view", help="lateral, ap, flexion or extension.")] = None,
    analyse: Annotated[
        bool, typer.Option("--analyse/--no-analyse", help="Hardware and motion checks per visit.")
    ] = True,
    detect: Annotated[
        bool, typer.Option("--detect", help="Detect landmarks (shipped models) for films without a landmark file; "
                           "a film the view model calls 'not a lumbar film' is refused.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest films: idempotent (a stored SOP Instance is skipped), one transaction per film, bad files reported.

    Every film's pixels are checked first: a blank, noise or smooth image is refused ("no lumbar spine found on
    FILE: ..."), nothing of it stored. A film that states no view needs --view (or a landmark file stating it) when
    --detect would make it a lateral: the view model cannot tell neutral from flexion or extension.

    Exit code 0 when every file was stored or already stored, 1 when some files were refused (named above; the others
    are stored), 2 when nothing could be ingested.
    """
    from fusionwatch.ingest import ALREADY_STORED, IngestReport, ingest_journey
    from fusionwatch.ingest import ingest as run_ingest
    from fusionwatch.radiograph import View

    try:
        v = View(view) if view else None
    except ValueError:
        raise InputError(f"--view must be one of {[x.value for x in View]}, got {view!r}.") from None
    when = optional_date(date, "--date")
    detector = None
    if detect:
        from fusionwatch.detect import load_detector

        detector = load_detector().detect
    store = open_store(db)
    report = IngestReport()
    with Progress(
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("", total=None)

        def tick(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        journeys = [m for p in paths if (m := _journey_manifest(p)) is not None]
        plain = [p for p in paths if _journey_manifest(p) is None]
        for manifest in journeys:
            r = ingest_journey(manifest, store, detect=detector, progress=tick, analyse=analyse)
            report.outcomes += r.outcomes
            report.notes += r.notes
        if plain:
            r = run_ingest(
                plain, store, detect=detector, patient_key=patient, date=when, view=v, progress=tick, analyse=analyse
            )
            report.outcomes += r.outcomes
            report.notes += r.notes
    store.close()
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        for o in report.failed:
            err_console.print(f"[red]failed[/] {escape(o.path)}: {escape(o.reason)}", highlight=False, soft_wrap=True)
        for o in report.added:
            if o.reason:
                console.print(
                    f"[yellow]note[/] {escape(Path(o.path).name)} ({escape(o.patient_key)}, {o.visit_label}): "
                    f"{escape(o.reason)}",
                    highlight=False,
                    soft_wrap=True,
                )
        for o in report.skipped:
            if o.reason != ALREADY_STORED:  # a duplicate copy or a PNG beside its DICOM: say which; a re-run is counted
                console.print(f"[yellow]skipped[/] {escape(o.path)}: {escape(o.reason)}", highlight=False,
                              soft_wrap=True)
        for o in report.updated:
            console.print(f"[green]updated[/] {escape(o.path)}: {escape(o.reason)}", highlight=False, soft_wrap=True)
        for o in report.needs_landmarks:
            if o.status == "skipped":  # stored earlier, still unmeasured: say which (a landmark file or --detect)
                console.print(f"[yellow]note[/] {escape(Path(o.path).name)} ({escape(o.patient_key)}, "
                              f"{o.visit_label}): stored, still "
                              "needs landmarks (put NAME.landmarks.json beside it or use --detect, and run again)",
                              highlight=False, soft_wrap=True)
        for n in (*report.notes, *report.mixed_folder_notes()):
            console.print(f"[yellow]note[/] {escape(n)}", highlight=False, soft_wrap=True)
        for key in report.patient_keys:  # which folders each key came from: a coordinator maps keys to patients
            outs = [o for o in report.outcomes if o.patient_key == key]
            folders = sorted({str(Path(o.path).parent) for o in outs})
            n_added = sum(o.status == "added" for o in outs)
            console.print(f"patient {key}: {n_added} added, {len(outs) - n_added} already stored; from "
                          f"{', '.join(folders)}", highlight=False, soft_wrap=True, markup=False)
        console.print(
            f"{len(report.added)} added, {len(report.skipped)} skipped ({len(report.duplicates)} duplicate copies), "
            + (f"{len(report.updated)} stored film(s) got landmarks, " if report.updated else "") +
            f"{len(report.failed)} failed, {len(report.needs_landmarks)} need landmarks; "
            f"patients: {', '.join(report.patient_keys) or 'none'}",
            highlight=False, soft_wrap=True, markup=False,
        )
    if not (report.failed or report.added or report.skipped or report.updated):
        names = ", ".join(str(p) for p in paths)
        err_console.print(f"[bold red]error:[/] no film files found in {escape(names)} (expected DICOM, PNG, JPEG or "
                          "TIFF files, a folder of them, a DICOMDIR or a simulated journey folder).", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(EXIT_USER_ERROR)
    if report.failed and not report.added and not report.skipped and not report.updated:
        # nothing stored: a user mistake (unreadable or wrong files), reported as every other one is
        n = len(report.failed)
        what = report.failed[0].reason if n == 1 else f"none of the {n} files could be ingested (reasons above)"
        err_console.print(f"[bold red]error:[/] {escape(what)}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USER_ERROR)
    if report.failed:  # the others are stored; a script running a cohort must still see that files were refused
        raise typer.Exit(EXIT_SOME_REFUSED)


def _settings(path: Path | None):  # type: ignore[no-untyped-def]
    from fusionwatch.followup import DEFAULT_SETTINGS, FollowupSettings

    if path is None:
        return DEFAULT_SETTINGS
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"Cannot read the settings file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of setting names to values, got {type(data).__name__}.")
    return FollowupSettings.from_mapping(data)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "grade":  # Meyerding: 0 (no slip) or I-V, as the reports print it
        return meyerding_grade_text(value)
    digits = 3 if unit == "ratio" else 1
    return f"{round(value, digits) + 0.0:.{digits}f}"


def _fmt_delta(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    digits = 3 if unit == "ratio" else 1
    return f"{round(value, digits) + 0.0:+.{digits}f}"  # + 0.0: no "-0.0"


@app.command()
def followup(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the timeline as JSON.")] = False,
    settings_file: Annotated[
        Path | None,
        typer.Option("--settings", help="YAML/JSON file of follow-up thresholds to change (docs/followup.md)."),
    ] = None,
) -> None:
    """Print a patient's timeline: measurements with deltas vs baseline and previous visit, findings, fusion status."""
    settings = _settings(settings_file)
    store = open_store(db)
    try:
        timeline = store.load_timeline(patient, settings)
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(timeline.to_dict()))
        return
    s = timeline.surgery
    head = f"[bold]{escape(timeline.patient_key)}[/]"
    if s is not None:
        head += f"  surgery {s.date.isoformat()} {s.approach.value} " + ", ".join(
            f"{a.value}-{b.value}" for a, b in s.levels
        )
    console.print(head, highlight=False)
    console.print(timeline.baseline_note, style="dim", highlight=False, markup=False)
    visits = timeline.visits
    table = Table(title="Measurements (value; change vs baseline / vs previous visit; · = none)", show_lines=False)
    table.add_column("measure")
    for v in visits:
        day = f"day {v.days_since_surgery}" if v.days_since_surgery is not None else v.date.isoformat()
        table.add_column(f"{v.label}{' (baseline)' if v.is_baseline else ''}\n{day}", justify="right")
    # One row per measure and unit: a calibrated (mm) and an uncalibrated (px) film never share a row.
    rows_keys = list(dict.fromkeys((m.name, m.unit) for v in visits for m in v.measurements if m.value is not None))
    for name, unit_enum in rows_keys:
        unit = unit_enum.value
        row = [f"{name.value} ({unit})"]
        for v in visits:
            m = v.measurement(name)
            if m is None or m.value is None or m.unit is not unit_enum:
                row.append("-")
                continue
            b, p = _fmt_delta(m.delta_vs_baseline, unit), _fmt_delta(m.delta_vs_previous, unit)
            deltas = f"{b or '·'} / {p or '·'}" if b or p else ""
            row.append(_fmt(m.value, unit) + (f"\n[dim]{deltas}[/]" if deltas else ""))
        table.add_row(*row)
    if rows_keys:
        console.print(table)
    for v in visits:
        line = f"[bold]{v.label}[/] ({v.date.isoformat()}): {_status_text(v)}"
        if v.reader_status is not None:
            from fusionwatch.report.labels import reader_status_label

            line += (f"  | reader: {v.reader_status.value} ({reader_status_label(v.reader_status.value)}; "
                     f"{escape(v.reader_status.author)}, {v.reader_status.at:%Y-%m-%d}{_entry(v.reader_status)})")
        if v.bridwell_grade is not None:
            g = v.bridwell_grade
            line += f"  | Bridwell {g.value} ({escape(g.author)}{_entry(g)})"
        console.print(line, highlight=False)
        for r in v.status.reasons:
            console.print(f"    {r}", style="dim", highlight=False, soft_wrap=True, markup=False)
        if v.status.decide_with:
            console.print(f"    to decide: {v.status.decide_with}", style="dim", highlight=False, soft_wrap=True,
                          markup=False)
        for m in v.motion:
            console.print(f"    motion {getattr(m, 'level', '')}: {_motion_text(m)}", highlight=False)
        for f, ref, o in v.findings_with_refs():
            # the ref is what `fusionwatch override --finding REF=...` takes (the kind when unique at the visit); the
            # verdict shown is the one that applies to this finding (its own or its kind's, the newer)
            said = f" [bold](reader: {escape(o.value)}, {escape(o.author)})[/]" if o is not None else ""
            console.print(f"    [yellow]{f.severity.value}[/] {escape(ref)}: {escape(f.summary)}{said}",
                          highlight=False, soft_wrap=True)
        for f in v.review:
            console.print(f"    [cyan]review[/] {escape(f.summary)}", highlight=False, soft_wrap=True)
        gone = v.verdicts_without_finding()
        for o in v.overrides:
            if o.target not in ("fusion_status", "grade:bridwell"):
                console.print(
                    f"    reader {o.target} = {o.value} ({o.author}, {o.at:%Y-%m-%d}{_entry(o)})"
                    + (f": {o.reason}" if o.reason else "")
                    + (f" - {VERDICT_NOT_APPLIED_TEXT[v.why_not_applied(o)]}" if o in gone else ""),
                    highlight=False,
                    soft_wrap=True,
                    markup=False,
                )
    if timeline.entered_in_error:
        console.print("Entered in error (kept for the audit; counts for nothing above):", style="bold", highlight=False)
        for e in timeline.entered_in_error:
            console.print(f"    {_entered_in_error_text(e)}", style="dim", highlight=False, soft_wrap=True,
                          markup=False)


VERDICT_NOT_APPLIED_TEXT = {
    NotApplied.NO_LONGER_MADE: "the tool no longer makes this finding at this visit (analysed again: another "
                               "baseline film, corrected landmarks or surgery date); the verdict is kept for the audit",
    NotApplied.REMEASURED: "a finding of this name is made again, measured against another baseline film after the "
                           "verdict: the verdict is not applied to it (confirm or reject it again)",
}
"""What `followup` says beside a reader's verdict that applies to none of the visit's findings, by
:func:`fusionwatch.followup.refs.why_not_applied` (the second in the clinician report's words)."""


def _entered_in_error_text(e) -> str:  # type: ignore[no-untyped-def]
    """One line of the audit block: what, at which visit, entered by whom and when, retracted by whom, when, why."""
    where = f" at the visit of {e.visit_date.isoformat()}" if e.visit_date else ""
    by = f" by {e.entered_by}" if e.entered_by else ""
    return (f"{e.kind} {e.entry_id}: {e.what}{where} (entered{by} {e.entered_at:%Y-%m-%d %H:%M} UTC); retracted by "
            f"{e.retracted_by} {e.retracted_at:%Y-%m-%d %H:%M} UTC: {e.reason}")


def _entry(o) -> str:  # type: ignore[no-untyped-def]
    """``; override N``: the id `fusionwatch override retract --id` takes (empty for an unstored override)."""
    return f"; override {o.entry_id}" if getattr(o, "entry_id", None) is not None else ""


def _motion_text(m) -> str:  # type: ignore[no-untyped-def]
    """Flexion-extension motion in the clinician report's words (:func:`fusionwatch.report.labels.motion_value_texts`):
    magnitudes (what the criteria judge) with their 1 SD; translation in mm, or in % of the endplate on an
    uncalibrated film (``--json`` keeps the signs)."""
    from fusionwatch.report.labels import motion_value_texts

    angle, translation = motion_value_texts(m)
    text = f"angle {angle}" + ("" if translation == "—" else f", translation {translation}")
    return text + " (1 SD)" if "±" in text else text


def _status_text(v) -> str:  # type: ignore[no-untyped-def]
    """What the visit's status line says: the automatic status, or why there is none (a contact without films is
    said to be one, not shown as a missing value)."""
    if v.status.status is not None:
        from fusionwatch.report.labels import visit_status_label

        # the same label as the clinician report and the exports (a fused status on motion alone says so)
        return f"fusion status [bold]{v.status.status.value}[/] ({visit_status_label(v)})"
    if not v.films:
        return "contact (no films): no fusion status"
    if v.days_since_surgery is None:
        return "fusion status not assessed (no surgery date)"
    if v.days_since_surgery < 0:
        return "pre-op: no fusion status"
    return "fusion status not assessed"


@override_app.command("add")
def override(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    visit: Annotated[str, typer.Argument(help="Visit label (e.g. 12-months) or date YYYY-MM-DD.")],
    author: Annotated[str, typer.Option("--author", help="Who decides (stored with the time).")],
    status: Annotated[str | None, typer.Option("--status", help="Reader's fusion status.")] = None,
    bridwell: Annotated[str | None, typer.Option("--bridwell", help="Bridwell interbody grade I-IV.")] = None,
    finding: Annotated[
        list[str] | None, typer.Option("--finding",
            help="REF=confirmed|rejected, e.g. screw_loosening_suspected:S1-left-halo=rejected (the ref the "
            "clinician report and `fusionwatch followup` show beside each finding); a plain KIND covers every "
            "finding of that kind at the visit.")
    ] = None,
    lucency: Annotated[
        str | None, typer.Option("--lucency", help="yes/no: lucency at the cage-endplate interface.")
    ] = None,
    bridging: Annotated[
        float | None, typer.Option("--bridging", help="Fraction 0-1 of the disc space bridged by bone.")
    ] = None,
    lateral_film: Annotated[
        str | None, typer.Option("--lateral-film", help="The film to measure as the visit's neutral lateral when it "
                                 "holds several (its file name or SOP Instance UID; default: the latest ingested).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    db: DbOption = None,
) -> None:
    """Record a reader's fusion status, Bridwell grade, finding override or bone evidence (tool result kept).

    A mistaken entry (wrong patient or visit) is corrected by marking it entered in error with `fusionwatch override
    retract` and entering the right one."""
    from fusionwatch.followup.status import BRIDWELL_MEANING
    from fusionwatch.records import FusionStatus, Override

    entries: list[tuple[str, str]] = []
    if status is not None:
        if status not in [s.value for s in FusionStatus]:
            raise InputError(f"--status must be one of {[s.value for s in FusionStatus]}, got {status!r}.")
        entries.append(("fusion_status", status))
    if bridwell is not None:
        if bridwell.upper() not in BRIDWELL_MEANING:
            raise InputError(f"--bridwell must be one of {', '.join(BRIDWELL_MEANING)}, got {bridwell!r}.")
        entries.append(("grade:bridwell", bridwell.upper()))
    for item in finding or []:
        kind, sep, value = item.partition("=")
        if not sep or not kind.strip() or not value.strip():
            raise InputError(f"--finding must be REF=VALUE (e.g. cage_subsidence=rejected), got {item!r}.")
        if value.strip().lower() not in FINDING_VERDICTS:
            raise InputError(f"--finding {item!r}: the reader's verdict must be one of {', '.join(FINDING_VERDICTS)}, "
                             f"got {value.strip()!r}.")
        entries.append((f"finding:{kind.strip()}", value.strip().lower()))
    if lucency is not None:
        if lucency.lower() not in ("yes", "no"):
            raise InputError(f"--lucency must be yes or no, got {lucency!r}.")
        entries.append(("bone:lucency", lucency.lower()))
    if bridging is not None:
        if not 0.0 <= bridging <= 1.0:
            raise InputError(f"--bridging must be a fraction between 0 and 1, got {bridging!r}.")
        entries.append(("bone:bridging", f"{bridging:g}"))
    if lateral_film is not None:
        from fusionwatch.store import LATERAL_FILM_TARGET

        entries.append((LATERAL_FILM_TARGET, lateral_film.strip()))
    if not entries:
        raise InputError("Nothing to record: give --status, --bridwell, --finding, --lucency, --bridging or "
                         "--lateral-film.")
    is_date = len(visit) == 10 and visit[4] == "-" and visit[7] == "-" and visit[:4].isdigit()
    when: str | dt.date = optional_date(visit, "visit") if is_date else visit  # type: ignore[assignment]
    now = dt.datetime.now(dt.UTC)
    store = open_store(db)
    try:
        notes: dict[int, str] = {}
        if any(t.startswith("finding:") for t, _ in entries):
            # a verdict on a finding the tool did not make at that visit (a typo) is refused, not stored; a ref is
            # matched whatever its case and stored as the tool spells it
            day = store.visit_date(patient, when)
            made = [f for v in store.load_timeline(patient).visits if v.date == day for f in (*v.findings, *v.review)]
            entries, notes = _finding_targets(entries, made, visit)
        # all or nothing: the store checks every entry before it records any (one transaction)
        records = store.add_overrides(patient, [Override(t, v, author, now, reason) for t, v in entries], visit=when)
        for i, ((target, value), rec) in enumerate(zip(entries, records, strict=True)):
            console.print(
                f"recorded {target} = {value} for {patient} at {rec.visit_label} by {author}{notes.get(i, '')} "
                f"(override {rec.id})",
                highlight=False,
                markup=False,
            )
    finally:
        store.close()


@override_app.command("list")
def override_list(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    show_all: AllOption = False,
    db: DbOption = None,
) -> None:
    """List the patient's reader overrides with their ids (the id `fusionwatch override retract` takes)."""
    store = open_store(db)
    try:
        records = store.list_overrides(patient, include_retracted=show_all)
    finally:
        store.close()
    print_entries("Reader overrides", patient, show_all,
                  ("id", "visit", "date", "what", "value", "author", "at (UTC)", "reason", "status"), records,
                  lambda r: (str(r.id), escape(r.visit_label or "-"), r.visit_date.isoformat() if r.visit_date else "-",
                             escape(r.target), escape(r.value), escape(r.author), f"{r.at:%Y-%m-%d %H:%M}",
                             escape(r.reason), escape(status_text(r))),
                  "no reader overrides")


@override_app.command("retract")
def override_retract(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    entry_id: IdOption,
    reason: ReasonOption,
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Mark a reader override "entered in error" (wrong patient or visit): it is never deleted, but kept with who,
    when and why (`fusionwatch override list KEY --all`); the status, grade or verdict no longer stands in
    `fusionwatch followup`, care advice, reports or exports. To correct it, retract it and enter the right one with
    `fusionwatch override add`."""
    retract_entry("override", patient, entry_id, reason, by, db)


def _finding_targets(
    entries: list[tuple[str, str]], made: list, visit: str  # type: ignore[type-arg]
) -> tuple[list[tuple[str, str]], dict[int, str]]:
    """``entries`` with each ``finding:REF`` checked against the visit's findings (``made``: findings then review
    flags) and spelt as the tool spells the ref; with, per entry index, a note for a kind-wide verdict saying it covers
    every finding of the kind. Raises InputError listing the valid refs for an unknown one."""
    from fusionwatch.followup.refs import finding_aliases, finding_refs

    refs = finding_refs(made)
    by_ref = {r.lower(): r for r in refs}
    aliases = finding_aliases(made)  # the long form kind:discriminator of a finding alone of its kind is taken too
    by_alias = {a.lower(): a for a in aliases if a}
    count: dict[str, int] = {}
    for f in made:
        count[f.kind] = count.get(f.kind, 0) + 1
    by_kind = {k.lower(): k for k in count}
    out: list[tuple[str, str]] = []
    notes: dict[int, str] = {}
    for i, (target, value) in enumerate(entries):
        if not target.startswith("finding:"):
            out.append((target, value))
            continue
        asked = target.partition(":")[2]
        if asked.lower() in by_ref:
            out.append((f"finding:{by_ref[asked.lower()]}", value))
        elif asked.lower() in by_alias:
            alias = by_alias[asked.lower()]
            out.append((f"finding:{alias}", value))
            own = [r for a, r in zip(aliases, refs, strict=True) if a == alias]
            if len(own) > 1:
                notes[i] = f" (applies to the {len(own)} findings that read the same: {', '.join(own)})"
        elif asked.lower() in by_kind:
            kind = by_kind[asked.lower()]
            out.append((f"finding:{kind}", value))
            own = [r for f, r in zip(made, refs, strict=True) if f.kind == kind]
            notes[i] = (f" (kind-wide: applies to all {count[kind]} {kind} findings of this visit: {', '.join(own)};"
                        " give one REF to judge one finding)")
        else:
            kinds = sorted(k for k, n in count.items() if n > 1)
            raise InputError(
                f"--finding {asked!r}: no such finding at visit {visit}; its findings (REF): "
                f"{', '.join(refs) or 'none'}"
                + (f"; or a kind for all its findings: {', '.join(kinds)}" if kinds else "") + "."
            )
    return out, notes


FINDING_VERDICTS = ("confirmed", "rejected")
"""What a reader may say of an automatic finding with ``override --finding KIND=VERDICT``."""


@patient_app.command("add")
def patient_add(
    key: Annotated[str, typer.Argument(help="Pseudonymous key (or the key an ingest gave a DICOM patient).")],
    surgery_date: Annotated[str, typer.Option("--surgery-date", help="Date of the index operation YYYY-MM-DD.")],
    approach: Annotated[
        str | None, typer.Option("--approach", help="TLIF, PLIF, ALIF or posterolateral [new patient: TLIF; on record: "
                                 "kept; another is corrected with `patient correct`].")
    ] = None,
    levels: Annotated[
        str | None, typer.Option("--levels", help="Fused segment(s), e.g. L5-S1 or L4-L5,L5-S1 [new patient: L5-S1; "
                                 "on record: kept; others are corrected with `patient correct`].")
    ] = None,
    patient_id: Annotated[str | None, typer.Option("--patient-id", help="DICOM Patient ID to link films to.")] = None,
    db: DbOption = None,
) -> None:
    """Add a patient with the index surgery (existing visits are labelled from its date), or link a Patient ID to one.

    On a patient with a surgery on record a different surgery date, approach or levels is refused: correct them with
    `fusionwatch patient correct KEY --surgery-date D` (or `--approach X --levels L`) `--by A --reason R`, which keeps
    the old values with who, when and why. Without --approach / --levels the record's are kept.
    """
    from fusionwatch.anatomy import Level
    from fusionwatch.records import (
        Approach,
        Patient,
        Surgery,
        check_patient_date,
        check_surgery_date,
        implants_for,
        levels_text,
        parse_approach,
        parse_date,
        parse_levels,
    )

    appr = parse_approach(approach) if approach is not None else None
    segs = parse_levels(levels) if levels is not None else None
    when = parse_date(surgery_date, "--surgery-date")
    today = dt.date.today()
    check_surgery_date(when, what="--surgery-date", today=today)
    store = open_store(db)
    try:
        # not before the birth date on record (from the films' DICOM header); the future bound was checked above.
        # Checked before add_patient: a refused date stores nothing, not even the --patient-id given with it
        born = store.get_patient(key).birth_date if store.has_patient(key) else None
        check_patient_date(when, key=key, birth_date=born, surgery_date=None,
                           today=today + dt.timedelta(days=366), what="--surgery-date")
        stored = store.get_surgery(key) if store.has_patient(key) else None
        if stored is not None and stored.date != when:  # a changed date has an audit: who, when, why, the old date
            raise InputError(
                f"Patient {key!r} has surgery date {stored.date.isoformat()} on record; `patient add` does not "
                f"change it. Correct it with `fusionwatch patient correct {key} --surgery-date {when.isoformat()} "
                "--by NAME --reason WHY` (the old date is kept with who, when and why). Nothing was changed.")
        if stored is not None:  # so do the approach and levels: the implants decide cage subsidence or not
            other = [f"--{name} {new}" for name, old, new in (
                ("approach", stored.approach.value, appr.value if appr else None),
                ("levels", levels_text(stored.levels), levels_text(segs) if segs else None)) if new not in (None, old)]
            if other:
                raise InputError(
                    f"Patient {key!r} has {stored.approach.value} {levels_text(stored.levels)} on record; `patient "
                    f"add` does not change it. Correct it with `fusionwatch patient correct {key} {' '.join(other)} "
                    "--by NAME --reason WHY` (the old values are kept with who, when and why). Nothing was changed.")
        store.add_patient(Patient(key=key, patient_id=patient_id))
        if stored is None:
            appr = appr or Approach.TLIF
            surgery = Surgery(date=when, levels=segs or ((Level.L5, Level.S1),), approach=appr,
                              implants=implants_for(appr))
        else:  # the record as it is: a change of date, approach or levels was refused above
            surgery = stored
        # the baseline film on record before the change: a patient whose films predate baseline recording (a
        # database upgraded to 0005_baseline_changes) has none recorded, and a move below would be taken for the
        # first recording and not be said
        earlier = store.record_baseline(key, cause="the baseline film on record before this surgery record")
        if stored is None:  # a surgery on record is never written again here (Store.set_surgery refuses a change)
            store.set_surgery(key, surgery)
        n = len(store.list_visits(key))
        # a first surgery date decides which film is the early post-operative baseline: the move is recorded and
        # said, and the hardware checks (made against the baseline film at ingest) are made again against it
        moved = store.record_baseline(key, cause=(f"surgery record of {surgery.date.isoformat()} entered"
                                                  if stored is None else "surgery record updated"))
        notes: list[str] = []
        from fusionwatch.ingest import analyse_visits, baseline_note

        if moved is not None or (stored is None and store.list_films(key)):
            notes = ([baseline_note(key, moved)] if moved is not None else []) + analyse_visits(store, [key])
        if earlier is not None:
            notes.insert(0, baseline_note(key, earlier))
    finally:
        store.close()
    shown = ",".join(f"{a.value}-{b.value}" for a, b in surgery.levels)
    console.print(
        f"patient {key}: surgery {surgery.date.isoformat()} {surgery.approach.value} {shown}; {n} visit(s) relabelled",
        highlight=False,
        markup=False,
    )
    for note in notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False, soft_wrap=True)


@patient_app.command("correct")
def patient_correct(
    key: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    by: Annotated[str, typer.Option("--by", "--author", help="Who corrects it (stored with the time).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the recorded value is wrong; required.")],
    birth_date: Annotated[
        str | None, typer.Option("--birth-date", help="The right birth date YYYY-MM-DD.")
    ] = None,
    surgery_date: Annotated[
        str | None, typer.Option("--surgery-date", help="The right date of the index operation YYYY-MM-DD.")
    ] = None,
    approach: Annotated[
        str | None, typer.Option("--approach", help="The right approach of the index operation: TLIF, PLIF, ALIF or "
                                 "posterolateral (the implants follow it: an interbody cage except posterolateral).")
    ] = None,
    levels: Annotated[
        str | None, typer.Option("--levels", help="The right fused segment(s), e.g. L5-S1 or L4-L5,L5-S1 (may go with "
                                 "--approach: one operation note).")
    ] = None,
    visits_change_side: Annotated[
        bool, typer.Option("--visits-change-side", help="Confirm that the visits a --surgery-date correction names "
                           "really are on the other side of the operation (post-operative films become pre-operative "
                           "or the reverse); without it such a correction is refused.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Correct a wrong birth date (typed, or carried in an ingested file's DICOM header), surgery date, or the
    approach and fused levels of the operation.

    The old value is kept with who corrected it, when and why (`fusionwatch patient corrections KEY`). One correction
    per command, each with its own reason: --birth-date, --surgery-date, or --approach and/or --levels (one operation
    note: "an ALIF at L4-S1" is one command). A birth date after the surgery or a visit on record, or in the future,
    is refused. A surgery date must lie from 30 years ago to one year ahead (a planned operation can be rescheduled)
    and not before the birth date; a correction that moves visits to the other side of the operation is refused
    (naming them) unless --visits-change-side is given. After a surgery date correction the visits are relabelled; a
    new approach also changes the implants on record (an interbody cage except posterolateral: it decides whether a
    disc height loss at the fused level is cage subsidence). After a surgery correction a move of the baseline film
    is recorded and said, and the hardware and motion checks are made again."""
    from fusionwatch.records import parse_approach, parse_date, parse_levels

    given = [name for name, value in (("--birth-date", birth_date), ("--surgery-date", surgery_date),
                                      ("--approach/--levels", approach or levels)) if value is not None]
    if len(given) != 1:
        raise InputError("fusionwatch patient correct: give one of --birth-date, --surgery-date, or --approach and/or "
                         "--levels (one correction per command, each with its own reason)"
                         + (f"; got {' and '.join(given)}" if given else "") + ". Nothing was changed.")
    if visits_change_side and surgery_date is None:
        raise InputError("--visits-change-side goes with --surgery-date. Nothing was changed.")
    appr = parse_approach(approach) if approach is not None else None
    segs = parse_levels(levels) if levels is not None else None
    store = open_store(db)
    notes: list[str] = []
    try:
        if birth_date is not None:
            recs = [store.correct_birth_date(key, parse_date(birth_date, "--birth-date"), by=by, reason=reason)]
        elif surgery_date is not None:
            from fusionwatch.ingest import correct_surgery_date

            rec, notes = correct_surgery_date(store, key, parse_date(surgery_date, "--surgery-date"), by=by,
                                              reason=reason, visits_change_side=visits_change_side)
            recs = [rec]
        else:
            from fusionwatch.ingest import correct_surgery

            recs, notes = correct_surgery(store, key, approach=appr, levels=segs, by=by, reason=reason)
    finally:
        store.close()
    for rec in recs:
        what = rec.field.replace("_", " ")
        console.print(f"corrected the {what} of patient {key}: {rec.old_value or 'none recorded'} -> {rec.new_value} "
                      f"by {rec.by}: {rec.reason}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"The old value is kept for the audit (`fusionwatch patient corrections {key}`).", highlight=False,
                  markup=False, soft_wrap=True)
    for note in notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False, soft_wrap=True)


@patient_app.command("corrections")
def patient_corrections(
    key: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    db: DbOption = None,
) -> None:
    """List the corrections of a patient's record (old and new value, who, when, why): the audit. Shows identifiers
    (the birth date): for the clinic's own use."""
    store = open_store(db)
    try:
        records = store.list_patient_corrections(key)
    finally:
        store.close()
    if not records:
        console.print(f"no corrections for {escape(key)}", highlight=False)
        return
    # four columns, each cell on several lines, so that 80 columns hold it with the reason in words: seven columns
    # (id, field, old, new, by, at, reason) left 'by' and 'reason' 4 characters wide there, folded letter by letter.
    # Ids, fields and dates are never cut in two; a long name or reason folds in its own column
    table = Table(title=f"Corrections of {escape(key)} (oldest first)")
    table.add_column("id", no_wrap=True)
    table.add_column("what", no_wrap=True)
    table.add_column("by, at (UTC)", min_width=16, overflow="fold")
    table.add_column("reason", overflow="fold", ratio=1)
    def value(v: str | None) -> str:  # a list (implants) one item a line: the column is never cut
        return escape(",\n    ".join((v or "none").split(",")) if len(v or "") > 20 else (v or "none"))

    for r in records:
        table.add_row(str(r.id),
                      f"{escape(r.field.replace('_', ' '))}\nwas {value(r.old_value)}\nnow {value(r.new_value)}",
                      f"{escape(r.by)}\n{r.at:%Y-%m-%d %H:%M}", escape(r.reason))
    console.print(table)


@patient_app.command("list")
def patient_list(
    without_surgery: Annotated[
        bool, typer.Option("--without-surgery", help="Only the patients with no surgery on record (those a "
                           "de-identified cohort export leaves out; record it with `patient add KEY --surgery-date "
                           "D`).")
    ] = False,
    db: DbOption = None,
) -> None:
    """List patients by pseudonymous key with surgery, visits and films (no identifiers)."""
    store = open_store(db)
    try:
        keys = store.list_patients(without_surgery=without_surgery)
        if without_surgery and not keys:
            console.print("every patient has a surgery on record", highlight=False)
            return
        table = Table(title="Patients without a surgery on record" if without_surgery else "Patients")
        for col in ("key", "surgery", "approach", "visits", "films", "last visit"):
            table.add_column(col)
        for key in keys:
            surgery = store.get_surgery(key)
            visits = store.list_visits(key)
            table.add_row(
                escape(key),
                surgery.date.isoformat() if surgery else "-",
                surgery.approach.value if surgery else "-",
                str(len(visits)),
                str(len(store.list_films(key))),
                visits[-1].label if visits else "-",
            )
    finally:
        store.close()
    console.print(table)
