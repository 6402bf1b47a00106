"""Store fixtures: every store test runs on a SQLite file and on a real, throwaway PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fusionwatch.store import Store

from ._postgres import NoPostgres, fresh_database, postgres_server


@pytest.fixture(scope="session")
def postgres_url_template() -> Iterator[str]:
    try:
        with postgres_server() as template:
            yield template
    except NoPostgres as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fw.db'}"
    else:
        template = request.getfixturevalue("postgres_url_template")
        with fresh_database(template) as url:
            yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()
