"""Tests for care/schedule.py: due / done / overdue / upcoming from dates worked out by hand; .ics export."""

import datetime as dt

from icalendar import Calendar

from fusionwatch.care.schedule import ItemStatus, build_schedule, to_ics

SURGERY = dt.date(2026, 1, 10)
# windows (days): wound 10-21, 6w 35-56, 3m 77-120, 6m 155-215, 12m 330-425, 24m 670-800
# day 15 = 2026-01-25, day 92 = 2026-04-12, today day 191 = 2026-07-20


def _status(s) -> dict[str, ItemStatus]:
    return {i.visit.id: i.status for i in s.items}


def test_statuses_by_hand() -> None:
    s = build_schedule(SURGERY, [dt.date(2026, 4, 12), dt.date(2026, 1, 25)], today=dt.date(2026, 7, 20))
    assert _status(s) == {
        "wound-check": ItemStatus.DONE,
        "6-weeks": ItemStatus.MISSED,  # window closed on day 56 = 2026-03-07, and the 3-month visit is done
        "3-months": ItemStatus.DONE,
        "6-months": ItemStatus.DUE,  # today (day 191) inside 155-215
        "12-months": ItemStatus.UPCOMING,
        "24-months": ItemStatus.UPCOMING,
    }
    items = {i.visit.id: i for i in s.items}
    assert items["3-months"].done_on == dt.date(2026, 4, 12)
    assert items["6-weeks"].due_date == dt.date(2026, 2, 21)  # day 42
    assert items["6-weeks"].window_end == dt.date(2026, 3, 7)
    assert s.day == 191
    assert s.restriction_phase.id == "maintenance"
    assert s.overdue == ()
    assert "6-weeks" not in [i.visit.id for i in s.next_items]


def test_overdue_when_nothing_later_done() -> None:
    """No visit since the wound check: at day 130 the 6-week and 3-month visits are overdue, not missed."""
    s = build_schedule(SURGERY, [dt.date(2026, 1, 25)], today=SURGERY + dt.timedelta(days=130))
    assert [i.visit.id for i in s.overdue] == ["6-weeks", "3-months"]


def test_window_edges_inclusive() -> None:
    s = build_schedule(SURGERY, [SURGERY + dt.timedelta(days=35)], today=SURGERY + dt.timedelta(days=57))
    assert _status(s)["6-weeks"] is ItemStatus.DONE
    s = build_schedule(SURGERY, [], today=SURGERY + dt.timedelta(days=56))
    assert _status(s)["6-weeks"] is ItemStatus.DUE
    s = build_schedule(SURGERY, [], today=SURGERY + dt.timedelta(days=57))
    assert _status(s)["6-weeks"] is ItemStatus.OVERDUE


def test_extra_visit_listed_not_dropped_and_preop_ignored() -> None:
    extra = SURGERY + dt.timedelta(days=28)  # between wound check and 6 weeks
    s = build_schedule(SURGERY, [extra, SURGERY - dt.timedelta(days=20)], today=SURGERY + dt.timedelta(days=30))
    assert s.unmatched_visits == (extra,)


def test_closest_visit_counts_when_two_in_window() -> None:
    a, b = SURGERY + dt.timedelta(days=80), SURGERY + dt.timedelta(days=93)
    s = build_schedule(SURGERY, [a, b], today=SURGERY + dt.timedelta(days=100))
    assert next(i for i in s.items if i.visit.id == "3-months").done_on == b


def test_phase_early_after_surgery() -> None:
    s = build_schedule(SURGERY, [], today=SURGERY + dt.timedelta(days=20))
    assert s.restriction_phase.id == "early-healing"
    assert s.therapy_phase.id == "home-walking"
    assert any(n.id == "nsaids" for n in s.medication_notes)


