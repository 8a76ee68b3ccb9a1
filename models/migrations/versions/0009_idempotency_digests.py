"""What a request sent with an Idempotency-Key carried, to tell a retry from a reuse.

Revision ID: 0009
Revises: 0008
Created: 2026-12-04 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("idempotency_digest", sa.String(64), nullable=True))
    with op.batch_alter_table("answered_completions") as table:
        table.add_column(sa.Column("digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answered_completions") as table:
        table.drop_column("digest")
    with op.batch_alter_table("cases") as table:
        table.drop_column("idempotency_digest")
