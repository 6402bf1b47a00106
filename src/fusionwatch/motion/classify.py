"""Motion thresholds (named, with sources) and the judgement of one segment's motion as a Finding."""

from __future__ import annotations

from dataclasses import dataclass, field

from fusionwatch.motion._register import MotionResult
from fusionwatch.records import Finding, Severity
from fusionwatch.uncertainty import CONFIDENCE_Z, Call, interval_call

__all__ = [
    "FUSION_ANGLE_DEG",
    "FUSION_TRANSLATION_MM",
    "INSTABILITY_TRANSLATION_MM",
    "INSTABILITY_ANGLE_DEG",
    "MotionSettings",
    "classify_motion",
]

FUSION_ANGLE_DEG = 3.0
"""Fused when angular motion is below this (modified Lee criteria: < 3 deg with bridging bone and no gap;
CLINICAL.md "Motion"). Literature ranges from 1 to 5 deg; a setting."""
FUSION_TRANSLATION_MM = 3.0
"""Fused when translation is below this (device-trial criterion < 3 mm; CLINICAL.md "Motion"). A setting."""
INSTABILITY_TRANSLATION_MM = 4.5
"""Lumbar instability: translation > 4.5 mm (AOMSI, AMA Guides to the Evaluation of Permanent Impairment, 5th ed.)."""
INSTABILITY_ANGLE_DEG: dict[str, float] = {"L1-L2": 15.0, "L2-L3": 15.0, "L3-L4": 15.0, "L4-L5": 20.0, "L5-S1": 25.0}
"""Lumbar instability: angular motion > 15 deg (L1-L4), > 20 deg (L4-L5), > 25 deg (L5-S1) (AOMSI, AMA Guides
5th ed.)."""


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """Thresholds used to judge motion; defaults from CLINICAL.md (see the constants' sources)."""

    fusion_angle_deg: float = FUSION_ANGLE_DEG
    fusion_translation_mm: float = FUSION_TRANSLATION_MM
    instability_translation_mm: float = INSTABILITY_TRANSLATION_MM
    instability_angle_deg: dict[str, float] = field(default_factory=lambda: dict(INSTABILITY_ANGLE_DEG))
    confidence_z: float = CONFIDENCE_Z


def classify_motion(
    result: MotionResult, settings: MotionSettings | None = None, films: tuple[str, ...] = ()
) -> Finding:
    """Judge one segment's flexion-extension motion against the fusion and instability thresholds.

    Parameters
    ----------
    result : MotionResult
        From :func:`fusionwatch.motion.register_motion`.
    settings : MotionSettings | None
        Thresholds; defaults when ``None``.
    films : tuple[str, ...]
        Ids of the flexion and extension films, copied into the finding.

    Returns
    -------
    Finding
        ``kind`` is one of

        - ``"segmental_instability"`` (ACTION): angle or translation above the AOMSI limits;
        - ``"motion_exceeds_fusion_threshold"`` (WATCH): above 3 deg or 3 mm by more than the uncertainty;
        - ``"motion_indeterminate"`` (WATCH): within ``confidence_z`` SDs of a fusion threshold;
        - ``"motion_within_fusion_threshold"`` (INFO): below both by more than the uncertainty (the motion part of the
          fusion criteria is met; bridging bone is judged elsewhere).

        Translation is judged only when the films are calibrated (mm); otherwise the evidence says so.
    """
    s = settings or MotionSettings()
    angle, a_sd = abs(result.angle_deg), result.angle_sd_deg
    t_mm = None if result.translation_mm is None else abs(result.translation_mm)
    t_sd = result.translation_sd if result.translation_mm is not None else 0.0
    inst_angle = s.instability_angle_deg.get(result.level)
    evidence = {
        "level": result.level,
        "angle_deg": round(result.angle_deg, 3),
        "angle_sd_deg": round(a_sd, 3),
        "translation_mm": None if result.translation_mm is None else round(result.translation_mm, 3),
        "translation_sd_mm": None if t_mm is None else round(t_sd, 3),
        "translation_percent": round(result.translation_percent, 3),
        "method": result.method,
        "fusion_angle_deg": s.fusion_angle_deg,
        "fusion_translation_mm": s.fusion_translation_mm,
        "instability_angle_deg": inst_angle,
        "instability_translation_mm": s.instability_translation_mm,
    }
    if t_mm is None:
        evidence["translation_judged"] = "no: films uncalibrated (translation only in % of endplate depth)"
    if result.landmark_difference is not None:
        evidence["landmark_difference_angle_deg"] = round(result.landmark_difference.angle_deg, 3)
    t_text = "" if t_mm is None else f", translation {result.translation_mm:+.2f} +/- {t_sd:.2f} mm"
    values = f"{result.level}: angular motion {result.angle_deg:+.2f} +/- {a_sd:.2f} deg{t_text}"
    z = s.confidence_z
    # instability only when confident: the value minus z SD is above the limit (a weak or ambiguous registration
    # carries a large SD and cannot raise it)
    unstable = (inst_angle is not None and interval_call(angle, a_sd, inst_angle, z=z) is Call.ABOVE) or (
        t_mm is not None and interval_call(t_mm, t_sd, s.instability_translation_mm, z=z) is Call.ABOVE
    )
    maybe_unstable = (inst_angle is not None and angle > inst_angle) or (
        t_mm is not None and t_mm > s.instability_translation_mm
    )
    if unstable:
        return Finding(
            "segmental_instability",
            Severity.ACTION,
            f"{values}: above the instability limits ({inst_angle} deg / {s.instability_translation_mm} mm).",
            evidence,
            f"> {inst_angle} deg or > {s.instability_translation_mm} mm (AOMSI, AMA Guides 5th ed.)",
            films,
        )
    threshold = (
        f"< {s.fusion_angle_deg} deg and < {s.fusion_translation_mm} mm for fusion "
        "(modified Lee criteria; device-trial thresholds); indeterminate within "
        f"{z} SD of a threshold"
    )
    if maybe_unstable:
        return Finding(
            "motion_indeterminate",
            Severity.WATCH,
            f"{values}: above the instability limits, but the uncertainty is too large to call it; check the "
            "registration overlay, or repeat the films.",
            evidence,
            f"> {inst_angle} deg or > {s.instability_translation_mm} mm by more than {z} SD "
            "(AOMSI, AMA Guides 5th ed.)",
            films,
        )
    angle_call = interval_call(angle, a_sd, s.fusion_angle_deg, z=z)
    t_call = None if t_mm is None else interval_call(t_mm, t_sd, s.fusion_translation_mm, z=z)
    above = angle_call is Call.ABOVE or t_call is Call.ABOVE
    below = angle_call is Call.BELOW and t_call in (None, Call.BELOW)
    if above:
        return Finding(
            "motion_exceeds_fusion_threshold",
            Severity.WATCH,
            f"{values}: more motion than a fused segment allows.",
            evidence,
            threshold,
            films,
        )
    if below:
        return Finding(
            "motion_within_fusion_threshold",
            Severity.INFO,
            f"{values}: below the fusion motion thresholds.",
            evidence,
            threshold,
            films,
        )
    return Finding(
        "motion_indeterminate",
        Severity.WATCH,
        f"{values}: too close to the fusion threshold to call; consider thin-cut CT.",
        evidence,
        threshold,
        films,
    )
