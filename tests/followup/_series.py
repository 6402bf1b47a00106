"""Hand-built measurement series for the follow-up rules (no images): a visit from a few named values."""

from __future__ import annotations

import datetime as dt

from fusionwatch.followup import VisitInput
from fusionwatch.followup.schedule import visit_label
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.records import Surgery
from fusionwatch.units import SpacingSource, Unit

SURGERY = Surgery(date=dt.date(2025, 1, 10))

_UNITS = {
    "deg": Unit.DEG,
    "mm": Unit.MM,
    "px": Unit.PX,
    "ratio": Unit.RATIO,
    "%": Unit.PERCENT,
}


def m(name: MeasureName, value: float, unit: str) -> Measurement:
    u = _UNITS[unit]
    return Measurement(name, value, u, "test/1", spacing_source=SpacingSource.PATIENT_PLANE if u is Unit.MM else None)


def visit(day: int, values: dict[MeasureName, tuple[float, str]] | None = None, **kw) -> VisitInput:
    """A visit ``day`` days after SURGERY with the given ``{name: (value, unit)}`` lateral measurements."""
    when = SURGERY.date + dt.timedelta(days=day)
    label, _ = visit_label(day, when)
    ms = {n: m(n, v, u) for n, (v, u) in (values or {}).items()}
    return VisitInput(
        label=label,
        date=when,
        days_since_surgery=day,
        measurements=ms,
        lateral_film=f"film-{day}" if ms else None,
        films=(f"film-{day}",) if ms else (),
        **kw,
    )
