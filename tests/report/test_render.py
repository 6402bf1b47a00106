"""Tests for report/render.py and report/patient_text.py on a hand-built patient with four visits."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from pathlib import Path

import pytest

from fusionwatch.errors import InputError
from fusionwatch.records import FusionStatus
from fusionwatch.report import (
    CARE_TEAM_SENTENCE,
    patient_text,
    render_clinician_html,
    render_patient_html,
    write_reports,
)
from fusionwatch.report.example import example_report_data as make_patient
from fusionwatch.report.model import ReportData


def _body(page: str) -> str:
    return page[page.index("<body"):]


def _text(page: str) -> str:
    body = _body(page)
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    body = re.sub(r'src="data:[^"]*"', "", body)
    # an argument's pieces (render.unbroken_args: spans joined by <wbr>) read as one word, as a browser shows them
    body = re.sub(r'<span class="arg">(.*?)</span>(?= |</code>)',
                  lambda m: re.sub(r"</?span>|<wbr>", "", m.group(1)), body, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


class TestClinician:
    def test_red_flags_come_before_anything_else(self, patient: ReportData) -> None:
        body = _body(render_clinician_html(patient))
        first = re.search(r"<(section|h1|h2|table|div|p)\b[^>]*>", body[5:])
        assert first is not None and 'id="red-flags"' in first.group(0)
        assert body.index("saddle numbness") < body.index("<h1")
        # emergency listed before urgent
        assert body.index("saddle numbness") < body.index("fever")

    def test_red_flag_shown_even_when_films_look_fused(self, tmp_path: Path) -> None:
        d = make_patient(tmp_path, status=FusionStatus.FUSED_CRITERIA_MET, red_flags=("urinary_retention",))
        body = _body(render_clinician_html(d))
        assert body.index("urinary retention") < body.index("usion criteria met")  # either wording

    def test_no_red_flags_says_so_first(self, tmp_path: Path) -> None:
        d = make_patient(tmp_path, red_flags=())
        body = _body(render_clinician_html(d))
        assert body.index("Red flags: none reported") < body.index("<h1")

    def test_routine_symptom_is_not_a_red_flag(self, tmp_path: Path) -> None:
        d = make_patient(tmp_path, red_flags=("pain_not_improving",))
        body = _body(render_clinician_html(d))
        assert body.index("Red flags: none reported") < body.index("<h1")
        assert "act before reading on" not in body
        routine = body[body.index('id="routine-symptoms"'):body.index("<h1")]
        assert "pain not improving" in routine and "routine" in routine

    def test_routine_symptom_listed_after_red_flags(self, tmp_path: Path) -> None:
        d = make_patient(tmp_path, red_flags=("fever", "pain_not_improving"))
        body = _body(render_clinician_html(d))
        flags = body[body.index('id="red-flags"'):body.index('id="routine-symptoms"')]
        assert "Red flags reported (1)" in flags and "fever" in flags and "pain not improving" not in flags

    def test_contents(self, patient: ReportData) -> None:
        text = _text(render_clinician_html(patient))
        for needle in ("Delayed union suspected", "on track", "Dr Reader", "Disc height L5-S1 fell 2.6 mm",
                       "8.4 mm", "-2.6 mm", "subsidence: loss > 2 mm", "2.1 deg ± 0.8", "Baseline: 6-weeks",
                       "Current: 6-months", "MCID 12.8 met", "missed", "EXAMPLE"):
            assert needle in text, needle
        page = render_clinician_html(patient)
        assert page.count("data:image/png;base64,") >= 4  # 2 films + 2 trend plots

    def test_uncalibrated_shows_px_never_mm(self, uncalibrated_patient: ReportData) -> None:
        text = _text(render_clinician_html(uncalibrated_patient))
        assert "8.4 px" in text and "Film not calibrated" in text
        # no measured value labelled mm (rules such as "> 2 mm" are thresholds, not values of this film)
        assert not re.search(r"\d\.\d+ mm\b", text)
        assert "needs a calibrated film" in text

    @pytest.mark.parametrize("size", ["A4", "Letter"])
    def test_page_size(self, patient: ReportData, size: str) -> None:
        assert f"size: {size};" in render_clinician_html(patient, page_size=size)

    def test_bad_page_size_raises(self, patient: ReportData) -> None:
        with pytest.raises(InputError, match="Page size must be one of A4, Letter, got 'A3'"):
            render_clinician_html(patient, page_size="A3")

    def test_deidentified_has_no_identifiers(self, patient: ReportData) -> None:
        page = re.sub(r'src="data:[^"]*"', "", render_clinician_html(patient.deidentified()))
        for ident in ("Doe", "Jane", "MRN-778899", "1961", "2026-"):
            assert ident not in page, ident
        assert "2000-01-01" in page  # surgery shifted to the anchor date


class TestPatient:
    def test_precedence_sentence_and_red_flags_first(self, patient: ReportData) -> None:
        body = _body(render_patient_html(patient))
        assert CARE_TEAM_SENTENCE in _text(body)
        assert body.index('id="red-flags"') < body.index("<h1")
        assert "Numbness between the legs" in body[: body.index("<h1")]

    def test_no_mm_when_uncalibrated(self, uncalibrated_patient: ReportData) -> None:
        text = _text(render_patient_html(uncalibrated_patient))
        assert not re.search(r"\bmm\b|millimet", text)
        assert "take precedence" in text

    def test_reader_status_used_and_never_overclaims(self, tmp_path: Path) -> None:
        d = make_patient(tmp_path, status=FusionStatus.FUSED_CRITERIA_MET)
        d = ReportData(**{**d.__dict__, "visits": d.visits[:3] + (
            d.visits[3].__class__(**{**d.visits[3].__dict__, "reader_status": None, "bridging_call": "bridged"}),)})
        t = patient_text(d).all_text()
        assert "meet the signs of a solid fusion" in t and "surgeon will confirm" in t
        assert not re.search(r"\b(is|are|has) fused\b", t)

    def test_no_unexplained_abbreviations(self, patient: ReportData) -> None:
        text = patient_text(patient).all_text()
        for abbr in ("ODI", "NRS", "PT ", "NSAID", "MCID", "SCB", "L5", "S1", "TLIF", "DVT", "CT "):
            if abbr.strip() == "CT":
                continue  # "CT scan" is always followed by its explanation
            assert abbr not in text, abbr

    def test_reading_level_about_grade_8(self, patient: ReportData) -> None:
        """Flesch-Kincaid grade of the whole patient text stays <= 9 (grade-8 aim, simple syllable counter)."""
        text = patient_text(patient).all_text()
        sentences = [s for s in re.split(r"[.!?:\n]+", text) if s.strip()]
        words = re.findall(r"[A-Za-z']+", text)

        def syl(w: str) -> int:
            w = w.lower().rstrip("e")
            return max(1, len(re.findall(r"[aeiouy]+", w)))

        grade = 0.39 * len(words) / len(sentences) + 11.8 * sum(map(syl, words)) / len(words) - 15.59
        assert grade <= 9.0, grade

    def test_sections_present(self, patient: ReportData) -> None:
        t = patient_text(patient)
        assert t.xray_now and t.healing_vs_expected and t.warning_signs and t.appointments
        assert any("spacer" in s for s in t.xray_now)  # the subsidence finding in plain words
        # the missed 2-week wound check is not pushed to the patient at 6 months
        assert not any("wound" in w.lower() for _, w in t.appointments)
        assert t.warning_signs[0][1].startswith("Call your emergency number")


def test_write_reports_pdfs(patient: ReportData, tmp_path: Path) -> None:
    files = write_reports(patient, tmp_path / "out", deidentify=True)
    for p in files.all():
        assert p.is_file() and p.stat().st_size > 1000
    for pdf in (files.clinician_pdf, files.patient_pdf):
        raw = pdf.read_bytes()
        assert raw.startswith(b"%PDF") and raw.rstrip().endswith(b"%%EOF")
    assert files.clinician_pages >= 1 and files.patient_pages >= 1


def test_caution_when_union_in_doubt(tmp_path: Path) -> None:
    """Suspected pseudarthrosis (no reader status): the protocol's fusion-concern lines come first."""
    d = make_patient(tmp_path, status=FusionStatus.PSEUDARTHROSIS_SUSPECTED)
    d = ReportData(**{**d.__dict__, "visits": d.visits[:3] + (
        d.visits[3].__class__(**{**d.visits[3].__dict__, "reader_status": None}),)})
    t = patient_text(d)
    assert t.do_now[0] == "Your surgeon will tell you which activities are safe for you now."
    assert any("CT scan" in s for s in t.xray_now)


