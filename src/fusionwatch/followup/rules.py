"""Follow-up findings from measurement series: subsidence, loss of lordosis, adjacent segment, PI drift, instability.

Pure functions: a visit, the baseline visit and the previous visits in, :class:`~fusionwatch.records.Finding` out.
Uncalibrated films are compared with ratios (disc height index, slip %), never in millimetres; so are two films
calibrated in different planes (detector vs patient plane, :func:`fusionwatch.followup.compare.same_spacing_plane`),
and the finding says which film is in which plane (``note``, ``mm_not_compared``): the disc height index against the
mm threshold divided by the upper body's depth on the film calibrated at the patient plane (``threshold_from``), the
slip % against its own threshold.

Every finding that compares a measurement between two films (or holds one film's value against a limit) carries the same
evidence, built by :func:`comparison_evidence`:

``measure``, ``unit``
    The measurement name and the unit of the values below (``mm``, ``ratio``, ``%``, ``deg``).
``current``, ``baseline``
    The value on the current film and on the reference film (``None`` for a one-film rule).
``change``
    ``current - baseline`` in ``unit`` (``None`` for a one-film rule).
``compared``, ``amount``, ``comparison``, ``threshold``
    What the rule holds against its threshold (e.g. ``"loss"`` = baseline - current), its value, the operator
    (``">"`` or ``"<"``) and the threshold in ``unit``: the finding exists because ``amount <comparison> threshold``.
``reference``
    ``"baseline"`` (the early post-operative film), ``"previous"`` (the latest earlier measured visit) or ``None``.
``visits``, ``films``, ``spacing_source``
    Dicts with the keys ``"current"`` and (two-film rules) ``"baseline"``: visit labels, film ids and the pixel
    spacing source behind a millimetre value (``None`` for angles, ratios and %).
``warnings``
    Doubts attached to either value (e.g. detector-plane spacing), without repeats.
``note``, ``mm_not_compared``, ``threshold_from`` (rule-specific)
    Why a ratio was compared instead of mm; for films calibrated in different planes, ``mm_not_compared`` holds the
    mm measure left out and the spacing source of each film (``{"measure", "spacing_source": {"current",
    "baseline"}}``), never its values, and a disc height rule's ``threshold_from`` how its threshold was converted
    (``threshold_mm``, ``depth_mm``, ``depth_of``, the ``visit`` and ``spacing_source`` of the depth's film).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fusionwatch.followup.compare import PLANES_NOT_COMPARED, same_spacing_plane, spacing_plane
from fusionwatch.followup.model import MotionLike, VisitInput
from fusionwatch.followup.settings import DEFAULT_SETTINGS, FollowupSettings
from fusionwatch.measurement import Measurement
from fusionwatch.measurement import MeasureName as M
from fusionwatch.records import Finding, Severity, Surgery
from fusionwatch.units import Unit

__all__ = [
    "comparison_evidence",
    "subsidence_finding",
    "lordosis_loss_finding",
    "adjacent_segment_findings",
    "flexion_kyphosis_finding",
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


def comparison_evidence(
    now: Measurement,
    visit: VisitInput,
    *,
    compared: str,
    amount: float,
    threshold: float,
    comparison: str = ">",
    ref: Measurement | None = None,
    ref_visit: VisitInput | None = None,
    reference: str | None = "baseline",
    film: str | None = None,
    ref_film: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The evidence dict of a follow-up finding, one shape for every rule (keys in the module docstring).

    Parameters
    ----------
    now : Measurement
        The value on the current film (must have a value).
    visit : VisitInput
        The current visit; its ``lateral_film`` is the current film unless ``film`` is given.
    compared : str
        What is held against the threshold, e.g. ``"loss"`` (baseline - current), ``"|change|"``, ``"value"``.
    amount : float
        Its value, in ``now.unit``.
    threshold : float
        The limit in ``now.unit``; the finding means ``amount <comparison> threshold``.
    comparison : str
        ``">"`` or ``"<"``.
    ref, ref_visit : Measurement, VisitInput, optional
        The reference value and its visit (both or neither); ``ref_film`` defaults to ``ref_visit.lateral_film``.
    reference : str | None
        ``"baseline"`` or ``"previous"`` (which earlier film ``ref`` is); ignored without ``ref``.
    **extra
        Rule-specific keys (e.g. PI-LL ``band``), added last.
    """
    if now.value is None or (ref is not None and ref.value is None):
        raise ValueError("comparison_evidence needs measured values (value is None).")
    if (ref is None) != (ref_visit is None):
        raise ValueError("comparison_evidence: give both ref and ref_visit, or neither.")

    def src(m: Measurement) -> str | None:
        return m.spacing_source.value if m.spacing_source else None

    ev: dict[str, Any] = {
        "measure": now.name.value,
        "unit": now.unit.value,
        "current": now.value,
        "baseline": None,
        "change": None,
        "compared": compared,
        "amount": round(amount, 4),
        "comparison": comparison,
        "threshold": threshold,
        "reference": None,
        "visits": {"current": visit.label},
        "films": {"current": film if film is not None else visit.lateral_film},
        "spacing_source": {"current": src(now)},
        "warnings": list(dict.fromkeys((*now.warnings, *(ref.warnings if ref else ())))),
    }
    if ref is not None and ref_visit is not None:
        ev |= {"baseline": ref.value, "change": round(now.value - ref.value, 4), "reference": reference}  # type: ignore[operator]
        ev["visits"]["baseline"] = ref_visit.label
        ev["films"]["baseline"] = ref_film if ref_film is not None else ref_visit.lateral_film
        ev["spacing_source"]["baseline"] = src(ref)
    return ev | extra


