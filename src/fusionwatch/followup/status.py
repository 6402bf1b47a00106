"""Fusion status of a visit from time since surgery, flexion-extension motion, subsidence, hardware and bone evidence.

Never stronger than the evidence (CLINICAL.md, AANS/CNS 2014): static films alone never give ``fused_criteria_met``;
that needs flexion-extension motion below the thresholds at >= ``fusion_min_days`` and no lucency or hardware failure.
When the films cannot decide, the result says what would: flexion-extension films or thin-cut CT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fusionwatch.followup.model import BoneEvidence, MotionLike, StatusResult, _level_str
from fusionwatch.followup.settings import FollowupSettings
from fusionwatch.records import Finding, FusionStatus, Severity

__all__ = ["fusion_status", "NON_UNION_SIGN_KINDS", "fused_segment_motion", "is_moving"]

NON_UNION_SIGN_KINDS: tuple[str, ...] = (
    "screw_loosening",
    "screw_breakage",
    "rod_fracture",
    "rod_discontinuity",
    "screw_endplate_angle_change",
    "halo",
    "lucency",
)
"""Finding kinds (or parts of them) read as signs that the segment has not united: hardware failure and loosening
(CLINICAL.md "Fusion and hardware": a pseudarthrosis loads the hardware until it loosens or breaks) and lucency at the
cage-endplate interface (Brantigan-Steffee-Fraser). Cage subsidence and migration are reported as findings but are not
read as non-union on their own: a subsided cage still fuses in most series (CLINICAL.md lists them as hardware checks,
not fusion criteria)."""

_NO_BONE_EVIDENCE = BoneEvidence()
CT = "thin-cut CT (bridging bone across the disc space)"
FLEX_EXT = "flexion-extension films (motion at L5-S1 below {a:g} deg and {t:g} mm)"


def _is_sign(f: Finding) -> bool:
    return f.severity.rank >= Severity.WATCH.rank and any(k in f.kind for k in NON_UNION_SIGN_KINDS)


def fused_segment_motion(motion: Sequence[MotionLike], segment: str = "L5-S1") -> MotionLike | None:
    """The flexion-extension result of the fused segment, or ``None``."""
    return next((m for m in motion if _level_str(m.level) == segment), None)


def is_moving(m: MotionLike, settings: FollowupSettings) -> tuple[bool, dict[str, Any]]:
    """Whether the segment moves beyond the fusion thresholds, and the evidence (values, SDs, thresholds used).

    Translation in mm when calibrated, else in % of the endplate depth against ``fusion_translation_percent``.
    """
    ev: dict[str, Any] = {
        "angle_deg": m.angle_deg,
        "angle_sd_deg": m.angle_sd_deg,
        "angle_threshold_deg": settings.fusion_angle_deg,
    }
    moving = abs(m.angle_deg) >= settings.fusion_angle_deg
    if m.translation_mm is not None:
        ev |= {
            "translation_mm": m.translation_mm,
            "translation_sd": m.translation_sd,
            "translation_threshold_mm": settings.fusion_translation_mm,
        }
        moving |= abs(m.translation_mm) >= settings.fusion_translation_mm
    elif m.translation_percent is not None:
        ev |= {
            "translation_percent": m.translation_percent,
            "translation_sd": m.translation_sd,
            "translation_threshold_percent": settings.fusion_translation_percent,
            "note": "uncalibrated films: translation in % of endplate depth, not mm",
        }
        moving |= abs(m.translation_percent) >= settings.fusion_translation_percent
    return moving, ev


def fusion_status(
    days_since_surgery: int | None,
    *,
    motion: Sequence[MotionLike] = (),
    findings: Sequence[Finding] = (),
    bone: BoneEvidence = _NO_BONE_EVIDENCE,
    settings: FollowupSettings,
    segment: str = "L5-S1",
) -> StatusResult:
    """The automatic fusion status of one visit.

    Parameters
    ----------
    days_since_surgery : int | None
        ``None`` (no surgery date) or negative (pre-operative) gives status ``None``.
    motion : sequence of MotionLike
        Flexion-extension results of the visit; the ``segment`` one is used.
    findings : sequence of Finding
        This visit's findings (follow-up rules and implant checks); non-union signs are those of
        :data:`NON_UNION_SIGN_KINDS` with severity watch or above.
    bone : BoneEvidence
        Lucency at the cage-endplate interface and bridging bone, when judged.
    settings : FollowupSettings

    Returns
    -------
    StatusResult
        Rules, in order (d = days since surgery; "moves" = angle >= ``fusion_angle_deg`` or translation >=
        ``fusion_translation_mm``):

        1. flexion-extension present and the segment moves: ``pseudarthrosis_suspected`` when
           d >= ``pseudarthrosis_days``, ``delayed_union_suspected`` when d >= ``union_expected_days``, else
           ``on_track`` (motion is expected early).
        2. flexion-extension present, no motion: ``fused_criteria_met`` when d >= ``fusion_min_days`` and no lucency
           and no non-union sign; with a sign or lucency, as rule 3; earlier, ``on_track``.
        3. static films with a non-union sign or lucency: ``pseudarthrosis_suspected`` /
           ``delayed_union_suspected`` by the same times, earlier ``on_track`` with the sign named.
        4. static films, no sign: ``on_track`` before ``pseudarthrosis_days``, then ``insufficient_evidence``:
           static films cannot show union; flexion-extension films or CT decide.
    """
    if days_since_surgery is None:
        return StatusResult(None, ("No surgery date recorded: fusion status needs the time since surgery.",))
    d = days_since_surgery
    if d < 0:
        return StatusResult(None, ("Pre-operative visit.",))
    flex_ext = FLEX_EXT.format(a=settings.fusion_angle_deg, t=settings.fusion_translation_mm)
    signs = [f for f in findings if _is_sign(f)]
    others = list(dict.fromkeys(f.kind for f in findings if f.severity.rank >= Severity.WATCH.rank and not _is_sign(f)))
    aside = (
        f"Reported but not read as non-union on its own: {', '.join(k.replace('_', ' ') for k in others)}."
        if others
        else None
    )
    sign_text = [f"{f.kind.replace('_', ' ')}: {f.summary}" for f in signs]
    if bone.lucency:
        sign_text.append(f"lucency at the cage-endplate interface ({bone.source or 'reported'})")
    ev: dict[str, Any] = {
        "days_since_surgery": d,
        "non_union_signs": [f.kind for f in signs],
        "lucency": bone.lucency,
        "bridging_fraction": bone.bridging_fraction,
    }
    bridging = bone.bridging_fraction is not None and bone.bridging_fraction >= settings.bridging_fraction_min
    if bridging:
        ev["bridging_threshold"] = settings.bridging_fraction_min

    has_motion = fused_segment_motion(motion, segment) is not None

    def by_time(reason: str, early: str) -> StatusResult:
        if d >= settings.pseudarthrosis_days:
            return StatusResult(
                FusionStatus.PSEUDARTHROSIS_SUSPECTED,
                (reason, f"{d} days after surgery: union is expected by 12 months."),
                f"Confirm with {CT}.",
                ev,
            )
        if d >= settings.union_expected_days:
            return StatusResult(
                FusionStatus.DELAYED_UNION_SUSPECTED,
                (reason, f"{d} days after surgery: union is expected by 3-6 months."),
                (
                    f"Repeat flexion-extension films at 12 months, or {CT}, would decide."
                    if has_motion
                    else f"Repeat films at 12 months; {flex_ext} or {CT} would decide."
                ),
                ev,
            )
        return StatusResult(
            FusionStatus.ON_TRACK, (early, f"{d} days after surgery: union is not expected yet."), None, ev
        )

    m = fused_segment_motion(motion, segment)
    if m is not None:
        moving, mev = is_moving(m, settings)
        ev["motion"] = mev
        if moving:
            return by_time(
                f"{segment} still moves on flexion-extension ({_motion_text(m)}).",
                f"{segment} moves on flexion-extension ({_motion_text(m)}), as expected before union.",
            )
        if signs or bone.lucency:
            return by_time(
                "Little motion, but signs of non-union: " + "; ".join(sign_text) + ".",
                "Little motion; noted: " + "; ".join(sign_text) + ".",
            )
        if d >= settings.fusion_min_days:
            reasons = [
                f"{segment} motion below the thresholds ({_motion_text(m)}; < {settings.fusion_angle_deg:g} deg, "
                f"< {settings.fusion_translation_mm:g} mm) at {d} days, no lucency or hardware sign of non-union."
            ]
            if bone.lucency is None:
                reasons.append("Lucency was not assessed by a reader.")
            if bridging:
                reasons.append(f"Bridging bone across {bone.bridging_fraction:.0%} of the disc space.")
            if aside:
                reasons.append(aside)
            return StatusResult(FusionStatus.FUSED_CRITERIA_MET, tuple(reasons), None, ev)
        return StatusResult(
            FusionStatus.ON_TRACK,
            (
                f"Little motion ({_motion_text(m)}) at {d} days; fusion is judged from "
                f"{settings.fusion_min_days} days on.",
            ),
            None,
            ev,
        )
    if signs or bone.lucency:
        return by_time(
            "Signs of non-union on static films: " + "; ".join(sign_text) + ".",
            "Noted on static films: " + "; ".join(sign_text) + ".",
        )
    if d < settings.pseudarthrosis_days:
        reasons = ["No sign of non-union on static films."] + ([aside] if aside else [])
        if bridging:
            reasons.append(f"Bridging bone across {bone.bridging_fraction:.0%} of the disc space.")
        if d >= settings.fusion_min_days:
            reasons.append("Static films alone cannot confirm fusion.")
            return StatusResult(FusionStatus.ON_TRACK, tuple(reasons), f"To confirm fusion: {flex_ext} or {CT}.", ev)
        return StatusResult(FusionStatus.ON_TRACK, tuple(reasons), None, ev)
    return StatusResult(
        FusionStatus.INSUFFICIENT_EVIDENCE,
        (
            f"{d} days after surgery with static films only: no sign of non-union, but static films cannot show union.",
            *([aside] if aside else []),
        ),
        f"{flex_ext.capitalize()} or {CT} would decide.",
        ev,
    )


def _motion_text(m: MotionLike) -> str:
    parts = [f"{abs(m.angle_deg):.1f}" + (f" ± {m.angle_sd_deg:.1f}" if m.angle_sd_deg is not None else "") + " deg"]
    if m.translation_mm is not None:
        parts.append(
            f"{abs(m.translation_mm):.1f}"
            + (f" ± {m.translation_sd:.1f}" if m.translation_sd is not None else "")
            + " mm"
        )
    elif m.translation_percent is not None:
        parts.append(f"{abs(m.translation_percent):.1f} % of endplate depth")
    return ", ".join(parts)
