"""entered in error: PROMs, symptom reports and reader overrides can be marked entered in error (never deleted)

Revision ID: 0003_entered_in_error
Revises: 0002_pseudonym_series
Create Date: 2026-11-25 01:45:00

Three nullable columns on ``proms``, ``symptom_reports`` and ``overrides``: who marked the entry entered in error, when,
and why. Existing rows stay as they are (standing entries: all three ``None``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_entered_in_error"
down_revision = "0002_pseudonym_series"
branch_labels = None
depends_on = None

TABLES = ("proms", "symptom_reports", "overrides")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("retracted_by", sa.String(length=128), nullable=True))
            batch_op.add_column(sa.Column("retraction_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    """Refused while any entry is marked entered in error: dropping the columns would bring it back as a standing
    entry (a retracted red flag would escalate again, a wrong ODI would count in trends)."""
    from fusionwatch.errors import InputError

    conn = op.get_bind()
    counts = {table: conn.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE retracted_at IS NOT NULL")).scalar_one()
              for table in TABLES}
    if any(counts.values()):
        held = ", ".join(f"{n} in {table}" for table, n in counts.items() if n)
        raise InputError(f"Cannot downgrade below {revision}: entries marked entered in error ({held}) would come "
                         "back as standing entries (a retracted red flag would escalate again). Keep this revision "
                         "or restore a backup taken before them; nothing was changed.")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("retraction_reason")
            batch_op.drop_column("retracted_by")
            batch_op.drop_column("retracted_at")
