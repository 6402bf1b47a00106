"""Tests for fusionwatch.report.model: the report shows the follow-up engine's MeasurementDelta rows as they are."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from followup._series import SURGERY, visit
from fusionwatch.followup import MeasurementDelta, build_timeline
from fusionwatch.measurement import MeasureName as M
from fusionwatch.report.model import report_data_from_timeline
from fusionwatch.report.render import render_clinician_html
from fusionwatch.units import SpacingSource, Unit

TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def timeline():
    return build_timeline(
        "K-1",
        SURGERY,
        [
            visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm"), M.SEGMENTAL_LORDOSIS_L5_S1: (18.0, "deg")}),
            visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (8.0, "mm"), M.SEGMENTAL_LORDOSIS_L5_S1: (15.0, "deg")}),
        ],
    )


def test_rows_are_the_timeline_rows(timeline) -> None:
    """One row type: the report's rows are the timeline's MeasurementDelta values, field for field."""
    data = report_data_from_timeline(timeline, today=TODAY)
    rows, deltas = data.visit.measurements, timeline.visits[-1].measurements
    assert all(isinstance(r, MeasurementDelta) for r in rows)
    assert rows == deltas
    disc = data.visit.measurement(M.DISC_HEIGHT_MEAN_L5_S1)
    assert (disc.value, disc.baseline, disc.delta_vs_baseline, disc.unit) == (8.0, 11.0, -3.0, Unit.MM)
    assert disc.spacing_source is SpacingSource.PATIENT_PLANE  # from the measurement itself
    assert data.visit.measurement(M.SEGMENTAL_LORDOSIS_L5_S1).spacing_source is None


def test_spacing_sources_per_film_override_mm_rows_only(timeline) -> None:
    data = report_data_from_timeline(timeline, spacing_sources={"film-182": SpacingSource.DETECTOR_PLANE}, today=TODAY)
    assert data.visit.measurement(M.DISC_HEIGHT_MEAN_L5_S1).spacing_source is SpacingSource.DETECTOR_PLANE
    assert data.visit.measurement(M.SEGMENTAL_LORDOSIS_L5_S1).spacing_source is None
    html = render_clinician_html(data)
    assert "Millimetres from detector plane spacing." in html and "overstated" in html


def test_timeline_json_carries_spacing_source(timeline) -> None:
    rows = timeline.to_dict()["visits"][-1]["measurements"]
    by = {r["name"]: r for r in rows}
    assert by["disc_height_mean_L5_S1"]["spacing_source"] == "patient_plane"
    assert by["segmental_lordosis_L5_S1"]["spacing_source"] is None


def test_clinician_report_never_cites_a_project_file(timeline) -> None:
    """Finding thresholds and the motion rule name their published source, not CLINICAL.md."""
    from fusionwatch.followup.model import SegmentMotion

    tl = build_timeline(
        "K-1",
        SURGERY,
        [
            visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}),
            visit(
                182, {M.DISC_HEIGHT_MEAN_L5_S1: (8.0, "mm")}, motion=(SegmentMotion("L5-S1", 1.0, 0.2, 0.5, None, 0.1),)
            ),
        ],
    )
    html = render_clinician_html(report_data_from_timeline(tl, today=TODAY))
    assert "cage subsidence; common study definition" in html and "modified Lee criteria" in html
    assert "CLINICAL" not in html


def test_findings_show_their_evidence_with_films() -> None:
    """Each rule finding shows both values with their films and the comparison; de-identified reports do not."""
    tl = build_timeline(
        "K-1",
        SURGERY,
        [visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}), visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (8.0, "mm")})],
    )
    data = report_data_from_timeline(tl, today=TODAY)
    html = render_clinician_html(data)
    assert "6-weeks film 11.0 mm → 6-months film 8.0 mm; loss 3.0 mm &gt; 2.0 mm" in html
    assert "6-weeks film 11.0 mm" not in render_clinician_html(data.deidentified())


# --- one rule for "the reader's status over the automatic one" (fusionwatch.followup.evidence) --------------------

_OVERRIDES = [
    None,
    ("fusion_status", "pseudarthrosis_suspected"),
    ("fusion_status", "fused_criteria_met"),
    ("fusion_status", "not-a-status"),  # an unknown value never replaces the automatic status
    ("grade:bridwell", "II"),  # another target is not a status
]


@pytest.mark.parametrize("over", _OVERRIDES)
def test_report_status_is_the_care_cli_status(over) -> None:
    """The reports and ``fusionwatch care`` act on the same status for every visit (fusion_evidence vs ReportData)."""
    from fusionwatch.followup.evidence import effective_status, fusion_evidence
    from fusionwatch.records import Override

    overrides = () if over is None else (Override(over[0], over[1], "amy", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),)
    tl = build_timeline(
        "K-1",
        SURGERY,
        [
            visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}),
            visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (10.8, "mm")}, overrides=overrides),
            visit(200),  # a symptom-only contact: the 6-month films still stand
        ],
    )
    data = report_data_from_timeline(tl, today=TODAY)
    for i, (v, view) in enumerate(zip(tl.visits, data.visits, strict=True)):
        assert view.status_source == effective_status(v)
        at_i = report_data_from_timeline(tl, visit=i, today=TODAY)
        assert at_i.status_visit.date == fusion_evidence(tl, visit=i).visit.date
    ev = fusion_evidence(tl)
    assert data.status_visit.effective_status is ev.status and data.status_visit.date == ev.visit.date
    assert data.status_visit.date != data.visit.date  # the symptom-only contact is not the one acted on


def test_report_follows_the_followup_choice_of_visit(monkeypatch) -> None:
    """ReportData.status_visit is fusion_evidence's choice, not a copy of its rule: make fusion_evidence choose the
    first visit and the report's care advice follows that visit."""
    import fusionwatch.followup.evidence as evidence
    import fusionwatch.report.model as model

    tl = build_timeline("K-1", SURGERY, [visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}),
                                         visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (10.8, "mm")})])
    real = evidence.fusion_evidence
    monkeypatch.setattr(model, "fusion_evidence",
                        lambda timeline, *, visit=None, on=None: real(timeline, visit=0))
    data = report_data_from_timeline(tl, today=TODAY)
    assert data.visit.date == tl.visits[1].date and data.status_visit.date == tl.visits[0].date


