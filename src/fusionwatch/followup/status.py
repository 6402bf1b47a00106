"""Fusion status of a visit from time since surgery, flexion-extension motion, subsidence, hardware and bone evidence.

Never stronger than the evidence (CLINICAL.md, AANS/CNS 2014): static films alone never give ``fused_criteria_met``;
that needs flexion-extension motion below the thresholds at >= ``fusion_min_days`` and no lucency or hardware failure.
When the films cannot decide, the result says what would: flexion-extension films or thin-cut CT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any

from fusionwatch.followup.model import BoneEvidence, MotionLike, StatusResult, _level_str
from fusionwatch.followup.motion_call import Call, judge_value, motion_components
from fusionwatch.followup.settings import FollowupSettings
from fusionwatch.records import Finding, FusionStatus, Severity

__all__ = [
    "fusion_status",
    "NON_UNION_SIGN_KINDS",
    "fused_segment_motion",
    "is_moving",
    "judge_motion",
    "MotionVerdict",
    "BRIDGING_KEY",
    "BRIDGED",
    "NOT_BRIDGED",
    "BRIDGING_NOT_ASSESSED",
    "bridging_call",
    "BRIDWELL_MEANING",
]

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
ON_PAIR = "between this visit's flexion and extension films"
"""Which films a motion value comes from (the film ids are in the evidence: ``evidence["motion"]["films"]``)."""


BRIDGING_KEY = "bridging_call"
"""Evidence key (``StatusResult.evidence``): what bridging bone at the fused disc space was judged to be, one of
:data:`BRIDGED` (a fraction at or above ``bridging_fraction_min``), :data:`NOT_BRIDGED` (a fraction below it) or
:data:`BRIDGING_NOT_ASSESSED` (no fraction given). A ``fused_criteria_met`` status without :data:`BRIDGED` rests on
motion (and no hardware sign) alone: the reports say so (:func:`fusionwatch.report.labels.status_label`)."""
BRIDGED = "bridged"
NOT_BRIDGED = "not_bridged"
BRIDGING_NOT_ASSESSED = "not_assessed"


def bridging_call(fraction: float | None, minimum: float, bridwell_grade: str | None = None) -> str:
    """:data:`BRIDGED` when ``fraction >= minimum``, :data:`NOT_BRIDGED` below it, :data:`BRIDGING_NOT_ASSESSED`
    when ``fraction`` is ``None`` (fractions of the disc space, 0-1). A reader's Bridwell grade, when given, decides
    instead (the reader's graded judgement of the same bone): I -> bridged, II-IV -> not bridged."""
    grade = (bridwell_grade or "").strip().upper()
    if grade == "I":
        return BRIDGED
    if grade in ("II", "III", "IV"):
        return NOT_BRIDGED
    if fraction is None:
        return BRIDGING_NOT_ASSESSED
    return BRIDGED if fraction >= minimum else NOT_BRIDGED


BRIDWELL_MEANING = {
    "I": "fused with remodelling and trabeculae",
    "II": "graft intact, not fully remodelled, no lucency",
    "III": "graft intact with a lucency at the top or bottom",
    "IV": "no fusion, with collapse or resorption",
}
"""Bridwell interbody grades as CLINICAL.md defines them (reader-entered)."""


def _is_sign(f: Finding) -> bool:
    return f.severity.rank >= Severity.WATCH.rank and any(k in f.kind for k in NON_UNION_SIGN_KINDS)


def fused_segment_motion(motion: Sequence[MotionLike], segment: str = "L5-S1") -> MotionLike | None:
    """The flexion-extension result of the fused segment, or ``None``."""
    return next((m for m in motion if _level_str(m.level) == segment), None)


class MotionVerdict(StrEnum):
    """The fused segment's flexion-extension motion, judged at 95 % confidence against the fusion thresholds."""

    MOVING = "moving"
    """Some part (angle or translation) is above its threshold by more than ``z`` SD: evidence of non-union."""
    STILL = "still"
    """Every part is below its threshold by more than ``z`` SD: the motion part of the fusion criteria is met."""
    INDETERMINATE = "indeterminate"
    """Neither: the 95 % interval of some part contains its threshold. Counts neither for nor against union."""


def judge_motion(m: MotionLike, settings: FollowupSettings) -> tuple[MotionVerdict, dict[str, Any]]:
    """Judge flexion-extension motion against the fusion thresholds without claiming more than its SD allows.

    Parameters
    ----------
    m : MotionLike
        Angle in deg; translation in mm when calibrated, else in % of the endplate depth (``translation_sd`` in the
        same unit). A missing SD is taken as ``settings.motion_default_*_sd_*`` (said in the evidence).
    settings : FollowupSettings
        ``fusion_angle_deg``, ``fusion_translation_mm`` / ``fusion_translation_percent``, ``motion_confidence_z``.

    Returns
    -------
    (MotionVerdict, dict)
        ``MOVING`` when ``|value| - z SD > threshold`` for the angle or the translation; ``STILL`` when
        ``|value| + z SD < threshold`` for both; else ``INDETERMINATE``. The evidence keeps, per part, the value, SD,
        SD source, 95 % interval of the magnitude, threshold and call, plus the level, film ids and ``z``.
    """
    z = settings.motion_confidence_z
    thresholds = {
        ("angle", "deg"): settings.fusion_angle_deg,
        ("translation", "mm"): settings.fusion_translation_mm,
        ("translation", "%"): settings.fusion_translation_percent,
    }
    ev: dict[str, Any] = {
        "level": _level_str(m.level),
        "films": list(getattr(m, "films", ()) or ()),
        "confidence_z": z,
        # flat keys (kept for readers of earlier evidence)
        "angle_deg": m.angle_deg,
        "angle_sd_deg": m.angle_sd_deg,
        "angle_threshold_deg": settings.fusion_angle_deg,
    }
    calls = []
    for name, value, sd, default_sd, unit in motion_components(m, settings):
        call, part = judge_value(
            value, sd, thresholds[(name, unit)], default_sd=default_sd, z=z, unit=unit, what=f"{name} ({unit})"
        )
        calls.append(call)
        ev[name] = part
        if name == "translation":
            if unit == "mm":
                ev |= {
                    "translation_mm": value,
                    "translation_sd": sd,
                    "translation_threshold_mm": settings.fusion_translation_mm,
                }
            else:
                ev |= {
                    "translation_percent": value,
                    "translation_sd": sd,
                    "translation_threshold_percent": settings.fusion_translation_percent,
                    "note": "uncalibrated films: translation in % of endplate depth, not mm",
                }
    if Call.ABOVE in calls:
        verdict = MotionVerdict.MOVING
    elif all(c is Call.BELOW for c in calls):
        verdict = MotionVerdict.STILL
    else:
        verdict = MotionVerdict.INDETERMINATE
    ev["call"] = verdict.value
    return verdict, ev


def is_moving(m: MotionLike, settings: FollowupSettings) -> tuple[bool, dict[str, Any]]:
    """True only when the segment moves beyond a fusion threshold with 95 % confidence (see :func:`judge_motion`).

    ``False`` does not mean "still": an indeterminate result is ``False`` too; use :func:`judge_motion` to tell them
    apart.
    """
    verdict, ev = judge_motion(m, settings)
    return verdict is MotionVerdict.MOVING, ev


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
           and no non-union sign; with a sign or lucency, as rule 3; earlier, ``on_track``. Without bridging bone
           judged at or above ``bridging_fraction_min`` the status rests on motion alone: ``evidence["bridging_call"]``
           says so (:data:`BRIDGING_KEY`) and ``decide_with`` asks for a reader's grade or CT.
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
    grade = (bone.bridwell_grade or "").strip().upper() or None
    if grade in ("III", "IV"):  # the reader's grade is itself a sign of non-union (lucency; collapse or resorption)
        bone = (replace(bone, lucency=True, lucency_source="reader's Bridwell grade III")
                if grade == "III" and bone.lucency is None else bone)
        if grade == "IV":
            sign_text.append(f"reader's Bridwell grade IV ({BRIDWELL_MEANING['IV']})")
    elif grade == "II" and bone.lucency is None:
        bone = replace(bone, lucency=False)  # grade II says: no lucency
    if bone.lucency:
        sign_text.append(f"lucency at the cage-endplate interface ({bone.lucency_source or bone.source or 'reported'})")
    bone_sign = bool(bone.lucency) or grade == "IV"
    ev: dict[str, Any] = {
        "days_since_surgery": d,
        "non_union_signs": [f.kind for f in signs],
        "lucency": bone.lucency,
        "bridging_fraction": bone.bridging_fraction,
        "bridwell_grade": grade,
    }
    # what the fusion criteria's bridging-bone part rests on (the reports word a fused status by it)
    ev[BRIDGING_KEY] = bridging_call(bone.bridging_fraction, settings.bridging_fraction_min, grade)
    bridging = ev[BRIDGING_KEY] == BRIDGED
    if bridging and grade is None:
        ev["bridging_threshold"] = settings.bridging_fraction_min
    bridging_text = (
        f"Reader's Bridwell grade {grade} ({BRIDWELL_MEANING[grade]})."
        if grade is not None
        else f"Bridging bone across {bone.bridging_fraction:.0%} of the disc space."
        if bone.bridging_fraction is not None
        else ""
    )

    z = settings.motion_confidence_z
    repeat = f"Repeat {flex_ext} or {CT} would decide."

    def by_time(reason: str, early: str, *, after_flex_ext: bool) -> StatusResult:
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
                    if after_flex_ext
                    else f"Repeat films at 12 months; {flex_ext} or {CT} would decide."
                ),
                ev,
            )
        return StatusResult(
            FusionStatus.ON_TRACK, (early, f"{d} days after surgery: union is not expected yet."), None, ev
        )

    m = fused_segment_motion(motion, segment)
    indeterminate: str | None = None
    if m is not None:
        verdict, mev = judge_motion(m, settings)
        ev["motion"] = mev
        values = _bounds_text(mev, z)
        if verdict is MotionVerdict.MOVING:
            return by_time(
                f"{segment} still moves {ON_PAIR}: {values}.",
                f"{segment} moves {ON_PAIR}, as expected before union: {values}.",
                after_flex_ext=True,
            )
        if verdict is MotionVerdict.STILL:
            if signs or bone_sign:
                return by_time(
                    f"Little motion {ON_PAIR} ({values}), but signs of non-union: {_join(sign_text)}.",
                    f"Little motion {ON_PAIR} ({values}); noted: {_join(sign_text)}.",
                    after_flex_ext=True,
                )
            if d >= settings.fusion_min_days:
                # say only what was looked at: "no lucency" only when a reader said so (lucency None = not assessed)
                no_signs = "no lucency or hardware sign" if bone.lucency is False else "no hardware sign"
                reasons = [
                    f"{segment} motion below the thresholds {ON_PAIR} at {d} days ({values}); {no_signs} of "
                    "non-union."
                ]
                if bone.lucency is None:
                    reasons.append("Lucency at the cage-endplate interface was not assessed by a reader.")
                decide: str | None = None
                if bridging:
                    reasons.append(bridging_text)
                elif ev[BRIDGING_KEY] == BRIDGING_NOT_ASSESSED:
                    reasons.append("Bridging bone was not assessed by a reader (the fusion criteria ask for it).")
                    decide = f"A reader's grade of bridging bone (Bridwell) completes the criteria; {CT} if in doubt."
                elif grade is not None:
                    reasons.append(f"{bridging_text[:-1]}: bridging bone not confirmed, as the fusion criteria ask.")
                    decide = f"Confirm with {CT}."
                else:
                    reasons.append(
                        f"Bridging bone across {bone.bridging_fraction:.0%} of the disc space, below the "
                        f"{settings.bridging_fraction_min:.0%} the fusion criteria ask for."
                    )
                    decide = f"Confirm with {CT}."
                if aside:
                    reasons.append(aside)
                return StatusResult(FusionStatus.FUSED_CRITERIA_MET, tuple(reasons), decide, ev)
            return StatusResult(
                FusionStatus.ON_TRACK,
                (
                    f"Little motion {ON_PAIR} at {d} days ({values}); fusion is judged from "
                    f"{settings.fusion_min_days} days on.",
                ),
                None,
                ev,
            )
        indeterminate = (
            f"{segment} flexion-extension motion is indeterminate {ON_PAIR}: {values}; it counts neither for "
            "nor against union, so the status rests on the other evidence."
        )

    def with_motion_note(r: StatusResult) -> StatusResult:
        """Static-film result, with the indeterminate motion said and repeat films or CT offered."""
        if indeterminate is None:
            return r
        decide = (
            f"Confirm with repeat {flex_ext} or {CT}." if r.status is FusionStatus.PSEUDARTHROSIS_SUSPECTED else repeat
        )
        return StatusResult(r.status, (indeterminate, *r.reasons), decide, r.evidence)

    films_word = "static films" if indeterminate is None else "the films (flexion-extension indeterminate)"
    if signs or bone_sign:
        return with_motion_note(
            by_time(
                f"Signs of non-union on {films_word}: {_join(sign_text)}.",
                f"Noted on {films_word}: {_join(sign_text)}.",
                after_flex_ext=False,
            )
        )
    if d < settings.pseudarthrosis_days:
        reasons = [f"No sign of non-union on {films_word}."] + ([aside] if aside else [])
        if bridging:
            reasons.append(bridging_text)
        if d >= settings.fusion_min_days:
            reasons.append("Static films alone cannot confirm fusion.")
            return with_motion_note(
                StatusResult(FusionStatus.ON_TRACK, tuple(reasons), f"To confirm fusion: {flex_ext} or {CT}.", ev)
            )
        return with_motion_note(StatusResult(FusionStatus.ON_TRACK, tuple(reasons), None, ev))
    return with_motion_note(
        StatusResult(
            FusionStatus.INSUFFICIENT_EVIDENCE,
            (
                f"{d} days after surgery with {'static films only' if indeterminate is None else films_word}: no sign "
                "of non-union, but static films cannot show union.",
                *([aside] if aside else []),
            ),
            f"{flex_ext.capitalize()} or {CT} would decide.",
            ev,
        )
    )


