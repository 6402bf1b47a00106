"""build_timeline: the follow-up engine's one entry point (pure: visits in, Timeline out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from fusionwatch.followup.compare import choose_baseline, measurement_deltas
from fusionwatch.followup.evidence import finding_verdicts
from fusionwatch.followup.model import StatusResult, Timeline, VisitInput, VisitSummary
from fusionwatch.followup.refs import finding_refs, rejected_kinds_of, standing_findings
from fusionwatch.followup.rules import (
    adjacent_segment_findings,
    flexion_kyphosis_finding,
    instability_findings,
    lordosis_loss_finding,
    pi_drift_flag,
    subsidence_finding,
)
from fusionwatch.followup.schedule import LabelledVisit, distinct_labels
from fusionwatch.followup.settings import DEFAULT_SETTINGS, FollowupSettings
from fusionwatch.followup.status import fusion_status
from fusionwatch.records import Finding, Severity, Surgery

__all__ = ["build_timeline", "NO_FILMS"]

NO_FILMS = (
    "No films at this visit (a symptom report or questionnaire): no fusion status of its own; the latest visit "
    "with films stands."
)


def _has_films(v: VisitInput) -> bool:
    return bool(v.films) or v.lateral_film is not None


def _has_evidence(v: VisitInput) -> bool:
    """Films, measurements, motion or implant findings: something a fusion status can rest on."""
    return _has_films(v) or bool(v.measurements) or bool(v.motion) or bool(v.hardware_findings)


def build_timeline(
    patient_key: str,
    surgery: Surgery | None,
    visits: Sequence[VisitInput],
    *,
    settings: FollowupSettings = DEFAULT_SETTINGS,
) -> Timeline:
    """Compare every visit with the baseline and the previous visit, apply the follow-up rules, judge fusion status.

    Parameters
    ----------
    patient_key : str
        Pseudonymous key (never an identifier).
    surgery : Surgery | None
        The index operation (decides "cage subsidence" vs "fused disc height loss").
    visits : sequence of VisitInput
        In any order; sorted by date here.
    settings : FollowupSettings
        Thresholds (defaults documented in :mod:`fusionwatch.followup.settings` and docs/followup.md).

    Returns
    -------
    Timeline
        Visits in date order, one label per clinical visit (:func:`fusionwatch.followup.schedule.distinct_labels`:
        a contact without films inside a window held by a visit with films is "contact day N"). A visit after surgery
        without films or any measured evidence has no automatic status (:data:`NO_FILMS`). Findings are only made
        for visits after the baseline; hardware findings passed in are kept (a second finding of a kind the rules
        already made at that visit is dropped); PI drift and "needs landmarks" go to ``review``, not ``findings``.
    """
    ordered = sorted(visits, key=lambda v: v.date)
    labels = distinct_labels([LabelledVisit(v.label, v.days_since_surgery, _has_films(v)) for v in ordered])
    ordered = [v if v.label == lab else replace(v, label=lab) for v, lab in zip(ordered, labels, strict=True)]
    b_index, note = choose_baseline(ordered)
    base = ordered[b_index] if b_index is not None else None
    out = []
    for i, v in enumerate(ordered):
        findings: list[Finding] = []
        if base is not None and v.date > base.date and (v.days_since_surgery or 0) >= 0:
            for f in (subsidence_finding(v, base, surgery, settings), lordosis_loss_finding(v, base, settings)):
                if f is not None:
                    findings.append(f)
            findings += adjacent_segment_findings(v, base, settings)
        if v.days_since_surgery is not None and v.days_since_surgery >= 0:
            if (kyphosis := flexion_kyphosis_finding(v, settings)) is not None:
                findings.append(kyphosis)
        findings += instability_findings(v.motion, settings)
        made = {f.kind for f in findings}
        findings += [f for f in v.hardware_findings if f.kind not in made]
        review: list[Finding] = [
            r
            if isinstance(r, Finding)
            else Finding(
                kind="needs_review",
                severity=Severity.INFO,
                summary=r,
                films=(v.lateral_film,) if v.lateral_film else (),
            )
            for r in v.review
        ]
        if (drift := pi_drift_flag(v, ordered[:i], settings)) is not None:
            review.append(drift)
        if _has_evidence(v) or v.days_since_surgery is None or v.days_since_surgery < 0:
            # a finding a reader rejected (newest verdict) is shown with the verdict but does not decide the status;
            # one by one (refs over the findings and review flags, as `fusionwatch override` names them): a kind is
            # "not counted" only when every finding of it is rejected
            verdicts = finding_verdicts(v.overrides)
            refs = finding_refs([*findings, *review])[: len(findings)]
            rejected = rejected_kinds_of(findings, verdicts, refs)
            status = fusion_status(
                v.days_since_surgery,
                motion=v.motion,
                findings=list(standing_findings(findings, verdicts, refs)),
                bone=v.bone,
                settings=settings,
            )
            if rejected:
                kinds = ", ".join(sorted(k.replace("_", " ") for k in rejected))
                status = replace(status, reasons=(*status.reasons, f"Not counted, rejected by a reader: {kinds}."))
        else:
            status = StatusResult(None, (NO_FILMS,))
        out.append(
            VisitSummary(
                label=v.label,
                date=v.date,
                days_since_surgery=v.days_since_surgery,
                is_baseline=i == b_index,
                films=v.films,
                lateral_film=v.lateral_film,
                measurements=measurement_deltas(ordered, i, b_index),
                motion=tuple(v.motion),
                findings=tuple(findings),
                review=tuple(review),
                status=status,
                overrides=tuple(sorted(v.overrides, key=lambda o: o.at)),
            )
        )
    return Timeline(
        patient_key=patient_key,
        surgery=surgery,
        baseline_label=base.label if base else None,
        baseline_note=note,
        visits=tuple(out),
        settings=settings,
    )
