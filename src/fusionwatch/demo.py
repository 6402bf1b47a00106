"""The README demo: the whole journey on bundled simulated patients, one per simulator scenario.

Sequence: simulate (or reuse cached) journeys -> ingest into a fresh SQLite store -> example patient-reported outcomes
and symptom reports -> follow-up timeline -> clinician and patient reports, structured exports -> an index page.

Everything here is example data: simulated films of invented patients and invented questionnaire answers, labelled as
such in every output. The use case is adapter-free (no printing); :mod:`fusionwatch.cli.demo` prints.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from fusionwatch.ingest import ingest_journey
from fusionwatch.records import Override
from fusionwatch.sim import demo_journeys
from fusionwatch.store import Store

__all__ = ["DemoPatient", "DemoResult", "EXAMPLE_PROMS", "EXAMPLE_SYMPTOMS", "run_demo"]

Progress = Callable[[str], None]

# Invented questionnaire answers per scenario and visit label: (ODI answers for the 10 sections, back NRS, leg NRS).
# They follow the usual course after fusion (large early gains) and, for the complication scenarios, a plateau or
# relapse.
_GOOD = {
    "pre-op": ((3, 2, 3, 3, 2, 3, 2, 2, 3, 3), 7, 6),
    "6-weeks": ((2, 1, 2, 2, 2, 2, 1, 1, 2, 2), 4, 3),
    "3-months": ((1, 1, 1, 2, 1, 1, 1, 1, 1, 1), 3, 2),
    "6-months": ((1, 0, 1, 1, 1, 1, 0, 1, 1, 1), 2, 1),
    "12-months": ((1, 0, 1, 1, 0, 1, 0, 0, 1, 0), 1, 1),
}
_RELAPSE = {
    "pre-op": ((3, 2, 3, 3, 3, 3, 2, 3, 3, 3), 8, 6),
    "6-weeks": ((2, 1, 2, 2, 2, 2, 2, 1, 2, 2), 5, 3),
    "3-months": ((2, 1, 2, 2, 2, 2, 1, 1, 2, 2), 5, 3),
    "6-months": ((3, 1, 2, 3, 2, 2, 2, 2, 2, 2), 6, 4),
    "12-months": ((3, 2, 3, 3, 2, 3, 2, 2, 3, 2), 7, 5),
}
EXAMPLE_PROMS: dict[str, dict[str, tuple[tuple[int, ...], int, int]]] = {
    "solid-fusion": _GOOD,
    "pseudarthrosis": _RELAPSE,
    "cage-subsidence": _RELAPSE,
    "screw-loosening": _RELAPSE,
    "adjacent-segment-degeneration": {**_GOOD, "12-months": ((2, 1, 2, 2, 1, 2, 1, 1, 2, 1), 4, 4)},
}

# Invented symptom reports: (days after surgery, symptom codes, note): an early wound-infection warning and a later
# routine complaint.
EXAMPLE_SYMPTOMS: dict[str, tuple[tuple[int, tuple[str, ...], str], ...]] = {
    "cage-subsidence": (
        (12, ("fever", "wound_drainage"), "Example: temperature 38.4 C, wound weeping since yesterday."),
    ),
    "screw-loosening": ((200, ("pain_not_improving",), "Example: back pain slowly worse over the last month."),),
}

# One example reader entry, to show that grades and overrides are kept beside the automatic result.
_EXAMPLE_GRADE = {
    "solid-fusion": ("grade:bridwell", "I", "Example reader: bridging trabecular bone on the lateral film."),
}


@dataclass(frozen=True)
class DetectorCheck:
    """The automatic detector on one demo film against the simulator's exact landmarks (used by the demo's findings)."""

    film: str
    mean_corner_error_mm: float | None
    measure_errors: dict[str, float]
    needs_review: tuple[str, ...]
    failure: str | None = None


@dataclass(frozen=True)
class DemoPatient:
    key: str
    scenario: str
    last_visit: str
    status: str
    findings: tuple[str, ...]
    red_flags: tuple[str, ...]
    """Urgent and emergency symptoms of the last report (most urgent first, each with its newest report date)."""
    files: dict[str, Path]
    ingest_failures: tuple[str, ...] = ()
    detector: DetectorCheck | None = None
    routine_symptoms: tuple[str, ...] = ()
    """Symptoms triaged routine: shown, but not counted as red flags."""
    status_text: str = ""
    """The clinician's label of ``status`` (never stronger than what was assessed: ``report.labels``)."""
    earlier_symptoms: tuple[str, ...] = ()
    """Symptom reports before the last films' report window (shown in an earlier visit's report, not in the last one:
    ``red_flags`` and ``routine_symptoms`` are exactly what the last report shows)."""


