"""report/model.py takes the red-flag recency rule from care/triage.py: one constant for `care` and the reports."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import importlib
import inspect
from pathlib import Path

import pytest

from fusionwatch.report.example import example_report_data

model = importlib.import_module("fusionwatch.report.model")  # the modules (the packages re-export names of them)
triage = importlib.import_module("fusionwatch.care.triage")


def test_the_report_defines_no_recency_constant_of_its_own() -> None:
    """Before, report/model.py had its own ``RED_FLAG_RECENT_DAYS = 7`` beside care's: two settings to keep equal."""
    tree = ast.parse(inspect.getsource(model))
    own = [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
    assert "RED_FLAG_RECENT_DAYS" not in own
    assert model.RED_FLAG_RECENT_DAYS == triage.RED_FLAG_RECENT_DAYS  # still importable from report.model


@pytest.mark.parametrize("days_before", [0, 6, 7, 8, 30])
def test_the_report_splits_as_care_does(tmp_path: Path, days_before: int) -> None:
    data = example_report_data(tmp_path)
    as_of = data.red_flags_as_of or data.generated_on
    flag = dataclasses.replace(triage.triage(("fever",))[0], reported_on=as_of - dt.timedelta(days=days_before))
    assert data.red_flag_is_recent(flag) == triage.red_flag_is_recent(flag.reported_on, as_of)
