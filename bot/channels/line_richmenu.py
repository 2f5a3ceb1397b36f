"""Register the municipality's rich menu through the Messaging API.

    python -m bot.channels.line_richmenu register [--image PATH] [--definition PATH]

Reads `deploy/line/richmenu.json` (its `menu` is the body of `POST /v2/bot/richmenu`), checks it,
creates the menu, uploads the image, and makes it the default for every friend. It talks to
LINE_API_BASE_URL with LINE_CHANNEL_ACCESS_TOKEN (so a local stand-in works for tests).

The image is the municipality's own design (`deploy/line/richmenu.png`, 2500x1686, at most 1 MB).
When it is missing and Pillow happens to be installed, a plain tiled image with the area labels is
drawn instead; Pillow is not a dependency of madoguchi.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    RichMenuRequest,
)

from bot.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "line"
DEFAULT_DEFINITION = DEPLOY / "richmenu.json"
DATA_HOST = "https://api-data.line.me"  # LINE serves image uploads from a second host
MAX_IMAGE_BYTES = 1024 * 1024


class RichMenuError(Exception):
    pass


def load_definition(path: Path = DEFAULT_DEFINITION) -> dict[str, Any]:
    menu = json.loads(path.read_text(encoding="utf-8"))["menu"]
    validate(menu)
    return menu  # type: ignore[no-any-return]


def validate(menu: dict[str, Any]) -> None:
    """LINE's documented limits, checked before anything is created."""
    width, height = menu["size"]["width"], menu["size"]["height"]
    if not (800 <= width <= 2500 and height >= 250 and width / height >= 1.45):
        raise RichMenuError("size must be 800-2500 px wide, at least 250 px high, width/height >= 1.45")
    if not 1 <= len(menu["areas"]) <= 20:
        raise RichMenuError("a rich menu has 1 to 20 areas")
    if len(menu.get("chatBarText", "")) > 14:
        raise RichMenuError("chatBarText is at most 14 characters")
    for area in menu["areas"]:
        b, action = area["bounds"], area["action"]
        if b["x"] < 0 or b["y"] < 0 or b["x"] + b["width"] > width or b["y"] + b["height"] > height:
            raise RichMenuError(f"area {action.get('label')!r} lies outside the menu")
        if len(action.get("label", "")) > 20 or len(action.get("data", "")) > 300:
            raise RichMenuError(f"area {action.get('label')!r}: label <= 20, data <= 300 characters")
    RichMenuRequest.from_dict(menu)  # the SDK's own model must accept it too


def read_image(path: Path | None, menu: dict[str, Any]) -> tuple[bytes, str]:
    if path is not None and not path.exists():
        raise RichMenuError(f"image not found: {path}")
    if path is not None:
        data = path.read_bytes()
    elif path is None and (DEPLOY / "richmenu.png").exists():
        data = (DEPLOY / "richmenu.png").read_bytes()
    else:
        data = draw_image(menu)
    if len(data) > MAX_IMAGE_BYTES:
        raise RichMenuError("the rich menu image must be at most 1 MB")
    if data.startswith(b"\x89PNG"):
        return data, "image/png"
    if data.startswith(b"\xff\xd8"):
        return data, "image/jpeg"
    raise RichMenuError("the rich menu image must be a PNG or JPEG file")


def draw_image(menu: dict[str, Any]) -> bytes:
    try:
        from PIL import Image, ImageDraw  # optional: only when Pillow is already installed
    except ImportError:
        raise RichMenuError(
            "no image: put the municipality's 2500x1686 PNG at deploy/line/richmenu.png or pass --image PATH"
        ) from None
    size = (menu["size"]["width"], menu["size"]["height"])
    image = Image.new("RGB", size, "#F4F7FB")
    draw = ImageDraw.Draw(image)
    for area in menu["areas"]:
        b = area["bounds"]
        box = (b["x"] + 8, b["y"] + 8, b["x"] + b["width"] - 8, b["y"] + b["height"] - 8)
        draw.rectangle(box, outline="#1E6FB8", width=6)
        draw.text((box[0] + 40, box[1] + 40), area["action"].get("label", ""), fill="#1E3A5F")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


async def register(settings: Settings, menu: dict[str, Any], image: bytes, content_type: str) -> str:
    """create -> upload image -> set as default; returns the new rich menu id."""
    base = settings.line_api_base_url.rstrip("/")
    token = settings.line_channel_access_token
    data_host = DATA_HOST if base == "https://api.line.me" else base
    async with (
        AsyncApiClient(Configuration(host=base, access_token=token)) as client,
        AsyncApiClient(Configuration(host=data_host, access_token=token)) as data_client,
    ):
        api = AsyncMessagingApi(client)
        created = await api.create_rich_menu(RichMenuRequest.from_dict(menu))
        menu_id = created.rich_menu_id
        await AsyncMessagingApiBlob(data_client).set_rich_menu_image(
            menu_id, body=image, _headers={"Content-Type": content_type}
        )
        await api.set_default_rich_menu(menu_id)
    return menu_id


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.channels.line_richmenu")
    sub = parser.add_subparsers(dest="command", required=True)
    reg = sub.add_parser("register", help="create the rich menu, upload its image, make it the default")
    reg.add_argument("--image", type=Path, default=None)
    reg.add_argument("--definition", type=Path, default=DEFAULT_DEFINITION)
    args = parser.parse_args(argv)
    settings = settings or Settings()
    if not settings.line_channel_access_token:
        print("LINE_CHANNEL_ACCESS_TOKEN is not set", file=sys.stderr)
        return 2
    try:
        menu = load_definition(args.definition)
        image, content_type = read_image(args.image, menu)
        menu_id = asyncio.run(register(settings, menu, image, content_type))
    except RichMenuError as exc:
        print(f"rich menu not registered: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"richMenuId": menu_id, "default": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