COHORT_MEASUREMENTS = "cohort-measurements-deidentified.csv"
"""One row per film x measurement of every demo patient (de-identified)."""
COHORT_VISITS = "cohort-visits-deidentified.csv"
"""One row per visit of every demo patient: fusion status (automatic and reader), findings with verdicts, motion,
questionnaire answers (de-identified; the columns of ``fusionwatch.export.visits.VISIT_COLUMNS``)."""


@dataclass
class DemoResult:
    out_dir: Path
    database: Path
    index: Path
    patients: list[DemoPatient] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cohort_measurements: Path | None = None
    cohort_visits: Path | None = None


def _scenario_of(journey: Path) -> str:
    return journey.parent.name


def run_demo(out_dir: str | Path = "demo-output", *, today: dt.date | None = None, pdf: bool = True,
             progress: Progress | None = None, film_size: tuple[int, int] | None = None) -> DemoResult:
    """Run the whole demo into ``out_dir`` and return what was written.

    ``today`` defaults to 14 days after the latest simulated film, so the care schedule shows what a clinic would see
    two weeks after the 12-month visit (the simulated dates are fixed, so the demo output is the same on every run).
    ``film_size`` (width, height in px) overrides the simulator's demo film size (smaller is faster, for tests).
    """
    say = progress or (lambda _msg: None)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    say("Simulating the demo patients' films (cached after the first run)...")
    journeys = demo_journeys(out / "journeys", **({"size": film_size} if film_size else {}))
    db = out / "demo.db"
    db.unlink(missing_ok=True)
    # its pseudonym secret goes with it (simulated patients): a new database starts a new pseudonym series, and a
    # secret file kept from an earlier run would be refused beside a FUSIONWATCH_DEID_SECRET set for this run
    Path(f"{db}.deid-secret").unlink(missing_ok=True)
    store = Store(db)
    result = DemoResult(out, db, out / "index.html")
    try:
        per_patient: list[tuple[str, str, tuple[str, ...]]] = []
        for journey in journeys:
            scenario = _scenario_of(journey)
            say(f"Ingesting, measuring and analysing: {scenario}")
            report = ingest_journey(journey, store)
            failures = tuple(f"{o.path}: {o.reason}" for o in report.outcomes if o.status == "failed")
            key = json.loads(journey.read_text(encoding="utf-8"))["patient"]["key"]
            _add_examples(store, key, scenario)
            per_patient.append((key, scenario, failures))
        latest = max(f.acquired or dt.date.min for k, _, _ in per_patient for f in store.list_films(k))
        today = today or latest + dt.timedelta(days=14)
        from fusionwatch.report.build import write_patient_outputs

        for key, scenario, failures in per_patient:
            say(f"Writing reports: {scenario}")
            written = write_patient_outputs(store, key, out / "patients" / scenario, today=today, pdf=pdf)
            result.notes += [f"{scenario}: {n}" for n in written.notes]
            say(f"Checking the automatic landmark detector against the simulator's truth: {scenario}")
            summary = _summary(store, key, scenario, written.files, failures, today)
            result.patients.append(replace(summary, detector=_detector_check(store, key)))
        from fusionwatch.export.cohort import cohort_rows, films_from_store, write_cohort
        from fusionwatch.export.secret import site_secret
        from fusionwatch.report.build import write_cohort_visits

        keys = [key for key, _, _ in per_patient]
        secret = site_secret(store)  # read (and checked against the recorded series) once for both cohort tables
        rows = cohort_rows(films_from_store(store, keys, deidentify=True, secret=secret), deidentify=True)
        result.cohort_measurements = write_cohort(rows, out / COHORT_MEASUREMENTS)
        result.cohort_visits = write_cohort_visits(store, keys, out / COHORT_VISITS, deidentify=True, today=today,
                                                   secret=secret)
        _write_index(result, today)
    finally:
        store.close()
    return result