@dataclass(frozen=True, slots=True)
class _Pair:
    """The two values a rule compares, and the millimetre pair it did not compare (films in different planes)."""

    now: Measurement
    ref: Measurement
    mm_not_compared: tuple[Measurement, Measurement] | None = None

    @property
    def mm(self) -> bool:
        return self.now.unit is Unit.MM


def _paired(visit: VisitInput, base: VisitInput, mm_name: M, ratio_name: M) -> _Pair | None:
    """The pair of values to compare: ``mm_name`` when both films are calibrated in the same plane, else
    ``ratio_name`` (same unit).

    A calibrated and an uncalibrated film are never subtracted in mm or px, nor are two films calibrated in different
    planes (detector plane vs patient plane, :func:`fusionwatch.followup.compare.same_spacing_plane`): their mm differ
    by the film's magnification (~10-20 %). Then the ratio is compared and the pair records the mm values it left.
    """
    now, ref = _val(visit, mm_name), _val(base, mm_name)
    skipped = None
    if now is not None and ref is not None and now.unit is Unit.MM and ref.unit is Unit.MM:
        if same_spacing_plane(now.spacing_source, ref.spacing_source):
            return _Pair(now, ref)
        skipped = (now, ref)
    r_now, r_ref = _val(visit, ratio_name), _val(base, ratio_name)
    if r_now is not None and r_ref is not None and r_now.unit is r_ref.unit:
        return _Pair(r_now, r_ref, skipped)
    return None


def _planes_why(pair: _Pair, visit: VisitInput, base: VisitInput, as_what: str) -> dict[str, Any]:
    """Evidence keys and the sentence saying why a ratio was compared instead of the mm of two calibrated films."""
    assert pair.mm_not_compared is not None
    now, ref = pair.mm_not_compared
    why = (
        f"the {base.label} film is calibrated at the {spacing_plane(ref.spacing_source)}, the {visit.label} film at "
        f"the {spacing_plane(now.spacing_source)}: compared as {as_what}; {PLANES_NOT_COMPARED}"
    )
    return {
        "note": why,
        "mm_not_compared": {
            "measure": now.name.value,
            "spacing_source": {
                "current": now.spacing_source.value if now.spacing_source else None,
                "baseline": ref.spacing_source.value if ref.spacing_source else None,
            },
        },
    }


def _patient_plane_depth(pair: _Pair, visit: VisitInput, base: VisitInput) -> tuple[float, VisitInput, str] | None:
    """The upper body's AP depth (mm) on the film of ``pair`` calibrated at the patient plane: mean disc height (mm)
    / disc height index of that film (one film's landmarks, one plane); with its visit and spacing source. ``None``
    when it cannot be derived (an index of 0, a missing value)."""
    assert pair.mm_not_compared is not None
    now_mm, ref_mm = pair.mm_not_compared
    for mm, ratio, v in ((ref_mm, pair.ref, base), (now_mm, pair.now, visit)):
        if spacing_plane(mm.spacing_source) == "patient plane" and mm.value and ratio.value:
            depth = mm.value / ratio.value
            if math.isfinite(depth) and depth > 0:
                return depth, v, mm.spacing_source.value  # type: ignore[union-attr]
    return None


