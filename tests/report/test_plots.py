"""Tests for report/plots.py: trend plots never draw one millimetre line across calibration planes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fusionwatch.measurement import MeasureName as M
from fusionwatch.report import plots
from fusionwatch.report.example import example_report_data
from fusionwatch.report.labels import label
from fusionwatch.report.model import ReportData
from fusionwatch.units import SpacingSource

DP, MC, PP = SpacingSource.DETECTOR_PLANE, SpacingSource.MAGNIFICATION_CORRECTED, SpacingSource.PATIENT_PLANE


def _with_disc_heights(data: ReportData, heights: dict[str, tuple[float, SpacingSource]]) -> ReportData:
    """``data`` with the L5-S1 mean disc height of each named visit replaced by (value mm, spacing source)."""
    visits = []
    for v in data.visits:
        if v.label in heights:
            value, source = heights[v.label]
            v = dataclasses.replace(v, measurements=tuple(
                dataclasses.replace(m, value=value, spacing_source=source) if m.name is M.DISC_HEIGHT_MEAN_L5_S1
                else m for m in v.measurements))
        visits.append(v)
    return dataclasses.replace(data, visits=tuple(visits))


def _disc_height_panel(data: ReportData, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202 - a matplotlib Axes
    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or b"png")
    assert plots.measurement_trends_png(data) == b"png"
    (fig,) = figures
    (ax,) = [a for a in fig.axes if a.get_title().startswith(label(M.DISC_HEIGHT_MEAN_L5_S1))]
    return ax


class TestCalibrationPlanes:
    """R's F7 case (F1's jsf journey): the immediate and 6-week films at the detector plane (no (0018,1114)), later
    films magnification-corrected. The follow-up no longer subtracts them (7cac769); the chart must not either."""

    def test_mm_from_two_planes_are_never_one_line_nor_one_baseline(
            self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only the latest film's plane is drawn; the detector-plane baseline gives no dashed line; the chart says
        which films it left out and why."""
        data = _with_disc_heights(example_report_data(tmp_path), {
            "pre-op": (9.5, DP), "6-weeks": (14.0, DP), "3-months": (13.9, DP), "6-months": (11.3, MC)})
        ax = _disc_height_panel(data, monkeypatch)
        for line in ax.lines:
            ys = [float(y) for y in line.get_ydata()]
            assert not (14.0 in ys and 11.3 in ys), f"one line across planes: {ys}"
            assert 14.0 not in ys, f"a detector-plane value drawn on the patient-plane panel: {ys}"
        texts = ax.get_xlabel().replace("\n", " ") + " " + ax.get_title()
        assert "3 detector plane films not drawn" in texts
        assert "not compared" in texts and "patient plane" in ax.get_title()

    def test_a_detector_plane_series_says_so(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """All films at the detector plane: one line and its baseline (lengths comparable), titled as magnified."""
        data = _with_disc_heights(example_report_data(tmp_path), {
            "pre-op": (9.5, DP), "6-weeks": (14.0, DP), "3-months": (13.9, DP), "6-months": (13.6, DP)})
        ax = _disc_height_panel(data, monkeypatch)
        assert [float(y) for y in ax.lines[0].get_ydata()] == [9.5, 14.0, 13.9, 13.6]
        assert any(list(map(float, ln.get_ydata())) == [14.0, 14.0] for ln in ax.lines)  # the baseline line
        assert "detector plane" in ax.get_title()

    def test_one_plane_is_drawn_whole(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Patient-plane and magnification-corrected films are one plane: drawn as one line with the baseline."""
        data = _with_disc_heights(example_report_data(tmp_path), {"3-months": (10.0, MC), "6-months": (8.4, PP)})
        ax = _disc_height_panel(data, monkeypatch)
        assert [float(y) for y in ax.lines[0].get_ydata()] == [6.0, 11.0, 10.0, 8.4]
        assert any(list(map(float, ln.get_ydata())) == [11.0, 11.0] for ln in ax.lines)
        assert ax.get_xlabel() == "days since surgery"
