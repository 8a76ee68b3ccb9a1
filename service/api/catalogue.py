"""The dispatch catalogue (派单目录): read it, publish a new version, see old ones."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import CatalogueVersion
from service import catalogue
from service.api import db_session
from service.auth import current_user, require_role
from service.schemas import (
    CatalogueEditSchema,
    CatalogueSchema,
    CatalogueVersionSchema,
)
from workflows.errors import NotFound

blp = Blueprint(
    "catalogue",
    __name__,
    url_prefix="/api/v1",
    description="The dispatch catalogue (派单目录)",
)


@blp.route("/catalogue")
class Catalogue(MethodView):
    @blp.response(200, CatalogueSchema)
    def get(self):
        """The catalogue in force: which department handles which category, where"""
        require_role("triage", "supervisor", "handler")
        version = catalogue.current(db_session())
        if version is None:
            raise NotFound("no catalogue has been published")
        return version

    @blp.arguments(CatalogueEditSchema)
    @blp.response(201, CatalogueSchema)
    @blp.alt_response(
        200, schema=CatalogueSchema, description="nothing changed", success=True
    )
    def put(self, body):
        """Publish the entries as the next version (admins); entries that route as
        the version in force publish nothing and answer 200 with it"""
        require_role("admin")
        published = catalogue.publish(
            db_session(), body["entries"], current_user().name, body.get("note")
        )
        return published.version, 201 if published.is_new else 200


@blp.route("/catalogue/versions")
class Versions(MethodView):
    @blp.response(200, CatalogueVersionSchema(many=True))
    def get(self):
        """Every published version, newest first"""
        require_role("triage", "supervisor")
        return (
            db_session()
            .scalars(select(CatalogueVersion).order_by(CatalogueVersion.version.desc()))
            .all()
        )


@blp.route("/catalogue/versions/<int:number>")
class OneVersion(MethodView):
    @blp.response(200, CatalogueSchema)
    def get(self, number):
        """One published version with its entries"""
        require_role("triage", "supervisor")
        version = db_session().scalar(
            select(CatalogueVersion).where(CatalogueVersion.version == number)
        )
        if version is None:
            raise NotFound(f"no catalogue version {number}")
        return version
