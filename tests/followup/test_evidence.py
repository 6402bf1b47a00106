"""Tests for fusionwatch.followup.evidence: which visit's status and findings the care advice follows."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.followup import build_timeline
from fusionwatch.followup.evidence import effective_status, fusion_evidence, latest_film_visit
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import Finding, FusionStatus, Override, Severity

from ._series import SURGERY, visit

AT = dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC)


def _timeline(*extra, overrides=(), hardware=()):
    vs = [visit(d, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}) for d in (2, 42, 182, 365)]
    vs[-1] = visit(365, {M.DISC_HEIGHT_MEAN_L5_S1: (11.0, "mm")}, overrides=tuple(overrides),
                   hardware_findings=tuple(hardware))
    return build_timeline("K", SURGERY, [*vs, *extra])


def test_latest_films_automatic_status_and_findings() -> None:
    rod = Finding("rod_fracture_suspected", Severity.ACTION, "Rod in two pieces.")
    ev = fusion_evidence(_timeline(hardware=[rod]))
    assert ev.visit.label == "12-months" and ev.source == "automatic"
    assert ev.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED and rod in ev.findings


def test_reader_status_wins_unless_unknown() -> None:
    good = Override("fusion_status", "fused_criteria_met", "amy", AT, "CT")
    ev = fusion_evidence(_timeline(overrides=[good]))
    assert (ev.status, ev.source, ev.reader_override) == (FusionStatus.FUSED_CRITERIA_MET, "reader", good)
    odd = Override("fusion_status", "probably fine", "bob", AT, "")
    tl = _timeline(overrides=[odd])
    assert effective_status(tl.visits[-1]) == (FusionStatus.INSUFFICIENT_EVIDENCE, "automatic")


def test_contact_after_the_films_and_on() -> None:
    tl = _timeline(visit(380))  # a symptom report: no films
    assert tl.visits[-1].label == "contact day 380" and tl.visits[-1].status.status is None
    assert fusion_evidence(tl).visit.label == "12-months"
    assert fusion_evidence(tl, visit=len(tl.visits) - 1).visit.label == "12-months"
    on = SURGERY.date + dt.timedelta(days=200)
    assert tl.visits[latest_film_visit(tl, on=on)].label == "6-months"
    assert fusion_evidence(tl, on=on).visit.label == "6-months"
    assert fusion_evidence(tl, on=SURGERY.date - dt.timedelta(days=1)) is None
    with pytest.raises(IndexError):
        fusion_evidence(tl, visit=99)


def test_a_finding_the_reader_rejected_does_not_stand_a_later_confirmation_does() -> None:
    rod = Finding("rod_fracture_suspected", Severity.ACTION, "Rod in two pieces.")
    no = Override("finding:rod_fracture_suspected", "rejected", "amy", AT, "overlapping rods")
    ev = fusion_evidence(_timeline(hardware=[rod], overrides=[no]))
    assert rod.kind not in {f.kind for f in ev.findings}
    yes = Override("finding:rod_fracture_suspected", "confirmed", "bob", AT + dt.timedelta(hours=1), "")
    ev = fusion_evidence(_timeline(hardware=[rod], overrides=[no, yes]))
    assert rod.kind in {f.kind for f in ev.findings}
