"""Small builders shared by the FHIR export modules: checked codings, categories, statuses, quantities, Observations.

Every code and status goes through :func:`fusionwatch.export.codes.check_coding` / the status allow-list first,
because ``fhir.resources`` accepts any value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fusionwatch.export.codes import (
    FHIR_INTERPRETATION,
    FHIR_OBSERVATION_STATUS,
    FW_SYSTEM,
    INTERPRETATION_SYSTEM,
    OBS_CATEGORY_SYSTEM,
    UCUM,
    check_coding,
)

__all__ = ["coding", "category", "status", "obs", "quantity", "interpretation", "own_code", "GONE_NOTE_NO_LONGER_MADE",
           "GONE_NOTE_NOT_APPLIED"]

GONE_NOTE_NO_LONGER_MADE = "Reader verdict on a finding no longer made"
"""How a fusion-status Observation's note begins for a reader's verdict on a finding the tool no longer makes at the
visit (no finding Observation of that name)."""
GONE_NOTE_NOT_APPLIED = "Reader verdict not applied"
"""How a fusion-status Observation's note begins for a reader's verdict whose finding is made again, measured against
another baseline film after the verdict: the finding's Observation carries no verdict (it reads as not yet reviewed)
and a note beginning so too (:func:`fusionwatch.export.fhir_imaging.finding_observations`). A consumer tells the two
cases apart by these beginnings."""

_UCUM_DISPLAY = {"deg": "degree", "mm": "millimeter", "%": "percent", "1": "ratio", "{score}": "score"}


def coding(system: str, code: str, display: str) -> dict[str, str]:
    check_coding(system, code)
    return {"system": system, "code": code, "display": display}


def own_code(code: str, display: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept in fusionwatch's own code system (allow-listed)."""
    return {"coding": [coding(FW_SYSTEM, code, display)], "text": text or display}


def category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [coding(OBS_CATEGORY_SYSTEM, code, code.replace("-", " ").title())]}]


def status(value: str) -> str:
    if value not in FHIR_OBSERVATION_STATUS:
        raise ValueError(f"Observation status {value!r} is not a FHIR R4 status ({sorted(FHIR_OBSERVATION_STATUS)}).")
    return value


def interpretation(code: str) -> list[dict[str, Any]]:
    """``Observation.interpretation`` with one HL7 v3 ObservationInterpretation code (allow-listed)."""
    if code not in FHIR_INTERPRETATION:
        raise ValueError(f"Interpretation {code!r} is not one fusionwatch writes ({sorted(FHIR_INTERPRETATION)}).")
    return [{"coding": [coding(INTERPRETATION_SYSTEM, code, FHIR_INTERPRETATION[code])]}]


def quantity(value: float, ucum: str, digits: int = 4) -> dict[str, Any]:
    """A UCUM Quantity (``deg``, ``mm``, ``%``, ``1``, ``{score}``; checked)."""
    check_coding(UCUM, ucum)
    return {"value": round(float(value), digits), "unit": _UCUM_DISPLAY.get(ucum, ucum), "system": UCUM,
            "code": ucum}


def obs(oid: str, status_value: str, category_code: str, code: dict[str, Any], subject: str, when: dt.date,
        **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status(status_value),
        "category": category(category_code),
        "code": code,
        "subject": {"reference": subject},
        "effectiveDateTime": when.isoformat(),
        **extra,
    }
