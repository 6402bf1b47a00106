"""Simulated journeys end to end: simulate -> ingest -> timeline; expected findings and statuses at the right visits.

Each scenario's journey is simulated once per module with small films (400 x 500 px: fast, and the landmark files the
simulator writes carry the exact geometry), ingested into a SQLite store with the visit-level motion registration and
hardware checks, and its timeline compared with the manifest's ``expected`` block.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fusionwatch.ingest import ingest_journey
from fusionwatch.measurement import MeasureName
from fusionwatch.store import Store

sim = pytest.importorskip("fusionwatch.sim.journey", reason="the simulator (fusionwatch.sim.journey) is not available")

pytestmark = pytest.mark.slow

SIZE = (400, 500)
SEED = 1
HARDWARE_KINDS = ("rod_fracture", "screw_loosening", "screw_breakage", "cage_migration")
"""Findings that come from the implant checks (image-based), not from the follow-up rules on measurements."""


def _matches(expected: str, found: str) -> bool:
    """The simulator names ``rod_fracture`` what the implant checks call ``rod_fracture_suspected``."""
    return found == expected or found == f"{expected}_suspected"


@pytest.fixture(scope="module", params=sim.SCENARIOS)
def journey(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp(request.param)
    manifest = sim.simulate_journey(request.param, SEED, folder / "films", size=SIZE)
    store = Store(folder / "fw.db")
    report = ingest_journey(manifest, store)
    data = json.loads(manifest.read_text())
    timeline = store.load_timeline(data["patient"]["key"])
    store.close()
    return {"scenario": request.param, "manifest": data, "report": report, "timeline": timeline}


def test_every_film_ingested_and_measured(journey: dict[str, Any]) -> None:
    """Every film of the manifest is stored, and every one has measurements from its landmark file."""
    report = journey["report"]
    assert not report.failed, [(o.path, o.reason) for o in report.failed]
    assert len(report.added) == len(journey["manifest"]["films"])
    assert all(o.measured for o in report.added)
    assert not report.notes, report.notes


def test_visits_match_the_manifest(journey: dict[str, Any]) -> None:
    """The visit labels the schedule gives are the simulator's visit names."""
    labels = [v.label for v in journey["timeline"].visits]
    assert labels == list(dict.fromkeys(f["visit"] for f in journey["manifest"]["films"]))
    assert journey["timeline"].baseline_label == "6-weeks"


def test_fusion_status_at_every_visit(journey: dict[str, Any]) -> None:
    """The automatic fusion status equals the expected one at every post-operative visit.

    A visit whose L5-S1 flexion-extension result is indeterminate (its 95 % interval contains the 3 deg / 3 mm
    threshold) cannot give a status by motion; there the engine must fall back to the static-film status (never
    fused, never suspected by motion) and the difference from the expectation is recorded as an expected failure with
    the values, for the motion module's precision on these small films.
    """
    tl = journey["timeline"]
    got = {v.label: (v.status.status.value if v.status.status else None) for v in tl.visits}
    want = {visit: e["fusion_status"] for visit, e in journey["manifest"]["expected"].items()}
    unsure = []
    for label in want:
        v = tl.visit(label)
        mev = v.status.evidence.get("motion", {})
        if got[label] != want[label] and mev.get("call") == "indeterminate":
            assert got[label] in ("on_track", "insufficient_evidence"), (label, got[label])
            assert "indeterminate" in v.status.reasons[0] and "flexion-extension" in v.status.decide_with
            a = mev["angle"]
            unsure.append(
                f"{label}: L5-S1 angle {a['value']:.2f} +/- {a['sd']:.2f} deg (95 % {a['interval_95']}) vs "
                f"{a['threshold']:g} deg -> {got[label]}, expected {want[label]}"
            )
    assert {k: got[k] for k in want if not any(u.startswith(f"{k}:") for u in unsure)} == {
        k: w for k, w in want.items() if not any(u.startswith(f"{k}:") for u in unsure)
    }
    if unsure:
        pytest.xfail(f"{journey['scenario']}: flexion-extension motion indeterminate: {'; '.join(unsure)}")


