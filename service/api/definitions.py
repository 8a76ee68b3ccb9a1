"""Process definitions: deploy, check, list, download, compare and migrate versions."""

from pathlib import PurePath

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import func, select

from models import Case, Escalation, ProcessVersion
from models.cases import FINAL_STATUSES
from service.api import attachment, db_session, extension
from service.api.cases import find_case
from service.auth import require_role
from service.casework import STAGE_OF_TASK
from service.definitions import main_file
from service.migration import Migrations
from service.schemas import ROW_NUMBER
from workflows.errors import DefinitionError, NotFound
from workflows.progress import element_states, failing_element
from workflows.runtime import CaseInstance
from workflows.validation import Problem

blp = Blueprint(
    "definitions", __name__, url_prefix="/api/v1", description="BPMN definitions"
)

SUFFIXES = (".bpmn", ".dmn", ".xml")
MAX_FILE_NAME = 200


class VersionSchema(Schema):
    process_id = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()
    files = fields.Method("_files")
    main_file = fields.Function(main_file)

    def _files(self, version):
        return sorted(version.files)


class ProblemSchema(Schema):
    file = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    message = fields.String()


class CheckSchema(Schema):
    valid = fields.Boolean()
    process_id = fields.String(allow_none=True)
    errors = fields.List(fields.Nested(ProblemSchema))


class DiffQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    from_version = fields.Integer(data_key="from", required=True, validate=ROW_NUMBER)
    to_version = fields.Integer(data_key="to", required=True, validate=ROW_NUMBER)


class MigrationRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    to_version = fields.Integer(validate=ROW_NUMBER)
    cases = fields.List(fields.String(), validate=validate.Length(max=10_000))
    dry_run = fields.Boolean(load_default=True)


class RevertRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    cases = fields.List(fields.String(), validate=validate.Length(max=10_000))


def _bad_file_name(name: str) -> str | None:
    """Why a file cannot be kept under this name, or None."""
    if not name.lower().endswith(SUFFIXES) or name.startswith("."):
        return "name it NAME.bpmn or NAME.dmn"
    if not name.isprintable():
        return "its name holds control characters"
    if len(name) > MAX_FILE_NAME:
        return f"its name is longer than {MAX_FILE_NAME} characters"
    return None


def _file_problems(message: str, problems) -> DefinitionError:
    """Problems of the upload itself, in the shape a diagram's problems have."""
    return DefinitionError(
        message,
        errors=[
            Problem(file, None, None, None, why).as_dict() for file, why in problems
        ],
    )


def uploaded_definitions() -> tuple[dict[str, bytes], str | None]:
    """The BPMN and DMN files of a multipart upload, by file name."""
    if request.mimetype != "multipart/form-data":
        raise _file_problems(
            "send the files as multipart/form-data",
            [(None, "BPMN and DMN files are uploaded as multipart `files`")],
        )
    files: dict[str, bytes] = {}
    problems = []
    for upload in request.files.getlist("files"):
        name = PurePath((upload.filename or "").replace("\\", "/")).name
        why = _bad_file_name(name)
        if why is None and name in files:
            why = "it was uploaded twice"
        if why is not None:
            problems.append((name if name.isprintable() else repr(name), why))
            continue
        files[name] = upload.read()
    if not files and not problems:
        problems.append((None, "upload at least one file"))
    if problems:
        raise _file_problems("the files cannot be deployed: see errors", problems)
    process_id = (request.form.get("process_id") or "").strip() or None
    return files, process_id


def newest_numbers(session) -> dict[str, int]:
    return dict(
        session.execute(
            select(
                ProcessVersion.process_id, func.max(ProcessVersion.version)
            ).group_by(ProcessVersion.process_id)
        ).all()
    )


def dump_versions(schema_class, session, versions: list) -> list[dict]:
    """Versions as the API shows them, each marked whether it is the newest."""
    newest = newest_numbers(session)
    bodies = schema_class(many=True).dump(versions)
    for body in bodies:
        body["newest"] = newest.get(body["process_id"]) == body["version"]
    return bodies


@blp.route("/definitions")
class Definitions(MethodView):
    def get(self):
        """Every deployed version of every process"""
        require_role("designer", "supervisor")
        session = db_session()
        versions = session.scalars(
            select(ProcessVersion).order_by(
                ProcessVersion.process_id, ProcessVersion.version
            )
        ).all()
        return dump_versions(VersionSchema, session, versions)

    def post(self):
        """Deploy BPMN and DMN files (multipart `files`) as a new version"""
        user = require_role("designer")
        files, process_id = uploaded_definitions()
        session = db_session()
        deployment = extension("registry").publish(
            session, files, process_id, user.name
        )
        [body] = dump_versions(VersionSchema, session, [deployment.version])
        body["created"] = deployment.created
        return body, 201 if deployment.created else 200


