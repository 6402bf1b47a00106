"""The cohort export's use case: every patient's measurement and visit rows, one patient at a time.

A research export covers thousands of films: one patient whose stored record cannot be built (a PROM stored through
the API with more blank ODI sections than a score allows, a landmark version an older release wrote, ...) must not
stop it for every other patient, nor be dropped without a word. :func:`cohort_tables` builds each patient's rows on
their own; a patient whose rows cannot be built is skipped and named (:class:`SkippedPatient`): by key in an
identified export, by the site pseudonym in a de-identified one, with the reason in the words of the error met, cleared
of identifiers when de-identified (:func:`skip_reason`). The caller (``fusionwatch export cohort``) prints the skipped
patients, writes them beside the tables and exits non-zero.

An adapter like :mod:`fusionwatch.report.build`: it reads the store; no clinical rule lives here.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fusionwatch.errors import FusionwatchError
from fusionwatch.report.model import DEID_ANCHOR_DATE, deidentified_text

__all__ = ["RECORD_ERRORS", "CohortTables", "SkippedPatient", "cohort_tables", "skip_reason"]

log = logging.getLogger(__name__)

RECORD_ERRORS: tuple[type[Exception], ...] = (FusionwatchError, ValueError, TypeError, LookupError, ArithmeticError)
"""What a patient's stored record that cannot be built raises (a refusal of the report model or of a core object's
validation, a missing key in stored JSON): that patient is skipped. Anything else (the database gone, a full disk)
stops the export, as before: it is not about one patient."""

NAME_REMOVED = "[identifier removed]"
PATH_REMOVED = "[file name removed]"
UID_REMOVED = "[UID removed]"
_UID = re.compile(r"(?<![\w.])\d+(?:\.\d+){3,}(?![\w.])")
_PATH = re.compile(
    r"""(?:[A-Za-z]:)?[\\/~][^\s'"(),;]*"""  # /data/DOE^JOHN/film.dcm, ~/films, C:\\films
    r"""|[^\s'"(),;]*[\\/][^\s'"(),;]*[\\/][^\s'"(),;]*"""  # films/DOE/x (two separators)
    r"""|[^\s'"(),;]+\.(?:dcm|dicom|ima|png|jpe?g|tiff?|json|csv|txt|xml|zip|gz|parquet)\b""",  # DOE_JOHN_lat.dcm
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SkippedPatient:
    """A patient the export could not build: ``patient`` is the key (identified) or the site pseudonym
    (de-identified); ``reason`` says which table and why."""

    patient: str
    reason: str


@dataclass
class CohortTables:
    """Rows of the cohort measurement table (:data:`fusionwatch.export.cohort.COLUMNS`) and visit table
    (:data:`fusionwatch.export.visits.VISIT_COLUMNS`) of the ``exported`` patients, and the ``skipped`` ones."""

    measurements: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)
    skipped: list[SkippedPatient] = field(default_factory=list)


def cohort_tables(store: Any, keys: Sequence[str], *, deidentify: bool = False, secret: bytes | None = None,
                  today: dt.date | None = None) -> CohortTables:
    """Each patient's rows of both cohort tables, built patient by patient; a patient whose rows cannot be built
    (:data:`RECORD_ERRORS`) is skipped with its reason, never the whole export. A patient is in both tables or in
    neither.

    ``secret``: the site secret read once for the export (required with ``deidentify``); ``keys`` must have a
    surgery date on record when ``deidentify`` (the caller leaves the others out, as before).
    """
    from fusionwatch.export.cohort import cohort_rows, films_from_store
    from fusionwatch.pseudonym import pseudonym
    from fusionwatch.report.build import cohort_visit_rows

    if deidentify and secret is None:
        raise ValueError("cohort_tables(deidentify=True) needs the site secret (fusionwatch.export.secret)")
    out = CohortTables()
    for key in keys:
        name = pseudonym(key, secret) if deidentify else key
        stage = "measurement table"
        try:
            rows = cohort_rows(films_from_store(store, [key], deidentify=deidentify, secret=secret),
                               deidentify=deidentify)
            stage = "visit table"
            visits = cohort_visit_rows(store, [key], deidentify=deidentify, today=today, secret=secret)
        except RECORD_ERRORS as exc:
            reason = skip_reason(exc, stage, key=key, alias=name, store=store if deidentify else None)
            out.skipped.append(SkippedPatient(name, reason))
            # a log record names no patient (not even by pseudonym: no key to the log's reader) and quotes no message
            log.info("cohort export: a patient's rows of the %s could not be built (%s); skipped", stage,
                     type(exc).__name__)
            continue
        out.measurements += rows
        out.visits += visits
        out.exported.append(name)
    return out


def skip_reason(exc: BaseException, stage: str, *, key: str, alias: str, store: Any | None = None) -> str:
    """Why a patient was skipped: ``"its rows of the <stage> could not be built: <message>"``.

    With ``store`` (a de-identified export) the message is cleared of what could identify the patient: the key
    becomes ``alias`` (the pseudonym); the patient id and each part of the name on record, file paths and names, and
    DICOM UIDs are removed; ISO and YYYYMMDD dates are shifted like the export's (surgery = 2000-01-01) and other
    written dates removed (:func:`fusionwatch.report.model.deidentified_text`).
    """
    message = str(exc).strip() or type(exc).__name__
    if store is not None:
        withheld = f"its rows of the {stage} could not be built ({type(exc).__name__}; the message is withheld)"
        try:
            patient, surgery = store.get_patient(key), store.get_surgery(key)
        except RECORD_ERRORS:  # the record itself cannot be read: say less rather than guess
            return withheld
        if surgery is None:  # no offset to shift its dates by
            return withheld
        message = message.replace(key, "\0")  # the pseudonym goes in last: no removal below touches it
        # dates first (a date written with slashes is not a path), then paths and UIDs, then the name's parts
        message = deidentified_text(message, DEID_ANCHOR_DATE - surgery.date)
        message = _UID.sub(UID_REMOVED, _PATH.sub(PATH_REMOVED, message))
        words = [patient.patient_id or ""] + re.split(r"[\s^,]+", patient.name or "")
        for word in sorted({w for w in words if len(w) >= 2}, key=len, reverse=True):
            message = re.sub(re.escape(word), "\1", message, flags=re.IGNORECASE)  # placeholders: no word matches
        message = message.replace("\1", NAME_REMOVED).replace("\0", alias)          # inside a replacement
    return f"its rows of the {stage} could not be built: {message}"
