"""The Alembic migrations build exactly the tables the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import Base
from models.schema import upgrade
from service.database import make_engine
from tests.conftest import BACKENDS, ScratchDatabase


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    scratch = ScratchDatabase()
    try:
        yield scratch.url
    finally:
        scratch.drop()


def test_migrations_produce_the_models_schema(empty_database):
    engine = make_engine(empty_database)
    upgrade(engine)

    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )
    engine.dispose()

    assert differences == []


def test_upgrading_twice_changes_nothing(empty_database):
    engine = make_engine(empty_database)
    upgrade(engine)
    upgrade(engine)

    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()

    assert revision is not None


def test_engine_state_is_compressed_with_lz4_where_postgresql_offers_it(
    empty_database,
):
    if not empty_database.startswith("postgresql"):
        pytest.skip("SQLite stores text uncompressed")
    engine = make_engine(empty_database)
    upgrade(engine)

    with engine.connect() as connection:
        offered = connection.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
            "WHERE name = 'default_toast_compression'"
        ).scalar()
        method = connection.exec_driver_sql(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'cases'::regclass AND attname = 'instance'"
        ).scalar()
    engine.dispose()

    assert method == ("l" if offered else "")
