"""CLI: ``fusionwatch care``, ``prom add|list|retract``, ``symptoms add|list|retract``, ``report`` (adapter; rules live
in care/, report/ and the store)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fusionwatch.cli._app import DbOption, app, console, err_console, escape, open_store, optional_date
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

__all__ = ["prom_app", "symptoms_app"]

TodayOption = Annotated[str | None, typer.Option("--today", help="Date to compute the schedule for (YYYY-MM-DD).")]
ProtocolOption = Annotated[
    Path | None, typer.Option("--protocol", help="Care protocol YAML [default: the shipped example protocol].")
]

prom_app = typer.Typer(help="Patient-reported outcomes (Oswestry Disability Index, pain 0-10).", no_args_is_help=True)
symptoms_app = typer.Typer(help="Symptom reports and red-flag triage.", no_args_is_help=True)
app.add_typer(prom_app, name="prom")
app.add_typer(symptoms_app, name="symptoms")

def _answered_on(text: str | None, what: str) -> dt.date:
    """The date a patient answered or reported (default today); a date after today is refused, never stored."""
    today = dt.date.today()
    when = optional_date(text, what) or today
    if when > today:
        raise InputError(f"{what}: {when.isoformat()} is in the future (today is {today.isoformat()}); give the date "
                         "the patient answered or reported.")
    return when


def _check_answer_date(store, patient: str, when: dt.date, what: str = "--date") -> dt.date | None:  # type: ignore[no-untyped-def]
    """Refuse, before anything is stored, a date that cannot be this patient's (the store's rule,
    :func:`fusionwatch.records.check_patient_date`: the future, before the birth date, more than 30 years from the
    surgery), the last told in words: before, ``--date 1990-01-01`` read "Date 1990-01-01 is -12935 days from the
    surgery". Returns the surgery date on record (``None`` without one)."""
    from fusionwatch.care.schedule import day_words
    from fusionwatch.records import days_between

    born = store.get_patient(patient).birth_date  # an unknown patient: the store's InputError
    surgery = store.get_surgery(patient)
    if surgery is not None and (born is None or when >= born):  # before birth: the store's own, clearer message
        try:
            days_between(surgery.date, when)
        except InputError:
            raise InputError(
                f"{what} {when.isoformat()} is {day_words((when - surgery.date).days)} (the surgery on record for "
                f"{patient!r} is {surgery.date.isoformat()}): more than 30 years from it, impossible for this record; "
                "check the date, or whether this is another patient's record. Nothing was recorded.") from None
    store.check_patient_date(patient, when, what=what)
    return surgery.date if surgery is not None else None


_URGENCY_STYLE = {"emergency": "bold white on red", "urgent": "bold red", "routine": "cyan"}


def _reported(on: dt.date, today: dt.date, surgery: dt.date | None) -> str:
    """When a flag was reported, as a nurse or surgeon needs it beside an urgent line: the date, how long ago, and
    whether it was before the operation (a pre-operative deficit may be why the patient was operated on)."""
    days = (today - on).days
    ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
    before = ", before the operation" if surgery is not None and on < surgery else ""
    return f" (reported {on.isoformat()}, {ago}{before})"


