"""Alembic migrations of the fusionwatch store, shipped inside the package and applied by :func:`fusionwatch.store.migrate`."""
