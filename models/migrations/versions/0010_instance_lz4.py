"""Engine state is compressed with lz4 on PostgreSQL, where the server offers it.

Every case step rewrites its case's engine state, several kilobytes of JSON that
PostgreSQL compresses out of line. Its default method, pglz, costs a step about
twice what lz4 does for the same saving. The method only changes how new values
are stored: each case moves over at its next step. SQLite stores text as it is.

Revision ID: 0010
Revises: 0009
Created: 2026-12-04 20:00:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LZ4_OFFERED = (
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
    "WHERE name = 'default_toast_compression'"
)


def upgrade() -> None:
    _compress_instances_with("lz4")


def downgrade() -> None:
    _compress_instances_with("pglz")


def _compress_instances_with(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # Servers before 14, or built without lz4, keep their default.
    if not bind.exec_driver_sql(LZ4_OFFERED).scalar():
        return
    op.execute(f"ALTER TABLE cases ALTER COLUMN instance SET COMPRESSION {method}")
