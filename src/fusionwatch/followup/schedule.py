"""Naming a visit from its date: the nearest scheduled visit whose window holds it, else an unscheduled visit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from fusionwatch.followup.settings import DEFAULT_SCHEDULE, ScheduledVisit

__all__ = ["PRE_OP", "visit_label", "days_since", "distinct_labels"]

PRE_OP = "pre-op"


def days_since(surgery_date: dt.date | None, when: dt.date) -> int | None:
    """Days from surgery to ``when`` (negative before surgery), or ``None`` when no surgery date is known."""
    return None if surgery_date is None else (when - surgery_date).days


def visit_label(
    days_since_surgery: int | None, when: dt.date, schedule: Sequence[ScheduledVisit] = DEFAULT_SCHEDULE
) -> tuple[str, bool]:
    """The label of a visit and whether it is a scheduled one.

    Parameters
    ----------
    days_since_surgery : int | None
        Days from surgery to the visit; ``None`` when the surgery date is unknown.
    when : datetime.date
        The visit date, used in the label of unscheduled visits.
    schedule : sequence of ScheduledVisit
        The follow-up schedule.

    Returns
    -------
    (str, bool)
        ``("pre-op", True)`` before surgery; the scheduled label whose window holds the day (the nearest target when
        windows overlap); else ``("unscheduled day N", False)``, or ``("unscheduled YYYY-MM-DD", False)`` without
        a surgery date.
    """
    if days_since_surgery is None:
        return f"unscheduled {when.isoformat()}", False
    if days_since_surgery < 0:
        return PRE_OP, True
    fits = [s for s in schedule if s.window_days[0] <= days_since_surgery <= s.window_days[1]]
    if not fits:
        return f"unscheduled day {days_since_surgery}", False
    best = min(fits, key=lambda s: abs(s.target_days - days_since_surgery))
    return best.label, True


class LabelledVisit(NamedTuple):
    """What :func:`distinct_labels` needs of a visit: its stored label, days since surgery and whether it had films."""

    label: str
    days_since_surgery: int | None
    has_films: bool


def distinct_labels(visits: Sequence[LabelledVisit]) -> list[str]:
    """One label per clinical visit when several contacts fall in the same scheduled window.

    :func:`visit_label` names each date on its own, so a symptom report or a questionnaire 18 days after the 6-month
    films also falls in the 6-month window and is named "6-months" too: the timeline then showed two 6-month visits.
    Here, per label held by more than one visit (``visits`` in date order):

    - the first visit with films keeps the label (the first visit when none had films);
    - a later visit with films in the same window is that visit's second film day: ``"6-months (day 200)"``;
    - a visit without films is a contact between visits: ``"contact day 200"``.

    Labels held once are unchanged (a symptom report in the 2-week window is the 2-week visit). Unscheduled labels
    carry their own day or date, so they never repeat.

    Returns
    -------
    list[str]
        The labels, in the order of ``visits``.
    """
    holders: dict[str, int] = {}
    counts: dict[str, int] = {}
    for v in visits:
        counts[v.label] = counts.get(v.label, 0) + 1
    for i, v in enumerate(visits):
        if counts[v.label] > 1 and (v.label not in holders or (v.has_films and not visits[holders[v.label]].has_films)):
            holders[v.label] = i
    out = []
    for i, v in enumerate(visits):
        if counts[v.label] == 1 or holders[v.label] == i or v.days_since_surgery is None:
            out.append(v.label)
        elif v.has_films:
            out.append(f"{v.label} (day {v.days_since_surgery})")
        else:
            out.append(f"contact day {v.days_since_surgery}")
    return out
