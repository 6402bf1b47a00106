"""FHIR Observations for the automatic imaging findings and the flexion-extension motion of each visit.

Part of the bundle :func:`fusionwatch.export.fhir.build_fhir_bundle` writes.

Findings (cage subsidence, screw loosening, rod fracture, adjacent-segment changes, review flags, ...): one
Observation each, code ``finding:<kind>`` in fusionwatch's code system, ``valueBoolean`` (the finding stands: true;
a reader rejected it: false), ``interpretation`` (HL7 v3: ``A`` for severity watch, ``AA`` for action or urgent, ``N``
when a reader rejected it; none for an information-only review flag), the evidence as components with UCUM
quantities (the value on the current film, on the reference film, the amount compared and the threshold as the
component's ``referenceRange``; implant checks: angle change with SD and 95 % interval, halo width, rod gap) and notes
(summary, rule, which films and their dates, the finding's ref, the reader's verdict that applies to it: on its own ref
or on its whole kind, the newer). ``status``: ``preliminary`` (automatic, not
verified), ``final`` (a reader confirmed it), ``amended`` (a reader rejected it; the tool's call stays in the notes).

Flexion-extension motion: one Observation per visit and segment, components angular motion (``deg``) and translation
(``mm`` on calibrated films, else ``%`` of the endplate depth), each with its 1 SD and the 95 % interval of its
magnitude (``valueRange``) and the criterion that applies as ``referenceRange`` (the operated segment: the fusion
criterion of the follow-up settings; a segment not operated: the AOMSI instability limits), interpreted ``H`` (the
interval lies above the limit), ``N`` (below) or ``IND`` (it straddles the limit), the rule of
:mod:`fusionwatch.uncertainty`, through the follow-up engine's own judgement
(:func:`fusionwatch.followup.motion_call.judge_value`): a missing SD is replaced by the settings' default, a negative
one is refused (``InputError`` naming the visit and segment) rather than exported with a made-up interval.

De-identification: the caller passes both the identified view (``original``, for the films behind each finding) and
the written one (``data``, de-identified or not). Film ids never appear: films are named by visit and view ("6-weeks
lateral film") with their visit's written (shifted) date; reader names are those of ``data`` ("reader" when
de-identified).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from fusionwatch.export._fhir_common import GONE_NOTE_NOT_APPLIED, coding, interpretation, obs, own_code, quantity
from fusionwatch.export.codes import SNOMED, finding_site, level_site, ucum_unit
from fusionwatch.export.deid import pseudo_id
from fusionwatch.followup.motion_call import Call, judge_value
from fusionwatch.followup.rules import INSTABILITY_ANGLE_DEG, INSTABILITY_TRANSLATION_MM
from fusionwatch.followup.settings import FollowupSettings
from fusionwatch.measurement import MeasureName
from fusionwatch.records import Finding, Override, Severity
from fusionwatch.report.labels import AOMSI_ANGLE_L1_L4
from fusionwatch.report.model import ReportData, VisitView
from fusionwatch.uncertainty import CONFIDENCE_Z
from fusionwatch.units import Unit

__all__ = ["finding_observations", "motion_observations"]

def _kind_text(kind: str) -> str:
    return kind.replace("_", " ")


def _component(code: str, display: str, **value: Any) -> dict[str, Any]:
    return {"code": own_code(code, display), **value}


def _interval(lo: float, hi: float, ucum: str) -> dict[str, Any]:
    return {"low": quantity(max(lo, 0.0), ucum), "high": quantity(hi, ucum)}


def _finite(*xs: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in xs)


def _rule_components(ev: dict[str, Any]) -> list[dict[str, Any]]:
    """Components of a follow-up rule's evidence (``followup.rules.comparison_evidence``: current, baseline, amount,
    comparison, threshold, unit); none for pixel values (no UCUM unit)."""
    try:
        unit = ucum_unit(Unit(ev.get("unit")))
    except ValueError:
        return []
    if unit is None:
        return []
    ucum = unit[0]
    out = []
    if _finite(ev.get("current")):
        out.append(_component("finding_current_value", "Value on the current film",
                              valueQuantity=quantity(ev["current"], ucum)))
    if _finite(ev.get("baseline")):
        out.append(_component("finding_reference_value", "Value on the reference (baseline) film",
                              valueQuantity=quantity(ev["baseline"], ucum)))
    if _finite(ev.get("amount"), ev.get("threshold")):
        rule = f"finding when {ev.get('compared', 'value')} {ev.get('comparison', '>')} {ev['threshold']:g} {ucum}"
        out.append(_component("finding_compared_amount", "Amount compared with the threshold",
                              valueQuantity=quantity(ev["amount"], ucum),
                              referenceRange=[{"high": quantity(ev["threshold"], ucum), "text": rule}]))
    return out


def _implant_components(ev: dict[str, Any]) -> list[dict[str, Any]]:
    """Components of the implant checks' evidence (angle change, halo, rod gap); pixel-only values are left out."""
    out = []
    if _finite(ev.get("change_deg")):
        extra: dict[str, Any] = {}
        if _finite(ev.get("threshold_deg")):
            extra["referenceRange"] = [{"high": quantity(ev["threshold_deg"], "deg"),
                                        "text": f"finding when |change| >= {ev['threshold_deg']:g} deg with its 95 % "
                                                "lower bound above it (PMID 24170238)"}]
        out.append(_component("screw_endplate_angle_change", "Screw-endplate angle change",
                              valueQuantity=quantity(ev["change_deg"], "deg"), **extra))
        if _finite(ev.get("sd_deg")):
            out.append(_component("screw_endplate_angle_change_sd", "Screw-endplate angle change, 1 SD",
                                  valueQuantity=quantity(ev["sd_deg"], "deg")))
        lo_hi = ev.get("interval_95") or ()
        if len(lo_hi) == 2 and _finite(*lo_hi):
            out.append(_component("screw_endplate_angle_change_interval_95",
                                  "Screw-endplate angle change, 95 % interval",
                                  valueRange={"low": quantity(lo_hi[0], "deg"), "high": quantity(lo_hi[1], "deg")}))
    if _finite(ev.get("halo_mm")):
        extra = {}
        if _finite(ev.get("threshold_mm")):
            extra["referenceRange"] = [{"high": quantity(ev["threshold_mm"], "mm"),
                                        "text": f"finding when wider than {ev['threshold_mm']:g} mm"}]
        out.append(_component("screw_halo_width", "Radiolucent halo width around the screw",
                              valueQuantity=quantity(ev["halo_mm"], "mm"), **extra))
    if _finite(ev.get("gap_mm")):
        out.append(_component("rod_gap", "Gap in the rod's centre line", valueQuantity=quantity(ev["gap_mm"], "mm")))
    return out


