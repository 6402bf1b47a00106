"""The README demo's solid-fusion patient at the demo's own film size (1000 x 1250 px): no hardware finding.

tests/test_demo.py runs the whole demo on 400 x 500 px films for speed. Simulator version 36 passed it and the implant
benchmark at 400 x 500 px, yet at the demo's size it drew a radiolucent halo around a solid-fusion screw (a false
'screw loosening suspected' and 'pseudarthrosis suspected' on the README's first patient; docs/simulator.md
"Version 37"). This runs that one journey at the size `make demo` uses.
"""

from __future__ import annotations

import pytest

from fusionwatch.ingest import ingest_journey
from fusionwatch.sim.demo import DEMO_SEEDS
from fusionwatch.sim.journey import simulate_journey
from fusionwatch.store import Store

pytestmark = pytest.mark.slow

DEMO_SIZE = (1000, 1250)  # fusionwatch.sim.demo.demo_journeys' default


def test_the_demo_solid_fusion_patient_has_no_hardware_finding_at_the_demo_size(tmp_path) -> None:
    """Every visit of the solid-fusion demo journey at 1000 x 1250 px: no screw, rod or cage finding, and no
    pseudarthrosis status."""
    journey = simulate_journey("solid-fusion", DEMO_SEEDS["solid-fusion"], tmp_path / "j", size=DEMO_SIZE)
    with Store(tmp_path / "fw.db") as store:
        report = ingest_journey(journey, store)
        assert [o for o in report.outcomes if o.status == "failed"] == []
        (key,) = store.list_patients()
        timeline = store.load_timeline(key)
    hardware = [(v.label, f.kind, f.summary) for v in timeline.visits for f in v.findings
                if f.kind.startswith(("screw", "rod", "cage"))]
    assert hardware == []
    assert all(v.status is None or "pseudarthrosis" not in str(v.status.status).lower() for v in timeline.visits)
