"""Tests for export/fhir.py: the bundle parses with fhir.resources and uses only allow-listed codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _verdicts import remeasured_and_gone
from fusionwatch.export.codes import FHIR_OBSERVATION_STATUS, check_coding
from fusionwatch.export.deid import pseudo_id
from fusionwatch.export.fhir import build_fhir_bundle, parse_bundle, write_fhir_bundle
from fusionwatch.pseudonym import uid_seed
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
    # 4 visits x 5 measurements (all deg or mm) + 3 fusion statuses + 1 finding + 1 motion + 3 PROMs x (ODI, back, leg)
    assert len(obs) == 4 * 5 + 3 + 1 + 1 + 9
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


def test_deidentified_ids_cannot_be_recomputed_from_the_bundle(data) -> None:
    """A de-identified bundle's resource ids and fullUrls are seeded with the patient's keyed UID seed, like the
    exported DICOM UIDs: before, they were pseudo_id(pseudonym, value) of values the bundle itself shows (its
    pseudonym, 'patient', 'bundle', shifted dates and codes), so anyone holding the bundle could recompute them."""
    bundle = build_fhir_bundle(data, deidentify=True)  # no uid_key: one from the per-process secret
    shown = json.dumps(bundle)
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    alias = patient["identifier"][0]["value"]
    assert alias.startswith("FW-") and data.patient_key not in shown
    assert patient["id"] != pseudo_id(alias, "patient") and bundle["id"] != pseudo_id(alias, "bundle")
    for o in _obs(bundle):  # the old rule for measurements, statuses and PROMs: pseudonym + exported date + name
        for name in (o["code"]["coding"][0]["code"], "fusion_status", "odi"):
            assert o["id"] != pseudo_id(alias, f"{o['effectiveDateTime']}|{name}")


def test_deidentified_ids_follow_the_site_secret(data) -> None:
    """Same data and seed: the same ids (stable across exports of one site); another site secret: none shared."""
    def ids(secret: bytes) -> list[str]:
        b = build_fhir_bundle(data, deidentify=True, uid_key=uid_seed(data.patient_key, secret))
        return [b["id"], *(e["resource"]["id"] for e in b["entry"]), *(e["fullUrl"] for e in b["entry"])]

    first, again, other = ids(b"a" * 32), ids(b"a" * 32), ids(b"b" * 32)
    assert first == again and len(set(first)) == len(first)
    assert not set(first) & set(other)


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


# --- automatic findings and flexion-extension motion (export/fhir_imaging.py) ------------------------------------

import dataclasses  # noqa: E402
import datetime as dt  # noqa: E402

from fusionwatch.records import Finding, Override, Severity  # noqa: E402

SUBSIDENCE = Finding(
    "cage_subsidence", Severity.WATCH, "L5-S1 disc height fell 2.9 mm since the 6-weeks film (threshold 2 mm).",
    {"measure": "disc_height_mean_L5_S1", "unit": "mm", "current": 8.1, "baseline": 11.0, "change": -2.9,
     "compared": "loss", "amount": 2.9, "comparison": ">", "threshold": 2.0,
     "visits": {"current": "6-months", "baseline": "6-weeks"},
     "films": {"current": "1.2.3.3", "baseline": "1.2.3.1"}},
    "> 2 mm disc height loss vs the 6-weeks film (cage subsidence; common study definition)",
    ("1.2.3.1", "1.2.3.3"),
)
LOOSENING = Finding(
    "screw_loosening_suspected", Severity.WATCH, "S1 screw: angle to the endplate changed +2.4 deg.",
    {"level": "S1", "change_deg": 2.382, "sd_deg": 0.075, "interval_95": [2.234, 2.53], "threshold_deg": 1.9,
     "head": [556.2, 780.9]},
    ">= 1.9 deg screw-endplate angle change (PMID 24170238)", ("1.2.3.1", "1.2.3.3"),
)
ROD = Finding("rod_fracture_suspected", Severity.ACTION, "Rod discontinuity: a 1.6 mm gap.",
              {"gap_px": 5.0, "gap_mm": 1.61, "new_since_baseline": True}, "any gap", ("1.2.3.1", "1.2.3.3"))
LABELS = {"1.2.3.1": "6-weeks lateral film", "1.2.3.3": "6-months lateral film"}


def _with_findings(data, verdicts=None):  # noqa: ANN001, ANN202
    v = dataclasses.replace(data.visits[3], findings=(SUBSIDENCE, LOOSENING, ROD), finding_verdicts=verdicts or {})
    return dataclasses.replace(data, visits=(*data.visits[:3], v), film_labels=LABELS)


def _by_code(bundle: dict, code: str) -> list[dict]:
    return [o for o in _obs(bundle) if o["code"]["coding"][0]["code"] == code]


def _comp(o: dict, code: str) -> dict:
    return next(c for c in o["component"] if c["code"]["coding"][0]["code"] == code)


def _all_codes_allowed(bundle: dict) -> None:
    from fusionwatch.export.codes import FHIR_INTERPRETATION

    parse_bundle(bundle)
    for o in _obs(bundle):
        assert o["status"] in FHIR_OBSERVATION_STATUS
        items = [o, *o.get("component", [])]
        for it in items:
            for c in it["code"]["coding"]:
                check_coding(c["system"], c["code"])
            for i in it.get("interpretation", []):
                assert i["coding"][0]["code"] in FHIR_INTERPRETATION
                check_coding(i["coding"][0]["system"], i["coding"][0]["code"])
            quantities = [it.get("valueQuantity")] + [it.get("valueRange", {}).get(k) for k in ("low", "high")]
            quantities += [r.get("high") for r in it.get("referenceRange", [])]
            for q in filter(None, quantities):
                assert q["system"] == "http://unitsofmeasure.org" and q["code"] in ("deg", "mm", "%", "1", "{score}")
                check_coding(q["system"], q["code"])


def test_findings_carry_their_evidence(data) -> None:
    """Each automatic finding is an Observation with the measured values (UCUM), the threshold, the films and their
    dates; an unverified one is preliminary with the severity as interpretation."""
    bundle = build_fhir_bundle(_with_findings(data))
    _all_codes_allowed(bundle)
    (sub,) = _by_code(bundle, "finding:cage_subsidence")
    assert sub["status"] == "preliminary" and sub["valueBoolean"] is True
    assert sub["interpretation"][0]["coding"][0]["code"] == "A"  # watch
    assert sub["bodySite"]["coding"][0]["code"] == "715056000"  # L5/S1 disc
    assert _comp(sub, "finding_current_value")["valueQuantity"] == {
        "value": 8.1, "unit": "millimeter", "system": "http://unitsofmeasure.org", "code": "mm"}
    assert _comp(sub, "finding_reference_value")["valueQuantity"]["value"] == 11.0
    amount = _comp(sub, "finding_compared_amount")
    assert amount["valueQuantity"]["value"] == 2.9 and amount["referenceRange"][0]["high"]["value"] == 2.0
    notes = " | ".join(n["text"] for n in sub["note"])
    assert "Films: 6-weeks lateral film (2026-02-21) -> 6-months lateral film (2026-07-14)" in notes
    assert "Rule: > 2 mm disc height loss" in notes
    (loose,) = _by_code(bundle, "finding:screw_loosening_suspected")
    assert _comp(loose, "screw_endplate_angle_change")["valueQuantity"]["code"] == "deg"
    assert _comp(loose, "screw_endplate_angle_change")["referenceRange"][0]["high"]["value"] == 1.9
    rng = _comp(loose, "screw_endplate_angle_change_interval_95")["valueRange"]
    assert (rng["low"]["value"], rng["high"]["value"]) == (2.234, 2.53)
    (rod,) = _by_code(bundle, "finding:rod_fracture_suspected")
    assert rod["interpretation"][0]["coding"][0]["code"] == "AA"  # action
    assert _comp(rod, "rod_gap")["valueQuantity"]["value"] == 1.61  # the px gap has no UCUM unit: left out
    assert "px" not in json.dumps(rod["component"])


def test_reader_verdicts_change_status_and_value(data) -> None:
    """A confirmed finding is final; a rejected one is amended, valueBoolean false, interpretation N, and still
    carries what the tool measured and the reader's verdict."""
    at = dt.datetime(2026, 7, 16, 8, 0, tzinfo=dt.UTC)
    verdicts = {"cage_subsidence": Override("finding:cage_subsidence", "rejected", "Dr Amy", at, "projection"),
                "rod_fracture_suspected": Override("finding:rod_fracture_suspected", "confirmed", "Dr Amy", at)}
    bundle = build_fhir_bundle(_with_findings(data, verdicts))
    _all_codes_allowed(bundle)
    (sub,) = _by_code(bundle, "finding:cage_subsidence")
    assert sub["status"] == "amended" and sub["valueBoolean"] is False
    assert sub["interpretation"][0]["coding"][0]["code"] == "N"
    assert _comp(sub, "reader_verdict")["valueCodeableConcept"]["coding"][0]["code"] == "rejected"
    assert _comp(sub, "finding_compared_amount")["valueQuantity"]["value"] == 2.9
    assert any(n["text"] == "Reader (Dr Amy, 2026-07-16): rejected: projection" for n in sub["note"])
    (rod,) = _by_code(bundle, "finding:rod_fracture_suspected")
    assert rod["status"] == "final" and rod["valueBoolean"] is True
    (loose,) = _by_code(bundle, "finding:screw_loosening_suspected")
    assert loose["status"] == "preliminary"


