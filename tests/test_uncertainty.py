"""The one interval rule behind every uncertain threshold call (fusionwatch.uncertainty)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fusionwatch.errors import InputError
from fusionwatch.uncertainty import Call, interval, interval_call, judge


def test_interval_is_symmetric_z_sds() -> None:
    assert interval(2.0, 0.5) == pytest.approx((2.0 - 0.98, 2.0 + 0.98))
    assert interval(2.0, 0.5, z=1.0) == pytest.approx((1.5, 2.5))


@pytest.mark.parametrize(
    ("value", "sd", "threshold", "expected"),
    [
        (5.0, 0.5, 3.0, Call.ABOVE),  # lower bound 4.02 > 3
        (1.0, 0.5, 3.0, Call.BELOW),  # upper bound 1.98 < 3
        (3.5, 0.5, 3.0, Call.INDETERMINATE),  # interval 2.52-4.48 straddles 3
        (2.5, 0.4, 1.9, Call.INDETERMINATE),  # the 400 x 500 screw case before its precision was improved
        (2.41, 0.18, 1.9, Call.ABOVE),
    ],
)
def test_calls(value: float, sd: float, threshold: float, expected: Call) -> None:
    assert interval_call(value, sd, threshold) is expected


def test_inclusive_threshold_counts_a_lower_bound_that_reaches_it() -> None:
    # "a change of >= 1.9 deg": a lower bound exactly at the threshold reaches it
    assert interval_call(1.9, 0.0, 1.9, inclusive=True) is Call.ABOVE
    assert interval_call(1.9, 0.0, 1.9) is Call.INDETERMINATE


def test_unknown_sd_is_never_determinate() -> None:
    assert interval(1.0, math.inf) == (-math.inf, math.inf)
    assert interval_call(100.0, math.inf, 3.0) is Call.INDETERMINATE


@pytest.mark.parametrize("sd", [-0.1, math.nan])
def test_bad_sd_is_refused(sd: float) -> None:
    with pytest.raises(InputError, match="SD must be a number >= 0"):
        interval_call(1.0, sd, 3.0)


def test_bad_z_is_refused() -> None:
    with pytest.raises(InputError, match="z must be >= 0"):
        interval(1.0, 0.1, z=-1.0)


@given(
    st.floats(-50, 50),
    st.floats(0, 10),
    st.floats(-50, 50),
)
def test_wider_interval_never_turns_a_call_around(value: float, sd: float, threshold: float) -> None:
    """More uncertainty can only make a call indeterminate, never flip above to below or the reverse."""
    narrow, wide = interval_call(value, sd, threshold), interval_call(value, sd * 2 + 0.1, threshold)
    assert wide in (narrow, Call.INDETERMINATE)
    if narrow is Call.INDETERMINATE:
        assert wide is Call.INDETERMINATE


@given(st.floats(-50, 50), st.floats(0, 10), st.floats(-50, 50), st.booleans())
def test_judge_gives_the_call_and_the_interval_it_was_made_on(
    value: float, sd: float, threshold: float, inclusive: bool
) -> None:
    got = judge(value, sd, threshold, inclusive=inclusive)
    assert got.call is interval_call(value, sd, threshold, inclusive=inclusive)
    assert (got.low, got.high) == interval(value, sd)
    if got.call is Call.ABOVE:
        assert got.low >= threshold
    elif got.call is Call.BELOW:
        assert got.high < threshold