def test_status_index_must_not_point_after_the_current_visit() -> None:
    tl = build_timeline("K-1", SURGERY, [visit(42, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}),
                                         visit(182, {M.DISC_HEIGHT_MEAN_L5_S1: (10.8, "mm")})])
    data = report_data_from_timeline(tl, today=TODAY)
    with pytest.raises(ValueError, match="status visit index 1"):
        replace(data, current=0)


def test_report_view_has_no_copy_of_the_override_rule(monkeypatch) -> None:
    """VisitView asks the one rule in fusionwatch.followup.evidence; change the rule and the report follows."""
    import fusionwatch.followup.evidence as evidence
    import fusionwatch.report.model as model
    from fusionwatch.records import FusionStatus
    from fusionwatch.report.model import VisitView

    calls = []

    def rule(reader, automatic):
        calls.append((reader, automatic))
        return FusionStatus.INSUFFICIENT_EVIDENCE, "reader"

    monkeypatch.setattr(evidence, "status_to_act_on", rule)
    monkeypatch.setattr(model, "status_to_act_on", rule)
    view = VisitView("6-months", SURGERY.date + dt.timedelta(days=182), 182, fusion_status=FusionStatus.ON_TRACK)
    assert view.effective_status is FusionStatus.INSUFFICIENT_EVIDENCE and calls == [(None, FusionStatus.ON_TRACK)]


def test_deidentified_visit_labels_carry_no_real_date() -> None:
    """Without a surgery date a visit is labelled 'unscheduled YYYY-MM-DD'; de-identification shifts that date too
    (labels reach every export: reports, visits.csv, FHIR notes)."""
    from fusionwatch.report.model import ReportData, VisitView

    d0, d1 = dt.date(2026, 3, 1), dt.date(2026, 6, 1)
    data = ReportData("K-1", None, (VisitView(f"unscheduled {d0}", d0, None), VisitView(f"unscheduled {d1}", d1, None)),
                      current=1, film_labels={"1.2.3": f"unscheduled {d1} lateral film"})
    de = data.deidentified()
    assert [v.label for v in de.visits] == ["unscheduled 2000-01-01", "unscheduled 2000-04-02"]  # 92 days later
    assert de.film_labels == {"1.2.3": "unscheduled 2000-04-02 lateral film"}


