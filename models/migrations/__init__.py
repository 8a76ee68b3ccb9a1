"""Alembic migrations of the service's tables, for SQLite and PostgreSQL alike."""
