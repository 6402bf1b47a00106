"""Recovery care: the editable care protocol, the per-patient schedule (.ics), PROM scoring and red-flag triage."""

from fusionwatch.care.advice import CareAdvice, ConcernReason, care_advice
from fusionwatch.care.proms import (
    NRS_MCID,
    ODI_MAX_MISSING,
    ODI_MCID,
    OdiScore,
    PromChange,
    PromRecord,
    check_nrs,
    compare_proms,
    odi_band,
    parse_odi,
    score_odi,
)
from fusionwatch.care.protocol import DEFAULT_PROTOCOL_PATH, Protocol, ProtocolError, default_protocol, load_protocol
from fusionwatch.care.schedule import ItemStatus, Schedule, ScheduleItem, build_schedule, to_ics
from fusionwatch.care.triage import RULES, Symptom, TriageResult, Urgency, parse_symptoms, triage

__all__ = [
    "CareAdvice",
    "ConcernReason",
    "DEFAULT_PROTOCOL_PATH",
    "ItemStatus",
    "NRS_MCID",
    "ODI_MAX_MISSING",
    "ODI_MCID",
    "OdiScore",
    "PromChange",
    "PromRecord",
    "Protocol",
    "ProtocolError",
    "RULES",
    "Schedule",
    "ScheduleItem",
    "Symptom",
    "TriageResult",
    "Urgency",
    "build_schedule",
    "care_advice",
    "check_nrs",
    "compare_proms",
    "default_protocol",
    "load_protocol",
    "odi_band",
    "parse_odi",
    "parse_symptoms",
    "score_odi",
    "to_ics",
    "triage",
]
