"""De-identified report data carries no real date in any written format, and no free text a reader typed."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.records import Override, Surgery
from fusionwatch.report.model import DATE_REMOVED, READER_TEXT_WITHHELD, ReportData, VisitView
from fusionwatch.report.render import render_clinician_html

SURGERY = dt.date(2026, 6, 3)
DAY = dt.date(2026, 12, 3)  # 183 days after surgery: 2000-01-01 + 183 days = 2000-07-02
AT = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


def _data(text: str, reason: str = "") -> ReportData:
    """A one-visit report whose tool text (baseline note, status reason, review line, film label) holds ``text``,
    with a reader's status and grade carrying ``reason``."""
    visit = VisitView("6-months", DAY, 183, status_reasons=(text,), review=(text,), decide_with=text,
                      reader_status=Override("fusion_status", "fused_criteria_met", "Dr Amy Smith", AT, reason),
                      bridwell_grade=Override("grade:bridwell", "II", "Dr Amy Smith", AT, reason))
    return ReportData("K-1", Surgery(SURGERY), (visit,), current=0, baseline_note=text,
                      film_labels={"1.2.3": text}, generated_on=DAY)


def _texts(data: ReportData) -> list[str]:
    v = data.visit
    return [data.baseline_note, *v.status_reasons, *v.review, v.decide_with or "", *data.film_labels.values()]


@pytest.mark.parametrize(("written", "shifted"), [
    ("2026-12-03", "2000-07-02"),
    ("2026-12-03T10:00", "2000-07-02T10:00"),  # an ISO date-time: before, the \b-bounded pattern missed it
    ("20261203", "20000702"),  # DICOM DA
])
def test_iso_and_dicom_dates_in_tool_text_are_shifted(written: str, shifted: str) -> None:
    de = _data(f"compared with the film of {written}.").deidentified()
    assert _texts(de) == [f"compared with the film of {shifted}."] * 5


@pytest.mark.parametrize("written", [
    "12/03/2026", "3/12/26", "03.12.2026", "03-12-2026", "3 Dec 2026", "3rd of December 2026", "Dec 3, 2026",
    "December 3 2026", "december 2026", "Sept. 2026",
])
def test_other_written_dates_in_tool_text_are_removed(written: str) -> None:
    """Day-first and month-first cannot be told apart (12/03/2026), so no shift is guessed: the date is removed.
    Before, only ISO dates were shifted and these went out as written."""
    de = _data(f"films of {written} and 2026-12-03 compared").deidentified()
    assert _texts(de) == [f"films of {DATE_REMOVED} and 2000-07-02 compared"] * 5


def test_text_without_dates_is_unchanged() -> None:
    text = "L5-S1 motion 1.2 deg < 3.0 deg over 6-12 months; ap-crop/2, 0.5 mm, 3.1.4"
    assert _texts(_data(text).deidentified()) == [text] * 5


def test_a_reader_s_free_text_is_withheld_but_the_verdict_kept() -> None:
    """A reader's reason can hold names, ids and dates in any format: a de-identified export shows the verdict and
    says the note was withheld. Before, the reason went out with only its ISO dates shifted."""
    reason = "CT 12/03/2026 at St Elsewhere read by Dr Amy Smith (MRN0012345): bridging"
    data = _data("ok", reason)
    de = data.deidentified()
    for o in (de.visit.reader_status, de.visit.bridwell_grade):
        assert o is not None and o.reason == READER_TEXT_WITHHELD and o.author == "reader"
        assert o.at == dt.datetime(2000, 7, 2, 10, 0, tzinfo=dt.UTC)
    assert (de.visit.reader_status.value, de.visit.bridwell_grade.value) == ("fused_criteria_met", "II")
    html = render_clinician_html(de)
    for leak in ("Smith", "MRN0012345", "Elsewhere", "12/03/2026", "2026"):
        assert leak not in html, leak
    assert READER_TEXT_WITHHELD.replace("'", "&#39;") in html
    assert reason in render_clinician_html(data)  # identified reports keep it
    assert _data("ok", "").deidentified().visit.reader_status.reason == ""  # no reason: nothing to withhold
