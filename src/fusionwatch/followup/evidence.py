"""Which visit's fusion evidence stands for a patient now: the status to act on and the findings beside it.

One place for a question both the reports and ``fusionwatch care`` ask before they give care advice
(:func:`fusionwatch.care.advice.care_advice`): *which* visit counts (the latest visit with films, not a later symptom
report or questionnaire), *which* status (the reader's override when one is recorded and names a known status, else the
automatic one) and *which* findings (the visit's findings and review flags). Pure: it reads a
:class:`~fusionwatch.followup.model.Timeline` (``Store.load_timeline(key)``), no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from fusionwatch.errors import InputError
from fusionwatch.followup.model import Timeline, VisitSummary
from fusionwatch.followup.refs import standing_findings
from fusionwatch.records import Finding, FusionStatus, Override

__all__ = ["FusionEvidence", "effective_status", "status_to_act_on", "latest_film_visit", "fusion_evidence",
           "finding_verdicts", "needs_films", "check_reader_entry_visit", "check_finding_verdict_visit"]


def needs_films(target: str) -> bool:
    """True for an override that belongs to a visit with films: a reader's fusion status (``fusion_status``), grade
    (``grade:...``) or bone evidence (``bone:...``). Finding verdicts (:func:`check_finding_verdict_visit`) and notes
    are not checked here."""
    return target == "fusion_status" or target.startswith(("grade:", "bone:"))


def check_reader_entry_visit(
    target: str, visit: tuple[str, dt.date, bool] | None, film_visits_until: Sequence[str],
    surgery: dt.date | None = None,
) -> None:
    """Refuse a reader's fusion status, grade or bone evidence (:func:`needs_films`) at a visit without films, or at
    one dated before the operation (no fusion to judge on pre-operative films: a mistyped visit or surgery date).

    The status to act on is always that of the latest visit with films (:func:`fusion_evidence`), so one entered at a
    questionnaire or symptom contact would be stored and never used. Every adapter (CLI, web API) goes through this
    rule: :meth:`fusionwatch.store.Store.add_override` calls it.

    Parameters
    ----------
    target : str
        The override's target (``"fusion_status"``, ``"grade:bridwell"``, ``"bone:lucency"``, ``"finding:..."``).
    visit : (label, date, has_films) or None
        The visit the override is for, as the timeline labels it; ``None`` for a patient-level override.
    film_visits_until : sequence of str
        Labels of the visits with films dated on or before that visit, oldest first (named in the message).
    surgery : datetime.date, optional
        The date of the operation on record; ``None`` when none is recorded (the date check is then skipped).

    Raises
    ------
    InputError
        Naming the visit, the visits with films to enter it at, and where a CT read on a day without films goes.
    """
    if not needs_films(target):
        return
    what = "a reader's fusion status, Bridwell grade or bone evidence"
    if visit is None:
        raise InputError(f"{what[0].upper()}{what[1:]} belongs to a visit with films; name the visit whose films "
                         "were read.")
    label, day, has_films = visit
    if surgery is not None and day < surgery:
        raise InputError(f"Visit {label} ({day.isoformat()}) is before the surgery on record ({surgery.isoformat()}): "
                         f"{what} belongs to films taken after the operation; check the visit, or correct the surgery "
                         "date with `patient correct`.")
    if has_films:
        return
    hint = (f"enter it at the visit whose films were read, e.g. {film_visits_until[-1]} (visits with films: "
            f"{', '.join(film_visits_until)})" if film_visits_until else "there is no visit with films before it")
    raise InputError(f"Visit {label} ({day.isoformat()}) has no films: {what} belongs to a visit with films; "
                     f"{hint}. A CT read on a day without films: enter it at the latest visit with films before the "
                     "CT and name the CT and its date in the entry's reason.")


def check_finding_verdict_visit(target: str, visit: tuple[str, dt.date, bool] | None) -> None:
    """Refuse a reader's verdict on a finding (``finding:...``) where there is no finding to judge: no visit, or a
    visit that holds no finding (a questionnaire or symptom contact). ``visit`` is (label, date, holds findings).
    Which finding a ref names is the adapter's check against the visit's own findings (the CLI spells the ref)."""
    if not target.startswith("finding:"):
        return
    if visit is None:
        raise InputError("A verdict on a finding belongs to the visit that holds the finding; name the visit.")
    label, day, has_findings = visit
    if not has_findings:
        raise InputError(f"Visit {label} ({day.isoformat()}) holds no findings: a verdict on a finding belongs to the "
                         "visit whose films or checks produced it (the follow-up timeline lists each visit's "
                         "findings and their refs).")


def status_to_act_on(
    reader_status: Override | None, automatic: FusionStatus | None
) -> tuple[FusionStatus | None, str]:
    """The one rule "the reader's word over the automatic status", for any view of a visit.

    Used by :func:`effective_status` (timeline visits: ``fusionwatch care``) and by the reports' view-model
    (``fusionwatch.report.model.VisitView``), so the CLI and the reports cannot disagree.

    Returns
    -------
    (FusionStatus | None, str)
        ``reader_status``'s value with ``"reader"`` when it names a known status; else ``automatic`` with
        ``"automatic"`` (``None`` with ``"none"`` when there is no automatic status either).
    """
    if reader_status is not None:
        try:
            return FusionStatus(reader_status.value), "reader"
        except ValueError:
            pass
    return automatic, ("automatic" if automatic is not None else "none")


def effective_status(visit: VisitSummary) -> tuple[FusionStatus | None, str]:
    """The status to act on and where it comes from.

    Returns
    -------
    (FusionStatus | None, str)
        The newest reader override of ``fusion_status`` when its value is a known status, with ``"reader"``; else the
        automatic status with ``"automatic"`` (``None`` with ``"none"`` when the visit has no status: pre-operative, no
        surgery date, or no films).
    """
    return status_to_act_on(visit.reader_status, visit.status.status)


def latest_film_visit(timeline: Timeline, *, on: dt.date | None = None) -> int | None:
    """Index in ``timeline.visits`` of the latest visit with films dated on or before ``on`` (any date when
    ``None``), or ``None`` when there is none."""
    hits = [i for i, v in enumerate(timeline.visits) if v.films and (on is None or v.date <= on)]
    return hits[-1] if hits else None


@dataclass(frozen=True)
class FusionEvidence:
    """The visit whose fusion evidence stands, its status to act on and its findings.

    Attributes
    ----------
    visit : VisitSummary
    status : FusionStatus | None
        The reader's status when one is recorded (and known), else the automatic one; ``None`` = not assessed.
    source : str
        ``"reader"``, ``"automatic"`` or ``"none"``.
    findings : tuple[Finding, ...]
        The visit's findings followed by its review flags (what the reports pass to the care advice).
    """

    visit: VisitSummary
    status: FusionStatus | None
    source: str
    findings: tuple[Finding, ...]

    @property
    def reader_override(self) -> Override | None:
        return self.visit.reader_status if self.source == "reader" else None


def fusion_evidence(
    timeline: Timeline, *, visit: int | None = None, on: dt.date | None = None
) -> FusionEvidence | None:
    """The fusion evidence that stands at a visit (default: now).

    Parameters
    ----------
    timeline : Timeline
    visit : int, optional
        0-based index of the visit a report is about. Default: the latest visit with films on or before ``on``
        (:func:`latest_film_visit`), else the latest visit on or before ``on``.
    on : date, optional
        Today for the caller (``fusionwatch care --today``); visits after it are not looked at. Ignored when ``visit``
        is given.

    Returns
    -------
    FusionEvidence | None
        From ``visit`` back to the first visit that had a lateral film or a status (a symptom-only contact has
        neither); ``None`` when the timeline has no visit (on or before ``on``).
    """
    visits = timeline.visits
    if visit is None:
        visit = latest_film_visit(timeline, on=on)
        if visit is None:
            before = [i for i, v in enumerate(visits) if on is None or v.date <= on]
            if not before:
                return None
            visit = before[-1]
    if not 0 <= visit < len(visits):
        raise IndexError(f"visit index {visit} out of range 0..{len(visits) - 1}")
    chosen = visits[visit]
    for v in reversed(visits[: visit + 1]):
        if v.lateral_film is not None or effective_status(v)[0] is not None:
            chosen = v
            break
    status, source = effective_status(chosen)
    # one by one: a verdict on one finding (its ref) leaves the others of its kind standing
    findings = standing_findings((*chosen.findings, *chosen.review), finding_verdicts(chosen.overrides))
    return FusionEvidence(chosen, status, source, findings)


def finding_verdicts(overrides: Sequence[Override]) -> dict[str, Override]:
    """Finding ref or kind -> the newest reader verdict on it (``override --finding REF=confirmed|rejected``; a key
    without ``:`` is a kind and covers every finding of it); ``overrides`` oldest first, as a visit holds them.

    Which verdict applies to one finding: :func:`fusionwatch.followup.refs.verdict_for` (its ref's or its kind's,
    the newer)."""
    return {o.target.partition(":")[2]: o for o in overrides if o.target.startswith("finding:")}
