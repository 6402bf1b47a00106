"""The advice that applies to one patient on one day, tied to the fusion status and findings of the latest films.

A care protocol's phase lines are general. Some of them ("Most people return to normal activity") are only true while
healing is on track; a protocol marks those ``only_if: fusion_on_track``. :func:`care_advice` keeps them only when

- the fusion status (a reader's status replaces the automatic one; the caller passes the one to use) is ``on_track``
  or ``fused_criteria_met``, and
- no finding listed in the protocol's ``fusion_concern.findings`` (hardware: loosening, rod fracture, subsidence, ...)
  of at least ``fusion_concern.min_severity`` is present.

Lines marked ``only_if: fusion_confirmed`` (those that clear activity) need more: the same, and a status a reader
(someone of the care team) entered; the caller says so with ``status_confirmed``. An automatic status, even "fusion
criteria met", never clears activity on its own: the line waits and the ``fusion_concern`` lines say that the surgeon
will tell the patient what is safe (:attr:`CareAdvice.in_doubt` stays false: nothing is wrong, it is not confirmed).

Otherwise they are withheld (kept in :attr:`CareAdvice.withheld`, for the clinician report) and the protocol's
``fusion_concern`` lines are put first ("Your surgeon will tell you which activities are safe for you now") when a line
is held back or the evidence raises a doubt; a status that is merely "not assessed" (no films yet) on a day with no
gated line (the first weeks) leaves the phase lines as they are. Patient text is never more reassuring than the
evidence and defers to the care team.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from fusionwatch.care.protocol import (
    NOT_ASSESSED,
    MedicationNote,
    Protocol,
    Restriction,
    RestrictionPhase,
    TherapyPhase,
)
from fusionwatch.records import Finding, FusionStatus

__all__ = ["CareAdvice", "ConcernReason", "care_advice", "ON_TRACK_STATUSES"]

ON_TRACK_STATUSES = (FusionStatus.ON_TRACK, FusionStatus.FUSED_CRITERIA_MET)


@dataclass(frozen=True, slots=True)
class ConcernReason:
    """One reason the on-track lines are held back, as raw values: ``what`` is ``"status"`` (``value`` a
    :class:`FusionStatus` value, or ``"not_assessed"``: :data:`fusionwatch.care.protocol.NOT_ASSESSED`),
    ``"finding"`` (``value`` the finding's kind) or ``"unconfirmed"`` (``value`` the on-track status no reader has
    confirmed: only the ``fusion_confirmed`` lines wait). Reports word it
    (:func:`fusionwatch.report.labels.concern_reason_texts`; :attr:`unconfirmed_text` for the unconfirmed one)."""

    what: Literal["status", "finding", "unconfirmed"]
    value: str

    @property
    def unconfirmed_text(self) -> str | None:
        """``"status fusion criteria met (automatic) not confirmed by a reader"`` for an ``"unconfirmed"`` reason,
        else ``None``."""
        if self.what != "unconfirmed":
            return None
        words = {"on_track": "on track", "fused_criteria_met": "fusion criteria met"}.get(self.value, self.value)
        return f"status {words.replace('_', ' ')} (automatic) not confirmed by a reader"


@dataclass(frozen=True, slots=True)
class CareAdvice:
    """What applies on ``day`` after surgery for this patient.

    Attributes
    ----------
    restrictions : tuple[Restriction, ...]
        The lines to show, the ``fusion_concern`` lines first when fusion is not on track.
    withheld : tuple[Restriction, ...]
        Phase lines marked ``only_if: fusion_on_track`` that are not shown now (clinician report only).
    therapy_goals, example_exercises : tuple[str, ...]
        From the therapy phase, or the ``fusion_concern.therapy_goals`` when the phase is withheld.
    fusion_on_track : bool
        Status on track / fused criteria met and no concerning finding.
    fusion_confirmed : bool
        On track, and the status is a reader's (``status_confirmed``): the ``only_if: fusion_confirmed`` lines apply.
    concern_reasons : tuple[ConcernReason, ...]
        Why the on-track lines are withheld, as raw values: the status when it is not on track
        (``ConcernReason("status", "pseudarthrosis_suspected")``; ``"not_assessed"`` without one), then each finding
        that holds them back (``ConcernReason("finding", "rod_fracture_suspected")``); on track, ``("unconfirmed",
        status)`` when a ``fusion_confirmed`` line waits for a reader's status; else empty. The one
        list: reports and the ``care`` command word it (:func:`fusionwatch.report.labels.concern_reason_texts`).
    status : FusionStatus | None
        The fusion status the advice followed (``None`` = not assessed).
    concern_findings : tuple[str, ...]
        Kinds of the findings that hold the on-track lines back (from :attr:`concern_reasons`).
    """

    day: int
    restriction_phase: RestrictionPhase | None
    restrictions: tuple[Restriction, ...]
    withheld: tuple[Restriction, ...]
    therapy_phase: TherapyPhase | None
    therapy_goals: tuple[str, ...]
    example_exercises: tuple[str, ...]
    therapy_withheld: bool
    medication_notes: tuple[MedicationNote, ...]
    fusion_on_track: bool
    concern_reasons: tuple[ConcernReason, ...] = ()
    concern_shown: bool = False
    """True when the protocol's ``fusion_concern`` lines are among :attr:`restrictions`."""
    in_doubt: bool = False
    """The evidence itself raises a doubt: a status other than on track / fused criteria met, or a listed finding
    (not merely "not assessed"). Reports then say the surgeon may want to see the patient sooner."""
    status: FusionStatus | None = None
    fusion_confirmed: bool = False

    @property
    def concern_findings(self) -> tuple[str, ...]:
        return tuple(r.value for r in self.concern_reasons if r.what == "finding")


