"""Baseline choice and deltas: each measurement vs the early post-operative film and vs the previous visit."""

from __future__ import annotations

from collections.abc import Sequence

from fusionwatch.followup.model import MeasurementDelta, VisitInput
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit

__all__ = ["BASELINE_LABELS", "baseline_index", "choose_baseline", "measurement_deltas", "previous_value"]

BASELINE_LABELS: tuple[str, ...] = ("6-weeks", "immediate-post-op")
"""CLINICAL.md "Cage subsidence": compare with the early post-operative film, the 6-week film in many studies, the
immediate film where none. Tried in this order."""


def _has_lateral(v: VisitInput) -> bool:
    return any(m.value is not None for m in v.measurements.values())


def baseline_index(visits: Sequence[VisitInput], eligible: Sequence[bool]) -> int | None:
    """Index of the baseline visit among the post-operative visits ``i`` with ``eligible[i]`` (e.g. "has a measured
    lateral film", "has an AP film with landmarks"): the 6-week visit, else the immediate post-operative one
    (:data:`BASELINE_LABELS`, in that order), else the earliest; ``None`` when no post-operative visit is eligible."""
    if len(eligible) != len(visits):
        raise ValueError(f"{len(eligible)} eligibility entries for {len(visits)} visits.")
    post = [i for i, v in enumerate(visits) if v.days_since_surgery is not None and v.days_since_surgery >= 0
            and eligible[i]]
    for label in BASELINE_LABELS:
        for i in post:
            if visits[i].label == label:
                return i
    return post[0] if post else None


def choose_baseline(visits: Sequence[VisitInput]) -> tuple[int | None, str]:
    """Index of the baseline visit in ``visits`` and a sentence saying which film it is and why.

    The 6-week visit when it has a measured lateral film, else the immediate post-operative one, else the earliest
    post-operative visit with one (said so), else ``None`` (no comparison possible).
    """
    i = baseline_index(visits, [_has_lateral(v) for v in visits])
    if i is None:
        return None, "No measured post-operative lateral film: nothing to compare with."
    v = visits[i]
    if v.label in BASELINE_LABELS:
        return i, f"Baseline: the {v.label} film ({v.date.isoformat()}), the early post-operative reference."
    return i, (
        f"Baseline: the earliest post-operative film ({v.label}, {v.date.isoformat()}); no 6-week or "
        "immediate post-operative film was measured."
    )


def _value(m: Measurement | None) -> float | None:
    return None if m is None else m.value


def previous_value(visits: Sequence[VisitInput], index: int, name: MeasureName, like: Measurement) -> float | None:
    """The value of ``name`` at the latest earlier visit that has it in the same unit, or ``None``."""
    for v in reversed(visits[:index]):
        m = v.measurements.get(name)
        if m is not None and m.value is not None and m.unit is like.unit:
            return m.value
    return None


def measurement_deltas(visits: Sequence[VisitInput], index: int, baseline: int | None) -> tuple[MeasurementDelta, ...]:
    """Every measurement of ``visits[index]`` with its deltas (``value - reference``, same unit only).

    Deltas vs baseline are given for visits after the baseline date; deltas vs previous for any visit with an
    earlier value.
    """
    visit = visits[index]
    base = visits[baseline] if baseline is not None else None
    out = []
    for name, m in sorted(visit.measurements.items(), key=lambda kv: list(MeasureName).index(kv[0])):
        b_val = None
        if base is not None and visit.date > base.date:
            bm = base.measurements.get(name)
            if bm is not None and bm.value is not None and bm.unit is m.unit:
                b_val = bm.value
        p_val = previous_value(visits, index, name, m)
        out.append(
            MeasurementDelta(
                name=name,
                value=m.value,
                unit=m.unit,
                baseline=b_val,
                delta_vs_baseline=None if m.value is None or b_val is None else m.value - b_val,
                previous=p_val,
                delta_vs_previous=None if m.value is None or p_val is None else m.value - p_val,
                reason=m.reason,
                spacing_source=m.spacing_source if m.unit is Unit.MM else None,
            )
        )
    return tuple(out)