def _print_flags(flags, today: dt.date, surgery: dt.date | None = None) -> None:  # type: ignore[no-untyped-def]
    """The red flags as of ``today``, split as the reports split them (:func:`fusionwatch.care.triage.
    red_flag_is_recent`, :data:`~fusionwatch.care.triage.RED_FLAG_RECENT_DAYS`): those reported in the last days to
    escalate now, then the earlier ones, never dropped, to ask about (before, one table put a fever reported three
    weeks ago beside this morning's call)."""
    from fusionwatch.care.triage import RED_FLAG_RECENT_DAYS, flag_action, split_red_flags

    recent, earlier = split_red_flags(flags, today)
    days = f"{RED_FLAG_RECENT_DAYS} day{'s' if RED_FLAG_RECENT_DAYS != 1 else ''}"
    for group, title, still in (
        (recent, f"[bold red]RED FLAGS[/] reported in the last {days}: escalate now", False),
        (earlier, f"[bold yellow]EARLIER RED FLAGS[/] reported more than {days} ago (kept, never dropped): ask whether "
                  "still present", True),
    ):
        if not group:
            continue
        table = Table(title=title, title_justify="left", show_lines=False)
        for col in ("urgency", "symptom", "why", "patient action"):
            table.add_column(col, overflow="fold")  # a narrow terminal wraps a name, never cuts it
        for f in group:
            when = _reported(f.reported_on, today, surgery) if f.reported_on else ""
            action = flag_action(f, earlier=still)
            table.add_row(f"[{_URGENCY_STYLE[f.urgency.value]}]{f.urgency.value.upper()}[/]", f.symptom.value + when,
                          f.reason, action)
        console.print(table)


def _check_ics(ics: Path | None) -> None:
    """Refuse an --ics that cannot be written before anything is printed (before, the whole schedule was printed and
    then 'cannot use ...: Is a directory')."""
    if ics is None:
        return
    if ics.is_dir():
        raise InputError(f"--ics {ics} is a folder; give the calendar file's name (e.g. {ics / 'care.ics'}).")
    if not ics.parent.is_dir():
        raise InputError(f"cannot use {ics}: the folder {ics.parent} does not exist; check the path and its "
                         "permissions.")
    if not os.access(ics.parent, os.W_OK) or (ics.exists() and not os.access(ics, os.W_OK)):
        raise InputError(f"cannot use {ics}: Permission denied; check the path and its permissions.")


