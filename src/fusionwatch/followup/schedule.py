"""Naming a visit from its date: the nearest scheduled visit whose window holds it, else an unscheduled visit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fusionwatch.followup.settings import DEFAULT_SCHEDULE, ScheduledVisit

__all__ = ["PRE_OP", "visit_label", "days_since"]

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
