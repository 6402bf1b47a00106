"""The care record in a SQL database: SQLAlchemy 2 models, Alembic migrations shipped in the package, a small Store API.

SQLite file by default (``sqlite:///fusionwatch.db``), PostgreSQL supported (``postgresql://...``, psycopg 3).
"""

from fusionwatch.store._records import (
    ENTRY_KINDS,
    ENTRY_LISTS,
    ENTRY_NAMES,
    BaselineChange,
    FilmRecord,
    LandmarkVersion,
    OverrideRecord,
    PatientCorrection,
    PromRecord,
    Retraction,
    SymptomRecord,
    VisitRecord,
)
from fusionwatch.store._store import (
    DEFAULT_URL,
    LANDMARK_KINDS,
    LATERAL_FILM_TARGET,
    AmbiguousVisitError,
    Store,
    database_url,
    migrate,
)

__all__ = [
    "AmbiguousVisitError",
    "BaselineChange",
    "DEFAULT_URL",
    "ENTRY_KINDS",
    "ENTRY_LISTS",
    "ENTRY_NAMES",
    "LANDMARK_KINDS",
    "LATERAL_FILM_TARGET",
    "FilmRecord",
    "LandmarkVersion",
    "OverrideRecord",
    "PatientCorrection",
    "PromRecord",
    "Retraction",
    "Store",
    "SymptomRecord",
    "VisitRecord",
    "database_url",
    "migrate",
]