def _disc_height_loss(
    visit: VisitInput, base: VisitInput, mean: M, index: M, limit_mm: float, limit_dhi: float, upper: str
) -> tuple[float, float, dict[str, Any], str, str] | None:
    """Disc height loss vs ``base`` when above its limit: mm when both films are calibrated in the same plane, else
    disc height index (an uncalibrated film, or films calibrated in different planes: said so).

    Films calibrated in different planes (detector vs patient plane) compare the disc height index against
    ``limit_mm`` converted through the upper body's (``upper``) depth on the film calibrated at the patient plane
    (``limit_mm / depth``: the published mm threshold, on one film's scale); when that depth cannot be derived,
    against ``limit_dhi``, as uncalibrated films.

    Returns ``(loss, limit, evidence, loss text, limit text)``, or ``None`` when not comparable or not above the limit.
    """
    pair = _paired(visit, base, mean, index)
    if pair is None:
        return None
    now, ref = pair.now, pair.ref
    limit = limit_mm if pair.mm else limit_dhi
    limit_text = f"{limit:g} mm" if pair.mm else f"{limit:g} disc height index"
    extra: dict[str, Any] = {}
    if pair.mm_not_compared is not None:
        extra = _planes_why(pair, visit, base, "disc height index")
        if (got := _patient_plane_depth(pair, visit, base)) is not None:
            depth, on, source = got
            limit = limit_mm / depth
            extra["threshold_from"] = {
                "threshold_mm": limit_mm,
                "depth_mm": round(depth, 2),
                "depth_of": upper,
                "visit": on.label,
                "spacing_source": source,
            }
            limit_text = (
                f"{limit:.3f} disc height index = {limit_mm:g} mm over the {depth:.1f} mm {upper} depth on the "
                f"{on.label} film"
            )
        limit_text += f"; {extra['note']}"
    elif not pair.mm:
        extra = {"note": "uncalibrated film: disc height index (mean disc height / upper body depth) compared, not mm"}
    loss = ref.value - now.value  # type: ignore[operator]
    if not loss > limit:
        return None
    evidence = comparison_evidence(
        now, visit, compared="loss", amount=loss, threshold=round(limit, 4), ref=ref, ref_visit=base, **extra
    )
    if pair.mm:
        return loss, limit, evidence, f"{loss:.1f} mm", limit_text
    if pair.mm_not_compared is not None:
        return loss, limit, evidence, f"{loss:.3f} disc height index", limit_text
    text = f"{loss:.3f} disc height index (uncalibrated film, compared as a ratio)"
    return loss, limit, evidence, text, limit_text


# Sources named in the clinician-facing threshold texts (a chart reader cannot look up a project file).
SUBSIDENCE_SOURCE = "cage subsidence; common study definition"
ASD_SOURCE = "adjacent segment degeneration; common radiographic definition"
SRS_SCHWAB = "SRS-Schwab"
AOMSI_SOURCE = "AOMSI / AMA Guides 5th ed."
OURS = "fusionwatch setting"