def test_deidentified_findings_keep_values_not_identifiers(data) -> None:
    """De-identified: values and thresholds stay, film ids and reader names go, film dates are shifted."""
    at = dt.datetime(2026, 7, 16, 8, 0, tzinfo=dt.UTC)
    verdicts = {"cage_subsidence": Override("finding:cage_subsidence", "rejected", "Dr Amy", at, "seen 2026-07-15")}
    bundle = build_fhir_bundle(_with_findings(data, verdicts), deidentify=True)
    _all_codes_allowed(bundle)
    text = json.dumps(bundle)
    for ident in ("1.2.3.", "Dr Amy", "2026-", "Doe", "MRN-778899"):
        assert ident not in text, ident
    (sub,) = _by_code(bundle, "finding:cage_subsidence")
    notes = " | ".join(n["text"] for n in sub["note"])
    # surgery 2026-01-10 -> 2000-01-01: the 6-weeks film (day 42) is 2000-02-12, the 6-months film (day 185) 2000-07-04
    assert "Films: 6-weeks lateral film (2000-02-12) -> 6-months lateral film (2000-07-04)" in notes
    # the verdict and its shifted date stay; the reader's free-text reason is withheld (report.model.deidentified)
    assert "Reader (reader, 2000-07-06): rejected: [reader's note withheld: free text is not exported de-identified]" \
        in notes
    assert _comp(sub, "finding_current_value")["valueQuantity"]["value"] == 8.1


