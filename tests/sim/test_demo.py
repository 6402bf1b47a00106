"""Tests for sim/demo.py: one cached journey per scenario."""

from __future__ import annotations

import json

import pytest

from fusionwatch.sim import SCENARIOS, demo_journeys


@pytest.mark.slow
def test_demo_journeys_cached(tmp_path) -> None:
    """All scenarios are generated once; a second call reuses them (files untouched)."""
    paths = demo_journeys(tmp_path, size=(96, 120))
    assert [json.loads(p.read_text())["scenario"] for p in paths] == list(SCENARIOS)
    stamps = [p.stat().st_mtime_ns for p in paths]
    again = demo_journeys(tmp_path, size=(96, 120))
    assert again == paths and [p.stat().st_mtime_ns for p in again] == stamps
    (paths[0].parent / json.loads(paths[0].read_text())["films"][0]["file"]).unlink()
    demo_journeys(tmp_path, size=(96, 120))
    assert paths[0].stat().st_mtime_ns != stamps[0]  # a missing film triggers regeneration
