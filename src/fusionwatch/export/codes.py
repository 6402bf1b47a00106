"""Codes used in the DICOM SR and FHIR exports: a small allow-list, each entry with its source.

Neither highdicom nor fhir.resources checks that a code exists or that a status value is allowed (fhir.resources
accepts ``status="bogus"``), so every code written by :mod:`fusionwatch.export` comes from here and is checked by
:func:`check_coding` before it is written.

Sources
-------
- ``DCM`` / ``SCT`` codes: DICOM PS3.16 (Content Mapping Resource), as shipped in pydicom's code dictionary
  (``pydicom.sr.codedict.codes``); tests/export/test_codes.py verifies every entry against it.
- ``LN`` 72514-3 "Pain severity - 0-10 verbal numeric rating [Score] - Reported": https://loinc.org/72514-3
  (used the same way by the HL7 Belgium patient-monitoring IG, ValueSet pain-scale).
- FHIR R4 Observation.status: http://hl7.org/fhir/R4/valueset-observation-status.html.
- FHIR R4 observation-category: http://hl7.org/fhir/R4/valueset-observation-category.html (``imaging``, ``survey``).
- FHIR R4 Observation.interpretation: HL7 v3 ObservationInterpretation
  (http://hl7.org/fhir/R4/valueset-observation-interpretation.html): ``N``, ``A``, ``AA``, ``H``, ``IND`` only.
- UCUM units (https://ucum.org/ucum): ``deg`` degree of plane angle, ``mm``, ``%``, ``1`` (unity, for ratios),
  ``{score}`` (an annotation: unit 1).
- No standard code was found for the spinopelvic parameters, segmental lordosis, disc height, slip or the Oswestry
  Disability Index total score, so they use fusionwatch's own code system (:data:`FW_SCHEME` in DICOM, a private
  "99" coding scheme designator as PS3.3 8.1 allows; :data:`FW_SYSTEM` in FHIR) with the measurement name as the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fusionwatch.measurement import MeasureName
from fusionwatch.units import Unit

__all__ = [
    "Code",
    "FW_SCHEME",
    "FW_SYSTEM",
    "LOINC",
    "SNOMED",
    "UCUM",
    "DICOM_CODES",
    "FHIR_OBSERVATION_STATUS",
    "FHIR_OBSERVATION_CATEGORY",
    "INTERPRETATION_SYSTEM",
    "FHIR_INTERPRETATION",
    "FW_IMAGING_CODES",
    "UCUM_UNITS",
    "PAIN_NRS_LOINC",
    "measure_code",
    "ucum_unit",
    "finding_site",
    "level_site",
    "check_coding",
]

FW_SCHEME = "99FWATCH"
FW_SYSTEM = "urn:fusionwatch:code"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@dataclass(frozen=True, slots=True)
class Code:
    value: str
    scheme: str
    meaning: str


DICOM_CODES: dict[str, Code] = {
    "imaging_measurement_report": Code("126000", "DCM", "Imaging Measurement Report"),
    "plain_radiography": Code("168537006", "SCT", "Plain radiography"),
    "angle": Code("110859", "DCM", "Angle"),
    "height": Code("121207", "DCM", "Height"),
    "distance": Code("121206", "DCM", "Distance"),
    "cobb_angle": Code("285285000", "SCT", "Cobb angle"),
    "l5_s1_disc": Code("715056000", "SCT", "L5/S1 disc"),
    "l4_l5_disc": Code("84020006", "SCT", "L4/L5 disc"),
    "lumbosacral_region": Code("297173004", "SCT", "Lumbosacral region of spine structure (body structure)"),
    "lumbar_spine": Code("122496007", "SCT", "Lumbar spine"),
    "sacrum": Code("54735007", "SCT", "Bone structure of sacrum (body structure)"),
    "pelvis": Code("12921003", "SCT", "Pelvic structure (body structure)"),
    "finding_site": Code("363698007", "SCT", "Finding Site"),
    "pain_score": Code("225908003", "SCT", "Pain score (observable entity)"),
}
"""Standard codes (DCM, SCT), each present in DICOM PS3.16 as shipped with pydicom."""

FHIR_OBSERVATION_STATUS = frozenset(
    {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}
)
FHIR_OBSERVATION_CATEGORY = frozenset(
    {"social-history", "vital-signs", "imaging", "laboratory", "procedure", "survey", "exam", "therapy", "activity"}
)
FHIR_INTERPRETATION: dict[str, str] = {
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critical abnormal",
    "H": "High",
    "IND": "Indeterminate",
}
"""The HL7 v3 ObservationInterpretation codes fusionwatch writes (code -> display; R4 value set
http://hl7.org/fhir/R4/valueset-observation-interpretation.html). Findings: ``A`` (severity watch), ``AA`` (action or
urgent), ``N`` (a reader rejected the finding). Flexion-extension motion against its criterion: ``H`` (95 % interval
above the limit), ``N`` (below), ``IND`` (the interval straddles it)."""

FW_IMAGING_CODES: dict[str, str] = {
    "flexion_extension_motion": "Flexion-extension motion of a spinal segment",
    "angular_motion": "Angular motion (flexion-extension)",
    "angular_motion_sd": "Angular motion, 1 SD",
    "angular_motion_interval_95": "Angular motion magnitude, 95 % interval",
    "translation": "Translation (flexion-extension)",
    "translation_sd": "Translation, 1 SD",
    "translation_interval_95": "Translation magnitude, 95 % interval",
    "finding_current_value": "Value on the current film",
    "finding_reference_value": "Value on the reference (baseline) film",
    "finding_compared_amount": "Amount compared with the threshold",
    "screw_endplate_angle_change": "Screw-endplate angle change",
    "screw_endplate_angle_change_sd": "Screw-endplate angle change, 1 SD",
    "screw_endplate_angle_change_interval_95": "Screw-endplate angle change, 95 % interval",
    "screw_halo_width": "Radiolucent halo width around the screw",
    "rod_gap": "Gap in the rod's centre line",
    "reader_verdict": "Reader's verdict on the automatic finding",
    "confirmed": "Confirmed by a reader",
    "rejected": "Rejected by a reader",
}
"""fusionwatch's own codes for the flexion-extension and finding Observations and their components (no standard code
exists; see the module notes). A finding's own code is ``finding:<kind>`` (lower-case kind id)."""

