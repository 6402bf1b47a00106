"""Tests for ``fusionwatch demo``'s printing (fusionwatch.cli.demo); the demo itself: tests/test_demo.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fusionwatch.cli import app


def test_progress_lines_are_not_broken_mid_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long progress line stays one line at an 80-column console ("... truth: " and the scenario name were printed
    on two lines)."""
    import fusionwatch.demo as demo_module
    from fusionwatch.demo import DemoResult

    msg = "Checking the automatic landmark detector against the simulator's truth: adjacent-segment-degeneration"

    def fake_run_demo(out, *, pdf, progress):  # noqa: ANN001, ANN202
        progress(msg)
        return DemoResult(Path(out), Path(out) / "demo.db", Path(out) / "index.html")

    monkeypatch.setattr(demo_module, "run_demo", fake_run_demo)
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--no-pdf"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert msg in r.output.splitlines()