def _add_examples(store: Store, key: str, scenario: str) -> None:
    surgery = store.get_surgery(key)
    visits = {v.label: v.date for v in store.list_visits(key)}
    for label, (odi, back, leg) in EXAMPLE_PROMS.get(scenario, {}).items():
        if label in visits:
            store.add_prom(key, visits[label], odi_answers=odi, back_pain_nrs=back, leg_pain_nrs=leg,
                           extra={"example": True})
    if surgery is not None:
        for days, codes, note in EXAMPLE_SYMPTOMS.get(scenario, ()):
            store.add_symptoms(key, surgery.date + dt.timedelta(days=days), codes, note=note)
    if scenario in _EXAMPLE_GRADE and "12-months" in visits:
        target, value, reason = _EXAMPLE_GRADE[scenario]
        store.add_override(key, Override(target, value, "demo-reader (example)",
                                         dt.datetime.combine(visits["12-months"], dt.time(16, 0), dt.UTC), reason),
                           visit="12-months")


def _summary(store: Store, key: str, scenario: str, files: dict[str, Path], failures: tuple[str, ...],
             today: dt.date | None = None) -> DemoPatient:
    """The index's and console's line for one patient: the visit, status, findings and red flags of the report the
    demo wrote (``report.build``'s rules: the latest visit with films up to ``today``; its red flags are
    :func:`~fusionwatch.report.build.red_flags_for` over :func:`~fusionwatch.report.build.red_flag_window`, one line
    per symptom with its newest report date, as the report lists them). Symptom reports before that window were an
    earlier visit's red flags: listed apart, one per report, with the report they are in."""
    from fusionwatch.followup.evidence import latest_film_visit
    from fusionwatch.report.build import default_report_visit, red_flag_window, red_flags_for
    from fusionwatch.report.labels import visit_status_label

    timeline = store.load_timeline(key)
    cur = latest_film_visit(timeline, on=today)
    last = timeline.visits[cur] if cur is not None else None
    status, status_text = "no films", "no films"
    findings: tuple[str, ...] = ()
    if last is not None:
        status = last.status.status.value if last.status.status else "not assessed"
        status_text = visit_status_label(last)
        # each with the ref `fusionwatch override --finding REF=...` takes
        findings = tuple(f"{f.severity.value}: {f.summary} [ref {r}]" for f, r, _ in last.findings_with_refs())
    window = default_report_visit(timeline, today)  # the report's visit (its latest one when none has films)
    after, until = red_flag_window(timeline, window, today) if timeline.visits else (None, None)
    records = store.list_symptoms(key)
    flags, routine, earlier = [], [], []
    for r in red_flags_for([(rec.visit_date, tuple(rec.symptoms)) for rec in records], after, until):
        text = f"{r.urgency.value}: {r.reason}" + (f" (reported {r.reported_on.isoformat()})" if r.reported_on else "")
        (flags if r.is_red_flag else routine).append(text)
    with_films = [v for v in timeline.visits if v.films]
    for rec in records:
        if after is None or rec.visit_date > after:
            continue
        shown_in = next((v.label for v in with_films if v.date >= rec.visit_date), None)
        for r in red_flags_for([(rec.visit_date, tuple(rec.symptoms))], None, None):
            text = f"{r.urgency.value}: {r.reason} (reported {rec.visit_date.isoformat()})"
            earlier.append(f"earlier, {text[:-1]}; in the {shown_in} report)" if shown_in else f"earlier, {text}")
    return DemoPatient(key, scenario, last.label if last else "-", status, findings, tuple(flags), files, failures,
                       routine_symptoms=tuple(routine), status_text=status_text, earlier_symptoms=tuple(earlier))


def _detector_check(store: Store, key: str) -> DetectorCheck | None:
    """Run the detector on the patient's latest lateral film and compare with the simulator's landmark file."""
    from fusionwatch.detect import detect_landmarks
    from fusionwatch.detect.datasets import Sample
    from fusionwatch.detect.evaluation import evaluate_one
    from fusionwatch.ingest import sidecar_landmarks
    from fusionwatch.io import read_landmarks, read_radiograph

    laterals = [f for f in store.list_films(key) if f.view == "lateral"]
    if not laterals:
        return None
    film = laterals[-1]
    path = Path(film.file_path)
    truth_path = sidecar_landmarks(path)
    if truth_path is None:
        return None
    radiograph = read_radiograph(path)
    truth = read_landmarks(truth_path)
    sample = Sample(radiograph.pixels, dict(truth.points), truth.view, key, spacing=radiograph.spacing,
                    source=f"{film.visit_label} lateral")
    res = evaluate_one(detect_landmarks, sample)
    mean_mm = sum(res.errors_mm.values()) / len(res.errors_mm) if res.errors_mm else None
    return DetectorCheck(sample.source, mean_mm, dict(res.measure_errors), tuple(res.needs_review), res.failure)