@app.command()
def care(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    ics: Annotated[Path | None, typer.Option("--ics", help="Also write the schedule as an iCalendar file.")] = None,
    protocol: ProtocolOption = None,
    today: TodayOption = None,
    db: DbOption = None,
) -> None:
    """Print the care schedule (due / done / overdue) and today's advice, red flags first.

    The advice follows the fusion status (the reader's when recorded, else the automatic one) and findings of the
    latest visit with films, as the reports do; lines meant only for a patient whose fusion is on track are listed
    as held back, with the reason.
    """
    from fusionwatch.care.protocol import load_protocol
    from fusionwatch.care.schedule import build_schedule, day_words, to_ics
    from fusionwatch.followup.evidence import fusion_evidence, latest_film_visit
    from fusionwatch.report.build import red_flag_window, red_flags_for, symptom_notes_for

    proto = load_protocol(protocol)
    day0 = optional_date(today, "--today") or dt.date.today()
    _check_ics(ics)
    store = open_store(db)
    try:
        surgery = store.get_surgery(patient)
        if surgery is None:
            raise InputError(f"Patient {patient!r} has no surgery on record; add it with `fusionwatch patient add`.")
        timeline = store.load_timeline(patient)
        records = store.list_symptoms(patient)
    finally:
        store.close()
    symptoms = [(r.visit_date, tuple(r.symptoms)) for r in records]
    film_dates = [v.date for v in timeline.visits if v.films]
    # red flags first: the window of the report on the latest visit with films as of day0 (one rule,
    # report.build.red_flag_window); before any films, every report up to day0
    latest = latest_film_visit(timeline, on=day0)
    window = red_flag_window(timeline, latest, day0) if latest is not None else (None, day0)
    _print_flags(red_flags_for(symptoms, *window), day0, surgery.date)
    for when, note in symptom_notes_for(records, *window):  # the notes written with those reports
        console.print(f"[bold]Note[/] (symptom report {when.isoformat()}): {escape(note)}", highlight=False,
                      soft_wrap=True)
    s = build_schedule(surgery.date, [v.date for v in timeline.visits], imaging_visits=film_dates, today=day0,
                       protocol=proto)
    console.print(f"[bold]{escape(patient)}[/]  surgery {surgery.date.isoformat()}  {day_words(s.day)}  "
                  f"({escape(proto.name)})", highlight=False, soft_wrap=True)
    if proto.is_example:
        console.print("[yellow]Example protocol: replace it with your care team's (--protocol FILE).[/]")
    table = Table(show_header=True, header_style="bold")
    for col in ("visit", "due", "window", "films", "status"):
        table.add_column(col, overflow="fold")
    colour = {"done": "green", "due": "yellow", "overdue": "bold red", "missed": "dim", "upcoming": "white"}
    for i in s.items:
        done = f" {i.done_on.isoformat()}" if i.done_on else ""
        table.add_row(i.visit.label, i.due_date.isoformat(), f"{i.window_start} - {i.window_end}", i.imaging_text,
                      f"[{colour[i.status.value]}]{i.status.value}{done}[/]")
    console.print(table)
    off = s.off_window_visits(film_dates)
    if off:
        # named as `followup` names them (the nearest planned visit) and how far outside its window: a 12-month film
        # taken at day 300 leaves the 12-month visit open above (the care team decides whether it replaces it)
        console.print("[bold]Outside its planned window[/] (named by the nearest planned visit, as in `followup`; "
                      "counted as done for no visit above): " + "; ".join(o.text for o in off),
                      highlight=False, soft_wrap=True)
    named = {o.date for o in off}
    if any(d not in named for d in s.unmatched_visits):
        # listed, never dropped (the immediate post-operative days are no planned visit of the protocol)
        films = set(film_dates)
        extra = ", ".join(f"{d.isoformat()} (day {(d - surgery.date).days}, {'films' if d in films else 'no films'})"
                          for d in s.unmatched_visits if d not in named)
        console.print(f"[bold]On record outside every planned window[/] (counted for no visit above): {extra}",
                      highlight=False, soft_wrap=True)
    ev = fusion_evidence(timeline, on=day0)
    advice = s.advice(ev.status if ev else None, ev.findings if ev else (),
                      status_confirmed=ev is not None and ev.source == "reader")
    _print_advice(ev, advice, s, surgery.date)
    if ics is not None:
        ics.write_bytes(to_ics(s, patient_key=patient))
        console.print(f"calendar written: {ics}", highlight=False, soft_wrap=True, markup=False)