@pytest.mark.parametrize(
    "level, angle, sd, expected",
    [
        ("L5-S1", 6.9, 1.5, "H"),  # 6.9 - 1.96 x 1.5 = 3.96 > 3: motion above the fusion criterion
        ("L5-S1", 0.4, 0.2, "N"),  # 0.4 + 0.39 < 3
        ("L5-S1", 2.1, 0.8, "IND"),  # 0.53 .. 3.67 straddles 3
        ("L4-L5", 11.2, 0.3, "N"),  # not operated: AOMSI limit 20 deg at L4-L5, motion expected
        ("L4-L5", 24.0, 0.5, "H"),
    ],
)
def test_motion_observation(data, level: str, angle: float, sd: float, expected: str) -> None:
    """Angular motion (deg) and translation (mm) with SD and 95 % interval; the criterion of the segment as reference
    range; H / N / IND by the 95 % interval."""
    m = {"level": level, "angle_deg": angle, "angle_sd_deg": sd, "translation_mm": 0.9, "translation_sd": 0.1}
    v = dataclasses.replace(data.visits[3], motion=(m,))
    bundle = build_fhir_bundle(dataclasses.replace(data, visits=(*data.visits[:3], v)))
    _all_codes_allowed(bundle)
    (o,) = _by_code(bundle, "flexion_extension_motion")
    a = _comp(o, "angular_motion")
    assert a["valueQuantity"]["code"] == "deg" and a["valueQuantity"]["value"] == angle
    assert a["interpretation"][0]["coding"][0]["code"] == expected
    assert a["referenceRange"][0]["high"]["value"] == (3.0 if level == "L5-S1" else 20.0)
    assert _comp(o, "angular_motion_sd")["valueQuantity"]["value"] == sd
    rng = _comp(o, "angular_motion_interval_95")["valueRange"]
    assert rng["high"]["value"] == pytest.approx(angle + 1.96 * sd, abs=1e-3)
    t = _comp(o, "translation")
    assert t["valueQuantity"]["code"] == "mm" and _comp(o, "translation_sd")["valueQuantity"]["value"] == 0.1
    assert o["interpretation"][0]["coding"][0]["code"] == expected
    assert o["bodySite"]["coding"][0]["code"] == ("715056000" if level == "L5-S1" else "84020006")
    assert "2026-07-14" in " ".join(n["text"] for n in o["note"])


