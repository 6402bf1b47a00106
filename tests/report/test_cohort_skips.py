"""Tests for fusionwatch.report.cohort: the cohort export skips (and names) a patient it cannot build."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fusionwatch.errors import LandmarkError
from fusionwatch.pseudonym import pseudonym
from fusionwatch.records import Patient, Surgery
from fusionwatch.report.cohort import cohort_tables, skip_reason
from fusionwatch.store import Store

SURGERY = dt.date(2025, 1, 10)
SECRET = b"s" * 40


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'c.db'}")
    for key, pid, name in (("MRN-778899", "PID-123", "DOE^JOHN"), ("MRN-2", "PID-2", "ROE^JANE")):
        s.add_patient(Patient(key, patient_id=pid, name=name))
        s.set_surgery(key, Surgery(date=SURGERY))
        s.add_prom(key, SURGERY + dt.timedelta(days=42), back_pain_nrs=3)
    yield s
    s.close()


class TestSkipReason:
    """Tests for skip_reason()."""

    MESSAGE = ("Landmarks unusable: /data/DOE^JOHN_1970/lat.dcm (film 1.2.826.0.1.3680043.2.99 of MRN-778899, id "
               "PID-123, taken 2025-02-21 or 21/02/2025, file Doe_John.png) for John Doe")

    def test_deidentified_reason_names_no_identifier(self, store: Store) -> None:
        """The key becomes the pseudonym; the patient id, each part of the name, paths, file names and UIDs are
        removed; ISO dates are shifted like the export's (surgery = 2000-01-01), other dates removed."""
        alias = pseudonym("MRN-778899", SECRET)
        reason = skip_reason(LandmarkError(self.MESSAGE), "visit table", key="MRN-778899", alias=alias, store=store)
        for identifier in ("MRN-778899", "PID-123", "DOE", "Doe", "JOHN", "John", "1970", "1.2.826", "2025",
                           "21/02", "lat.dcm", ".png"):
            assert identifier not in reason, (identifier, reason)
        assert reason.startswith("its rows of the visit table could not be built: Landmarks unusable:"), reason
        assert alias in reason and "2000-02-12" in reason and "[date removed]" in reason, reason

    def test_identified_reason_is_the_message(self) -> None:
        reason = skip_reason(ValueError("bad value"), "measurement table", key="K", alias="K")
        assert reason == "its rows of the measurement table could not be built: bad value"


class TestCohortTables:
    """Tests for cohort_tables()."""

    def test_a_patient_failing_in_the_measurement_table_is_in_neither_table(self, store: Store) -> None:
        """A failure while building one patient's measurement rows skips that patient in both tables; the other
        patient is exported."""

        class Failing:
            def __init__(self, inner: Store) -> None:
                self.inner = inner

            def __getattr__(self, name: str):  # noqa: ANN204 - delegate
                return getattr(self.inner, name)

            def list_films(self, key: str):  # noqa: ANN201
                if key == "MRN-778899":
                    raise LandmarkError("stored landmarks of MRN-778899 refused")
                return self.inner.list_films(key)

        tables = cohort_tables(Failing(store), ["MRN-778899", "MRN-2"], deidentify=True, secret=SECRET)
        bad, good = pseudonym("MRN-778899", SECRET), pseudonym("MRN-2", SECRET)
        assert tables.exported == [good]
        assert [s.patient for s in tables.skipped] == [bad]
        assert tables.skipped[0].reason == (f"its rows of the measurement table could not be built: stored "
                                            f"landmarks of {bad} refused")
        assert {r["patient"] for r in tables.visits} == {good}

    def test_other_errors_stop_the_export(self, store: Store) -> None:
        """An error not about one patient's record (the database gone, a disk) is not turned into a skip."""

        class Broken:
            def __getattr__(self, name: str):  # noqa: ANN204
                raise OSError("disk gone")

        with pytest.raises(OSError):
            cohort_tables(Broken(), ["MRN-2"], deidentify=False)
