"""通報の写真: checked by their content, re-encoded without any metadata, stored as files.

A phone's photo carries the GPS position of the resident's home, the camera's serial number and
more in its EXIF; a hostile upload may be a decompression bomb, a truncated file, an SVG with
script, or a polyglot (an image that is also an archive or a page). So nothing is stored as sent:

- the bytes must be a JPEG, PNG, WebP or GIF by their signature (not by a name or a header), at
  most MAX_BYTES, with nothing appended after the image's end and no markup inside;
- the header's size must be at most MAX_PIXELS before any pixel is decoded (a bomb is refused
  without decompressing it), and the whole image must decode (a truncated file is refused);
- the pixels are copied into a new image (no EXIF, ICC, XMP, comments), turned upright, scaled
  down to MAX_EDGE and written as a JPEG under the photo directory with a random name.

`PhotoRejected.message` is what the resident reads.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_EDGE = 2560  # the stored copy's longest side: enough to see a pothole, not a 40 MP original
JPEG_QUALITY = 85
FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
MARKUP = re.compile(rb"<\s*(?:script|html|svg|\?php|\?xml|body|iframe)", re.IGNORECASE)
NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")
# A second file after the image's end marker that some program would open: an archive, a PDF, an
# executable. (Phones append harmless trailers too, e.g. a motion photo's video: those are dropped
# by the re-encoding, not refused.)
SECOND_FILE = (b"PK\x03\x04", b"PK\x05\x06", b"%PDF", b"MZ", b"\x7fELF", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")
ZIP_END = b"PK\x05\x06"  # a ZIP reader looks for this near the end: a JPEG+ZIP polyglot has it


class PhotoRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


NOT_AN_IMAGE = PhotoRejected(
    "not_image", "写真（JPEG・PNGなどの画像）を送ってください。このファイルは画像として読み取れませんでした。"
)
TOO_BIG = PhotoRejected("too_large", "写真のサイズが大きすぎます（10MBまで）。小さくしてもう一度送ってください。")
TOO_MANY_PIXELS = PhotoRejected(
    "too_many_pixels", "写真の画素数が大きすぎます（4,000万画素まで）。縮小してもう一度送ってください。"
)
BROKEN = PhotoRejected("broken", "写真のデータが途中で切れているようです。もう一度送ってください。")


def _sniff(data: bytes) -> None:
    webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if not (webp or data.startswith(SIGNATURES)):
        raise NOT_AN_IMAGE  # SVG, HTML, ZIP, PDF, HEIC …: not one of the formats taken
    if MARKUP.search(data):
        raise NOT_AN_IMAGE  # an image that is also a page or a script


def _trailing(data: bytes) -> bytes:
    """What follows the image's end marker (JPEG EOI, PNG IEND): a polyglot's second file."""
    if data.startswith(b"\x89PNG"):
        end = data.rfind(b"IEND")
        return data[end + 8 :] if end >= 0 else b""
    if data.startswith(b"\xff\xd8"):
        end = data.rfind(b"\xff\xd9")
        return data[end + 2 :] if end >= 0 else b""
    return b""


def clean_jpeg(data: bytes) -> bytes:
    """The photo as a metadata-free JPEG, or PhotoRejected saying why not."""
    if len(data) > MAX_BYTES:
        raise TOO_BIG
    _sniff(data)
    trailing = _trailing(data).lstrip(b"\x00\r\n ")
    if trailing.startswith(SECOND_FILE) or ZIP_END in data[-(65536 + 22) :]:
        raise NOT_AN_IMAGE
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=sorted(FORMATS)) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise TOO_MANY_PIXELS  # before a single pixel is decoded
                probe.verify()
            return _reencode(data)
        except PhotoRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise TOO_MANY_PIXELS from None
        except UnidentifiedImageError:
            raise NOT_AN_IMAGE from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError):
            raise BROKEN from None


def _reencode(data: bytes) -> bytes:
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file raises instead of grey pixels
    with Image.open(io.BytesIO(data), formats=sorted(FORMATS)) as image:
        if image.format == "JPEG":  # decode at the smallest DCT scale still >= MAX_EDGE: less time and memory
            image.draft("RGB", (MAX_EDGE, MAX_EDGE))
        image.load()
        upright = ImageOps.exif_transpose(image)  # the phone's orientation, applied to the pixels
        rgb = upright.convert("RGB")
    rgb.thumbnail((MAX_EDGE, MAX_EDGE))
    fresh = Image.frombytes("RGB", rgb.size, rgb.tobytes())  # pixels only: no info, EXIF, ICC, XMP
    out = io.BytesIO()
    fresh.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def store(directory: Path, jpeg: bytes) -> str:
    """Write the cleaned photo under a random name (atomically); answer the file name."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.jpg"
    partial = directory / f".{name}.part"
    partial.write_bytes(jpeg)
    os.replace(partial, directory / name)
    return name


def path_of(directory: Path, name: str) -> Path | None:
    """The stored photo's path; None for anything that is not one of our file names."""
    if not NAME.match(name):
        return None
    path = directory / name
    return path if path.is_file() else None


def remove(directory: Path, name: str) -> bool:
    path = path_of(directory, name)
    if path is None:
        return False
    path.unlink(missing_ok=True)
    return True
