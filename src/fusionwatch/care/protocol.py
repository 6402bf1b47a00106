"""The care protocol: an editable YAML file of visits, imaging, restriction phases, therapy phases and medication notes.

The package ships :data:`DEFAULT_PROTOCOL_PATH`, an **example** built from CLINICAL.md "Recovery care" that a care team
replaces with its own file. :func:`load_protocol` validates a file and raises :class:`ProtocolError` naming the entry,
the field, the value found and what was expected.

Days are counted from the day of surgery (day 0); a phase covers ``from_day <= day < to_day`` (``to_day=None``: open).

Advice tied to the fusion status: a restriction, therapy phase or medication note marked ``only_if: fusion_on_track``
applies only while the follow-up status is on track (or the fusion criteria are met) and no concerning finding is
present; otherwise the ``fusion_concern`` section says what to tell the patient instead (see
:mod:`fusionwatch.care.advice`). Unknown field names are refused, naming the field, so that a typo such as ``only_iff``
cannot silently show a line to everyone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fusionwatch.errors import InputError
from fusionwatch.records import FusionStatus, Severity

__all__ = [
    "SCHEMA",
    "DEFAULT_PROTOCOL_PATH",
    "IMAGING_VIEWS",
    "ProtocolError",
    "VisitSpec",
    "ConditionalImaging",
    "Restriction",
    "RestrictionPhase",
    "TherapyPhase",
    "MedicationNote",
    "FusionConcern",
    "ONLY_IF_CONDITIONS",
    "NOT_ASSESSED",
    "IMMEDIATE_POST_OP_DAYS",
    "FOLLOWUP_LABELS",
    "followup_label",
    "Protocol",
    "load_protocol",
    "parse_protocol",
    "default_protocol",
]

SCHEMA = "fusionwatch.care.protocol/1"
DEFAULT_PROTOCOL_PATH = Path(str(resources.files("fusionwatch.care") / "default_protocol.yaml"))
IMAGING_VIEWS = ("lateral", "ap", "flexion", "extension")
_MAX_DAY = 30 * 366
ONLY_IF_CONDITIONS = ("fusion_on_track", "fusion_confirmed")
"""Values allowed in ``only_if``. ``fusion_on_track``: the follow-up status is ``on_track`` or ``fused_criteria_met``
(a reader's status replaces the automatic one) and no finding listed in ``fusion_concern.findings`` is present.
``fusion_confirmed``: the same, and the status is a reader's (someone of the care team confirmed it): for lines that
clear activity ("go back to your normal activities"), which an automatic status never does on its own (R's F18, session
14: an automatic "fusion criteria met on motion; bridging bone not assessed (confirm clinically)" told the patient
"Most people can go back to their normal activities now")."""
NOT_ASSESSED = "not_assessed"
"""Pseudo-status for ``fusion_concern.statuses``: no fusion status for the visit (e.g. no films were judged)."""
IMMEDIATE_POST_OP_DAYS = (0, 7)
"""Days 0-7 after surgery: the immediate post-operative films (followup's ``"immediate-post-op"``, the baseline where
no 6-week film exists). No planned care visit names them (:meth:`Protocol.visit_days` starts the day after)."""
FOLLOWUP_LABELS = {"wound-check": "2-weeks"}
"""Visit id -> the label followup, the store and the reports give a film or contact the visit names, where it is not
the id itself (the example's wound check has always been followup's ``"2-weeks"``). See :func:`followup_label`."""
_DAYS_PER_MONTH = 365.25 / 12
_ON_TRACK_STATUSES = (FusionStatus.ON_TRACK.value, FusionStatus.FUSED_CRITERIA_MET.value)
_CONCERN_STATUSES = tuple(s.value for s in FusionStatus if s.value not in _ON_TRACK_STATUSES)
_FINDING_KIND = re.compile(r"^[a-z][a-z0-9_]*$")

# Field names each kind of entry may carry; anything else is refused with its name (a typo must not pass silently).
_FIELDS = {
    "top level": {"schema", "name", "is_example", "source", "visits", "restriction_phases", "therapy_phases",
                  "medication_notes", "fusion_concern"},
    "visit": {"id", "label", "patient_label", "day", "window", "imaging", "conditional_imaging", "repeat"},
    "conditional_imaging": {"views", "when"},
    "repeat": {"every_days", "label", "patient_label"},
    "restriction_phase": {"id", "label", "from_day", "to_day", "restrictions"},
    "restriction": {"topic", "clinician", "patient", "only_if"},
    "therapy_phase": {"id", "label", "from_day", "to_day", "goals", "example_exercises", "only_if"},
    "medication_note": {"id", "from_day", "to_day", "clinician", "patient", "only_if"},
    "fusion_concern": {"statuses", "findings", "min_severity", "restrictions", "therapy_goals"},
}


class ProtocolError(InputError):
    """A care protocol file is unreadable or does not follow the schema."""


@dataclass(frozen=True, slots=True)
class ConditionalImaging:
    views: tuple[str, ...]
    when: str


@dataclass(frozen=True, slots=True)
class VisitRepeat:
    """The last visit repeats every ``every_days`` from then on ("then yearly", CLINICAL.md "Recovery care"); the
    labels may hold ``{years}``, the repeat's day after surgery in whole years."""

    every_days: int
    label: str
    patient_label: str


@dataclass(frozen=True, slots=True)
class VisitSpec:
    """One planned visit: target day after surgery, the window in which a visit counts for it, and its films."""

    id: str
    label: str
    patient_label: str
    day: int
    window: tuple[int, int]
    imaging: tuple[str, ...] = ()
    conditional_imaging: tuple[ConditionalImaging, ...] = ()
    repeat: VisitRepeat | None = None

    def repeated(self, k: int) -> VisitSpec:
        """The ``k``-th repeat (1 = the first) of a repeating visit: same films and window width, shifted by
        ``k x every_days``; id ``"<id>+<k>"``. Raises ``ValueError`` for a visit that does not repeat."""
        if self.repeat is None or k < 1:
            raise ValueError(f"visit {self.id!r} does not repeat (or k={k} < 1)")
        shift = k * self.repeat.every_days
        day = self.day + shift
        years = str(round(day / 365.25))
        return VisitSpec(f"{self.id}+{k}", self.repeat.label.replace("{years}", years),
                         self.repeat.patient_label.replace("{years}", years), day,
                         (self.window[0] + shift, self.window[1] + shift), self.imaging, self.conditional_imaging)


@dataclass(frozen=True, slots=True)
class Restriction:
    """One line of advice, in clinician and patient words. ``only_if``: a condition from :data:`ONLY_IF_CONDITIONS`
    (``None``: always applies in its phase)."""

    topic: str
    clinician: str
    patient: str
    only_if: str | None = None


@dataclass(frozen=True, slots=True)
class RestrictionPhase:
    id: str
    label: str
    from_day: int
    to_day: int | None
    restrictions: tuple[Restriction, ...]

    def covers(self, day: int) -> bool:
        return self.from_day <= day and (self.to_day is None or day < self.to_day)


@dataclass(frozen=True, slots=True)
class TherapyPhase:
    id: str
    label: str
    from_day: int
    to_day: int | None
    goals: tuple[str, ...]
    example_exercises: tuple[str, ...]
    only_if: str | None = None

    def covers(self, day: int) -> bool:
        return self.from_day <= day and (self.to_day is None or day < self.to_day)


@dataclass(frozen=True, slots=True)
class MedicationNote:
    id: str
    from_day: int
    to_day: int | None
    clinician: str
    patient: str
    only_if: str | None = None

    def covers(self, day: int) -> bool:
        return self.from_day <= day and (self.to_day is None or day < self.to_day)


@dataclass(frozen=True, slots=True)
class FusionConcern:
    """What to say instead of the ``only_if: fusion_on_track`` lines when fusion is not known to be on track.

    ``statuses``: fusion statuses (values of :class:`fusionwatch.records.FusionStatus`, plus :data:`NOT_ASSESSED`)
    for which these lines are shown; every status other than on track / fused criteria met must be listed.
    ``findings``: finding kinds (a finding counts when its kind equals an entry or starts with ``entry + "_"``, so
    ``screw_loosening`` covers ``screw_loosening_suspected``) of at least ``min_severity`` that put the on-track lines
    on hold whatever the status.
    """

    statuses: tuple[str, ...]
    findings: tuple[str, ...]
    min_severity: Severity
    restrictions: tuple[Restriction, ...]
    therapy_goals: tuple[str, ...] = ()

    def matching_findings(self, kinds_and_severities: Any) -> tuple[str, ...]:
        """The finding kinds among ``(kind, severity)`` pairs that put the on-track lines on hold (in input order)."""
        out: list[str] = []
        for kind, severity in kinds_and_severities:
            sev = severity if isinstance(severity, Severity) else Severity(severity)
            if sev.rank >= self.min_severity.rank and any(kind == k or kind.startswith(k + "_") for k in self.findings):
                out.append(kind)
        return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Protocol:
    """A validated care protocol. ``is_example`` is true for the shipped default: reports then say so."""

    name: str
    is_example: bool
    source: str
    visits: tuple[VisitSpec, ...]
    restriction_phases: tuple[RestrictionPhase, ...]
    therapy_phases: tuple[TherapyPhase, ...]
    medication_notes: tuple[MedicationNote, ...]
    fusion_concern: FusionConcern | None = None

    def restriction_phase(self, day: int) -> RestrictionPhase | None:
        """The restriction phase covering ``day`` after surgery, or ``None`` (before surgery / gap in the file)."""
        return next((p for p in self.restriction_phases if p.covers(day)), None)

    def therapy_phase(self, day: int) -> TherapyPhase | None:
        return next((p for p in self.therapy_phases if p.covers(day)), None)

    def medication_notes_on(self, day: int) -> tuple[MedicationNote, ...]:
        return tuple(n for n in self.medication_notes if n.covers(day))

    def planned_visits(self, until_day: int = _MAX_DAY) -> tuple[VisitSpec, ...]:
        """The planned visits with their windows, the last visit's repeats ("then yearly") included up to
        ``until_day`` (target day at most ``until_day``, window within the 30 years a record spans).

        The one list of planned visits: the care schedule lays their windows on the calendar (a visit is done by one
        inside its window: :func:`fusionwatch.care.schedule.build_schedule`), and a film or contact is named by the
        visit nearest its day (:meth:`visit_days`; followup's labels, :func:`followup_label`). Windows of different
        visits never overlap (checked on loading).
        """
        specs = list(self.visits)
        last = specs[-1] if specs else None
        if last is not None and last.repeat is not None:
            k = 1
            while (last.day + k * last.repeat.every_days <= until_day
                   and last.window[1] + k * last.repeat.every_days <= _MAX_DAY):
                specs.append(last.repeated(k))
                k += 1
        return tuple(specs)

    def visit_days(self, until_day: int = _MAX_DAY) -> tuple[tuple[VisitSpec, int, int], ...]:
        """The days each planned visit *names*: ``(visit, first_day, last_day)``, in order, contiguous from the day
        after :data:`IMMEDIATE_POST_OP_DAYS`.

        A film or contact is named by the planned visit whose target day is nearest (a tie: the later visit), as
        registries count a day-300 film as the 12-month follow-up taken early; a day inside a visit's window is always
        that visit (a boundary half-way between two targets is moved out of a window that reaches past it). The last
        visit (the last repeat up to ``until_day``) names as many days after its target as the days before it that it
        names. A visit whose target falls in the immediate post-operative days names none. Whether the visit was
        *done* is another question: :func:`fusionwatch.care.schedule.build_schedule` counts a visit done only by
        one inside its window, and says how far outside its window a named visit was.
        """
        first = IMMEDIATE_POST_OP_DAYS[1] + 1
        specs = [v for v in self.planned_visits(until_day) if v.day >= first]
        out: list[tuple[VisitSpec, int, int]] = []
        lo = first
        for a, b in zip(specs, specs[1:], strict=False):
            half = (a.day + b.day - 1) // 2  # the last day nearer to a than to b (a tie goes to b)
            hi = min(max(half, a.window[1]), b.window[0] - 1)
            out.append((a, lo, hi))
            lo = hi + 1
        if specs:
            last = specs[-1]
            out.append((last, lo, max(last.window[1], 2 * last.day - lo)))
        return tuple(out)

    def nearest_visit(self, day: int) -> VisitSpec | None:
        """The planned visit that names ``day`` after surgery (:meth:`visit_days`: the nearest target day, a day inside
        a window always that window's visit), or ``None`` before surgery, in the immediate post-operative days and
        past the last visit's days."""
        return next((v for v, lo, hi in self.visit_days() if lo <= day <= hi), None)

    def visit_on(self, day: int) -> VisitSpec | None:
        """The planned visit whose window (inclusive) holds ``day`` after surgery, or ``None`` (before surgery, or
        outside every window: an unscheduled visit). Repeats of the last visit count."""
        if day < 0:
            return None
        return next((v for v in self.planned_visits() if v.window[0] <= day <= v.window[1]), None)


def followup_label(visit: VisitSpec) -> str:
    """The label followup, the store and the reports give a film or contact that ``visit`` names (one name for a visit
    in `followup` and `care`): the visit's id (``"12-months"``), :data:`FOLLOWUP_LABELS` where it differs
    (``"wound-check"`` -> ``"2-weeks"``), a repeat of the last visit by its target in months (``"24-months+1"``, day
    1095 -> ``"36-months"``)."""
    if "+" in visit.id:
        return f"{round(visit.day / _DAYS_PER_MONTH)}-months"
    return FOLLOWUP_LABELS.get(visit.id, visit.id)


# ---------------------------------------------------------------- validation helpers


def _where(section: str, index: int | None, entry: Any) -> str:
    if index is None:
        return section
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f"{section}[{index}]" + (f" (id {ident!r})" if ident else "")


def _known_fields(entry: dict[str, Any], kind: str, where: str) -> None:
    allowed = _FIELDS[kind]
    for key in entry:
        if key not in allowed:
            raise ProtocolError(
                f"Protocol {where}: unknown field {key!r}; a {kind.replace('_', ' ')} may have "
                f"{', '.join(sorted(allowed))}."
            )


def _only_if(entry: dict[str, Any], where: str) -> str | None:
    value = entry.get("only_if")
    if value is None:
        return None
    if value not in ONLY_IF_CONDITIONS:
        raise ProtocolError(
            f"Protocol {where}: field 'only_if' must be one of {', '.join(ONLY_IF_CONDITIONS)}, got {value!r}."
        )
    return value


def _restriction(r: dict[str, Any], where: str) -> Restriction:
    _known_fields(r, "restriction", where)
    return Restriction(_text(r, "topic", where), _text(r, "clinician", where), _text(r, "patient", where),
                       _only_if(r, where))


def _fusion_concern(data: dict[str, Any]) -> FusionConcern | None:
    e = data.get("fusion_concern")
    if e is None:
        return None
    w = "fusion_concern"
    if not isinstance(e, dict):
        raise ProtocolError(f"Protocol {w}: expected a mapping of fields, got {e!r}.")
    _known_fields(e, "fusion_concern", w)
    allowed = (*_CONCERN_STATUSES, NOT_ASSESSED)
    statuses = _texts(e, "statuses", w)
    for st in statuses:
        if st not in allowed:
            hint = " (on track: the on-track lines apply)" if st in _ON_TRACK_STATUSES else ""
            raise ProtocolError(
                f"Protocol {w}: unknown status {st!r} in 'statuses'{hint}; expected some of {', '.join(allowed)}."
            )
    missing = [st for st in _CONCERN_STATUSES if st not in statuses]
    if missing:
        raise ProtocolError(
            f"Protocol {w}: field 'statuses' must list every status that is not on track; missing "
            f"{', '.join(missing)} (a patient with that status would otherwise get no advice in place of the "
            "on-track lines)."
        )
    findings = _texts(e, "findings", w)
    for k in findings:
        if not _FINDING_KIND.match(k):
            raise ProtocolError(
                f"Protocol {w}: finding kind {k!r} in 'findings' must be a lower-case id such as 'screw_loosening'."
            )
    sev_raw = e.get("min_severity", Severity.WATCH.value)
    try:
        min_sev = Severity(sev_raw)
    except ValueError:
        raise ProtocolError(
            f"Protocol {w}: field 'min_severity' must be one of {', '.join(s.value for s in Severity)}, "
            f"got {sev_raw!r}."
        ) from None
    items = []
    for j, r in enumerate(_entries(e, "restrictions", required=True, where=w)):
        rw = f"{w}.restrictions[{j}]"
        item = _restriction(r, rw)
        if item.only_if is not None:
            raise ProtocolError(f"Protocol {rw}: field 'only_if' cannot be used inside 'fusion_concern'.")
        items.append(item)
    return FusionConcern(tuple(statuses), tuple(findings), min_sev, tuple(items), _texts(e, "therapy_goals", w))


def _req(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] is None:
        raise ProtocolError(f"Protocol {where}: missing required field {key!r}.")
    return entry[key]


def _text(entry: dict[str, Any], key: str, where: str, *, required: bool = True, default: str = "") -> str:
    value = _req(entry, key, where) if required else entry.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str) or (required and not value.strip()):
        raise ProtocolError(f"Protocol {where}: field {key!r} must be non-empty text, got {value!r}.")
    return value.strip()


