"""Serving stored photos and thumbnails, which carry no EXIF block."""

import logging

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from models import Case, Photo
from service.api import db_session, extension
from service.auth import current_user
from service.permissions import can_see_case
from workflows.errors import NotFound

log = logging.getLogger(__name__)
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
        return _stored_file(photo, photo.path, photo.media_type)


@blp.route("/photos/<int:photo_id>/thumbnail")
class Thumbnail(MethodView):
    @blp.response(200, content_type="image/jpeg")
    def get(self, photo_id):
        """A small JPEG of the photo"""
        photo = find_photo(photo_id)
        return _stored_file(photo, photo.thumbnail_path, "image/jpeg")


def _stored_file(photo: Photo, relative_path: str, media_type: str):
    try:
        return send_file(
            extension("photos").path(relative_path).resolve(),
            mimetype=media_type,
            max_age=3600,
        )
    except FileNotFoundError:
        # Machines serving one database must share the photo folder.
        log.error(
            "photo file missing; is SUISHOUPAI_PHOTO_DIR shared by every machine?",
            extra={"photo": photo.id, "path": relative_path},
        )
        raise NotFound(f"photo {photo.id} has no stored file here") from None
