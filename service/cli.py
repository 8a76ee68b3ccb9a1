"""The `suishoupai` command: serve, prepare the database, add users."""

import sys

import click
import yaml
from flask import Flask
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from models import schema
from models.people import ROLES
from service import catalogue
from service.app import create_app
from service.auth import add_user
from service.cli_bpmn import bpmn
from service.cli_catalogue import catalogue_group
from service.cli_simulate import simulate
from service.reference import seed_reference_data
from service.server import ServiceServer
from workflows.errors import SuishoupaiError


def prepare_database(app: Flask) -> None:
    """Migrate the tables, seed reference data and deploy the bundled diagrams."""
    settings = app.extensions["suishoupai.settings"]
    db = app.extensions["suishoupai.db"]
    with db.preparation_lock():
        db.upgrade()
        with db.transaction() as session:
            seed_reference_data(session)
            catalogue.seed(session)
            version = app.extensions["suishoupai.registry"].deploy_folder(
                session, settings.bpmn_dir, settings.process_id
            )
        click.echo(
            f"{version.process_id} version {version.version} is deployed", err=True
        )


def _app() -> Flask:
    try:
        return create_app()
    except SuishoupaiError as error:
        raise click.ClickException(error.message) from error


def open_app() -> Flask:
    """The app over a database brought up to date, for commands that use it."""
    app = _app()
    prepare_database(app)
    return app


USER_FIELDS = ("name", "role", "department", "partner")


class Commands(click.Group):
    """A command stopped by its settings, its database or its input says why in a
    line, and exits 1, never with a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SuishoupaiError as error:
            raise click.ClickException(error.message) from error
        except DBAPIError as error:
            # A database the URL cannot open, a file that is no database, or a
            # change its constraints refuse.
            reason = (str(error.orig).strip().splitlines() or ["no reason given"])[0]
            refused = isinstance(error, IntegrityError | DataError)
            what = "refused the change" if refused else "cannot be used"
            raise click.ClickException(f"the database {what}: {reason}") from error
        except RecursionError as error:
            raise click.ClickException("the input is nested too deeply") from error
        except (OSError, ValueError, OverflowError) as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=Commands)
def main():
    """Suishoupai: closed-loop case management for deputies' photo reports."""


def _host(_ctx, _param, value: str) -> str:
    try:
        value.encode("idna")
    except UnicodeError as error:
        raise click.BadParameter("not a host name or address") from error
    if value.count(":") == 1:
        raise click.BadParameter("give the port with --port, not in the host")
    return value


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, callback=_host)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="worker processes",
)
# A worker runs Python one thread at a time: a second thread works while the first
# waits for the database, and more only contend for the interpreter lock (8 threads
# served about 15% fewer reports a second than 2 on a 2-core machine). Gunicorn
# keeps idle kept-alive connections off the threads, so two do not wait on them.
@click.option(
    "--threads",
    default=2,
    show_default=True,
    type=click.IntRange(1, 256),
    help="threads per worker (for more throughput, add workers)",
)
def serve(host, port, workers, threads):
    """Serve the API and the pages, with the scheduler in every worker."""
    app = _app()
    prepare_database(app)
    app.extensions["suishoupai.db"].engine.dispose()
    settings = app.extensions["suishoupai.settings"]
    click.echo(f"serving on http://{host}:{port} with {workers} worker(s)", err=True)
    ServiceServer(settings, f"{host}:{port}", workers, threads).run()


@main.group()
def db():
    """Database commands."""


@db.command("upgrade")
def db_upgrade():
    """Migrate the tables, seed departments and categories, deploy the diagrams."""
    prepare_database(_app())


@db.command("revision")
@click.option("-m", "--message", required=True, help="what the migration changes")
def db_revision(message):
    """Write a migration for what the models have that the database lacks."""
    app = _app()
    app.extensions["suishoupai.db"].upgrade()
    schema.new_revision(app.extensions["suishoupai.db"].engine, message)


@main.group()
def user():
    """User commands."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--department", default=None, help="department code, for handlers")
@click.option("--partner", default=None, help="platform code, for partner accounts")
def user_add(name, role, department, partner):
    """Create a user; the last line printed is the user's API token."""
    app = _app()
    prepare_database(app)
    try:
        with app.extensions["suishoupai.db"].transaction() as session:
            token = add_user(session, name, role, department, partner)
    except SuishoupaiError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"user {name} ({role}) created; API token:", err=True)
    click.echo(token)


@user.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def user_import(path):
    """Create the users listed in a YAML file, all or none; prints 'name token' lines.

    Each entry: {name, role, department (handlers), partner (partner accounts)}.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            entries = yaml.safe_load(handle)
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path} is not UTF-8 text") from error
    except yaml.YAMLError as error:
        raise click.ClickException(f"{path} is not YAML: {error}") from error
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise click.ClickException(f"{path}: expected a list of users")
    for number, entry in enumerate(entries, start=1):
        unknown = {str(key) for key in entry} - set(USER_FIELDS)
        if unknown:
            raise click.ClickException(
                f"{path}: user {number} has unknown fields {', '.join(sorted(unknown))}"
                f" (a user has {', '.join(USER_FIELDS)})"
            )
        not_text = [k for k in USER_FIELDS if not isinstance(entry.get(k), str | None)]
        if not_text:
            raise click.ClickException(
                f"{path}: user {number} gives {', '.join(not_text)} as other than text"
            )
    app = open_app()
    try:
        with app.extensions["suishoupai.db"].transaction() as session:
            tokens = [
                (
                    e.get("name"),
                    add_user(
                        session,
                        e.get("name") or "",
                        str(e.get("role") or ""),
                        e.get("department"),
                        e.get("partner"),
                    ),
                )
                for e in entries
            ]
    except SuishoupaiError as error:
        raise click.ClickException(error.message) from error
    for name, token in tokens:
        click.echo(f"{name} {token}")


main.add_command(bpmn)
main.add_command(catalogue_group)
main.add_command(simulate)

if __name__ == "__main__":
    sys.exit(main())
