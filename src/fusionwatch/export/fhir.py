"""FHIR R4 export: a ``collection`` Bundle with the patient's imaging measurements, fusion status and PROMs as
Observations.

Resources are built as plain JSON and parsed with ``fhir.resources.R4B`` (FHIR 4.3, whose Patient, Observation and
Bundle are wire-compatible with R4 4.0.1 for the elements used here). Because the models accept any status or code,
every code and status goes through :func:`fusionwatch.export.codes.check_coding` / the status allow-list first.

Automatic measurements are ``status: preliminary`` (decision support, not yet verified by a reader); PROMs, which the
patient reported, are ``final``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from fusionwatch.export._fhir_common import GONE_NOTE_NO_LONGER_MADE, GONE_NOTE_NOT_APPLIED, coding, obs
from fusionwatch.export.codes import (
    FW_SYSTEM,
    LOINC,
    PAIN_NRS_LOINC,
    SNOMED,
    UCUM,
    finding_site,
    measure_code,
    ucum_unit,
)
from fusionwatch.export.deid import pseudo_id
from fusionwatch.export.fhir_imaging import finding_observations, motion_observations
from fusionwatch.pseudonym import uid_seed
from fusionwatch.report.labels import NO_LONGER_MADE, label, verdict_gone_text, visit_status_label
from fusionwatch.report.model import ReportData

__all__ = ["build_fhir_bundle", "write_fhir_bundle", "parse_bundle"]


def build_fhir_bundle(data: ReportData, *, deidentify: bool = False, uid_key: str | None = None) -> dict[str, Any]:
    """The patient's observations as a FHIR R4 ``collection`` Bundle (a JSON-ready dict).

    Contents: one Patient (pseudonymous key; name, identifier and birth date only when not de-identified), one
    Observation per measured value with a UCUM unit at every visit, one fusion-status Observation per visit with a
    status, one per automatic finding and per flexion-extension segment with their evidence
    (:mod:`fusionwatch.export.fhir_imaging`), and per PROM record the ODI total (%) and back / leg pain (LOINC
    72514-3 with a body-site text).

    Resource ids and the entries' ``fullUrl`` are stable hashes of what each resource is (visit date, measure) seeded,
    in a de-identified bundle, with ``uid_key``: the patient's :func:`fusionwatch.pseudonym.uid_seed` under the site
    secret, as the exported DICOM UIDs and film ids are (``None``: one from a random per-process secret, stable within
    one run only). Seeded with the printed pseudonym instead, every id could be recomputed from the bundle's own
    values. An identified bundle seeds them with the patient key it shows anyway.
    """
    original = data
    if deidentify:
        data = data.deidentified()
    key = data.patient_key
    if data.is_deidentified:
        seed = uid_key if uid_key is not None else uid_seed(original.patient_key, None)
    else:
        seed = key
    pid = pseudo_id(seed, "patient")
    subject = f"Patient/{pid}"
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid,
                               "identifier": [{"system": "urn:fusionwatch:patient-key", "value": key}]}
    if not data.is_deidentified:
        if data.patient_id:
            patient["identifier"].append({"value": data.patient_id})
        if data.patient_name:
            family, _, given = data.patient_name.partition("^")
            patient["name"] = [{"family": family, **({"given": [given.split("^")[0]]} if given else {})}]
        if data.birth_date:
            patient["birthDate"] = data.birth_date.isoformat()
    entries: list[dict[str, Any]] = [patient]
    for v in data.visits:
        for m in v.measurements:
            unit = ucum_unit(m.unit)
            if m.value is None or unit is None:
                continue
            code = measure_code(m.name)
            site = finding_site(m.name)
            measured = obs(
                pseudo_id(seed, f"{v.date}|{m.name.value}"), "preliminary", "imaging",
                {"coding": [coding(FW_SYSTEM, code.value, label(m.name))], "text": label(m.name)},
                subject, v.date,
                valueQuantity={"value": round(float(m.value), 4), "unit": unit[1], "system": UCUM,
                               "code": coding(UCUM, unit[0], unit[1])["code"]},
                bodySite={"coding": [coding(SNOMED, site.value, site.meaning)]},
                note=[{"text": f"visit {v.label}; day {v.days_since_surgery} after surgery"
                       + (f"; spacing {m.spacing_source.value}" if m.spacing_source else "")}],
            )
            entries.append(measured)
        if v.fusion_status is not None:
            entries.append(obs(
                pseudo_id(seed, f"{v.date}|fusion_status"), "preliminary", "imaging",
                {"coding": [coding(FW_SYSTEM, "fusion_status", "Radiographic fusion status (automatic)")],
                 "text": "Radiographic fusion status (automatic)"},
                subject, v.date,
                valueCodeableConcept={"text": visit_status_label(v)},
                note=[{"text": f"fusionwatch status: {v.fusion_status.value}; bridging bone: {v.bridging_call}"},
                      *({"text": r} for r in v.status_reasons),
                      *({"text": _gone_note(v, ref, o)} for ref, o in v.verdicts_without_finding)],
            ))
    entries += finding_observations(original, data, subject, id_seed=seed)
    entries += motion_observations(data, subject, id_seed=seed)
    for p in data.proms:
        o = p.odi
        if o is not None:
            entries.append(obs(
                pseudo_id(seed, f"{p.date}|odi"), "final", "survey",
                {"coding": [coding(FW_SYSTEM, "odi_total", "Oswestry Disability Index total score")],
                 "text": "Oswestry Disability Index (%)"},
                subject, p.date,
                valueQuantity={"value": round(o.score, 2), "unit": "%", "system": UCUM, "code": "%"},
                note=[{"text": f"{o.answered}/10 sections answered; band {o.band}"}],
            ))
        for attr, site in (("back_pain", "Lower back"), ("leg_pain", "Leg")):
            value = getattr(p, attr)
            if value is None:
                continue
            entries.append(obs(
                pseudo_id(seed, f"{p.date}|{attr}"), "final", "survey",
                {"coding": [coding(LOINC, PAIN_NRS_LOINC.value, PAIN_NRS_LOINC.meaning)],
                 "text": f"{site} pain (0-10)"},
                subject, p.date,
                valueQuantity={"value": value, "unit": "{score}", "system": UCUM,
                               "code": coding(UCUM, "{score}", "score")["code"]},
                bodySite={"text": site},
            ))
    for e in entries:
        if e.get("note") is None:
            e.pop("note", None)
    bundle = {
        "resourceType": "Bundle",
        "id": pseudo_id(seed, "bundle"),
        "type": "collection",
        "timestamp": dt.datetime.combine(data.generated_on, dt.time(0, 0), tzinfo=dt.UTC).isoformat(),
        "entry": [{"fullUrl": f"urn:uuid:{_uuid(seed, e['id'])}", "resource": e} for e in entries],
    }
    parse_bundle(bundle)  # structural validation by fhir.resources
    return bundle


def _gone_note(v: Any, ref: str, o: Any) -> str:
    """A reader's verdict that stands beside no finding at visit ``v``: begins with :data:`GONE_NOTE_NOT_APPLIED` when
    a finding of that name is made again, measured against another baseline film after the verdict
    (:meth:`fusionwatch.report.model.VisitView.verdict_not_applied`), else with :data:`GONE_NOTE_NO_LONGER_MADE`; then
    what, who, when, the note (withheld when de-identified) and why, when the record tells it."""
    remade = v.verdict_not_applied(ref)
    text = (f"{GONE_NOTE_NOT_APPLIED if remade else GONE_NOTE_NO_LONGER_MADE}: reader ({o.author}, "
            f"{o.at.date().isoformat()}): {o.value} on finding {ref}")
    text += f": {o.reason}" if o.reason else ""
    said = verdict_gone_text(v, ref)
    return f"{text}; {said if remade else f'{NO_LONGER_MADE} ({said})'}; the verdict is kept."


def _uuid(seed: str, rid: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:fusionwatch:{seed}:{rid}"))


def parse_bundle(bundle: dict[str, Any] | str) -> Any:
    """Parse and validate with ``fhir.resources`` (R4B models); raises ``pydantic.ValidationError`` when malformed."""
    from fhir.resources.R4B.bundle import Bundle

    if isinstance(bundle, str):
        return Bundle.model_validate_json(bundle)
    return Bundle.model_validate(bundle)


def write_fhir_bundle(data: ReportData, path: str | Path, *, deidentify: bool = False,
                      uid_key: str | None = None) -> Path:
    """Write :func:`build_fhir_bundle` as JSON (``uid_key`` as there) and return the path."""
    path = Path(path)
    bundle = build_fhir_bundle(data, deidentify=deidentify, uid_key=uid_key)
    path.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    return path