class _Films:
    """Film id -> "6-weeks lateral film (2000-02-12)": the visit's label and view, and its written date."""

    def __init__(self, original: ReportData, data: ReportData) -> None:
        self.labels = original.film_labels
        self.dates = {vo.label: v.date for vo, v in zip(original.visits, data.visits, strict=True)}

    def _date_of(self, name: str) -> dt.date | None:
        hits = [lb for lb in self.dates if name == lb or name.startswith(lb + " ")]
        return self.dates[max(hits, key=len)] if hits else None

    def name(self, film_id: str | None, fallback: str = "") -> str:
        text = self.labels.get(film_id or "", fallback)
        if not text:
            return ""
        when = self._date_of(text)
        return f"{text} ({when.isoformat()})" if when else text

    def of(self, f: Finding) -> list[str]:
        ev = f.evidence if isinstance(f.evidence, dict) else {}
        films = ev.get("films") if isinstance(ev.get("films"), dict) else {}
        visits = ev.get("visits") if isinstance(ev.get("visits"), dict) else {}
        if films or visits:
            view = f"{ev['view']} " if ev.get("view") else ""
            roles = [r for r in ("baseline", "current") if r in films or r in visits]
            return [n for n in (self.name(films.get(r), f"{visits[r]} {view}film" if r in visits else "")
                                for r in roles) if n]
        return [n for n in dict.fromkeys(self.name(x) for x in f.films) if n]


def _verdict_parts(verdict: Override | None) -> tuple[str, list[dict[str, Any]], list[dict[str, str]]]:
    """(status, components, notes) for a reader's verdict on a finding."""
    if verdict is None or verdict.value not in ("confirmed", "rejected"):
        return "preliminary", [], []
    comp = _component("reader_verdict", "Reader's verdict on the automatic finding",
                      valueCodeableConcept=own_code(verdict.value, f"{verdict.value.title()} by a reader"))
    note = f"Reader ({verdict.author}, {verdict.at.date().isoformat()}): {verdict.value}"
    note += f": {verdict.reason}" if verdict.reason else ""
    return ("final" if verdict.value == "confirmed" else "amended"), [comp], [{"text": note}]