UCUM_UNITS: dict[Unit, tuple[str, str]] = {
    Unit.DEG: ("deg", "degree"),
    Unit.MM: ("mm", "millimeter"),
    Unit.PERCENT: ("%", "percent"),
    Unit.RATIO: ("1", "ratio"),
    Unit.GRADE: ("{grade}", "grade"),
}
"""fusionwatch unit -> (UCUM code, display). Pixels have no UCUM unit: px values are not exported."""

PAIN_NRS_LOINC = Code("72514-3", "LN", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")

_SITE: dict[str, str] = {"L5_S1": "l5_s1_disc", "L4_L5": "l4_l5_disc"}
_FINDING_CODE = re.compile(r"finding:[a-z][a-z0-9_]*")


def measure_code(name: MeasureName) -> Code:
    """fusionwatch's own code for a measurement (no standard code exists for these; see the module notes)."""
    return Code(name.value, FW_SCHEME, name.value.replace("_", " "))


def ucum_unit(unit: Unit) -> tuple[str, str] | None:
    """(UCUM code, display) for a unit, or ``None`` for pixels (not exported)."""
    return UCUM_UNITS.get(unit)


def level_site(level: str) -> Code | None:
    """The disc a segment level such as ``"L5-S1"`` names (SNOMED CT via DICOM PS3.16), or ``None``."""
    key = _SITE.get(level.replace("-", "_"))
    return DICOM_CODES[key] if key else None


def finding_site(name: MeasureName) -> Code:
    """The anatomical site a measurement describes (SNOMED CT via DICOM PS3.16)."""
    for suffix, key in _SITE.items():
        if name.value.endswith(suffix):
            return DICOM_CODES[key]
    if name in (MeasureName.SACRAL_SLOPE,):
        return DICOM_CODES["sacrum"]
    if name in (MeasureName.PELVIC_TILT, MeasureName.PELVIC_INCIDENCE):
        return DICOM_CODES["pelvis"]
    return DICOM_CODES["lumbar_spine"]


def check_coding(system: str, code: str) -> None:
    """Raise ``ValueError`` unless ``(system, code)`` is on the allow-list (FHIR system URIs or DICOM schemes).

    Our own code system is accepted only for :class:`MeasureName` values and the few fusionwatch concepts below.
    """
    own = ({m.value for m in MeasureName} | {"odi_total", "fusion_status"} | {f"{m.value}_delta" for m in MeasureName}
           | set(FW_IMAGING_CODES))
    if system in (FW_SYSTEM, FW_SCHEME) and _FINDING_CODE.fullmatch(code):
        return
    allowed: dict[str, set[str]] = {
        LOINC: {PAIN_NRS_LOINC.value},
        "LN": {PAIN_NRS_LOINC.value},
        SNOMED: {c.value for c in DICOM_CODES.values() if c.scheme == "SCT"},
        "SCT": {c.value for c in DICOM_CODES.values() if c.scheme == "SCT"},
        "DCM": {c.value for c in DICOM_CODES.values() if c.scheme == "DCM"},
        UCUM: {u for u, _ in UCUM_UNITS.values()} | {"{score}"},
        "UCUM": {u for u, _ in UCUM_UNITS.values()} | {"{score}"},
        OBS_CATEGORY_SYSTEM: set(FHIR_OBSERVATION_CATEGORY),
        INTERPRETATION_SYSTEM: set(FHIR_INTERPRETATION),
        FW_SYSTEM: own,
        FW_SCHEME: own,
    }
    if system not in allowed:
        raise ValueError(f"Code system {system!r} is not on fusionwatch's allow-list.")
    if code not in allowed[system]:
        raise ValueError(f"Code {code!r} is not on the allow-list for {system!r}.")
