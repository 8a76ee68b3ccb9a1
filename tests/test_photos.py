"""Photo intake with real photos: decoding, orientation, GPS, EXIF stripping, limits."""

import io
import struct
import zlib

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat
from PIL.TiffImagePlugin import IFDRational

from service.photos import PhotoLimits, PhotoStore, process_photo, read_gps
from tests.conftest import PHOTOS
from workflows.errors import Invalid, TooLarge

LIMITS = PhotoLimits(
    max_bytes=15 * 1024 * 1024, max_pixels=50_000_000, thumbnail_pixels=320
)
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def raw(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def decoded(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0 to 255, of two RGB images."""
    stats = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    return sum(stats.mean) / len(stats.mean)


def assert_no_exif(content: bytes) -> None:
    assert not decoded(content).getexif()
    assert b"Exif\x00\x00" not in content  # no APP1 EXIF segment in a JPEG
    assert b"eXIf" not in content  # no EXIF chunk in a PNG


def rational(*numbers) -> tuple:
    return tuple(IFDRational(number) for number in numbers)


def with_gps(source: str, lat_ref, lat, lng_ref, lng) -> bytes:
    """A corpus photo saved again with an EXIF GPS block."""
    exif = Image.Exif()
    exif[GPS_IFD] = {
        0x0000: b"\x02\x03\x00\x00",  # GPSVersionID
        0x0001: lat_ref,  # GPSLatitudeRef
        0x0002: lat,  # GPSLatitude
        0x0003: lng_ref,  # GPSLongitudeRef
        0x0004: lng,  # GPSLongitude
    }
    buffer = io.BytesIO()
    Image.open(PHOTOS / source).save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares `width` x `height` pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# Accepted photos and their stored copies


def test_jpeg_is_accepted_and_stored_as_jpeg():
    photo = process_photo(raw("rocket.jpg"), "rocket.jpg", LIMITS)

    stored = decoded(photo.content)
    assert photo.media_type == "image/jpeg"
    assert photo.extension == "jpg"
    assert stored.format == "JPEG"
    assert stored.size == (640, 427) == (photo.width, photo.height)
    assert photo.content != raw("rocket.jpg")  # re-encoded, not passed through
    assert mean_difference(stored, Image.open(PHOTOS / "rocket.jpg")) < 5


def test_png_is_accepted_and_stays_png():
    photo = process_photo(raw("coffee.png"), "coffee.png", LIMITS)

    stored = decoded(photo.content)
    assert photo.media_type == "image/png"
    assert photo.extension == "png"
    assert stored.format == "PNG"
    assert stored.size == (600, 400) == (photo.width, photo.height)
    # PNG is lossless: the pixels survive exactly.
    assert mean_difference(stored, Image.open(PHOTOS / "coffee.png")) == 0


def test_greyscale_png_stays_png():
    photo = process_photo(raw("brick.png"), "brick.png", LIMITS)

    assert decoded(photo.content).format == "PNG"
    assert photo.media_type == "image/png"


@pytest.mark.parametrize(
    "name",
    [
        "hopper_orientation_6.jpg",
        "empty_gps_ifd.jpg",
        "exif_gps.jpg",
        "exif_gps_typeerror.jpg",
        "chelsea.png",
    ],
)
def test_stored_copy_carries_no_exif_block(name):
    assert Image.open(PHOTOS / name).getexif()  # the upload does carry EXIF

    photo = process_photo(raw(name), name, LIMITS)

    assert_no_exif(photo.content)
    assert_no_exif(photo.thumbnail)


def test_stored_copy_of_a_photo_with_gps_carries_no_gps():
    upload = with_gps(
        "hopper.jpg", "N", rational(23, 7, 30), "E", rational(113, 19, 12)
    )

    photo = process_photo(upload, "gps.jpg", LIMITS)

    assert photo.gps is not None
    assert_no_exif(photo.content)
    assert read_gps(decoded(photo.content)) is None


def test_orientation_6_photo_is_stored_upright():
    upload = Image.open(PHOTOS / "hopper_orientation_6.jpg")
    assert upload.getexif()[ORIENTATION] == 6
    upright = ImageOps.exif_transpose(upload)
    reference = Image.open(PHOTOS / "hopper.jpg")  # the same picture, upright

    photo = process_photo(raw("hopper_orientation_6.jpg"), "rotated.jpg", LIMITS)

    stored = decoded(photo.content)
    # Only JPEG re-encoding noise separates the stored copy from the upright image,
    # while the pixels as they lie in the file differ a lot from it.
    assert mean_difference(stored, upright) < 3
    assert mean_difference(stored, reference) < 10
    assert mean_difference(stored, upload) > 40
    assert mean_difference(decoded(photo.thumbnail), upright) < 5


def test_orientation_6_swaps_width_and_height_of_a_landscape_photo():
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buffer = io.BytesIO()
    Image.open(PHOTOS / "rocket.jpg").save(buffer, "JPEG", exif=exif, quality=95)

    photo = process_photo(buffer.getvalue(), "sideways.jpg", LIMITS)

    assert (photo.width, photo.height) == (427, 640)
    assert decoded(photo.content).size == (427, 640)
    assert decoded(photo.thumbnail).size[1] == LIMITS.thumbnail_pixels


# GPS


@pytest.mark.parametrize(
    "name", ["exif_gps.jpg", "exif_gps_typeerror.jpg", "empty_gps_ifd.jpg"]
)
def test_odd_or_empty_gps_blocks_give_no_location(name):
    assert read_gps(Image.open(PHOTOS / name)) is None

    photo = process_photo(raw(name), name, LIMITS)

    assert photo.gps is None


@pytest.mark.parametrize("name", ["hopper.jpg", "coffee.png", "rocket.jpg"])
def test_photo_without_gps_gives_no_location(name):
    assert process_photo(raw(name), name, LIMITS).gps is None


def test_valid_gps_gives_latitude_and_longitude():
    # Tianhe, Guangzhou: 23°7'30"N 113°19'12"E.
    upload = with_gps(
        "hopper.jpg", "N", rational(23, 7, 30), "E", rational(113, 19, 12)
    )

    assert read_gps(Image.open(io.BytesIO(upload))) == pytest.approx((23.125, 113.32))
    photo = process_photo(upload, "tianhe.jpg", LIMITS)
    assert photo.gps == pytest.approx((23.125, 113.32))


def test_southern_and_western_gps_is_negative():
    # Rio de Janeiro: 22°54'30"S 43°11'48"W.
    upload = with_gps(
        "hopper.jpg", "S", rational(22, 54, 30), "W", rational(43, 11, 48)
    )

    lat, lng = process_photo(upload, "rio.jpg", LIMITS).gps

    assert lat == pytest.approx(-(22 + 54 / 60 + 30 / 3600))
    assert lng == pytest.approx(-(43 + 11 / 60 + 48 / 3600))


def test_gps_with_zero_denominator_gives_no_location():
    upload = with_gps(
        "hopper.jpg",
        "N",
        (IFDRational(23, 0), IFDRational(7), IFDRational(30)),
        "E",
        rational(113, 19, 12),
    )

    assert process_photo(upload, "broken.jpg", LIMITS).gps is None


def test_gps_out_of_range_gives_no_location():
    upload = with_gps("hopper.jpg", "N", rational(123, 0, 0), "E", rational(113, 0, 0))

    assert process_photo(upload, "nowhere.jpg", LIMITS).gps is None


# Refused uploads


def test_truncated_jpeg_is_invalid():
    with pytest.raises(Invalid) as refused:
        process_photo(raw("truncated_jpeg.jpg"), "truncated_jpeg.jpg", LIMITS)

    assert "photos" in refused.value.errors


def test_text_file_is_invalid():
    text = b"Not a photo: bikes parked in a heap at Tianhe Rd.\n"

    with pytest.raises(Invalid) as refused:
        process_photo(text, "notes.jpg", LIMITS)

    assert "photos" in refused.value.errors
    assert "notes.jpg" in refused.value.errors["photos"][0]


def test_empty_file_is_invalid():
    with pytest.raises(Invalid):
        process_photo(b"", "empty.jpg", LIMITS)


def test_bytes_over_the_limit_are_too_large():
    upload = raw("hopper.jpg")
    limits = PhotoLimits(
        max_bytes=len(upload) - 1, max_pixels=50_000_000, thumbnail_pixels=320
    )

    with pytest.raises(TooLarge) as refused:
        process_photo(upload, "hopper.jpg", limits)

    assert "photos" in refused.value.errors
    # Exactly at the limit is still accepted.
    at_limit = PhotoLimits(len(upload), 50_000_000, 320)
    assert process_photo(upload, "hopper.jpg", at_limit).width == 128


def test_pixels_over_the_limit_are_too_large():
    limits = PhotoLimits(
        max_bytes=15 * 1024 * 1024, max_pixels=128 * 128 - 1, thumbnail_pixels=320
    )

    with pytest.raises(TooLarge) as refused:
        process_photo(raw("hopper.jpg"), "hopper.jpg", limits)

    assert "photos" in refused.value.errors
    at_limit = PhotoLimits(15 * 1024 * 1024, 128 * 128, 320)
    assert process_photo(raw("hopper.jpg"), "hopper.jpg", at_limit).width == 128


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_declared_pixels_over_the_limit_are_too_large():
    # 10000 x 10000 is over the service's limit but under Pillow's bomb error.
    with pytest.raises(TooLarge):
        process_photo(png_header_only(10_000, 10_000), "big.png", LIMITS)


def test_decompression_bomb_is_too_large_not_a_non_image():
    # 20000 x 20000 pixels declared in a few bytes: far over the pixel limit, and
    # over twice Pillow's own MAX_IMAGE_PIXELS, where Pillow raises its bomb error.
    with pytest.raises(TooLarge):
        process_photo(png_header_only(20_000, 20_000), "bomb.png", LIMITS)


# Thumbnails


@pytest.mark.parametrize(
    "name", ["rocket.jpg", "coffee.png", "brick.png", "chelsea.png", "hopper.jpg"]
)
def test_thumbnail_is_a_jpeg_within_the_thumbnail_size(name):
    photo = process_photo(raw(name), name, LIMITS)

    thumbnail = decoded(photo.thumbnail)
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) <= LIMITS.thumbnail_pixels
    original = Image.open(PHOTOS / name).size
    if max(original) > LIMITS.thumbnail_pixels:
        assert max(thumbnail.size) == LIMITS.thumbnail_pixels
        # The aspect ratio survives to within a pixel.
        expected = original[1] * thumbnail.size[0] / original[0]
        assert abs(thumbnail.size[1] - expected) <= 1


def test_thumbnail_respects_a_smaller_thumbnail_setting():
    limits = PhotoLimits(15 * 1024 * 1024, 50_000_000, thumbnail_pixels=64)

    photo = process_photo(raw("rocket.jpg"), "rocket.jpg", limits)

    assert max(decoded(photo.thumbnail).size) == 64


# The photo store


def test_store_writes_photo_and_thumbnail_under_the_case(tmp_path):
    store = PhotoStore(tmp_path / "photos")
    photo = process_photo(raw("hopper.jpg"), "hopper.jpg", LIMITS)

    path, thumb = store.save("SSP-20240101-00001", photo)

    assert path.startswith("SSP-20240101-00001/") and path.endswith(".jpg")
    assert thumb.startswith("SSP-20240101-00001/") and thumb.endswith(".thumb.jpg")
    assert store.path(path).read_bytes() == photo.content
    assert store.path(thumb).read_bytes() == photo.thumbnail
    second, _ = store.save("SSP-20240101-00001", photo)
    assert second != path  # names never collide


def test_store_keeps_png_extension(tmp_path):
    store = PhotoStore(tmp_path)
    photo = process_photo(raw("coffee.png"), "coffee.png", LIMITS)

    path, _ = store.save("SSP-20240101-00002", photo)

    assert path.endswith(".png")
    assert decoded(store.path(path).read_bytes()).format == "PNG"


def test_store_discard_removes_files_and_tolerates_missing_ones(tmp_path):
    store = PhotoStore(tmp_path)
    photo = process_photo(raw("hopper.jpg"), "hopper.jpg", LIMITS)
    path, thumb = store.save("SSP-20240101-00003", photo)

    store.discard([path, thumb, "SSP-20240101-00003/never-written.jpg"])

    assert not store.path(path).exists()
    assert not store.path(thumb).exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