def _status(value: FusionStatus | str | None) -> FusionStatus | None:
    if value is None or isinstance(value, FusionStatus):
        return value
    return FusionStatus(value)


def care_advice(protocol: Protocol, day: int, *, fusion_status: FusionStatus | str | None,
                findings: Iterable[Finding] = (), status_confirmed: bool = False) -> CareAdvice:
    """The restrictions, therapy goals and medication notes for ``day`` after surgery, given the fusion evidence.

    Parameters
    ----------
    protocol : Protocol
    day : int
        Days since surgery (day 0 = surgery). Before surgery (negative) nothing applies.
    fusion_status : FusionStatus | str | None
        The status to act on: the reader's when entered, else the automatic one; ``None`` = not assessed.
    findings : iterable of Finding
        The findings of the same visit; those listed in ``protocol.fusion_concern.findings`` (by kind prefix) of at
        least its ``min_severity`` put the on-track lines on hold.
    status_confirmed : bool
        True when ``fusion_status`` is a reader's (``followup.evidence.status_to_act_on`` source ``"reader"``). Default
        False: an automatic status, or a caller that does not say, never clears the ``only_if: fusion_confirmed`` lines.

    Raises
    ------
    ValueError
        If ``fusion_status`` is a string that is not a :class:`FusionStatus` value.
    """
    status = _status(fusion_status)
    concern = protocol.fusion_concern
    reasons: list[ConcernReason] = []
    if status not in ON_TRACK_STATUSES:
        reasons.append(ConcernReason("status", status.value if status else NOT_ASSESSED))
    matched = concern.matching_findings((f.kind, f.severity) for f in findings) if concern is not None else ()
    reasons += [ConcernReason("finding", k) for k in matched]
    in_doubt = day >= 0 and ((status is not None and status not in ON_TRACK_STATUSES) or bool(matched))
    on_track = not reasons
    confirmed = on_track and bool(status_confirmed)

    def applies(only_if: str | None) -> bool:
        return only_if is None or (on_track and (only_if != "fusion_confirmed" or confirmed))

    phase = protocol.restriction_phase(day) if day >= 0 else None
    therapy = protocol.therapy_phase(day) if day >= 0 else None
    notes = protocol.medication_notes_on(day) if day >= 0 else ()
    lines = phase.restrictions if phase else ()
    shown = [r for r in lines if applies(r.only_if)]
    withheld = tuple(r for r in lines if not applies(r.only_if))
    therapy_withheld = therapy is not None and not applies(therapy.only_if)
    meds_withheld = any(not applies(n.only_if) for n in notes)
    unconfirmed = on_track and (bool(withheld) or therapy_withheld or meds_withheld)
    if unconfirmed:  # on track, but only a reader's status clears what waits: said why, as any held-back line
        reasons.append(ConcernReason("unconfirmed", status.value if status else NOT_ASSESSED))
    # merely not assessed (no films yet, e.g. weeks 0-6) with nothing held back today: the phase lines stand as they
    # are ("until the surgeon has reviewed the films, ask before heavy lifting" beside "no lifting over 4.5 kg" only
    # muddled them)
    show_concern = day >= 0 and concern is not None and (unconfirmed or (
        not on_track
        and (bool(matched) or (status.value if status else NOT_ASSESSED) in concern.statuses)
        and (in_doubt or bool(withheld) or therapy_withheld or meds_withheld)
    ))
    if show_concern:
        shown = [*concern.restrictions, *shown]
    if therapy is None:
        goals: tuple[str, ...] = ()
        examples: tuple[str, ...] = ()
    elif therapy_withheld:
        goals = concern.therapy_goals if (show_concern and concern) else ()
        examples = ()
    else:
        goals, examples = therapy.goals, therapy.example_exercises
    meds = tuple(n for n in notes if applies(n.only_if))
    return CareAdvice(
        day=day, restriction_phase=phase, restrictions=tuple(shown), withheld=withheld, therapy_phase=therapy,
        therapy_goals=tuple(goals), example_exercises=tuple(examples), therapy_withheld=therapy_withheld,
        medication_notes=meds, fusion_on_track=on_track, concern_reasons=tuple(reasons),
        concern_shown=show_concern, in_doubt=in_doubt, status=status, fusion_confirmed=confirmed,
    )
