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


def test_findings_print_with_their_ref(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finding's "[ref KIND]" reaches the console (Rich took it for a markup tag and printed nothing of it)."""
    import fusionwatch.demo as demo_module
    from fusionwatch.demo import DemoPatient, DemoResult

    finding = "watch: L5-S1 disc height fell 3.6 mm since the 6-weeks film (threshold 2 mm). [ref cage_subsidence]"
    patient = DemoPatient("K", "cage-subsidence", "12-months", "on_track", (finding,), (), {},
                          earlier_symptoms=("earlier, urgent: fever [reported 2025-06-14]",))

    def fake_run_demo(out, *, pdf, progress):  # noqa: ANN001, ANN202
        return DemoResult(Path(out), Path(out) / "demo.db", Path(out) / "index.html", patients=[patient])

    monkeypatch.setattr(demo_module, "run_demo", fake_run_demo)
    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--no-pdf"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "[ref cage_subsidence]" in r.output and "[reported 2025-06-14]" in r.output