def test_advice_hold_back_reason_uses_the_status_label(tmp_path: Path) -> None:
    """The clinician report says why the on-track lines are withheld in its own status words ("Pseudarthrosis
    suspected"), not the raw status word ("pseudarthrosis suspected")."""
    d = make_patient(tmp_path, status=FusionStatus.PSEUDARTHROSIS_SUSPECTED)
    d = ReportData(**{**d.__dict__, "visits": d.visits[:3] + (
        d.visits[3].__class__(**{**d.visits[3].__dict__, "reader_status": None}),)})
    text = _text(render_clinician_html(d))
    assert "Fusion not confirmed on track (status: Pseudarthrosis suspected" in text
    assert "status: pseudarthrosis suspected" not in text


def test_deidentified_shifts_dates_inside_text(tmp_path: Path) -> None:
    d = make_patient(tmp_path)
    d = ReportData(**{**d.__dict__, "baseline_note": "Baseline: the 6-weeks film (2026-02-21)."})
    page = render_clinician_html(d.deidentified())
    assert "2026-02-21" not in page and "2000-02-12" in page  # day 42 after the shifted surgery date


def test_measurement_behind_a_finding_is_marked(patient: ReportData) -> None:
    page = render_clinician_html(patient)
    row = re.search(r'<tr class="flag flag-action"><td>Disc height L5-S1, mean', page)
    assert row is not None
    assert page.count('class="flag ') == 1


class TestPatientFunctionWording:
    """Improvement in daily activities is worded by its size against the MCID (12.8 ODI points, CLINICAL.md)."""

    @staticmethod
    def _with_odi(patient: ReportData, pre_sum: int, post_sum: int) -> ReportData:
        import dataclasses
        import datetime as dt

        from fusionwatch.care.proms import PromRecord

        surgery = patient.surgery.date

        def answers(total: int) -> tuple[int | None, ...]:
            base, extra = divmod(total, 10)
            return tuple(base + (1 if i < extra else 0) for i in range(10))

        proms = (
            PromRecord(surgery - dt.timedelta(days=14), answers(pre_sum)),
            PromRecord(surgery + dt.timedelta(days=42), answers(post_sum)),
        )
        return dataclasses.replace(patient, proms=proms)

    def test_small_improvement_is_a_little(self, patient: ReportData) -> None:
        t = patient_text(self._with_odi(patient, 28, 25)).all_text()  # 56 % -> 50 %: 6 points, under the MCID
        assert "a little more than before surgery" in t
        assert "clearly more" not in t and "real difference" not in t

    def test_improvement_past_the_mcid_is_clear(self, patient: ReportData) -> None:
        t = patient_text(self._with_odi(patient, 30, 15)).all_text()  # 60 % -> 30 %: 30 points
        assert "clearly more than before surgery" in t and "real difference" in t


