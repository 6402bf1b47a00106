"""Threshold texts of the clinician report: each names its source, and follows the settings it was computed with."""

from __future__ import annotations

import pytest

from fusionwatch.measurement import MeasureName as M
from fusionwatch.report.labels import threshold_text

SOURCES = (
    "common study definition",
    "common radiographic definition",
    "fusionwatch setting",
    "SRS-Schwab",
    "population values",
    "Meyerding",
)


@pytest.mark.parametrize("name", [n for n in M if threshold_text(n)])
def test_every_threshold_text_names_its_source(name: M) -> None:
    text = threshold_text(name)
    assert text.endswith(")") and any(f"({s})" in text for s in SOURCES), text
    assert "CLINICAL" not in text


def test_threshold_text_follows_the_settings() -> None:
    assert "> 2 mm" in threshold_text(M.DISC_HEIGHT_MEAN_L5_S1)
    assert "> 3.5 mm" in threshold_text(M.DISC_HEIGHT_MEAN_L5_S1, {"subsidence_mm": 3.5})
    assert "> 2 mm" in threshold_text(M.DISC_HEIGHT_MEAN_L5_S1, {"subsidence_mm": "bad"})