def subsidence_finding(
    visit: VisitInput, base: VisitInput, surgery: Surgery | None, settings: FollowupSettings
) -> Finding | None:
    """Cage subsidence: mean L5-S1 disc height loss vs the baseline film above the threshold.

    CLINICAL.md: > 2 mm loss of disc height compared with the early post-operative film. On uncalibrated films the disc
    height index loss is compared with ``settings.subsidence_dhi``; when the two films are calibrated in different
    planes (detector vs patient plane), with ``settings.subsidence_mm`` over the L5 depth on the patient-plane film
    (``subsidence_dhi`` when that depth cannot be derived). The finding says so, and never subtracts mm.
    Without an interbody cage (posterolateral fusion) the same rule reports ``fused_disc_height_loss``.
    """
    got = _disc_height_loss(
        visit,
        base,
        M.DISC_HEIGHT_MEAN_L5_S1,
        M.DISC_HEIGHT_INDEX_L5_S1,
        settings.subsidence_mm,
        settings.subsidence_dhi,
        "L5",
    )
    if got is None:
        return None
    loss, limit, evidence, amount, lim = got
    kind = "cage_subsidence" if has_interbody_cage(surgery) else "fused_disc_height_loss"
    return Finding(
        kind=kind,
        severity=Severity.ACTION if loss > 2 * limit else Severity.WATCH,
        summary=f"L5-S1 disc height fell {amount} since the {base.label} film (threshold {lim}).",
        evidence=evidence,
        threshold=(
            f"> {settings.subsidence_mm:g} mm disc height loss vs the {base.label} film ({SUBSIDENCE_SOURCE}); "
            f"films calibrated in different planes (detector vs patient): disc height index loss > "
            f"{settings.subsidence_mm:g} mm / the L5 depth on the patient-plane film; uncalibrated: > "
            f"{settings.subsidence_dhi:g} disc height index ({OURS}, ~ 2 mm over a 35 mm L5 depth)"
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
        evidence=comparison_evidence(
            now, visit, compared="loss", amount=loss, threshold=settings.lordosis_loss_deg, ref=ref, ref_visit=base
        ),
        threshold=(
            f"> {settings.lordosis_loss_deg:g} deg loss of L5-S1 lordosis vs the {base.label} film ({OURS}: above "
            "landmark repeatability; no published threshold)"
        ),
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
    The fourth sign, L4-L5 kyphosis on the flexion film, needs no baseline: :func:`flexion_kyphosis_finding`.
    """
    found = (
        _adjacent_disc_loss(visit, base, settings),
        _adjacent_listhesis(visit, base, settings),
        _pi_ll_mismatch(visit, base, settings),
    )
    return [f for f in found if f is not None]


def _adjacent_disc_loss(visit: VisitInput, base: VisitInput, settings: FollowupSettings) -> Finding | None:
    got = _disc_height_loss(
        visit,
        base,
        M.DISC_HEIGHT_MEAN_L4_L5,
        M.DISC_HEIGHT_INDEX_L4_L5,
        settings.adjacent_disc_loss_mm,
        settings.adjacent_disc_loss_dhi,
        "L4",
    )
    if got is None:
        return None
    _, _, evidence, amount, lim = got
    return Finding(
        kind="adjacent_segment_disc_height_loss",
        severity=Severity.WATCH,
        summary=f"L4-L5 (adjacent) disc height fell {amount} since the {base.label} film (threshold {lim}).",
        evidence=evidence,
        threshold=(
            f"> {settings.adjacent_disc_loss_mm:g} mm L4-L5 disc height loss vs the {base.label} film "
            f"({ASD_SOURCE}); films calibrated in different planes (detector vs patient): disc height index loss > "
            f"{settings.adjacent_disc_loss_mm:g} mm / the L4 depth on the patient-plane film; uncalibrated: > "
            f"{settings.adjacent_disc_loss_dhi:g} disc height index ({OURS}, ~ 3 mm over a 35 mm depth)"
        ),
        films=_films(base, visit),
    )


def _adjacent_listhesis(visit: VisitInput, base: VisitInput, settings: FollowupSettings) -> Finding | None:
    pair = _paired(visit, base, M.SLIP_MM_L4_L5, M.SLIP_PERCENT_L4_L5)
    if pair is None:
        return None
    now, ref = pair.now, pair.ref
    unit = now.unit.value
    limit = settings.new_listhesis_mm if pair.mm else settings.new_listhesis_percent
    change = now.value - ref.value  # type: ignore[operator]
    if not abs(change) > limit:
        return None
    direction = "anterolisthesis" if change > 0 else "retrolisthesis"
    extra = _planes_why(pair, visit, base, "slip %") if pair.mm_not_compared is not None else {}
    why = f" ({extra['note']})" if extra else ""
    return Finding(
        kind="adjacent_segment_listhesis",
        severity=Severity.WATCH,
        summary=(
            f"New L4-L5 {direction}: slip changed {change:+.1f} {unit} since the {base.label} film{why} "
            f"(threshold {limit:g} {unit})."
        ),
        evidence=comparison_evidence(
            now, visit, compared="|change|", amount=abs(change), threshold=limit, ref=ref, ref_visit=base, **extra
        ),
        threshold=(
            f"> {settings.new_listhesis_mm:g} mm new L4-L5 listhesis vs the {base.label} film "
            f"({ASD_SOURCE}); uncalibrated or calibrated in different planes: > {settings.new_listhesis_percent:g} % "
            f"of the endplate ({OURS}, ~ 3 mm over a 38 mm endplate)"
        ),
        films=_films(base, visit),
    )


def _pi_ll_mismatch(visit: VisitInput, base: VisitInput, settings: FollowupSettings) -> Finding | None:
    now, ref = _val(visit, M.PI_LL_MISMATCH), _val(base, M.PI_LL_MISMATCH)
    if now is None or now.value is None or ref is None or ref.value is None:
        return None
    b_now, b_ref = pi_ll_band(now.value, settings), pi_ll_band(ref.value, settings)
    grew = abs(now.value) - abs(ref.value)
    if not (b_now > b_ref and grew > settings.pi_ll_min_change_deg):
        return None
    lo, hi = settings.pi_ll_bands_deg
    band = (f"< {lo:g} deg", f"{lo:g}-{hi:g} deg", f"> {hi:g} deg")[b_now]
    return Finding(
        kind="pi_ll_mismatch",
        severity=Severity.WATCH if b_now == 1 else Severity.ACTION,
        summary=(
            f"PI-LL mismatch grew to {now.value:.1f} deg (band {band}; {ref.value:.1f} deg at the {base.label} film)."
        ),
        evidence=comparison_evidence(
            now,
            visit,
            compared="growth of |PI-LL| (with a worse band)",
            amount=grew,
            threshold=settings.pi_ll_min_change_deg,
            ref=ref,
            ref_visit=base,
            band=b_now,
            baseline_band=b_ref,
            bands_deg=[lo, hi],
        ),
        threshold=(
            f"{SRS_SCHWAB} PI-LL modifier < {lo:g} / {lo:g}-{hi:g} / > {hi:g} deg; reported when the band worsens and "
            f"|PI-LL| grew > {settings.pi_ll_min_change_deg:g} deg ({OURS})"
        ),
        films=_films(base, visit),
    )


def flexion_kyphosis_finding(visit: VisitInput, settings: FollowupSettings) -> Finding | None:
    """Adjacent segment watch: L4-L5 segmental angle on the visit's flexion film below the limit (default -5 deg).

    The angle is ``SEGMENTAL_LORDOSIS_L4_L5`` measured on the flexion film (``visit.flexion_measurements``; deg,
    lordosis positive, kyphosis negative). CLINICAL.md lists "flexion angle < -5 deg" among the signs of adjacent
    segment degeneration; it is judged on the one film (no baseline needed: flexion films are taken when fusion or
    the adjacent level is in question). ``None`` without a measured flexion film.
    """
    now = visit.flexion_measurements.get(M.SEGMENTAL_LORDOSIS_L4_L5)
    if now is None or now.value is None:
        return None
    limit = settings.adjacent_flexion_angle_deg
    if not now.value < limit:
        return None
    return Finding(
        kind="adjacent_segment_flexion_kyphosis",
        severity=Severity.WATCH,
        summary=(
            f"L4-L5 (adjacent) segment is {abs(now.value):.1f} deg kyphotic on the {visit.label} flexion film "
            f"(segmental angle {now.value:.1f} deg; threshold {limit:g} deg)."
        ),
        evidence=comparison_evidence(
            now,
            visit,
            compared="value",
            amount=now.value,
            threshold=limit,
            comparison="<",
            film=visit.flexion_film,
            view="flexion",
        ),
        threshold=f"L4-L5 segmental angle on the flexion film < {limit:g} deg ({ASD_SOURCE})",
        films=(visit.flexion_film,) if visit.flexion_film else (),
    )


def pi_drift_flag(visit: VisitInput, earlier: Sequence[VisitInput], settings: FollowupSettings) -> Finding | None:
    """Pelvic incidence changed by more than ``settings.pi_drift_deg`` since the previous measured visit.

    PI is fixed in an adult (CLINICAL.md), so this is a landmark error to review, not a clinical finding: it is returned
    as a review flag (severity info, ``evidence["clinical"] = False``, ``evidence["reference"] = "previous"``).
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
        evidence=comparison_evidence(
            now,
            visit,
            compared="|change|",
            amount=abs(change),
            threshold=settings.pi_drift_deg,
            ref=ref,
            ref_visit=prev,
            reference="previous",
            clinical=False,
        ),
        threshold=(
            f"|PI change| > {settings.pi_drift_deg:g} deg between visits = landmark error (pelvic incidence is "
            f"constant after growth; {OURS})"
        ),
        films=_films(prev, visit),
    )


# AOMSI (AMA Guides 5th ed., CLINICAL.md "Motion"): translation > 4.5 mm, angular motion > 20 deg (L4-L5), > 25 (L5-S1).
INSTABILITY_TRANSLATION_MM = 4.5
INSTABILITY_ANGLE_DEG = {"L4-L5": 20.0, "L5-S1": 25.0}
_AOMSI = f"translation > 4.5 mm or angle > 20 deg (L4-L5) / 25 deg (L5-S1) ({AOMSI_SOURCE})"


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
