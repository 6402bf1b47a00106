"""Follow-up findings from measurement series: subsidence, loss of lordosis, adjacent segment, PI drift, instability.

Pure functions: a visit, the baseline visit and the previous visits in, :class:`~fusionwatch.records.Finding` out. Each
finding carries the measured values, the reference film, the unit and the threshold it used (CLINICAL.md). Uncalibrated
films are compared with ratios (disc height index, slip %), never in millimetres.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fusionwatch.followup.model import MotionLike, VisitInput
from fusionwatch.followup.settings import DEFAULT_SETTINGS, FollowupSettings
from fusionwatch.measurement import Measurement
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import Finding, Severity, Surgery
from fusionwatch.units import Unit

__all__ = [
    "subsidence_finding",
    "lordosis_loss_finding",
    "adjacent_segment_findings",
    "pi_ll_band",
    "pi_drift_flag",
    "instability_findings",
    "has_interbody_cage",
]


def _val(v: VisitInput, name: M) -> Measurement | None:
    m = v.measurements.get(name)
    return m if m is not None and m.value is not None else None


def _films(*visits: VisitInput) -> tuple[str, ...]:
    return tuple(v.lateral_film for v in visits if v.lateral_film)


def has_interbody_cage(surgery: Surgery | None) -> bool:
    """True when ``interbody_cage`` is among the implants (the default for TLIF/PLIF/ALIF); unknown surgery -> True."""
    if surgery is None:
        return True
    return "interbody_cage" in surgery.implants


def _height_loss(
    visit: VisitInput,
    base: VisitInput,
    mean: M,
    index: M,
    limit_mm: float,
    limit_dhi: float,
) -> tuple[float, float, str, dict[str, Any]] | None:
    """Loss of disc height vs baseline: in mm when both films are calibrated, else as disc height index (ratio).

    Returns ``(loss, threshold, unit, evidence)`` or ``None`` when neither can be compared.
    """
    now, ref = _val(visit, mean), _val(base, mean)
    if now is not None and ref is not None and now.unit is Unit.MM and ref.unit is Unit.MM:
        ev: dict[str, Any] = {
            "measure": mean.value,
            "baseline": ref.value,
            "current": now.value,
            "unit": "mm",
            "spacing_source": now.spacing_source.value if now.spacing_source else None,
        }
        if now.warnings:
            ev["warnings"] = list(now.warnings)
        return ref.value - now.value, limit_mm, "mm", ev  # type: ignore[operator]
    now, ref = _val(visit, index), _val(base, index)
    if now is not None and ref is not None:
        ev = {
            "measure": index.value,
            "baseline": ref.value,
            "current": now.value,
            "unit": "ratio",
            "note": "uncalibrated film: disc height index (mean disc height / upper body depth) compared, not mm",
        }
        return ref.value - now.value, limit_dhi, "ratio", ev  # type: ignore[operator]
    return None


def subsidence_finding(
    visit: VisitInput, base: VisitInput, surgery: Surgery | None, settings: FollowupSettings
) -> Finding | None:
    """Cage subsidence: mean L5-S1 disc height loss vs the baseline film above the threshold.

    CLINICAL.md: > 2 mm loss of disc height compared with the early post-operative film. On uncalibrated films the disc
    height index loss is compared with ``settings.subsidence_dhi`` and the finding says so (never mm).
    Without an interbody cage (posterolateral fusion) the same rule reports ``fused_disc_height_loss``.
    """
    got = _height_loss(
        visit,
        base,
        M.DISC_HEIGHT_MEAN_L5_S1,
        M.DISC_HEIGHT_INDEX_L5_S1,
        settings.subsidence_mm,
        settings.subsidence_dhi,
    )
    if got is None:
        return None
    loss, limit, unit, ev = got
    if not loss > limit:
        return None
    kind = "cage_subsidence" if has_interbody_cage(surgery) else "fused_disc_height_loss"
    amount = (
        f"{loss:.1f} mm" if unit == "mm" else f"{loss:.3f} (disc height index; uncalibrated film, compared as a ratio)"
    )
    lim = f"{limit:g} mm" if unit == "mm" else f"{limit:g} disc height index"
    return Finding(
        kind=kind,
        severity=Severity.ACTION if loss > 2 * limit else Severity.WATCH,
        summary=f"L5-S1 disc height fell {amount} since the {base.label} film (threshold {lim}).",
        evidence=ev | {"loss": round(loss, 4), "baseline_visit": base.label},
        threshold=(
            f"> {settings.subsidence_mm:g} mm disc height loss vs early post-op film (CLINICAL.md, cage "
            f"subsidence); uncalibrated: > {settings.subsidence_dhi:g} disc height index"
        ),
        films=_films(base, visit),
    )


def lordosis_loss_finding(visit: VisitInput, base: VisitInput, settings: FollowupSettings) -> Finding | None:
    """Loss of L5-S1 segmental lordosis vs baseline greater than ``settings.lordosis_loss_deg`` (lordosis positive)."""
    now, ref = _val(visit, M.SEGMENTAL_LORDOSIS_L5_S1), _val(base, M.SEGMENTAL_LORDOSIS_L5_S1)
    if now is None or ref is None:
        return None
    loss = ref.value - now.value  # type: ignore[operator]
    if not loss > settings.lordosis_loss_deg:
        return None
    return Finding(
        kind="loss_of_segmental_lordosis",
        severity=Severity.WATCH,
        summary=(
            f"L5-S1 segmental lordosis fell {loss:.1f} deg since the {base.label} film "
            f"({ref.value:.1f} -> {now.value:.1f} deg; threshold {settings.lordosis_loss_deg:g} deg)."
        ),
        evidence={
            "measure": M.SEGMENTAL_LORDOSIS_L5_S1.value,
            "baseline": ref.value,
            "current": now.value,
            "loss": round(loss, 4),
            "unit": "deg",
            "baseline_visit": base.label,
        },
        threshold=f"> {settings.lordosis_loss_deg:g} deg loss vs early post-op film (fusionwatch default)",
        films=_films(base, visit),
    )


def pi_ll_band(mismatch_deg: float, settings: FollowupSettings) -> int:
    """SRS-Schwab PI-LL band: 0 (< 10 deg), 1 (10-20 deg), 2 (> 20 deg) with the default bands; uses |PI-LL|."""
    lo, hi = settings.pi_ll_bands_deg
    a = abs(mismatch_deg)
    return 0 if a < lo else (1 if a <= hi else 2)


def adjacent_segment_findings(visit: VisitInput, base: VisitInput, settings: FollowupSettings) -> list[Finding]:
    """Adjacent segment watch at L4-L5 (CLINICAL.md): disc height loss > 3 mm, new listhesis > 3 mm, PI-LL mismatch.

    The PI-LL finding appears when the SRS-Schwab band is worse than at baseline and the mismatch grew by more than
    ``settings.pi_ll_min_change_deg`` (a new or growing mismatch, not a value wobbling at a band edge).
    """
    out: list[Finding] = []
    got = _height_loss(
        visit,
        base,
        M.DISC_HEIGHT_MEAN_L4_L5,
        M.DISC_HEIGHT_INDEX_L4_L5,
        settings.adjacent_disc_loss_mm,
        settings.adjacent_disc_loss_dhi,
    )
    if got is not None and got[0] > got[1]:
        loss, limit, unit, ev = got
        amount = (
            f"{loss:.1f} mm"
            if unit == "mm"
            else f"{loss:.3f} disc height index (uncalibrated film, compared as a ratio)"
        )
        out.append(
            Finding(
                kind="adjacent_segment_disc_height_loss",
                severity=Severity.WATCH,
                summary=f"L4-L5 (adjacent) disc height fell {amount} since the {base.label} film (threshold "
                f"{limit:g} {'mm' if unit == 'mm' else 'disc height index'}).",
                evidence=ev | {"loss": round(loss, 4), "baseline_visit": base.label},
                threshold=(
                    f"> {settings.adjacent_disc_loss_mm:g} mm adjacent disc height loss (CLINICAL.md); uncalibrated: "
                    f"> {settings.adjacent_disc_loss_dhi:g} disc height index"
                ),
                films=_films(base, visit),
            )
        )
    now, ref = _val(visit, M.SLIP_MM_L4_L5), _val(base, M.SLIP_MM_L4_L5)
    slip: tuple[float, float, str, Measurement, Measurement] | None = None
    if now is not None and ref is not None and now.unit is Unit.MM and ref.unit is Unit.MM:
        slip = (now.value - ref.value, settings.new_listhesis_mm, "mm", now, ref)  # type: ignore[operator]
    else:
        now, ref = _val(visit, M.SLIP_PERCENT_L4_L5), _val(base, M.SLIP_PERCENT_L4_L5)
        if now is not None and ref is not None:
            slip = (now.value - ref.value, settings.new_listhesis_percent, "%", now, ref)  # type: ignore[operator]
    if slip is not None and abs(slip[0]) > slip[1]:
        change, limit, unit, now, ref = slip
        direction = "anterolisthesis" if change > 0 else "retrolisthesis"
        out.append(
            Finding(
                kind="adjacent_segment_listhesis",
                severity=Severity.WATCH,
                summary=(
                    f"New L4-L5 {direction}: slip changed {change:+.1f} {unit} since the {base.label} film "
                    f"(threshold {limit:g} {unit})."
                ),
                evidence={
                    "measure": now.name.value,
                    "baseline": ref.value,
                    "current": now.value,
                    "change": round(change, 4),
                    "unit": unit,
                    "baseline_visit": base.label,
                },
                threshold=(
                    f"> {settings.new_listhesis_mm:g} mm new listhesis (CLINICAL.md); uncalibrated: "
                    f"> {settings.new_listhesis_percent:g} % of the endplate"
                ),
                films=_films(base, visit),
            )
        )
    now, ref = _val(visit, M.PI_LL_MISMATCH), _val(base, M.PI_LL_MISMATCH)
    if now is not None and ref is not None:
        b_now, b_ref = pi_ll_band(now.value, settings), pi_ll_band(ref.value, settings)  # type: ignore[arg-type]
        grew = abs(now.value) - abs(ref.value)  # type: ignore[arg-type]
        if b_now > b_ref and grew > settings.pi_ll_min_change_deg:
            names = ("< {0:g} deg", "{0:g}-{1:g} deg", "> {1:g} deg")
            band = names[b_now].format(*settings.pi_ll_bands_deg)
            out.append(
                Finding(
                    kind="pi_ll_mismatch",
                    severity=Severity.WATCH if b_now == 1 else Severity.ACTION,
                    summary=(
                        f"PI-LL mismatch grew to {now.value:.1f} deg (band {band}; {ref.value:.1f} deg at the "
                        f"{base.label} film)."
                    ),
                    evidence={
                        "measure": M.PI_LL_MISMATCH.value,
                        "baseline": ref.value,
                        "current": now.value,
                        "band": b_now,
                        "baseline_band": b_ref,
                        "unit": "deg",
                        "baseline_visit": base.label,
                    },
                    threshold="SRS-Schwab PI-LL bands < {0:g} / {0:g}-{1:g} / > {1:g} deg (CLINICAL.md)".format(
                        *settings.pi_ll_bands_deg
                    ),
                    films=_films(base, visit),
                )
            )
    return out


def pi_drift_flag(visit: VisitInput, earlier: Sequence[VisitInput], settings: FollowupSettings) -> Finding | None:
    """Pelvic incidence changed by more than ``settings.pi_drift_deg`` since the previous measured visit.

    PI is fixed in an adult (CLINICAL.md), so this is a landmark error to review, not a clinical finding: it is returned
    as a review flag (severity info, ``evidence["clinical"] = False``).
    """
    now = _val(visit, M.PELVIC_INCIDENCE)
    if now is None:
        return None
    prev = next((v for v in reversed(earlier) if _val(v, M.PELVIC_INCIDENCE) is not None), None)
    if prev is None:
        return None
    ref = _val(prev, M.PELVIC_INCIDENCE)
    assert ref is not None and ref.value is not None and now.value is not None
    change = now.value - ref.value
    if not abs(change) > settings.pi_drift_deg:
        return None
    return Finding(
        kind="pi_drift",
        severity=Severity.INFO,
        summary=(
            f"Pelvic incidence changed {change:+.1f} deg since the {prev.label} film: PI does not change in an "
            "adult, so a landmark (S1 endplate or femoral heads) is probably misplaced. Review the landmarks."
        ),
        evidence={
            "measure": M.PELVIC_INCIDENCE.value,
            "previous": ref.value,
            "current": now.value,
            "change": round(change, 4),
            "unit": "deg",
            "previous_visit": prev.label,
            "clinical": False,
        },
        threshold=f"|PI change| > {settings.pi_drift_deg:g} deg between visits = measurement error (CLINICAL.md)",
        films=_films(prev, visit),
    )


# AOMSI (AMA Guides 5th ed., CLINICAL.md "Motion"): translation > 4.5 mm, angular motion > 20 deg (L4-L5), > 25 (L5-S1).
INSTABILITY_TRANSLATION_MM = 4.5
INSTABILITY_ANGLE_DEG = {"L4-L5": 20.0, "L5-S1": 25.0}
_AOMSI = "AOMSI: translation > 4.5 mm or angle > 20 deg (L4-L5) / 25 deg (L5-S1) (CLINICAL.md)"


def instability_findings(motion: Sequence[MotionLike], settings: FollowupSettings = DEFAULT_SETTINGS) -> list[Finding]:
    """Segmental instability on flexion-extension (AOMSI limits, CLINICAL.md), never more certain than the SD allows.

    Per segment, the angle (limit by level) and the translation (mm; not judged on uncalibrated films, as AOMSI is in
    mm) are compared with the limits at ``settings.motion_confidence_z`` (1.96: 95 %); a missing SD is taken as
    ``settings.motion_default_*`` (see :mod:`fusionwatch.followup.motion_call`).

    Returns
    -------
    list[Finding]
        - ``instability_L4_L5`` / ``instability_L5_S1`` (ACTION) when the lower 95 % bound of the angle or of the
          translation exceeds its limit;
        - else ``motion_indeterminate`` (WATCH) when a measured value itself exceeds its limit but its lower bound does
          not (an ambiguous registration cannot raise instability; the reader checks the overlay or repeats the films);
        - else nothing (a value at or below the limit is not reported, whatever its SD).

        Evidence: level, film ids, ``confidence_z`` and per part (``angle``, ``translation``) the value, SD, SD
        source, 95 % interval of the magnitude, limit and call.
    """
    from fusionwatch.followup.model import _level_str
    from fusionwatch.followup.motion_call import Call, judge_value

    z = settings.motion_confidence_z
    out = []
    for m in motion:
        level = _level_str(m.level)
        parts: list[tuple[str, float, float | None, float, float, str]] = []
        angle_lim = INSTABILITY_ANGLE_DEG.get(level)
        if angle_lim is not None:
            parts.append(("angle", m.angle_deg, m.angle_sd_deg, settings.motion_default_angle_sd_deg, angle_lim, "deg"))
        if m.translation_mm is not None:
            parts.append(
                (
                    "translation",
                    m.translation_mm,
                    m.translation_sd,
                    settings.motion_default_translation_sd_mm,
                    INSTABILITY_TRANSLATION_MM,
                    "mm",
                )
            )
        ev: dict[str, Any] = {
            "level": level,
            "films": list(getattr(m, "films", ()) or ()),
            "confidence_z": z,
            "angle_deg": m.angle_deg,
            "translation_mm": m.translation_mm,
        }
        if m.translation_mm is None:
            ev["translation_judged"] = "no: films uncalibrated (AOMSI translation limit is in mm)"
        sure, unsure = [], []
        for name, value, sd, default_sd, limit, unit in parts:
            call, part = judge_value(value, sd, limit, default_sd=default_sd, z=z, unit=unit, what=f"{name} ({unit})")
            ev[name] = part
            lo, hi = part["interval_95"]
            text = (
                f"{name} {abs(value):.1f} ± {part['sd']:.1f} {unit} (95 % interval {max(lo, 0.0):.1f}-{hi:.1f}"
                f"{'' if part['sd_source'] == 'reported' else ', default SD'}) vs > {limit:g} {unit}"
            )
            if call is Call.ABOVE:
                sure.append(text)
            elif abs(value) > limit:
                unsure.append(text)
        films = tuple(ev["films"])
        if sure:
            out.append(
                Finding(
                    kind=f"instability_{level.replace('-', '_')}",
                    severity=Severity.ACTION,
                    summary=f"{level} unstable on flexion-extension: {'; '.join(sure)}.",
                    evidence=ev,
                    threshold=f"{_AOMSI}; lower 95 % bound (value - {z:g} SD) above the limit",
                    films=films,
                )
            )
        elif unsure:
            out.append(
                Finding(
                    kind="motion_indeterminate",
                    severity=Severity.WATCH,
                    summary=(
                        f"{level} above the instability limit on flexion-extension, but too uncertain to call: "
                        f"{'; '.join(unsure)}. Check the registration overlay, or repeat the flexion-extension films."
                    ),
                    evidence=ev,
                    threshold=f"{_AOMSI}; called only when value - {z:g} SD is above the limit",
                    films=films,
                )
            )
    return out
