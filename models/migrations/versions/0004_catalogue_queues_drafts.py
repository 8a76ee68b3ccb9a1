"""The dispatch catalogue, saved filters, task drafts, answered completions.

Revision ID: 0004
Revises: 0003
Created: 2026-12-03 16:35:55.014003
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "catalogue_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_catalogue_versions_version")),
    )
    op.create_table(
        "catalogue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=80), nullable=True),
        sa.Column("department_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_catalogue_entries_category_code_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_catalogue_entries_department_code_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalogue_versions.id"],
            name=op.f("fk_catalogue_entries_version_id_catalogue_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_entries")),
    )
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalogue_entries_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_filters_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_filters_user_id")),
    )
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_filters_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "answered_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column(
            "answered_at", models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_answered_completions_case_id_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["human_tasks.id"],
            name=op.f("fk_answered_completions_task_id_human_tasks"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_answered_completions_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answered_completions")),
        sa.UniqueConstraint(
            "user_id", "key", name=op.f("uq_answered_completions_user_id")
        ),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("catalogue_version", sa.Integer(), nullable=True))

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft", sa.JSON(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_column("draft")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("catalogue_version")

    op.drop_table("answered_completions")
    with op.batch_alter_table("saved_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_filters_user_id"))

    op.drop_table("saved_filters")
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogue_entries_version_id"))

    op.drop_table("catalogue_entries")
    op.drop_table("catalogue_versions")