def test_ics_round_trip_and_no_identifiers() -> None:
    s = build_schedule(SURGERY, [dt.date(2026, 1, 25)], today=dt.date(2026, 2, 1))
    raw = to_ics(s, patient_key="SECRET-KEY-123")
    assert b"SECRET-KEY-123" not in raw
    cal = Calendar.from_ical(raw)
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 5  # wound check done -> left out
    first = events[0]
    assert first.decoded("dtstart") == dt.date(2026, 2, 21)
    assert "take precedence" in str(first.get("description"))
    # UIDs stable across calls
    assert to_ics(s, patient_key="SECRET-KEY-123") == raw


def test_a_visit_after_today_is_not_done_yet() -> None:
    """A schedule as of an earlier day does not count visits recorded after it (a back-dated report)."""
    import datetime as _dt

    from fusionwatch.care.schedule import ItemStatus, build_schedule

    surgery = _dt.date(2025, 1, 10)
    visits = [surgery + _dt.timedelta(days=d) for d in (42, 92, 185)]
    s = build_schedule(surgery, visits, imaging_visits=visits, today=surgery + _dt.timedelta(days=50))
    status = {i.visit.id: i.status for i in s.items}
    assert status["6-weeks"] is ItemStatus.DONE
    assert status["3-months"] is ItemStatus.UPCOMING and status["6-months"] is ItemStatus.UPCOMING


def test_then_yearly() -> None:
    """CLINICAL.md: visits at 2 weeks, 6 weeks, 3, 6, 12 months, 'then yearly'. Before, nothing was planned after the
    2-year visit: at day 1200 (2 years done) the schedule and the calendar had no visit left. Now the 3-year visit
    (day 1095, window 1035-1165) is overdue and the 4-year one upcoming; at day 2000 only the latest overdue yearly
    visit is to book (older ones whose next window has opened are missed)."""
    done = [SURGERY + dt.timedelta(days=d) for d in (14, 42, 91, 182, 365, 730)]
    s = build_schedule(SURGERY, done, imaging_visits=done, today=SURGERY + dt.timedelta(days=1200))
    items = {i.visit.id: i for i in s.items}
    three = items["24-months+1"]
    assert three.visit.label == "3-year visit with X-rays" and three.visit.imaging == ("lateral", "ap")
    assert three.due_date == SURGERY + dt.timedelta(days=1095) and three.status is ItemStatus.OVERDUE
    assert (three.window_start, three.window_end) == (SURGERY + dt.timedelta(days=1035),
                                                      SURGERY + dt.timedelta(days=1165))
    assert items["24-months+2"].status is ItemStatus.UPCOMING and "24-months+3" not in items
    assert [i.visit.id for i in s.next_items] == ["24-months+1", "24-months+2"]
    cal = Calendar.from_ical(to_ics(s, patient_key="K-1"))
    assert [str(e["summary"]) for e in cal.walk("VEVENT")] == ["Yearly visit with X-rays (3 years)",
                                                               "Yearly visit with X-rays (4 years)"]
    later = build_schedule(SURGERY, done, imaging_visits=done, today=SURGERY + dt.timedelta(days=2000))
    st = {i.visit.id: i.status for i in later.items}
    assert [st[f"24-months+{k}"] for k in (1, 2, 3, 4)] == [ItemStatus.MISSED, ItemStatus.MISSED, ItemStatus.OVERDUE,
                                                             ItemStatus.UPCOMING]
    # within the first two years nothing changes: the 2-year visit is the last one listed
    early = build_schedule(SURGERY, done[:3], today=SURGERY + dt.timedelta(days=200))
    assert early.items[-1].visit.id == "24-months"


def test_day_words_never_negative() -> None:
    """Days from surgery in words: before surgery as 'N days before surgery', never '-N'."""
    from fusionwatch.care.schedule import day_words

    assert day_words(80) == "day 80 after surgery"
    assert day_words(0) == "the day of surgery"
    assert day_words(-1) == "1 day before surgery" and day_words(-12) == "12 days before surgery"
    assert day_words(-12935) == "12935 days (35.4 years) before surgery"
    assert all("-" not in day_words(d) for d in range(-2000, 2000, 7))
