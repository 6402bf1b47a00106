"""baseline changes: which film is a patient's early post-operative baseline, recorded when it changes, with why

Revision ID: 0005_baseline_changes
Revises: 0004_patient_corrections
Create Date: 2026-11-25 04:50:00

Every change against the baseline (disc height, lordosis, the hardware checks) is measured against one early
post-operative film. When a later ingest (a 6-week film arriving after the immediate one, landmarks added to a stored
film) or a corrected surgery date makes another film the baseline, findings shown earlier can change or go without a
word. The ingest and ``patient add`` record the baseline film after each change (visit, label, film, the one before it,
when and why); the follow-up timeline and the clinician report say so. Existing databases get the empty table: their
first recording is their current baseline.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_baseline_changes"
down_revision = "0004_patient_corrections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "baseline_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("film", sa.String(length=128), nullable=True),
        sa.Column("previous_visit_date", sa.Date(), nullable=True),
        sa.Column("previous_label", sa.String(length=64), nullable=True),
        sa.Column("previous_film", sa.String(length=128), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_baseline_changes_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baseline_changes")),
    )
    with op.batch_alter_table("baseline_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_baseline_changes_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    """Refused while a change of a baseline film is recorded (a patient with more than one recording): dropping the
    table would lose what the baseline was before, when and why it moved. A patient's first recording changed nothing
    and is recorded again after a new upgrade."""
    from fusionwatch.errors import InputError

    conn = op.get_bind()
    if not sa.inspect(conn).has_table("baseline_changes"):  # a database left so by a fusionwatch before env.py's fix
        return
    n = conn.execute(sa.text("SELECT COUNT(*) FROM (SELECT patient_id FROM baseline_changes GROUP BY patient_id "
                             "HAVING COUNT(*) > 1) AS moved")).scalar_one()
    if n:
        raise InputError(f"Cannot downgrade below {revision}: the baseline film of {n} patient(s) changed and the "
                         "record of it (the film before, when, why) would be lost. Keep this revision or restore a "
                         "backup taken before them; nothing was changed.")
    with op.batch_alter_table("baseline_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_baseline_changes_patient_id"))
    op.drop_table("baseline_changes")
