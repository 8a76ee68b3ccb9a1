"""Stage deadlines, common problems, the outbox, local calendar days, extensions.

Revision ID: 0003
Revises: 0002
Created: 2026-12-03 16:18:17.449623
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "common_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=True),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lng", sa.Double(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("opened_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_common_problems")),
    )
    with op.batch_alter_table("common_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_common_problems_closed_at"), ["closed_at"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "delivered_at", models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_next_attempt_at"),
            ["next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "stage_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("department_code", sa.String(length=40), nullable=True),
        sa.Column("limit", sa.String(length=40), nullable=False),
        sa.Column("started_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "supervise_at", models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "paused_since", models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("paused_seconds", sa.Double(), nullable=False),
        sa.Column("reminded_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "supervised_at", models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "next_check_at", models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("closed_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_stage_deadlines_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_deadlines")),
    )
    with op.batch_alter_table("stage_deadlines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_deadlines_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stage_deadlines_next_check_at"),
            ["next_check_at"],
            unique=False,
        )

    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("until", models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "requested_at", models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("decision_note", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_extension_requests_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["deadline_id"],
            ["stage_deadlines.id"],
            name=op.f("fk_extension_requests_deadline_id_stage_deadlines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_requests")),
    )
    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_extension_requests_case_id"), ["case_id"], unique=False
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("street", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("return_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_cases_street"), ["street"], unique=False)

    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "triage_unit",
                sa.String(length=20),
                server_default="working_hours",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "handling_unit",
                sa.String(length=20),
                server_default="working_hours",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "confirm_unit",
                sa.String(length=20),
                server_default="hours",
                nullable=False,
            )
        )

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("department_code", sa.String(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_escalations_department_code"),
            ["department_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_escalations_group_id"), ["group_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_escalations_group_id_common_problems"),
            "common_problems",
            ["group_id"],
            ["id"],
        )


def downgrade() -> None:

    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_escalations_group_id_common_problems"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_escalations_group_id"))
        batch_op.drop_index(batch_op.f("ix_escalations_department_code"))
        batch_op.drop_column("group_id")
        batch_op.drop_column("department_code")

    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_column("confirm_unit")
        batch_op.drop_column("handling_unit")
        batch_op.drop_column("triage_unit")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_street"))
        batch_op.drop_column("return_count")
        batch_op.drop_column("street")

    with op.batch_alter_table("extension_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extension_requests_case_id"))

    op.drop_table("extension_requests")
    with op.batch_alter_table("stage_deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_deadlines_next_check_at"))
        batch_op.drop_index(batch_op.f("ix_stage_deadlines_case_id"))

    op.drop_table("stage_deadlines")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notifications_case_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("common_problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_common_problems_closed_at"))

    op.drop_table("common_problems")
    op.drop_table("calendar_days")
