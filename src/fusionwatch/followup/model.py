"""Inputs and outputs of the follow-up engine: frozen dataclasses, no database, no files.

Inputs: one :class:`VisitInput` per visit (measurements of its lateral film, flexion-extension motion, hardware
findings,
bone evidence, reader overrides). Output: a :class:`Timeline` of :class:`VisitSummary` rows, JSON-ready via ``to_dict``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.records import Finding, FusionStatus, Override, Surgery
from fusionwatch.units import SpacingSource, Unit

if TYPE_CHECKING:
    from fusionwatch.followup.refs import NotApplied

__all__ = [
    "MotionLike",
    "SegmentMotion",
    "BoneEvidence",
    "VisitInput",
    "MeasurementDelta",
    "StatusResult",
    "VisitSummary",
    "Timeline",
]


@runtime_checkable
class MotionLike(Protocol):
    """What the engine reads from a flexion-extension result (``fusionwatch.motion.MotionResult`` fits).

    ``angle_deg`` is the change of the segment angle between flexion and extension (deg, absolute value is used);
    ``translation_mm`` is ``None`` on uncalibrated films, then ``translation_percent`` (of the lower endplate depth) is
    used; ``level`` names the segment, e.g. ``"L5-S1"`` (a ``(Level, Level)`` pair is accepted too).
    """

    angle_deg: float
    angle_sd_deg: float | None
    translation_mm: float | None
    translation_percent: float | None
    translation_sd: float | None
    level: Any


@dataclass(frozen=True, slots=True)
class SegmentMotion:
    """Flexion-extension motion of one segment, as stored (same fields as ``fusionwatch.motion.MotionResult``)."""

    level: str
    angle_deg: float
    angle_sd_deg: float | None = None
    translation_mm: float | None = None
    translation_percent: float | None = None
    translation_sd: float | None = None
    method: str = ""
    films: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BoneEvidence:
    """Bone at the fused disc space, when something (a reader, the implant or bone analysis) has judged it.

    ``lucency`` is a radiolucent line at the cage-endplate interface (True / False / None = not assessed);
    ``bridging_fraction`` is the fraction of the disc space bridged by trabecular bone in [0, 1] or None;
    ``bridwell_grade`` a reader's interbody grade ``"I"``-``"IV"`` (CLINICAL.md "Fusion and hardware"; I fused with
    remodelling and trabeculae, II graft intact without lucency, III lucency at the top or bottom, IV no fusion with
    collapse or resorption) or None.
    """

    lucency: bool | None = None
    bridging_fraction: float | None = None
    source: str = ""
    bridwell_grade: str | None = None
    lucency_source: str = ""
    """Where the lucency call comes from, as the status reason says it (``"reader's entry"``, ``"implant checks"``):
    its own, not the newest bone entry's (``source``), and never a person's name (reasons reach reports)."""


@dataclass(frozen=True)
class VisitInput:
    """One visit as the engine sees it.

    Attributes
    ----------
    label : str
        ``"6-weeks"``, ``"pre-op"``, ``"unscheduled day 120"``...
    date : datetime.date
    days_since_surgery : int | None
    measurements : Mapping[MeasureName, Measurement]
        Measurements of the visit's lateral (standing, neutral) film; empty when none was measured.
    films : tuple[str, ...]
        Ids (SOP Instance UID or file hash id) of the visit's films.
    lateral_film : str | None
        Id of the film the measurements come from.
    motion : tuple[MotionLike, ...]
        Flexion-extension results of this visit, one per segment.
    hardware_findings : tuple[Finding, ...]
        Findings of the implant checks at this visit (``fusionwatch.implants``).
    bone : BoneEvidence
    review : tuple[str | Finding, ...]
        Reasons a reader must look at this visit's films (no landmarks, detector-plane spacing...), made upstream: a
        sentence (becomes a ``needs_review`` flag) or a ready :class:`~fusionwatch.records.Finding`.
    overrides : tuple[Override, ...]
        Reader overrides and grades for this visit, oldest first.
    flexion_measurements : Mapping[MeasureName, Measurement]
        Measurements of the visit's flexion film (same names as the lateral film's), when one was measured; the
        adjacent segment watch reads its L4-L5 segmental angle.
    flexion_film : str | None
        Id of the film ``flexion_measurements`` come from.
    """

    label: str
    date: dt.date
    days_since_surgery: int | None
    measurements: Mapping[MeasureName, Measurement] = field(default_factory=dict)
    films: tuple[str, ...] = ()
    lateral_film: str | None = None
    motion: tuple[Any, ...] = ()
    hardware_findings: tuple[Finding, ...] = ()
    bone: BoneEvidence = field(default_factory=BoneEvidence)
    review: tuple[str | Finding, ...] = ()
    overrides: tuple[Override, ...] = ()
    flexion_measurements: Mapping[MeasureName, Measurement] = field(default_factory=dict)
    flexion_film: str | None = None


@dataclass(frozen=True, slots=True)
class MeasurementDelta:
    """One measurement at one visit with its change vs the baseline and the previous visit.

    The one row type of the timeline and of the reports (``fusionwatch.report`` shows these rows as they are).
    Deltas are ``value - reference`` in the measurement's unit; ``None`` when either side is missing or the units
    differ (a calibrated and an uncalibrated film are never subtracted). ``spacing_source`` is where the pixel spacing
    behind a millimetre ``value`` came from (``None`` for angles, ratios, % and px).
    """

    name: MeasureName
    value: float | None
    unit: Unit
    baseline: float | None = None
    delta_vs_baseline: float | None = None
    previous: float | None = None
    delta_vs_previous: float | None = None
    reason: str | None = None
    spacing_source: SpacingSource | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "value": self.value,
            "unit": self.unit.value,
            "baseline": self.baseline,
            "delta_vs_baseline": self.delta_vs_baseline,
            "previous": self.previous,
            "delta_vs_previous": self.delta_vs_previous,
            "reason": self.reason,
            "spacing_source": self.spacing_source.value if self.spacing_source else None,
        }


@dataclass(frozen=True, slots=True)
class StatusResult:
    """The automatic fusion status of a visit, why, and what would decide it when the films cannot."""

    status: FusionStatus | None
    """``None`` before surgery or without a surgery date."""
    reasons: tuple[str, ...] = ()
    decide_with: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value if self.status else None,
            "reasons": list(self.reasons),
            "decide_with": self.decide_with,
            "evidence": self.evidence,
        }


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "severity": f.severity.value,
        "summary": f.summary,
        "evidence": f.evidence,
        "threshold": f.threshold,
        "films": list(f.films),
    }


def _override_dict(o: Override) -> dict[str, Any]:
    return {"target": o.target, "value": o.value, "author": o.author, "at": o.at.isoformat(), "reason": o.reason,
            "id": o.entry_id}


@dataclass(frozen=True)
class VisitSummary:
    """A visit in the timeline: measurements with deltas, findings, automatic status and the reader's word beside it.

    ``reader_status`` / ``bridwell_grade`` are the newest reader overrides of ``fusion_status`` / ``grade:bridwell``
    (all overrides stay in ``overrides``); the automatic ``status`` is never replaced.
    """

    label: str
    date: dt.date
    days_since_surgery: int | None
    is_baseline: bool
    films: tuple[str, ...]
    lateral_film: str | None
    measurements: tuple[MeasurementDelta, ...]
    motion: tuple[Any, ...]
    findings: tuple[Finding, ...]
    review: tuple[Finding, ...]
    status: StatusResult
    overrides: tuple[Override, ...] = ()

    def _newest(self, target: str) -> Override | None:
        hits = [o for o in self.overrides if o.target == target]
        return max(hits, key=lambda o: o.at) if hits else None

    @property
    def reader_status(self) -> Override | None:
        return self._newest("fusion_status")

    @property
    def bridwell_grade(self) -> Override | None:
        return self._newest("grade:bridwell")

    def measurement(self, name: MeasureName) -> MeasurementDelta | None:
        return next((m for m in self.measurements if m.name is name), None)

    def finding_kinds(self) -> tuple[str, ...]:
        return tuple(f.kind for f in self.findings)

    def finding_refs_and_verdicts(self) -> list[tuple[Finding, str, Override | None]]:
        """Each finding, then each review flag, with its ref (what ``fusionwatch override --finding REF=...`` takes;
        :func:`fusionwatch.followup.refs.finding_refs`) and the reader verdict that applies to it (``None``: not yet
        reviewed, or the verdict judged an earlier comparison: :func:`fusionwatch.followup.refs.judged`)."""
        from fusionwatch.followup.evidence import finding_verdicts  # imports this module: here, not at the top
        from fusionwatch.followup.refs import finding_refs, finding_verdicts_per_finding

        every = (*self.findings, *self.review)
        per = finding_verdicts_per_finding(every, finding_verdicts(self.overrides))
        return list(zip(every, finding_refs(every), per, strict=True))

    def findings_with_refs(self) -> list[tuple[Finding, str, Override | None]]:
        """:meth:`finding_refs_and_verdicts` of the findings only (not the review flags), in order: each finding with
        its ref and the reader verdict that applies to it."""
        return self.finding_refs_and_verdicts()[: len(self.findings)]

    def review_with_refs(self) -> list[tuple[Finding, str, Override | None]]:
        """:meth:`finding_refs_and_verdicts` of the review flags only, in order."""
        return self.finding_refs_and_verdicts()[len(self.findings) :]

    def verdicts_without_finding(self) -> tuple[Override, ...]:
        """The reader's verdicts on findings (``finding:REF``) that apply to none of the visit's findings or review
        flags any more, oldest first; :meth:`why_not_applied` says which of the two reasons holds. They are kept
        (overrides are the audit) and shown as such:

        * the tool no longer makes a finding of that name (the visit is no longer compared with the baseline film;
          landmarks or the surgery date were corrected): every such verdict;
        * a finding of that name is made again, measured against another baseline film after the verdict
          (:func:`fusionwatch.followup.refs.judged`): the newest verdict on that name, which is not applied to it.

        A verdict applies to a finding when its target names the finding's ref, its long form ``kind:discriminator``
        or its kind (:func:`fusionwatch.followup.refs.verdict_for`) and it was given on the comparison the finding
        comes from (:func:`fusionwatch.followup.refs.why_not_applied`)."""
        from fusionwatch.followup.evidence import finding_verdicts  # imports this module: here, not at the top
        from fusionwatch.followup.refs import NotApplied, finding_aliases, finding_refs, why_not_applied

        every = (*self.findings, *self.review)
        refs, aliases = finding_refs(every), finding_aliases(every)
        newest = {id(o) for o in finding_verdicts(self.overrides).values()}
        return tuple(o for o in self.overrides if o.target.startswith("finding:")
                     and ((why := why_not_applied(o, every, refs, aliases)) is NotApplied.NO_LONGER_MADE
                          or (why is NotApplied.REMEASURED and id(o) in newest)))

    def why_not_applied(self, verdict: Override) -> NotApplied | None:
        """For a verdict of :meth:`verdicts_without_finding`: :attr:`~fusionwatch.followup.refs.NotApplied.
        NO_LONGER_MADE` or :attr:`~fusionwatch.followup.refs.NotApplied.REMEASURED`
        (:func:`fusionwatch.followup.refs.why_not_applied` over the visit's findings and review flags); ``None`` for
        a verdict that names a finding it was given on."""
        from fusionwatch.followup.refs import why_not_applied

        return why_not_applied(verdict, (*self.findings, *self.review))

    def to_dict(self) -> dict[str, Any]:
        rs, bg = self.reader_status, self.bridwell_grade

        def with_ref(f: Finding, r: str, o: Override | None) -> dict[str, Any]:
            return _finding_dict(f) | {"ref": r, "reader_verdict": _override_dict(o) if o else None}

        return {
            "label": self.label,
            "date": self.date.isoformat(),
            "days_since_surgery": self.days_since_surgery,
            "is_baseline": self.is_baseline,
            "films": list(self.films),
            "lateral_film": self.lateral_film,
            "measurements": [m.to_dict() for m in self.measurements],
            "motion": [
                {
                    k: getattr(m, k, None)
                    for k in ("angle_deg", "angle_sd_deg", "translation_mm", "translation_percent", "translation_sd")
                }
                | {"level": _level_str(m.level)}
                for m in self.motion
            ],
            # each finding with its ref (what `override --finding REF=...` takes) and the verdict that applies to it
            "findings": [with_ref(*row) for row in self.findings_with_refs()],
            "review": [with_ref(*row) for row in self.review_with_refs()],
            "status": self.status.to_dict(),
            "reader_status": _override_dict(rs) if rs else None,
            "bridwell_grade": _override_dict(bg) if bg else None,
            "overrides": [_override_dict(o) for o in self.overrides],
            # verdicts (kept among the overrides) that apply to none of the visit's findings, and why: the tool no
            # longer makes the finding ("no_longer_made"), or makes it again measured against another baseline film
            # after the verdict ("remeasured": not applied to it)
            "verdicts_without_finding": [_override_dict(o) | {"why_not_applied": str(self.why_not_applied(o))}
                                         for o in self.verdicts_without_finding()],
        }


def _level_str(level: Any) -> str:
    if isinstance(level, (tuple, list)) and len(level) == 2:
        return "-".join(getattr(v, "value", str(v)) for v in level)
    return str(getattr(level, "value", level))


@dataclass(frozen=True, slots=True)
class EnteredInError:
    """An entry marked "entered in error": audit-only. It counts for nothing (no status, trend, red flag or care
    advice); the clinician sees what it said, who entered it, who retracted it, when and why."""

    kind: str
    """``prom``, ``symptoms`` or ``override``."""
    entry_id: int
    what: str
    """What the entry said, in words (``fusion_status = fused``, ``ODI 30.0 %``, ``fever``)."""
    visit_date: dt.date | None
    entered_by: str | None
    """The author of an override; ``None`` for a PROM or symptom report (the store keeps no author for them)."""
    entered_at: dt.datetime
    retracted_by: str
    retracted_at: dt.datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.entry_id,
            "what": self.what,
            "visit_date": self.visit_date.isoformat() if self.visit_date else None,
            "entered_by": self.entered_by,
            "entered_at": self.entered_at.isoformat(),
            "retracted_by": self.retracted_by,
            "retracted_at": self.retracted_at.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Timeline:
    """A patient's follow-up: visits in date order with their comparisons to the baseline film.

    ``patient_key`` is the pseudonymous key only: a timeline never carries identifiers.
    """

    patient_key: str
    surgery: Surgery | None
    baseline_label: str | None
    baseline_note: str
    visits: tuple[VisitSummary, ...]
    settings: Any = None
    entered_in_error: tuple[EnteredInError, ...] = ()
    """Entries marked entered in error, oldest retraction first: for the audit only (nothing above counts them)."""

    def visit(self, label: str) -> VisitSummary | None:
        return next((v for v in self.visits if v.label == label), None)

    def to_dict(self) -> dict[str, Any]:
        s = self.surgery
        return {
            "schema": "fusionwatch.timeline/1",
            "patient_key": self.patient_key,
            "surgery": None
            if s is None
            else {
                "date": s.date.isoformat(),
                "levels": [[a.value, b.value] for a, b in s.levels],
                "approach": s.approach.value,
                "implants": list(s.implants),
            },
            "baseline": {"label": self.baseline_label, "note": self.baseline_note},
            "visits": [v.to_dict() for v in self.visits],
            "entered_in_error": [e.to_dict() for e in self.entered_in_error],
        }
