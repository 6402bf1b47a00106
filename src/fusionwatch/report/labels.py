"""Display names of measurements and the thresholds that apply to them, for the clinician report.

Threshold texts use the follow-up settings the timeline was computed with when known (``ReportData.thresholds``),
else the documented defaults (docs/followup.md). Each text names its source: a published definition, or
"fusionwatch setting" where the number is the project's own default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fusionwatch.care.protocol import NOT_ASSESSED
from fusionwatch.followup.status import BRIDGED, BRIDGING_KEY, BRIDGING_NOT_ASSESSED, NOT_BRIDGED, bridging_call
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import FusionStatus

__all__ = [
    "MEASURE_LABELS", "KEY_MEASURES", "threshold_text", "STATUS_LABELS", "FUSED_ON_MOTION_LABELS", "label",
    "bridging_from_evidence", "bridging_confirmed", "status_label", "visit_status_label", "reader_status_label",
    "acted_status_label", "AOMSI_ANGLE_L1_L4", "motion_value_texts", "concern_reason_texts", "NO_LONGER_MADE",
    "NOT_APPLIED_REMEASURED", "GONE_WHY_UNKNOWN", "verdict_gone_text",
]

NO_LONGER_MADE = "the tool no longer makes this finding at this visit"
"""Said beside a reader's verdict on a finding that is no longer among the visit's findings (FHIR note; the clinician
report's table of such verdicts says it in its heading). Not said of a verdict whose finding is made again, measured
against another baseline film: that one is :data:`NOT_APPLIED_REMEASURED`
(:meth:`fusionwatch.report.model.VisitView.verdict_not_applied` tells the two apart)."""
NOT_APPLIED_REMEASURED = ("the verdict is not applied: a finding of this name is made again, measured against another "
                          "baseline film after the verdict (confirm or reject it again)")
"""Said beside a reader's verdict whose finding the tool still makes at the visit but measured it again against another
baseline film after the verdict (:func:`fusionwatch.followup.refs.judged`): the reader judged another comparison, so
the verdict counts for nothing until given again. The clinician report, the FHIR bundle and visits.csv say it alike."""
GONE_WHY_UNKNOWN = ("why is not recorded: the visit was analysed again after the verdict (another baseline film, "
                    "corrected landmarks or surgery record)")
"""Said when the record holds no change after the verdict that explains why the finding is no longer made."""

def verdict_gone_text(v: Any, ref: str) -> str:
    """Why a reader's verdict of ``v.verdicts_without_finding`` (``v``: a
    :class:`fusionwatch.report.model.VisitView`) stands beside no finding: not applied, when its finding is made again
    and measured against another baseline film (:data:`NOT_APPLIED_REMEASURED`), and the recorded changes after it
    (``v.verdict_gone_why``), else, for a finding no longer made, that why is not recorded (:data:`GONE_WHY_UNKNOWN`).
    One text for the clinician report and the FHIR note."""
    remade = v.verdict_not_applied(ref)
    why = v.verdict_gone_why.get(ref) or ("" if remade else GONE_WHY_UNKNOWN)
    return "; ".join(w for w in (NOT_APPLIED_REMEASURED if remade else "", why) if w)


AOMSI_ANGLE_L1_L4 = 15.0
"""AOMSI (AMA Guides 5th ed.) angular-motion limit at L1-L4; L4-L5 and L5-S1 come from the follow-up rules
(:data:`fusionwatch.followup.rules.INSTABILITY_ANGLE_DEG`)."""

_MOTION_FIELDS = ("angle_deg", "angle_sd_deg", "translation_mm", "translation_percent", "translation_sd")


def motion_value_texts(motion: Mapping[str, Any] | Any) -> tuple[str, str]:
    """A flexion-extension result as the clinician report's motion table and the followup command word it.

    Parameters
    ----------
    motion : mapping or object
        The report's motion dict or a :class:`fusionwatch.followup.SegmentMotion` (any object with its fields):
        ``angle_deg`` and ``angle_sd_deg`` in degrees, ``translation_mm`` (calibrated films) or
        ``translation_percent`` (% of the endplate depth, uncalibrated films) and its ``translation_sd``.

    Returns
    -------
    (str, str)
        Angle and translation: magnitudes (what the criteria judge; the sign stays in the JSON) to 0.1, each with
        "± SD" (1 SD) when its SD is a positive number; "—" for a value that is missing.
    """
    get = motion.get if isinstance(motion, Mapping) else (lambda k: getattr(motion, k, None))
    a, a_sd, mm, pct, t_sd = (get(k) for k in _MOTION_FIELDS)

    def sd(value: Any) -> str:
        return f" ± {value:.1f}" if isinstance(value, int | float) and math.isfinite(value) and value > 0 else ""

    angle = "—" if a is None else f"{abs(a):.1f} deg{sd(a_sd)}"
    if mm is not None:
        translation = f"{abs(mm):.1f} mm{sd(t_sd)}"
    elif pct is not None:
        translation = f"{abs(pct):.1f} % of endplate{sd(t_sd)}"
    else:
        translation = "—"
    return angle, translation


MEASURE_LABELS: dict[M, str] = {
    M.SACRAL_SLOPE: "Sacral slope (SS)",
    M.PELVIC_TILT: "Pelvic tilt (PT)",
    M.PELVIC_INCIDENCE: "Pelvic incidence (PI)",
    M.LUMBAR_LORDOSIS: "Lumbar lordosis L1-S1 (LL)",
    M.PI_LL_MISMATCH: "PI - LL mismatch",
    M.SEGMENTAL_LORDOSIS_L4_L5: "Segmental lordosis L4-L5",
    M.SEGMENTAL_LORDOSIS_L5_S1: "Segmental lordosis L5-S1",
    M.DISC_HEIGHT_ANTERIOR_L4_L5: "Disc height L4-L5, anterior",
    M.DISC_HEIGHT_POSTERIOR_L4_L5: "Disc height L4-L5, posterior",
    M.DISC_HEIGHT_MEAN_L4_L5: "Disc height L4-L5, mean",
    M.DISC_HEIGHT_INDEX_L4_L5: "Disc height index L4-L5",
    M.DISC_HEIGHT_ANTERIOR_L5_S1: "Disc height L5-S1, anterior",
    M.DISC_HEIGHT_POSTERIOR_L5_S1: "Disc height L5-S1, posterior",
    M.DISC_HEIGHT_MEAN_L5_S1: "Disc height L5-S1, mean",
    M.DISC_HEIGHT_INDEX_L5_S1: "Disc height index L5-S1",
    M.SLIP_MM_L4_L5: "Slip L4 on L5",
    M.SLIP_PERCENT_L4_L5: "Slip L4 on L5 (%)",
    M.MEYERDING_GRADE_L4_L5: "Meyerding grade L4-L5",
    M.SLIP_MM_L5_S1: "Slip L5 on S1",
    M.SLIP_PERCENT_L5_S1: "Slip L5 on S1 (%)",
    M.MEYERDING_GRADE_L5_S1: "Meyerding grade L5-S1",
}

KEY_MEASURES: tuple[M, ...] = (
    M.SEGMENTAL_LORDOSIS_L5_S1,
    M.DISC_HEIGHT_MEAN_L5_S1,
    M.DISC_HEIGHT_INDEX_L5_S1,
    M.SLIP_PERCENT_L5_S1,
    M.LUMBAR_LORDOSIS,
    M.PELVIC_TILT,
    M.PELVIC_INCIDENCE,
    M.DISC_HEIGHT_MEAN_L4_L5,
)
"""Measurements plotted over time (angles and ratios first: they need no calibration)."""

STATUS_LABELS: dict[FusionStatus, str] = {
    FusionStatus.ON_TRACK: "On track for the time since surgery",
    FusionStatus.DELAYED_UNION_SUSPECTED: "Delayed union suspected",
    FusionStatus.PSEUDARTHROSIS_SUSPECTED: "Pseudarthrosis suspected",
    FusionStatus.FUSED_CRITERIA_MET: "Radiographic fusion criteria met (confirm clinically)",
    FusionStatus.INSUFFICIENT_EVIDENCE: "Insufficient evidence on these films",
}

"""Label of each automatic status. ``fused_criteria_met`` gets the full wording only when bridging bone was judged
present (see :func:`status_label`); else one of :data:`FUSED_ON_MOTION_LABELS`."""

FUSED_ON_MOTION_LABELS: dict[str, str] = {
    BRIDGING_NOT_ASSESSED: (
        "Fusion criteria met on motion; bridging bone not assessed (reader to grade; confirm clinically)"
    ),
    NOT_BRIDGED: (
        "Fusion criteria met on motion; bridging bone below the criteria (confirm clinically; CT would decide)"
    ),
}
"""``fused_criteria_met`` resting on flexion-extension motion and no hardware sign alone, by what bridging bone was
judged to be (``StatusResult.evidence["bridging_call"]``): the modified Lee criteria also ask for bridging trabecular
bone, which nobody graded (or a grade fell short)."""


def bridging_from_evidence(evidence: Mapping[str, Any] | None) -> str:
    """The bridging call of a status's evidence: ``evidence["bridging_call"]`` when present; for evidence written
    before that key, ``"bridged"`` when it holds a ``bridging_threshold`` (set only when met), ``"not_bridged"`` with a
    fraction, else ``"not_assessed"`` (the cautious reading)."""
    ev = evidence or {}
    call = ev.get(BRIDGING_KEY)
    if call in (BRIDGED, NOT_BRIDGED, BRIDGING_NOT_ASSESSED):
        return str(call)
    if "bridging_threshold" in ev:
        return BRIDGED
    return NOT_BRIDGED if isinstance(ev.get("bridging_fraction"), (int, float)) else BRIDGING_NOT_ASSESSED


def bridging_confirmed(bridging: str, bridwell_grade: str | None = None) -> bool:
    """True when a judgement of bridging bone backs a fused status: a bridged fraction at or above the setting, or a
    reader's Bridwell grade I (fused, remodelled, trabeculae across the disc space)."""
    return bridging == BRIDGED or bridging_call(None, 1.0, bridwell_grade) == BRIDGED