def _print_advice(ev, advice, schedule, surgery: dt.date) -> None:  # type: ignore[no-untyped-def]
    """The advice as the clinician report gives it: what it follows, the lines, and what is held back and why."""
    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    if advice.day < 0:
        return
    if ev is None:
        say("[bold]Advice follows:[/] no visit on record: fusion not assessed.")
    elif ev.visit.date < surgery or (not ev.visit.films and ev.status is None):
        # a pre-operative visit or a contact without films (a questionnaire, a phoned-in symptom) says nothing about
        # the fusion: 'Advice follows: pre-op (...)' read as if the advice after surgery rested on it
        say("[bold]Advice follows:[/] no post-operative films yet: fusion not assessed.")
    else:
        from fusionwatch.report.labels import acted_status_label

        v = ev.visit
        # worded as the reports, `followup`, visits.csv and FHIR word it (a fused status on motion alone says so)
        status = acted_status_label(ev.status, ev.source, v)
        who = {"reader": f"reader's status ({escape(ev.reader_override.author)})" if ev.reader_override
               else "reader's status",
               "automatic": "automatic status", "none": "status"}[ev.source]
        counts: dict[str, int] = {}
        for f in ev.findings:
            if f.severity.rank > 0:  # watch and above; review flags (info) are the report's
                name = f"{f.kind.replace('_', ' ')} ({f.severity.value})"
                counts[name] = counts.get(name, 0) + 1
        kinds = ", ".join(n if c == 1 else f"{n} x{c}" for n, c in counts.items()) or "none"
        say(f"[bold]Advice follows:[/] {v.label} ({v.date.isoformat()}), {who}: {status}; findings: {kinds}")
    ph = advice.restriction_phase
    if ph is not None or advice.restrictions:
        say(f"[bold]Restrictions now:[/] {escape(ph.label) if ph else ''}")
        for r in advice.restrictions:
            say(f"  - {escape(r.clinician)}")
    if advice.withheld or advice.therapy_withheld:
        from fusionwatch.report.labels import concern_reason_texts

        unconfirmed = [r.unconfirmed_text for r in advice.concern_reasons if r.unconfirmed_text]
        others = replace(advice, concern_reasons=tuple(r for r in advice.concern_reasons if not r.unconfirmed_text))
        why = "; ".join([*concern_reason_texts(others), *unconfirmed]) or "fusion not on track"
        rule = "once a reader has confirmed fusion on track" if unconfirmed else "while fusion is on track"
        say(f"[bold yellow]Held back[/] (said only {rule}; now: {escape(why)}):")
        for r in advice.withheld:
            say(f"  - {escape(r.clinician)}")
        if advice.therapy_withheld and advice.therapy_phase is not None:
            say(f"  - physical therapy phase {escape(advice.therapy_phase.label)}: "
                + escape("; ".join(advice.therapy_phase.goals)))
    tp = advice.therapy_phase
    if tp is not None and advice.therapy_goals:
        name = "instead of " + tp.label if advice.therapy_withheld else tp.label
        say(f"[bold]Physical therapy:[/] {escape(name)}: " + escape("; ".join(advice.therapy_goals)))
        if advice.example_exercises:
            say("  example exercises (as the patient is told them): " + escape("; ".join(advice.example_exercises)))
    for n in advice.medication_notes:
        say(f"[bold]Medication:[/] {escape(n.clinician)}")
    for n in schedule.medication_notes:
        if n not in advice.medication_notes:
            say(f"[bold yellow]Medication held back[/] (only while fusion is on track): {escape(n.clinician)}")


@prom_app.command("add")
def prom_add(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    odi: Annotated[str | None, typer.Option("--odi", help="10 ODI answers 0-5, comma-separated; '-' = blank.")] = None,
    # text, checked by care.proms.check_nrs: a wrong value is an `error:` line, not the option parser's usage box
    back_pain: Annotated[str | None, typer.Option("--back-pain", help="Back pain 0-10 (whole number).")] = None,
    leg_pain: Annotated[str | None, typer.Option("--leg-pain", help="Leg pain 0-10 (whole number).")] = None,
    date: Annotated[str | None, typer.Option("--date", help="Date answered (YYYY-MM-DD) [default: today].")] = None,
    db: DbOption = None,
) -> None:
    """Record an Oswestry Disability Index and/or pain scores; prints the score, band and change vs pre-op."""
    from fusionwatch.care.proms import PromRecord, check_nrs, parse_odi, prom_entry_lines
    from fusionwatch.report.build import proms_from_store

    when = _answered_on(date, "--date")
    answers = parse_odi(odi) if odi is not None else None
    bp = check_nrs(back_pain, "back pain") if back_pain is not None else None
    lp = check_nrs(leg_pain, "leg pain") if leg_pain is not None else None
    rec = PromRecord(when, answers, bp, lp)  # validates, including the ODI blank-section rule
    store = open_store(db)
    try:
        _check_answer_date(store, patient, when)  # before anything is stored
        stored = store.add_prom(patient, when, odi_answers=answers, back_pain_nrs=bp, leg_pain_nrs=lp)
        surgery = store.get_surgery(patient)
        history = proms_from_store(store, patient)
    finally:
        store.close()
    # the score, the pre-operative baseline and the change vs it (MCID, Glassman's SCB, the interim rule): care's words
    for line in prom_entry_lines(history, rec, surgery.date if surgery is not None else None):
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"recorded as PROM entry {stored.id} (a mistake: `fusionwatch prom retract`)", highlight=False,
                  soft_wrap=True)