def finding_observations(original: ReportData, data: ReportData, subject: str, *,
                         id_seed: str | None = None) -> list[dict[str, Any]]:
    """One Observation per finding of every visit (the fusion status has its own Observation and is left out).

    ``original`` is the identified view the findings' evidence comes from; ``data`` the view written (the same visits
    in the same order, de-identified or not): summaries, dates and reader names come from it. ``id_seed`` seeds the
    resource ids (:func:`fusionwatch.export.fhir.build_fhir_bundle` gives the keyed one; ``None``: the written key).
    """
    films = _Films(original, data)
    out: list[dict[str, Any]] = []
    key = id_seed if id_seed is not None else data.patient_key
    for vo, v in zip(original.visits, data.visits, strict=True):
        # the verdict that applies to each finding by its own ref (refs from the identified view, whose evidence
        # they are built from): a verdict on one of several findings of a kind leaves the others unreviewed
        verdicts = v.verdicts_by(vo.refs, vo.aliases)
        for fo, f, ref, alias, verdict in zip(vo.findings, v.findings, vo.refs, vo.aliases, verdicts, strict=True):
            if f.kind == "fusion_status":
                continue
            ev = fo.evidence if isinstance(fo.evidence, dict) else {}
            status, verdict_comp, verdict_note = _verdict_parts(verdict)
            rejected = status == "amended"
            extra: dict[str, Any] = {}
            if rejected:
                extra["interpretation"] = interpretation("N")
            elif f.severity.rank >= Severity.ACTION.rank:
                extra["interpretation"] = interpretation("AA")
            elif f.severity is Severity.WATCH:
                extra["interpretation"] = interpretation("A")
            site = _finding_site(f, ev)
            if site is not None:
                extra["bodySite"] = {"coding": [coding(SNOMED, site.value, site.meaning)]}
            components = _rule_components(ev) + _implant_components(ev) + verdict_comp
            if components:
                extra["component"] = components
            named = films.of(fo)
            # a verdict given before this finding was measured against another baseline film: not applied, said
            # here too (the fusion-status Observation lists it with the other verdicts standing beside no finding)
            not_applied = [{"text": f"{GONE_NOTE_NOT_APPLIED}: reader ({o.author}, {o.at.date().isoformat()}): "
                                    f"{o.value} on finding {r}, given before this finding was measured against "
                                    "another baseline film (confirm or reject it again)"}
                           for r, o in v.verdicts_without_finding if r in (ref, alias, f.kind)]
            notes = [{"text": f.summary}, *({"text": f"Rule: {f.threshold}"} for _ in [0] if f.threshold),
                     *({"text": "Films: " + " -> ".join(named)} for _ in [0] if named),
                     {"text": f"Severity: {f.severity.value}; automatic finding (decision support)"},
                     {"text": f"Ref: {ref} (fusionwatch override --finding {ref}=confirmed|rejected)"}, *verdict_note,
                     *not_applied]
            text = f"{_kind_text(f.kind)} (automatic finding)"
            out.append(obs(
                pseudo_id(key, f"{v.date}|finding|{f.kind}|{len(out)}"), status, "imaging",
                own_code(f"finding:{f.kind}", _kind_text(f.kind), text), subject, v.date,
                valueBoolean=not rejected, note=notes, **extra,
            ))
    return out


def _finding_site(f: Finding, ev: dict[str, Any]):  # type: ignore[no-untyped-def]
    measure = ev.get("measure")
    if isinstance(measure, str):
        try:
            return finding_site(MeasureName(measure))
        except ValueError:
            pass
    if f.kind.startswith("adjacent_segment"):
        return level_site("L4-L5")
    if f.kind.startswith(("cage_", "fused_")):
        return level_site("L5-S1")
    return None


def _judged(value: float, sd: float | None, default_sd: float, limit: float, z: float, unit: str,
            what: str) -> tuple[str, tuple[float, float]]:
    """HL7 interpretation of ``|value|`` against ``limit`` by the follow-up engine's judgement
    (:func:`fusionwatch.followup.motion_call.judge_value`): H above, N below, IND straddling its interval; a missing SD
    is replaced by the follow-up settings' default measurement SD, a negative one is refused (``InputError``)."""
    call, ev = judge_value(value, sd, limit, default_sd=default_sd, z=z, unit=unit, what=what)
    lo, hi = ev["interval_95"]
    return {Call.ABOVE: "H", Call.BELOW: "N", Call.INDETERMINATE: "IND"}[call], (lo, hi)


def motion_observations(data: ReportData, subject: str, *, id_seed: str | None = None) -> list[dict[str, Any]]:
    """One Observation per visit and segment with flexion-extension motion (see the module notes); ``id_seed`` as in
    :func:`finding_observations`."""
    seed = id_seed if id_seed is not None else data.patient_key
    t = data.thresholds
    z = float(t.get("motion_confidence_z", CONFIDENCE_Z))
    operated = data.operated_levels
    out: list[dict[str, Any]] = []
    for v in data.visits:
        for m in v.motion:
            level = str(m.get("level", ""))
            angle = m.get("angle_deg")
            if not _finite(angle):
                continue
            out.append(_motion_obs(data, v, m, level, level in operated, t, z, subject, seed))
    return out


