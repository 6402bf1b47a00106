"""Plain frozen dataclasses the Store returns (no ORM objects leave the store)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement

__all__ = ["VisitRecord", "FilmRecord", "LandmarkVersion", "PromRecord", "SymptomRecord", "OverrideRecord",
           "PseudonymSeries", "Retraction", "PatientCorrection", "BaselineChange", "ENTRY_KINDS",
           "ENTRY_NAMES", "ENTRY_LISTS"]

ENTRY_KINDS = ("prom", "symptoms", "override")
ENTRY_NAMES = {"prom": "PROM entry", "symptoms": "symptom report", "override": "override"}
"""How messages name one entry of each kind."""
ENTRY_LISTS = {"prom": "fusionwatch prom list", "symptoms": "fusionwatch symptoms list",
               "override": "fusionwatch override list"}
"""The command that lists each kind's ids (named in the store's refusals)."""
"""The kinds of care-record entry that can be marked entered in error (:meth:`fusionwatch.store.Store.retract`)."""


@dataclass(frozen=True, slots=True)
class Retraction:
    """Why an entry no longer counts: it was marked "entered in error" by ``by`` at ``at`` (UTC) for ``reason``. The
    entry is kept for the audit and left out of reports, care advice, red-flag triage, trends and exports."""

    at: dt.datetime
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class VisitRecord:
    patient_key: str
    date: dt.date
    days_since_surgery: int | None
    label: str
    scheduled: bool


@dataclass(frozen=True, slots=True)
class FilmRecord:
    """A stored radiograph (no pixels: those stay in the file at ``file_path``)."""

    film_id: str
    """SOP Instance UID, or ``sha256:<hash>`` for files without DICOM identifiers."""
    patient_key: str
    visit_label: str
    visit_date: dt.date
    view: str | None
    file_path: str
    file_sha256: str
    spacing_dx_mm: float | None
    spacing_dy_mm: float | None
    spacing_source: str | None
    acquired: dt.date | None
    width: int
    height: int
    landmark_versions: int
    measurement_count: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LandmarkVersion:
    """One stored version of a film's landmarks with the measurements made from it."""

    version: int
    kind: str
    """``automatic``, ``file`` or ``reader``."""
    source: str
    author: str | None
    created_at: dt.datetime
    landmarks: Landmarks
    measurements: tuple[Measurement, ...]


@dataclass(frozen=True, slots=True)
class PromRecord:
    """Patient-reported outcomes at a visit. Scores are computed by :mod:`fusionwatch.care`, not stored here."""

    id: int
    patient_key: str
    visit_label: str
    visit_date: dt.date
    days_since_surgery: int | None
    recorded_at: dt.datetime
    odi_answers: tuple[int | None, ...] | None
    """Ten ODI section answers 0-5, ``None`` for an unanswered section; ``None`` when no ODI was taken."""
    back_pain_nrs: float | None
    leg_pain_nrs: float | None
    extra: dict[str, Any] = field(default_factory=dict)
    retracted: Retraction | None = None
    """Set when the entry was marked entered in error (listed only with ``include_retracted=True``)."""


@dataclass(frozen=True, slots=True)
class SymptomRecord:
    id: int
    patient_key: str
    visit_label: str
    visit_date: dt.date
    days_since_surgery: int | None
    recorded_at: dt.datetime
    symptoms: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    retracted: Retraction | None = None
    """Set when the report was marked entered in error (listed only with ``include_retracted=True``)."""


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    id: int
    patient_key: str
    visit_label: str | None
    visit_date: dt.date | None
    target: str
    value: str
    author: str
    at: dt.datetime
    reason: str
    retracted: Retraction | None = None
    """Set when the override was marked entered in error (listed only with ``include_retracted=True``)."""


@dataclass(frozen=True, slots=True)
class PseudonymSeries:
    """A recorded pseudonym series: the site secret's fingerprint (never the secret), where the secret came from
    (``"file"`` / ``"environment"``), when the series started (UTC) and why."""

    fingerprint: str
    source: str
    started_at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class PatientCorrection:
    """A correction of a patient attribute (``field``, e.g. ``"birth_date"``): the value before and after (ISO text;
    ``None`` when none was recorded), who corrected it, when (UTC) and why. The old value is kept here for the audit;
    these hold identifiers and never leave the store except through
    :meth:`fusionwatch.store.Store.list_patient_corrections`."""

    id: int
    patient_key: str
    field: str
    old_value: str | None
    new_value: str | None
    at: dt.datetime
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class BaselineChange:
    """The early post-operative baseline film changed: from the film of ``previous_date`` to the film of ``date``
    (``None`` when no film can be the baseline any more), recorded at ``at`` (UTC) because of ``cause`` (e.g. "films
    stored or measured at 6-weeks"). ``label`` / ``previous_label`` are the visits' labels when the move was recorded;
    ``label_now`` / ``previous_label_now`` the labels the same visits have on the record now (a corrected surgery date
    relabels every visit; ``None`` when not known), so the sentence stays true after later changes. Film ids are for
    the store only (never printed: they may hold identifiers)."""

    date: dt.date | None
    label: str | None
    film: str | None
    previous_date: dt.date | None
    previous_label: str | None
    previous_film: str | None
    at: dt.datetime
    cause: str
    label_now: str | None = None
    previous_label_now: str | None = None

    @staticmethod
    def _film(date: dt.date | None, then: str | None, now: str | None) -> str:
        if date is None:
            return "no film"
        if now is None or now == then:
            return f"the {then or now} film ({date.isoformat()})" if then or now else f"the film of {date.isoformat()}"
        return f"the {now} film ({date.isoformat()}" + (f"; the {then} film when recorded)" if then else ")")

    def moved_text(self) -> str:
        """"from <film> to <film>", each film named by its visit's label now, with the label it had when the move was
        recorded where that differs (true whatever changed since)."""
        to = self._film(self.date, self.label, self.label_now)
        return (f"from {self._film(self.previous_date, self.previous_label, self.previous_label_now)} to "
                + (to if self.date else "no film (none can be the baseline)"))

    def text(self) -> str:
        """One sentence for the clinician: when the baseline moved, why, and from which film to which."""
        return (f"The baseline changed on {self.at:%Y-%m-%d} ({self.cause}): {self.moved_text()}; changes vs baseline "
                "and hardware findings shown before then were measured against the earlier film.")
