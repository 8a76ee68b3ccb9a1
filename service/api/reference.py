"""Reference data: departments and categories with their time limits."""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from models import Category, Department
from service.api import db_session
from service.schemas import CategorySchema, DepartmentSchema

blp = Blueprint(
    "reference",
    __name__,
    url_prefix="/api/v1",
    description="Departments and categories",
)


@blp.route("/departments")
class Departments(MethodView):
    @blp.response(200, DepartmentSchema(many=True))
    def get(self):
        """The departments that handle cases"""
        return db_session().scalars(select(Department).order_by(Department.code)).all()


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """The categories of problems, each with its department and time limits"""
        return db_session().scalars(select(Category).order_by(Category.code)).all()