@blp.route("/definitions/check")
class CheckDefinitions(MethodView):
    @blp.response(200, CheckSchema)
    def post(self):
        """Check BPMN and DMN files against the service's rules without deploying"""
        require_role("designer")
        files, process_id = uploaded_definitions()
        checked = extension("registry").check(db_session(), files, process_id)
        return {
            "valid": checked.ok,
            "process_id": checked.process_id,
            "errors": [problem.as_dict() for problem in checked.problems],
        }


@blp.route("/definitions/<string:process_id>/versions/<int:number>")
class OneVersion(MethodView):
    def get(self, process_id, number):
        """One version with its file names and how many open cases run on it"""
        require_role("designer", "supervisor")
        session = db_session()
        version = extension("registry").version(session, process_id, number)
        [body] = dump_versions(VersionSchema, session, [version])
        body["open_cases"] = session.scalar(
            select(func.count(Case.id)).where(
                Case.process_version_id == version.id,
                Case.status.not_in(FINAL_STATUSES),
            )
        )
        return body


@blp.route("/definitions/<string:process_id>/versions/<int:number>/tasks")
class VersionTasks(MethodView):
    def get(self, process_id, number):
        """Each user task's lane, assignee, candidates, due date and form fields"""
        require_role("designer", "supervisor")
        registry = extension("registry")
        version = registry.version(db_session(), process_id, number)
        assignments = registry.definition(version).task_assignments()
        return {
            element_id: assignment.as_dict()
            for element_id, assignment in sorted(assignments.items())
        }


@blp.route("/definitions/<string:process_id>/versions/<int:number>/files/<name>")
class VersionFile(MethodView):
    def get(self, process_id, number, name):
        """Download one file of a version as it was deployed"""
        require_role("designer", "supervisor")
        version = extension("registry").version(db_session(), process_id, number)
        if name not in version.files:
            raise NotFound(f"version {number} of {process_id} has no file {name}")
        return Response(
            version.files[name],
            mimetype="application/xml",
            headers={
                "Content-Disposition": attachment(name),
                "X-Content-Type-Options": "nosniff",
            },
        )


@blp.route("/definitions/<string:process_id>/diff")
class VersionDiff(MethodView):
    @blp.arguments(DiffQuerySchema, location="query")
    def get(self, query, process_id):
        """What changed between two versions, element by element"""
        require_role("designer", "supervisor")
        registry, session = extension("registry"), db_session()
        old = registry.version(session, process_id, query["from_version"])
        new = registry.version(session, process_id, query["to_version"])
        return {
            "process_id": process_id,
            "from": old.version,
            "to": new.version,
            **registry.diff(old, new),
        }


@blp.route("/definitions/<string:process_id>/migrations")
class MigrateCases(MethodView):
    @blp.arguments(MigrationRequestSchema)
    def post(self, body, process_id):
        """Move open cases to a version (the newest by default); dry run by default"""
        user = require_role("designer")
        return _migrations().migrate(
            process_id,
            body.get("to_version"),
            body.get("cases"),
            user.name,
            body["dry_run"],
        )


@blp.route("/definitions/migrations/<string:batch>/revert")
class RevertMigration(MethodView):
    @blp.arguments(RevertRequestSchema)
    def post(self, body, batch):
        """Put the cases of one migration back on their previous versions"""
        user = require_role("designer")
        return _migrations().revert(batch, body.get("cases"), user.name)


def _migrations() -> Migrations:
    return Migrations(extension("db"), extension("casework"))


@blp.route("/cases/<string:number>/diagram")
class CaseDiagram(MethodView):
    def get(self, number):
        """A case's version and its elements: completed, current, escalated, failed"""
        case = find_case(number)
        session = db_session()
        version = session.get(ProcessVersion, case.process_version_id)
        registry = extension("registry")
        definition = registry.definition(version)
        states = element_states(CaseInstance.restore(definition, case.instance))
        failing = failing_element(definition, case.instance)
        states["failed"] = sorted(set(states["failed"]) | ({failing} - {None}))
        stages = {
            e.stage
            for e in session.scalars(
                select(Escalation).where(
                    Escalation.case_id == case.id, Escalation.closed_at.is_(None)
                )
            )
        }
        escalated = sorted(
            {
                task.element_id
                for task in case.open_tasks
                if STAGE_OF_TASK.get(task.name) in stages
            }
        )
        return {
            "case_number": case.number,
            "process_id": version.process_id,
            "version": version.version,
            "file": main_file(version),
            **states,
            "escalated": escalated,
        }


@blp.route("/cases/<string:number>/diagram.bpmn")
class CaseDiagramFile(MethodView):
    def get(self, number):
        """The BPMN file of the version a case runs on, for drawing it"""
        case = find_case(number)
        version = db_session().get(ProcessVersion, case.process_version_id)
        name = main_file(version)
        if name is None:
            raise NotFound(
                f"version {version.version} of {version.process_id} has no diagram file"
            )
        return Response(version.files[name], mimetype="application/xml")