def status_label(
    status: FusionStatus | None,
    *,
    bridging: str = BRIDGING_NOT_ASSESSED,
    bridwell_grade: str | None = None,
    reader_status: str | None = None,
) -> str:
    """The clinician's label of an automatic status, never stronger than what was assessed.

    ``fused_criteria_met`` reads "Radiographic fusion criteria met (confirm clinically)" only when bridging bone was
    judged present (:func:`bridging_confirmed`) or a reader's own status is ``fused_criteria_met``; otherwise it says
    that the criteria are met on motion and what is missing (:data:`FUSED_ON_MOTION_LABELS`). A reader's Bridwell
    grade II-IV is named. ``None`` -> ``"not assessed"``.
    """
    if status is None:
        return "not assessed"
    if status is not FusionStatus.FUSED_CRITERIA_MET:
        return STATUS_LABELS[status]
    if bridging_confirmed(bridging, bridwell_grade) or reader_status == FusionStatus.FUSED_CRITERIA_MET.value:
        return STATUS_LABELS[status]
    grade = (bridwell_grade or "").strip().upper()
    if grade:
        return (
            f"Fusion criteria met on motion; bridging bone not confirmed (reader: Bridwell {grade}; "
            "confirm clinically)"
        )
    return FUSED_ON_MOTION_LABELS.get(bridging, FUSED_ON_MOTION_LABELS[BRIDGING_NOT_ASSESSED])


