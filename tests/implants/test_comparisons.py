"""Tests for fusionwatch.implants.comparisons: one baseline film per view, every later film of the view against it."""

from __future__ import annotations

import datetime as dt

import pytest

from fusionwatch.followup.model import VisitInput
from fusionwatch.implants.comparisons import hardware_comparisons, view_baseline

SURGERY = dt.date(2025, 1, 10)
VISITS = [
    VisitInput("pre-op", SURGERY - dt.timedelta(days=7), -7),
    VisitInput("immediate-post-op", SURGERY + dt.timedelta(days=2), 2),
    VisitInput("6-weeks", SURGERY + dt.timedelta(days=42), 42),
    VisitInput("3-months", SURGERY + dt.timedelta(days=91), 91),
    VisitInput("12-months", SURGERY + dt.timedelta(days=365), 365),
]


def pairs(films: dict[str, list[str | None]], baselines: dict[str, int | None] | None = None) -> list[tuple]:
    return [(c.view, VISITS[c.visit].label, c.baseline_film, c.film)
            for c in hardware_comparisons(VISITS, films, baselines)]


def test_the_baseline_of_a_view_is_its_6_week_then_immediate_then_earliest_post_op_film() -> None:
    assert view_baseline(VISITS, ["pre", "imm", "w6", "m3", "y1"]) == 2
    assert view_baseline(VISITS, ["pre", "imm", None, "m3", "y1"]) == 1
    assert view_baseline(VISITS, ["pre", None, None, "m3", "y1"]) == 3  # pre-op films are never the baseline
    assert view_baseline(VISITS, ["pre", None, None, None, None]) is None
    with pytest.raises(ValueError, match="4 film entries for 5 visits"):
        view_baseline(VISITS, [None] * 4)


def test_ap_films_before_the_lateral_baseline_visit_are_checked_against_the_early_ap_film() -> None:
    """The gap P1 noted: AP films at 6 weeks, 3 and 12 months, the first lateral film at 3 months. Before, the AP
    baseline was the latest AP film at or before the lateral baseline visit (3 months) and only later visits were
    checked: the 3-month AP film was compared with nothing, and a rod broken between 6 weeks and 3 months was never
    flagged. Now the AP baseline is the 6-week AP film and the 3- and 12-month AP films are checked against it."""
    films = {"lateral": [None, None, None, "lat-m3", "lat-y1"], "ap": [None, None, "ap-w6", "ap-m3", "ap-y1"]}
    assert pairs(films) == [
        ("ap", "3-months", "ap-w6", "ap-m3"),
        ("lateral", "12-months", "lat-m3", "lat-y1"),
        ("ap", "12-months", "ap-w6", "ap-y1"),
    ]


def test_lateral_films_before_the_ap_baseline_are_checked_against_the_lateral_baseline() -> None:
    """The reverse: the first lateral film early, the first AP film later; each view against its own baseline."""
    films = {"lateral": [None, "lat-imm", None, "lat-m3", "lat-y1"], "ap": [None, None, None, "ap-m3", "ap-y1"]}
    assert pairs(films) == [
        ("lateral", "3-months", "lat-imm", "lat-m3"),
        ("lateral", "12-months", "lat-imm", "lat-y1"),
        ("ap", "12-months", "ap-m3", "ap-y1"),
    ]


def test_ap_films_alone_are_checked_and_a_given_lateral_baseline_is_used() -> None:
    """A patient with AP films only still gets AP checks; a caller's lateral baseline (the follow-up's) wins."""
    assert pairs({"lateral": [None] * 5, "ap": [None, "ap-imm", None, "ap-m3", None]}) == [
        ("ap", "3-months", "ap-imm", "ap-m3")
    ]
    films = {"lateral": [None, "lat-imm", "lat-w6", "lat-m3", None], "ap": [None] * 5}
    assert pairs(films, {"lateral": 1}) == [
        ("lateral", "6-weeks", "lat-imm", "lat-w6"),
        ("lateral", "3-months", "lat-imm", "lat-m3"),
    ]
    assert pairs(films, {"lateral": None}) == []
