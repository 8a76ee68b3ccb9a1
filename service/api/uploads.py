"""Reading uploaded photos and form fields from multipart requests."""

from flask import request

from service.photos import UploadedPhoto


def uploaded_photos() -> list[UploadedPhoto]:
    return [
        UploadedPhoto(filename=upload.filename or "photo", content=upload.read())
        for upload in request.files.getlist("photos")
    ]


def is_multipart() -> bool:
    return request.mimetype == "multipart/form-data"
