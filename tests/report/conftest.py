"""Fixtures: the hand-built example patient (fusionwatch.report.example)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionwatch.report.example import example_report_data
from fusionwatch.report.model import ReportData


@pytest.fixture
def patient(tmp_path: Path) -> ReportData:
    return example_report_data(tmp_path)


@pytest.fixture
def uncalibrated_patient(tmp_path: Path) -> ReportData:
    return example_report_data(tmp_path, calibrated=False)
