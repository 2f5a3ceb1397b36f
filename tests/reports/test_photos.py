"""Photos are checked by their content and stored without metadata; hostile files are refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from knowledge import photos
from knowledge.photos import PhotoRejected, clean_jpeg


def phone_photo(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS and a camera serial, a comment."""
    image = Image.new("RGB", size, (120, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"  # Make
    exif[0xA431] = "SERIAL-1234567"  # BodySerialNumber
    exif[0x0112] = 6  # Orientation: rotate 90°
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (35.0, 39.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"home of the resident")
    return out.getvalue()


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


def refused(data: bytes) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        clean_jpeg(data)
    return caught.value


def test_the_stored_copy_has_no_exif_gps_serial_or_comment_and_is_upright() -> None:
    original = phone_photo()
    assert b"SERIAL-1234567" in original and b"home of the resident" in original
    cleaned = clean_jpeg(original)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
        assert "icc_profile" not in image.info
        assert image.size == (480, 640)  # the orientation was applied to the pixels
    assert b"SERIAL" not in cleaned and b"DemoPhone" not in cleaned and b"Exif" not in cleaned


def test_a_text_file_an_svg_and_a_zip_are_not_images() -> None:
    assert refused(b"hello, this is not a photo").code == "not_image"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert refused(svg).code == "not_image"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.txt", b"0" * 5_000_000)  # a small zip bomb
    assert refused(archive.getvalue()).code == "not_image"


def test_polyglots_are_refused() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", b"<html>hi</html>")
    assert refused(phone_photo() + archive.getvalue()).code == "not_image"  # JPEG + ZIP
    assert refused(png((8, 8)) + b"<script>alert(1)</script>").code == "not_image"  # PNG + script


def test_a_huge_file_and_too_many_pixels_are_refused() -> None:
    assert refused(b"\xff\xd8\xff" + b"\0" * (photos.MAX_BYTES + 1)).code == "too_large"
    bomb = png((10_000, 5_000))  # 50 MP of zeros: a few kilobytes that decompress to 50 MB
    assert len(bomb) < 200_000
    assert refused(bomb).code == "too_many_pixels"


def test_a_truncated_photo_is_refused() -> None:
    data = phone_photo((1600, 1200))
    assert refused(data[: len(data) // 2]).code == "broken"


def test_a_big_photo_is_scaled_down_and_stored_under_a_random_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cleaned = clean_jpeg(png((4000, 3000)))
    with Image.open(io.BytesIO(cleaned)) as image:
        assert max(image.size) == photos.MAX_EDGE
    name = photos.store(tmp_path, cleaned)
    assert photos.path_of(tmp_path, name) is not None
    assert photos.path_of(tmp_path, "../secret.jpg") is None
    assert photos.remove(tmp_path, name) and photos.path_of(tmp_path, name) is None