def test_one_plain_sentence_per_kind_of_hardware_change(patient: ReportData) -> None:
    """Two loose-screw findings (both S1 screws, or the angle and the halo of one screw) read as one sentence."""
    import dataclasses

    from fusionwatch.records import Finding, Severity
    from fusionwatch.report.patient_text import FINDING_PLAIN

    loose = [
        Finding("screw_loosening_suspected", Severity.WATCH, f"S1 screw {i}", {}, "halo > 1 mm", ("f.dcm",))
        for i in range(3)
    ]
    visit = dataclasses.replace(patient.visit, findings=(*patient.visit.findings, *loose))
    visits = tuple(visit if i == patient.current else v for i, v in enumerate(patient.visits))
    text = patient_text(dataclasses.replace(patient, visits=visits)).all_text()
    assert text.count(FINDING_PLAIN["screw_loosening"]) == 1


def _at(patient: ReportData, **changes) -> ReportData:  # noqa: ANN003
    import dataclasses

    visit = dataclasses.replace(patient.visit, **changes)
    return dataclasses.replace(patient, visits=(*patient.visits[:-1], visit))


def test_motion_criterion_by_level(patient: ReportData) -> None:
    """The fusion criterion (< 3 deg) is for the fused segment; L4-L5 moves by design and is held against AOMSI."""
    d = _at(patient, motion=({"level": "L4-L5", "angle_deg": 11.0, "angle_sd_deg": 0.3, "translation_mm": 1.1,
                              "translation_sd": 0.2},
                             {"level": "L5-S1", "angle_deg": 2.1, "angle_sd_deg": 0.4, "translation_mm": 0.9}))
    page = render_clinician_html(d)
    l45 = re.search(r"<tr><td>L4-L5</td>.*?</tr>", page, re.S).group(0)
    l5s1 = re.search(r"<tr><td>L5-S1 \(operated\)</td>.*?</tr>", page, re.S).group(0)
    assert "instability if &gt; 20 deg or &gt; 4.5 mm (AOMSI)" in l45 and "&lt; 3 deg" not in l45
    assert "1.1 mm ± 0.2" in l45
    assert "operated segment, fusion criterion: &lt; 3 deg and &lt; 3 mm" in l5s1
    assert "(fused)" not in page  # the segment is not called fused before the evidence says so
    assert "Angular motion (± 1 SD)" in page and "Translation (± 1 SD)" in page  # not to be read as a 95 % interval


def test_motion_uncalibrated_uses_percent_rule(uncalibrated_patient: ReportData) -> None:
    page = render_clinician_html(uncalibrated_patient)
    assert "&lt; 8 % of the endplate (film not calibrated)" in page


def test_implant_finding_names_its_films_and_values(patient: ReportData) -> None:
    from fusionwatch.records import Finding, Severity

    rod = Finding("rod_fracture_suspected", Severity.ACTION, "Rod discontinuity: a 1.3 mm gap in the rod.",
                  {"gap_px": 4.12, "gap_mm": 1.32, "new_since_baseline": True}, "any gap", ("ap-6w", "ap-12m"))
    halo = Finding("screw_loosening_suspected", Severity.WATCH, "S1 screw halo.",
                   {"halo_mm": 1.68, "threshold_mm": 1.0}, "> 1.0 mm halo", ("ap-6w", "ap-12m"))
    import dataclasses

    d = dataclasses.replace(_at(patient, findings=(rod, halo)),
                            film_labels={"ap-6w": "6-weeks AP film", "ap-12m": "12-months AP film"})
    page = render_clinician_html(d)
    assert "films: 6-weeks AP film → 12-months AP film; rod gap 1.3 mm (4.1 px), new since the baseline film" in page
    assert "halo 1.7 mm vs &gt; 1.0 mm" in page
    # de-identified: film ids and values are removed, so no evidence line (and no ids)
    assert "ap-12m" not in render_clinician_html(d.deidentified())


def test_uncalibrated_rod_gap_in_px_only(patient: ReportData) -> None:
    from fusionwatch.records import Finding, Severity

    rod = Finding("rod_fracture_suspected", Severity.ACTION, "Rod gap.", {"gap_px": 4.12, "gap_mm": None}, "any gap",
                  ("a", "b"))
    page = render_clinician_html(_at(patient, findings=(rod,)))
    assert "rod gap 4.1 px" in page and "rod gap 4.1 px (" not in page


def test_clinician_sees_withheld_on_track_lines(patient: ReportData) -> None:
    """The example's 6-month visit has a cage-subsidence finding: the on-track lines are withheld, and said so."""
    page = render_clinician_html(patient)
    assert "Fusion not confirmed on track" in page and "finding: cage subsidence" in page
    assert "Withheld (only while fusion is on track)" in page
    assert "Return to full activity as fusion is confirmed." in page.split("Withheld")[1]
    fused = render_clinician_html(_at(patient, findings=(), fusion_status=FusionStatus.FUSED_CRITERIA_MET,
                                      reader_status=None))  # automatic: the activity line waits for a reader (F18)
    assert "Return to full activity as fusion is confirmed." in fused.split("Withheld")[1]
    assert "fusion criteria met (automatic) not confirmed by a reader" in fused


