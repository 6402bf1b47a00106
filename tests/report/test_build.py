"""End-to-end: a stored patient with three DICOM films -> `fusionwatch prom/symptoms add`, `care`, `report`."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from _synth import write_dicom
from fusionwatch.cli import app
from fusionwatch.io.loading import read_radiograph
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.records import Patient, Surgery
from fusionwatch.store import Store
from fusionwatch.units import SpacingSource, Unit

SURGERY = dt.date(2026, 1, 10)
TODAY = "2026-07-20"
POINTS = {"L5.inferior.anterior": (100.0, 200.0), "L5.inferior.posterior": (140.0, 200.0),
          "S1.superior.anterior": (100.0, 212.0), "S1.superior.posterior": (140.0, 212.0)}


def _meas(mm: float, seg: float) -> list[Measurement]:
    return [Measurement(MeasureName.DISC_HEIGHT_MEAN_L5_S1, mm, Unit.MM, "test/1",
                        spacing_source=SpacingSource.PATIENT_PLANE),
            Measurement(MeasureName.SEGMENTAL_LORDOSIS_L5_S1, seg, Unit.DEG, "test/1")]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store(url)
    store.add_patient(Patient("K-7", patient_id="MRN-555", name="Roe^Rick", birth_date=dt.date(1958, 2, 3), sex="M"))
    store.set_surgery("K-7", Surgery(SURGERY))
    rng = np.random.default_rng(0)
    for i, (day, mm, seg) in enumerate([(42, 11.0, 18.0), (92, 10.2, 17.0), (185, 8.6, 15.0)]):
        d = SURGERY + dt.timedelta(days=day)
        pixels = (rng.random((300, 240)) * 3000).astype(np.uint16)
        path = write_dicom(tmp_path / f"f{i}.dcm", pixels, spacing=(0.2, 0.2), study_date=d.strftime("%Y%m%d"),
                           view_position="LL",
                           extra={"PatientName": "Roe^Rick", "PatientID": "MRN-555", "PatientBirthDate": "19580203"})
        rg = read_radiograph(path)
        uid = str(pydicom.dcmread(path).SOPInstanceUID)
        store.add_film("K-7", rg, film_id=uid, file_path=str(path), file_sha256=f"{i:064d}", visit_date=d,
                       landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"), measurements=_meas(mm, seg))
    store.close()
    return url


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_journey(db: str, tmp_path: Path) -> None:
    out = _run("prom", "add", "K-7", "--odi", "4,3,4,3,3,3,3,-,3,3", "--back-pain", "8", "--leg-pain", "7",
               "--date", "2025-12-20", "--db", db)
    assert "ODI 64.4 % (crippled; 9/10 sections answered)" in out
    out = _run("prom", "add", "K-7", "--odi", "1,1,2,1,1,1,1,-,1,1", "--back-pain", "3", "--leg-pain", "2",
               "--date", "2026-07-13", "--db", db)
    assert "ODI 64.4 -> 22.2, improved by 42.2 points; MCID (12.8) met; substantial clinical benefit met" in " ".join(
        out.split())  # the wording of d81176a (care)
    out = _run("symptoms", "add", "K-7", "--flag", "fever", "--flag", "poor-sleep", "--date", "2026-07-18", "--db", db)
    assert "URGENT" in out and out.index("fever") < out.index("poor_sleep")

    ics = tmp_path / "k7.ics"
    out = _run("care", "K-7", "--ics", str(ics), "--today", TODAY, "--db", db)
    assert out.index("RED FLAGS") < out.index("surgery 2026-01-10")
    assert "missed" in out and ics.read_bytes().startswith(b"BEGIN:VCALENDAR")  # wound check, later visits done

    rep = tmp_path / "rep"
    out = _run("report", "K-7", "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db)
    files = json.loads((rep / "6-months-deidentified-outputs.json").read_text())
    for key in ("clinician_html", "clinician_pdf", "patient_html", "patient_pdf", "fhir", "csv", "parquet", "ics",
                "dicom_sr", "dicom_sc", "visits_csv"):
        assert key in files and Path(files[key]).is_file(), key
    html = Path(files["clinician_html"]).read_text()
    body = html[html.index("<body"):]
    assert body.index('id="red-flags"') < body.index("<h1") and "fever" in body[: body.index("<h1")]
    everything = "".join(Path(files[k]).read_text(errors="ignore") for k in ("clinician_html", "patient_html", "fhir",
                                                                           "csv", "ics", "visits_csv"))
    import re
    everything = re.sub(r'src="data:[^"]*"', "", everything)
    # random resource ids and UUIDs (hex) are no identifiers; one holding "1958" failed the check by chance
    everything = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{16,}\b", "",
                        everything)
    for ident in ("Roe", "Rick", "MRN-555", "1958", "2025-", "2026-"):  # no identifiers, no real dates
        assert ident not in everything, ident
    sr = pydicom.dcmread(files["dicom_sr"])
    assert sr.PatientID.startswith("FW-") and "K-7" not in str(sr.PatientName) and "Roe" not in str(sr.PatientName)


@pytest.mark.parametrize("deidentify", [False, True])
def test_dicom_exports_carry_the_corrected_birth_date(db: str, tmp_path: Path, deidentify: bool) -> None:
    """`patient correct --birth-date` reaches the DICOM exports: the films' headers say 1958-02-03, the record is
    corrected to 1960-02-22; the 6-month film is of 2026-07-14. Identified SR and SC: Patient's Birth Date 19600222
    and Patient's Age 066Y (from the corrected date; the header's date would give 068Y); de-identified: no birth
    date and Patient's Age 066Y, the header's birth date nowhere."""
    _run("patient", "correct", "K-7", "--birth-date", "1960-02-22", "--by", "dr-x", "--reason", "typo", "--db", db)
    rep = tmp_path / "rep"
    args = ["report", "K-7", "--out", str(rep), "--today", TODAY, "--db", db] + (["--deidentify"] if deidentify else [])
    _run(*args)
    stem = "6-months-deidentified" if deidentify else "6-months"
    files = json.loads((rep / f"{stem}-outputs.json").read_text())
    for kind in ("dicom_sr", "dicom_sc"):
        ds = pydicom.dcmread(files[kind])
        assert ds.PatientBirthDate == ("" if deidentify else "19600222"), kind
        assert ds.PatientAge == "066Y", kind
        assert "19580203" not in str(ds), kind


def test_bad_input_errors(db: str) -> None:
    r = CliRunner().invoke(app, ["prom", "add", "K-7", "--odi", "1,2,3", "--db", db])
    assert r.exit_code == 2 and "exactly 10 answers" in r.output
    r = CliRunner().invoke(app, ["symptoms", "add", "K-7", "--flag", "headache", "--db", db])
    assert r.exit_code == 2 and "Unknown symptom 'headache'" in r.output
    r = CliRunner().invoke(app, ["report", "K-7", "--out", "/tmp/x", "--visit", "9", "--db", db])
    assert r.exit_code == 2 and "Visit 9 does not exist" in r.output


def test_no_export_names_an_internal_document(db: str, tmp_path: Path) -> None:
    """Every output of `fusionwatch report` (HTML, FHIR, DICOM SR/SC, CSV, Parquet, outputs.json) and the timeline
    JSON of `fusionwatch followup --json` cite criteria, never a project file such as CLINICAL.md; with
    flexion-extension motion and findings, so motion reasons and finding thresholds are in them."""
    from fusionwatch.followup import SegmentMotion

    store = Store(db)
    store.replace_motion("K-7", "6-months", [SegmentMotion("L5-S1", 2.8, 1.0, 0.5, None, 0.2),
                                             SegmentMotion("L4-L5", 21.0, 3.0, 1.0, None, 0.3)], method="t")
    store.close()
    rep = tmp_path / "rep"
    _run("report", "K-7", "--out", str(rep), "--today", TODAY, "--db", db, "--no-pdf")
    files = json.loads((rep / "6-months-outputs.json").read_text())
    for key in ("fhir", "csv", "parquet", "dicom_sr", "dicom_sc", "clinician_html"):
        assert key in files, key
    blobs = {p.name: p.read_bytes() for p in rep.rglob("*") if p.is_file() and p.suffix != ".png"}
    blobs["followup.json"] = _run("followup", "K-7", "--db", db, "--json").encode()
    tl = json.loads(blobs["followup.json"])
    kinds = {f["kind"] for v in tl["visits"] for f in v["findings"]}
    assert {"cage_subsidence", "motion_indeterminate"} <= kinds, kinds  # thresholds of both kinds are in the JSON
    for name, blob in blobs.items():
        for doc in (b"CLINICAL.md", b"DESIGN.md", b"STYLE.md"):
            assert doc not in blob, (name, doc)


def test_visit_label_resolved_like_override(db: str, tmp_path: Path) -> None:
    """Two film days in the 6-month window (days 185 and 200): `report --visit 6-months` could mean either, so it is
    refused naming both dates, exactly as `override` refuses it; the timeline label of the second day picks it."""
    from fusionwatch.report.build import build_report_data

    store = Store(db)
    try:
        d = SURGERY + dt.timedelta(days=200)
        pixels = (np.random.default_rng(1).random((300, 240)) * 3000).astype(np.uint16)
        path = write_dicom(tmp_path / "f3.dcm", pixels, spacing=(0.2, 0.2), study_date=d.strftime("%Y%m%d"),
                           view_position="LL")
        store.add_film("K-7", read_radiograph(path), film_id="second-6m", file_path=str(path), file_sha256="9" * 64,
                       visit_date=d, landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"),
                       measurements=_meas(8.4, 15.0))
        data = build_report_data(store, "K-7", visit="6-months (day 200)", today=dt.date(2026, 8, 1))
        assert data.visit.date == d
        assert build_report_data(store, "K-7", visit="3-months", today=dt.date(2026, 8, 1)).visit.label == "3-months"
    finally:
        store.close()
    r = CliRunner().invoke(app, ["report", "K-7", "--out", str(tmp_path / "r"), "--visit", "6-months", "--no-pdf",
                                 "--db", db])
    assert r.exit_code == 2 and "ambiguous" in r.output and "2026-07-14" in r.output and "2026-07-29" in r.output
    r = CliRunner().invoke(app, ["report", "K-7", "--out", str(tmp_path / "r"), "--visit", "9-months", "--db", db])
    assert r.exit_code == 2 and "has no visit 9-months" in r.output


def test_annotated_film_is_named_by_visit_and_view_not_by_its_file_name(tmp_path: Path, monkeypatch) -> None:
    """The overlay burns the film's name into the image (reports, de-identified secondary capture): a file name
    such as 'Roe_Rick_MRN-555.dcm' must not be that name."""
    import fusionwatch.report.overlay as overlay
    from fusionwatch.report.build import build_report_data

    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store(url)
    store.add_patient(Patient("K-8", patient_id="MRN-555", name="Roe^Rick"))
    store.set_surgery("K-8", Surgery(SURGERY))
    d = SURGERY + dt.timedelta(days=42)
    path = write_dicom(tmp_path / "Roe_Rick_MRN-555.dcm", np.zeros((300, 240), np.uint16), spacing=(0.2, 0.2),
                       study_date=d.strftime("%Y%m%d"), view_position="LL", extra={"PatientID": "MRN-555"})
    store.add_film("K-8", read_radiograph(path), film_id=str(pydicom.dcmread(path).SOPInstanceUID),
                   file_path=str(path), file_sha256="9" * 64, visit_date=d,
                   landmarks=Landmarks(dict(POINTS), 240, 300, source="file:test"), measurements=_meas(11.0, 18.0))
    names: list[str] = []
    real = overlay.save_overlay
    monkeypatch.setattr(overlay, "save_overlay", lambda rg, *a, **k: names.append(rg.source) or real(rg, *a, **k))
    try:
        build_report_data(store, "K-8", today=dt.date(2026, 3, 1), film_dir=tmp_path / "films")
    finally:
        store.close()
    assert names and set(names) == {"6-weeks lateral film"}


def test_reader_finding_verdict_reaches_the_report(db: str) -> None:
    from fusionwatch.records import Override
    from fusionwatch.report.build import build_report_data

    store = Store(db)
    try:
        when = SURGERY + dt.timedelta(days=185)
        assert "cage_subsidence" in {f.kind for f in build_report_data(store, "K-7", today=when).visit.findings}
        store.add_override("K-7", Override("finding:cage_subsidence", "rejected", "amy",
                                           dt.datetime(2026, 7, 19, tzinfo=dt.UTC)), visit=when)
        data = build_report_data(store, "K-7", today=when)
    finally:
        store.close()
    assert data.visit.finding_verdicts["cage_subsidence"].value == "rejected"


def test_report_visit_by_date_as_override_takes_it(db: str, tmp_path: Path) -> None:
    """`report --visit 2026-04-14` picks the visit of that day (a date was refused as an unknown label)."""
    when = SURGERY + dt.timedelta(days=92)
    _run("report", "K-7", "--out", str(tmp_path / "r"), "--visit", when.isoformat(), "--no-pdf", "--today", TODAY,
         "--db", db)
    assert (tmp_path / "r" / "3-months-clinician.html").is_file()
    r = CliRunner().invoke(app, ["report", "K-7", "--out", str(tmp_path / "r"), "--visit", "2026-02-30", "--db", db])
    assert r.exit_code == 2 and "--visit: expected a date" in r.output


def test_cohort_visit_rows_across_patients(db: str, tmp_path: Path) -> None:
    """One row per visit of every patient (a research coordinator's table), de-identified like the other exports;
    a patient without a surgery date is refused for de-identification, one without visits is left out."""
    import csv

    from fusionwatch.errors import InputError
    from fusionwatch.export.secret import site_secret
    from fusionwatch.export.visits import VISIT_COLUMNS
    from fusionwatch.pseudonym import pseudonym
    from fusionwatch.report.build import cohort_visit_rows, write_cohort_visits

    store = Store(db)
    try:
        store.add_patient(Patient("K-8", patient_id="MRN-888", name="Poe^Pia"))
        store.set_surgery("K-8", Surgery(dt.date(2025, 5, 1)))
        store.add_prom("K-8", dt.date(2025, 4, 20), odi_answers=(3,) * 10, back_pain_nrs=7, leg_pain_nrs=5)
        store.add_patient(Patient("K-0"))  # no visits: no rows
        secret = site_secret(store)  # the adapter reads it once per export; the core reads no files
        path = write_cohort_visits(store, ["K-7", "K-8", "K-0"], tmp_path / "visits.csv", deidentify=True,
                                   today=dt.date.fromisoformat(TODAY), secret=secret)
        store.add_patient(Patient("K-9"))
        store.add_prom("K-9", dt.date(2025, 4, 20), back_pain_nrs=7)
        with pytest.raises(InputError, match="'K-9' has no surgery date"):
            cohort_visit_rows(store, ["K-9"], deidentify=True, secret=secret)
        with pytest.raises(ValueError, match="needs the site secret"):  # no hidden file read in the core
            cohort_visit_rows(store, ["K-7"], deidentify=True)
        assert len(cohort_visit_rows(store, ["K-9"])) == 1  # identified: no shift needed
    finally:
        store.close()
    table = list(csv.DictReader(path.open()))
    assert tuple(table[0]) == VISIT_COLUMNS
    assert secret == Path(db.removeprefix("sqlite:///") + ".deid-secret").read_bytes().strip()  # made for the export
    k7, k8 = (pseudonym(k, secret) for k in ("K-7", "K-8"))  # keys replaced by their pseudonyms
    assert k7.startswith("FW-") and k8.startswith("FW-") and k7 != k8
    assert [(r["patient"], r["visit"], r["visit_date"]) for r in table] == [
        (k7, "6-weeks", "2000-02-12"), (k7, "3-months", "2000-04-02"), (k7, "6-months", "2000-07-04"),
        (k8, "pre-op", "1999-12-21"),
    ]
    assert table[2]["fusion_status_automatic"] and table[2]["fusion_status_automatic_label"]
    assert table[3]["odi_percent"] == "60.0" and table[3]["back_pain_0_10"] == "7"
    text = path.read_text()
    for ident in ("Roe", "MRN-555", "Poe", "MRN-888", "2026-", "2025-", "1958", "K-7", "K-8"):
        assert ident not in text, ident


def test_report_of_an_earlier_visit_gives_that_day_s_schedule(db: str) -> None:
    """The 6-week report, written later, lists the appointments and restrictions of the 6-week visit: the 3-month
    visit next (it listed only the 12-month visit: later visits counted as done), the weeks 6-12 restrictions."""
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.patient_text import patient_text

    store = Store(db)
    try:
        early = build_report_data(store, "K-7", visit=1, today=dt.date.fromisoformat(TODAY))
        latest = build_report_data(store, "K-7", today=dt.date.fromisoformat(TODAY))
    finally:
        store.close()
    assert early.visit.days_since_surgery == 42 and early.schedule.today == early.visit.date
    appointments = " ".join(w for _, w in patient_text(early).appointments)
    assert "about 3 months" in appointments and "about 6 months" in appointments
    assert early.care_advice.restriction_phase.id == "return-to-activity"
    assert latest.schedule.today == dt.date.fromisoformat(TODAY)  # the latest films: today's schedule
    assert "about 3 months" not in " ".join(w for _, w in patient_text(latest).appointments)


def test_reported_symptoms_carry_their_date(db: str, tmp_path: Path) -> None:
    """A fever reported 12 days after surgery, shown on the 6-week report a month later: both reports say when it was
    reported (the patient read 'Act now about what you told us' as if it were new); de-identified, the date shifts."""
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.render import render_clinician_html, render_patient_html

    store = Store(db)
    try:
        store.add_symptoms("K-7", SURGERY + dt.timedelta(days=12), ["fever"])
        data = build_report_data(store, "K-7", visit=1, today=dt.date.fromisoformat(TODAY))
    finally:
        store.close()
    (flag,) = data.red_flags
    assert flag.reported_on == SURGERY + dt.timedelta(days=12)
    assert "which you told us about on January 22, 2026" in render_patient_html(data)
    assert "(reported 2026-01-22)" in render_clinician_html(data)
    de = data.deidentified()
    assert de.red_flags[0].reported_on == dt.date(2000, 1, 13)
    assert "2026-01-22" not in render_clinician_html(de) and "January 22, 2026" not in render_patient_html(de)


def test_reports_of_several_visits_share_one_folder(db: str, tmp_path: Path) -> None:
    """`report --visit` for two visits into one folder: every file of each run carries its visit, so the second run
    overwrites none of the first's (measurements/visits CSV, Parquet, calendar and outputs.json were shared names);
    the first visit's calendar is still its own (as of that visit's date)."""
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    for out in (alone, shared):
        _run("report", "K-7", "--out", str(out), "--visit", "1", "--today", TODAY, "--db", db, "--no-pdf")
    _run("report", "K-7", "--out", str(shared), "--visit", "3", "--today", TODAY, "--db", db, "--no-pdf")
    runs = {label: json.loads((shared / f"{label}-outputs.json").read_text()) for label in ("6-weeks", "6-months")}
    names = {label: {Path(p).name for k, p in files.items() if k != "notes"} for label, files in runs.items()}
    assert names["6-weeks"] and not names["6-weeks"] & names["6-months"]
    for label, files in runs.items():
        for key, p in files.items():
            if key != "notes":
                assert Path(p).parent == shared and Path(p).name.startswith(f"{label}-"), (key, p)
                assert Path(p).is_file(), (key, p)
    mine = json.loads((alone / "6-weeks-outputs.json").read_text())
    for key in ("ics", "csv", "visits_csv", "clinician_html"):
        assert (shared / Path(mine[key]).name).read_bytes() == Path(mine[key]).read_bytes(), key


def test_identified_and_deidentified_reports_share_one_folder(db: str, tmp_path: Path) -> None:
    """An identified and a de-identified report of one visit in one folder: the de-identified files carry
    '-deidentified' in their names, so neither run replaces the other's files (a de-identified folder silently got
    identified reports, or the reverse)."""
    rep = tmp_path / "rep"
    _run("report", "K-7", "--out", str(rep), "--today", TODAY, "--db", db, "--no-pdf")
    _run("report", "K-7", "--out", str(rep), "--deidentify", "--today", TODAY, "--db", db, "--no-pdf")
    ident = json.loads((rep / "6-months-outputs.json").read_text())
    deid = json.loads((rep / "6-months-deidentified-outputs.json").read_text())
    for key in ("clinician_html", "patient_html", "fhir", "csv", "visits_csv", "ics", "dicom_sr"):
        assert ident[key] != deid[key] and Path(ident[key]).is_file() and Path(deid[key]).is_file(), key
        assert "-deidentified-" in Path(deid[key]).name, key
    assert "MRN-555" in Path(ident["clinician_html"]).read_text()
    for key in ("clinician_html", "patient_html", "fhir", "csv", "visits_csv", "ics"):
        text = re.sub(r'src="data:[^"]*"', "", Path(deid[key]).read_text(errors="ignore"))  # not the film images
        assert "MRN-555" not in text and "Roe" not in text, key


def test_a_symptom_reported_since_the_latest_visit_is_a_red_flag_when_later_films_are_dated_after_today(
    db: str,
) -> None:
    """Films at 6 weeks, 3 months and 6 months (day 185); the report as of day 120 is the 3-month one (the 6-month
    films have not happened yet on that day), and a fever reported on day 100, after the 3-month visit, is its red
    flag. Before, the 6-month films (after today) closed the 3-month report's window at its visit: the fever was in
    no report."""
    from fusionwatch.report.build import build_report_data, red_flag_window

    today = SURGERY + dt.timedelta(days=120)
    store = Store(db)
    try:
        store.add_symptoms("K-7", SURGERY + dt.timedelta(days=100), ["fever"])
        data = build_report_data(store, "K-7", today=today)
        timeline = store.load_timeline("K-7")
    finally:
        store.close()
    assert data.visit.days_since_surgery == 92
    assert [(f.symptom.value, f.reported_on) for f in data.red_flags] == [("fever", SURGERY + dt.timedelta(days=100))]
    three_months = next(i for i, v in enumerate(timeline.visits) if v.days_since_surgery == 92)
    six_weeks = SURGERY + dt.timedelta(days=42)
    assert red_flag_window(timeline, three_months, today) == (six_weeks, today)  # reports after today: not yet
    # once the 6-month films have been taken, the 3-month report's window ends at its visit
    assert red_flag_window(timeline, three_months, SURGERY + dt.timedelta(days=185)) == (
        six_weeks, SURGERY + dt.timedelta(days=92))
    assert red_flag_window(timeline, three_months) == (six_weeks, SURGERY + dt.timedelta(days=92))


def test_a_symptom_report_s_note_reaches_the_clinician_report_and_care(db: str) -> None:
    """`symptoms add --note TEXT` is shown beside the red flags of the report it falls in and by `fusionwatch care`
    (it was stored and then shown nowhere); never in the patient report, and left out of a de-identified report (free
    text may name people)."""
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.render import render_clinician_html, render_patient_html

    note = "Temperature 38.6 at home, wound oozing since Sunday [per wife]; wife called"
    store = Store(db)
    try:
        store.add_symptoms("K-7", SURGERY + dt.timedelta(days=12), ["fever", "wound_drainage"], note=note)
        store.add_symptoms("K-7", SURGERY + dt.timedelta(days=60), ["constipation"], note="later, another report")
        data = build_report_data(store, "K-7", visit=1, today=dt.date.fromisoformat(TODAY))
    finally:
        store.close()
    html = render_clinician_html(data)
    assert note in html and "2026-01-22" in html
    assert "later, another report" not in html  # after this visit: the next report's
    assert note not in render_patient_html(data)
    de = data.deidentified()
    assert note not in render_clinician_html(de) and not de.symptom_notes
    out = CliRunner().invoke(app, ["care", "K-7", "--today", "2026-01-25", "--db", db], env={"COLUMNS": "250"})
    assert out.exit_code == 0 and note in out.output, out.output


def test_a_film_file_moved_since_ingest_is_named_as_missing_and_not_logged_by_uid(
    db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The current film's file was moved after ingest: the outputs say it is missing (they said 'is not a DICOM
    file'), and the log names neither its SOP Instance UID nor its path (a UID maps back to the patient; paths often
    carry names)."""
    import logging

    from fusionwatch.report.build import write_patient_outputs

    caplog.set_level(logging.DEBUG)
    store = Store(db)
    try:
        film = next(f for f in store.list_films("K-7") if f.visit_date == SURGERY + dt.timedelta(days=185))
        Path(film.file_path).rename(tmp_path / "moved.dcm")
        result = write_patient_outputs(store, "K-7", tmp_path / "out", today=dt.date.fromisoformat(TODAY), pdf=False)
    finally:
        store.close()
    text = " ".join(result.notes)
    assert "not a DICOM file" not in text
    assert "missing" in text and "6-months lateral film" in text, result.notes
    assert film.film_id not in caplog.text and film.file_path not in caplog.text


