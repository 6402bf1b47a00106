"""The pseudonym series table (fingerprints of the de-identification secret): recorded once, upgraded into old
databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine

from fusionwatch.records import Patient
from fusionwatch.store import Store, migrate

from ._race import run_at_once


def test_a_series_is_recorded_once_and_a_new_one_appended(store: Store) -> None:
    """The same fingerprint twice is one series (exports racing on a new database); another one starts a new one."""
    assert store.pseudonym_series() == []
    store.record_pseudonym_series("a" * 64, "file", "first de-identified export")
    store.record_pseudonym_series("a" * 64, "file", "first de-identified export")
    store.record_pseudonym_series("b" * 64, "environment", "secret lost")
    got = store.pseudonym_series()
    assert [(s.fingerprint[0], s.source, s.reason) for s in got] == [
        ("a", "file", "first de-identified export"), ("b", "environment", "secret lost")]
    assert got[0].started_at <= got[1].started_at <= dt.datetime.now(dt.UTC)
    store.record_pseudonym_series("a" * 64, "file", "back to the first secret")  # not current: a third series
    assert [s.fingerprint[0] for s in store.pseudonym_series()] == ["a", "b", "a"]


def test_a_database_from_before_the_series_upgrades_and_keeps_its_data(empty_db_url: str) -> None:
    """A database at the first schema revision opens: the table is added, its patients are kept, no series yet."""
    engine = create_engine(empty_db_url)
    migrate(engine, "0001")
    engine.dispose()
    with Store(empty_db_url, upgrade=False) as old:
        assert "pseudonym_series" not in old.table_names()
        old.add_patient(Patient(key="A"))
    with Store(empty_db_url) as s:
        assert "pseudonym_series" in s.table_names()
        assert s.list_patients() == ["A"] and s.pseudonym_series() == []


def test_racing_first_records_make_one_series(db_url: str) -> None:
    """8 threads recording the same first series at once (first de-identified exports racing): one row. On PostgreSQL
    the INSERT..SELECT alone recorded it more than once in about half of such rounds (READ COMMITTED)."""
    for _ in range(5):
        with Store(db_url) as reset:
            with reset.engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM pseudonym_series")
        errors = run_at_once(db_url, lambda s: s.record_pseudonym_series(
            "c" * 64, "file", "first de-identified export"))
        with Store(db_url) as s:
            assert errors == [] and len(s.pseudonym_series()) == 1