def test_rule_column_shows_the_threshold_as_written_at_the_source(patient: ReportData) -> None:
    """No display-time filtering: the rule column is the finding's threshold text itself (the sources cite their
    criteria; see test_no_text_source_names_an_internal_document)."""
    from fusionwatch.records import Finding, Severity

    rule = "any gap between collinear rod pieces (rod fracture or disconnection; setting rod_gap_px)"
    f = Finding("rod_fracture_suspected", Severity.ACTION, "Rod gap.", {}, rule)
    page = render_clinician_html(_at(patient, findings=(f,)))
    assert rule in page


def _docstring_ids(tree) -> set[int]:
    import ast

    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
        for prev, cur in zip(body, body[1:], strict=False):  # attribute docstrings
            if isinstance(prev, (ast.Assign, ast.AnnAssign)) and isinstance(cur, ast.Expr) and isinstance(
                cur.value, ast.Constant
            ):
                ids.add(id(cur.value))
    return ids


def test_no_text_source_names_an_internal_document() -> None:
    """Every string (not docstring) of the packages whose texts reach the reports and exports — findings and
    thresholds (followup, implants, motion), report and export texts, templates — names no project document."""
    import ast
    from pathlib import Path

    import fusionwatch

    root = Path(fusionwatch.__file__).parent
    hits, seen = [], 0
    for pkg in ("followup", "implants", "motion", "report", "export", "care"):
        for path in sorted((root / pkg).rglob("*.py")):
            seen += 1
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docs = _docstring_ids(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                    hits += [f"{path.relative_to(root)}:{node.lineno}" for d in ("CLINICAL.md", "DESIGN.md",
                                                                                "STYLE.md") if d in node.value]
        for path in sorted((root / pkg).rglob("*.j2")):
            seen += 1
            hits += [str(path.relative_to(root)) for d in ("CLINICAL.md", "DESIGN.md") if d in path.read_text()]
    assert not hits, hits
    assert seen >= 30  # the walk saw the packages


def test_patient_report_acknowledges_a_routine_symptom_with_what_to_do(tmp_path: Path) -> None:
    """A routine symptom the patient reported is not silently dropped: it is named, with what to do."""
    d = make_patient(tmp_path, red_flags=("pain_not_improving",))
    text = _text(render_patient_html(d))
    assert "What else you told us" in text
    assert "Pain that is not getting better. Tell your care team at your next visit" in text
    assert "Act now" not in text  # still no red-flag box


def test_patient_warning_signs_read_as_sentences(patient: ReportData) -> None:
    """Each warning-sign box reads "If you have any of these: <action>", never "...now. if you have:"."""
    text = _text(render_patient_html(patient))
    assert ". if you have" not in text
    assert text.count("If you have any of these:") == len({a for _, a in patient_text(patient).warning_signs})


def test_missed_visit_says_what_the_tool_knows(patient: ReportData) -> None:
    """'missed' means no contact on record in the window (the tool does not know visits it was not told of)."""
    text = _text(render_clinician_html(patient))
    assert "Wound check" in text
    assert "missed (no contact on record in the window)" in text


def test_clinician_header_marks_the_family_name(patient: ReportData) -> None:
    from fusionwatch.report.render import chart_name

    assert chart_name("Doe^Jane") == "DOE, Jane" and chart_name("Doe") == "Doe" and chart_name(None) is None
    text = _text(render_clinician_html(patient))
    assert "DOE, Jane" in text and "Doe Jane" not in text
    deid = _text(render_clinician_html(patient.deidentified())).lower()
    assert "doe" not in deid and "jane" not in deid


def test_reader_verdict_on_a_finding_is_shown_beside_it(tmp_path: Path) -> None:
    """`override --finding cage_subsidence=rejected` is shown under the tool's finding (which stays), also
    de-identified (author replaced, date shifted)."""
    import dataclasses
    import datetime as dt

    from fusionwatch.records import Override

    d = make_patient(tmp_path)
    verdict = Override("finding:cage_subsidence", "rejected", "Dr Amy", dt.datetime(2026, 7, 16, 8, 0, tzinfo=dt.UTC),
                       "endplate fracture on CT, not subsidence")
    visits = list(d.visits)
    visits[3] = dataclasses.replace(visits[3], finding_verdicts={"cage_subsidence": verdict})
    d = dataclasses.replace(d, visits=tuple(visits))
    text = _text(render_clinician_html(d))
    assert "Disc height L5-S1 fell 2.6 mm" in text
    assert "Reader: rejected — Dr Amy, 2026-07-16: endplate fracture on CT, not subsidence" in text
    deid = _text(render_clinician_html(d.deidentified()))
    assert "Reader: rejected — reader, 2000-" in deid and "Dr Amy" not in deid


def test_a_finding_the_reader_rejected_is_not_told_to_the_patient_nor_holds_back_advice(tmp_path: Path) -> None:
    import dataclasses
    import datetime as dt

    from fusionwatch.records import Override

    d = make_patient(tmp_path, status=FusionStatus.ON_TRACK)
    settled = "has sunk into the bone"  # the cage-subsidence sentence
    assert any(settled in s for s in patient_text(d).xray_now) and d.care_advice.concern_reasons
    no = Override("finding:cage_subsidence", "rejected", "amy", dt.datetime(2026, 7, 16, tzinfo=dt.UTC), "")
    visits = list(d.visits)
    visits[3] = dataclasses.replace(visits[3], finding_verdicts={"cage_subsidence": no})
    d = dataclasses.replace(d, visits=tuple(visits))
    assert not any(settled in s for s in patient_text(d).xray_now)
    assert not any("subsidence" in r.value for r in d.care_advice.concern_reasons)
    assert "Disc height L5-S1 fell 2.6 mm" in _text(render_clinician_html(d))  # the clinician still sees it


def test_a_change_of_meyerding_grade_is_a_number_of_grades() -> None:
    """Δ of a grade: +1 / -1 / 0, never a roman numeral (a fall of one grade was printed "I")."""
    from fusionwatch.report.render import _fmt
    from fusionwatch.units import Unit

    assert [_fmt(v, Unit.GRADE, True) for v in (1.0, -1.0, 0.0)] == ["+1", "-1", "0"]
    assert [_fmt(v, Unit.GRADE) for v in (0.0, 1.0, 2.0)] == ["0", "I", "II"]


def test_clinician_label_of_a_fused_status_says_what_was_assessed(still_at_12_months) -> None:  # noqa: ANN001
    """Motion below the thresholds and no reader's bridging grade: the label says the criteria are met on motion
    and bridging bone was not assessed; with a reader's bridging fraction, the full label."""
    from fusionwatch.followup import BoneEvidence

    _, d = still_at_12_months()
    page = render_clinician_html(d)
    assert "Fusion criteria met on motion; bridging bone not assessed (reader to grade; confirm clinically)" in page
    assert "Radiographic fusion criteria met" not in page
    assert "bridging bone not assessed" in render_clinician_html(d.deidentified())
    _, graded = still_at_12_months(BoneEvidence(bridging_fraction=0.8, source="reader:amy"))
    page = render_clinician_html(graded)
    assert "Radiographic fusion criteria met (confirm clinically)" in page and "criteria met on motion" not in page


def test_appointment_dates_do_not_wrap(tmp_path: Path) -> None:
    """The patient's appointment dates are kept on one line ('Around / September 1, / 2025' broke into three)."""
    from fusionwatch.report.example import example_report_data
    from fusionwatch.report.render import render_patient_html

    page = render_patient_html(example_report_data(tmp_path))
    assert '<td class="when">Around ' in page
    assert re.search(r"td\.when\s*\{\s*white-space:\s*nowrap", page)


def test_every_automatic_finding_says_how_a_reader_overrides_it(tmp_path: Path) -> None:
    """Each finding without a reader verdict shows the `fusionwatch override` line with its kind (the KIND the command
    needs, not shown anywhere else), and the reader box shows how to enter a status; a de-identified report, whose key
    and dates are not the store's, gives no command."""
    import dataclasses

    d = make_patient(tmp_path)
    visits = list(d.visits)
    i = visits.index(d.visit)
    visits[i] = dataclasses.replace(visits[i], reader_status=None)
    d = dataclasses.replace(d, visits=tuple(visits))
    findings = d.visit.findings
    assert findings and d.visit.reader_status is None, "the example visit has findings"
    text = _text(render_clinician_html(d))
    visit = d.visit.label if " " not in d.visit.label else d.visit.date.isoformat()
    head = f"fusionwatch override {d.patient_key} {visit} --author NAME"
    for f in findings:
        assert f"{head} --finding {f.kind}=confirmed|rejected" in text
    assert text.count("Reader: not yet reviewed") == len(findings)
    assert f"To enter one: {head} --status STATUS [--bridwell I-IV]" in text
    deid = _text(render_clinician_html(d.deidentified()))
    assert "fusionwatch override" not in deid
    assert deid.count("Reader: not yet reviewed (enter the verdict on the identified record)") == len(findings)


def test_a_value_not_measured_keeps_the_table_on_the_page(uncalibrated_patient: ReportData) -> None:
    """An uncalibrated film's slip in mm is "n/a" in the number column, its reason beside the threshold in the
    table's own words: the whole reason in the unwrapping number column pushed the Previous and Threshold columns off
    the PDF page, and it named internal measure ids (slip_percent_L5_S1)."""
    import dataclasses

    from fusionwatch.followup.model import MeasurementDelta
    from fusionwatch.measurement import MeasureName
    from fusionwatch.units import Unit

    # as the measuring code says it of an uncalibrated film (measure/_common.py)
    reason = "no pixel spacing, so no millimetres; use slip_percent_L5_S1 (calibration-free)"
    d = uncalibrated_patient
    visits = list(d.visits)
    i = visits.index(d.visit)
    rows = (*visits[i].measurements, MeasurementDelta(MeasureName.SLIP_MM_L5_S1, None, Unit.MM, baseline=1.7,
                                                      previous=1.7, reason=reason))
    visits[i] = dataclasses.replace(visits[i], measurements=rows)
    page = render_clinician_html(dataclasses.replace(d, visits=tuple(visits)))
    table = page[page.index("<h2>Measurements"):]
    table = table[:table.index("</table>")]
    nums = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r'<td class="num">(.*?)</td>', table, flags=re.S)]
    assert nums and max(len(c) for c in nums) <= 12, max(nums, key=len)
    text = _text("<body>" + table)
    assert "n/a" in text and "not measured: no pixel spacing" in text
    assert "slip_percent" not in text and "the Slip L5 on S1 (%) row" in text


