"""Queue indexes hold only open tasks, one of them in queue order.

A queue page then reads the first rows it needs and stops, on SQLite and on
PostgreSQL alike, instead of sorting every open task.

Revision ID: 0007
Revises: 0006
Created: 2026-12-03 19:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_open_due")
        batch_op.drop_index("ix_human_tasks_open_queue")
        batch_op.create_index(
            "ix_human_tasks_open_by_lane",
            ["lane", "department_code"],
            unique=False,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )
        batch_op.create_index(
            "ix_human_tasks_open_by_due",
            ["due_at", "id"],
            unique=False,
            postgresql_where=OPEN,
            sqlite_where=OPEN,
        )


def downgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_open_by_due")
        batch_op.drop_index("ix_human_tasks_open_by_lane")
        batch_op.create_index(
            "ix_human_tasks_open_queue",
            ["closed_at", "lane", "department_code"],
            unique=False,
        )
        batch_op.create_index(
            "ix_human_tasks_open_due", ["closed_at", "due_at"], unique=False
        )
