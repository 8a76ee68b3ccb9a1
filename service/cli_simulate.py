"""`suishoupai simulate`: how many cases a new policy would escalate."""

from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from models import Base, Category
from service.deadlines import current_policy, working_calendar
from service.reference import seed_reference_data
from service.settings import Settings
from service.simulation import (
    Source,
    compare,
    comparison_chart,
    database_cases,
    format_table,
    load_policy,
    read_hotline_csv,
)
from workflows.clock import clock
from workflows.errors import SuishoupaiError

DEFAULT_DAYS = 30


@click.command()
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the new policy, YAML (see examples/policy.yaml)",
)
@click.option(
    "--from",
    "since",
    type=click.DateTime(["%Y-%m-%d"]),
    help=f"first day of the period [default: {DEFAULT_DAYS} days ago; the whole CSV]",
)
@click.option(
    "--to",
    "until",
    type=click.DateTime(["%Y-%m-%d"]),
    help="last day of the period; the replay ends when it does "
    "[default: now, or the CSV's last timestamp]",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="replay a 311 / 12345-style hotline export instead of the database",
)
@click.option(
    "--chart",
    "chart_path",
    default="simulation.svg",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="where to write the comparison chart (SVG)",
)
@click.option(
    "--timezone",
    "zone_name",
    default=None,
    help="time zone of CSV timestamps that carry none [default: the calendar's]",
)
def simulate(policy_path, since, until, csv_path, chart_path, zone_name):
    """Replay a period's cases under the current and a new policy, by department."""
    if since and until and since > until:
        raise click.BadParameter("the period ends before it starts", param_hint="--to")
    try:
        settings = Settings.from_environment()
        with _reference(settings, csv_path is None) as (session, from_database):
            calendar = working_calendar(session, settings)
            current = current_policy(session, settings)
            new = load_policy(policy_path, base=current)
            zone = _zone(zone_name, calendar.zone)
            first = since.date() if since else None
            last = until.date() if until else None
            if csv_path is not None:
                source = read_hotline_csv(csv_path, zone, first, last)
            else:
                source = _database_source(session, calendar.zone, first, last)
        baseline = "database categories" if from_database else "shipped defaults"
        click.echo(
            f"replaying {source.description} until {source.until:%Y-%m-%d %H:%M %Z}; "
            f"current policy: {baseline}; new policy: {policy_path}",
            err=True,
        )
        if source.skipped:
            click.echo(
                f"{source.skipped} rows without a readable opening time skipped",
                err=True,
            )
        with click.progressbar(
            length=2 * len(source.cases),
            label="replaying",
            file=click.get_text_stream("stderr"),
        ) as bar:
            comparison = compare(
                source.cases, current, new, calendar, source.until, bar.update
            )
        click.echo(format_table(comparison))
        title = f"Cases escalated by department: current vs {policy_path.name}"
        chart_path.write_text(comparison_chart(comparison, title), encoding="utf-8")
    except SuishoupaiError as error:
        raise click.ClickException(error.message) from error
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"the database cannot be read ({type(error).__name__}); "
            "is it up to date? run `suishoupai db upgrade`"
        ) from error
    except OSError as error:
        raise click.ClickException(
            f"cannot write {error.filename or chart_path}: {error.strerror}"
        ) from error
    click.echo(f"chart written to {chart_path}", err=True)


@contextmanager
def _reference(settings: Settings, needs_database: bool):
    """A session on the service's database, or on the shipped defaults if none exists.

    Yields the session and whether it is the service's own database.
    """
    if _database_exists(settings):
        from service.app import create_app

        # The app reads the test clock the serving processes share, if enabled.
        app = create_app(settings)
        with app.extensions["suishoupai.db"].transaction() as session:
            if session.scalar(select(Category.code).limit(1)) is not None:
                yield session, True
                return
    if needs_database:
        raise click.ClickException(
            f"no database with cases at {settings.database_url}; "
            "give --csv FILE to replay a hotline export"
        )
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        seed_reference_data(session)
        yield session, False
    engine.dispose()


def _database_exists(settings: Settings) -> bool:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and Path(url.database).is_file()


def _database_source(session, zone, first: date | None, last: date | None) -> Source:
    now = clock.now()
    end = now
    if last is not None:
        end = min(now, datetime.combine(last + timedelta(days=1), time(0), zone))
    start = (
        datetime.combine(first, time(0), zone)
        if first is not None
        else end - timedelta(days=DEFAULT_DAYS)
    )
    cases = database_cases(session, start, end)
    return Source(
        cases,
        f"{len(cases)} cases reported from {start:%Y-%m-%d}",
        end.astimezone(zone),
    )


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise click.ClickException(f"unknown time zone {name!r}") from error
