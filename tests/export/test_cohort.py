"""Tests for export/cohort.py: rows per film x measurement, CSV and Parquet round trips, de-identification."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fusionwatch.errors import InputError
from fusionwatch.export.cohort import COLUMNS, CohortFilm, cohort_rows, write_cohort
from fusionwatch.measurement import Measurement
from fusionwatch.measurement import MeasureName as M
from fusionwatch.units import SpacingSource, Unit

SURGERY = dt.date(2026, 1, 10)
FILMS = [
    CohortFilm("P1", SURGERY, "1.2.3.4", "lateral", "6-weeks", dt.date(2026, 2, 21), (
        Measurement(M.SACRAL_SLOPE, 40.0, Unit.DEG, "a/1"),
        Measurement(M.DISC_HEIGHT_MEAN_L5_S1, 10.5, Unit.MM, "b/1", spacing_source=SpacingSource.DETECTOR_PLANE),
        Measurement.missing(M.LUMBAR_LORDOSIS, Unit.DEG, "c/1", "missing L1"),
    )),
    CohortFilm("P2", SURGERY, "1.2.3.5", "lateral", "pre-op", dt.date(2026, 1, 1), (
        Measurement(M.PELVIC_TILT, 15.0, Unit.DEG, "a/1"),
    )),
]


def test_rows() -> None:
    rows = cohort_rows(FILMS)
    assert len(rows) == 4
    assert rows[1]["days_since_surgery"] == 42 and rows[1]["unit"] == "mm"
    assert rows[1]["spacing_source"] == "detector_plane"
    assert rows[2]["value"] is None and rows[2]["reason"] == "missing L1"
    assert rows[3]["days_since_surgery"] == -9


def test_deidentified_rows() -> None:
    rows = cohort_rows(FILMS, deidentify=True)
    assert rows[0]["film"] != "1.2.3.4" and len(rows[0]["film"]) == 16
    assert rows[0]["film_date"] == "2000-02-12"  # day 42 after the shifted surgery date 2000-01-01
    assert rows[3]["film_date"] == "1999-12-23"  # day -9


def test_deidentify_without_surgery_raises() -> None:
    f = CohortFilm("P3", None, "x", "lateral", "v", dt.date(2026, 1, 1), ())
    with pytest.raises(InputError, match="no surgery date"):
        cohort_rows([f], deidentify=True)


def test_csv_and_parquet(tmp_path: Path) -> None:
    rows = cohort_rows(FILMS)
    c = write_cohort(rows, tmp_path / "c.csv")
    with c.open() as fh:
        got = list(csv.DictReader(fh))
    assert tuple(got[0]) == COLUMNS and got[1]["value"] == "10.5" and got[2]["value"] == ""
    p = write_cohort(rows, tmp_path / "c.parquet")
    t = pq.read_table(p)
    assert t.num_rows == 4 and t.column_names == list(COLUMNS)
    assert t.column("value").to_pylist() == [40.0, 10.5, None, 15.0]


def test_bad_suffix_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.csv or \.parquet"):
        write_cohort([], tmp_path / "c.xlsx")