def visit_status_label(v: Any) -> str:
    """:func:`status_label` of a visit: a report's ``VisitView`` or the follow-up engine's ``VisitSummary``."""
    if hasattr(v, "fusion_status"):  # report VisitView
        status, bridging = v.fusion_status, v.bridging_call
    else:  # followup VisitSummary
        status, bridging = v.status.status, bridging_from_evidence(v.status.evidence)
    grade, reader = getattr(v, "bridwell_grade", None), getattr(v, "reader_status", None)
    return status_label(
        status,
        bridging=bridging,
        bridwell_grade=getattr(grade, "value", None) if grade is not None else None,
        reader_status=getattr(reader, "value", None) if reader is not None else None,
    )


def reader_status_label(value: str | None) -> str:
    """A reader's fusion status (an override's value) as a person reads it: the report's label of a known status
    (a reader's ``fused_criteria_met`` is the reader's own judgement, so it gets the full wording); an unknown value
    is shown as entered and said not to be acted on (:func:`fusionwatch.followup.evidence.status_to_act_on`)."""
    if value is None:
        return "not entered"
    try:
        status = FusionStatus(value)
    except ValueError:
        return f"{value!r} (not a known status: shown, not acted on)"
    return status_label(status, reader_status=status.value)


def acted_status_label(status: FusionStatus | None, source: str, visit: Any) -> str:
    """The label of the status a caller acts on (``followup.evidence.status_to_act_on``: ``source`` ``"reader"``,
    ``"automatic"`` or ``"none"``): the reader's status by :func:`reader_status_label`, the automatic one by
    :func:`visit_status_label` of ``visit`` (so a fused status on motion alone says so), else ``"not assessed"``."""
    if status is None or source == "none":
        return "not assessed"
    if source == "reader":
        return reader_status_label(status.value)
    return visit_status_label(visit)