@pytest.mark.parametrize("deidentify", [False, True])
def test_the_dicom_exports_quote_no_value_of_the_source_film(
    db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, deidentify: bool
) -> None:
    """The SR and secondary capture read the source film's header again; an element value pydicom finds invalid (its
    Study Instance UID overwritten with a name and a birth date, as damaged bytes can do) is neither warned about nor
    logged. Before, 'fusionwatch report' printed pydicom's "Invalid value for VR UI: 'ZEBEDEE^QUUX 19610203'" on
    stderr and into the 'pydicom' log, once per read (the ingest's reader was made quiet in 0f5c0a1)."""
    import logging
    import warnings

    from fusionwatch.report.build import write_patient_outputs

    monkeypatch.setenv("FUSIONWATCH_DEID_SECRET", "s" * 40)
    store = Store(db)
    try:
        film = next(f for f in store.list_films("K-7") if f.visit_date == SURGERY + dt.timedelta(days=185))
        path = Path(film.file_path)
        study_uid = pydicom.dcmread(path).StudyInstanceUID.encode()
        path.write_bytes(path.read_bytes().replace(study_uid, b"ZEBEDEE^QUUX 19610203".ljust(len(study_uid))))
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG):
            warnings.simplefilter("always")
            result = write_patient_outputs(store, "K-7", tmp_path / "out", today=dt.date.fromisoformat(TODAY),
                                           pdf=False, deidentify=deidentify)
    finally:
        store.close()
    assert "dicom_sr" in result.files, result.notes
    assert [str(w.message) for w in caught if "ZEBEDEE" in str(w.message)] == []
    assert "ZEBEDEE" not in caplog.text


