"""Alembic environment: runs on the connection handed over by :func:`fusionwatch.store.migrate` (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from fusionwatch.store._models import Base

config = context.config
target_metadata = Base.metadata


def _begin_sqlite_ddl_transaction(connection) -> None:  # type: ignore[no-untyped-def]
    """On SQLite, open the database transaction explicitly, so that DDL runs inside it.

    Python's sqlite3 driver begins a transaction only before INSERT/UPDATE/DELETE: a revision's CREATE/DROP/ALTER ran
    in autocommit, outside the migration's transaction, so a run of several revisions that failed part-way (a
    downgrade refused by an older revision) kept the newer revisions' dropped tables dropped while the recorded
    revision stayed, and the store then failed on the missing table. SQLite itself has transactional DDL: after an
    explicit BEGIN every statement (DDL too) is committed or rolled back with the whole run (the driver issues no
    implicit COMMIT before DDL since Python 3.6)."""
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if not dbapi.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    _begin_sqlite_ddl_transaction(connection)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=...` from a shell, for developers writing a new migration
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("Give the database: alembic -x url=sqlite:///fusionwatch.db ...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
