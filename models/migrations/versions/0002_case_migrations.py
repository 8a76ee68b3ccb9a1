"""Case migrations: which cases moved between versions, and how they were before.

Revision ID: 0002
Revises: 0001
Created: 2026-12-03 16:18:03.248707
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=False),
        sa.Column("to_version_id", sa.Integer(), nullable=False),
        sa.Column("previous_instance", sa.Text(), nullable=False),
        sa.Column("revision_after", sa.Integer(), nullable=False),
        sa.Column(
            "migrated_at", models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("migrated_by", sa.String(length=80), nullable=False),
        sa.Column("reverted_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_migrations_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["from_version_id"],
            ["process_versions.id"],
            name=op.f("fk_case_migrations_from_version_id_process_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["to_version_id"],
            ["process_versions.id"],
            name=op.f("fk_case_migrations_to_version_id_process_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_migrations")),
    )
    with op.batch_alter_table("case_migrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_migrations_batch"), ["batch"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_migrations_case_id"), ["case_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_migrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_migrations_case_id"))
        batch_op.drop_index(batch_op.f("ix_case_migrations_batch"))

    op.drop_table("case_migrations")