def concern_reason_texts(advice: Any) -> tuple[str, ...]:
    """:attr:`fusionwatch.care.CareAdvice.concern_reasons` (why the protocol's on-track lines are held back) in the
    report's words, in their order: ``"status: <status label>"`` (:func:`status_label`; "not assessed" without a
    status), ``"finding: <kind in words>"``. Empty when on track."""
    out = []
    for r in advice.concern_reasons:
        if r.what == "status":
            out.append(f"status: {status_label(None if r.value == NOT_ASSESSED else FusionStatus(r.value))}")
        elif r.what == "unconfirmed":  # on track, but no reader confirmed it: the activity line waits (R's F18)
            out.append(r.unconfirmed_text)
        else:
            out.append(f"finding: {r.value.replace('_', ' ')}")
    return tuple(out)


def label(name: M | str) -> str:
    try:
        return MEASURE_LABELS.get(M(name), str(getattr(name, "value", name)))
    except ValueError:
        return str(name)


def threshold_text(name: M, settings: dict[str, Any] | None = None) -> str:
    """The rule that applies to ``name`` at follow-up, with its value and source; ``""`` when none."""
    s = settings or {}

    def g(key: str, default: float) -> float:
        v = s.get(key, default)
        return v if isinstance(v, (int, float)) else default

    study, radiographic, ours = "common study definition", "common radiographic definition", "fusionwatch setting"
    table = {
        M.DISC_HEIGHT_MEAN_L5_S1: (f"subsidence: loss > {g('subsidence_mm', 2.0):g} mm vs baseline film", study),
        M.DISC_HEIGHT_INDEX_L5_S1: (f"subsidence, uncalibrated: loss > {g('subsidence_dhi', 0.06):g}", ours),
        M.SEGMENTAL_LORDOSIS_L5_S1: (f"subsidence/collapse: loss > {g('lordosis_loss_deg', 5.0):g} deg", ours),
        M.DISC_HEIGHT_MEAN_L4_L5: (f"adjacent segment: loss > {g('adjacent_disc_loss_mm', 3.0):g} mm", radiographic),
        M.DISC_HEIGHT_INDEX_L4_L5: (f"adjacent segment: loss > {g('adjacent_disc_loss_dhi', 0.09):g}", ours),
        M.SLIP_MM_L4_L5: (f"adjacent segment: new listhesis > {g('new_listhesis_mm', 3.0):g} mm", radiographic),
        M.SLIP_PERCENT_L4_L5: (f"adjacent segment: new listhesis > {g('new_listhesis_percent', 8.0):g} %", ours),
        M.PELVIC_INCIDENCE: (f"constant in adults: change > {g('pi_drift_deg', 5.0):g} deg = landmark error", ours),
        M.PI_LL_MISMATCH: ("< 10 / 10-20 / > 20 deg", "SRS-Schwab"),
        M.PELVIC_TILT: ("< 20 / 20-30 / > 30 deg", "SRS-Schwab"),
        M.SACRAL_SLOPE: ("typical 40 +/- 8 deg", "population values"),
        M.SLIP_PERCENT_L5_S1: ("I 0-25, II 26-50, III 51-75, IV 76-100, V > 100 %", "Meyerding"),
    }
    if name not in table:
        return ""
    text, source = table[name]
    return f"{text} ({source})"
