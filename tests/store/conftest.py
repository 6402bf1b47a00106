"""Store fixtures: every store test runs on a SQLite file and on a real, throwaway PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from fusionwatch.store import Store, migrate

from ._postgres import NoPostgres, fresh_database, postgres_server

MIGRATED_TEMPLATE = "fw_migrated"


@pytest.fixture(scope="session")
def postgres_url_template() -> Iterator[str]:
    """A PostgreSQL server for this test session, with a migrated template database to copy per test."""
    try:
        with postgres_server() as template:
            import psycopg

            admin = template.format(db="postgres").replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{MIGRATED_TEMPLATE}"')
            engine = create_engine(template.format(db=MIGRATED_TEMPLATE))
            migrate(engine)
            engine.dispose()
            yield template
    except NoPostgres as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


def _url(request: pytest.FixtureRequest, tmp_path, template: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fw.db'}"
    else:
        server = request.getfixturevalue("postgres_url_template")
        with fresh_database(server, template) as url:
            yield url


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh empty database on the test PostgreSQL server."""
    yield from _url(request, tmp_path, None)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to a database with the schema (on PostgreSQL a copy of the migrated template)."""
    yield from _url(request, tmp_path, MIGRATED_TEMPLATE)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()