def test_a_landmark_files_review_reasons_are_withheld_de_identified() -> None:
    """A landmark file's "needs_review" is free text (any list of texts is read): ingest stores each reason as a
    'landmark_review' finding's summary, and de-identified reports and FHIR bundles printed it as the tool's own text
    (a file saying 'Checked by Dr Quillon for ZEBEDEE^QUUX, 03/02/1961' reached them). De-identified, the finding
    stays and its reason is withheld, like a reader's note; identified, it is shown as written."""
    from fusionwatch.records import Finding, Severity
    from fusionwatch.report.model import LANDMARK_REVIEW_WITHHELD, ReportData, VisitView

    said = "Checked by Dr Quillon for ZEBEDEE^QUUX, 03/02/1961: S1 corner unclear"
    d0 = SURGERY.date + dt.timedelta(days=42)
    found = (Finding("landmark_review", Severity.INFO, said, films=("1.2.3",)),)
    data = ReportData("K-1", SURGERY, (VisitView("6-weeks", d0, 42, findings=found),), current=0)
    assert data.visits[0].findings[0].summary == said
    (kept,) = data.deidentified().visits[0].findings
    assert kept.kind == "landmark_review" and kept.summary == LANDMARK_REVIEW_WITHHELD
    assert "Quillon" not in LANDMARK_REVIEW_WITHHELD


def test_the_tools_own_landmark_review_reasons_are_kept_de_identified() -> None:
    """De-identified, a landmark review reason known to be the tool's own (``tool_review``: the detector's, the
    checks') is shown, its dates shifted; any other (a landmark file's free text) is withheld, in the findings and in
    the visit's review list. Before, every landmark review reason was withheld, the tool's own included."""
    from fusionwatch.records import Finding, Severity
    from fusionwatch.report.model import LANDMARK_REVIEW_WITHHELD, ReportData, VisitView

    tool = "low model confidence at L5.inferior.anterior"
    check = "L5: height / depth = 0.12, outside 0.45-1.10 (film of 2026-02-12)."
    said = "Checked by Dr Quillon for ZEBEDEE^QUUX, 03/02/1961: S1 corner unclear"
    d0 = SURGERY.date + dt.timedelta(days=42)
    found = tuple(Finding("landmark_review", Severity.INFO, r, films=("1.2.3",)) for r in (tool, check, said))
    data = ReportData("K-1", SURGERY, (VisitView("6-weeks", d0, 42, findings=found, review=(tool, check, said)),),
                      current=0, tool_review=frozenset({tool, check}))
    de = data.deidentified().visits[0]
    shifted = (dt.date(2000, 1, 1) + (dt.date(2026, 2, 12) - SURGERY.date)).isoformat()
    assert [f.summary for f in de.findings] == [tool, check.replace("2026-02-12", shifted), LANDMARK_REVIEW_WITHHELD]
    assert de.review == (tool, check.replace("2026-02-12", shifted), LANDMARK_REVIEW_WITHHELD)
    assert "Quillon" not in repr(data.deidentified())


def test_deidentified_status_reasons_name_no_reader(tmp_path) -> None:
    """Reviewer R's F9 (the report's side): the follow-up status credits a reader's bone-evidence entry by name
    ('lucency at the cage-endplate interface (reader:QZAUTH^ZEB)'), and the de-identified report, FHIR and CSV kept it
    (only dates were shifted). Now it reads '(reader)', as every override's author does; a name the pattern cannot
    cut out (parentheses in it) withholds the reason. The identified report keeps the name."""
    import re

    from fusionwatch.export.fhir import build_fhir_bundle
    from fusionwatch.report.example import example_report_data
    from fusionwatch.report.model import READER_NAMED_WITHHELD

    data = example_report_data(tmp_path)
    reasons = ("Signs of non-union on static films: lucency at the cage-endplate interface (reader:QZAUTH^ZEB).",
               "bridging (reader:QZ (Dr) X)")
    data = replace(data, visits=tuple(replace(v, status_reasons=reasons) if i == data.current else v
                                      for i, v in enumerate(data.visits)))
    de = data.deidentified()
    assert de.visit.status_reasons == (
        "Signs of non-union on static films: lucency at the cage-endplate interface (reader).", READER_NAMED_WITHHELD)
    html = re.sub(r"data:[^\"]*", "", render_clinician_html(de))  # base64 pictures can hold any two letters
    assert "QZ" not in html and "QZ" not in str(build_fhir_bundle(data, deidentify=True))
    assert "QZAUTH" in render_clinician_html(data)


