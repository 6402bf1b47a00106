"""Judging a measured value against a clinical threshold without claiming more certainty than its SD allows.

One rule for every automatic call that compares an uncertain value with a threshold (flexion-extension motion against
the fusion and instability limits, a screw-endplate angle change against 1.9 deg, ...): the value is *above* the
threshold only when the lower bound of its two-sided interval is, *below* only when the upper bound is, and
*indeterminate* otherwise. With ``z = 1.96`` the interval is the 95 % interval of a normally distributed error.

No logging, no settings, no I/O: numbers in, a call out.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import NamedTuple

from fusionwatch.errors import InputError

__all__ = ["CONFIDENCE_Z", "Call", "Judgement", "interval", "interval_call", "judge"]

CONFIDENCE_Z = 1.96
"""z of a two-sided 95 % interval."""


class Call(StrEnum):
    """Where a measured value lies relative to a threshold, at the interval's confidence."""

    ABOVE = "above"
    BELOW = "below"
    INDETERMINATE = "indeterminate"


def interval(value: float, sd: float, *, z: float = CONFIDENCE_Z) -> tuple[float, float]:
    """``(value - z sd, value + z sd)``: the two-sided interval of ``value`` (same unit as ``value``).

    Raises
    ------
    InputError
        ``sd`` negative or NaN, or ``z`` negative or NaN. An infinite SD (nothing known) gives ``(-inf, inf)``.
    """
    if math.isnan(sd) or sd < 0:
        raise InputError(f"An SD must be a number >= 0, got {sd!r}.")
    if not z >= 0:
        raise InputError(f"The interval's z must be >= 0, got {z!r}.")
    if math.isinf(sd):
        return -math.inf, math.inf
    return value - z * sd, value + z * sd


class Judgement(NamedTuple):
    """A call with the interval it was made on: ``low`` and ``high`` are ``value -/+ z sd`` (same unit as the value)."""

    call: Call
    low: float
    high: float


def judge(value: float, sd: float, threshold: float, *, z: float = CONFIDENCE_Z, inclusive: bool = False) -> Judgement:
    """Compare ``value`` (with one SD ``sd``) with ``threshold`` at confidence ``z``; the call and its interval.

    Parameters
    ----------
    value, sd, threshold : float
        One unit for all three (deg, mm, %). The value is compared as given: pass ``abs(value)`` to judge a magnitude.
    z : float
        Half-width of the interval in SDs (1.96: two-sided 95 %).
    inclusive : bool
        ``True`` for thresholds stated as "reaches" (``>=``, e.g. a screw-endplate angle change of >= 1.9 deg): the
        lower bound equal to the threshold is *above*. ``False`` for "exceeds" (``>``, e.g. motion > 3 deg).

    Returns
    -------
    Judgement
        ``call`` is ``ABOVE`` when ``value - z sd`` exceeds (or, inclusive, reaches) ``threshold``, ``BELOW`` when
        ``value + z sd`` is under it, else ``INDETERMINATE`` (with ``sd = 0`` the plain comparison); ``low``/``high``
        the interval (:func:`interval`), so callers report the interval the call was made on without recomputing it.

    Raises
    ------
    InputError
        As :func:`interval`.
    """
    lo, hi = interval(value, sd, z=z)
    if lo > threshold or (inclusive and lo == threshold):
        call = Call.ABOVE
    elif hi < threshold:
        call = Call.BELOW
    else:
        call = Call.INDETERMINATE
    return Judgement(call, lo, hi)


def interval_call(
    value: float, sd: float, threshold: float, *, z: float = CONFIDENCE_Z, inclusive: bool = False
) -> Call:
    """The call of :func:`judge` alone (same parameters): ``ABOVE``, ``BELOW`` or ``INDETERMINATE``."""
    return judge(value, sd, threshold, z=z, inclusive=inclusive).call
