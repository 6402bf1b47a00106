"""pseudonym series: the fingerprint of the de-identification site secret, recorded with the database

Revision ID: 0002_pseudonym_series
Revises: 0001
Create Date: 2026-11-25 01:40:00

A lost secret file or a different FUSIONWATCH_DEID_SECRET gives every patient a new pseudonym; with the secret's
fingerprint (an HMAC of a fixed label, never the secret) stored here, exports refuse a secret that is not the current
series' one (fusionwatch.export.secret).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_pseudonym_series"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pseudonym_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pseudonym_series")),
    )


def downgrade() -> None:
    op.drop_table("pseudonym_series")
