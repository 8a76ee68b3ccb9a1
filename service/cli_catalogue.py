"""`suishoupai catalogue`: show the dispatch catalogue or publish a new version."""

import json
from pathlib import Path

import click
import yaml

from service import catalogue
from service.schemas import CatalogueEditSchema
from service.text_input import CONTROL
from workflows.errors import SuishoupaiError

AUTHOR_CHARACTERS = 80  # as the version's created_by column holds


@click.group("catalogue")
def catalogue_group():
    """The dispatch catalogue (派单目录)."""


@catalogue_group.command("show")
def show():
    """Print the catalogue in force as YAML, ready to edit and publish again."""
    from service.cli import open_app

    app = open_app()
    with app.extensions["suishoupai.db"].transaction() as session:
        version = catalogue.current(session)
        if version is None:
            raise click.ClickException("no catalogue has been published")
        entries = [
            {
                "category": e.category_code,
                "department": e.department_code,
                **({"street": e.street} if e.street else {}),
            }
            for e in version.entries
        ]
    click.echo(f"# version {version.version}", err=True)
    click.echo(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False))


@catalogue_group.command("set")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default=None, help="why it changed")
@click.option("--author", default="cli", show_default=True)
def set_entries(path, note, author):
    """Publish the entries in PATH (YAML or JSON list) as the next version."""
    from service.cli import open_app

    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{path} is not UTF-8 text") from error
    except (yaml.YAMLError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{path} is not YAML or JSON: {error}") from error
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise click.ClickException(
            f"{path}: expected a list of {{category, street, department}}"
        )
    _check_as_the_api_does(path, entries, note, author)
    app = open_app()
    try:
        with app.extensions["suishoupai.db"].transaction() as session:
            published = catalogue.publish(session, entries, author, note)
            number, is_new = published.version.version, published.is_new
    except SuishoupaiError as error:
        problems = json.dumps(error.errors, ensure_ascii=False) if error.errors else ""
        raise click.ClickException(f"{error.message} {problems}".strip()) from error
    if is_new:
        click.echo(f"catalogue version {number} published")
    else:
        click.echo(f"catalogue version {number} already routes so: nothing published")


def _check_as_the_api_does(path, entries, note, author) -> None:
    """What the catalogue API refuses, this command refuses too."""
    edit = {"entries": entries, **({"note": note} if note is not None else {})}
    problems = CatalogueEditSchema().validate(edit)
    if not 0 < len(author) <= AUTHOR_CHARACTERS:
        problems["author"] = [f"1 to {AUTHOR_CHARACTERS} characters"]
    texts = {"note": note or "", "author": author}
    for number, entry in enumerate(entries):
        for key, value in entry.items():
            texts[f"entries.{number}.{key}"] = value if isinstance(value, str) else ""
    for name, text in texts.items():
        if CONTROL.search(text):
            problems[name] = ["may not contain control characters"]
    if problems:
        raise click.ClickException(
            f"{path}: {json.dumps(problems, ensure_ascii=False, default=str)}"
        )
