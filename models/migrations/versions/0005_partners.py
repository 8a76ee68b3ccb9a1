"""Partner platform accounts, and the status partners report on their cases.

Revision ID: 0005
Revises: 0004
Created: 2026-12-03 17:06:23.392605
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("partner_status", sa.String(length=20), nullable=True)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("partner_code", sa.String(length=40), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("partner_code")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("partner_status")
