"""Tests for report/patient_text.py: a finding's severity is not talked down (reviewer R's F19)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from test_patient_text import _loose, twelve_months

from fusionwatch.records import Finding, FusionStatus, Severity

pt = importlib.import_module("fusionwatch.report.patient_text")  # the module (the package re-exports the function)


def _sentence(name: str) -> str:
    return getattr(pt, name, f"<no {name}>")  # read at run time: the test runs (and fails) on code without it


def _told(tmp: Path, *findings: Finding) -> str:
    return " ".join(pt.patient_text(twelve_months(tmp, FusionStatus.ON_TRACK, findings)).xray_now)


class TestFindingSeverity:
    """An ACTION cage subsidence (twice the threshold) read "The spacer ... has settled a little into the bone."."""

    def test_no_finding_sentence_says_the_change_is_small(self) -> None:
        """Every finding told is over its threshold: no sentence sizes it down ("a little", "slightly")."""
        for sentence in pt.FINDING_PLAIN.values():
            assert not re.search(r"\ba little\b|\bslight", sentence), sentence

    def test_an_action_finding_is_not_told_as_a_small_change(self, tmp_path: Path) -> None:
        """An ACTION subsidence: the plain sentence, then that the care team should look at it soon; calm, and the
        closing sentence still defers to the surgeon."""
        subs = Finding("cage_subsidence", Severity.ACTION,
                       "L5-S1 disc height fell 0.125 disc height index since the 6-weeks film (threshold 0.06).")
        text = _told(tmp_path, subs)
        action = _sentence("ACTION_FINDING_SENTENCE")
        assert "a little" not in text
        assert "has sunk into the bone since your earlier X-rays." in text
        assert action in text
        assert text.index(action) < text.index("Your surgeon will talk with you")
        assert not re.search(r"danger|emergency|serious|urgent|worr", text, re.I)

    def test_a_watch_finding_gets_no_action_sentence(self, tmp_path: Path) -> None:
        text = _told(tmp_path, Finding("cage_subsidence", Severity.WATCH, "fell 2.2 mm (threshold 2 mm)."))
        assert "has sunk into the bone" in text
        assert _sentence("ACTION_FINDING_SENTENCE") not in text
        assert "should look at" not in text

    def test_several_changes_one_of_them_action(self, tmp_path: Path) -> None:
        text = _told(tmp_path, Finding("cage_subsidence", Severity.ACTION, "x"), _loose())
        assert _sentence("ACTION_FINDINGS_SENTENCE") in text
        assert _sentence("ACTION_FINDING_SENTENCE") not in text