@pytest.mark.parametrize("field", ["angle_sd_deg", "translation_sd"])
def test_motion_negative_sd_refused(data, field: str) -> None:
    """A negative SD is impossible: the export refuses it, naming the visit, segment and value, as the follow-up
    engine's judgement does (it used to be replaced silently by the default SD, making the 95 % interval up)."""
    from fusionwatch.errors import InputError

    m = {"level": "L5-S1", "angle_deg": 2.1, "angle_sd_deg": 0.8, "translation_mm": 0.9, "translation_sd": 0.1}
    m[field] = -0.4
    v = dataclasses.replace(data.visits[3], motion=(m,))
    with pytest.raises(InputError, match=rf"{v.label} L5-S1.*SD must be >= 0, got -0.4"):
        build_fhir_bundle(dataclasses.replace(data, visits=(*data.visits[:3], v)))


@pytest.mark.parametrize("sd", [None, float("nan")])
def test_motion_missing_sd_takes_the_settings_default(data, sd: float | None) -> None:
    """A missing SD is replaced by the follow-up settings' default (0.8 deg at L5-S1), as the follow-up engine does."""
    m = {"level": "L5-S1", "angle_deg": 2.1, "angle_sd_deg": sd, "translation_mm": 0.9, "translation_sd": 0.1}
    v = dataclasses.replace(data.visits[3], motion=(m,))
    bundle = build_fhir_bundle(dataclasses.replace(data, visits=(*data.visits[:3], v)))
    (o,) = _by_code(bundle, "flexion_extension_motion")
    from fusionwatch.followup.settings import FollowupSettings

    default = FollowupSettings().motion_default_angle_sd_deg
    rng = _comp(o, "angular_motion_interval_95")["valueRange"]
    assert rng["high"]["value"] == pytest.approx(2.1 + 1.96 * default, abs=1e-3)
    assert not [c for c in o["component"] if c["code"]["coding"][0]["code"] == "angular_motion_sd"]


def test_motion_uncalibrated_in_percent(tmp_path: Path) -> None:
    """On an uncalibrated film the translation is in % of the endplate depth (UCUM %), never mm."""
    bundle = build_fhir_bundle(example_report_data(tmp_path, calibrated=False))
    (o,) = _by_code(bundle, "flexion_extension_motion")
    t = _comp(o, "translation")
    assert t["valueQuantity"]["code"] == "%" and t["referenceRange"][0]["high"]["value"] == 8.0
    assert '"mm"' not in json.dumps(o)


def test_interpretation_and_status_values_are_checked() -> None:
    """fhir.resources accepts any status or interpretation code, so fusionwatch checks its own."""
    from fusionwatch.export._fhir_common import interpretation, status

    with pytest.raises(ValueError, match="not a FHIR R4 status"):
        status("bogus")
    with pytest.raises(ValueError, match="not one fusionwatch writes"):
        interpretation("HIGH")
    with pytest.raises(ValueError, match="not on the allow-list"):
        check_coding("urn:fusionwatch:code", "finding:Bad Kind")


