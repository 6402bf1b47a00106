"""Everything ``fusionwatch report`` writes for one patient and one visit, from the store.

An adapter: it reads the store (timeline, PROMs, symptom reports, films and landmarks), draws the annotated films with
:mod:`fusionwatch.report.overlay`, builds :class:`~fusionwatch.report.model.ReportData` and writes the reports and the
structured exports. No clinical rule lives here.

Which visit: ``--visit N`` (1-based, date order, all visits including PROM- or symptom-only contacts) or a label;
default the latest visit with films on or before ``--today``, else the latest visit on or before it (never a later one:
a report as of a day does not describe a visit after it). The care schedule and advice are those of the day of the
report for the latest visit with films, and those of the visit's own date for an earlier one (the next appointments and
restrictions the patient had then; later visits are not counted as done). Which symptom reports count as its red flags:
every report dated after the previous visit with films and up to this visit; for the latest visit with films, every
report after the previous one up to today (a symptom reported after the last films is never left out; one dated after
today is not yet reported). Older reports stay in the store and in earlier visits' reports.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from fusionwatch.care.proms import PromRecord
from fusionwatch.care.protocol import Protocol
from fusionwatch.care.schedule import build_schedule
from fusionwatch.care.triage import Symptom, TriageResult, triage
from fusionwatch.errors import FusionwatchError, InputError
from fusionwatch.followup.evidence import latest_film_visit
from fusionwatch.records import parse_date
from fusionwatch.report.model import ReportData, report_data_from_timeline
from fusionwatch.report.render import write_reports
from fusionwatch.units import SpacingSource

__all__ = ["ReportOutput", "proms_from_store", "red_flags_for", "symptom_notes_for", "red_flag_window",
           "default_report_visit", "tool_review_reasons", "verdict_gone_why",
           "build_report_data", "film_labels", "write_patient_outputs", "cohort_visit_rows",
           "write_cohort_visits"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass
class ReportOutput:
    """Paths written by :func:`write_patient_outputs` (``None`` when an output could not be made) and notes why."""

    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def proms_from_store(store: Any, key: str) -> tuple[PromRecord, ...]:
    """The patient's PROM records as :class:`fusionwatch.care.proms.PromRecord` (NRS rounded to whole numbers).

    Raises
    ------
    InputError
        A stored entry the questionnaire rules refuse (one stored through the store's API with more blank ODI sections
        than a score allows, ...): named by its id, date and visit, with the command that retracts it. Before, the
        report failed with the rule's message alone ("ODI needs at least ... answered sections"), naming no entry.
    """
    def nrs(v: float | None) -> int | None:
        return None if v is None else int(round(v))

    out = []
    for r in store.list_proms(key):
        if r.odi_answers is None and r.back_pain_nrs is None and r.leg_pain_nrs is None:
            continue
        try:
            out.append(PromRecord(r.visit_date, tuple(r.odi_answers) if r.odi_answers else None,
                                  nrs(r.back_pain_nrs), nrs(r.leg_pain_nrs)))
        except FusionwatchError as exc:
            raise InputError(
                f"PROM entry {r.id} of {r.visit_date.isoformat()} ({r.visit_label}) cannot be used: {exc} If it was "
                f"entered in error, retract it (`fusionwatch prom retract {key} --id {r.id} --reason TEXT --by NAME`) "
                "and add the right answers with `fusionwatch prom add`; `fusionwatch prom list` shows the entries."
            ) from None
    return tuple(sorted(out, key=lambda p: p.date))


def red_flags_for(reports: list[tuple[dt.date, tuple[str, ...]]], after: dt.date | None,
                  until: dt.date | None) -> tuple[TriageResult, ...]:
    """Triage the symptoms reported in ``(after, until]`` (either end open when ``None``).

    Codes that are not on the checklist cannot be triaged; how many is logged, never the code itself
    (``fusionwatch symptoms add`` only stores checklist codes, but one stored through the API can be any text: a name,
    a date).
    """
    codes: list[Symptom] = []
    newest: dict[Symptom, dt.date] = {}
    known = {s.value for s in Symptom}
    unknown = 0
    for when, symptoms in _in_window(reports, lambda r: r[0], after, until):
        for c in symptoms:
            if c in known:
                codes.append(Symptom(c))
                newest[Symptom(c)] = max(when, newest.get(Symptom(c), when))
            else:
                unknown += 1
    if unknown:
        log.warning("%d stored symptom code(s) not on the triage checklist; not triaged", unknown)
    return tuple(replace(r, reported_on=newest.get(r.symptom)) for r in triage(codes))


def symptom_notes_for(records: Any, after: dt.date | None, until: dt.date | None) -> tuple[tuple[dt.date, str], ...]:
    """``(date, note)`` of the symptom reports (store ``SymptomRecord``-like: ``visit_date``, ``note``) in
    ``(after, until]`` that carry a free-text note, in date order: the same window as :func:`red_flags_for`, so a note
    is shown with the flags it was written with."""
    dated = _in_window(records, lambda r: r.visit_date, after, until)
    return tuple(sorted((r.visit_date, r.note.strip()) for r in dated if r.note and r.note.strip()))


def _in_window(items: Iterable[_T], date_of: Callable[[_T], dt.date], after: dt.date | None,
               until: dt.date | None) -> list[_T]:
    """The ``items`` dated (``date_of``) in ``(after, until]``, either end open when ``None``: the red-flag window of
    a report, one rule for the flags (:func:`red_flags_for`) and the notes written with them
    (:func:`symptom_notes_for`)."""
    return [x for x in items if (after is None or date_of(x) > after) and (until is None or date_of(x) <= until)]


def red_flag_window(
    timeline: Any, visit: int, today: dt.date | None = None
) -> tuple[dt.date | None, dt.date | None]:
    """``(after, until)`` for :func:`red_flags_for`: the symptom reports that are the red flags of the report on
    ``timeline.visits[visit]`` (module docstring): dated after the previous visit with films (open when none), up to
    this visit when a later visit with films has taken place by ``today`` (any later one when ``today`` is ``None``),
    else up to ``today`` (no end when ``None``): the latest visit with films as of ``today`` (films dated after it have
    not happened yet, as :func:`build_report_data` treats them), so a symptom reported since that visit is never left
    out, and one dated after ``today`` has not been reported yet. ``fusionwatch care`` uses this rule too."""
    with_films = [i for i, v in enumerate(timeline.visits) if v.films]
    earlier = [i for i in with_films if i < visit]
    later = [i for i in with_films if i > visit and (today is None or timeline.visits[i].date <= today)]
    after = timeline.visits[earlier[-1]].date if earlier else None
    return after, (timeline.visits[visit].date if later else today)


def default_report_visit(timeline: Any, today: dt.date | None = None) -> int:
    """Index of the visit a report is about when none is asked for: the latest visit with films up to ``today``, else
    the latest visit up to ``today`` (as ``fusionwatch care`` and :func:`fusionwatch.followup.evidence.fusion_evidence`
    choose): a report as of ``today`` never describes a later visit.

    Raises
    ------
    InputError
        No visit on or before ``today`` (``None``: any date), naming the first visit's date.
    """
    latest = latest_film_visit(timeline, on=today)
    if latest is not None:
        return latest
    before = [i for i, v in enumerate(timeline.visits) if today is None or v.date <= today]
    if not before:
        first = f"the first is on {timeline.visits[0].date.isoformat()}" if timeline.visits else "there is none"
        raise InputError(f"No visit on or before {today} (the report's today): {first}; give a later --today, or "
                         "the visit with --visit.")
    return before[-1]


def build_report_data(store: Any, key: str, *, visit: int | str | dt.date | None = None, today: dt.date | None = None,
                      protocol: Protocol | None = None, film_dir: Path | None = None) -> ReportData:
    """:class:`ReportData` for one visit of a stored patient.

    Parameters
    ----------
    visit : int | str | None
        1-based visit number in date order (as ``fusionwatch followup`` lists them), a visit label or a visit date
        (``YYYY-MM-DD``, also as a ``date``); default the latest visit.
    film_dir : Path, optional
        Where to draw the annotated films of the current and baseline visits (PNG); none are drawn when ``None``.
    """
    today = today or dt.date.today()
    timeline = store.load_timeline(key)
    if not timeline.visits:
        raise InputError(f"Patient {key!r} has no visits on record: nothing to report.")
    index: int | str | dt.date | None
    if isinstance(visit, str) and visit.isdigit():
        visit = int(visit)
    elif isinstance(visit, str) and len(visit) == 10 and visit[4] == "-" and visit[7] == "-" and visit[:4].isdigit():
        visit = parse_date(visit, "--visit")  # a date, as `fusionwatch override` takes it
    if isinstance(visit, int):
        if not 1 <= visit <= len(timeline.visits):
            raise InputError(f"Visit {visit} does not exist: the patient has visits 1-{len(timeline.visits)}.")
        index = visit - 1
    else:
        index = visit
    patient = store.get_patient(key)
    proms = proms_from_store(store, key)
    records = store.list_symptoms(key)
    reports = [(r.visit_date, tuple(r.symptoms)) for r in records]
    with_films = [i for i, v in enumerate(timeline.visits) if v.films]
    if index is None:
        cur = default_report_visit(timeline, today)
    elif isinstance(index, int):
        cur = index
    else:  # a label: the store's rule, as `fusionwatch override` uses it (an ambiguous label is refused)
        when = store.visit_date(key, index)
        cur = next(i for i, v in enumerate(timeline.visits) if v.date == when)
    later = [i for i in with_films if i > cur]
    window = red_flag_window(timeline, cur, today)
    flags = red_flags_for(reports, *window)
    notes = symptom_notes_for(records, *window)
    films = {f.film_id: f for f in store.list_films(key)}
    spacing = {fid: (SpacingSource(f.spacing_source) if f.spacing_source else None) for fid, f in films.items()}
    pngs: dict[str, Path] = {}
    if film_dir is not None:
        wanted = [timeline.visits[cur]] + [v for v in timeline.visits if v.is_baseline]
        for v in wanted:
            if v.lateral_film and v.lateral_film in films:
                png = _draw_film(store, films[v.lateral_film], film_dir / f"film-{_safe(v.label)}.png")
                if png is not None:
                    pngs[v.lateral_film] = png
    # the care schedule and advice as of the visit reported on: for an earlier visit (films came later) its own date,
    # so its report gives the restrictions and next appointments of that day, not those of today
    # (films dated after `today` have not happened yet on that day: the report is then the latest one, as of today)
    superseded = any(timeline.visits[i].date <= today for i in later)
    as_of = min(today, timeline.visits[cur].date) if superseded else today
    schedule = None
    if timeline.surgery is not None:
        schedule = build_schedule(timeline.surgery.date, [v.date for v in timeline.visits],
                                  imaging_visits=[v.date for v in timeline.visits if v.films], today=as_of,
                                  protocol=protocol)
    data = report_data_from_timeline(
        timeline, visit=cur, red_flags=flags, symptom_notes=notes, proms=proms, schedule=schedule, film_pngs=pngs,
        spacing_sources=spacing, patient_name=patient.name, patient_id=patient.patient_id,
        birth_date=patient.birth_date, today=today, film_labels=film_labels(films.values()),
    )
    gone = verdict_gone_why(store, key, data, films)
    visits = tuple(replace(v, verdict_gone_why=gone[i]) if i in gone else v for i, v in enumerate(data.visits))
    # red flags are recent or earlier reports as of the day the report speaks of (model.RED_FLAG_RECENT_DAYS)
    return replace(data, visits=visits, tool_review=tool_review_reasons(store, timeline, films), red_flags_as_of=as_of)


_CORRECTED_FIELDS = {"surgery_date": "surgery date", "approach": "approach", "levels": "fused levels",
                     "implants": "implants"}
"""Patient-record corrections that change what the tool compares (``patient correct``), by their audit field."""


def verdict_gone_why(store: Any, key: str, data: ReportData, films: Any) -> dict[int, dict[str, str]]:
    """Visit index -> {ref: why} for each reader verdict on a finding the tool no longer makes at that visit
    (:attr:`fusionwatch.report.model.VisitView.verdicts_without_finding`): the changes of the record made after the
    verdict that make the tool compare the visit differently, in the tool's own words and oldest first: a move of the
    baseline film (its recorded cause and films), a corrected surgery date, approach or levels (the field and when;
    never the values or the corrector's reason, which is free text), a new landmark version of one of the visit's
    films (its kind and when; never who). A verdict with none of these after it has no entry (the report says that
    the reason is not recorded). ``films``: film id -> store ``FilmRecord``."""
    out: dict[int, dict[str, str]] = {}
    if not any(v.verdicts_without_finding for v in data.visits):
        return out
    moves = store.baseline_changes(key)
    corrections = [c for c in store.list_patient_corrections(key) if c.field in _CORRECTED_FIELDS]
    labels = film_labels(films.values())
    for i, v in enumerate(data.visits):
        for ref, o in v.verdicts_without_finding:
            why = [f"the baseline film changed on {c.at:%Y-%m-%d} ({c.cause}): {c.moved_text()}"
                   for c in moves if c.at > o.at]
            why += [f"the {_CORRECTED_FIELDS[c.field]} was corrected on {c.at:%Y-%m-%d}"
                    for c in corrections if c.at > o.at]
            for fid, f in films.items():
                if f.visit_date != v.date:
                    continue
                for lv in store.landmark_history(fid):
                    if lv.created_at > o.at:
                        who = {"reader": "a reader's", "file": "a landmark file's", "automatic": "the detector's"}
                        why.append(f"new landmarks ({who.get(lv.kind, lv.kind)}) on the {labels[fid]} on "
                                   f"{lv.created_at:%Y-%m-%d}")
            if why:
                out.setdefault(i, {})[ref] = "; ".join(why)
    return out


def tool_review_reasons(store: Any, timeline: Any, films: Any) -> frozenset[str]:
    """The patient's 'landmark_review' reasons that are the tool's own words, by their origin: what de-identified
    reports may show (:attr:`ReportData.tool_review`).

    A film's review reasons come from three places (``ingest`` stores each as a 'landmark_review' finding, in the
    transaction that stores the landmark version it measured; versions are never deleted): the landmarks'
    ``needs_review``, the pipeline's plausibility checks and the ingest's own notes (femoral heads left out). The
    landmarks' reasons are the tool's only when the detector placed them in this process (a version of kind
    ``automatic``); a landmark file's and a reader's (kinds ``file`` and ``reader``) are free text, whatever the file
    says it came from (a file written by ``fusionwatch detect`` can be edited before it is ingested). So a reason is
    the tool's when it is not among the ``needs_review`` of any ``file`` or ``reader`` version of the patient's films
    (``films``: film id -> store ``FilmRecord``); the same words from a file and from the checks are withheld."""
    imported: set[str] = set()
    for film_id in films:
        for version in store.landmark_history(film_id):
            if version.kind != "automatic":
                imported.update(version.landmarks.needs_review)
    said = {f.summary for v in timeline.visits for f in (*v.findings, *v.review) if f.kind == "landmark_review"}
    return frozenset(said - imported)


_VIEW_NAMES = {"ap": "AP", "lateral": "lateral", "flexion": "flexion", "extension": "extension"}


def film_labels(films: Any) -> dict[str, str]:
    """Film id -> "12-months AP film" for the clinician report's evidence lines (store ``FilmRecord``-like objects:
    ``film_id``, ``visit_label``, ``view``)."""
    out = {}
    for f in films:
        view = _VIEW_NAMES.get(str(f.view), str(f.view))
        out[f.film_id] = f"{f.visit_label} {view} film" if f.visit_label else f"{view} film"
    return out


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label)


def _draw_film(store: Any, film: Any, path: Path) -> Path | None:
    """Annotated film PNG, or ``None`` (logged) when the file or its landmarks are unavailable."""
    from fusionwatch.io._film_warnings import without_header_values
    from fusionwatch.io.loading import read_radiograph
    from fusionwatch.report.overlay import save_overlay

    current = store.current_landmarks(film.film_id)
    if current is None:
        return None
    try:
        radiograph = read_radiograph(film.file_path)
    except FusionwatchError as exc:  # the message names the file's path, the film id is its UID, the visit label
        # of a patient without a surgery date is its date ('unscheduled 2025-03-03'): none is logged
        log.warning("an annotated %s film not drawn: %s", film.view, type(exc).__name__)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # the overlay's panel names the film: by visit and view, never by its file name (file names often carry the
    # patient's name, id or date, and the overlay goes into de-identified reports and secondary captures)
    radiograph = replace(radiograph, source=film_labels([film])[film.film_id])
    # the film's warnings are drawn into the picture, which de-identified reports and secondary captures carry too: a
    # warning stored by an older reader quoting a header value (a date of service...) names the attribute only
    warnings = tuple(without_header_values(w) for w in film.warnings)
    return save_overlay(radiograph, current.landmarks, current.measurements, path, warnings=warnings)


def write_patient_outputs(store: Any, key: str, out_dir: str | Path, *, visit: int | str | None = None,
                          deidentify: bool = False, today: dt.date | None = None, protocol: Protocol | None = None,
                          pdf: bool = True) -> ReportOutput:
    """Write the clinician and patient reports (HTML, PDF), the DICOM SR and secondary capture of the current visit's
    lateral film, the FHIR bundle, the patient's measurement table (CSV, Parquet), the per-visit outcome table, the
    care calendar (.ics, as of the visit reported on) and ``outputs.json`` listing them.

    Every file name starts with the visit's label (``6-months-measurements.csv``, ``6-months-outputs.json``), and
    with ``deidentify`` continues ``-deidentified`` (``6-months-deidentified-clinician.html``), so reports of several
    visits, identified and de-identified, can be written into one folder without one overwriting another."""
    from fusionwatch.care.schedule import to_ics
    from fusionwatch.export.cohort import cohort_rows, films_from_store, write_cohort
    from fusionwatch.export.fhir import write_fhir_bundle
    from fusionwatch.export.secret import record_first_series, site_secret
    from fusionwatch.export.visits import visit_rows, write_visits
    from fusionwatch.io.dicom import pydicom_quiet
    from fusionwatch.pseudonym import pseudonym, uid_seed

    # every check first (patient, surgery date, visit, today, then the secret): a refused export leaves no files
    # behind, and creates no secret file nor records a pseudonym series
    if not store.has_patient(key):
        raise InputError(f"Unknown patient key {key!r}; `fusionwatch patient list` shows them.")
    if deidentify and store.get_surgery(key) is None:
        raise InputError(f"Patient {key!r} has no surgery date: cannot shift dates to de-identify (add it with "
                         "`fusionwatch patient add KEY --surgery-date D`, or report without --deidentify).")
    build_report_data(store, key, visit=visit, today=today, protocol=protocol)  # refuses a bad visit or today
    secret = site_secret(store, record=False) if deidentify else None  # read once; recorded once written
    alias = pseudonym(key, secret) if secret is not None else None
    seed = uid_seed(key, secret) if secret is not None else None  # seeds the exported UIDs; never shown
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ReportOutput()
    data = build_report_data(store, key, visit=visit, today=today, protocol=protocol, film_dir=out / "films")
    if deidentify:
        data = replace(data, pseudonym=alias)
    stem = _safe(data.visit.label) + ("-deidentified" if deidentify else "")
    files = write_reports(data, out, deidentify=deidentify, pdf=pdf, stem=stem)
    result.files.update({"clinician_html": files.clinician_html, "patient_html": files.patient_html})
    if files.clinician_pdf:
        result.files.update({"clinician_pdf": files.clinician_pdf, "patient_pdf": files.patient_pdf})
    result.files["fhir"] = write_fhir_bundle(data, out / f"{stem}-observations.fhir.json", deidentify=deidentify,
                                             uid_key=seed)
    rows = cohort_rows(films_from_store(store, [key], deidentify=deidentify, secret=secret), deidentify=deidentify)
    result.files["csv"] = write_cohort(rows, out / f"{stem}-measurements.csv")
    result.files["parquet"] = write_cohort(rows, out / f"{stem}-measurements.parquet")
    result.files["visits_csv"] = write_visits(visit_rows(data, deidentify=deidentify), out / f"{stem}-visits.csv")
    if data.schedule is not None:
        sched = data.deidentified().schedule if deidentify else data.schedule
        ics = out / f"{stem}-care-schedule.ics"
        ics.write_bytes(to_ics(sched, patient_key=data.pseudonym if deidentify else key))
        result.files["ics"] = ics
    with pydicom_quiet():  # the source film's header is read again: pydicom would quote its invalid values
        _write_dicom_exports(store, data, out, stem, deidentify, result, uid_key=seed)
    listing = {k: str(v) for k, v in result.files.items()} | {"notes": result.notes}
    (out / f"{stem}-outputs.json").write_text(json.dumps(listing, indent=1))
    if secret is not None:
        record_first_series(store, secret)  # the first de-identified export written starts the series
    return result


def _write_dicom_exports(store: Any, data: ReportData, out: Path, stem: str, deidentify: bool,
                         result: ReportOutput, *, uid_key: str | None = None) -> None:
    import numpy as np
    import pydicom
    from PIL import Image

    from fusionwatch.export._uids import source_uid_replacements
    from fusionwatch.export.dicom_sr import build_secondary_capture, write_measurement_sr

    v = data.visit
    if not v.film_id:
        result.notes.append(f"No DICOM exports: visit {v.label} has no measured lateral film.")
        return
    film = store.get_film(v.film_id)
    if not Path(film.file_path).is_file():  # moved or deleted since ingest; named by visit and view, never by path
        name = data.film_labels.get(v.film_id, f"{v.label} lateral film")
        result.notes.append(f"The {name}'s file is missing (moved or deleted since it was ingested): no annotated film "
                            "in the report and no DICOM exports. Put the file back where it was ingested from (a "
                            "re-ingest from elsewhere skips it as already stored).")
        return
    try:
        source = pydicom.dcmread(film.file_path, stop_before_pixels=True)
        _ = source.SOPInstanceUID, source.StudyInstanceUID, source.SOPClassUID
    except Exception:  # noqa: BLE001 - not a DICOM file (PNG/JPEG film): say so, keep the other outputs
        result.notes.append(f"No DICOM exports: the lateral film of visit {v.label} is not a DICOM file.")
        return
    current = store.current_landmarks(v.film_id)
    surgery = data.surgery.date if data.surgery else None
    if deidentify and surgery is None:
        result.notes.append("No DICOM exports: de-identification needs the surgery date.")
        return
    name = data.film_labels.get(v.film_id, f"{v.label} lateral film")
    try:
        replaced = source_uid_replacements(source, data.pseudonym if deidentify else data.patient_key)
    except ValueError as exc:  # an invalid SOP Class UID: no export can reference the film
        result.notes.append(f"No DICOM exports of the {name}: {exc}.")
        return
    if not deidentify:  # de-identified exports replace every UID of the film anyway
        # (the Frame of Reference UID is replaced too, but neither export copies it: nothing to say)
        result.notes += [_uid_note(name, r) for r in replaced if r.keyword != "FrameOfReferenceUID"]
    # birth date and age from the patient record (corrections included), never the film header's; age on the film's day
    age_on = film.acquired or film.visit_date
    try:
        result.files["dicom_sr"] = write_measurement_sr(
            out / f"{stem}-measurements.sr.dcm", source, current.measurements if current else (),
            patient_key=data.pseudonym if deidentify else data.patient_key, surgery_date=surgery,
            deidentify=deidentify, uid_key=uid_key, birth_date=data.birth_date, age_on=age_on,
        )
    except ValueError as exc:
        result.notes.append(f"No DICOM SR: {exc}")
    if v.film_png is not None and Path(v.film_png).is_file():
        rgb = np.asarray(Image.open(v.film_png).convert("RGB"))
        sc = build_secondary_capture(source, rgb, patient_key=data.pseudonym if deidentify else data.patient_key,
                                     surgery_date=surgery, deidentify=deidentify, uid_key=uid_key,
                                     birth_date=data.birth_date, age_on=age_on)
        path = out / f"{stem}-annotated.sc.dcm"
        sc.save_as(path, enforce_file_format=True)
        result.files["dicom_sc"] = path


def _uid_note(film: str, r: Any) -> str:
    """The note of one UID of the film an identified DICOM export replaced (``r``: an
    :class:`fusionwatch.export._uids.ReplacedUid`): which attribute, what was wrong (never its value), what was written
    instead and what it means in the PACS."""
    if r.keyword == "StudyInstanceUID":
        effect = (f"the DICOM SR and annotated secondary capture were written under the new Study Instance UID "
                  f"{r.replacement}, so they will not appear in the film's study in the PACS (merge the studies there, "
                  "or correct the film's UID at its source and export again)")
    else:
        effect = (f"the DICOM SR's evidence references the film by the replacement {r.replacement}, which no "
                  "object in the PACS has until the film's UID is corrected at its source")
    return f"The {film}'s {r.name} is not a valid DICOM UID ({r.problem}): {effect}."


def cohort_visit_rows(store: Any, keys: list[str] | tuple[str, ...], *, deidentify: bool = False,
                      today: dt.date | None = None, protocol: Protocol | None = None,
                      secret: bytes | None = None) -> list[dict[str, Any]]:
    """One row per visit of every patient in ``keys`` (the columns of :data:`fusionwatch.export.visits.VISIT_COLUMNS`:
    automatic and reader fusion status, findings with reader verdicts, motion, questionnaire answers), patients in
    the order given, visits in date order. Patients with no visit on record (on or before ``today``) are left out.

    De-identified by the rule of every export (:meth:`ReportData.deidentified`: key replaced by the site pseudonym
    under ``secret``, which the caller reads once for the whole export (:func:`fusionwatch.export.secret.site_secret`;
    required with ``deidentify``); dates shifted so that each patient's surgery falls on
    2000-01-01, reader names removed).

    Raises
    ------
    InputError
        ``deidentify`` for a patient without a surgery date (its dates cannot be shifted; the cohort measurement table
        refuses it the same way).
    """
    from fusionwatch.export.visits import visit_rows
    from fusionwatch.pseudonym import pseudonym

    if deidentify and secret is None:
        raise ValueError("cohort_visit_rows(deidentify=True) needs the site secret (fusionwatch.export.secret)")
    rows: list[dict[str, Any]] = []
    for key in keys:
        visits = store.list_visits(key)
        if not visits or (today is not None and visits[0].date > today):  # no visit yet as of `today`
            continue
        if deidentify and store.get_surgery(key) is None:
            raise InputError(f"Patient {key!r} has no surgery date: cannot shift dates to de-identify.")
        data = build_report_data(store, key, today=today, protocol=protocol)
        if deidentify:
            data = replace(data, pseudonym=pseudonym(key, secret))
        rows += visit_rows(data, deidentify=deidentify)
    return rows


def write_cohort_visits(store: Any, keys: list[str] | tuple[str, ...], path: str | Path, *,
                        deidentify: bool = False, today: dt.date | None = None, secret: bytes | None = None) -> Path:
    """:func:`cohort_visit_rows` written as CSV (``fusionwatch.export.visits.write_visits``)."""
    from fusionwatch.export.visits import write_visits

    return write_visits(cohort_visit_rows(store, keys, deidentify=deidentify, today=today, secret=secret), path)
