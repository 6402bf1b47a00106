"""The result of one measurement: a value with its unit, method, the points it used and the spacing behind any mm."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from fusionwatch.units import SpacingSource, Unit

__all__ = ["MeasureName", "Measurement", "meyerding_grade_text"]


def meyerding_grade_text(grade: float) -> str:
    """A Meyerding slip grade as the reports print it: ``"0"`` for no slip, else ``"I"``-``"V"`` (clamped to I-V)."""
    return "0" if grade == 0 else "I II III IV V".split()[max(0, min(4, int(grade) - 1))]


class MeasureName(str, Enum):
    """Every measurement the core defines (CLINICAL.md; docs/measurements.md)."""

    # lateral, spinopelvic
    SACRAL_SLOPE = "sacral_slope"
    PELVIC_TILT = "pelvic_tilt"
    PELVIC_INCIDENCE = "pelvic_incidence"
    LUMBAR_LORDOSIS = "lumbar_lordosis"
    PI_LL_MISMATCH = "pi_ll_mismatch"
    # lateral, segmental
    SEGMENTAL_LORDOSIS_L4_L5 = "segmental_lordosis_L4_L5"
    SEGMENTAL_LORDOSIS_L5_S1 = "segmental_lordosis_L5_S1"
    DISC_HEIGHT_ANTERIOR_L4_L5 = "disc_height_anterior_L4_L5"
    DISC_HEIGHT_POSTERIOR_L4_L5 = "disc_height_posterior_L4_L5"
    DISC_HEIGHT_MEAN_L4_L5 = "disc_height_mean_L4_L5"
    DISC_HEIGHT_INDEX_L4_L5 = "disc_height_index_L4_L5"
    DISC_HEIGHT_ANTERIOR_L5_S1 = "disc_height_anterior_L5_S1"
    DISC_HEIGHT_POSTERIOR_L5_S1 = "disc_height_posterior_L5_S1"
    DISC_HEIGHT_MEAN_L5_S1 = "disc_height_mean_L5_S1"
    DISC_HEIGHT_INDEX_L5_S1 = "disc_height_index_L5_S1"
    SLIP_MM_L4_L5 = "slip_mm_L4_L5"
    SLIP_PERCENT_L4_L5 = "slip_percent_L4_L5"
    MEYERDING_GRADE_L4_L5 = "meyerding_grade_L4_L5"
    SLIP_MM_L5_S1 = "slip_mm_L5_S1"
    SLIP_PERCENT_L5_S1 = "slip_percent_L5_S1"
    MEYERDING_GRADE_L5_S1 = "meyerding_grade_L5_S1"
    # AP
    LATERAL_LISTHESIS_MM_L4_L5 = "lateral_listhesis_mm_L4_L5"
    LATERAL_LISTHESIS_PERCENT_L4_L5 = "lateral_listhesis_percent_L4_L5"
    LATERAL_LISTHESIS_MM_L5_S1 = "lateral_listhesis_mm_L5_S1"
    LATERAL_LISTHESIS_PERCENT_L5_S1 = "lateral_listhesis_percent_L5_S1"
    DISC_WEDGE_L4_L5 = "disc_wedge_L4_L5"
    DISC_WEDGE_L5_S1 = "disc_wedge_L5_S1"
    CORONAL_COBB = "coronal_cobb"


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured value, or the reason it could not be measured.

    Attributes
    ----------
    name : MeasureName
    value : float | None
        ``None`` when it could not be measured: see ``reason``.
    unit : Unit
        ``Unit.MM`` only with a ``spacing_source``; uncalibrated lengths are ``Unit.PX`` or replaced by ratios.
    method : str
        Algorithm id and version, e.g. ``"endplate-corners/1"``; bumped when the algorithm changes.
    points : tuple[str, ...]
        Landmark names the value was computed from.
    spacing_source : SpacingSource | None
        Where the pixel spacing behind a mm value came from; ``None`` for angles, ratios and px.
    uncertainty : float | None
        One standard deviation in the same unit, when known.
    reason : str | None
        Why there is no value (missing landmarks, no calibration...).
    warnings : tuple[str, ...]
        Doubts to show beside the value (detector-plane spacing, ...).
    """

    name: MeasureName
    value: float | None
    unit: Unit
    method: str
    points: tuple[str, ...] = ()
    spacing_source: SpacingSource | None = None
    uncertainty: float | None = None
    reason: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError(f"{self.name}: give exactly one of `value` and `reason`.")
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"{self.name}: value must be finite, got {self.value!r}.")
        if self.unit is Unit.MM and self.value is not None and self.spacing_source is None:
            raise ValueError(f"{self.name}: a millimetre value needs its spacing_source.")

    @classmethod
    def missing(
        cls, name: MeasureName, unit: Unit, method: str, reason: str, points: tuple[str, ...] = ()
    ) -> "Measurement":
        """A measurement that could not be made, with the reason."""
        return cls(name=name, value=None, unit=unit, method=method, points=points, reason=reason)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (enums as their string values)."""
        d = asdict(self)
        d["name"] = self.name.value
        d["unit"] = self.unit.value
        d["spacing_source"] = self.spacing_source.value if self.spacing_source else None
        d["points"] = list(self.points)
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Measurement":
        return cls(
            name=MeasureName(d["name"]),
            value=d.get("value"),
            unit=Unit(d["unit"]),
            method=d["method"],
            points=tuple(d.get("points", ())),
            spacing_source=SpacingSource(d["spacing_source"]) if d.get("spacing_source") else None,
            uncertainty=d.get("uncertainty"),
            reason=d.get("reason"),
            warnings=tuple(d.get("warnings", ())),
        )

    def formatted(self) -> str:
        """Value with unit for tables: ``"38.2 deg"``, ``"n/a (missing L1.superior.anterior)"``."""
        if self.value is None:
            return f"n/a ({self.reason})"
        if self.unit is Unit.GRADE:
            return "0 (none)" if self.value == 0 else ("I II III IV V".split()[int(self.value) - 1])
        return f"{self.value:.1f} {self.unit.value}"
