"""Serving stored photos and thumbnails, which carry no EXIF block."""

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from models import Case, Photo
from service.api import db_session, extension
from service.auth import current_user
from service.permissions import can_see_case
from workflows.errors import NotFound

blp = Blueprint("photos", __name__, url_prefix="/api/v1", description="Photos")


def find_photo(photo_id: int) -> Photo:
    photo = db_session().get(Photo, photo_id)
    if photo is None or not can_see_case(
        current_user(), db_session().get(Case, photo.case_id)
    ):
        raise NotFound(f"no photo {photo_id}")
    return photo


@blp.route("/photos/<int:photo_id>")
class PhotoFile(MethodView):
    @blp.response(200, content_type="image/*")
    def get(self, photo_id):
        """The stored photo, upright and without EXIF"""
        photo = find_photo(photo_id)
        return send_file(
            extension("photos").path(photo.path).resolve(),
            mimetype=photo.media_type,
            max_age=3600,
        )


@blp.route("/photos/<int:photo_id>/thumbnail")
class Thumbnail(MethodView):
    @blp.response(200, content_type="image/jpeg")
    def get(self, photo_id):
        """A small JPEG of the photo"""
        photo = find_photo(photo_id)
        return send_file(
            extension("photos").path(photo.thumbnail_path).resolve(),
            mimetype="image/jpeg",
            max_age=3600,
        )
