"""Alembic migrations of the fusionwatch store, shipped in the package, applied by :func:`fusionwatch.store.migrate`."""
