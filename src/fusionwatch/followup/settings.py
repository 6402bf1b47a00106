"""Follow-up thresholds and the visit schedule: named settings with documented defaults (docs/followup.md).

Every default cites CLINICAL.md; where the literature gives no number the choice is said to be ours. A site changes them
by building its own :class:`FollowupSettings` (``dataclasses.replace(DEFAULT_SETTINGS, fusion_angle_deg=5.0)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from fusionwatch.care.protocol import IMMEDIATE_POST_OP_DAYS, Protocol, default_protocol, followup_label
from fusionwatch.errors import InputError

__all__ = ["ScheduledVisit", "DEFAULT_SCHEDULE", "schedule_from_protocol", "FollowupSettings", "DEFAULT_SETTINGS"]


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """A visit of the follow-up schedule: its label, target day after surgery and the window that still counts as it.

    ``window_days`` is ``(earliest, latest)`` days since surgery, both inclusive.
    """

    label: str
    target_days: int
    window_days: tuple[int, int]

    def __post_init__(self) -> None:
        lo, hi = self.window_days
        if not lo <= self.target_days <= hi:
            raise ValueError(f"{self.label}: target day {self.target_days} lies outside its window {self.window_days}.")


def schedule_from_protocol(protocol: Protocol) -> tuple[ScheduledVisit, ...]:
    """followup's visit labels from a care protocol (one source of the planned visits, :meth:`fusionwatch.care.
    protocol.Protocol.planned_visits`): ``"immediate-post-op"`` for days 0-7 (followup's own film name for the early
    baseline, :data:`~fusionwatch.care.protocol.IMMEDIATE_POST_OP_DAYS`), then each planned visit, repeats included,
    labelled by :func:`~fusionwatch.care.protocol.followup_label` and naming the days nearest its target
    (:meth:`~fusionwatch.care.protocol.Protocol.visit_days`: a day-300 film is the 12-month visit, taken early; `care`
    says how far outside the visit's window it was)."""
    lo, hi = IMMEDIATE_POST_OP_DAYS
    return (
        ScheduledVisit("immediate-post-op", min(1, hi), (lo, hi)),
        *(ScheduledVisit(followup_label(v), v.day, (a, b)) for v, a, b in protocol.visit_days()),
    )


DEFAULT_SCHEDULE: tuple[ScheduledVisit, ...] = schedule_from_protocol(default_protocol())
"""CLINICAL.md "Recovery care": wound check at ~2 weeks, films at 6 weeks, 3, 6 and 12 months, then yearly, from the
shipped example care protocol (``care/default_protocol.yaml``; its target days 14, 42, 91, 182, 365, 730, then every
365 days). Each day is named by the nearest target (a tie: the later visit): 2-weeks 8-27, 6-weeks 28-66, 3-months
67-136, 6-months 137-273, 12-months 274-547, 24-months 548-912, 36-months 913-1277, ... (before session 14 the same
visits had their own windows here: 2-weeks 8-24, 6-weeks 25-63, 3-months 64-135, 6-months 136-272, and no label after
day 912)."""


@dataclass(frozen=True, slots=True)
class FollowupSettings:
    """Thresholds of the follow-up rules. Lengths in mm, angles in degrees, times in days since surgery.

    Attributes
    ----------
    subsidence_mm : float
        Cage subsidence: loss of mean L5-S1 disc height vs the baseline film greater than this (CLINICAL.md: > 2 mm).
    subsidence_dhi : float
        The same rule on uncalibrated films, as a loss of disc height index (mean disc height / L5 AP depth). Ours:
        2 mm over a typical 35 mm L5 endplate depth is 0.057, rounded to 0.06.
    lordosis_loss_deg : float
        Loss of L5-S1 segmental lordosis vs baseline greater than this is reported. Ours: CLINICAL.md names the watch
        but no number; 5 deg lies above the within-reader landmark repeatability (~2 deg).
    adjacent_disc_loss_mm, adjacent_disc_loss_dhi : float
        Adjacent segment (L4-L5) disc height loss vs baseline (CLINICAL.md: > 3 mm; uncalibrated 3/35 = 0.086 -> 0.09).
    new_listhesis_mm, new_listhesis_percent : float
        New L4-L5 listhesis: change of slip vs baseline (CLINICAL.md: > 3 mm; uncalibrated ours: 8 % of the L5 endplate,
        3 mm over ~38 mm).
    adjacent_flexion_angle_deg : float
        Adjacent segment: L4-L5 segmental angle on the flexion film below this (lordosis positive, so -5 means more
        than 5 deg of segmental kyphosis in flexion) is reported (CLINICAL.md: flexion angle < -5 deg). Zero or
        negative.
    pi_ll_bands_deg : tuple[float, float]
        PI-LL mismatch bands (SRS-Schwab: < 10 / 10-20 / > 20 deg). A finding when the band worsens vs baseline.
    pi_ll_min_change_deg : float
        ...and the mismatch grew by more than this (ours: 3 deg, above landmark repeatability), so that a value
        hovering at a band edge (19.9 -> 20.1 deg) is not reported as a new mismatch.
    pi_drift_deg : float
        Pelvic incidence is constant in an adult: a change larger than this between visits is a landmark error and is
        flagged for review, never reported as a clinical finding (CLINICAL.md: "a changing PI means a measurement
        error").
    fusion_angle_deg, fusion_translation_mm, fusion_translation_percent : float
        Flexion-extension motion at the fused level below these meets the fusion criterion (CLINICAL.md: defaults 3 deg
        and 3 mm; uncalibrated translation ours: 8 % of endplate depth ~ 3 mm).
    fusion_min_days : int
        Earliest time since surgery at which fusion criteria can be met (CLINICAL.md: union judged at 6 and 12 months;
        168 days = 24 weeks lets a 6-month visit a little early count).
    union_expected_days : int
        After this, signs of non-union make "delayed union suspected" (CLINICAL.md: union expected by 3-6 months).
    pseudarthrosis_days : int
        From this day on, signs of non-union make "pseudarthrosis suspected" (CLINICAL.md: no solid union by 12 months;
        300 days lets the 12-month visit's window count).
    bridging_fraction_min : float
        Bridging bone across at least this fraction of the disc space counts as bridging evidence (ours).
    motion_confidence_z : float
        Flexion-extension motion counts as above a threshold only when ``|value| - z SD`` exceeds it and as below only
        when ``|value| + z SD`` is under it; otherwise it is indeterminate (two-sided 95 %: 1.96, as
        ``fusionwatch.motion.classify.CONFIDENCE_Z``; docs/motion.md).
    motion_default_angle_sd_deg, motion_default_translation_sd_mm, motion_default_translation_sd_percent : float
        SD assumed for a motion result that carries none (e.g. an old stored row). docs/motion.md "Measured precision":
        the registration's error SD is 0.03-0.40 deg and 0.04-0.19 mm (max translation error 0.48 mm with the
        automatic detector's landmarks), so 0.5 deg and 0.5 mm; 1.5 % of the endplate depth is 0.5 mm over ~35 mm.
        A reported SD is used as reported (never raised to these).
    """

    subsidence_mm: float = 2.0
    subsidence_dhi: float = 0.06
    lordosis_loss_deg: float = 5.0
    adjacent_disc_loss_mm: float = 3.0
    adjacent_disc_loss_dhi: float = 0.09
    new_listhesis_mm: float = 3.0
    new_listhesis_percent: float = 8.0
    adjacent_flexion_angle_deg: float = -5.0
    pi_ll_bands_deg: tuple[float, float] = (10.0, 20.0)
    pi_ll_min_change_deg: float = 3.0
    pi_drift_deg: float = 5.0
    fusion_angle_deg: float = 3.0
    fusion_translation_mm: float = 3.0
    fusion_translation_percent: float = 8.0
    fusion_min_days: int = 168
    union_expected_days: int = 136
    pseudarthrosis_days: int = 300
    bridging_fraction_min: float = 0.5
    motion_confidence_z: float = 1.96
    motion_default_angle_sd_deg: float = 0.5
    motion_default_translation_sd_mm: float = 0.5
    motion_default_translation_sd_percent: float = 1.5
    schedule: tuple[ScheduledVisit, ...] = field(default=DEFAULT_SCHEDULE)

    def __post_init__(self) -> None:
        for name in (
            "subsidence_mm",
            "subsidence_dhi",
            "lordosis_loss_deg",
            "adjacent_disc_loss_mm",
            "adjacent_disc_loss_dhi",
            "new_listhesis_mm",
            "new_listhesis_percent",
            "pi_drift_deg",
            "fusion_angle_deg",
            "fusion_translation_mm",
            "fusion_translation_percent",
            "motion_confidence_z",
            "motion_default_angle_sd_deg",
            "motion_default_translation_sd_mm",
            "motion_default_translation_sd_percent",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}.")
        if self.adjacent_flexion_angle_deg > 0:
            raise ValueError(
                "adjacent_flexion_angle_deg must be zero or negative (kyphosis), "
                f"got {self.adjacent_flexion_angle_deg!r}."
            )
        lo, hi = self.pi_ll_bands_deg
        if not 0 < lo < hi:
            raise ValueError(f"pi_ll_bands_deg must be two increasing positive angles, got {self.pi_ll_bands_deg!r}.")
        if not 0 <= self.union_expected_days <= self.pseudarthrosis_days:
            raise ValueError("union_expected_days must not exceed pseudarthrosis_days.")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: FollowupSettings | None = None) -> FollowupSettings:
        """Settings from a plain mapping (a site's YAML/JSON file): only the named thresholds change.

        Raises
        ------
        InputError
            On an unknown name, a value of the wrong type, or an invalid value (with the name and value).
        """
        base = base or cls()
        known = {f.name: f for f in fields(cls) if f.name != "schedule"}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InputError(f"Unknown follow-up setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        changes: dict[str, Any] = {}
        for name, value in values.items():
            current = getattr(base, name)
            try:
                if isinstance(current, tuple):
                    changes[name] = tuple(float(v) for v in value)
                elif isinstance(current, int):
                    changes[name] = int(value)
                else:
                    changes[name] = float(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"Follow-up setting {name}: expected a number like {current!r}, got {value!r}."
                ) from None
        try:
            return replace(base, **changes)
        except ValueError as exc:
            raise InputError(f"Invalid follow-up settings: {exc}") from None


DEFAULT_SETTINGS = FollowupSettings()