def test_contact_without_films_shows_no_film_pair_nor_an_empty_table(tmp_path: Path) -> None:
    """A report of a contact without films (a symptom report at day 12) says there are no films; it showed the later
    6-week baseline film beside "No annotated film available" and a measurement table of headers only."""
    import dataclasses
    import datetime as dt

    from fusionwatch.report.model import VisitView

    d = make_patient(tmp_path)
    contact = VisitView("2-weeks", d.surgery.date + dt.timedelta(days=12), 12,
                        status_reasons=("No films at this visit (a symptom report or questionnaire).",))
    visits = sorted((*d.visits, contact), key=lambda v: v.date)
    d = dataclasses.replace(d, visits=tuple(visits), current=visits.index(contact), status_index=None)
    assert d.visit is contact
    page = render_clinician_html(d)
    text = _text(page)
    assert "No films at this visit (a symptom report or questionnaire): nothing measured." in text
    assert "Baseline: 6-weeks" not in text and "No annotated film available" not in text
    assert "<h2>Measurements</h2>" not in page
    assert "--status STATUS" not in text  # nothing to grade at a contact without films


def _three_loosening_findings(d: ReportData, verdicts: dict) -> ReportData:  # type: ignore[type-arg]
    """The current visit with the screw-loosening patient's three findings of one kind (angle, left and right halo)."""
    import dataclasses

    from fusionwatch.records import Finding, Severity

    kind = "screw_loosening_suspected"
    angle = Finding(kind, Severity.WATCH, "S1 screw: angle to the endplate changed +2.4 deg.",
                    {"level": "S1", "criterion": "screw-endplate angle change"}, ">= 1.9 deg")
    halos = tuple(Finding(kind, Severity.WATCH, f"S1 screw (image {s}): a radiolucent halo formed.",
                          {"level": "S1", "criterion": "halo"}, "> 1 mm halo") for s in ("left", "right"))
    visits = list(d.visits)
    i = visits.index(d.visit)
    visits[i] = dataclasses.replace(visits[i], findings=(angle, *halos), finding_verdicts=verdicts, finding_refs=())
    return dataclasses.replace(d, visits=tuple(visits))


