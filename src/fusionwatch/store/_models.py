"""SQLAlchemy 2 table models of the care record (adapter layer: no clinical logic).

Patient -> Surgery -> Visit -> Radiograph -> LandmarkSet (versions) -> Measurement; Finding, MotionRecord, Override,
Prom and SymptomReport hang off visits (or the patient). A PROM, symptom report or override entered by mistake is never
deleted: :class:`EnteredInError` columns mark it "entered in error" with who, when and why (the store leaves it out of
everything but the audit listings). Every schema change gets an Alembic migration in
``fusionwatch/store/migrations/versions``; the models and the migrations must describe the same schema (a test
checks it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base",
    "EnteredInError",
    "PatientRow",
    "SurgeryRow",
    "VisitRow",
    "RadiographRow",
    "LandmarkSetRow",
    "MeasurementRow",
    "FindingRow",
    "MotionRow",
    "OverrideRow",
    "PromRow",
    "SymptomRow",
    "PseudonymSeriesRow",
    "PatientCorrectionRow",
    "BaselineChangeRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EnteredInError:
    """Columns marking a care-record entry "entered in error" (medical-record practice: never deleted, kept for the
    audit with who retracted it, when and why). All ``None`` while the entry stands."""

    retracted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    retracted_by: Mapped[str | None] = mapped_column(String(128))
    retraction_reason: Mapped[str | None] = mapped_column(Text)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class PatientRow(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """Pseudonymous key: the only identifier that leaves the store in exports and logs."""
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True)
    """(0010,0020) *Patient ID*: an identifier, never logged."""
    name: Mapped[str | None] = mapped_column(String(256))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    surgeries: Mapped[list[SurgeryRow]] = relationship(back_populates="patient", cascade="all, delete-orphan")
    visits: Mapped[list[VisitRow]] = relationship(back_populates="patient", cascade="all, delete-orphan")


class SurgeryRow(Base):
    __tablename__ = "surgeries"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    levels: Mapped[list[Any]] = mapped_column(JSON)
    """Fused segments as ``[["L5", "S1"]]``."""
    approach: Mapped[str] = mapped_column(String(32))
    implants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")

    patient: Mapped[PatientRow] = relationship(back_populates="surgeries")


class VisitRow(Base):
    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("patient_id", "date", name="patient_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    days_since_surgery: Mapped[int | None] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)

    patient: Mapped[PatientRow] = relationship(back_populates="visits")
    radiographs: Mapped[list[RadiographRow]] = relationship(back_populates="visit", cascade="all, delete-orphan")


class RadiographRow(Base):
    __tablename__ = "radiographs"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    sop_uid: Mapped[str] = mapped_column(String(128), unique=True)
    """(0008,0018) *SOP Instance UID*, or ``sha256:<file hash>`` for files without DICOM identifiers."""
    study_uid: Mapped[str | None] = mapped_column(String(128))
    series_uid: Mapped[str | None] = mapped_column(String(128))
    file_path: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    view: Mapped[str | None] = mapped_column(String(16))
    facing: Mapped[str | None] = mapped_column(String(8))
    spacing_dx_mm: Mapped[float | None] = mapped_column(Float)
    spacing_dy_mm: Mapped[float | None] = mapped_column(Float)
    spacing_source: Mapped[str | None] = mapped_column(String(32))
    acquired: Mapped[dt.date | None] = mapped_column(Date)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    implants: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Detected implant geometry (pixels), as the implants module serialises it; ``None`` when not detected."""
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    visit: Mapped[VisitRow] = relationship(back_populates="radiographs")
    landmark_sets: Mapped[list[LandmarkSetRow]] = relationship(
        back_populates="radiograph", cascade="all, delete-orphan", order_by="LandmarkSetRow.version"
    )


