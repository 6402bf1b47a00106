"""Tests for report/example.py (example PROMs) and the red-flag window of report/build.py."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.care.proms import compare_proms
from fusionwatch.care.triage import Symptom, Urgency
from fusionwatch.report.build import red_flags_for
from fusionwatch.report.example import example_proms

D = dt.date(2026, 3, 1)


@pytest.mark.parametrize(("course", "mcid", "scb"), [("improving", True, True), ("slow", True, False),
                                                     ("worse", False, False)])
def test_example_courses(course: str, mcid: bool, scb: bool) -> None:
    proms = example_proms(D, course=course)
    assert [p.date for p in proms][0] == D - dt.timedelta(days=14) and len(proms) == 5
    c = compare_proms(proms[0], proms[-1])
    assert (c.odi_mcid, c.odi_scb) == (mcid, scb)


def test_example_bad_course_raises() -> None:
    with pytest.raises(ValueError, match="course must be one of"):
        example_proms(D, course="great")


class TestRedFlagWindow:
    REPORTS = [(dt.date(2026, 1, 5), ("fever",)), (dt.date(2026, 2, 1), ("chest_pain", "poor_sleep")),
               (dt.date(2026, 3, 1), ("calf_pain_swelling",))]

    def test_half_open_window(self) -> None:
        """(after, until]: the report on `after` itself belongs to the earlier visit."""
        got = red_flags_for(self.REPORTS, dt.date(2026, 1, 5), dt.date(2026, 2, 1))
        assert [r.symptom for r in got] == [Symptom.CHEST_PAIN, Symptom.POOR_SLEEP]

    def test_open_end_keeps_everything_after(self) -> None:
        got = red_flags_for(self.REPORTS, dt.date(2026, 1, 5), None)
        assert got[0].urgency is Urgency.EMERGENCY and {r.symptom for r in got} == {
            Symptom.CHEST_PAIN, Symptom.POOR_SLEEP, Symptom.CALF_PAIN_SWELLING}

    def test_unknown_code_skipped_not_crashing(self) -> None:
        assert red_flags_for([(D, ("headache", "fever"))], None, None)[0].symptom is Symptom.FEVER
