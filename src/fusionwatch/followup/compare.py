"""Baseline choice and deltas: each measurement vs the early post-operative film and vs the previous visit.

Millimetres are compared only between films calibrated in the same plane (:func:`same_spacing_plane`): a film whose
spacing is (0018,1164) *Imager Pixel Spacing* without (0018,1114) *Estimated Radiographic Magnification Factor* is
calibrated at the detector plane, where lengths are magnified by roughly 10-20 %; one calibrated at the patient plane
((0028,0030) *Pixel Spacing*, magnification-corrected, or a reader's calibration) is not. Between the two no millimetre
change is given: the ratios that need no calibration (disc height index, slip %) are compared instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusionwatch.followup.model import MeasurementDelta, VisitInput
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.units import Unit, same_spacing_plane, spacing_plane

__all__ = [
    "BASELINE_LABELS",
    "baseline_index",
    "choose_baseline",
    "measurement_deltas",
    "previous_value",
    "spacing_plane",
    "same_spacing_plane",
    "comparable",
    "planes_note",
    "PLANES_NOT_COMPARED",
]

PLANES_NOT_COMPARED = "millimetres from different planes are not subtracted"

BASELINE_LABELS: tuple[str, ...] = ("6-weeks", "immediate-post-op")
"""CLINICAL.md "Cage subsidence": compare with the early post-operative film, the 6-week film in many studies, the
immediate film where none. Tried in this order."""


def comparable(a: Measurement, b: Measurement) -> bool:
    """Two measured values that may be subtracted: the same unit and, for millimetres, the same plane."""
    if a.unit is not b.unit:
        return False
    return a.unit is not Unit.MM or same_spacing_plane(a.spacing_source, b.spacing_source)


def _mm_plane(v: VisitInput) -> str | None:
    """The plane of the visit's (lateral film's) millimetre values, or ``None`` when it has none."""
    for m in v.measurements.values():
        if m.value is not None and m.unit is Unit.MM:
            return spacing_plane(m.spacing_source)
    return None


def _labels(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def planes_note(visits: Sequence[VisitInput]) -> str:
    """A sentence naming the films in each plane when the visits' millimetre values come from both, else ``""``."""
    by_plane: dict[str, list[str]] = {}
    for v in visits:
        if (plane := _mm_plane(v)) is not None:
            by_plane.setdefault(plane, []).append(v.label)
    if len(by_plane) < 2:
        return ""
    det, pat = by_plane["detector plane"], by_plane["patient plane"]
    return (
        f"The {_labels(det)} film{'s are' if len(det) > 1 else ' is'} calibrated at the detector plane (Imager "
        f"Pixel Spacing without a magnification factor: mm overstated by roughly 10-20 %), the {_labels(pat)} "
        f"film{'s' if len(pat) > 1 else ''} at the patient plane: {PLANES_NOT_COMPARED}, so between these films "
        "changes are given as disc height index and slip % (no calibration needed), not in mm."
    )


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

    When the films' millimetre values come from both the detector and the patient plane, a second sentence names
    the films in each (:func:`planes_note`): their millimetres are not subtracted.
    """
    i = baseline_index(visits, [_has_lateral(v) for v in visits])
    if i is None:
        return None, "No measured post-operative lateral film: nothing to compare with."
    v = visits[i]
    if v.label in BASELINE_LABELS:
        note = f"Baseline: the {v.label} film ({v.date.isoformat()}), the early post-operative reference."
    else:
        note = (
            f"Baseline: the earliest post-operative film ({v.label}, {v.date.isoformat()}); no 6-week or "
            "immediate post-operative film was measured."
        )
    planes = planes_note(visits)
    return i, f"{note} {planes}" if planes else note


def _value(m: Measurement | None) -> float | None:
    return None if m is None else m.value


def previous_value(visits: Sequence[VisitInput], index: int, name: MeasureName, like: Measurement) -> float | None:
    """The value of ``name`` at the latest earlier visit that has it in the same unit, or ``None``; ``None`` too
    when that value is in millimetres from another plane than ``like``'s (:func:`comparable`): an older film in the
    same plane is not taken instead, as the change would be read as one since the previous visit."""
    for v in reversed(visits[:index]):
        m = v.measurements.get(name)
        if m is not None and m.value is not None and m.unit is like.unit:
            return m.value if comparable(m, like) else None
    return None


def measurement_deltas(visits: Sequence[VisitInput], index: int, baseline: int | None) -> tuple[MeasurementDelta, ...]:
    """Every measurement of ``visits[index]`` with its deltas (``value - reference``, same unit only).

    Deltas vs baseline are given for visits after the baseline date; deltas vs previous for any visit with an
    earlier value. Millimetres calibrated in another plane than the visit's are not a reference (no ``baseline`` /
    ``previous`` value, no delta): :func:`comparable`.
    """
    visit = visits[index]
    base = visits[baseline] if baseline is not None else None
    out = []
    for name, m in sorted(visit.measurements.items(), key=lambda kv: list(MeasureName).index(kv[0])):
        b_val = None
        if base is not None and visit.date > base.date:
            bm = base.measurements.get(name)
            if bm is not None and bm.value is not None and comparable(bm, m):
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