def test_a_garbage_study_uid_of_the_film_is_replaced_and_said(db: str, tmp_path: Path) -> None:
    """The 6-month film's Study Instance UID is not a UID (a name and a date in it, as a hand-edited header can have):
    the identified SR and secondary capture are written under one new, valid Study Instance UID and `fusionwatch
    report` says so, naming the film by visit and view, never quoting the value (before: written as found, silently,
    since pydicom's warning is silenced while exporting)."""
    from fusionwatch.export._uids import replacement_uid, uid_problem

    store = Store(db)
    try:
        film = next(f for f in store.list_films("K-7") if f.visit_date == SURGERY + dt.timedelta(days=185))
    finally:
        store.close()
    path = Path(film.file_path)
    study_uid = pydicom.dcmread(path).StudyInstanceUID.encode()
    garbage = b"ZEBEDEE^QUUX 19610203".ljust(len(study_uid))
    path.write_bytes(path.read_bytes().replace(study_uid, garbage))
    rep = tmp_path / "rep"
    result = CliRunner().invoke(app, ["report", "K-7", "--out", str(rep), "--today", TODAY, "--db", db, "--no-pdf"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    files = json.loads((rep / "6-months-outputs.json").read_text())
    new = replacement_uid("StudyInstanceUID", garbage.decode().strip(), ("patient", "K-7"))  # scoped to the patient
    for kind in ("dicom_sr", "dicom_sc"):
        ds = pydicom.dcmread(files[kind])
        assert ds.StudyInstanceUID == new and uid_problem(ds.StudyInstanceUID) is None, kind
        assert "ZEBEDEE" not in str(ds), kind
    (note,) = [n for n in files["notes"] if "Study Instance UID" in n]
    assert note.startswith("The 6-months lateral film's (0020,000D) Study Instance UID is not a valid DICOM UID")
    assert new in note and "ZEBEDEE" not in note
    assert "6-months lateral film's (0020,000D) Study Instance UID is not a valid" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["report", "K-7", "--out", str(rep), "--today", TODAY, "--db", db, "--no-pdf",
                                      "--deidentify"], env={"FUSIONWATCH_DEID_SECRET": "s" * 40})
    assert result.exit_code == 0, result.output
    files = json.loads((rep / "6-months-deidentified-outputs.json").read_text())
    assert not [n for n in files["notes"] if "UID" in n]  # every UID of the film is replaced when de-identified anyway
    assert uid_problem(pydicom.dcmread(files["dicom_sr"]).StudyInstanceUID) is None


def test_de_identified_reports_keep_the_tools_review_reasons_and_withhold_a_files(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review reasons by origin, as ingest stores them (each a 'landmark_review' finding beside the landmark version
    it measured): the detector's (an 'automatic' version), the checks' (in no version's needs_review) and a landmark
    file's free text (a 'file' version). De-identified HTML and FHIR show the first two and withhold the file's;
    identified, all three are shown. Before, de-identified reports withheld every landmark review reason."""
    from fusionwatch.records import Finding, Severity
    from fusionwatch.report.build import write_patient_outputs

    detector = "low model confidence at L5.inferior.anterior, S1.superior.posterior"
    check = "L5: height / depth = 0.12, outside 0.45-1.10."
    typed = "ZQFREE checked by Dr Quillon for ZEBEDEE^QUUX"
    monkeypatch.setenv("FUSIONWATCH_DEID_SECRET", "s" * 40)
    store = Store(db)
    try:
        d = SURGERY + dt.timedelta(days=270)
        for i, (kind, said) in enumerate([("automatic", (detector,)), ("file", (typed,))]):
            path = write_dicom(tmp_path / f"r{i}.dcm", spacing=(0.2, 0.2), study_date=d.strftime("%Y%m%d"),
                               view_position="LL", extra={"PatientID": "MRN-555"})
            uid = str(pydicom.dcmread(path).SOPInstanceUID)
            review = [Finding("landmark_review", Severity.INFO, r, films=(uid,)) for r in (*said, check)]
            store.add_film("K-7", read_radiograph(path), film_id=uid, file_path=str(path), file_sha256=f"r{i:063d}",
                           visit_date=d, landmark_kind=kind,
                           landmarks=Landmarks(dict(POINTS), 64, 64, source="model:x/1" if i == 0 else "file:x",
                                               needs_review=said),
                           measurements=_meas(8.0, 14.0), findings=review)
        out = {}
        for de in (False, True):  # the visit of both films (day 270)
            res = write_patient_outputs(store, "K-7", tmp_path / "out", deidentify=de, pdf=False,
                                        today=d + dt.timedelta(days=5))
            out[de] = "".join(Path(res.files[k]).read_text() for k in ("clinician_html", "fhir"))
    finally:
        store.close()
    import html as _html

    identified = _html.unescape(out[False])
    assert detector in identified and check in identified and typed in identified
    deid = _html.unescape(out[True])
    assert detector in deid and check in deid
    assert "ZQFREE" not in deid and "Quillon" not in deid and "reason withheld" in deid


def test_a_report_as_of_today_never_describes_a_later_visit(db: str, tmp_path: Path) -> None:
    """No films yet as of --today (day 30; films from day 42): the report was about the latest visit of all, the
    6-month one, months after 'today'. Now it is the latest visit on or before today (the day-14 questionnaire
    contact), as `fusionwatch care` chooses; with no visit by then it is an error line naming the first visit."""
    from fusionwatch.errors import InputError
    from fusionwatch.report.build import build_report_data, default_report_visit

    store = Store(db)
    try:
        store.add_prom("K-7", SURGERY + dt.timedelta(days=14), back_pain_nrs=5)
        data = build_report_data(store, "K-7", today=SURGERY + dt.timedelta(days=30))
        timeline = store.load_timeline("K-7")
    finally:
        store.close()
    assert data.visit.date == SURGERY + dt.timedelta(days=14)
    assert all(v.date <= SURGERY + dt.timedelta(days=30) for v in timeline.visits[: default_report_visit(
        timeline, SURGERY + dt.timedelta(days=30)) + 1])
    assert default_report_visit(timeline, SURGERY + dt.timedelta(days=50)) == 1  # the 6-week films (day 42)
    assert default_report_visit(timeline) == len(timeline.visits) - 1  # no today: the latest films
    with pytest.raises(InputError, match=r"No visit on or before 2026-01-15 .*the first is on 2026-01-24"):
        default_report_visit(timeline, SURGERY + dt.timedelta(days=5))
    r = CliRunner().invoke(app, ["report", "K-7", "--out", str(tmp_path / "out"), "--today", "2026-01-15",
                                 "--no-pdf", "--db", db])
    assert r.exit_code == 2 and "error: No visit on or before 2026-01-15" in " ".join(r.output.split()), r.output


def test_report_of_a_visit_holding_only_retracted_entries_is_an_error_line(db: str, tmp_path: Path) -> None:
    """`report --visit DATE` of a date whose only entry was retracted: the "no visit" error line, not StopIteration."""
    when = SURGERY + dt.timedelta(days=14)
    with Store(db) as store:
        rec = store.add_prom("K-7", when, back_pain_nrs=6)
        store.retract("K-7", "prom", rec.id, reason="wrong date", author="pa")
    r = CliRunner().invoke(app, ["report", "K-7", "--out", str(tmp_path / "r"), "--visit", when.isoformat(),
                                 "--no-pdf", "--today", TODAY, "--db", db])
    assert r.exit_code == 2, r.output
    assert f"has no visit {when.isoformat()}" in r.output and "Traceback" not in r.output


def test_an_entry_entered_in_error_is_shown_to_the_clinician_only(db: str) -> None:
    """A retracted red flag and a retracted reader status: the clinician report lists both under "Entered in error"
    (what, who, why) while counting neither (no red flag, no reader status); the patient report and the de-identified
    data carry none of it."""
    from fusionwatch.records import Override
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.render import render_clinician_html, render_patient_html

    store = Store(db)
    try:
        flag = store.add_symptoms("K-7", SURGERY + dt.timedelta(days=12), ["fever"])
        store.retract("K-7", "symptoms", flag.id, reason="entered for the wrong patient", author="pa-kim")
        films_day = SURGERY + dt.timedelta(days=92)
        status = store.add_override("K-7", Override("fusion_status", "fused_criteria_met", "dr-amy",
                                                    dt.datetime(2026, 4, 20, 9, 0)), visit=films_day)
        store.retract("K-7", "override", status.id, reason="read the wrong visit", author="dr-amy")
        data = build_report_data(store, "K-7", visit=films_day.isoformat(), today=dt.date.fromisoformat(TODAY))
    finally:
        store.close()
    assert not data.red_flags and data.visits[data.current].reader_status is None
    html = render_clinician_html(data)
    audit = html[html.index('id="entered-in-error"'):]
    assert "Entered in error (2)" in audit
    assert "entered for the wrong patient" in audit and "pa-kim" in audit and "fever" in audit
    assert "read the wrong visit" in audit and "fused_criteria_met" in audit
    assert "entered-in-error" not in render_patient_html(data) and "wrong patient" not in render_patient_html(data)
    de = data.deidentified()
    assert de.entered_in_error == () and "entered-in-error" not in render_clinician_html(de)


def test_the_patient_report_of_a_contact_without_films_says_no_xrays_were_taken(db: str) -> None:
    """A symptom report on day 20 is a visit without films: its patient report said 'These X-rays were taken 2 weeks
    after your surgery' and 'The computer check found no change ...' (the timeline knows the visit has no films)."""
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.patient_text import patient_text

    _run("symptoms", "add", "K-7", "--flag", "fever", "--date", (SURGERY + dt.timedelta(days=20)).isoformat(),
         "--db", db)
    store = Store(db)
    try:
        data = build_report_data(store, "K-7", visit=1, today=dt.date.fromisoformat(TODAY))
    finally:
        store.close()
    assert data.visit.days_since_surgery == 20 and data.visit.films_taken is False
    assert data.visits[1].films_taken is True
    said = " ".join(patient_text(data).xray_now)
    assert said.startswith("No X-rays were taken at this visit.") and "computer check" not in said


def test_a_film_s_file_name_in_a_needs_landmarks_reason_stays_out_of_de_identified_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A film ingested with a landmark file made for another image size is stored as 'needs landmarks' with the
    ingest's error as the reason: 'Landmarks unusable: The landmarks are for a 600 x 1400 px image but
    ZQNAME_Quux_lat.dcm is 300 x 700 px ...'. File names often carry the patient's name, and the de-identified
    clinician HTML and FHIR bundle printed it (dates shifted, nothing else). Now the reason is withheld there; the
    identified report still gives it."""
    from _synth import draw_lateral_spine
    from fusionwatch.io.landmark_json import write_landmarks
    from fusionwatch.report.model import NEEDS_LANDMARKS_WITHHELD

    monkeypatch.setenv("FUSIONWATCH_DEID_SECRET", "s" * 40)
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    img, lm = draw_lateral_spine(width=300, height=700, mm_per_px=0.5, seed=1)
    film = write_dicom(tmp_path / "ZQNAME_Quux_lat.dcm", img, spacing=(0.5, 0.5), study_date="20260301",
                       view_position="LL", extra={"PatientID": "MRN-9"})
    write_landmarks(Landmarks(dict(lm.points), 600, 1400), tmp_path / "ZQNAME_Quux_lat.landmarks.json")
    _run("patient", "add", "K-9", "--surgery-date", "2026-01-15", "--approach", "TLIF", "--db", db)
    _run("ingest", str(film), "--patient", "K-9", "--db", db)
    for de in (False, True):
        _run("report", "K-9", "--out", str(tmp_path / "out"), "--no-pdf", "--today", "2026-03-10", "--db", db,
             *(["--deidentify"] if de else []))
    import html as _html

    out = tmp_path / "out"
    identified = _html.unescape((out / "6-weeks-clinician.html").read_text())
    assert "Landmarks unusable" in identified and "ZQNAME_Quux_lat.dcm" in identified
    deidentified = [p for p in out.iterdir() if p.is_file() and "deidentified" in p.name]
    assert len(deidentified) >= 5
    for p in deidentified:
        assert "ZQNAME" not in p.read_text(errors="ignore"), p.name
    assert NEEDS_LANDMARKS_WITHHELD in _html.unescape((out / "6-weeks-deidentified-clinician.html").read_text())


def test_a_verdict_on_a_finding_no_longer_made_is_shown_with_why(db: str) -> None:
    """A reader confirmed a rod finding at the 6-month visit; the visit was analysed again (new landmarks after the
    verdict) and the tool no longer makes it. Before, the clinician report showed verdicts only beside findings that
    still exist: this one vanished from the chart silently. Now the report, the FHIR bundle and visits.csv keep it
    (what, who, when, that the tool no longer makes it and why); de-identified without the name or the note."""
    from fusionwatch.export.fhir import build_fhir_bundle
    from fusionwatch.export.visits import visit_rows
    from fusionwatch.records import Override
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.model import READER_TEXT_WITHHELD
    from fusionwatch.report.render import render_clinician_html

    when = SURGERY + dt.timedelta(days=185)
    store = Store(db)
    try:
        store.add_override("K-7", Override("finding:rod_discontinuity", "confirmed", "dr-amy",
                                           dt.datetime(2026, 7, 19, 9, tzinfo=dt.UTC), reason="gap seen by Dr Amy"),
                           visit=when)
        (film,) = [f for f in store.list_films("K-7") if f.visit_date == when]
        store.add_landmark_set(film.film_id, Landmarks(dict(POINTS), 240, 300, source="reader"), kind="reader",
                               author="dr-bob", measurements=_meas(8.6, 15.0))
        data = build_report_data(store, "K-7", today=when)
    finally:
        store.close()
    assert "rod_discontinuity" not in data.visit.refs
    html = " ".join(render_clinician_html(data).split())
    assert "Reader verdicts on findings the tool no longer makes at this visit (1)" in html
    row = html[html.index('id="verdicts-without-finding"'):]
    assert "rod_discontinuity" in row and "<b>confirmed</b> — dr-amy, 2026-07-19: gap seen by Dr Amy" in row
    assert "new landmarks (a reader&#39;s) on the 6-months lateral film" in row, row
    (vrow,) = [r for r in visit_rows(data) if r["visit"] == "6-months"]
    assert vrow["verdicts_without_finding"] == "rod_discontinuity (reader: confirmed, no longer made)"
    notes = [n["text"] for e in build_fhir_bundle(data)["entry"] for n in e["resource"].get("note", ())]
    assert any("confirmed on finding rod_discontinuity" in n and "no longer makes" in n and "new landmarks" in n
               for n in notes), notes
    de = data.deidentified()
    dhtml = " ".join(render_clinician_html(de).split())
    drow = dhtml[dhtml.index('id="verdicts-without-finding"'):]
    assert "rod_discontinuity" in drow and "<b>confirmed</b> — reader" in drow and READER_TEXT_WITHHELD.replace(
        "'", "&#39;") in drow
    assert "dr-amy" not in dhtml and "Dr Amy" not in dhtml and "2026-07-19" not in dhtml
    dnotes = [n["text"] for e in build_fhir_bundle(data, deidentify=True)["entry"]
              for n in e["resource"].get("note", ())]
    assert any("no longer makes" in n for n in dnotes) and not any("Amy" in n for n in dnotes)


def test_a_red_flag_reported_weeks_before_the_visit_is_an_earlier_report_not_act_now(db: str) -> None:
    """A fever reported 12 days after surgery is a red flag of the 6-week report (30 days later). Before, the patient
    report put it under 'Act now about what you told us ... call today' as if it were new. It is never dropped: it is
    listed with its date as reported earlier, with what to do now if it is still happening or comes back (at its own
    urgency), and the clinician report marks it as an earlier report. A wound drainage reported 2 days before the
    visit (within RED_FLAG_RECENT_DAYS) stays 'Act now'."""
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.model import RED_FLAG_RECENT_DAYS
    from fusionwatch.report.patient_text import patient_text
    from fusionwatch.report.render import render_clinician_html, render_patient_html

    store = Store(db)
    try:
        store.add_symptoms("K-7", SURGERY + dt.timedelta(days=12), ["fever"])
        store.add_symptoms("K-7", SURGERY + dt.timedelta(days=40), ["wound_drainage"])
        data = build_report_data(store, "K-7", visit="6-weeks", today=dt.date.fromisoformat(TODAY))
    finally:
        store.close()
    assert RED_FLAG_RECENT_DAYS < 30
    assert {f.symptom.value for f in data.red_flags} == {"fever", "wound_drainage"}  # never dropped
    t = patient_text(data)
    assert [r.symptom.value for r in t.your_red_flags] == ["wound_drainage"]
    assert [r.symptom.value for r in t.your_earlier_red_flags] == ["fever"]
    page = " ".join(render_patient_html(data).split())
    act_now = page[page.index("Act now about what you told us"):page.index("Warning signs you told us about before")]
    assert "Fluid or pus coming out of the wound" in act_now and "Fever" not in act_now
    earlier = page[page.index("Warning signs you told us about before"):page.index("<h1>")]
    fever = next(r for r in data.red_flags if r.symptom.value == "fever").patient_text
    assert (f"{fever}</b>, which you told us about on January 22, 2026. If this is still happening, "
            "or if it comes back, call your surgeon&#39;s office now.") in earlier, earlier
    assert "call your surgeon's office today" not in earlier.lower().replace("&#39;", "'")
    clin = " ".join(render_clinician_html(data).split())
    flags = clin[clin.index('id="red-flags"'):clin.index("<h1>")]
    assert "Red flags reported (1) — act before reading on" in flags
    assert "fever <span class=\"small\"><b>earlier report</b> (reported 2026-01-22, 30 days before" in flags, flags
    # only an earlier one: the clinician's box says so, the patient's has no 'Act now'
    only = type(data)(**{**data.__dict__, "red_flags": tuple(r for r in data.red_flags if r.symptom.value == "fever")})
    assert "Act now" not in render_patient_html(only)
    assert "Red flags reported earlier (1)" in render_clinician_html(only)
    de = data.deidentified()
    assert [r.symptom.value for r in de.earlier_red_flags] == ["fever"]  # the day it is judged against shifts too


def test_an_emergency_red_flag_reported_earlier_keeps_its_emergency_action(tmp_path: Path) -> None:
    """An emergency sign reported earlier is told as earlier, but what to do if it is still there is the emergency
    action, never a phone call."""
    from dataclasses import replace

    from fusionwatch.care.triage import triage
    from fusionwatch.report.example import example_report_data
    from fusionwatch.report.patient_text import patient_text

    data = example_report_data(tmp_path)
    day = data.generated_on - dt.timedelta(days=20)
    data = replace(data, red_flags=tuple(replace(r, reported_on=day) for r in triage(["saddle_numbness"])))
    t = patient_text(data)
    assert t.your_red_flags == () and len(t.your_earlier_red_flags) == 1
    assert "emergency department now" in t.earlier_action(t.your_earlier_red_flags[0])


def test_dicom_header_values_stay_out_of_de_identified_outputs_and_the_annotated_film(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewer R's F1: a film whose Pixel Spacing, magnification factor and Acquisition Date hold text had that text
    quoted in its warnings ("Acquisition Date (0008,0022) 'QZAD1961' is not a valid date"), which reached the
    de-identified clinician report and FHIR, and was drawn into the annotated film (shared by de-identified reports
    and secondary captures, Burned In Annotation NO). Now the readers name the attribute, not its value; and a warning
    stored by the older readers is rewritten the same way wherever it is drawn or de-identified."""
    import fusionwatch.report.overlay as overlay
    from _synth import draw_lateral_spine
    from fusionwatch.ingest import ingest
    from fusionwatch.io.landmark_json import write_landmarks
    from fusionwatch.report.build import build_report_data, write_patient_outputs

    monkeypatch.setenv("FUSIONWATCH_DEID_SECRET", "s" * 40)
    drawn: list[str] = []
    real = overlay.save_overlay

    def spy(*a, **k):  # noqa: ANN002, ANN003, ANN202 - the overlay's own signature
        drawn.extend(k.get("warnings") or ())
        return real(*a, **k)

    monkeypatch.setattr(overlay, "save_overlay", spy)
    folder = tmp_path / "in"
    folder.mkdir()
    px, lm = draw_lateral_spine(seed=1)
    write_dicom(folder / "f.dcm", px, view_position="LL", study_date="20250301", spacing=("QZSPA", "QZSPB"),
                magnification="QZMAG", acquisition_date="QZAD1961", extra={"PatientID": "PID-1"})
    write_landmarks(lm, folder / "f.landmarks.json")
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        store.add_patient(Patient("K", patient_id="PID-1"))
        store.set_surgery("K", Surgery(dt.date(2025, 1, 10)))
        ingest([folder], store)
        (film,) = store.list_films("K")
        assert "Pixel Spacing (0028,0030) is not numeric; ignored." in film.warnings
        assert not any("QZSP" in w or "QZMAG" in w for w in film.warnings), film.warnings  # the date: for ingest
        # a film stored by the older readers: its warnings quote the header's values
        old = ("Acquisition Date (0008,0022) '01.03.2025' is not a valid date (YYYYMMDD); ignored.",
               "Pixel Spacing (0028,0030) ['QZSPA', 'QZSPB'] is not numeric; ignored.")
        radiograph = read_radiograph(film.file_path)
        store.add_landmark_set(film.film_id, store.current_landmarks(film.film_id).landmarks, kind="file",
                               radiograph=type(radiograph)(**{**{f: getattr(radiograph, f) for f in
                                                                  radiograph.__dataclass_fields__},
                                                              "warnings": old}))
        assert set(old) <= set(store.list_films("K")[0].warnings)
        data = build_report_data(store, "K", today=dt.date(2025, 3, 5))
        res = write_patient_outputs(store, "K", tmp_path / "out", deidentify=True, pdf=False,
                                    today=dt.date(2025, 3, 5))
    finally:
        store.close()
    text = re.sub(r"data:[^\"]*", "", "".join(Path(res.files[k]).read_text() for k in ("clinician_html", "fhir")))
    assert drawn and not any("QZ" in w or "01.03.2025" in w for w in drawn), drawn
    assert "QZ" not in text and "01.03.2025" not in text and "[date removed]" not in text
    assert "Pixel Spacing (0028,0030) is not numeric; ignored." in text
    assert any("QZSPA" in r for r in data.visit.review)  # the identified chart keeps what the film said


def test_a_contact_without_films_speaks_of_the_latest_x_rays_not_of_these_ones(db: str) -> None:
    """Reviewer R's F11: a symptom contact after films that suggest non-union read 'No X-rays were taken at this
    visit', then 'By 1 year, the two bones are usually joined.' (the contact's own status: none) and 'talk about these
    X-rays'. Now the healing text follows the status the care advice follows (the latest films), named by their date,
    and the sooner-sentence speaks of the latest X-rays."""
    from fusionwatch.records import Override
    from fusionwatch.report.build import build_report_data
    from fusionwatch.report.patient_text import patient_text

    films = SURGERY + dt.timedelta(days=185)
    contact = SURGERY + dt.timedelta(days=330)
    store = Store(db)
    try:
        store.add_override("K-7", Override("fusion_status", "pseudarthrosis_suspected", "amy",
                                           dt.datetime(2026, 7, 15, tzinfo=dt.UTC)), visit=films)
        store.add_symptoms("K-7", contact, ["poor_sleep"])
        data = build_report_data(store, "K-7", visit=contact.isoformat(), today=contact + dt.timedelta(days=1))
    finally:
        store.close()
    t = patient_text(data)
    assert t.xray_now[0].startswith("No X-rays were taken at this visit")
    healing = " ".join(t.healing_vs_expected)
    assert healing.startswith("Your latest X-rays were taken on July 14, 2026. The X-rays do not yet show the two "
                              "bones joined."), healing
    assert "By 1 year, the two bones are usually joined." not in healing
    assert t.appointment_note and all("these X-rays" not in s for s in t.appointment_note)
    assert "your latest X-rays (taken on July 14, 2026)" in t.appointment_note[0]
