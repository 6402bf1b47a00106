"""The care record as the core sees it: patient, surgery, visit, finding, reader override.

Plain frozen dataclasses, no database: :mod:`fusionwatch.store` maps them to tables, :mod:`fusionwatch.followup` and
:mod:`fusionwatch.care` compute on them, reports render them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fusionwatch.anatomy import Level
from fusionwatch.errors import InputError

__all__ = [
    "Approach",
    "Surgery",
    "Patient",
    "Severity",
    "Finding",
    "FusionStatus",
    "Override",
    "check_patient_date",
    "check_surgery_date",
    "days_between",
    "implants_for",
    "levels_text",
    "parse_approach",
    "parse_date",
    "parse_levels",
    "surgery_differences",
    "SURGERY_FIELD_OPTIONS",
]


class Approach(str, Enum):
    TLIF = "TLIF"
    PLIF = "PLIF"
    ALIF = "ALIF"
    POSTEROLATERAL = "posterolateral"


def implants_for(approach: Approach) -> tuple[str, ...]:
    """The implants an L5-S1 fusion by ``approach`` usually leaves, when the operation note does not list them.

    Parameters
    ----------
    approach : Approach
        The index operation's approach.

    Returns
    -------
    tuple[str, ...]
        ``("pedicle_screws", "rods")`` after a posterolateral (intertransverse) fusion, which places no interbody
        device; ``("pedicle_screws", "rods", "interbody_cage")`` after TLIF, PLIF and ALIF, which fuse through the disc
        space with a cage (CLINICAL.md "Fusion and hardware": cage subsidence and migration are judged only when a
        cage is there). A stand-alone ALIF without screws, or any other construct, is not guessed: record the implants
        the operation note lists (:attr:`Surgery.implants`).
    """
    if not isinstance(approach, Approach):
        raise TypeError(f"approach must be an Approach, got {approach!r}.")
    if approach is Approach.POSTEROLATERAL:
        return ("pedicle_screws", "rods")
    return ("pedicle_screws", "rods", "interbody_cage")


def parse_approach(text: str, what: str = "--approach") -> Approach:
    """The :class:`Approach` named by ``text`` (``TLIF``, ``PLIF``, ``ALIF``, ``posterolateral``; any case).

    Raises
    ------
    InputError
        Naming ``what``, the text and the approaches there are.
    """
    for a in Approach:
        if str(text).strip().lower() == a.value.lower():
            return a
    raise InputError(f"{what} must be one of {[a.value for a in Approach]}, got {text!r}.")


def parse_levels(text: str, what: str = "--levels") -> tuple[tuple[Level, Level], ...]:
    """Fused segments written ``L5-S1`` or ``L4-L5,L5-S1`` (the form :func:`levels_text` writes); a range such as
    ``L4-S1`` (the operation note's shorthand) stands for its segments ``L4-L5,L5-S1``.

    Raises
    ------
    InputError
        Naming ``what`` and the text when it is not a list of segments, or a range runs upwards (``S1-L4``).
    """
    try:
        pairs = [(Level(a.strip()), Level(b.strip())) for a, b in (s.split("-") for s in str(text).split(","))]
    except ValueError:
        raise InputError(f"{what} must look like L5-S1, L4-L5,L5-S1 or L4-S1, got {text!r}.") from None
    segs: list[tuple[Level, Level]] = []
    for upper, lower in pairs:
        if lower.index <= upper.index:
            raise InputError(f"{what}: {upper.value}-{lower.value} is not a fused segment, upper level first "
                             f"(got {text!r}).")
        levels = list(Level)[upper.index:lower.index + 1]
        segs += [seg for seg in zip(levels, levels[1:], strict=False) if seg not in segs]
    return tuple(sorted(segs, key=lambda seg: seg[0].index))


def levels_text(levels: tuple[tuple[Level, Level], ...]) -> str:
    """``L4-L5,L5-S1``: fused segments as the CLI takes and the audit (``patient corrections``) keeps them."""
    return ",".join(f"{a.value}-{b.value}" for a, b in levels)


@dataclass(frozen=True, slots=True)
class Surgery:
    """The index operation. ``levels`` are the fused segments as (upper, lower), e.g. ``((Level.L5, Level.S1),)``."""

    date: dt.date
    levels: tuple[tuple[Level, Level], ...] = ((Level.L5, Level.S1),)
    approach: Approach = Approach.TLIF
    implants: tuple[str, ...] = ("pedicle_screws", "rods", "interbody_cage")
    notes: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.date, dt.date):
            raise TypeError(f"Surgery date must be a date, got {self.date!r}.")
        for upper, lower in self.levels:
            if lower.index != upper.index + 1:
                raise InputError(f"Fused segment {upper.value}-{lower.value} is not two adjacent levels.")


SURGERY_FIELD_OPTIONS = {"surgery date": "--surgery-date", "approach": "--approach", "levels": "--levels"}
"""The ``fusionwatch patient correct`` option that corrects each field :func:`surgery_differences` names (the implants
follow the approach: none of their own)."""


def surgery_differences(on_record: Surgery, given: Surgery) -> list[tuple[str, str, str]]:
    """Where ``given`` differs from the surgery ``on_record``, as ``(field, old, new)`` texts in this order:
    ``"surgery date"`` (ISO), ``"approach"``, ``"levels"`` (:func:`levels_text`), ``"implants"`` (comma-joined); empty
    for the same record. A recorded surgery changes only with its audit (``patient correct``): the store refuses any
    difference when writing (:meth:`fusionwatch.store.Store.set_surgery`), and a journey manifest with one is refused
    before anything is stored (:func:`fusionwatch.ingest.ingest_journey`)."""
    return [(name, old, new) for name, old, new in (
        ("surgery date", on_record.date.isoformat(), given.date.isoformat()),
        ("approach", on_record.approach.value, given.approach.value),
        ("levels", levels_text(on_record.levels), levels_text(given.levels)),
        ("implants", ",".join(on_record.implants), ",".join(given.implants))) if old != new]


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient. ``key`` is the project's own pseudonymous key; ``patient_id``/``name`` are identifiers, never
    logged."""

    key: str
    patient_id: str | None = None
    name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None


def parse_date(text: object, what: str) -> dt.date:
    """An ISO date ``YYYY-MM-DD``.

    Raises
    ------
    InputError
        Naming ``what`` (e.g. ``"--date"``, ``"surgery.date"``) and the offending text, when it is not a real date
        (``2026-02-30`` is refused).
    """
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise InputError(f"{what}: expected a date YYYY-MM-DD, got {text!r}.") from None


def days_between(surgery: dt.date, when: dt.date, *, today: dt.date | None = None) -> int:
    """Days from surgery to ``when`` (negative before surgery).

    Raises
    ------
    InputError
        If ``when`` is in the future (after ``today``) or more than 30 years from the surgery: an impossible date.
    """
    today = today or dt.date.today()
    if when > today:
        raise InputError(f"Date {when.isoformat()} is in the future (today is {today.isoformat()}).")
    days = (when - surgery).days
    if abs(days) > 30 * 366:
        raise InputError(
            f"Date {when.isoformat()} is {days} days from the surgery on {surgery.isoformat()}: impossible."
        )
    return days


def check_patient_date(
    when: dt.date, *, key: str, birth_date: dt.date | None, surgery_date: dt.date | None,
    today: dt.date | None = None, what: str = "date", check: str = "check the date",
) -> None:
    """Refuse a date that cannot belong to patient ``key``'s record: after ``today``, before their birth, or more
    than 30 years from their surgery (:func:`days_between`).

    Parameters
    ----------
    when : date
        The date of a film, questionnaire or symptom report.
    birth_date, surgery_date : date or None
        The patient's, when on record (an unknown one is not checked).
    what : str
        What the date is, for the message (e.g. ``"--date"``).
    check : str
        The advice the message gives (e.g. ``"check the date (or give it with --date)"`` for a film).

    Raises
    ------
    InputError
        Naming ``what``, the date and the bound it breaks.
    """
    today = today or dt.date.today()
    if when > today:
        raise InputError(f"{what}: {when.isoformat()} is in the future (today is {today.isoformat()}).")
    if birth_date is not None and when < birth_date:
        raise InputError(f"{what}: {when.isoformat()} is before patient {key!r} was born: {check}, or whether "
                         "this is another patient's record.")
    if surgery_date is not None:
        try:
            days_between(surgery_date, when, today=today)
        except InputError as exc:
            raise InputError(f"{what}: impossible for patient {key!r}: {exc} {check[0].upper()}{check[1:]}.") from None


def check_surgery_date(when: dt.date, *, what: str = "--surgery-date", today: dt.date | None = None) -> None:
    """Refuse an index operation date outside the range a record can hold: from 30 years before ``today`` (follow-up
    spans at most 30 years, :func:`days_between`) to one year after it (a planned operation is entered ahead: pre-op
    films and questionnaires come first; years ahead is a typing mistake).

    The patient's own bounds (not before the birth date, every visit within 30 years) are checked by the caller with
    the record at hand (:func:`check_patient_date`).

    Raises
    ------
    InputError
        Naming ``what``, the date and the range expected.
    """
    today = today or dt.date.today()
    if not today - dt.timedelta(days=30 * 366) <= when <= today + dt.timedelta(days=366):
        raise InputError(f"{what} {when.isoformat()!r} is impossible: expected a date from 30 years ago to one year "
                         f"ahead of today ({today.isoformat()}).")


class Severity(str, Enum):
    """How much a finding asks of the care team. Order: info < watch < action < urgent."""

    INFO = "info"
    WATCH = "watch"
    ACTION = "action"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class FusionStatus(str, Enum):
    """Fusion status at one visit (CLINICAL.md "Fusion and hardware"). Never stronger than the evidence."""

    ON_TRACK = "on_track"
    DELAYED_UNION_SUSPECTED = "delayed_union_suspected"
    PSEUDARTHROSIS_SUSPECTED = "pseudarthrosis_suspected"
    FUSED_CRITERIA_MET = "fused_criteria_met"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


@dataclass(frozen=True, slots=True)
class Finding:
    """One automatic judgement with its evidence.

    Attributes
    ----------
    kind : str
        Stable id, e.g. ``"cage_subsidence"``, ``"screw_loosening_suspected"``, ``"fusion_status"``, ``"red_flag"``.
    severity : Severity
    summary : str
        One sentence for a clinician, with the value and threshold: "Disc height L5-S1 fell 2.6 mm since the 6-week film
        (threshold 2 mm)."
    evidence : dict
        Values behind it (JSON-ready): measured values, units, baseline and current film ids, uncertainty.
    threshold : str | None
        The rule and its source: "> 2 mm loss vs early post-op film (cage subsidence; common study definition)".
    films : tuple[str, ...]
        Ids of the films (SOP Instance UID or file name) the finding is based on.
    """

    kind: str
    severity: Severity
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    threshold: str | None = None
    films: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    """A reader's correction of an automatic result, kept beside it, never replacing the record of what the tool
    said."""

    target: str
    """What is overridden: ``"fusion_status"``, ``"finding:cage_subsidence"``, ``"landmarks:<film id>"``,
    ``"grade:bridwell"``."""
    value: str
    author: str
    at: dt.datetime
    reason: str = ""
    entry_id: int | None = None
    """The stored entry's id (what ``fusionwatch override retract --id`` takes); ``None`` before it is stored."""
