"""Fixtures: the hand-built example patient (fusionwatch.report.example) and a still segment at 12 months."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fusionwatch.records import FusionStatus
from fusionwatch.report.example import SURGERY, example_report_data
from fusionwatch.report.model import ReportData


@pytest.fixture
def patient(tmp_path: Path) -> ReportData:
    return example_report_data(tmp_path)


@pytest.fixture
def uncalibrated_patient(tmp_path: Path) -> ReportData:
    return example_report_data(tmp_path, calibrated=False)


def _still_at_12_months(bone=None, overrides=()):  # noqa: ANN001, ANN202 - BoneEvidence, Override tuple
    """A timeline (follow-up engine, not hand-built) whose 12-month L5-S1 no longer moves on flexion-extension, no
    hardware sign: the automatic status is fused_criteria_met; ``bone`` / ``overrides`` as a reader entered them."""
    from fusionwatch.followup import BoneEvidence, SegmentMotion, VisitInput, build_timeline
    from fusionwatch.records import Surgery
    from fusionwatch.report.model import report_data_from_timeline

    surgery = Surgery(date=SURGERY)
    visits = [
        VisitInput("6-weeks", SURGERY + dt.timedelta(days=42), 42, films=("f42",), lateral_film="f42"),
        VisitInput("12-months", SURGERY + dt.timedelta(days=365), 365, films=("f365", "fx", "ex"),
                   lateral_film="f365", motion=(SegmentMotion("L5-S1", 0.8, 0.3, 0.4, None, 0.3),),
                   bone=bone or BoneEvidence(), overrides=tuple(overrides)),
    ]
    tl = build_timeline("K-STILL", surgery, visits)
    assert tl.visits[-1].status.status is FusionStatus.FUSED_CRITERIA_MET
    return tl, report_data_from_timeline(tl, today=SURGERY + dt.timedelta(days=380))


@pytest.fixture
def still_at_12_months():  # noqa: ANN201 - the builder above
    """``still_at_12_months(bone=None, overrides=())`` -> ``(timeline, ReportData)`` (:func:`_still_at_12_months`)."""
    return _still_at_12_months
