"""Research export of a cohort's measurements: one row per film x measurement, as CSV or Parquet (pyarrow).

Columns (:data:`COLUMNS`): ``patient`` (pseudonymous key), ``film`` (film id; when de-identified a hash keyed with
the site secret), ``view``, ``visit``, ``days_since_surgery``, ``film_date`` (shifted when de-identified: surgery =
2000-01-01), ``measurement``, ``value``, ``unit``, ``method``, ``spacing_source``, ``uncertainty``, ``reason``,
``warnings``.
Values that could not be measured stay in the table with an empty ``value`` and their ``reason``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusionwatch.errors import InputError
from fusionwatch.export.deid import pseudo_id, shift_date
from fusionwatch.measurement import Measurement
from fusionwatch.pseudonym import pseudonym, uid_seed

__all__ = ["COLUMNS", "CohortFilm", "cohort_rows", "films_from_store", "write_cohort"]

COLUMNS = (
    "patient", "film", "view", "visit", "days_since_surgery", "film_date", "measurement", "value", "unit", "method",
    "spacing_source", "uncertainty", "reason", "warnings",
)


@dataclass(frozen=True)
class CohortFilm:
    """One measured film of one patient."""

    patient_key: str
    surgery_date: dt.date | None
    film_id: str
    view: str | None
    visit: str
    film_date: dt.date
    measurements: Sequence[Measurement]
    pseudonym: str | None = None
    """The patient's research pseudonym (:mod:`fusionwatch.pseudonym`), written instead of the key when
    de-identified; ``None``: one from a random per-process secret."""
    uid_key: str | None = None
    """The seed of the hashed film id (:func:`fusionwatch.pseudonym.uid_seed`, keyed with the site secret, never
    shown); ``None``: one from a random per-process secret."""


def cohort_rows(films: Iterable[CohortFilm], *, deidentify: bool = False) -> list[dict[str, Any]]:
    """Flatten films into rows (see :data:`COLUMNS`).

    Raises
    ------
    InputError
        If ``deidentify`` is asked for a film whose patient has no surgery date (dates cannot be shifted).
    """
    rows = []
    for f in films:
        days = (f.film_date - f.surgery_date).days if f.surgery_date else None
        if deidentify:
            if f.surgery_date is None:
                raise InputError(f"Patient {f.patient_key!r} has no surgery date: cannot shift dates to de-identify.")
            patient = f.pseudonym or pseudonym(f.patient_key, None)
            seed = f.uid_key if f.uid_key is not None else uid_seed(f.patient_key, None)
            film_id, when = pseudo_id(seed, f.film_id), shift_date(f.film_date, f.surgery_date)
        else:
            patient, film_id, when = f.patient_key, f.film_id, f.film_date
        for m in f.measurements:
            rows.append({
                "patient": patient, "film": film_id, "view": f.view or "", "visit": f.visit,
                "days_since_surgery": days, "film_date": when.isoformat(), "measurement": m.name.value,
                "value": m.value, "unit": m.unit.value, "method": m.method,
                "spacing_source": m.spacing_source.value if m.spacing_source else "",
                "uncertainty": m.uncertainty, "reason": m.reason or "", "warnings": "; ".join(m.warnings),
            })
    return rows


def films_from_store(store: Any, keys: Sequence[str] | None = None, *, deidentify: bool = False,
                     secret: bytes | None = None) -> list[CohortFilm]:
    """Every film with current landmarks of the given patients (default: all) in a :class:`fusionwatch.store.Store`;
    with ``deidentify`` each carries its patient's pseudonym under ``secret``, the site secret the caller read once
    for the whole export (:func:`fusionwatch.export.secret.site_secret`; required with ``deidentify``: the core reads
    no files)."""
    out = []
    if deidentify and secret is None:
        raise ValueError("films_from_store(deidentify=True) needs the site secret (fusionwatch.export.secret)")
    for key in keys or store.list_patients():
        surgery = store.get_surgery(key)
        alias = pseudonym(key, secret) if deidentify else None
        seed = uid_seed(key, secret) if deidentify else None
        for film in store.list_films(key):
            current = store.current_landmarks(film.film_id)
            if current is None:
                continue
            out.append(CohortFilm(key, surgery.date if surgery else None, film.film_id, film.view, film.visit_label,
                                  film.acquired or film.visit_date, tuple(current.measurements), alias, seed))
    return out


def write_cohort(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as CSV (``.csv``) or Parquet (``.parquet``), chosen by the file suffix.

    Raises
    ------
    InputError
        For any other suffix.
    """
    path = Path(path)
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            for r in rows:
                w.writerow({k: "" if r[k] is None else r[k] for k in COLUMNS})
        return path
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([
            ("patient", pa.string()), ("film", pa.string()), ("view", pa.string()), ("visit", pa.string()),
            ("days_since_surgery", pa.int32()), ("film_date", pa.string()), ("measurement", pa.string()),
            ("value", pa.float64()), ("unit", pa.string()), ("method", pa.string()), ("spacing_source", pa.string()),
            ("uncertainty", pa.float64()), ("reason", pa.string()), ("warnings", pa.string()),
        ])
        table = pa.Table.from_pylist([{k: r[k] for k in COLUMNS} for r in rows], schema=schema)
        pq.write_table(table, path)
        return path
    raise InputError(f"Cohort export file must end in .csv or .parquet, got {path.name!r}.")
