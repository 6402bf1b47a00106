"""Display names of measurements and the thresholds that apply to them, for the clinician report.

Threshold texts use the follow-up settings the timeline was computed with when known (``ReportData.thresholds``),
else the documented defaults (docs/followup.md). Each text names its source: a published definition, or
"fusionwatch setting" where the number is the project's own default.
"""

from __future__ import annotations

from typing import Any

from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import FusionStatus

__all__ = ["MEASURE_LABELS", "KEY_MEASURES", "threshold_text", "STATUS_LABELS", "label"]

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
