"""The Store: the care record in a SQL database (SQLite file by default, PostgreSQL supported).

An adapter: it maps core objects (:mod:`fusionwatch.records`, :class:`~fusionwatch.landmarks.Landmarks`,
:class:`~fusionwatch.measurement.Measurement`) to rows and back and never judges anything clinical; the follow-up rules
live in :mod:`fusionwatch.followup`. Every public method runs in its own transaction. Identifiers (patient id, name) are
stored but never logged, and never leave the store except through :meth:`Store.get_patient`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, insert, inspect, literal, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, sessionmaker

from fusionwatch.anatomy import Level
from fusionwatch.errors import InputError
from fusionwatch.followup import build_timeline
from fusionwatch.followup.evidence import check_finding_verdict_visit, check_reader_entry_visit
from fusionwatch.followup.model import BoneEvidence, EnteredInError, SegmentMotion, Timeline, VisitInput
from fusionwatch.followup.schedule import LabelledVisit, days_since, distinct_labels, visit_label
from fusionwatch.followup.settings import DEFAULT_SETTINGS, FollowupSettings
from fusionwatch.followup.status import BRIDWELL_MEANING
from fusionwatch.io.landmark_json import landmarks_from_dict, landmarks_to_dict
from fusionwatch.landmarks import Landmarks
from fusionwatch.measurement import Measurement, MeasureName
from fusionwatch.radiograph import Radiograph
from fusionwatch.records import (
    SURGERY_FIELD_OPTIONS,
    Approach,
    Finding,
    Override,
    Patient,
    Severity,
    Surgery,
    check_patient_date,
    check_surgery_date,
    implants_for,
    levels_text,
    surgery_differences,
)
from fusionwatch.store import migrations as _migrations_pkg
from fusionwatch.store._models import (
    BaselineChangeRow,
    FindingRow,
    LandmarkSetRow,
    MeasurementRow,
    MotionRow,
    OverrideRow,
    PatientCorrectionRow,
    PatientRow,
    PromRow,
    PseudonymSeriesRow,
    RadiographRow,
    SurgeryRow,
    SymptomRow,
    VisitRow,
)
from fusionwatch.store._records import (
    ENTRY_KINDS,
    ENTRY_LISTS,
    ENTRY_NAMES,
    BaselineChange,
    FilmRecord,
    LandmarkVersion,
    OverrideRecord,
    PatientCorrection,
    PromRecord,
    PseudonymSeries,
    Retraction,
    SymptomRecord,
    VisitRecord,
)
from fusionwatch.units import Spacing

__all__ = ["Store", "DEFAULT_URL", "AmbiguousVisitError", "database_url", "migrate", "LANDMARK_KINDS"]


class AmbiguousVisitError(InputError):
    """A visit label that more than one date with films carries (e.g. two film days in the 6-month window)."""

DEFAULT_URL = "sqlite:///fusionwatch.db"
LANDMARK_KINDS = ("automatic", "file", "reader")
_MIGRATIONS_DIR = Path(_migrations_pkg.__file__).parent


def database_url(url_or_path: str | Path | None) -> str:
    """A SQLAlchemy URL from a URL or a file path (``None`` -> :data:`DEFAULT_URL`, ``x.db`` -> ``sqlite:///x.db``)."""
    if url_or_path is None:
        return DEFAULT_URL
    text = str(url_or_path)
    if "://" in text:
        if text.startswith("postgresql://"):  # use psycopg 3, the driver the project installs
            text = "postgresql+psycopg://" + text[len("postgresql://") :]
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


@functools.lru_cache(maxsize=1)
def _alembic() -> tuple[Config, str, frozenset[str]]:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    assert head is not None
    return cfg, head, frozenset(s.revision for s in script.walk_revisions())


_BEFORE_BASELINE_RECORDING = frozenset({"0001", "0002_pseudonym_series", "0003_entered_in_error",
                                        "0004_patient_corrections"})
"""Revisions whose databases hold films but no recorded baseline film (0005_baseline_changes began recording)."""


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database schema to ``revision`` with the migrations shipped in the package (no-op when there).

    Returns the revision the database was at before (``None``: an empty database).

    Raises
    ------
    InputError
        The database is at a revision this fusionwatch does not ship (upgraded by a newer version): it is left alone.
    """
    cfg, head, known = _alembic()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is not None and current not in known:
        raise InputError(f"The database was upgraded by a newer fusionwatch (schema revision {current}; this version "
                         f"knows up to {head}): install that version (or newer) to use it; nothing was changed.")
    if current == (head if revision == "head" else revision):
        return current
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _levels_to_json(levels: Sequence[tuple[Level, Level]]) -> list[list[str]]:
    return [[a.value, b.value] for a, b in levels]


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


_ENTRY_ROWS: dict[str, type[PromRow] | type[SymptomRow] | type[OverrideRow]] = {
    "prom": PromRow, "symptoms": SymptomRow, "override": OverrideRow,
}


_SERIES_LOCK_KEY = 0x46575053  # "FWPS": the PostgreSQL advisory lock that serialises recording a pseudonym series
_NAME_MAX = 128
LATERAL_FILM_TARGET = "film:lateral"
"""Override target of a reader's choice of the visit's measured neutral lateral film (value: the film's SOP Instance
UID or id; ``fusionwatch override add KEY VISIT --lateral-film FILE``), when a visit holds several (R's F2)."""
"""Length of the author / retracted-by / override-target columns (String(128)): checked here, not by the database
(PostgreSQL raises StringDataRightTruncation, SQLite stores any length: the backends must not differ)."""
_FIRST_BIRTH_DATE = dt.date(1900, 1, 1)
"""A birth date before this is a placeholder or a typing mistake (as ingest's first plausible film date)."""
_ID_MAX = 2**31 - 1
"""The largest entry id (a 32-bit INTEGER on PostgreSQL); a larger number is no entry, not a database error."""


def _check_name(text: str, what: str) -> None:
    if len(text) > _NAME_MAX:
        raise InputError(f"{what} is {len(text)} characters long; at most {_NAME_MAX} are stored (a name or "
                         "an initials-and-role such as 'Dr Kim, radiology'); nothing changed.")


def _retraction(row: PromRow | SymptomRow | OverrideRow) -> Retraction | None:
    if row.retracted_at is None:
        return None
    return Retraction(_utc(row.retracted_at), row.retracted_by or "", row.retraction_reason or "")


class Store:
    """The care record.

    Parameters
    ----------
    url : str | Path | None
        SQLAlchemy URL (``sqlite:///file.db``, ``postgresql://user@/db?host=/socket/dir``) or a SQLite file path;
        default :data:`DEFAULT_URL` (``fusionwatch.db`` in the working directory).
    upgrade : bool
        Apply the shipped migrations on open (default). An empty database gets the whole schema.
    settings : FollowupSettings
        Visit schedule and thresholds used to label visits and build timelines.
    """

    def __init__(
        self, url: str | Path | None = None, *, upgrade: bool = True, settings: FollowupSettings = DEFAULT_SETTINGS
    ) -> None:
        self.url = database_url(url)
        self.settings = settings
        self.engine = create_engine(self.url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        before = migrate(self.engine) if upgrade else None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if before in _BEFORE_BASELINE_RECORDING and "baseline_changes" in self.table_names():
            # a database upgraded across 0005 holds films but no recorded baseline film: record each patient's now,
            # or the first move after the upgrade (a 6-week film ingested after the immediate one) would be taken
            # for the patient's first recording and not be said
            for key in self.list_patients():
                self.record_baseline(key, cause="the baseline film on record when baseline recording began")

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def table_names(self) -> list[str]:
        """Tables present in the database (for checks and diagnostics)."""
        return sorted(inspect(self.engine).get_table_names())

    # ------------------------------------------------------------------ patients and surgery
    def add_patient(self, patient: Patient, *, same_patient_id_wins: bool = False) -> Patient:
        """Add a patient, or return the stored one with the same key (identifiers already stored are kept; one not yet
        stored is added).

        Parameters
        ----------
        patient : Patient
        same_patient_id_wins : bool
            ``patient.key`` is a fresh key proposed for a DICOM Patient ID that no stored patient had when the caller
            looked (the first film of a new patient at ingest): a patient stored meanwhile with this Patient ID
            (another ingest of the same patient at once) is the one added to and returned, not refused as another
            patient's (before, the two ingests made two patients with one Patient ID).

        Raises
        ------
        InputError
            If the key is empty; another patient with the same DICOM Patient ID exists under a different key; the
            key's patient has another Patient ID; the birth date is not the one on record (one a correction replaced
            excepted: the record wins) or, given first, is after the surgery or first visit on record. Nothing is
            stored; no date is named (identifiers).

        Notes
        -----
        Patients are created and given their first identifiers under one lock (:meth:`_patient_creation_lock`), taken
        before anything is read: two first ingests of one new patient at once run one after the other, and the second
        meets the first's birth date on record. Before, each read 'no patient' and the second failed on the unique key
        (an IntegrityError quoting the SQL) or made a second patient with the same Patient ID, or its birth date was
        dropped without a word.
        """
        if not patient.key or not patient.key.strip():
            raise InputError("A patient needs a non-empty pseudonymous key.")
        with self._tx() as s:
            self._patient_creation_lock(s, patient.key)
            row = s.scalar(select(PatientRow).where(PatientRow.key == patient.key))
            if patient.patient_id:
                other = s.scalar(select(PatientRow).where(PatientRow.patient_id == patient.patient_id))
                if other is not None and row is None and same_patient_id_wins:
                    row = other
                elif other is not None and (row is None or other.id != row.id):
                    raise InputError(
                        f"Another patient (key {other.key!r}) already has this Patient ID; "
                        f"cannot add it to {patient.key!r}."
                    )
            if row is None:
                row = PatientRow(key=patient.key)
                s.add(row)
            elif patient.patient_id and row.patient_id and row.patient_id != patient.patient_id:
                raise InputError(f"Patient {patient.key!r} already has a different Patient ID; it was not changed.")
            elif row.birth_date is None and patient.birth_date is not None:
                # a birth date first given for a patient with records (a film's DICOM header at ingest) obeys the rule
                # a correction does: not after the surgery or the first visit on record (no date named: identifiers)
                for what, day, _ in self._records_after_birth(s, row):
                    if day < patient.birth_date:
                        raise InputError(
                            f"The birth date given for patient {row.key!r} (in the file's DICOM header, or typed) "
                            f"is after {what}: the file's patient data are wrong, or it is another patient's; nothing "
                            "was stored. Check the file; a birth date on record is set with `fusionwatch patient "
                            "correct KEY --birth-date D`.")
            elif patient.birth_date not in (None, row.birth_date) and patient.birth_date.isoformat() not in s.scalars(
                    select(PatientCorrectionRow.old_value).where(PatientCorrectionRow.patient_id == row.id,
                                                                 PatientCorrectionRow.field == "birth_date")):
                # another birth date than the one on record (and not one a correction replaced: films keep the old,
                # wrong header after `patient correct`, and the record wins): a birth date changes only with its audit
                raise InputError(
                    f"The birth date given for patient {row.key!r} (in the file's DICOM header or journey manifest) "
                    "is not the one on record: the file's patient data are wrong, or it is another patient's; nothing "
                    f"was stored. If the record is wrong, correct it with `fusionwatch patient correct {row.key} "
                    "--birth-date D --by NAME --reason WHY`.")
            for attr in ("patient_id", "name", "birth_date", "sex"):
                if getattr(row, attr) is None and getattr(patient, attr) is not None:
                    setattr(row, attr, getattr(patient, attr))
            s.flush()
            return self._patient(row)

    def _records_after_birth(self, s: Session, patient: PatientRow) -> list[tuple[str, dt.date, str]]:
        """The earliest records a birth date must precede, as ``(what, date, visit label)``: the surgery on record
        (label ``""``) and the first standing visit on record; the one rule a first birth date (:meth:`add_patient`,
        whose message names neither date nor label: an unscheduled visit's label holds its date) and a corrected one
        (:meth:`correct_birth_date`) obey."""
        surgery = self._surgery_row(s, patient)
        visits = self._standing_visits(s, patient)
        return ([("the surgery on record", surgery.date, "")] if surgery is not None else []) + (
            [("the first visit on record", visits[0].date, visits[0].label)] if visits else [])

    def _patient_creation_lock(self, s: Session, key: str) -> None:
        """The lock under which patients are created and given their first identifiers, taken first in the
        transaction: a row lock cannot cover a patient not yet written, so on PostgreSQL the patients table's SHARE
        ROW EXCLUSIVE lock (one holder at a time; reads go on; writers of patient rows wait for the short
        transaction), on SQLite the database write lock (a no-op write, as :meth:`_locked_patient_row`)."""
        if self.engine.dialect.name == "postgresql":
            s.execute(sql_text("LOCK TABLE patients IN SHARE ROW EXCLUSIVE MODE"))
        else:
            s.execute(update(PatientRow).where(PatientRow.key == key).values(key=PatientRow.key))

    @staticmethod
    def _patient(row: PatientRow) -> Patient:
        return Patient(key=row.key, patient_id=row.patient_id, name=row.name, birth_date=row.birth_date, sex=row.sex)

    def new_patient_key(self) -> str:
        """A fresh random pseudonymous key ``P-XXXXXXXXXX`` (derived from nothing that identifies the patient)."""
        return "P-" + uuid.uuid4().hex[:10].upper()

    def _patient_row(self, s: Session, key: str) -> PatientRow:
        row = s.scalar(select(PatientRow).where(PatientRow.key == key))
        if row is None:
            raise InputError(f"Unknown patient key {key!r}; add it with `fusionwatch patient add` or ingest its films.")
        return row

    def get_patient(self, key: str) -> Patient:
        """The patient with identifiers (for the clinic's own use; never for logs or exports)."""
        with self._tx() as s:
            return self._patient(self._patient_row(s, key))

    def find_patient_key(self, patient_id: str) -> str | None:
        """The pseudonymous key of the patient with this DICOM Patient ID, or ``None``."""
        with self._tx() as s:
            return s.scalar(select(PatientRow.key).where(PatientRow.patient_id == patient_id))

    def has_patient(self, key: str) -> bool:
        """True when a patient with this pseudonymous key is stored."""
        with self._tx() as s:
            return s.scalar(select(PatientRow.id).where(PatientRow.key == key)) is not None

    def list_patients(self, *, without_surgery: bool = False) -> list[str]:
        """Pseudonymous keys of all patients, sorted; with ``without_surgery`` only those with no surgery on record
        (a de-identified export leaves them out: their dates cannot be shifted)."""
        with self._tx() as s:
            q = select(PatientRow.key)
            if without_surgery:
                q = q.where(~select(SurgeryRow.id).where(SurgeryRow.patient_id == PatientRow.id).exists())
            return sorted(s.scalars(q))

    def correct_birth_date(
        self, key: str, birth_date: dt.date, *, by: str, reason: str, at: dt.datetime | None = None,
        today: dt.date | None = None,
    ) -> PatientCorrection:
        """Correct patient ``key``'s birth date (a typing mistake, or a wrong date carried in an ingested file).

        The patient row takes the new date and a :class:`PatientCorrection` keeps the old one with who corrected it,
        when and why (:meth:`list_patient_corrections`), in ONE transaction. The new date goes through the
        patient-date rule every dated record obeys (:func:`fusionwatch.records.check_patient_date`): refused when it
        is in the future, before 1900 (a placeholder), or after the surgery or any visit on record (films,
        questionnaires, symptom reports: the patient was born before them).

        Parameters
        ----------
        birth_date : date
            The right birth date.
        by, reason : str
            Who corrects it and why (both required; e.g. ``"rn-lee"``, ``"DICOM header had 1906 for 1960"``).
        at : datetime, optional
            When (UTC; default now).

        Returns
        -------
        PatientCorrection
            The audit entry, with the old value (``None`` when no birth date was recorded).

        Raises
        ------
        InputError
            Unknown patient, no ``by`` or ``reason``, the date already on record, or an impossible date (naming the
            record it contradicts); nothing is changed.
        """
        if not isinstance(birth_date, dt.date) or isinstance(birth_date, dt.datetime):
            raise TypeError(f"birth_date must be a date, got {birth_date!r}.")
        by = self._check_who_and_why("a birth date", by, reason, "'typed 1906 for 1960', 'wrong date in the DICOM "
                                     "header'")
        if birth_date < _FIRST_BIRTH_DATE:
            raise InputError(f"Birth date {birth_date.isoformat()} is impossible (before {_FIRST_BIRTH_DATE.year}; "
                             "often a placeholder date): check the date; nothing changed.")
        check_patient_date(birth_date, key=key, birth_date=None, surgery_date=None, today=today,
                           what="The corrected birth date")
        with self._tx() as s:
            patient = self._locked_patient_row(s, key)  # racing corrections: one after the other
            when = _utc(at or dt.datetime.now(dt.UTC))  # after the lock: the audit's order is the commit order
            if patient.birth_date == birth_date:
                raise InputError(f"Patient {key!r} already has this birth date on record; nothing changed.")
            for what, day, label in self._records_after_birth(s, patient):  # every dated record's rule
                try:
                    check_patient_date(day, key=key, birth_date=birth_date, surgery_date=None, today=today,
                                       what=what[0].upper() + what[1:] + (f" ({label})" if label else ""),
                                       check="check the corrected birth date")
                except InputError as exc:
                    raise InputError(f"Birth date {birth_date.isoformat()} refused: {exc} Nothing changed.") from None
            row = PatientCorrectionRow(
                patient_id=patient.id,
                field="birth_date",
                old_value=patient.birth_date.isoformat() if patient.birth_date else None,
                new_value=birth_date.isoformat(),
                corrected_at=when,
                corrected_by=by,
                reason=reason.strip(),
            )
            s.add(row)
            patient.birth_date = birth_date
            s.flush()
            return self._correction(key, row)

    def correct_surgery_date(
        self, key: str, surgery_date: dt.date, *, by: str, reason: str, visits_change_side: bool = False,
        at: dt.datetime | None = None, today: dt.date | None = None,
    ) -> PatientCorrection:
        """Correct the date of patient ``key``'s index operation, with the audit a birth-date correction keeps.

        In ONE transaction the surgery row takes the new date, every visit's days since surgery and label are
        recomputed, and a :class:`PatientCorrection` (field ``surgery_date``) keeps the old date with who corrected it,
        when and why (:meth:`list_patient_corrections`). Moving the baseline film, and the follow-up analysis made
        against it, are the caller's (:func:`fusionwatch.ingest.correct_surgery_date` records the move and re-runs
        the hardware and motion checks).

        The date rules: the range of :func:`fusionwatch.records.check_surgery_date` (30 years back to one year ahead:
        a planned operation can be rescheduled), not before the birth date on record, every visit on record within
        30 years of it. A visit on record that would change side of the operation (a post-operative film becoming
        pre-operative, or a pre-operative one post-operative) is refused unless ``visits_change_side``: it changes
        which film is the early post-operative baseline and every change measured against it, and a mistyped new date
        (a month or a year off) does exactly that; the refusal names the visits.

        Parameters
        ----------
        surgery_date : date
            The right date of the index operation.
        by, reason : str
            Who corrects it and why (both required).
        visits_change_side : bool
            The visits the refusal named are confirmed to be on the other side of the operation.
        at : datetime, optional
            When (UTC; default now).

        Returns
        -------
        PatientCorrection
            The audit entry with the old and new date.

        Raises
        ------
        InputError
            Unknown patient, no surgery on record (record it with ``patient add``), no ``by`` or ``reason``, the date
            already on record, an impossible date, or visits changing side without ``visits_change_side``; nothing
            is changed.
        """
        if not isinstance(surgery_date, dt.date) or isinstance(surgery_date, dt.datetime):
            raise TypeError(f"surgery_date must be a date, got {surgery_date!r}.")
        by = self._check_who_and_why("a surgery date", by, reason, "'typed 2025-01-21 for 2025-01-12', 'the "
                                     "operation was postponed'")
        try:
            check_surgery_date(surgery_date, what="The corrected surgery date", today=today)
        except InputError as exc:
            raise InputError(f"{exc} Nothing changed.") from None
        with self._tx() as s:
            patient = self._locked_patient_row(s, key)  # racing corrections: one after the other
            when = _utc(at or dt.datetime.now(dt.UTC))  # after the lock: the audit's order is the commit order
            row = self._surgery_row(s, patient)
            if row is None:
                raise InputError(f"Patient {key!r} has no surgery on record to correct; record it with `fusionwatch "
                                 f"patient add {key} --surgery-date D`. Nothing changed.")
            old = row.date
            if old == surgery_date:
                raise InputError(f"Patient {key!r} already has surgery date {old.isoformat()} on record; nothing "
                                 "changed.")
            if patient.birth_date is not None and surgery_date < patient.birth_date:
                raise InputError(f"Surgery date {surgery_date.isoformat()} refused: it is before patient {key!r} was "
                                 "born (the birth date on record): check the date, or correct the birth date first "
                                 "(`fusionwatch patient correct KEY --birth-date D`). Nothing changed.")
            visits = self._standing_visits(s, patient)
            for v in (visits[:1] + visits[-1:]) if visits else []:
                if abs((v.date - surgery_date).days) > 30 * 366:
                    raise InputError(f"Surgery date {surgery_date.isoformat()} refused: the visit of "
                                     f"{v.date.isoformat()} on record would be more than 30 years from it: check the "
                                     "date. Nothing changed.")
            crossing = [(v, lab) for v, lab in self._timeline_labels(s, patient)
                        if (v.date < old) != (v.date < surgery_date)]
            if crossing and not visits_change_side:
                named = "; ".join(
                    f"{v.date.isoformat()} ({lab}, "
                    + ("post-operative -> pre-operative" if v.date >= old else "pre-operative -> post-operative")
                    + (", with films" if v.radiographs else "") + ")" for v, lab in crossing)
                raise InputError(
                    f"Surgery date {old.isoformat()} -> {surgery_date.isoformat()} for patient {key!r} moves "
                    f"{len(crossing)} visit(s) to the other side of the operation: {named}. That changes the early "
                    "post-operative baseline film and every change measured against it; a new date a month or a year "
                    "off does the same. If those visits really were on that side, run the command again with "
                    "--visits-change-side. Nothing changed.")
            s.add(correction := PatientCorrectionRow(
                patient_id=patient.id,
                field="surgery_date",
                old_value=old.isoformat(),
                new_value=surgery_date.isoformat(),
                corrected_at=when,
                corrected_by=by,
                reason=reason.strip(),
            ))
            row.date = surgery_date
            self._relabel_visits(s, patient, surgery_date)
            s.flush()
            return self._correction(key, correction)

    def correct_surgery(
        self, key: str, *, approach: Approach | None = None, levels: Sequence[tuple[Level, Level]] | None = None,
        by: str, reason: str, at: dt.datetime | None = None,
    ) -> list[PatientCorrection]:
        """Correct the approach and/or fused levels of patient ``key``'s index operation, with the audit a date
        correction keeps.

        In ONE transaction the surgery row takes the new values and a :class:`PatientCorrection` is added per field
        that changes (``approach``, ``levels`` as ``L4-L5,L5-S1``, and ``implants`` when a new approach changes the
        implants: :func:`fusionwatch.records.implants_for`), each with the old value, who, when and the same reason.
        The implants decide what the follow-up calls a disc height loss at the fused level (cage subsidence with an
        interbody cage, fused disc height loss without one), so they never change without this record. Approach and
        levels may be corrected together (one operation note: "an ALIF at L4-S1"); dates have their own corrections
        (:meth:`correct_surgery_date`, :meth:`correct_birth_date`). The follow-up analysis made on the record is the
        caller's to run again (:func:`fusionwatch.ingest.correct_surgery`).

        Parameters
        ----------
        approach : Approach, optional
            The right approach.
        levels : sequence of (Level, Level), optional
            The right fused segments, e.g. ``((Level.L4, Level.L5), (Level.L5, Level.S1))``.
        by, reason : str
            Who corrects it and why (both required).
        at : datetime, optional
            When (UTC; default now).

        Returns
        -------
        list[PatientCorrection]
            The audit entries written, one per changed field (approach, levels, implants order).

        Raises
        ------
        InputError
            Unknown patient, no surgery on record (record it with ``patient add``), neither field given, no ``by`` or
            ``reason``, or both values already on record; nothing is changed.
        """
        if approach is None and levels is None:
            raise InputError("Correcting the surgery needs --approach or --levels; nothing changed.")
        if approach is not None and not isinstance(approach, Approach):
            raise TypeError(f"approach must be an Approach, got {approach!r}.")
        segs = tuple(levels) if levels is not None else None
        if segs is not None:
            Surgery(dt.date(2000, 1, 1), levels=segs)  # adjacent levels: the record's own rule (InputError)
        by = self._check_who_and_why("the surgery record", by, reason, "'operation note: ALIF L4-S1', 'typed TLIF "
                                     "for PLIF'")
        with self._tx() as s:
            patient = self._locked_patient_row(s, key)
            when = _utc(at or dt.datetime.now(dt.UTC))  # after the lock: the audit's order is the commit order
            row = self._surgery_row(s, patient)
            if row is None:
                raise InputError(f"Patient {key!r} has no surgery on record to correct; record it with `fusionwatch "
                                 f"patient add {key} --surgery-date D`. Nothing changed.")
            stored = self._surgery(row)
            assert stored is not None
            changes: list[tuple[str, str, str]] = []
            if approach is not None and approach is not stored.approach:
                changes.append(("approach", stored.approach.value, approach.value))
                if implants_for(approach) != stored.implants:
                    changes.append(("implants", ",".join(stored.implants), ",".join(implants_for(approach))))
            if segs is not None and segs != stored.levels:
                changes.insert(1 if changes and changes[0][0] == "approach" else 0,
                               ("levels", levels_text(stored.levels), levels_text(segs)))
            if not changes:
                raise InputError(f"Patient {key!r} already has {stored.approach.value} "
                                 f"{levels_text(stored.levels)} on record; nothing changed.")
            out = []
            for field, old, new in changes:
                s.add(correction := PatientCorrectionRow(
                    patient_id=patient.id, field=field, old_value=old, new_value=new, corrected_at=when,
                    corrected_by=by, reason=reason.strip()))
                s.flush()
                out.append(self._correction(key, correction))
            if approach is not None and approach is not stored.approach:
                row.approach = approach.value
                row.implants = list(implants_for(approach))
            if segs is not None:
                row.levels = _levels_to_json(segs)
            s.flush()
            return out

    def _locked_patient_row(self, s: Session, key: str) -> PatientRow:
        """Patient ``key``'s row, read after taking its write lock (a no-op write: a row lock on PostgreSQL, the
        database write lock on SQLite), so that what the transaction reads next (the surgery on record, the values a
        correction replaces) cannot change before it commits: racing corrections run one after the other."""
        s.execute(update(PatientRow).where(PatientRow.key == key).values(key=PatientRow.key))
        return self._patient_row(s, key)

    @staticmethod
    def _check_who_and_why(what: str, by: str, reason: str, examples: str) -> str:
        """``by`` stripped, after checking a correction of ``what`` names who and why (InputError otherwise)."""
        if not by or not by.strip():
            raise InputError(f"Correcting {what} needs who does it; nothing changed.")
        if not reason or not reason.strip():
            raise InputError(f"Correcting {what} needs the reason (e.g. {examples}); nothing changed.")
        _check_name(by.strip(), f"Who corrects {what}")
        return by.strip()

    @staticmethod
    def _correction(key: str, row: PatientCorrectionRow) -> PatientCorrection:
        return PatientCorrection(row.id, key, row.field, row.old_value, row.new_value, _utc(row.corrected_at),
                                 row.corrected_by, row.reason)

    def list_patient_corrections(self, key: str) -> list[PatientCorrection]:
        """Every correction of patient ``key``'s record, oldest first, with the old values (the audit; identifiers:
        for the clinic's own use, never for logs or exports)."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            rows = s.scalars(select(PatientCorrectionRow).where(PatientCorrectionRow.patient_id == p.id)
                             .order_by(PatientCorrectionRow.corrected_at, PatientCorrectionRow.id)).all()
            return [self._correction(key, r) for r in rows]

    @staticmethod
    def _surgery_row(s: Session, patient: PatientRow) -> SurgeryRow | None:
        return s.scalar(
            select(SurgeryRow).where(SurgeryRow.patient_id == patient.id).order_by(SurgeryRow.id.desc()).limit(1)
        )

    @staticmethod
    def _surgery(row: SurgeryRow | None) -> Surgery | None:
        if row is None:
            return None
        return Surgery(
            date=row.date,
            levels=tuple((Level(a), Level(b)) for a, b in row.levels),
            approach=Approach(row.approach),
            implants=tuple(row.implants or ()),
            notes=row.notes or "",
        )

    def set_surgery(self, key: str, surgery: Surgery) -> Surgery:
        """Record the index operation; every visit's days since surgery and label are recomputed.

        A patient's operation is recorded once: the same record again changes nothing (but its notes), and a record
        with another date, approach, levels or implants is refused here, in the writing transaction (the patient
        row's write lock taken first), so no caller changes it without the audit of :meth:`correct_surgery_date` /
        :meth:`correct_surgery`, and a caller that checked the record before a correction committed cannot undo it.

        Raises
        ------
        InputError
            Unknown patient, or a surgery on record that differs (naming the fields and the `patient correct`
            command); nothing is changed.
        """
        with self._tx() as s:
            patient = self._locked_patient_row(s, key)
            row = self._surgery_row(s, patient)
            if row is None:
                row = SurgeryRow(patient_id=patient.id)
                s.add(row)
            else:
                stored = self._surgery(row)
                assert stored is not None
                differ = surgery_differences(stored, surgery)
                if differ:
                    fix = SURGERY_FIELD_OPTIONS
                    args = " ".join(f"{fix[name]} {new}" for name, _, new in differ if name in fix)
                    raise InputError(
                        f"Patient {key!r} has " + "; ".join(f"{name} {old}" for name, old, _ in differ)
                        + " on record, not " + "; ".join(new for _, _, new in differ) + ": a recorded surgery is "
                        f"changed only with its audit: `fusionwatch patient correct {key} {args or '--approach X'} "
                        "--by NAME --reason WHY` (the old values are kept with who, when and why). Nothing changed.")
            row.date = surgery.date
            row.levels = _levels_to_json(surgery.levels)
            row.approach = surgery.approach.value
            row.implants = list(surgery.implants)
            row.notes = surgery.notes
            self._relabel_visits(s, patient, surgery.date)
            return surgery

    def _relabel_visits(self, s: Session, patient: PatientRow, surgery_date: dt.date) -> None:
        """Every visit's days since surgery and label from ``surgery_date``."""
        for visit in s.scalars(select(VisitRow).where(VisitRow.patient_id == patient.id)):
            visit.days_since_surgery = days_since(surgery_date, visit.date)
            visit.label, visit.scheduled = visit_label(visit.days_since_surgery, visit.date, self.settings.schedule)

    def get_surgery(self, key: str) -> Surgery | None:
        with self._tx() as s:
            return self._surgery(self._surgery_row(s, self._patient_row(s, key)))

    def check_patient_date(self, key: str, when: dt.date, *, what: str = "date", check: str = "check the date") -> None:
        """Refuse a date that cannot be patient ``key``'s before anything dated is stored (a film, questionnaire or
        symptom report: a wrong date becomes a visit of its own in every report): after today, before the birth date
        on record, or more than 30 years from the surgery on record (:func:`fusionwatch.records.check_patient_date`
        with the stored birth and surgery dates; ``what`` and ``check`` word the message).

        Raises
        ------
        InputError
            The unknown patient, or the date and the bound it breaks.
        """
        with self._tx() as s:
            patient = self._patient_row(s, key)
            surgery = self._surgery_row(s, patient)
            birth = patient.birth_date
        check_patient_date(when, key=key, birth_date=birth, surgery_date=surgery.date if surgery else None, what=what,
                           check=check)

    # ------------------------------------------------------------------ visits
    def _visit_row(self, s: Session, patient: PatientRow, when: dt.date) -> VisitRow:
        row = s.scalar(select(VisitRow).where(VisitRow.patient_id == patient.id, VisitRow.date == when))
        if row is None:
            surgery = self._surgery_row(s, patient)
            days = days_since(surgery.date if surgery else None, when)
            label, scheduled = visit_label(days, when, self.settings.schedule)
            row = VisitRow(patient_id=patient.id, date=when, days_since_surgery=days, label=label, scheduled=scheduled)
            s.add(row)
            s.flush()
        return row

    @staticmethod
    def _timeline_labels(s: Session | None, patient: PatientRow) -> list[tuple[VisitRow, str]]:
        """The patient's visits in date order with the label the timeline shows for each: the stored per-date label
        made distinct by the timeline's own rule (:func:`fusionwatch.followup.schedule.distinct_labels`: a contact
        without films inside a window held by a visit with films is ``contact day N``). Every label the store gives
        out (visits, films, overrides) is this one; the database keeps the per-date label."""
        rows = Store._standing_visits(s, patient)
        labels = distinct_labels([LabelledVisit(r.label, r.days_since_surgery, bool(r.radiographs)) for r in rows])
        return list(zip(rows, labels, strict=True))

    @staticmethod
    def _standing_visits(s: Session | None, patient: PatientRow) -> list[VisitRow]:
        """The patient's visits of the record in date order: every visit but those holding only entries entered in
        error (:meth:`_void_visit_ids`). The one list the timeline, its labels and a reader's visit names come from."""
        if s is None:
            rows = sorted(patient.visits, key=lambda r: r.date)
        else:
            rows = s.scalars(select(VisitRow).where(VisitRow.patient_id == patient.id).order_by(VisitRow.date)).all()
        void = Store._void_visit_ids(s or object_session(patient), rows)
        return [r for r in rows if r.id not in void]

    @staticmethod
    def _void_visit_ids(s: Session | None, rows: Sequence[VisitRow]) -> set[int]:
        """Ids of the visits in ``rows`` that hold nothing but entries entered in error (no films, findings or motion,
        no standing PROM, symptom report or override): a questionnaire typed with the wrong date made such a visit, and
        it is not a visit of the record (it would mark a scheduled visit done and show as a contact in every report)."""
        candidates = [r.id for r in rows if not r.radiographs]
        if not candidates or s is None:
            return set()
        standing: set[int] = set()
        retracted: set[int] = set()
        for row in (PromRow, SymptomRow, OverrideRow):
            q = select(row.visit_id, row.retracted_at).where(row.visit_id.in_(candidates))
            for visit_id, at in s.execute(q):
                (standing if at is None else retracted).add(visit_id)
        for row in (FindingRow, MotionRow):
            standing.update(s.scalars(select(row.visit_id).where(row.visit_id.in_(candidates))))
        return retracted - standing

    def _find_visit(self, s: Session, patient: PatientRow, visit: str | dt.date) -> VisitRow:
        """The visit a reader names: a date, or a label as the timeline shows it (``6-months``, ``contact day 200``,
        ``6-months (day 200)``). A scheduled label held by more than one date with films is refused
        (:class:`AmbiguousVisitError`, naming the dates); a contact without films never takes its window's label."""
        if isinstance(visit, dt.date):  # a visit holding only entries entered in error is no visit
            row = next((r for r in self._standing_visits(s, patient) if r.date == visit), None)
            labelled = None
        else:
            labelled = self._timeline_labels(s, patient)
            with_films = [(r, lab) for r, lab in labelled if r.label == visit and r.radiographs]
            if len(with_films) > 1:
                dates = ", ".join(f"{r.date.isoformat()} ({lab})" for r, lab in with_films)
                raise AmbiguousVisitError(
                    f"Patient {patient.key!r}: visit {visit!r} is ambiguous, {len(with_films)} dates with films carry "
                    f"it: {dates}; give the date (YYYY-MM-DD) or the timeline label."
                )
            row = next((r for r, lab in labelled if lab == visit), None)
        if row is None:
            labelled = labelled if labelled is not None else self._timeline_labels(s, patient)
            known = [lab for _, lab in labelled]
            raise InputError(
                f"Patient {patient.key!r} has no visit {visit!s}; known visits: {', '.join(known) or 'none'}."
            )
        return row

    def visit_date(self, key: str, visit: str | dt.date) -> dt.date:
        """The date of the visit a reader names (a date or a timeline label), by the one rule every command uses
        (:meth:`_find_visit`): an ambiguous scheduled label is refused with :class:`AmbiguousVisitError`."""
        with self._tx() as s:
            return self._find_visit(s, self._patient_row(s, key), visit).date

    def _labels_by_visit_id(self, s: Session | None, patient: PatientRow) -> dict[int, str]:
        """Visit id -> the label the timeline shows (:meth:`_timeline_labels`)."""
        return {r.id: lab for r, lab in self._timeline_labels(s, patient)}

    def _timeline_label(self, s: Session | None, row: VisitRow) -> str:
        # a visit holding only entries entered in error has no timeline label: its stored per-date label stands in
        return self._labels_by_visit_id(s, row.patient).get(row.id, row.label)

    @staticmethod
    def _visit(key: str, row: VisitRow, label: str | None = None) -> VisitRecord:
        return VisitRecord(key, row.date, row.days_since_surgery, label or row.label, row.scheduled)

    def add_visit(self, key: str, when: dt.date) -> VisitRecord:
        """The visit of this patient on this date, created (and labelled from the surgery date) when new."""
        with self._tx() as s:
            row = self._visit_row(s, self._patient_row(s, key), when)
            return self._visit(key, row, self._timeline_label(s, row))

    def list_visits(self, key: str) -> list[VisitRecord]:
        with self._tx() as s:
            p = self._patient_row(s, key)
            return [self._visit(key, r, lab) for r, lab in self._timeline_labels(s, p)]

    # ------------------------------------------------------------------ films, landmarks, measurements
    def film_id_for_hash(self, file_sha256: str) -> str | None:
        """The id of a stored film whose file had this SHA-256, or ``None`` (lets a re-run skip without decoding)."""
        with self._tx() as s:
            return s.scalar(select(RadiographRow.sop_uid).where(RadiographRow.file_sha256 == file_sha256).limit(1))

    def has_film(self, film_id: str) -> bool:
        with self._tx() as s:
            return s.scalar(select(RadiographRow.id).where(RadiographRow.sop_uid == film_id)) is not None

    def add_film(
        self,
        key: str,
        radiograph: Radiograph,
        *,
        film_id: str,
        file_path: str,
        file_sha256: str,
        visit_date: dt.date,
        landmarks: Landmarks | None = None,
        landmark_kind: str = "file",
        landmark_author: str | None = None,
        measurements: Sequence[Measurement] = (),
        findings: Sequence[Finding] = (),
        implants: Mapping[str, Any] | None = None,
    ) -> tuple[FilmRecord, bool]:
        """Store one film with its visit, landmarks, measurements and ingest findings in ONE transaction.

        Returns
        -------
        (FilmRecord, bool)
            The stored film and ``True``, or the film already stored under ``film_id`` and ``False`` (nothing changed).
        """
        if landmark_kind not in LANDMARK_KINDS:
            raise ValueError(f"landmark_kind must be one of {LANDMARK_KINDS}, got {landmark_kind!r}.")
        args: dict[str, Any] = dict(
            film_id=film_id,
            file_path=file_path,
            file_sha256=file_sha256,
            visit_date=visit_date,
            landmarks=landmarks,
            landmark_kind=landmark_kind,
            landmark_author=landmark_author,
            measurements=measurements,
            findings=findings,
            implants=implants,
        )
        try:
            return self._add_film_once(key, radiograph, **args)
        except IntegrityError:  # a concurrent ingest stored this film or created this visit first: look again
            return self._add_film_once(key, radiograph, **args)

    def _add_film_once(
        self,
        key: str,
        radiograph: Radiograph,
        *,
        film_id: str,
        file_path: str,
        file_sha256: str,
        visit_date: dt.date,
        landmarks: Landmarks | None,
        landmark_kind: str,
        landmark_author: str | None,
        measurements: Sequence[Measurement],
        findings: Sequence[Finding],
        implants: Mapping[str, Any] | None,
    ) -> tuple[FilmRecord, bool]:
        with self._tx() as s:
            existing = s.scalar(select(RadiographRow).where(RadiographRow.sop_uid == film_id))
            if existing is not None:
                return self._film(existing), False
            patient = self._patient_row(s, key)
            visit = self._visit_row(s, patient, visit_date)
            sp: Spacing | None = radiograph.spacing
            film = RadiographRow(
                visit_id=visit.id,
                sop_uid=film_id,
                study_uid=radiograph.ids.study_uid,
                series_uid=radiograph.ids.series_uid,
                file_path=file_path,
                file_sha256=file_sha256,
                view=radiograph.view.value if radiograph.view else None,
                facing=radiograph.facing.value if radiograph.facing else None,
                spacing_dx_mm=sp.dx_mm if sp else None,
                spacing_dy_mm=sp.dy_mm if sp else None,
                spacing_source=sp.source.value if sp else None,
                acquired=radiograph.acquired,
                width=radiograph.width,
                height=radiograph.height,
                warnings=list(radiograph.warnings),
                implants=dict(implants) if implants is not None else None,
            )
            s.add(film)
            s.flush()
            if landmarks is not None:
                self._add_landmark_set(s, film, landmarks, landmark_kind, landmark_author, measurements)
            for f in findings:
                s.add(self._finding_row(visit.id, film.id, "ingest", f))
            s.flush()
            return self._film(film), True

    @staticmethod
    def _finding_row(visit_id: int, film_id: int | None, origin: str, f: Finding) -> FindingRow:
        return FindingRow(
            visit_id=visit_id,
            radiograph_id=film_id,
            origin=origin,
            kind=f.kind,
            severity=f.severity.value,
            summary=f.summary,
            evidence=dict(f.evidence),
            threshold=f.threshold,
            films=list(f.films),
        )

    @staticmethod
    def _add_landmark_set(
        s: Session,
        film: RadiographRow,
        landmarks: Landmarks,
        kind: str,
        author: str | None,
        measurements: Sequence[Measurement],
    ) -> LandmarkSetRow:
        version = 1 + max((ls.version for ls in film.landmark_sets), default=0)
        ls = LandmarkSetRow(
            radiograph_id=film.id,
            version=version,
            kind=kind,
            source=landmarks.source[:128],
            author=author,
            data=landmarks_to_dict(landmarks),
        )
        film.landmark_sets.append(ls)
        for m in measurements:
            ls.measurements.append(
                MeasurementRow(
                    name=m.name.value,
                    value=m.value,
                    unit=m.unit.value,
                    method=m.method,
                    points=list(m.points),
                    spacing_source=m.spacing_source.value if m.spacing_source else None,
                    uncertainty=m.uncertainty,
                    reason=m.reason,
                    warnings=list(m.warnings),
                )
            )
        return ls

    def add_landmark_set(
        self,
        film_id: str,
        landmarks: Landmarks,
        *,
        kind: str = "reader",
        author: str | None = None,
        measurements: Sequence[Measurement] = (),
        findings: Sequence[Finding] = (),
        radiograph: Radiograph | None = None,
    ) -> int:
        """Add a new landmark version (with its measurements) to a stored film; earlier versions are kept.

        A reader version needs an ``author``. The film's "needs landmarks" flag is cleared. ``findings`` are stored as
        the film's ingest findings (as :meth:`add_film` stores them); ``radiograph``, the film as measured, sets the
        stored view and facing and adds its warnings, so landmarks added later leave the film as :meth:`add_film`
        with landmarks would. Returns the new version number.
        """
        if kind not in LANDMARK_KINDS:
            raise ValueError(f"kind must be one of {LANDMARK_KINDS}, got {kind!r}.")
        if kind == "reader" and not author:
            raise InputError("A reader's landmark version needs the reader's name (author).")
        _check_name(author or "", "The landmark version's author")
        with self._tx() as s:
            film = self._film_row(s, film_id)
            ls = self._add_landmark_set(s, film, landmarks, kind, author, measurements)
            for f in s.scalars(
                select(FindingRow).where(FindingRow.radiograph_id == film.id, FindingRow.kind == "needs_landmarks")
            ):
                s.delete(f)
            for f in findings:
                s.add(self._finding_row(film.visit_id, film.id, "ingest", f))
            if radiograph is not None:
                film.view = radiograph.view.value if radiograph.view else film.view
                film.facing = radiograph.facing.value if radiograph.facing else film.facing
                film.warnings = list(dict.fromkeys([*(film.warnings or ()), *radiograph.warnings]))
            s.flush()
            return ls.version

    def _film_row(self, s: Session, film_id: str) -> RadiographRow:
        film = s.scalar(select(RadiographRow).where(RadiographRow.sop_uid == film_id))
        if film is None:
            raise InputError(f"No stored film with id {film_id!r}.")
        return film

    @staticmethod
    def _current_set(film: RadiographRow) -> LandmarkSetRow | None:
        """The newest reader version when a reader has edited the film, else the newest version."""
        sets = list(film.landmark_sets)
        readers = [ls for ls in sets if ls.kind == "reader"]
        pool = readers or sets
        return max(pool, key=lambda ls: ls.version) if pool else None

    @staticmethod
    def _measurement(row: MeasurementRow) -> Measurement:
        return Measurement.from_dict(
            {
                "name": row.name,
                "value": row.value,
                "unit": row.unit,
                "method": row.method,
                "points": row.points,
                "spacing_source": row.spacing_source,
                "uncertainty": row.uncertainty,
                "reason": row.reason,
                "warnings": row.warnings,
            }
        )

    def landmark_history(self, film_id: str) -> list[LandmarkVersion]:
        """Every landmark version of a film, oldest first, each with its measurements."""
        with self._tx() as s:
            film = self._film_row(s, film_id)
            return [
                LandmarkVersion(
                    ls.version,
                    ls.kind,
                    ls.source,
                    ls.author,
                    _utc(ls.created_at),
                    landmarks_from_dict(ls.data),
                    tuple(self._measurement(m) for m in ls.measurements),
                )
                for ls in film.landmark_sets
            ]

    def current_landmarks(self, film_id: str) -> LandmarkVersion | None:
        """The version that counts: the newest reader version, else the newest automatic/file version, else None."""
        history = self.landmark_history(film_id)
        readers = [v for v in history if v.kind == "reader"]
        pool = readers or history
        return pool[-1] if pool else None

    def _film(self, row: RadiographRow, labels: Mapping[int, str] | None = None) -> FilmRecord:
        """``labels``: visit id -> timeline label (:meth:`_timeline_labels`), computed here when not given."""
        current = self._current_set(row)
        if labels is None:
            labels = self._labels_by_visit_id(object_session(row), row.visit.patient)
        return FilmRecord(
            film_id=row.sop_uid,
            patient_key=row.visit.patient.key,
            visit_label=labels[row.visit.id],
            visit_date=row.visit.date,
            view=row.view,
            file_path=row.file_path,
            file_sha256=row.file_sha256,
            spacing_dx_mm=row.spacing_dx_mm,
            spacing_dy_mm=row.spacing_dy_mm,
            spacing_source=row.spacing_source,
            acquired=row.acquired,
            width=row.width,
            height=row.height,
            landmark_versions=len(row.landmark_sets),
            measurement_count=len(current.measurements) if current else 0,
            warnings=tuple(row.warnings or ()),
        )

    def list_films(self, key: str) -> list[FilmRecord]:
        """The patient's films in visit order."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            rows = s.scalars(
                select(RadiographRow)
                .join(VisitRow)
                .where(VisitRow.patient_id == p.id)
                .order_by(VisitRow.date, RadiographRow.id)
            ).all()
            labels = self._labels_by_visit_id(s, p)
            return [self._film(r, labels) for r in rows]

    def get_film(self, film_id: str) -> FilmRecord:
        with self._tx() as s:
            return self._film(self._film_row(s, film_id))

    def set_implants(self, film_id: str, implants: Mapping[str, Any] | None) -> None:
        """Store (replace) the detected implant geometry of a film."""
        with self._tx() as s:
            self._film_row(s, film_id).implants = dict(implants) if implants is not None else None

    def get_implants(self, film_id: str) -> dict[str, Any] | None:
        with self._tx() as s:
            return self._film_row(s, film_id).implants

    # ------------------------------------------------------------------ visit-level results
    def replace_findings(self, key: str, visit: str | dt.date, origin: str, findings: Sequence[Finding]) -> None:
        """Replace the findings of one origin (e.g. ``"implants"``) at a visit by a fresh list (a re-run of a check)."""
        with self._tx() as s:
            self._write_findings(s, self._find_visit(s, self._patient_row(s, key), visit), origin, findings)

    def _write_findings(self, s: Session, v: VisitRow, origin: str, findings: Sequence[Finding]) -> None:
        for old in s.scalars(select(FindingRow).where(FindingRow.visit_id == v.id, FindingRow.origin == origin)):
            s.delete(old)
        for f in findings:
            s.add(self._finding_row(v.id, None, origin, f))

    def analysis_snapshot(self, key: str) -> tuple[Any, ...]:
        """What the visit-level analysis of patient ``key`` depends on (the baseline film, each comparison and each
        flexion-extension pair): the surgery date and, per film, its visit date and current landmark version (a new
        version also carries the film's view). Equal snapshots: the analysis made from one is still the analysis of
        the other (:meth:`replace_visit_analysis`)."""
        with self._tx() as s:
            return self._analysis_snapshot(s, self._patient_row(s, key))

    def _analysis_snapshot(self, s: Session, patient: PatientRow) -> tuple[Any, ...]:
        surgery = self._surgery_row(s, patient)
        films = s.execute(
            select(VisitRow.date, RadiographRow.id, func.max(LandmarkSetRow.id))
            .join(RadiographRow, RadiographRow.visit_id == VisitRow.id)
            .outerjoin(LandmarkSetRow, LandmarkSetRow.radiograph_id == RadiographRow.id)
            .where(VisitRow.patient_id == patient.id)
            .group_by(VisitRow.date, RadiographRow.id)
        ).all()
        return (surgery.date if surgery else None, tuple(sorted(tuple(r) for r in films)))

    def replace_visit_analysis(
        self,
        key: str,
        *,
        snapshot: tuple[Any, ...],
        findings: Mapping[dt.date, Sequence[Finding]] | None = None,
        origin: str = "implants",
        motion: Mapping[dt.date, tuple[Sequence[Any], Sequence[str]]] | None = None,
    ) -> bool:
        """Write one analysis of patient ``key``'s visits in ONE transaction, only when the record is still the one
        the analysis read (``snapshot``, :meth:`analysis_snapshot`); else nothing is written and ``False`` is returned,
        for the caller to analyse again.

        Parameters
        ----------
        snapshot : tuple
            :meth:`analysis_snapshot`, taken before the analysis read the record.
        findings : mapping of date to Finding sequence, optional
            Per visit date, the findings of ``origin`` that replace the stored ones (``[]`` clears them); visits not
            named keep theirs. ``None``: no findings written (their analysis failed).
        motion : mapping of date to (results, films), optional
            Per visit date, the flexion-extension results that replace the stored ones (objects with the fields of
            ``MotionResult``, as :meth:`replace_motion`) and the two films they were measured on. ``None``: no motion
            written.

        Notes
        -----
        The patient row's write lock is taken first, so two analyses of one patient (two ingests at once, a reader's
        landmark edit during an ingest) write one after the other and the later one sees whether a film, a landmark
        version or the surgery date changed since it read the record. Before, an analysis that read the visits before
        another ingest's 6-week film wrote its hardware findings after that ingest's analysis, measured against a film
        that was no longer the baseline; and motion measured on flexion landmarks a reader had replaced meanwhile was
        written over the motion of the reader's landmarks.
        """
        with self._tx() as s:
            patient = self._locked_patient_row(s, key)
            if self._analysis_snapshot(s, patient) != snapshot:
                return False
            for when, found in (findings or {}).items():
                self._write_findings(s, self._find_visit(s, patient, when), origin, found)
            for when, (results, films) in (motion or {}).items():
                self._write_motion(s, self._find_visit(s, patient, when), results, films=films)
            return True

    def list_findings(self, key: str, visit: str | dt.date | None = None) -> list[tuple[str, str, Finding]]:
        """Stored findings as ``(visit label, origin, Finding)``."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            q = select(FindingRow, VisitRow).join(VisitRow).where(VisitRow.patient_id == p.id)
            if visit is not None:
                q = q.where(FindingRow.visit_id == self._find_visit(s, p, visit).id)
            return [
                (v.label, f.origin, self._finding(f)) for f, v in s.execute(q.order_by(VisitRow.date, FindingRow.id))
            ]

    @staticmethod
    def _finding(f: FindingRow) -> Finding:
        return Finding(
            kind=f.kind,
            severity=Severity(f.severity),
            summary=f.summary,
            evidence=dict(f.evidence or {}),
            threshold=f.threshold,
            films=tuple(f.films or ()),
        )

    def replace_motion(
        self, key: str, visit: str | dt.date, results: Sequence[Any], *, method: str = "", films: Sequence[str] = ()
    ) -> None:
        """Replace a visit's flexion-extension results (objects with the fields of ``MotionResult``)."""
        with self._tx() as s:
            self._write_motion(s, self._find_visit(s, self._patient_row(s, key), visit), results, method=method,
                               films=films)

    @staticmethod
    def _write_motion(s: Session, v: VisitRow, results: Sequence[Any], *, method: str = "",
                      films: Sequence[str] = ()) -> None:
        for old in s.scalars(select(MotionRow).where(MotionRow.visit_id == v.id)):
            s.delete(old)
        for r in results:
            level = r.level
            if isinstance(level, (tuple, list)):
                level = "-".join(getattr(x, "value", str(x)) for x in level)
            s.add(
                MotionRow(
                    visit_id=v.id,
                    level=str(getattr(level, "value", level)),
                    angle_deg=float(r.angle_deg),
                    angle_sd_deg=getattr(r, "angle_sd_deg", None),
                    translation_mm=getattr(r, "translation_mm", None),
                    translation_percent=getattr(r, "translation_percent", None),
                    translation_sd=getattr(r, "translation_sd", None),
                    method=str(getattr(r, "method", "") or method)[:64],
                    films=list(getattr(r, "films", ()) or films),
                )
            )

    def list_motion(self, key: str, visit: str | dt.date) -> list[SegmentMotion]:
        with self._tx() as s:
            v = self._find_visit(s, self._patient_row(s, key), visit)
            return [self._motion(m) for m in s.scalars(select(MotionRow).where(MotionRow.visit_id == v.id))]

    @staticmethod
    def _motion(m: MotionRow) -> SegmentMotion:
        return SegmentMotion(
            m.level,
            m.angle_deg,
            m.angle_sd_deg,
            m.translation_mm,
            m.translation_percent,
            m.translation_sd,
            m.method,
            tuple(m.films or ()),
        )

    # ------------------------------------------------------------------ reader overrides and grades
    def add_override(self, key: str, override: Override, *, visit: str | dt.date | None = None) -> OverrideRecord:
        """Record a reader's override or grade (never changes or deletes what the tool said, nor earlier overrides).

        One entry of :meth:`add_overrides` (the same checks, its own transaction).

        Raises
        ------
        InputError
            No author; an unknown or ambiguous visit; a fusion status, grade or bone evidence at a visit without films
            or with no visit (:func:`fusionwatch.followup.evidence.check_reader_entry_visit`, the rule every adapter
            goes through); a finding verdict where no finding is held.
        """
        return self.add_overrides(key, [override], visit=visit)[0]

    def add_overrides(
        self, key: str, overrides: Sequence[Override], *, visit: str | dt.date | None = None
    ) -> list[OverrideRecord]:
        """Record several overrides a reader gives together (e.g. a fusion status, a Bridwell grade and finding
        verdicts read from one visit's films) all or nothing, in ONE transaction: every entry is checked against the
        rules of :meth:`add_override` before any is stored, so a refusal of any entry leaves none of them recorded,
        whichever rule refuses it.

        Returns
        -------
        list[OverrideRecord]
            The stored entries in the order given, each with its id.

        Raises
        ------
        InputError
            No entry; any entry :meth:`add_override` would refuse (the message names it); nothing is stored.
        ValueError
            ``overrides`` holds something that is not an :class:`~fusionwatch.records.Override`.
        """
        overrides = list(overrides)
        if not overrides:
            raise InputError("Nothing to record: no override given.")
        for o in overrides:
            if not isinstance(o, Override):
                raise ValueError(f"Expected Override entries, got {o!r}.")
            if not o.author.strip():
                raise InputError("An override needs its author; nothing was recorded.")
            _check_name(o.author, "The override's author")
            _check_name(o.target, "The override's target")
        with self._tx() as s:
            p = self._patient_row(s, key)
            v = self._find_visit(s, p, visit) if visit is not None else None
            labelled = self._timeline_labels(s, p)
            here = next(((lab, r.date, bool(r.radiographs)) for r, lab in labelled if v is not None and r.id == v.id),
                        (v.label, v.date, bool(v.radiographs)) if v is not None else None)
            with_films = [lab for r, lab in labelled if r.radiographs and v is not None and r.date <= v.date]
            surgery_date = surgery.date if (surgery := self._surgery_row(s, p)) is not None else None
            held: bool | None = None
            overrides = [self._resolved_lateral_choice(o, v) for o in overrides]  # a film name -> its id
            for o in overrides:  # every entry checked before any row is added
                try:
                    check_reader_entry_visit(o.target, here, with_films, surgery_date)
                    if o.target.startswith("finding:"):
                        if held is None:
                            held = v is not None and (bool(v.radiographs) or s.scalar(
                                select(FindingRow.id).where(FindingRow.visit_id == v.id).limit(1)) is not None)
                        check_finding_verdict_visit(o.target, (here[0], here[1], held) if here else None)
                except InputError as exc:
                    if len(overrides) == 1:
                        raise
                    raise InputError(f"{o.target} = {o.value}: {exc} None of the {len(overrides)} entries was "
                                     "recorded.") from None
            rows = [
                OverrideRow(
                    patient_id=p.id,
                    visit_id=v.id if v else None,
                    target=o.target,
                    value=o.value,
                    author=o.author,
                    at=_utc(o.at),
                    reason=o.reason,
                )
                for o in overrides
            ]
            s.add_all(rows)
            s.flush()
            label = self._timeline_label(s, v) if v else None
            return [self._override(key, row, v, label) for row in rows]

    @staticmethod
    def _override(key: str, o: OverrideRow, v: VisitRow | None, label: str | None) -> OverrideRecord:
        return OverrideRecord(
            o.id,
            key,
            label,
            v.date if v else None,
            o.target,
            o.value,
            o.author,
            _utc(o.at),
            o.reason,
            _retraction(o),
        )

    def list_overrides(self, key: str, *, include_retracted: bool = False) -> list[OverrideRecord]:
        """The patient's overrides, oldest first, each with its id; those entered in error only with
        ``include_retracted`` (the audit view), each with its :class:`Retraction`."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            q = (
                select(OverrideRow, VisitRow)
                .outerjoin(VisitRow, OverrideRow.visit_id == VisitRow.id)
                .where(OverrideRow.patient_id == p.id)
                .order_by(OverrideRow.at, OverrideRow.id)
            )
            if not include_retracted:
                q = q.where(OverrideRow.retracted_at.is_(None))
            labels = self._labels_by_visit_id(s, p)
            return [self._override(key, o, v, labels.get(v.id, v.label) if v else None) for o, v in s.execute(q)]

    # ------------------------------------------------------------------ PROMs and symptoms (scored by fusionwatch.care)
    def add_prom(
        self,
        key: str,
        when: dt.date,
        *,
        odi_answers: Sequence[int | None] | None = None,
        back_pain_nrs: float | None = None,
        leg_pain_nrs: float | None = None,
        recorded_at: dt.datetime | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> PromRecord:
        """Store patient-reported outcomes at the visit on ``when`` (created when new).

        Only shapes are checked here (10 ODI answers 0-5 or None; NRS 0-10); scoring is :mod:`fusionwatch.care`'s job.

        Raises
        ------
        InputError
            On an answer out of range, a wrong number of ODI sections or nothing to record.
        """
        if odi_answers is None and back_pain_nrs is None and leg_pain_nrs is None and not extra:
            raise InputError("Nothing to record: give ODI answers, a back or leg pain NRS, or extra values.")
        if odi_answers is not None:
            answers = list(odi_answers)
            if len(answers) != 10:
                raise InputError(f"ODI has 10 sections; got {len(answers)} answers.")
            for i, a in enumerate(answers, 1):
                if a is not None and (isinstance(a, bool) or not isinstance(a, int) or not 0 <= a <= 5):
                    raise InputError(f"ODI section {i}: answer must be an integer 0-5 or empty, got {a!r}.")
        for name, val in (("back pain NRS", back_pain_nrs), ("leg pain NRS", leg_pain_nrs)):
            if val is not None and not 0 <= val <= 10:
                raise InputError(f"{name} must be 0-10, got {val!r}.")
        with self._tx() as s:
            p = self._patient_row(s, key)
            v = self._visit_row(s, p, when)
            row = PromRow(
                visit_id=v.id,
                recorded_at=_utc(recorded_at or dt.datetime.now(dt.UTC)),
                odi_answers=list(odi_answers) if odi_answers is not None else None,
                back_pain_nrs=back_pain_nrs,
                leg_pain_nrs=leg_pain_nrs,
                extra=dict(extra or {}),
            )
            s.add(row)
            s.flush()
            return self._prom(key, row, v, self._timeline_label(s, v))

    @staticmethod
    def _prom(key: str, r: PromRow, v: VisitRow, label: str) -> PromRecord:
        return PromRecord(
            r.id,
            key,
            label,
            v.date,
            v.days_since_surgery,
            _utc(r.recorded_at),
            tuple(r.odi_answers) if r.odi_answers is not None else None,
            r.back_pain_nrs,
            r.leg_pain_nrs,
            dict(r.extra or {}),
            _retraction(r),
        )

    def list_proms(self, key: str, *, include_retracted: bool = False) -> list[PromRecord]:
        """The patient's PROMs, oldest visit first, each with its id; those entered in error only with
        ``include_retracted`` (the audit view), each with its :class:`Retraction`."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            q = (
                select(PromRow, VisitRow)
                .join(VisitRow)
                .where(VisitRow.patient_id == p.id)
                .order_by(VisitRow.date, PromRow.recorded_at, PromRow.id)
            )
            if not include_retracted:
                q = q.where(PromRow.retracted_at.is_(None))
            labels = self._labels_by_visit_id(s, p)
            return [self._prom(key, r, v, labels.get(v.id, v.label)) for r, v in s.execute(q).all()]

    def add_symptoms(
        self,
        key: str,
        when: dt.date,
        symptoms: Sequence[str],
        *,
        details: Mapping[str, Any] | None = None,
        note: str = "",
        recorded_at: dt.datetime | None = None,
    ) -> SymptomRecord:
        """Store a symptom report (codes such as ``"fever"``, ``"saddle_numbness"``) at the visit on ``when``.

        A temperature in ``details`` (``temperature_c`` / ``temperature_given``) goes through the fever red-flag rule
        (:func:`fusionwatch.care.triage.symptom_report`), as the CLI's does: over the fever setting it adds the
        ``fever`` flag (R's F8: a 39 C report stored through the store, the API a web form calls, had none) and the
        note and details get the temperature in both units. Codes that are not on the checklist are still stored as
        given (R's F9, refusing them, waits for the callers that store free text as a code).
        """
        from fusionwatch.care.triage import Symptom, symptom_report

        codes = [str(c) for c in symptoms]
        if not codes and not note and not details:
            raise InputError("Nothing to record: give at least one symptom, a detail or a note.")
        d = dict(details or {})
        if d.get("temperature_given") not in (None, "") or d.get("temperature_c") is not None:
            checklist = {x.value for x in Symptom}
            known = [c for c in codes if c.strip().lower().replace("-", "_").replace(" ", "_") in checklist]
            report = symptom_report(known, note=note, details=d)
            codes = list(dict.fromkeys([*report.codes, *(c for c in codes if c not in known)]))
            details, note = report.details, report.note
        with self._tx() as s:
            p = self._patient_row(s, key)
            v = self._visit_row(s, p, when)
            row = SymptomRow(
                visit_id=v.id,
                recorded_at=_utc(recorded_at or dt.datetime.now(dt.UTC)),
                symptoms=codes,
                details=dict(details or {}),
                note=note,
            )
            s.add(row)
            s.flush()
            return self._symptoms(key, row, v, self._timeline_label(s, v))

    @staticmethod
    def _symptoms(key: str, r: SymptomRow, v: VisitRow, label: str) -> SymptomRecord:
        return SymptomRecord(
            r.id,
            key,
            label,
            v.date,
            v.days_since_surgery,
            _utc(r.recorded_at),
            tuple(r.symptoms or ()),
            dict(r.details or {}),
            r.note or "",
            _retraction(r),
        )

    def list_symptoms(self, key: str, *, include_retracted: bool = False) -> list[SymptomRecord]:
        """The patient's symptom reports, oldest first, each with its id; those entered in error only with
        ``include_retracted`` (the audit view: a retracted red flag no longer escalates anywhere, but is kept)."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            q = (
                select(SymptomRow, VisitRow)
                .join(VisitRow)
                .where(VisitRow.patient_id == p.id)
                .order_by(VisitRow.date, SymptomRow.recorded_at, SymptomRow.id)
            )
            if not include_retracted:
                q = q.where(SymptomRow.retracted_at.is_(None))
            labels = self._labels_by_visit_id(s, p)
            return [self._symptoms(key, r, v, labels.get(v.id, v.label)) for r, v in s.execute(q).all()]

    # ------------------------------------------------------------------ entries entered in error
    def retract(
        self, key: str, kind: str, entry_id: int, *, reason: str, author: str, at: dt.datetime | None = None
    ) -> PromRecord | SymptomRecord | OverrideRecord:
        """Mark one of patient ``key``'s entries "entered in error" (medical-record practice: never deleted).

        The entry keeps its values and gains who retracted it, when and why; it is left out of every listing but the
        audit one (``include_retracted=True``), so out of the timeline, reports, care advice, red-flag triage, trends
        and exports. A correction is a retraction plus a new, right entry.

        Parameters
        ----------
        kind : str
            ``"prom"``, ``"symptoms"`` or ``"override"`` (:data:`ENTRY_KINDS`).
        entry_id : int
            The entry's id, as ``list_proms`` / ``list_symptoms`` / ``list_overrides`` give it.
        reason, author : str
            Why the entry is wrong and who says so; both required.

        Returns
        -------
        PromRecord | SymptomRecord | OverrideRecord
            The entry as now stored, with its :class:`Retraction`.

        Raises
        ------
        InputError
            An empty reason or author, an unknown id, an id of another patient's entry, or an entry already entered in
            error; nothing is changed.
        """
        if kind not in ENTRY_KINDS:
            raise ValueError(f"kind must be one of {ENTRY_KINDS}, got {kind!r}.")
        name, listing = ENTRY_NAMES[kind], ENTRY_LISTS[kind]
        if not reason or not reason.strip():
            raise InputError(f"Marking {name} {entry_id} entered in error needs the reason (e.g. 'wrong patient', "
                             "'wrong date'); nothing changed.")
        if not author or not author.strip():
            raise InputError(f"Marking {name} {entry_id} entered in error needs who does it; nothing changed.")
        _check_name(author.strip(), "Who marks it entered in error")
        table = _ENTRY_ROWS[kind]
        when = _utc(at or dt.datetime.now(dt.UTC))
        with self._tx() as s:
            p = self._patient_row(s, key)
            row = s.get(table, entry_id) if 1 <= entry_id <= _ID_MAX else None
            if row is None:
                raise InputError(f"Patient {key!r} has no {name} {entry_id}: `{listing} {key}` lists the ids; nothing "
                                 "changed.")
            visit = s.get(VisitRow, row.visit_id) if row.visit_id is not None else None
            owner = row.patient_id if isinstance(row, OverrideRow) else visit.patient_id if visit else None
            if owner != p.id:
                raise InputError(f"{name[0].upper()}{name[1:]} {entry_id} belongs to another patient, not {key!r}: "
                                 f"check the key and the id with `{listing} {key}`; nothing changed.")
            if row.retracted_at is not None:
                raise InputError(self._already_retracted(name, entry_id, key, row))
            done = s.execute(
                update(table)
                .where(table.id == entry_id, table.retracted_at.is_(None))
                .values(retracted_at=when, retracted_by=author.strip(), retraction_reason=reason.strip())
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # retracted by someone else since we looked
                s.refresh(row)
                raise InputError(self._already_retracted(name, entry_id, key, row))
            s.refresh(row)
            label = self._labels_by_visit_id(s, p).get(visit.id, visit.label) if visit else None
            if isinstance(row, PromRow):
                return self._prom(key, row, visit, label)
            if isinstance(row, SymptomRow):
                return self._symptoms(key, row, visit, label)
            return self._override(key, row, visit, label)

    @staticmethod
    def _already_retracted(name: str, entry_id: int, key: str, row: PromRow | SymptomRow | OverrideRow) -> str:
        r = _retraction(row)
        when = f" on {r.at:%Y-%m-%d %H:%M} UTC by {r.by} ({r.reason})" if r else ""
        what = f"{name[0].upper()}{name[1:]} {entry_id} of patient {key!r}"
        return f"{what} was already marked entered in error{when}; nothing changed."

    # ------------------------------------------------------------------ de-identification pseudonym series
    def pseudonym_series(self) -> list[PseudonymSeries]:
        """Every recorded pseudonym series, oldest first; the last is current (fingerprints only, never a secret)."""
        with self._tx() as s:
            rows = s.scalars(select(PseudonymSeriesRow).order_by(PseudonymSeriesRow.id)).all()
            return [PseudonymSeries(r.fingerprint, r.source, _utc(r.started_at), r.reason) for r in rows]

    def record_pseudonym_series(self, fingerprint: str, source: str, reason: str) -> None:
        """Start a pseudonym series with this secret fingerprint, unless it is already the current one.

        Exports racing on a new database record it once, by design: on PostgreSQL the transaction first takes a
        transaction-level advisory lock (one key for this table), so a second export waits and its INSERT..SELECT (a
        new snapshot per statement under READ COMMITTED) sees the first one's series; one INSERT..SELECT alone let
        racing exports each see no series and record it several times (measured: 11 of 20 rounds of 8 threads). SQLite
        serialises writers itself."""
        current = select(PseudonymSeriesRow.fingerprint).order_by(PseudonymSeriesRow.id.desc()).limit(1)
        values = select(literal(fingerprint), literal(source), literal(dt.datetime.now(dt.UTC)), literal(reason))
        with self._tx() as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(sql_text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SERIES_LOCK_KEY})
            s.execute(insert(PseudonymSeriesRow).from_select(
                ["fingerprint", "source", "started_at", "reason"],
                values.where(func.coalesce(current.scalar_subquery(), "") != fingerprint)))

    # ------------------------------------------------------------------ the follow-up timeline
    def visit_inputs(self, key: str) -> list[VisitInput]:
        """What :func:`fusionwatch.followup.build_timeline` needs, one per visit, in date order."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            visits = self._standing_visits(s, p)
            overrides = s.scalars(
                select(OverrideRow)
                .where(OverrideRow.patient_id == p.id, OverrideRow.retracted_at.is_(None))
                .order_by(OverrideRow.at, OverrideRow.id)
            ).all()
            out = []
            for v in visits:
                films = sorted(v.radiographs, key=lambda r: r.id)
                v_over = tuple(
                    Override(o.target, o.value, o.author, _utc(o.at), o.reason, o.id)
                    for o in overrides
                    if o.visit_id == v.id
                )
                lateral, lateral_note = self._lateral_choice(key, v.date.isoformat(), films, v_over)
                measurements: dict[MeasureName, Measurement] = {}
                if lateral is not None and (cur := self._current_set(lateral)) is not None:
                    measurements = {MeasureName(m.name): self._measurement(m) for m in cur.measurements}
                flexion = self._flexion_film(films)
                flexion_measurements: dict[MeasureName, Measurement] = {}
                if flexion is not None and (fcur := self._current_set(flexion)) is not None:
                    flexion_measurements = {MeasureName(m.name): self._measurement(m) for m in fcur.measurements}
                stored = s.scalars(select(FindingRow).where(FindingRow.visit_id == v.id).order_by(FindingRow.id)).all()
                hardware = tuple(self._finding(f) for f in stored if f.origin != "ingest")
                review: tuple[str | Finding, ...] = tuple(self._finding(f) for f in stored if f.origin == "ingest")
                review += tuple(w for r in films for w in (r.warnings or ()) if r is lateral)
                if lateral_note:
                    review += (lateral_note,)
                motion = tuple(self._motion(m) for m in s.scalars(select(MotionRow).where(MotionRow.visit_id == v.id)))
                out.append(
                    VisitInput(
                        label=v.label,
                        date=v.date,
                        days_since_surgery=v.days_since_surgery,
                        measurements=measurements,
                        films=tuple(r.sop_uid for r in films),
                        lateral_film=lateral.sop_uid if lateral is not None else None,
                        flexion_measurements=flexion_measurements,
                        flexion_film=flexion.sop_uid if flexion is not None else None,
                        motion=motion,
                        hardware_findings=hardware,
                        bone=_bone_evidence(v_over, hardware),
                        review=review,
                        overrides=v_over,
                    )
                )
            return out

    def _resolved_lateral_choice(self, o: Override, v: VisitRow | None) -> Override:
        """A reader's choice of the visit's lateral film, checked and stored by film id: the value names a measured
        lateral film of that visit (its file name, SOP Instance UID or id); other overrides unchanged."""
        if o.target != LATERAL_FILM_TARGET:
            return o
        if v is None:
            raise InputError("A choice of the lateral film is made at a visit; give the visit.")
        candidates = self._lateral_candidates(sorted(v.radiographs, key=lambda r: r.id))
        pick = [r for r in candidates if o.value in (r.sop_uid, Path(r.file_path).name, r.file_path)]
        if len(pick) != 1:
            names = ", ".join(Path(r.file_path).name for r in candidates) or "none"
            what = "names several films" if pick else "is not a measured lateral film of this visit"
            raise InputError(f"--lateral-film {o.value!r} {what}; the visit's measured lateral films: {names}. "
                             "Nothing was recorded.")
        return dataclasses.replace(o, value=pick[0].sop_uid)

    def _lateral_candidates(self, films: Sequence[RadiographRow]) -> list[RadiographRow]:
        """The visit's measured standing lateral films, in ingest order (films of no stated view only when none is
        stated lateral)."""
        measured = [r for r in films if r.view in ("lateral", None) and self._current_set(r) is not None]
        return [r for r in measured if r.view == "lateral"] or measured

    def _lateral_choice(self, key: str, label: str, films: Sequence[RadiographRow],
                        overrides: Sequence[Override]) -> tuple[RadiographRow | None, str]:
        """The visit's measured lateral film and, when it holds several, the review line saying so (R's F2).

        A reader's choice (override target :data:`LATERAL_FILM_TARGET`, the latest one naming a candidate) wins;
        else the latest ingested. The line names every candidate with its lumbar lordosis, which one is measured and
        why, and how to choose another, so a mislabelled flexion film is never silently the visit's lateral.
        """
        candidates = self._lateral_candidates(films)
        if not candidates:
            return None, ""
        chosen, why = candidates[-1], "the latest ingested"
        for o in reversed(overrides):
            if o.target == LATERAL_FILM_TARGET:
                pick = next((r for r in candidates if r.sop_uid == o.value), None)
                if pick is not None:
                    chosen, why = pick, f"chosen by {o.author} (override {o.entry_id})"
                    break
        if len(candidates) < 2:
            return chosen, ""

        def described(r: RadiographRow) -> str:
            cur = self._current_set(r)
            ll = next((m.value for m in (cur.measurements if cur else ()) if m.name == MeasureName.LUMBAR_LORDOSIS.value
                       and m.value is not None), None)
            return f"{Path(r.file_path).name}" + (f" (lumbar lordosis {ll:.1f} deg)" if ll is not None else "")

        return chosen, (
            f"{len(candidates)} neutral lateral films at this visit: {', '.join(described(r) for r in candidates)}; "
            f"measured: {Path(chosen.file_path).name}, {why}. Check that it is the neutral lateral, not a flexion or "
            f"extension film labelled lateral; to measure another: `fusionwatch override add {key} {label} "
            "--lateral-film FILE --author NAME --reason WHY`."
        )

    def _flexion_film(self, films: Sequence[RadiographRow]) -> RadiographRow | None:
        """The visit's measured flexion film (the latest one when several), for the adjacent-segment flexion sign."""
        measured = [r for r in films if r.view == "flexion" and self._current_set(r) is not None]
        return measured[-1] if measured else None

    def load_timeline(self, key: str, settings: FollowupSettings | None = None) -> Timeline:
        """The patient's follow-up timeline (de-identified: the pseudonymous key only), with the entries entered in
        error as audit-only data (:meth:`entered_in_error`; the timeline's judgements never see them), and the
        baseline note telling each recorded change of the baseline film (:meth:`baseline_changes`): what it is now,
        what it was, when and why (the clinician report shows the same note)."""
        inputs = self.visit_inputs(key)
        timeline = build_timeline(key, self.get_surgery(key), inputs, settings=settings or self.settings)
        note = " ".join([timeline.baseline_note, *(c.text() for c in self.baseline_changes(key))])
        return dataclasses.replace(timeline, entered_in_error=self.entered_in_error(key), baseline_note=note)

    def record_baseline(self, key: str, *, cause: str, at: dt.datetime | None = None) -> BaselineChange | None:
        """Record which film is patient ``key``'s baseline now, when it is not the one recorded last.

        Called by every use case that can move the baseline after it changed the record (an ingest run, landmarks
        added to a stored film, a corrected surgery date), so the change is kept and shown, not silent: a 6-week film
        ingested after the immediate post-operative one makes it the baseline, and a 3 mm disc height loss vs the
        immediate film can become 1.5 mm vs the 6-week film (below the 2 mm subsidence threshold) without a word.

        Returns
        -------
        BaselineChange | None
            The change (now and before, when, why), or ``None`` when the baseline is the one recorded last, or this
            is the patient's first recording (nothing was shown against another film before it).
        """
        timeline = build_timeline(key, self.get_surgery(key), self.visit_inputs(key), settings=self.settings)
        base = next((v for v in timeline.visits if v.is_baseline), None)
        now = (base.date, base.label, base.lateral_film) if base is not None else (None, None, None)
        when = _utc(at or dt.datetime.now(dt.UTC))
        with self._tx() as s:
            # the patient row's write lock first, so that racing recordings of one patient (two ingests at once) run
            # one after the other and each reads the row the one before added; else each read 'nothing recorded' and
            # each added a recording
            p = self._locked_patient_row(s, key)
            last = s.scalar(select(BaselineChangeRow).where(BaselineChangeRow.patient_id == p.id)
                            .order_by(BaselineChangeRow.id.desc()).limit(1))
            if last is None and base is None:
                return None  # nothing to record yet
            if last is not None and (last.visit_date, last.film) == (now[0], now[2]):
                return None
            row = BaselineChangeRow(
                patient_id=p.id, visit_date=now[0], label=now[1], film=now[2],
                previous_visit_date=last.visit_date if last else None, previous_label=last.label if last else None,
                previous_film=last.film if last else None, changed_at=when, cause=cause[:500] or "record changed",
            )
            s.add(row)
            s.flush()
            labels = {v.date: v.label for v in timeline.visits}
            return self._baseline_change(row, labels) if last is not None else None

    @staticmethod
    def _baseline_change(r: BaselineChangeRow, labels: Mapping[dt.date, str]) -> BaselineChange:
        """The recorded move, with the labels its two visits have now (``labels``: visit date -> timeline label)."""
        return BaselineChange(r.visit_date, r.label, r.film, r.previous_visit_date, r.previous_label, r.previous_film,
                              _utc(r.changed_at), r.cause, labels.get(r.visit_date) if r.visit_date else None,
                              labels.get(r.previous_visit_date) if r.previous_visit_date else None)

    def baseline_changes(self, key: str) -> list[BaselineChange]:
        """Every recorded change of patient ``key``'s baseline film, oldest first (the first recording, which changed
        nothing, is left out), with the labels its films' visits have now beside those of its recording."""
        with self._tx() as s:
            p = self._patient_row(s, key)
            rows = s.scalars(select(BaselineChangeRow).where(BaselineChangeRow.patient_id == p.id)
                             .order_by(BaselineChangeRow.id)).all()
            labels = {v.date: lab for v, lab in self._timeline_labels(s, p)}
            return [self._baseline_change(r, labels) for r in rows[1:]]

    def entered_in_error(self, key: str) -> tuple[EnteredInError, ...]:
        """The patient's PROMs, symptom reports and overrides marked entered in error, oldest retraction first: what
        each said, who entered it and when, who retracted it, when and why (for the clinician's audit block)."""
        out: list[EnteredInError] = []
        for p in self.list_proms(key, include_retracted=True):
            if p.retracted is not None:
                parts = [f"ODI answers {','.join('-' if a is None else str(a) for a in p.odi_answers)}"
                         if p.odi_answers is not None else "",
                         f"back pain NRS {p.back_pain_nrs:g}" if p.back_pain_nrs is not None else "",
                         f"leg pain NRS {p.leg_pain_nrs:g}" if p.leg_pain_nrs is not None else ""]
                what = "PROM: " + ("; ".join(x for x in parts if x) or "other values")
                out.append(EnteredInError("prom", p.id, what, p.visit_date, None, p.recorded_at, p.retracted.by,
                                          p.retracted.at, p.retracted.reason))
        for r in self.list_symptoms(key, include_retracted=True):
            if r.retracted is not None:
                what = "symptoms: " + (", ".join(r.symptoms) or "none") + (f" (note: {r.note})" if r.note else "")
                out.append(EnteredInError("symptoms", r.id, what, r.visit_date, None, r.recorded_at, r.retracted.by,
                                          r.retracted.at, r.retracted.reason))
        for o in self.list_overrides(key, include_retracted=True):
            if o.retracted is not None:
                out.append(EnteredInError("override", o.id, f"reader {o.target} = {o.value}", o.visit_date, o.author,
                                          o.at, o.retracted.by, o.retracted.at, o.retracted.reason))
        return tuple(sorted(out, key=lambda e: (e.retracted_at, e.kind, e.entry_id)))


def _bone_evidence(overrides: Sequence[Override], hardware: Sequence[Finding]) -> BoneEvidence:
    """Bone evidence from a reader's ``bone:lucency`` / ``bone:bridging`` / ``grade:bridwell`` entries (the newest of
    each), else from implant-check findings."""
    lucency: bool | None = None
    bridging: float | None = None
    grade: str | None = None
    source = lucency_source = ""  # who entered an item is in the overrides; a source names no person (R's F9)
    for f in hardware:
        if "lucency" in f.kind:
            lucency, source, lucency_source = True, "implants", "implant checks"
        if isinstance(f.evidence.get("bridging_fraction"), (int, float)):
            bridging, source = float(f.evidence["bridging_fraction"]), "implants"
    for o in sorted(overrides, key=lambda o: o.at):
        if o.target == "bone:lucency":
            lucency, source = o.value.strip().lower() in ("yes", "true", "1", "present"), "reader"
            lucency_source = "reader's entry"
        elif o.target == "bone:bridging":
            try:
                bridging, source = float(o.value), "reader"
            except ValueError:
                pass
        elif o.target == "grade:bridwell" and o.value.strip().upper() in BRIDWELL_MEANING:
            grade, source = o.value.strip().upper(), "reader"
    return BoneEvidence(lucency=lucency, bridging_fraction=bridging, source=source, bridwell_grade=grade,
                        lucency_source=lucency_source)