def _rule_findings(expected: list[str]) -> list[str]:
    return [k for k in expected if not k.startswith(HARDWARE_KINDS)]


def test_follow_up_findings_at_the_right_visits(journey: dict[str, Any]) -> None:
    """Findings made from measurements (subsidence, adjacent segment) appear exactly where expected.

    The one expectation the simulator's own truth contradicts is left to
    :func:`test_simulator_adjacent_disc_label_matches_its_truth`.
    """
    tl = journey["timeline"]
    for visit, e in journey["manifest"]["expected"].items():
        excluded = {"adjacent_segment_disc_height_loss"}
        want = set(_rule_findings(e["findings"])) - excluded
        got = {k for k in tl.visit(visit).finding_kinds() if not k.startswith(HARDWARE_KINDS)} - excluded
        assert got == want, f"{journey['scenario']} {visit}: got {sorted(got)}, expected {sorted(want)}"


def test_no_false_alarm(journey: dict[str, Any]) -> None:
    """Solid fusion: no finding at all, and no measurement alarm. Other scenarios: no unexpected finding from the
    follow-up rules (the implant checks' own extra findings, e.g. a cage migration the simulator does not label, are
    the implant module's to answer for)."""
    expected = journey["manifest"]["expected"]
    solid = journey["scenario"] == "solid-fusion"
    for v in journey["timeline"].visits:
        allowed = expected.get(v.label, {}).get("findings", [])
        extra = [k for k in v.finding_kinds() if not any(_matches(a, k) for a in allowed)]
        if not solid:
            extra = [k for k in extra if not k.startswith(HARDWARE_KINDS)]
        assert extra == [], f"{journey['scenario']} {v.label}: unexpected {extra}"
        if solid:
            # Review flags about the film itself (a femoral head outside the field) are allowed; a measurement alarm
            # (PI drift) or a film left unmeasured is not.
            kinds = {r.kind for r in v.review}
            assert kinds <= {"landmark_review"}, (v.label, v.review)


def test_hardware_findings_at_the_right_visits(journey: dict[str, Any]) -> None:
    """Rod fracture and screw loosening (implant checks) appear at the expected visits."""
    tl = journey["timeline"]
    missing = [
        (visit, kind)
        for visit, e in journey["manifest"]["expected"].items()
        for kind in e["findings"]
        if kind.startswith(HARDWARE_KINDS) and not any(_matches(kind, f) for f in tl.visit(visit).finding_kinds())
    ]
    # Screw-loosening at 6 months is the closest call: the simulator labels it from its 1.6 mm halo (not visible at
    # 0.76 mm/px); the S1 screw-endplate angle change (truth +2.4 deg, 0.5 deg above the 1.9 deg threshold) must be
    # resolved at 95 %. With edges at 90 % of the way to the metal level it measures +2.41 +/- 0.18 deg (seed 1,
    # SIM_VERSION 12; docs/implants.md "Measured"), so it is reported. Every expected hardware finding must appear.
    assert not missing, f"{journey['scenario']}: hardware findings {missing} not produced by fusionwatch.implants"


def test_simulator_adjacent_disc_label_matches_its_truth(journey: dict[str, Any]) -> None:
    """Where the manifest expects ``adjacent_segment_disc_height_loss``, the truth's mean L4-L5 disc height loss vs the
    6-week film must exceed 3 mm (CLINICAL.md); and the engine must report it exactly when the truth says so."""
    data = journey["manifest"]
    lateral = {f["visit"]: f["truth"]["measurements"] for f in data["films"] if f["view"] == "lateral"}
    name = MeasureName.DISC_HEIGHT_MEAN_L4_L5.value
    for visit, e in data["expected"].items():
        if visit not in lateral or "6-weeks" not in lateral or visit in ("immediate-post-op", "6-weeks"):
            continue
        truth_loss = lateral["6-weeks"][name] - lateral[visit][name]
        reported = "adjacent_segment_disc_height_loss" in journey["timeline"].visit(visit).finding_kinds()
        assert reported == (truth_loss > 3.0), (visit, truth_loss)
        assert ("adjacent_segment_disc_height_loss" in e["findings"]) == (truth_loss > 3.0), (visit, truth_loss)