def test_findings_of_one_kind_each_show_their_own_ref_and_verdict(tmp_path: Path) -> None:
    """Three findings of one kind: each override line names its own ref; a verdict on the left halo is shown under
    the left halo only, the angle and the right halo stay "not yet reviewed" with their own commands."""
    import datetime as dt

    from fusionwatch.records import Override

    kind = "screw_loosening_suspected"
    left = Override(f"finding:{kind}:S1-left-halo", "rejected", "Dr Amy", dt.datetime(2026, 7, 16, tzinfo=dt.UTC))
    d = _three_loosening_findings(make_patient(tmp_path), {f"{kind}:S1-left-halo": left})
    text = _text(render_clinician_html(d))
    visit = d.visit.label if " " not in d.visit.label else d.visit.date.isoformat()
    head = f"fusionwatch override {d.patient_key} {visit} --author NAME"
    for ref in (f"{kind}:S1-angle", f"{kind}:S1-right-halo"):
        assert f"{head} --finding {ref}=confirmed|rejected" in text
    assert f"--finding {kind}:S1-left-halo=" not in text and f"--finding {kind}=" not in text
    assert text.count("Reader: not yet reviewed") == 2 and text.count("Reader: rejected") == 1
    assert text.index("(image left)") < text.index("Reader: rejected") < text.index("(image right)")
    deid = _text(render_clinician_html(d.deidentified()))
    assert deid.count("Reader: rejected") == 1 and f"Ref: {kind}:S1-right-halo" in deid


def test_a_kind_wide_verdict_is_shown_under_every_finding_of_the_kind(tmp_path: Path) -> None:
    import datetime as dt

    from fusionwatch.records import Override

    kind = "screw_loosening_suspected"
    whole = Override(f"finding:{kind}", "confirmed", "Dr Amy", dt.datetime(2026, 7, 16, tzinfo=dt.UTC))
    d = _three_loosening_findings(make_patient(tmp_path), {kind: whole})
    text = _text(render_clinician_html(d))
    assert text.count("Reader: confirmed") == 3 and "Reader: not yet reviewed" not in text
    assert [f.kind for f in d.visit.standing_findings] == [kind] * 3


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("key", ["SIM-screw-loosening-103", "SIM-test-1"])
def test_override_commands_never_break_inside_an_argument_in_the_pdf(tmp_path: Path, key: str) -> None:
    """In the PDF every argument of a printed override command and every finding ref stays on one line (the demo's
    screw-loosening report broke them at the hyphens of 'S1-left-halo' and '12-months', so a copied command or ref no
    longer worked); lines break only between arguments."""
    import dataclasses
    import subprocess

    from fusionwatch.report.render import html_to_pdf

    d = dataclasses.replace(_three_loosening_findings(make_patient(tmp_path), {}), patient_key=key)
    html_page = render_clinician_html(d)
    codes = re.findall(r"<code[^>]*>(.*?)</code>", html_page, re.S)
    commands = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", c))).strip() for c in codes]
    assert any("S1-left-halo=confirmed|rejected" in c for c in commands), commands
    pdf = tmp_path / "c.pdf"
    html_to_pdf(html_page, pdf)
    lines = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.splitlines()
    for c in commands:
        for token in c.split():
            assert any(token in line for line in lines), (token, c)


# a patient key longer than the Findings column holds (~60 characters of the command font): keys are a site's choice
LONG_KEY = "SITE-ADJACENT-SEGMENT-STUDY-COHORT-B-PATIENT-0000000000000000123"


