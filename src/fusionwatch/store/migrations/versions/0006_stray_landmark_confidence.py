"""stray landmark confidences: a stored confidence for a point the landmarks do not have is kept beside them

Revision ID: 0006_stray_landmark_confidence
Revises: 0005_baseline_changes
Create Date: 2026-11-25 08:55:00

Until 2026-11-25 06:38 (commit 5d5e6f3) a landmark file's confidence for a name that is not among its points (a misspelt
``L1.superior.anteriour``) was read and stored as it was. Landmarks now refuse such a confidence when built, so a stored
version holding one could no longer be read: that patient's report and the whole cohort export stopped with an error,
and no command can edit a stored version. This revision moves each such confidence from the version's ``confidence``
object to ``confidence_without_point`` beside it (the landmark JSON reader ignores keys it does not know), so the
version reads again with the points, the confidences of its points and its review reasons unchanged, and the stray
values are kept for the audit. The downgrade moves them back.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006_stray_landmark_confidence"
down_revision = "0005_baseline_changes"
branch_labels = None
depends_on = None

KEPT = "confidence_without_point"
"""The landmark JSON key the stray confidences are kept under (docs/landmarks.md)."""

_landmark_sets = sa.table("landmark_sets", sa.column("id", sa.Integer()), sa.column("data", sa.JSON()))


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    """Apply ``change(data) -> new data or None`` to every stored landmark version, writing the changed ones."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(_landmark_sets.c.id, _landmark_sets.c.data)).all()
    for row_id, data in rows:
        new = change(data)
        if new is not None:
            conn.execute(_landmark_sets.update().where(_landmark_sets.c.id == row_id).values(data=new))


def _set_aside(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not isinstance(data.get("confidence"), dict) or not isinstance(
            data.get("points"), dict):
        return None  # not a landmark object this revision can read: left as it is
    stray = {n: c for n, c in data["confidence"].items() if n not in data["points"]}
    if not stray:
        return None
    kept = {n: c for n, c in data["confidence"].items() if n in data["points"]}
    return {**data, "confidence": kept, KEPT: {**(data.get(KEPT) or {}), **stray}}


def _put_back(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not isinstance(data.get(KEPT), dict):
        return None
    out = {k: v for k, v in data.items() if k != KEPT}
    out["confidence"] = {**(data.get("confidence") or {}), **data[KEPT]}
    return out


def upgrade() -> None:
    _rewrite(_set_aside)


def downgrade() -> None:
    _rewrite(_put_back)
