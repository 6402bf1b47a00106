"""Tests for export/fhir.py: the bundle parses with fhir.resources and uses only allow-listed codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusionwatch.export.codes import FHIR_OBSERVATION_STATUS, check_coding
from fusionwatch.export.fhir import build_fhir_bundle, parse_bundle, write_fhir_bundle
from fusionwatch.report.example import example_report_data


@pytest.fixture
def data(tmp_path: Path):
    return example_report_data(tmp_path)


def _obs(bundle: dict) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]


def test_parses_back_and_counts(data, tmp_path: Path) -> None:
    path = write_fhir_bundle(data, tmp_path / "b.json")
    parsed = parse_bundle(path.read_text())
    assert parsed.type == "collection"
    bundle = json.loads(path.read_text())
    obs = _obs(bundle)
    # 4 visits x 5 measurements (all deg or mm) + 3 fusion statuses + 3 PROMs x (ODI, back, leg)
    assert len(obs) == 4 * 5 + 3 + 9
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_every_code_and_status_allowed(data) -> None:
    bundle = build_fhir_bundle(data)
    for o in _obs(bundle):
        assert o["status"] in FHIR_OBSERVATION_STATUS
        for c in o["code"]["coding"] + o["category"][0]["coding"]:
            check_coding(c["system"], c["code"])
        if "valueQuantity" in o:
            check_coding(o["valueQuantity"]["system"], o["valueQuantity"]["code"])


def test_values_by_hand(data) -> None:
    obs = _obs(build_fhir_bundle(data))
    odi = [o for o in obs if o["code"]["coding"][0]["code"] == "odi_total"]
    # pre-op answers 4,3,4,3,3,3,3,-,3,3 = 29 of 45 -> 64.44 %
    assert odi[0]["valueQuantity"]["value"] == pytest.approx(64.44, abs=0.01)
    pain = [o for o in obs if o["code"]["coding"][0]["code"] == "72514-3"]
    assert {(o["bodySite"]["text"], o["valueQuantity"]["value"]) for o in pain[:2]} == {("Lower back", 8), ("Leg", 7)}
    dh = [o for o in obs if o["code"]["coding"][0]["code"] == "disc_height_mean_L5_S1"]
    assert dh[-1]["valueQuantity"] == {"value": 8.4, "unit": "millimeter", "system": "http://unitsofmeasure.org",
                                       "code": "mm"}
    assert all(o["status"] == "preliminary" for o in obs if o["category"][0]["coding"][0]["code"] == "imaging")


def test_deidentified_has_no_identifiers(data) -> None:
    text = json.dumps(build_fhir_bundle(data, deidentify=True))
    for ident in ("Doe", "Jane", "MRN-778899", "1961", "2026-"):
        assert ident not in text
    assert '"effectiveDateTime": "1999-12-12"' in text  # pre-op, 20 days before the shifted surgery date


def test_uncalibrated_px_not_exported(tmp_path: Path) -> None:
    data = example_report_data(tmp_path, calibrated=False)
    obs = _obs(build_fhir_bundle(data))
    assert not [o for o in obs if o.get("valueQuantity", {}).get("code") in ("mm", "px")]


def test_fused_status_text_is_the_report_label(tmp_path: Path) -> None:
    """The fusion-status Observation shows the clinician report's label: on motion alone it says bridging bone was
    not assessed; the status code and the bridging call are in the first note."""
    import dataclasses

    from fusionwatch.records import FusionStatus

    d = example_report_data(tmp_path, status=FusionStatus.FUSED_CRITERIA_MET)
    visits = list(d.visits)
    visits[-1] = dataclasses.replace(visits[-1], reader_status=None)

    def status_obs(v) -> dict:  # noqa: ANN001 - VisitView
        data = dataclasses.replace(d, visits=(*visits[:-1], v))
        bundle = build_fhir_bundle(data)
        parse_bundle(json.dumps(bundle))
        return [o for o in _obs(bundle) if o["code"]["coding"][0]["code"] == "fusion_status"][-1]

    o = status_obs(visits[-1])
    assert "Fusion criteria met on motion; bridging bone not assessed" in o["valueCodeableConcept"]["text"]
    assert o["note"][0]["text"] == "fusionwatch status: fused_criteria_met; bridging bone: not_assessed"
    o = status_obs(dataclasses.replace(visits[-1], bridging_call="bridged"))
    assert o["valueCodeableConcept"]["text"] == "Radiographic fusion criteria met (confirm clinically)"
