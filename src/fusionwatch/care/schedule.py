"""Per-patient care schedule from a protocol, the surgery date, the visits on record and today's date; iCalendar export.

Status of each planned visit (:class:`ItemStatus`):

- ``done``      a visit on record falls inside the visit's window (days after surgery, inclusive);
- ``overdue``   no visit on record, today is past the window's last day, and no later planned visit is done yet;
- ``missed``    as overdue, but a later planned visit is already done, or (a repeating visit: "then yearly") the next
                repeat's window has opened (nothing left to book; shown, never hidden);
- ``due``       no visit on record and today is inside the window;
- ``upcoming``  no visit on record and the window has not opened yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from fusionwatch.care.advice import CareAdvice, care_advice
from fusionwatch.care.protocol import (
    MedicationNote,
    Protocol,
    RestrictionPhase,
    TherapyPhase,
    VisitSpec,
    default_protocol,
    followup_label,
)
from fusionwatch.errors import InputError

VIEW_PLAIN = {
    "lateral": "side view",
    "ap": "front view",
    "flexion": "side view bending forward",
    "extension": "side view bending backward",
}
"""Plain-language names of the film views, for patient-facing text."""

__all__ = ["VIEW_PLAIN", "ItemStatus", "ScheduleItem", "OffWindowVisit", "Schedule", "build_schedule", "day_words",
           "to_ics"]


def day_words(day: int) -> str:
    """A day counted from surgery (day 0) in words, never as a negative number.

    ``day_words(80)`` is ``"day 80 after surgery"``, ``day_words(0)`` ``"the day of surgery"`` and ``day_words(-12)``
    ``"12 days before surgery"`` (``"1 day before surgery"``): a pre-operative answer is a valid baseline, told as
    what it is. Beyond a year the years are added: ``"12935 days (35.4 years) before surgery"``.
    """
    if day == 0:
        return "the day of surgery"
    n = abs(day)
    years = f" ({n / 365.25:.1f} years)" if n > 366 else ""
    return f"day {n}{years} after surgery" if day > 0 else f"{n} day{'s' if n != 1 else ''}{years} before surgery"


class ItemStatus(str, Enum):
    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"
    UPCOMING = "upcoming"


@dataclass(frozen=True, slots=True)
class ScheduleItem:
    """One planned visit for one patient, with calendar dates and its status on ``Schedule.today``."""

    visit: VisitSpec
    due_date: dt.date
    window_start: dt.date
    window_end: dt.date
    status: ItemStatus
    done_on: dt.date | None = None

    @property
    def imaging_text(self) -> str:
        parts = [", ".join(self.visit.imaging)] if self.visit.imaging else []
        parts += [f"{' + '.join(c.views)} if {c.when}" for c in self.visit.conditional_imaging]
        return "; ".join(parts) or "no films"

    @property
    def imaging_plain(self) -> str:
        """The planned X-rays in plain words ("X-rays from the side and the front"), for patients."""
        views = set(self.visit.imaging)
        parts = []
        still = [w for v, w in (("lateral", "the side"), ("ap", "the front")) if v in views]
        if still:
            parts.append("X-rays from " + " and ".join(still))
        if {"flexion", "extension"} & views:
            parts.append("bending X-rays (bending forward and backward)")
        text = ", and ".join(parts) if parts else "no X-rays planned"
        if self.visit.conditional_imaging and not ({"flexion", "extension"} & views):
            text += "; maybe bending X-rays if your surgeon wants to check the healing"
        return text


@dataclass(frozen=True, slots=True)
class OffWindowVisit:
    """A visit on record outside every planned window, named by the planned visit nearest its day (as `followup`
    names it: :meth:`fusionwatch.care.protocol.Protocol.visit_days`), with how far outside that visit's window it was.
    It does not make the planned visit done (a 12-month visit taken at day 300 leaves the 12-month window open: the
    care team decides whether it replaces it)."""

    date: dt.date
    day: int
    visit: VisitSpec
    has_films: bool | None = None
    """Whether films were taken that day (``None``: not known to the schedule)."""

    @property
    def label(self) -> str:
        """The visit's name in `followup`, the store and the reports (``"12-months"``)."""
        return followup_label(self.visit)

    @property
    def days_outside(self) -> int:
        """Days before (negative) or after (positive) the visit's window."""
        lo, hi = self.visit.window
        return self.day - lo if self.day < lo else self.day - hi

    @property
    def timing_text(self) -> str:
        """``"30 days before its planned window (days 330-425)"``."""
        n = self.days_outside
        lo, hi = self.visit.window
        return (f"{abs(n)} day{'s' if abs(n) != 1 else ''} {'before' if n < 0 else 'after'} its planned window "
                f"(days {lo}-{hi})")

    @property
    def text(self) -> str:
        """One line for the clinician: ``"2026-03-28 (day 300, films): 12-months, 30 days before its planned window
        (days 330-425)"``."""
        films = "" if self.has_films is None else (", films" if self.has_films else ", no films")
        return f"{self.date.isoformat()} (day {self.day}{films}): {self.label}, {self.timing_text}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """The schedule, the current phases and notes for one patient on one day."""

    protocol: Protocol
    surgery_date: dt.date
    today: dt.date
    items: tuple[ScheduleItem, ...]
    unmatched_visits: tuple[dt.date, ...]
    """Visits on record that fall in no protocol window (extra visits); listed, never dropped."""

    @property
    def off_window(self) -> tuple[OffWindowVisit, ...]:
        """Those of :attr:`unmatched_visits` that a planned visit names (the nearest target day, as `followup` names
        them), with their timing; the others (the immediate post-operative days 0-7) are named by no planned visit.
        Worked out from :attr:`unmatched_visits` and the surgery date, so a copy with shifted dates (a de-identified
        report) shifts these too."""
        return self.off_window_visits()

    def off_window_visits(self, film_dates: Iterable[dt.date] | None = None) -> tuple[OffWindowVisit, ...]:
        """:attr:`off_window`, each saying whether films were taken that day when ``film_dates`` is given."""
        films = None if film_dates is None else set(film_dates)
        out = []
        for d in self.unmatched_visits:
            day = (d - self.surgery_date).days
            named = self.protocol.nearest_visit(day)
            if named is not None:
                out.append(OffWindowVisit(d, day, named, None if films is None else d in films))
        return tuple(out)

    @property
    def day(self) -> int:
        """Days since surgery on ``today`` (negative before surgery)."""
        return (self.today - self.surgery_date).days

    @property
    def restriction_phase(self) -> RestrictionPhase | None:
        return self.protocol.restriction_phase(self.day) if self.day >= 0 else None

    @property
    def therapy_phase(self) -> TherapyPhase | None:
        return self.protocol.therapy_phase(self.day) if self.day >= 0 else None

    @property
    def medication_notes(self) -> tuple[MedicationNote, ...]:
        return self.protocol.medication_notes_on(self.day) if self.day >= 0 else ()

    def advice(self, fusion_status: object = None, findings: Iterable[object] = (), *,
               status_confirmed: bool = False) -> CareAdvice:
        """The advice for ``today`` tied to the fusion status and findings of the latest films
        (:func:`fusionwatch.care.advice.care_advice`; ``None`` status = not assessed; ``status_confirmed``: the status
        is a reader's, which alone clears the ``only_if: fusion_confirmed`` lines).

        Prefer this to :attr:`restriction_phase` for anything a patient reads: the phase lists every line, including
        those meant only for a patient whose fusion is on track.
        """
        return care_advice(self.protocol, self.day, fusion_status=fusion_status, findings=findings,  # type: ignore[arg-type]
                           status_confirmed=status_confirmed)

    @property
    def overdue(self) -> tuple[ScheduleItem, ...]:
        return tuple(i for i in self.items if i.status is ItemStatus.OVERDUE)

    @property
    def next_items(self) -> tuple[ScheduleItem, ...]:
        """Items still to do (due, overdue or upcoming), in date order."""
        return tuple(i for i in self.items if i.status not in (ItemStatus.DONE, ItemStatus.MISSED))


def build_schedule(
    surgery_date: dt.date,
    visits_on_record: Iterable[dt.date] = (),
    *,
    imaging_visits: Iterable[dt.date] | None = None,
    today: dt.date | None = None,
    protocol: Protocol | None = None,
) -> Schedule:
    """Lay the protocol's visits on the calendar for one patient and mark each done / due / overdue / upcoming.

    Parameters
    ----------
    surgery_date : date
        Day 0.
    visits_on_record : iterable of date
        Dates of the follow-up visits already on record (any order; duplicates allowed). A visit counts for the planned
        visit whose window (days after surgery, inclusive) contains it; visits before surgery are ignored (pre-op).
    today : date, optional
        The day the schedule is for (default: the system date). Visits on record after it are not counted: the
        schedule is the one that day.
    imaging_visits : iterable of date, optional
        The visits on record that had films. When given, a planned visit with imaging only counts as done by one of
        these (a phone call or questionnaire in its window does not replace the films); visits without planned imaging
        count any visit on record.
    protocol : Protocol, optional
        Default: the shipped example protocol.

    Raises
    ------
    InputError
        If ``today`` is more than 30 years from the surgery date.
    """
    protocol = protocol or default_protocol()
    today = today or dt.date.today()
    if abs((today - surgery_date).days) > 30 * 366:
        raise InputError(f"Today ({today}) is more than 30 years from the surgery date {surgery_date}: impossible.")
    # as of ``today``: a visit recorded after it has not happened yet on that day (a report back-dated to an earlier
    # visit must not count the later visits as done)
    recorded = sorted(d for d in set(visits_on_record) | set(imaging_visits or ()) if d <= today)
    with_films = None if imaging_visits is None else {d for d in imaging_visits if d <= today}
    used: set[dt.date] = set()
    items = []
    last = protocol.visits[-1] if protocol.visits else None
    # "then yearly": the repeats up to one interval past today, so the next one is always on the list
    horizon = (today - surgery_date).days + (last.repeat.every_days if last and last.repeat else 0)
    specs = protocol.planned_visits(horizon)
    for spec in specs:
        lo, hi = spec.window
        pool = recorded if (with_films is None or not spec.imaging) else sorted(with_films)
        matches = [d for d in pool if lo <= (d - surgery_date).days <= hi]
        start = surgery_date + dt.timedelta(days=lo)
        end = surgery_date + dt.timedelta(days=hi)
        if matches:
            # the visit closest to the target day counts; the others still count as visits on record
            done_on = min(matches, key=lambda d: abs((d - surgery_date).days - spec.day))
            used.update(matches)
            status, done = ItemStatus.DONE, done_on
        else:
            done = None
            status = ItemStatus.OVERDUE if today > end else ItemStatus.DUE if today >= start else ItemStatus.UPCOMING
        items.append(ScheduleItem(spec, surgery_date + dt.timedelta(days=spec.day), start, end, status, done))
    last_done = max((i.due_date for i in items if i.status is ItemStatus.DONE), default=None)
    items = [
        replace(i, status=ItemStatus.MISSED)
        if i.status is ItemStatus.OVERDUE and last_done is not None and i.due_date < last_done else i
        for i in items
    ]
    if last is not None and last.repeat is not None:
        # a yearly visit whose next one's window has opened is not booked any more: one overdue yearly visit, not three
        series = [n for n, i in enumerate(items) if i.visit.id == last.id or i.visit.id.startswith(f"{last.id}+")]
        for a, b in zip(series, series[1:], strict=False):
            if items[a].status is ItemStatus.OVERDUE and items[b].window_start <= today:
                items[a] = replace(items[a], status=ItemStatus.MISSED)
    # outside every window: a contact without films inside a window whose films came on another day is not "extra"
    unmatched = tuple(d for d in recorded if d not in used and d >= surgery_date
                      and not any(i.window_start <= d <= i.window_end for i in items))
    return Schedule(protocol, surgery_date, today, tuple(items), unmatched)


def to_ics(schedule: Schedule, *, patient_key: str = "", include_done: bool = False) -> bytes:
    """An iCalendar (RFC 5545) file with one all-day event per planned visit still to do.

    The calendar carries no names or ids: event text is the visit label and the films planned; the optional
    ``patient_key`` (a pseudonym) only seeds stable event UIDs, hashed.

    Returns
    -------
    bytes
        The ``.ics`` file content.
    """
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//fusionwatch//care schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Spine fusion follow-up")
    seed = hashlib.sha256(f"{patient_key}|{schedule.surgery_date.isoformat()}".encode()).hexdigest()[:16]
    stamp = dt.datetime.combine(schedule.today, dt.time(0, 0), tzinfo=dt.UTC)
    for item in schedule.items:
        if item.status in (ItemStatus.DONE, ItemStatus.MISSED) and not include_done:
            continue
        ev = Event()
        ev.add("uid", f"{seed}-{item.visit.id}@fusionwatch")
        ev.add("dtstamp", stamp)
        ev.add("summary", item.visit.patient_label)
        ev.add("dtstart", item.due_date)
        ev.add("dtend", item.due_date + dt.timedelta(days=1))
        desc = (
            f"{item.visit.label}. Window: {item.window_start.isoformat()} to {item.window_end.isoformat()}. "
            f"X-rays: {item.imaging_plain}. Status on {schedule.today.isoformat()}: {item.status.value}. "
            "Your care team's instructions take precedence over this calendar."
        )
        ev.add("description", desc)
        ev.add("categories", ["fusionwatch", item.status.value])
        cal.add_component(ev)
    return cal.to_ical()