def test_a_verdict_given_before_its_finding_was_measured_again_is_listed_not_applied(tmp_path) -> None:
    """9908773 (F1, R's F8): a verdict given before the finding's comparison was first made (evidence
    compared_with.since) does not apply to it. The report named verdicts without finding by name only: such a verdict
    vanished (not beside the finding, not in the list); and a de-identified copy dropped the evidence, so there the old
    verdict showed beside the finding again. Now it is listed as no longer applied, identified and de-identified."""
    from fusionwatch.records import Finding, Override, Severity
    from fusionwatch.report.example import example_report_data

    data = example_report_data(tmp_path)
    f = Finding("rod_discontinuity", Severity.ACTION, "Rod gap.",
                evidence={"compared_with": {"baseline_visit": "6-weeks", "since": "2026-07-20T08:00:00+00:00"}})
    o = Override("finding:rod_discontinuity", "rejected", "amy", dt.datetime(2026, 7, 19, tzinfo=dt.UTC), "rotated")
    v = replace(data.visit, findings=(f,), finding_refs=(), finding_aliases=(),
                finding_verdicts={"rod_discontinuity": o})
    data = replace(data, visits=tuple(v if i == data.current else w for i, w in enumerate(data.visits)))
    for d in (data, data.deidentified()):
        assert d.visit.verdicts == (None,), d.is_deidentified
        assert [r for r, _ in d.visit.verdicts_without_finding] == ["rod_discontinuity"], d.is_deidentified
        html = " ".join(render_clinician_html(d).split())
        row = html[html.index('id="verdicts-without-finding"'):]
        assert "measured against another baseline film after the verdict" in row
    later = replace(o, at=dt.datetime(2026, 7, 21, tzinfo=dt.UTC))  # given on this comparison: applies
    v2 = replace(v, finding_verdicts={"rod_discontinuity": later})
    assert v2.verdicts == (later,) and v2.verdicts_without_finding == ()


def test_a_verdict_not_applied_is_not_headed_as_on_a_finding_no_longer_made(tmp_path) -> None:
    """The clinician report's table of verdicts standing beside no finding: a verdict whose finding is made again
    against another baseline film (shown above as not reviewed) is headed 'not applied', not 'findings the tool no
    longer makes ... not among this visit's findings any more' (which was false: the finding is in the table above).
    VisitView.verdict_not_applied tells the two apart for the report, the FHIR bundle and visits.csv."""
    from fusionwatch.records import Finding, Override, Severity
    from fusionwatch.report.example import example_report_data

    data = example_report_data(tmp_path)
    f = Finding("rod_discontinuity", Severity.ACTION, "Rod gap.",
                evidence={"compared_with": {"baseline_visit": "6-weeks", "since": "2026-07-20T08:00:00+00:00"}})
    o = Override("finding:rod_discontinuity", "rejected", "amy", dt.datetime(2026, 7, 19, tzinfo=dt.UTC), "rotated")
    gone = Override("finding:screw_loosening_suspected", "confirmed", "amy", dt.datetime(2026, 7, 18, tzinfo=dt.UTC),
                    "")
    for verdicts, heading in (({"rod_discontinuity": o}, "Reader verdicts not applied at this visit (1)"),
                              ({"rod_discontinuity": o, "screw_loosening_suspected": gone},
                               "Reader verdicts not applied, or on findings the tool no longer makes, at this visit "
                               "(2)")):
        v = replace(data.visit, findings=(f,), finding_refs=(), finding_aliases=(), finding_verdicts=verdicts)
        d = replace(data, visits=tuple(v if i == data.current else w for i, w in enumerate(data.visits)))
        html = " ".join(render_clinician_html(d).split())
        row = html[html.index('id="verdicts-without-finding"'):]
        assert heading in row and "not among this visit's findings any more" not in row, row[:400]
        assert d.visit.verdict_not_applied("rod_discontinuity")
        assert not d.visit.verdict_not_applied("screw_loosening_suspected")