def _join(texts: Sequence[str]) -> str:
    """Sentences joined with "; " without a doubled full stop (finding summaries end with one)."""
    return "; ".join(t.rstrip().rstrip(".") for t in texts)


def _bounds_text(mev: dict[str, Any], z: float) -> str:
    """Each motion value once, with its SD, 95 % interval, threshold and call, from :func:`judge_motion` evidence.

    ``"angle 3.2 ± 5.0 deg, 95 % interval 0.0-13.0, vs 3 deg: indeterminate; translation 1.0 ± 0.5 mm, 95 % interval
    0.0-2.0, vs 3 mm: below; intervals are value ± 1.96 SD"``. The interval is of the magnitude; its lower end is
    shown from 0. "default SD" marks a result that carried no SD of its own.
    """
    parts = []
    for name in ("angle", "translation"):
        p = mev.get(name)
        if p is None:
            continue
        lo, hi = p["interval_95"]
        src = "" if p["sd_source"] == "reported" else ", default SD"
        unit = "% of endplate depth" if p["unit"] == "%" else p["unit"]
        parts.append(
            f"{name} {abs(p['value']):.1f} ± {p['sd']:.1f} {unit}, 95 % interval {max(lo, 0.0):.1f}-{hi:.1f}{src}, "
            f"vs {p['threshold']:g} {unit}: {p['call']}"
        )
    return "; ".join(parts) + f"; intervals are value ± {z:g} SD"