class LandmarkSetRow(Base):
    __tablename__ = "landmark_sets"
    __table_args__ = (UniqueConstraint("radiograph_id", "version", name="radiograph_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    radiograph_id: Mapped[int] = mapped_column(ForeignKey("radiographs.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    """``automatic`` (a detector), ``file`` (an imported landmark file) or ``reader`` (placed or edited by a person)."""
    source: Mapped[str] = mapped_column(String(128), default="")
    author: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The landmark JSON object (schema ``fusionwatch.landmarks/1``)."""

    radiograph: Mapped[RadiographRow] = relationship(back_populates="landmark_sets")
    measurements: Mapped[list[MeasurementRow]] = relationship(
        back_populates="landmark_set", cascade="all, delete-orphan", order_by="MeasurementRow.id"
    )


class MeasurementRow(Base):
    __tablename__ = "measurements"
    id: Mapped[int] = mapped_column(primary_key=True)
    landmark_set_id: Mapped[int] = mapped_column(ForeignKey("landmark_sets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(64))
    points: Mapped[list[Any]] = mapped_column(JSON, default=list)
    spacing_source: Mapped[str | None] = mapped_column(String(32))
    uncertainty: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)

    landmark_set: Mapped[LandmarkSetRow] = relationship(back_populates="measurements")


class FindingRow(Base):
    """A finding made at ingest (``needs_landmarks``) or by the implant checks; follow-up findings are recomputed."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    radiograph_id: Mapped[int | None] = mapped_column(ForeignKey("radiographs.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(32))
    """What made it: ``ingest``, ``implants``..."""
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    threshold: Mapped[str | None] = mapped_column(Text)
    films: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class MotionRow(Base):
    """Flexion-extension motion of one segment at one visit."""

    __tablename__ = "motion"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    """Segment as ``"L5-S1"``."""
    angle_deg: Mapped[float] = mapped_column(Float)
    angle_sd_deg: Mapped[float | None] = mapped_column(Float)
    translation_mm: Mapped[float | None] = mapped_column(Float)
    translation_percent: Mapped[float | None] = mapped_column(Float)
    translation_sd: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(64))
    films: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OverrideRow(EnteredInError, Base):
    """A reader's override or grade; rows are only ever added, never deleted by the tool, and their values never
    changed (a mistaken one is marked entered in error)."""

    __tablename__ = "overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")


class PromRow(EnteredInError, Base):
    """Patient-reported outcomes at a visit: ODI answers and back/leg pain NRS (scored by fusionwatch.care)."""

    __tablename__ = "proms"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    odi_answers: Mapped[list[Any] | None] = mapped_column(JSON)
    back_pain_nrs: Mapped[float | None] = mapped_column(Float)
    leg_pain_nrs: Mapped[float | None] = mapped_column(Float)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SymptomRow(EnteredInError, Base):
    """A symptom report at a visit (free symptom codes plus details; triaged by fusionwatch.care)."""

    __tablename__ = "symptom_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    symptoms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


class PseudonymSeriesRow(Base):
    """A series of de-identification pseudonyms: the fingerprint of the site secret its exports use (an HMAC of a fixed
    label, never the secret), appended on the first de-identified export and when a new series is started on purpose;
    the newest row is the current series (every de-identified export checks its secret against it)."""

    __tablename__ = "pseudonym_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")


class PatientCorrectionRow(Base):
    """A corrected patient attribute (``birth_date``): the old and new values (ISO text; ``None`` = not recorded), who
    corrected it, when and why. Only ever added: the audit of every change to a patient's record after entry."""

    __tablename__ = "patient_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    corrected_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)


class BaselineChangeRow(Base):
    """The patient's baseline film as recorded after a change (ingest, landmarks added, surgery date corrected): the
    baseline visit, its label and lateral film (``None`` when no film can be the baseline), the one before it
    (``None`` on the first recording), when and why. Only ever added."""

    __tablename__ = "baseline_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    visit_date: Mapped[dt.date | None] = mapped_column(Date)
    label: Mapped[str | None] = mapped_column(String(64))
    film: Mapped[str | None] = mapped_column(String(128))
    previous_visit_date: Mapped[dt.date | None] = mapped_column(Date)
    previous_label: Mapped[str | None] = mapped_column(String(64))
    previous_film: Mapped[str | None] = mapped_column(String(128))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str] = mapped_column(Text)
