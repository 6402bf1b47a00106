"""patient corrections: a corrected patient attribute (the birth date) with who, when, why and the old value

Revision ID: 0004_patient_corrections
Revises: 0003_entered_in_error
Create Date: 2026-11-25 04:40:00

A wrong birth date (typed, or carried in an ingested DICOM header) could not be corrected. A correction changes the
patient row and appends a row here with the old and new values, who corrected it, when and why (the audit: never
changed or deleted by the tool). Existing databases get the empty table; their patients are unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_patient_corrections"
down_revision = "0003_entered_in_error"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrected_by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_corrections_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_corrections")),
    )
    with op.batch_alter_table("patient_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_corrections_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    """Refused while any correction is recorded: dropping the table would lose the audit of the old values."""
    from fusionwatch.errors import InputError

    conn = op.get_bind()
    if not sa.inspect(conn).has_table("patient_corrections"):
        # SQLite runs DDL outside the migration's transaction: a downgrade refused by an older revision after this
        # one ran leaves the table dropped and the revision unchanged; the next attempt must not fail on it
        return
    n = conn.execute(sa.text("SELECT COUNT(*) FROM patient_corrections")).scalar_one()
    if n:
        raise InputError(f"Cannot downgrade below {revision}: {n} patient correction(s) are recorded and their audit "
                         "(old values, who, when, why) would be lost. Keep this revision or restore a backup taken "
                         "before them; nothing was changed.")
    with op.batch_alter_table("patient_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_corrections_patient_id"))
    op.drop_table("patient_corrections")
