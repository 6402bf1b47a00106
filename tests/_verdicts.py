"""Report data with reader verdicts that apply to no finding, shared by the export tests (FHIR, visits.csv)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from fusionwatch.records import Finding, Override, Severity
from fusionwatch.report.example import example_report_data
from fusionwatch.report.model import ReportData


def remeasured_and_gone(tmp_path: Path) -> ReportData:
    """The example's current visit with a rod finding measured again against another baseline film after a reader
    rejected it (compared_with.since after the verdict: not applied) and a verdict on a screw finding the tool no
    longer makes at all."""
    data = example_report_data(tmp_path)
    f = Finding("rod_discontinuity", Severity.ACTION, "Rod gap.",
                evidence={"compared_with": {"baseline_visit": "6-weeks", "since": "2026-07-20T08:00:00+00:00"}})
    remade = Override("finding:rod_discontinuity", "rejected", "amy", dt.datetime(2026, 7, 19, tzinfo=dt.UTC), "")
    gone = Override("finding:screw_loosening_suspected", "confirmed", "amy", dt.datetime(2026, 7, 18, tzinfo=dt.UTC),
                    "")
    v = replace(data.visit, findings=(f,), finding_refs=(), finding_aliases=(),
                finding_verdicts={"rod_discontinuity": remade, "screw_loosening_suspected": gone})
    return replace(data, visits=tuple(v if i == data.current else w for i, w in enumerate(data.visits)))