def test_a_verdict_on_one_finding_of_a_kind_marks_that_observation_only(data) -> None:
    """Two screw-loosening findings (angle, left halo): a rejection of the halo by its ref amends the halo's
    Observation only; each carries its ref in a note."""
    kind = "screw_loosening_suspected"
    halo = Finding(kind, Severity.WATCH, "S1 screw (image left): a radiolucent halo formed.",
                   {"level": "S1", "criterion": "halo", "halo_mm": 1.4}, "> 1 mm halo", ("1.2.3.1", "1.2.3.3"))
    angle = dataclasses.replace(LOOSENING, evidence={**LOOSENING.evidence, "criterion": "screw-endplate angle change"})
    at = dt.datetime(2026, 7, 16, 8, 0, tzinfo=dt.UTC)
    ref = f"{kind}:S1-left-halo"
    v = dataclasses.replace(data.visits[3], findings=(SUBSIDENCE, angle, halo), finding_refs=(),
                            finding_verdicts={ref: Override(f"finding:{ref}", "rejected", "Dr Amy", at)})
    d = dataclasses.replace(data, visits=(*data.visits[:3], v), film_labels=LABELS)
    for deidentify in (False, True):
        bundle = build_fhir_bundle(d, deidentify=deidentify)
        _all_codes_allowed(bundle)
        obs = _by_code(bundle, f"finding:{kind}")
        assert len(obs) == 2
        by_ref = {next(n["text"] for n in o["note"] if n["text"].startswith("Ref: ")).split()[1]: o for o in obs}
        assert set(by_ref) == {f"{kind}:S1-angle", ref}
        assert by_ref[ref]["status"] == "amended" and by_ref[ref]["valueBoolean"] is False
        assert by_ref[f"{kind}:S1-angle"]["status"] == "preliminary"
        assert by_ref[f"{kind}:S1-angle"]["valueBoolean"] is True


@pytest.mark.parametrize("deidentify", [False, True])
def test_a_consumer_tells_a_verdict_not_applied_from_one_on_a_finding_no_longer_made(tmp_path: Path,
                                                                                      deidentify: bool) -> None:
    """A verdict whose finding is made again against another baseline film is 'not applied', not 'no longer made':
    the fusion-status Observation's notes begin differently for the two, and the re-measured finding's Observation
    carries no verdict and a not-applied note. Before, both read 'the tool no longer makes this finding at this
    visit', although the rod finding is in the bundle as its own Observation."""
    # what a consumer matches (export._fhir_common.GONE_NOTE_NOT_APPLIED / GONE_NOTE_NO_LONGER_MADE, documented in
    # docs/reports.md)
    not_applied_prefix, no_longer_prefix = "Reader verdict not applied", "Reader verdict on a finding no longer made"
    bundle = json.loads(json.dumps(build_fhir_bundle(remeasured_and_gone(tmp_path), deidentify=deidentify)))
    parse_bundle(bundle)
    resources = _obs(bundle)
    (status,) = [r for r in resources if r["code"]["coding"][0]["code"] == "fusion_status"
                 and r["effectiveDateTime"][:10] == max(x["effectiveDateTime"][:10] for x in resources)]
    notes = [n["text"] for n in status["note"]]
    not_applied = [n for n in notes if n.startswith(not_applied_prefix)]
    no_longer = [n for n in notes if n.startswith(no_longer_prefix)]
    assert len(not_applied) == 1 and "rejected on finding rod_discontinuity" in not_applied[0], notes
    assert "no longer makes" not in not_applied[0] and "another baseline film" in not_applied[0], not_applied
    assert len(no_longer) == 1 and "confirmed on finding screw_loosening_suspected" in no_longer[0], notes
    assert "no longer makes this finding" in no_longer[0]
    (rod,) = [r for r in resources if r["code"]["coding"][0]["code"] == "finding:rod_discontinuity"]
    assert rod["status"] != "amended" and rod["valueBoolean"] is True  # the rejection is not applied to it
    assert any(n["text"].startswith(not_applied_prefix) for n in rod["note"]), rod["note"]
