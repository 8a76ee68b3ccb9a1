"""Tasks remember the people a diagram names as their candidates.

Revision ID: 0006
Revises: 0005
Created: 2026-12-03 17:34:35.280014
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("candidate_users", sa.String(length=500), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_column("candidate_users")