def _detector_cell(check: DetectorCheck | None) -> str:
    if check is None:
        return "not run"
    if check.failure:
        return f"{html.escape(check.film)}: refused ({html.escape(check.failure)})"
    parts = [f"{html.escape(check.film)}: mean corner error {check.mean_corner_error_mm:.1f} mm"
             if check.mean_corner_error_mm is not None else html.escape(check.film)]
    for name in ("sacral_slope", "segmental_lordosis_L5_S1", "lumbar_lordosis"):
        if name in check.measure_errors:
            parts.append(f"{name.replace('_', ' ')} error {check.measure_errors[name]:+.1f} deg")
    if check.needs_review:
        parts.append(f"flagged for review ({len(check.needs_review)} reason(s))")
    return "<br>".join(parts)


def _write_index(result: DemoResult, today: dt.date) -> None:
    def link(p: Path | None, text: str) -> str:
        if p is None:
            return ""
        return f'<a href="{html.escape(str(Path(p).relative_to(result.out_dir)))}">{html.escape(text)}</a>'

    rows = []
    for p in result.patients:
        f = p.files
        links = " · ".join(x for x in (
            link(f.get("clinician_pdf"), "clinician PDF"), link(f.get("clinician_html"), "clinician HTML"),
            link(f.get("patient_pdf"), "patient PDF"), link(f.get("patient_html"), "patient HTML"),
            link(f.get("fhir"), "FHIR"), link(f.get("dicom_sr"), "DICOM SR"), link(f.get("csv"), "measurements CSV"),
            link(f.get("visits_csv"), "visits CSV"),
            link(f.get("ics"), "calendar")) if x)
        flags = "".join(f"<li class=flag>{html.escape(x)}</li>" for x in p.red_flags)
        finds = "".join(f"<li>{html.escape(x)}</li>" for x in (*p.routine_symptoms, *p.findings)) or "<li>none</li>"
        finds += "".join(f"<li><small>{html.escape(x)}</small></li>" for x in p.earlier_symptoms)
        fails = "".join(f"<li class=flag>ingest failed: {html.escape(x)}</li>" for x in p.ingest_failures)
        rows.append(
            f"<tr><td><b>{html.escape(p.scenario)}</b><br><small>{html.escape(p.key)}</small></td>"
            f"<td>{html.escape(p.last_visit)}</td><td>{html.escape(p.status_text or p.status.replace('_', ' '))}</td>"
            f"<td><ul>{flags}{fails}{finds}</ul></td><td>{links}</td><td><small>{_detector_cell(p.detector)}</small></td></tr>"
        )
    page = f"""<!doctype html><html lang=en><meta charset=utf-8><title>fusionwatch demo</title>
<style>body{{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.4em .6em;vertical-align:top;text-align:left}}ul{{margin:0;padding-left:1.1em}}
.flag{{color:#b00020;font-weight:600}}.note{{background:#fff6d6;padding:.6em 1em;border-left:4px solid #e0b000}}</style>
<h1>fusionwatch demo</h1>
<p class=note>Simulated films of invented patients, with invented questionnaire answers and symptom reports. Not
patient data and not clinical advice. Every automatic finding is decision support for a reader, who can override it.
Demo date: {today.isoformat()}.</p>
<p>Landmarks: the findings below use the simulator's exact landmarks, standing in for landmarks a reader has checked.
The last column runs the automatic detector on each patient's latest lateral film and compares it with those exact
landmarks: the detector is not yet accurate enough to produce findings on its own (see the model card).</p>
<table><tr><th>patient</th><th>last films</th><th>automatic fusion status</th><th>red flags and findings at the last
films</th><th>outputs</th><th>automatic detector vs true landmarks</th></tr>{''.join(rows)}</table>
<p>Research exports of the whole cohort, de-identified (dates shifted so that each surgery falls on 2000-01-01):
{link(result.cohort_visits, 'cohort visits CSV')} (one row per patient visit: automatic and reader fusion status,
findings with reader verdicts, flexion-extension motion, questionnaire answers) and
{link(result.cohort_measurements, 'cohort measurements CSV')} (one row per film and measurement).
Database: demo.db (SQLite).</p></html>"""
    result.index.write_text(page, encoding="utf-8")
