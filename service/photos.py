"""Photo intake: decode with Pillow, apply orientation, read GPS, store without EXIF."""

import io
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from models.records import PhotoRecord
from workflows.errors import Invalid, TooLarge

log = logging.getLogger(__name__)

# Formats a phone or camera sends; the stored copy keeps PNG for lossless sources.
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}


@dataclass
class ProcessedPhoto:
    """A decoded, re-encoded photo ready to be written beside its thumbnail."""

    content: bytes
    thumbnail: bytes
    media_type: str
    extension: str
    width: int
    height: int
    gps: tuple[float, float] | None


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    max_pixels: int
    thumbnail_pixels: int


def process_photo(raw: bytes, filename: str, limits: PhotoLimits) -> ProcessedPhoto:
    """Decode `raw` fully, or say in plain words why it is not a usable photo."""
    if len(raw) > limits.max_bytes:
        raise TooLarge(
            f"photo {filename!r} has {len(raw)} bytes; the limit is {limits.max_bytes}",
            errors={"photos": [f"{filename}: larger than {limits.max_bytes} bytes"]},
        )
    if not raw:
        raise _not_an_image(filename, "the file is empty")

    try:
        image = Image.open(io.BytesIO(raw))
        if image.format not in ACCEPTED_FORMATS:
            raise _not_an_image(filename, f"{image.format} images are not accepted")
        width, height = image.size
        if width * height > limits.max_pixels:
            raise TooLarge(
                f"photo {filename!r} has {width}x{height} pixels; "
                f"the limit is {limits.max_pixels}",
                errors={
                    "photos": [f"{filename}: more than {limits.max_pixels} pixels"]
                },
            )
        image.load()
    except Image.DecompressionBombError as error:
        raise TooLarge(
            f"photo {filename!r} has more pixels than {limits.max_pixels}",
            errors={"photos": [f"{filename}: more than {limits.max_pixels} pixels"]},
        ) from error
    except UnidentifiedImageError as error:
        raise _not_an_image(filename, "the file is not an image") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise _not_an_image(filename, "the image is damaged or truncated") from error

    gps = read_gps(image)
    lossless = image.format == "PNG" or image.mode in ("RGBA", "LA", "P")
    upright = ImageOps.exif_transpose(image)
    return _encode(upright, lossless, gps, limits.thumbnail_pixels)


def _not_an_image(filename: str, why: str) -> Invalid:
    return Invalid(
        f"photo {filename!r} is not usable: {why}",
        errors={"photos": [f"{filename}: {why}"]},
    )


def _encode(image: Image.Image, lossless: bool, gps, thumbnail_pixels: int):
    if lossless:
        stored = (
            image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert("RGBA")
        )
        media_type, extension, options = "image/png", "png", {"optimize": False}
        save_format = "PNG"
    else:
        stored = image.convert("RGB")
        media_type, extension, options = "image/jpeg", "jpg", {"quality": 90}
        save_format = "JPEG"

    # Saving without an `exif` argument writes no EXIF block.
    content = io.BytesIO()
    stored.save(content, save_format, **options)

    thumb = stored.convert("RGB")
    thumb.thumbnail((thumbnail_pixels, thumbnail_pixels))
    thumbnail = io.BytesIO()
    thumb.save(thumbnail, "JPEG", quality=80)

    return ProcessedPhoto(
        content=content.getvalue(),
        thumbnail=thumbnail.getvalue(),
        media_type=media_type,
        extension=extension,
        width=stored.width,
        height=stored.height,
        gps=gps,
    )


def read_gps(image: Image.Image) -> tuple[float, float] | None:
    """Latitude and longitude from EXIF, or None when absent or malformed."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on odd EXIF blocks
        log.debug("unreadable EXIF block", exc_info=True)
        return None
    if not gps:
        return None
    lat = _degrees(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef)
    )
    lng = _degrees(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
    )
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def _degrees(value, ref) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds), tolerating a lone number."""
    try:
        parts = list(value) if isinstance(value, tuple | list) else [value]
        numbers = [float(part) for part in parts[:3]]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not numbers:
        return None
    numbers += [0.0] * (3 - len(numbers))
    degrees = numbers[0] + numbers[1] / 60 + numbers[2] / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper() in ("S", "W"):
        degrees = -degrees
    return degrees


class PhotoStore:
    """Photo files under one folder, named by case and a random id."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def save(self, case_number: str, photo: ProcessedPhoto) -> tuple[str, str]:
        folder = self.root / case_number
        folder.mkdir(parents=True, exist_ok=True)
        stem = uuid.uuid4().hex
        path = folder / f"{stem}.{photo.extension}"
        thumb_path = folder / f"{stem}.thumb.jpg"
        path.write_bytes(photo.content)
        thumb_path.write_bytes(photo.thumbnail)
        return str(path.relative_to(self.root)), str(thumb_path.relative_to(self.root))

    def path(self, relative: str) -> Path:
        return self.root / relative

    def discard(self, relative_paths: list[str]) -> None:
        for relative in relative_paths:
            (self.root / relative).unlink(missing_ok=True)


@dataclass
class UploadedPhoto:
    filename: str
    content: bytes


class PhotoIntake:
    """Checks a batch of uploads, then stores them as rows and files of a case."""

    def __init__(self, store: PhotoStore, limits: PhotoLimits, max_photos: int):
        self.store = store
        self.limits = limits
        self.max_photos = max_photos

    def check(self, uploads: list[UploadedPhoto], required: int):
        """Decode every upload before anything is stored; refuse the batch whole."""
        if len(uploads) < required:
            raise Invalid(
                f"at least {required} photo is required",
                errors={"photos": [f"at least {required} photo is required"]},
            )
        if len(uploads) > self.max_photos:
            raise Invalid(
                f"at most {self.max_photos} photos are accepted",
                errors={"photos": [f"at most {self.max_photos} photos are accepted"]},
            )
        return [process_photo(u.content, u.filename, self.limits) for u in uploads]

    def store_all(self, cases, file, user, photos, kind, now) -> list[int]:
        """Write files and rows; the files are removed if the transaction rolls back.

        `cases` is the transaction's case store: the rows go in at once, as the
        timeline event that shows them needs their ids.
        """
        case, rows, written = file.case, [], []
        try:
            for photo in photos:
                path, thumb = self.store.save(case.number, photo)
                written += [path, thumb]
                lat, lng = photo.gps or (None, None)
                row = PhotoRecord(
                    case_id=case.id,
                    kind=kind,
                    path=path,
                    thumbnail_path=thumb,
                    media_type=photo.media_type,
                    width=photo.width,
                    height=photo.height,
                    size_bytes=len(photo.content),
                    taken_lat=lat,
                    taken_lng=lng,
                    uploaded_by=user.id,
                    uploaded_at=now,
                )
                rows.append(row)
            cases.insert_all(rows)
            for row in rows:
                file.track(row)
        except BaseException:
            self.store.discard(written)
            raise
        cases.session.info.setdefault("on_rollback", []).append(
            lambda: self.store.discard(written)
        )
        return [row.id for row in rows]
