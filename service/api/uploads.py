"""Reading uploaded photos and form fields from multipart requests."""

from flask import request

from service.photos import UploadedPhoto


def uploaded_photos() -> list[UploadedPhoto]:
    """The photos sent, read from their start however often they were read before."""
    photos = []
    for upload in request.files.getlist("photos"):
        upload.stream.seek(0)
        photos.append(
            UploadedPhoto(filename=upload.filename or "photo", content=upload.read())
        )
    return photos


def is_multipart() -> bool:
    return request.mimetype == "multipart/form-data"
