"""`suishoupai bpmn`: check and deploy BPMN and DMN files from the command line."""

from pathlib import Path

import click

from workflows.errors import DefinitionError, SuishoupaiError
from workflows.validation import MAX_FILE_BYTES, Problem

files_argument = click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False)
)
process_option = click.option(
    "--process",
    "process_id",
    default=None,
    help="the process that starts a case, when the files hold several",
)


@click.group()
def bpmn():
    """Check and deploy process definitions."""


@bpmn.command("check")
@files_argument
@process_option
def check(files, process_id):
    """Report every problem in FILES; exit 1 if there is any. Deploys nothing."""
    app = _prepared_app()
    contents = _read(files)
    with app.extensions["suishoupai.db"].transaction() as session:
        checked = app.extensions["suishoupai.registry"].check(
            session, contents, process_id
        )
    if checked.problems:
        _print_problems(checked.problems)
        raise SystemExit(1)
    click.echo(f"{checked.process_id}: no problems in {len(contents)} file(s)")


@bpmn.command("deploy")
@files_argument
@process_option
@click.option("--by", "deployed_by", default="cli", show_default=True)
def deploy(files, process_id, deployed_by):
    """Deploy FILES together as a new version of their process."""
    app = _prepared_app()
    contents = _read(files)
    try:
        with app.extensions["suishoupai.db"].transaction() as session:
            deployment = app.extensions["suishoupai.registry"].publish(
                session, contents, process_id, deployed_by
            )
            version = deployment.version
            message = (
                f"{version.process_id} version {version.version} deployed"
                if deployment.created
                else f"{version.process_id} version {version.version} is identical; "
                "nothing deployed"
            )
    except DefinitionError as error:
        _print_problems([Problem(**problem) for problem in error.errors or []])
        raise SystemExit(1) from error
    except SuishoupaiError as error:
        raise click.ClickException(error.message) from error
    click.echo(message)


def _prepared_app():
    from service.cli import _app, prepare_database

    app = _app()
    prepare_database(app)
    return app


def _read(files) -> dict[str, bytes]:
    contents = {}
    for name in files:
        path = Path(name)
        if path.name in contents:
            raise click.BadParameter(f"two files are named {path.name}")
        with path.open("rb") as handle:
            # A byte past the limit is enough to refuse it: /dev/zero never ends.
            contents[path.name] = handle.read(MAX_FILE_BYTES + 1)
    return contents


def _print_problems(problems) -> None:
    for problem in problems:
        click.echo(str(problem))
    click.echo(f"{len(problems)} problem(s)", err=True)
