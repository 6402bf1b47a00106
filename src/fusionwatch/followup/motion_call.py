"""Judge a flexion-extension value against a threshold without claiming more certainty than its SD allows.

A value is *above* a threshold only when its lower 95 % bound (value - z SD) is above it, *below* only when its upper
bound (value + z SD) is below it, and *indeterminate* otherwise (z = ``settings.motion_confidence_z``, 1.96). The same
rule as :func:`fusionwatch.motion.classify_motion`, both through :func:`fusionwatch.uncertainty.judge`.
A missing SD is replaced by the settings' default measurement SD
(docs/followup.md "Motion uncertainty"), and the evidence says so.
"""

from __future__ import annotations

import math
from typing import Any

from fusionwatch.errors import InputError
from fusionwatch.followup.model import MotionLike
from fusionwatch.followup.settings import FollowupSettings
from fusionwatch.uncertainty import Call, judge

__all__ = ["Call", "judge_value", "motion_components"]


def _sd(sd: float | None, default: float, what: str) -> tuple[float, str]:
    """The SD to use and where it came from (``"reported"`` or ``"default"``)."""
    if sd is None or not math.isfinite(sd):
        return default, "default"
    if sd < 0:
        raise InputError(f"{what} SD must be >= 0, got {sd!r}.")
    return float(sd), "reported"


def judge_value(
    value: float, sd: float | None, threshold: float, *, default_sd: float, z: float, unit: str, what: str
) -> tuple[Call, dict[str, Any]]:
    """Compare ``|value|`` with ``threshold`` at confidence ``z`` (two-sided 95 % for 1.96).

    Parameters
    ----------
    value : float
        Signed motion; its magnitude is compared.
    sd : float | None
        One SD of ``value`` in the same unit; ``None`` or NaN -> ``default_sd``.
    threshold : float
        Same unit as ``value``.
    default_sd, z : float
    unit, what : str
        Unit name and a label (``"angle"``) for the evidence and error messages.

    Returns
    -------
    (Call, dict)
        ``ABOVE`` when ``|value| - z*sd > threshold``, ``BELOW`` when ``|value| + z*sd < threshold``, else
        ``INDETERMINATE``; evidence with the value, SD (and its source), the 95 % interval of ``|value|``, the
        threshold and the call.
    """
    s, source = _sd(sd, default_sd, what)
    mag = abs(value)
    call, lo, hi = judge(mag, s, threshold, z=z)
    ev = {
        "value": value,
        "sd": s,
        "sd_source": source,
        "interval_95": [round(lo, 4), round(hi, 4)],
        "threshold": threshold,
        "unit": unit,
        "call": call.value,
    }
    return call, ev


def motion_components(m: MotionLike, settings: FollowupSettings) -> list[tuple[str, float, float | None, float, str]]:
    """The parts of a motion result judged for fusion: ``(name, value, sd, default_sd, unit)``.

    Angle always; translation in mm when calibrated, else in % of the endplate depth when present.
    """
    out: list[tuple[str, float, float | None, float, str]] = [
        ("angle", m.angle_deg, m.angle_sd_deg, settings.motion_default_angle_sd_deg, "deg")
    ]
    if m.translation_mm is not None:
        out.append(("translation", m.translation_mm, m.translation_sd, settings.motion_default_translation_sd_mm, "mm"))
    elif m.translation_percent is not None:
        out.append(
            (
                "translation",
                m.translation_percent,
                m.translation_sd,
                settings.motion_default_translation_sd_percent,
                "%",
            )
        )
    return out