def test_an_argument_longer_than_its_column_wraps_between_short_unbroken_pieces(tmp_path: Path) -> None:
    """Every printed argument is a span.arg of nowrap pieces joined by <wbr> that give the argument back; an argument
    longer than ARG_PIECE_MAX_CHARS gets break opportunities (after ':', '=', '|', then '-', '_', ...), each piece at
    most that long; the stylesheet moves an argument to the next line whole (inline-block, max-width 100 %) and keeps
    each piece on one line. Before, an argument was one nowrap span, and one longer than the column ran over the Rule
    column."""
    import dataclasses

    from fusionwatch.report.render import ARG_PIECE_MAX_CHARS

    d = dataclasses.replace(_three_loosening_findings(make_patient(tmp_path), {}), patient_key=LONG_KEY)
    page = render_clinician_html(d)
    args = re.findall(r'<span class="arg">(.*?)</span>(?= |</code>)', page, re.S)
    assert args
    texts = {html.unescape(re.sub(r"<[^>]+>", "", a)) for a in args}
    assert LONG_KEY in texts and "screw_loosening_suspected:S1-right-halo=confirmed|rejected" in texts
    for a in args:
        pieces = re.findall(r"<span>(.*?)</span>", a)
        assert re.sub(r"<[^>]+>", "", a) == "".join(pieces)  # nothing outside the pieces but <wbr>
        assert all(len(html.unescape(p)) <= ARG_PIECE_MAX_CHARS for p in pieces), pieces
        assert a.count("<wbr>") == len(pieces) - 1
    long_args = [a for a in args if LONG_KEY in html.unescape(re.sub(r"<[^>]+>", "", a))]
    assert long_args and all(a.count("<wbr>") >= 1 for a in long_args)
    assert "--author" in texts and all("<wbr>" not in a for a in args if len(re.sub(r"<[^>]+>", "", a)) <= 10)
    css = page[page.index("<style"):page.index("</style>")]
    assert re.search(r"code\.cmd \.arg\s*\{[^}]*display:\s*inline-block;[^}]*max-width:\s*100%", css)
    assert re.search(r"code\.cmd \.arg > span\s*\{\s*white-space:\s*nowrap", css)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_a_long_argument_stays_inside_the_findings_column_in_the_pdf(tmp_path: Path) -> None:
    """In the PDF no word of the Findings column crosses into the Rule column (pdftotext -bbox: no word starts left
    of the 'Rule' header and ends right of it), with a patient key longer than the column; short arguments still stay
    whole (each token of every command on one line). Before, the key ran over the Rule column."""
    import dataclasses
    import subprocess

    from fusionwatch.report.render import html_to_pdf

    d = dataclasses.replace(_three_loosening_findings(make_patient(tmp_path), {}), patient_key=LONG_KEY)
    page = render_clinician_html(d)
    commands = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<code[^>]*>(.*?)</code>", page, re.S)]
    pdf = tmp_path / "c.pdf"
    html_to_pdf(page, pdf)
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    first = bbox[: bbox.index("</page>")]
    words = [(float(a), float(y), float(b), html.unescape(w)) for a, y, b, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>', first)]
    rule_x, rule_y = next((x0, y) for x0, y, _, w in words if w == "Rule")
    footer_y = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', first).group(1)) - 16.0 / 25.4 * 72
    # the printed commands' words below the table header (not the patient line at the top, nor the page footer)
    in_commands = [(x0, x1, w) for x0, y, x1, w in words
                   if rule_y < y < footer_y and len(w) >= 6 and any(w in c for c in commands)]
    assert any(LONG_KEY.startswith(w) for _, _, w in in_commands), in_commands
    crossing = [w for x0, x1, w in in_commands if x0 < rule_x and x1 > rule_x - 2.0]
    assert not crossing, (rule_x, crossing)
    lines = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for c in commands:  # short arguments stay whole: each token but the key on one line
        for token in c.split():
            if token != LONG_KEY:
                assert any(token in line for line in lines.splitlines()), (token, c)


def _page1_words(pdf: Path) -> tuple[list[tuple[float, float, float, float, str]], float, float]:
    """Words of page 1 (pdftotext -bbox): (xMin, yMin, xMax, yMax, text), and the page's width and height (pt)."""
    import subprocess

    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    width, height = (float(v) for v in re.search(r'<page width="([\d.]+)" height="([\d.]+)"', bbox).groups())
    words = [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', bbox)]
    return words, width, height


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_no_word_of_the_first_page_runs_past_the_right_margin(patient: ReportData, tmp_path: Path) -> None:
    """Every word of the clinician report's first page ends inside the page's 13 mm right margin (1 pt slack). Before,
    the summary's two status panels were 50 % wide each plus their padding and borders, and the reader panel's text
    ran ~3 pt past the margin (the panel ~5 mm)."""
    from fusionwatch.report.render import html_to_pdf

    pdf = tmp_path / "clinician.pdf"
    html_to_pdf(render_clinician_html(patient), pdf)
    words, page_width, _ = _page1_words(pdf)
    right_edge = page_width - 13.0 / 25.4 * 72 + 1.0
    assert max(w[2] for w in words) <= right_edge, [w for w in words if w[2] > right_edge]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("key", [LONG_KEY, "K" * 150])
def test_a_long_patient_key_in_the_footer_wraps_clear_of_the_page_number(tmp_path: Path, key: str) -> None:
    """The clinician report's page footer (key, visit, notice) wraps inside its own box, the whole key still printed,
    and ends at least 4 pt left of "page 1 of N", which stays on one line inside the page's right margin; no word of
    the page (the header's patient line too) runs past that margin. Before, a 64-character key ran the footer's text
    into the page number ("diagnosispage 1 of 4", 0.8 pt apart), and a 150-character one ran off the page."""
    import dataclasses

    from fusionwatch.report.render import html_to_pdf

    d = dataclasses.replace(make_patient(tmp_path), patient_key=key)
    pdf = tmp_path / "clinician.pdf"
    html_to_pdf(render_clinician_html(d), pdf)
    words, page_width, page_height = _page1_words(pdf)
    right_edge = page_width - 13.0 / 25.4 * 72 + 1.0  # the page's 13 mm right margin, 1 pt slack
    assert max(w[2] for w in words) <= right_edge, [w for w in words if w[2] > right_edge]
    footer = [w for w in words if w[1] > page_height - 16.0 / 25.4 * 72]  # in the 16 mm bottom margin
    number = next(i for i, w in enumerate(footer) if w[4] == "page")
    page_no = footer[number : number + 4]
    assert [w[4] for w in page_no][::2] == ["page", "of"] and page_no[1][4] == "1", footer
    assert len({round(w[1]) for w in page_no}) == 1  # on one line
    left = [w for w in footer if w not in page_no]
    assert key in "".join(w[4] for w in left)  # wrapped, never cut
    assert max(w[2] for w in left) <= page_no[0][0] - 4.0, (left, page_no[0])


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_a_patient_key_with_css_or_html_characters_prints_as_written_in_the_footer(tmp_path: Path) -> None:
    """The footer's text is a CSS string inside the page's <style>: a key with a quote, a backslash or '</style>'
    prints as written and leaves the stylesheet whole. Before, a quote became an apostrophe, a backslash was read as
    a CSS escape, and '</style>' ended the stylesheet (the rest of it printed as page text)."""
    import dataclasses

    from fusionwatch.report.render import html_to_pdf

    key = 'K"1\\2 </style><b>x</b>'
    d = dataclasses.replace(make_patient(tmp_path), patient_key=key)
    page = render_clinician_html(d)
    assert page.count("</style>") == 1 and "<b>x</b>" not in page
    pdf = tmp_path / "clinician.pdf"
    html_to_pdf(page, pdf)
    words, _, height = _page1_words(pdf)
    footer = " ".join(w[4] for w in words if w[1] > height - 16.0 / 25.4 * 72)
    assert f"fusionwatch · {key} · 6-months" in footer, footer
    assert "{" not in " ".join(w[4] for w in words)  # no stylesheet printed as text


@pytest.mark.parametrize("key", ["Smith J", "K'1", "K-1"])
def test_override_commands_can_be_copied_for_any_patient_key(tmp_path: Path, key: str) -> None:
    """The override command lines quote a patient key that a shell would split or misread ('Smith J' printed bare made
    the copied command fail with 'unexpected extra argument'); a plain key is printed as it is."""
    import shlex
    from dataclasses import replace

    from fusionwatch.report.render import override_routes

    d = replace(make_patient(tmp_path), patient_key=key)
    routes = override_routes(d, list(d.visit.findings))
    for line in [routes["status"], *routes["findings"]]:
        words = shlex.split(line.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]"))
        assert words[:3] == ["fusionwatch", "override", key], line
    assert (f" {key} " in routes["status"]) == (key == "K-1")  # quoted only when a shell needs it


def test_a_worse_prom_reads_as_worse_in_the_clinician_report(tmp_path: Path) -> None:
    """Pain and ODI that got worse since before surgery read 'worse by N' (they read 'back pain improvement -5' and
    'improvement -40.0'), an unchanged one 'no change', a better one 'improved by N' (care.proms.change_words)."""
    import datetime as dt
    from dataclasses import replace

    from fusionwatch.care.proms import PromRecord
    from fusionwatch.report.render import render_clinician_html

    d = make_patient(tmp_path)
    pre, post = d.surgery.date - dt.timedelta(days=7), d.visit.date
    d = replace(d, proms=(PromRecord(pre, (2,) * 10, 3, 6), PromRecord(post, (4,) * 10, 8, 6)))
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", render_clinician_html(d))).split())
    assert "improvement -" not in text
    assert "worse by 40.0 points" in text and "back pain worse by 5" in text and "leg pain no change" in text, text


def test_a_glassman_criterion_under_the_mcid_is_said_not_counted(tmp_path: Path) -> None:
    """care's be5120b: ODI 10 -> 6 improves 40 % (>= 36.8 %) by 4 points, under the MCID: not a substantial clinical
    benefit. The PROM line said only 'not met'; it names the criterion reached and why it is not counted."""
    import dataclasses

    from fusionwatch.care.proms import PromRecord

    d = make_patient(tmp_path)
    pre, post = d.surgery.date - dt.timedelta(days=20), d.visit.date
    proms = (PromRecord(pre, (1, 1, 1, 1, 1, 0, 0, 0, 0, 0), 5, 5),
             PromRecord(post, (1, 1, 1, 0, 0, 0, 0, 0, 0, 0), 4, 4))
    text = _text(render_clinician_html(dataclasses.replace(d, proms=proms)))
    assert "ODI 10.0 -> 6.0" in text
    assert ("substantial clinical benefit not met (improved 40.0 % (>= 36.8 %) by 4.0 points, under the MCID (12.8): "
            "not counted)") in text
