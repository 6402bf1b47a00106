"""The shipped migrations create the whole schema from an empty database, matching the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from fusionwatch.store import Store, migrate
from fusionwatch.store._models import Base
from fusionwatch.store._store import _alembic


def test_migrations_build_schema_from_empty(empty_db_url: str) -> None:
    """An empty database gets every table; the migrated schema has no difference from the models."""
    engine = create_engine(empty_db_url)
    assert inspect(engine).get_table_names() == []
    migrate(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == _alembic()[1]  # the one head
    engine.dispose()


def test_opening_twice_is_harmless(empty_db_url: str) -> None:
    """Opening an up-to-date database re-runs no migration and keeps the data."""
    from fusionwatch.records import Patient

    with Store(empty_db_url) as s:
        s.add_patient(Patient(key="A"))
    with Store(empty_db_url) as s:
        assert s.list_patients() == ["A"]