def _day(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_DAY:
        raise ProtocolError(
            f"Protocol {where}: field {key!r} must be a whole number of days after surgery in 0..{_MAX_DAY}, "
            f"got {value!r}."
        )
    return value


def _span(entry: dict[str, Any], where: str) -> tuple[int, int | None]:
    start = _day(_req(entry, "from_day", where), where, "from_day")
    end_raw = entry.get("to_day")
    end = None if end_raw is None else _day(end_raw, where, "to_day")
    if end is not None and end <= start:
        raise ProtocolError(f"Protocol {where}: to_day ({end}) must be after from_day ({start}).")
    return start, end


def _texts(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ProtocolError(f"Protocol {where}: field {key!r} must be a list of text lines, got {value!r}.")
    return tuple(v.strip() for v in value)


def _views(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ProtocolError(f"Protocol {where}: field {key!r} must be a list of views, got {value!r}.")
    for v in value:
        if v not in IMAGING_VIEWS:
            raise ProtocolError(
                f"Protocol {where}: unknown imaging view {v!r} in {key!r}; expected one of {', '.join(IMAGING_VIEWS)}."
            )
    return tuple(value)


def _entries(data: dict[str, Any], section: str, *, required: bool, where: str = "") -> list[dict[str, Any]]:
    """The list of mappings under ``section``; ``where`` names the entry that holds it (nested lists)."""
    at = f" {where}" if where else ""
    path = f"{where}.{section}" if where else section
    value = data.get(section)
    if value is None:
        if required:
            raise ProtocolError(f"Protocol{at}: missing required section {section!r}.")
        return []
    if not isinstance(value, list) or (required and not value):
        raise ProtocolError(f"Protocol{at}: section {section!r} must be a non-empty list, got {type(value).__name__}.")
    for i, e in enumerate(value):
        if not isinstance(e, dict):
            raise ProtocolError(f"Protocol {path}[{i}]: expected a mapping of fields, got {e!r}.")
    return value


def _unique_ids(items: list[Any], section: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ProtocolError(f"Protocol {section}: id {item.id!r} is used twice; ids must be unique.")
        seen.add(item.id)


def _no_overlap(phases: list[Any], section: str) -> None:
    ordered = sorted(phases, key=lambda p: p.from_day)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.to_day is None or a.to_day > b.from_day:
            raise ProtocolError(
                f"Protocol {section}: phases {a.id!r} (days {a.from_day}-{a.to_day or 'open'}) and {b.id!r} "
                f"(from day {b.from_day}) overlap; a day must belong to one phase."
            )


# ---------------------------------------------------------------- parsing


def parse_protocol(data: Any) -> Protocol:
    """Validate an already-parsed YAML/JSON document and build a :class:`Protocol`.

    Raises
    ------
    ProtocolError
        Naming the section, entry and field that is wrong, the value found and what was expected.
    """
    if not isinstance(data, dict):
        raise ProtocolError(f"Protocol: expected a mapping at the top level, got {type(data).__name__}.")
    _known_fields(data, "top level", "top level")
    if data.get("schema") != SCHEMA:
        raise ProtocolError(f"Protocol: field 'schema' must be {SCHEMA!r}, got {data.get('schema')!r}.")
    name = _text(data, "name", "top level")
    is_example = data.get("is_example", False)
    if not isinstance(is_example, bool):
        raise ProtocolError(f"Protocol: field 'is_example' must be true or false, got {is_example!r}.")

    visits: list[VisitSpec] = []
    for i, e in enumerate(_entries(data, "visits", required=True)):
        w = _where("visits", i, e)
        _known_fields(e, "visit", w)
        day = _day(_req(e, "day", w), w, "day")
        window = _req(e, "window", w)
        if not (isinstance(window, list) and len(window) == 2):
            raise ProtocolError(f"Protocol {w}: field 'window' must be [first_day, last_day], got {window!r}.")
        lo, hi = _day(window[0], w, "window"), _day(window[1], w, "window")
        if not lo <= day <= hi:
            raise ProtocolError(f"Protocol {w}: window [{lo}, {hi}] must contain the target day {day}.")
        cond = []
        for j, c in enumerate(e.get("conditional_imaging") or []):
            cw = f"{w}.conditional_imaging[{j}]"
            if not isinstance(c, dict):
                raise ProtocolError(f"Protocol {cw}: expected a mapping with 'views' and 'when', got {c!r}.")
            _known_fields(c, "conditional_imaging", cw)
            cond.append(ConditionalImaging(_views(_req(c, "views", cw), cw, "views"), _text(c, "when", cw)))
        label = _text(e, "label", w)
        repeat = None
        if e.get("repeat") is not None:
            rw, r = f"{w}.repeat", e["repeat"]
            if not isinstance(r, dict):
                raise ProtocolError(f"Protocol {rw}: expected a mapping with 'every_days', 'label' and "
                                    f"'patient_label', got {r!r}.")
            _known_fields(r, "repeat", rw)
            every = _day(_req(r, "every_days", rw), rw, "every_days")
            if every <= hi - lo:
                raise ProtocolError(f"Protocol {rw}: every_days ({every}) must be longer than the window "
                                    f"[{lo}, {hi}] ({hi - lo} days), or the repeats' windows overlap.")
            rlabel = _text(r, "label", rw)
            repeat = VisitRepeat(every, rlabel, _text(r, "patient_label", rw, required=False, default=rlabel) or rlabel)
        visits.append(
            VisitSpec(
                id=_text(e, "id", w),
                label=label,
                patient_label=_text(e, "patient_label", w, required=False, default=label) or label,
                day=day,
                window=(lo, hi),
                imaging=_views(e.get("imaging") or [], w, "imaging"),
                conditional_imaging=tuple(cond),
                repeat=repeat,
            )
        )
    _unique_ids(visits, "visits")
    visits.sort(key=lambda v: v.day)
    for v in visits[:-1]:
        if v.repeat is not None:
            raise ProtocolError(f"Protocol visits: {v.id!r} repeats but is not the last visit ({visits[-1].id!r} "
                                "comes after it); only the last visit may repeat.")
    for a, b in zip(visits, visits[1:], strict=False):
        if a.window[1] >= b.window[0]:
            raise ProtocolError(
                f"Protocol visits: windows of {a.id!r} {list(a.window)} and {b.id!r} {list(b.window)} overlap; "
                "a visit on record must match one planned visit."
            )

    phases: list[RestrictionPhase] = []
    for i, e in enumerate(_entries(data, "restriction_phases", required=True)):
        w = _where("restriction_phases", i, e)
        _known_fields(e, "restriction_phase", w)
        start, end = _span(e, w)
        items = [_restriction(r, f"{w}.restrictions[{j}]")
                 for j, r in enumerate(_entries(e, "restrictions", required=True, where=w))]
        phases.append(RestrictionPhase(_text(e, "id", w), _text(e, "label", w), start, end, tuple(items)))
    _unique_ids(phases, "restriction_phases")
    _no_overlap(phases, "restriction_phases")

    therapy: list[TherapyPhase] = []
    for i, e in enumerate(_entries(data, "therapy_phases", required=False)):
        w = _where("therapy_phases", i, e)
        _known_fields(e, "therapy_phase", w)
        start, end = _span(e, w)
        therapy.append(
            TherapyPhase(
                _text(e, "id", w), _text(e, "label", w), start, end, _texts(e, "goals", w),
                _texts(e, "example_exercises", w), _only_if(e, w),
            )
        )
    _unique_ids(therapy, "therapy_phases")
    _no_overlap(therapy, "therapy_phases")

    meds: list[MedicationNote] = []
    for i, e in enumerate(_entries(data, "medication_notes", required=False)):
        w = _where("medication_notes", i, e)
        _known_fields(e, "medication_note", w)
        start, end = _span(e, w)
        meds.append(MedicationNote(_text(e, "id", w), start, end, _text(e, "clinician", w), _text(e, "patient", w),
                                   _only_if(e, w)))
    _unique_ids(meds, "medication_notes")

    concern = _fusion_concern(data)
    if concern is None:
        gated = [(f"restriction_phases (id {p.id!r})", r.only_if) for p in phases for r in p.restrictions
                 if r.only_if]
        gated += [(f"therapy_phases (id {t.id!r})", t.only_if) for t in therapy if t.only_if]
        gated += [(f"medication_notes (id {m.id!r})", m.only_if) for m in meds if m.only_if]
        if gated:
            raise ProtocolError(
                f"Protocol {gated[0][0]}: uses 'only_if: {gated[0][1]}' but the protocol has no 'fusion_concern' "
                "section saying what to tell the patient instead when fusion is not on track (or not confirmed)."
            )

    return Protocol(
        name=name,
        is_example=is_example,
        source=_text(data, "source", "top level", required=False),
        visits=tuple(visits),
        restriction_phases=tuple(sorted(phases, key=lambda p: p.from_day)),
        therapy_phases=tuple(sorted(therapy, key=lambda p: p.from_day)),
        medication_notes=tuple(meds),
        fusion_concern=concern,
    )


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Read and validate a protocol YAML file; ``None`` loads the shipped example (:data:`DEFAULT_PROTOCOL_PATH`).

    Raises
    ------
    ProtocolError
        If the file is missing, is not UTF-8 text or valid YAML, or does not follow the schema.
    """
    p = Path(path) if path is not None else DEFAULT_PROTOCOL_PATH
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark (an editor's 'UTF-8 with BOM') is read
    except OSError as exc:
        raise ProtocolError(f"Cannot read care protocol file {str(p)!r}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:  # e.g. saved as Latin-1: before, a traceback
        raise ProtocolError(f"Care protocol file {str(p)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
                            f"position {exc.start}): save it as UTF-8.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProtocolError(f"Care protocol file {str(p)!r} is not valid YAML: {exc}".rstrip(".") + ".") from None
    return parse_protocol(data)


def default_protocol() -> Protocol:
    """The shipped example protocol (CLINICAL.md "Recovery care"); a care team replaces it with its own file."""
    return load_protocol(None)