def _motion_obs(data: ReportData, v: VisitView, m: dict[str, Any], level: str, is_operated: bool,
                t: dict[str, Any], z: float, subject: str, seed: str) -> dict[str, Any]:
    angle, angle_sd = float(m["angle_deg"]), m.get("angle_sd_deg")
    if m.get("translation_mm") is not None:
        trans, ucum = m["translation_mm"], "mm"
    elif m.get("translation_percent") is not None:
        trans, ucum = m["translation_percent"], "%"
    else:
        trans, ucum = None, ""
    trans_sd = m.get("translation_sd")
    if is_operated:
        a_lim = float(t.get("fusion_angle_deg", 3.0))
        t_lim = float(t.get("fusion_translation_mm", 3.0)) if ucum == "mm" else float(
            t.get("fusion_translation_percent", 8.0))
        rule = (f"operated segment, fusion criterion: < {a_lim:g} deg and < {t_lim:g} {ucum or 'mm'}"
                + ("" if ucum != "%" else " of the endplate (film not calibrated)")
                + " (follow-up settings; defaults: modified Lee criteria < 3 deg, device-trial criterion < 3 mm)")
        a_text, t_text = f"fusion criterion < {a_lim:g} deg", f"fusion criterion < {t_lim:g} {ucum}"
    else:
        a_lim = float(INSTABILITY_ANGLE_DEG.get(level, AOMSI_ANGLE_L1_L4))
        t_lim = float(INSTABILITY_TRANSLATION_MM) if ucum == "mm" else math.nan  # % not judged for instability
        rule = (f"segment not operated (motion expected): instability if > {a_lim:g} deg"
                + (f" or > {t_lim:g} mm" if ucum == "mm" else "; translation not judged (film not calibrated)")
                + " (AOMSI, AMA Guides 5th ed.)")
        a_text, t_text = f"instability > {a_lim:g} deg (AOMSI)", f"instability > {t_lim:g} mm (AOMSI)"
    defaults = FollowupSettings()
    where = f"Flexion-extension motion at {v.label} {level}"
    # judge_value names `what` in its error for an impossible (negative) SD: the visit and segment with it
    a_interp, a_interval = _judged(angle, angle_sd, float(t.get("motion_default_angle_sd_deg",
                                   defaults.motion_default_angle_sd_deg)), a_lim, z, "deg", f"{where}: angle (deg)")
    comps = [_component("angular_motion", "Angular motion (flexion-extension)",
                        valueQuantity=quantity(angle, "deg"), interpretation=interpretation(a_interp),
                        referenceRange=[{"high": quantity(a_lim, "deg"), "text": a_text}])]
    if _finite(angle_sd):
        comps.append(_component("angular_motion_sd", "Angular motion, 1 SD", valueQuantity=quantity(angle_sd, "deg")))
    comps.append(_component("angular_motion_interval_95", "Angular motion magnitude, 95 % interval",
                                valueRange=_interval(*a_interval, "deg")))
    interps = [a_interp]
    if trans is not None and _finite(trans):
        tcomp = _component("translation", "Translation (flexion-extension)", valueQuantity=quantity(trans, ucum))
        t_interval = None
        if _finite(t_lim):
            key = "motion_default_translation_sd_mm" if ucum == "mm" else "motion_default_translation_sd_percent"
            t_interp, t_interval = _judged(trans, trans_sd, float(t.get(key, getattr(defaults, key))), t_lim, z,
                                           ucum, f"{where}: translation ({ucum})")
            interps.append(t_interp)
            tcomp |= {"interpretation": interpretation(t_interp),
                      "referenceRange": [{"high": quantity(t_lim, ucum), "text": t_text}]}
        comps.append(tcomp)
        if _finite(trans_sd):
            comps.append(_component("translation_sd", "Translation, 1 SD", valueQuantity=quantity(trans_sd, ucum)))
        if t_interval is not None:
            comps.append(_component("translation_interval_95", "Translation magnitude, 95 % interval",
                                    valueRange=_interval(*t_interval, ucum)))
    overall = "H" if "H" in interps else ("IND" if "IND" in interps else "N")
    site = level_site(level)
    extra: dict[str, Any] = {"bodySite": {"coding": [coding(SNOMED, site.value, site.meaning)]}} if site else {}
    notes = [{"text": rule},
             {"text": f"Films: flexion and extension films of visit {v.label} ({v.date.isoformat()}); motion by "
                      "registration of the vertebral bodies; 95 % interval = |value| +/- "
                      f"{z:g} SD (the settings' default SD where none was reported); H: interval above the limit, "
                      "N: below, IND: straddles it"}]
    return obs(
        pseudo_id(seed, f"{v.date}|motion|{level}"), "preliminary", "imaging",
        own_code("flexion_extension_motion", "Flexion-extension motion of a spinal segment",
                 f"Flexion-extension motion {level}"),
        subject, v.date, component=comps, interpretation=interpretation(overall), note=notes, **extra,
    )