@prom_app.command("list")
def prom_list(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    show_all: AllOption = False,
    db: DbOption = None,
) -> None:
    """List the patient's PROM entries with their ids (the id `fusionwatch prom retract` takes)."""
    from fusionwatch.care.proms import score_odi

    store = open_store(db)
    try:
        records = store.list_proms(patient, include_retracted=show_all)
    finally:
        store.close()

    def odi(answers) -> str:  # type: ignore[no-untyped-def]
        if answers is None:
            return "-"
        try:
            return f"{score_odi(answers).score:.1f} %"
        except InputError:  # too many blank sections to score (stored through the API, not `prom add`)
            return "not scored"

    def nrs(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    print_entries("PROM entries", patient, show_all,
                  ("id", "date", "visit", "ODI", "back pain", "leg pain", "recorded (UTC)", "status"), records,
                  lambda r: (str(r.id), r.visit_date.isoformat(), escape(r.visit_label), odi(r.odi_answers),
                             nrs(r.back_pain_nrs), nrs(r.leg_pain_nrs), f"{r.recorded_at:%Y-%m-%d %H:%M}",
                             escape(status_text(r))),
                  "no PROM entries")


@prom_app.command("retract")
def prom_retract(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    entry_id: IdOption,
    reason: ReasonOption,
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Mark a PROM entry "entered in error" (wrong patient, wrong date, wrong answers): it is never deleted, but kept
    with who, when and why (`fusionwatch prom list KEY --all`) and left out of reports, care advice, trends and
    exports. To correct an entry, retract it and add the right one with `fusionwatch prom add`."""
    retract_entry("prom", patient, entry_id, reason, by, db)


@symptoms_app.command("add")
def symptoms_add(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    flag: Annotated[
        list[str] | None, typer.Option("--flag", help="A checklist symptom (repeatable), e.g. fever.")
    ] = None,
    temperature: Annotated[
        str | None,
        typer.Option("--temperature", help="Body temperature as reported, e.g. 38.4C or 101.1F (over 38 C / 100.4 F "
                                           "adds the fever flag)."),
    ] = None,
    date: Annotated[str | None, typer.Option("--date", help="Date reported (YYYY-MM-DD) [default: today].")] = None,
    note: Annotated[str, typer.Option("--note", help="Free-text note (not triaged).")] = "",
    db: DbOption = None,
) -> None:
    """Record a symptom report and print its triage: emergency / urgent / routine, most urgent first.

    A temperature (--temperature, Celsius or Fahrenheit) over 38 C (100.4 F) adds the fever flag; it is kept with the
    report (in its note, shown to clinicians) in both units. One at or below it adds none, and never removes a fever
    flag given with --flag."""
    from fusionwatch.care.triage import Symptom, fever_limit_words, fever_setting_words, symptom_report, triage

    when = _answered_on(date, "--date")
    if not flag and temperature is None:
        raise InputError("Give at least one --flag (a checklist symptom) or --temperature; nothing was recorded.")
    # the fever rule is the core's (care.triage.symptom_report: flags + temperature -> stored symptoms, note, details),
    # the same for a web form or a feed; an unknown flag: InputError naming it and listing the accepted ones
    report = symptom_report(flag or [], temperature, note)
    symptoms, temp = report.symptoms, report.temperature
    store = open_store(db)
    try:
        surgery_date = _check_answer_date(store, patient, when)  # before anything is stored
        stored = store.add_symptoms(patient, when, report.codes, note=report.note, details=report.details)
    finally:
        store.close()
    if temp is not None:
        limit = fever_limit_words(temp.fever_over_c)
        console.print(f"temperature {temp.words}: " + (f"over {limit}: fever flagged" if temp.is_fever else
                      f"not over {limit}" + ("; the fever flag given is kept" if Symptom.FEVER in symptoms else
                                             ": no fever flag")), highlight=False, soft_wrap=True)
        # which value was applied, and the CLINICAL.md figure that was not (never a silent contradiction)
        console.print(f"({fever_setting_words(temp.fever_over_c)})", highlight=False, soft_wrap=True)
    if surgery_date is not None and when < surgery_date:
        from fusionwatch.care.schedule import day_words

        console.print(f"reported {day_words((when - surgery_date).days)} ({surgery_date.isoformat()})",
                      highlight=False, soft_wrap=True)
    results = tuple(replace(r, reported_on=when) for r in triage(symptoms))
    _print_flags(results, dt.date.today(), surgery_date)
    for r in results:
        if not r.is_red_flag:
            console.print(f"[cyan]routine[/] {r.symptom.value}: {r.reason}", highlight=False, soft_wrap=True)
    console.print(f"recorded as symptom report {stored.id} (a mistake: `fusionwatch symptoms retract`)",
                  highlight=False, soft_wrap=True)


@symptoms_app.command("list")
def symptoms_list(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    show_all: AllOption = False,
    db: DbOption = None,
) -> None:
    """List the patient's symptom reports with their ids (the id `fusionwatch symptoms retract` takes)."""
    store = open_store(db)
    try:
        records = store.list_symptoms(patient, include_retracted=show_all)
    finally:
        store.close()
    print_entries("Symptom reports", patient, show_all,
                  ("id", "date", "visit", "symptoms", "note", "recorded (UTC)", "status"), records,
                  lambda r: (str(r.id), r.visit_date.isoformat(), escape(r.visit_label), escape(", ".join(r.symptoms)),
                             escape(r.note), f"{r.recorded_at:%Y-%m-%d %H:%M}", escape(status_text(r))),
                  "no symptom reports")


@symptoms_app.command("retract")
def symptoms_retract(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    entry_id: IdOption,
    reason: ReasonOption,
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Mark a symptom report "entered in error": it is never deleted, but kept with who, when and why
    (`fusionwatch symptoms list KEY --all`); a retracted red flag no longer escalates in `fusionwatch care`, reports
    or exports. To correct a report, retract it and add the right one with `fusionwatch symptoms add`."""
    retract_entry("symptoms", patient, entry_id, reason, by, db)


@app.command()
def report(
    patient: Annotated[str, typer.Argument(help="The patient's pseudonymous key.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    visit: Annotated[
        str | None,
        typer.Option("--visit", help="Visit number (1 = first), label or date YYYY-MM-DD [default: latest with films]"),
    ] = None,
    deidentify: Annotated[
        bool, typer.Option("--deidentify", help="Remove names/ids, shift dates (surgery = 2000-01-01), "
                                                  "write the patient key as its site pseudonym (FW-..., a keyed hash "
                                                  "with the secret in FUSIONWATCH_DEID_SECRET or the file "
                                                  "<database>.deid-secret; stable across exports).")
    ] = False,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="HTML only (faster).")] = False,
    protocol: ProtocolOption = None,
    today: TodayOption = None,
    db: DbOption = None,
) -> None:
    """Write the clinician and patient reports (HTML, PDF) and the exports (DICOM SR + SC, FHIR, CSV/Parquet, .ics)."""
    from fusionwatch.care.protocol import load_protocol
    from fusionwatch.report.build import write_patient_outputs

    proto = load_protocol(protocol)
    store = open_store(db)
    try:
        result = write_patient_outputs(store, patient, out, visit=visit, deidentify=deidentify,
                                       today=optional_date(today, "--today"), protocol=proto, pdf=not no_pdf)
    finally:
        store.close()
    for name, path in result.files.items():
        console.print(f"{name:15s} {path}", highlight=False, soft_wrap=True, markup=False)
    for n in result.notes:
        err_console.print(f"[yellow]note[/] {escape(n)}", highlight=False, soft_wrap=True)
