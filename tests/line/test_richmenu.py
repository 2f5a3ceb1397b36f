"""The rich menu definition and the command that registers it (against the stand-in)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from bot.channels.line_richmenu import DEFAULT_DEFINITION, RichMenuError, load_definition, validate
from tests.line.standin import StandIn

REPO = Path(__file__).resolve().parents[2]


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def test_demo_menu_covers_the_main_services_with_payload_postbacks() -> None:
    menu = load_definition()
    data = [a["action"]["data"] for a in menu["areas"]]
    assert {"/juminhyo", "/moving_in", "/bulky_waste", "/care_consultation", "/bot_capabilities"} <= set(data)
    assert all(a["action"]["type"] == "postback" and a["action"]["displayText"] for a in menu["areas"])
    assert "FICTIONAL" in json.loads(DEFAULT_DEFINITION.read_text(encoding="utf-8"))["_comment"]


def test_an_area_outside_the_menu_is_refused() -> None:
    menu = load_definition()
    menu["areas"][0]["bounds"]["width"] = 5000
    with pytest.raises(RichMenuError):
        validate(menu)


def test_register_creates_uploads_and_sets_default(standin: StandIn, tmp_path: Path) -> None:
    image = tmp_path / "menu.png"
    image.write_bytes(tiny_png())
    env = dict(
        os.environ,
        LINE_API_BASE_URL=standin.url,
        LINE_CHANNEL_ACCESS_TOKEN=standin.access_token,
        NO_PROXY="127.0.0.1",
    )
    cmd = [sys.executable, "-m", "bot.channels.line_richmenu", "register", "--image", str(image)]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    menu_id = json.loads(done.stdout)["richMenuId"]
    assert [c.path for c in standin.calls] == [
        "/v2/bot/richmenu",
        f"/v2/bot/richmenu/{menu_id}/content",
        f"/v2/bot/user/all/richmenu/{menu_id}",
    ]
    assert standin.rich_menus[menu_id]["chatBarText"] == "メニュー"
    assert standin.images[menu_id] == ("image/png", len(tiny_png()))
    assert standin.default_rich_menu == menu_id


def test_register_without_an_image_explains_what_to_supply(standin: StandIn, tmp_path: Path) -> None:
    from bot.channels.line_richmenu import main
    from bot.settings import Settings

    settings = Settings(line_api_base_url=standin.url, line_channel_access_token="t", _env_file=None)  # type: ignore[call-arg]
    code = main(["register", "--image", str(tmp_path / "missing.png")], settings=settings)
    assert code == 1
    assert not standin.calls
