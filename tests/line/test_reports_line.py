"""通報 on LINE through the real SDK against the stand-in: text, an image whose content is fetched,
a location, confirmation and receipt; the stored photo has no EXIF; a status change pushes once;
a photo that fails to fetch is retried, then the report is kept without it and the resident is
asked to resend."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from bot.settings import Settings
from knowledge import photos
from knowledge.reports import Report
from tests.line import webhooks as wh
from tests.line.standin import StandIn
from tests.reports.test_photos import phone_photo

TOKEN = "reports-line-staff-token"
INSIDE = (35.6500, 139.6600)  # デモ区桜台 (knowledge/data/towns.yml)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"staff_token": TOKEN})


def image(message_id: str) -> dict[str, Any]:
    event = wh.base("message")
    event["message"] = {"id": message_id, "type": "image", "quoteToken": "q", "contentProvider": {"type": "line"}}
    return event


def location(lat: float, lon: float) -> dict[str, Any]:
    event = wh.base("message")
    event["message"] = {
        "id": "325708",
        "type": "location",
        "title": "",
        "address": "",
        "latitude": lat,
        "longitude": lon,
    }
    return event


def say(client: TestClient, standin: StandIn, event: dict[str, Any]) -> dict[str, Any]:
    """Post one event, wait for it, answer the reply call's body."""
    before = len(standin.calls_to("/v2/bot/message/reply"))
    assert wh.post(client, event).status_code == 200
    wh.drain(client)
    calls = standin.calls_to("/v2/bot/message/reply")
    assert len(calls) == before + 1
    return calls[-1].json  # type: ignore[no-any-return]


def texts(sent: dict[str, Any]) -> str:
    return "\n".join(m.get("text") or m.get("altText", "") + str(m.get("contents", "")) for m in sent["messages"])


def quick_types(sent: dict[str, Any]) -> set[str]:
    return {i["action"]["type"] for i in sent["messages"][-1].get("quickReply", {}).get("items", [])}


def stored(client: TestClient) -> list[Report]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> list[Report]:
        async with services.sessionmaker() as s:
            return list(await s.scalars(select(Report).where(Report.conversation_id == f"line:{wh.USER}")))

    return client.portal.call(read)  # type: ignore[union-attr,no-any-return]


def test_the_whole_report_flow_on_line(client: TestClient, standin: StandIn) -> None:
    standin.contents["9001"] = phone_photo()
    sent = say(client, standin, wh.text("道路に穴が空いてる"))
    assert "写真" in texts(sent) and {"camera", "cameraRoll"} <= quick_types(sent)
    sent = say(client, standin, image("9001"))
    assert [c.method for c in standin.calls_to("/v2/bot/message/9001/content")] == ["GET"]
    assert "写真を受け取りました" in texts(sent) and "location" in quick_types(sent)
    sent = say(client, standin, location(*INSIDE))
    assert "この内容でよろしいですか" in texts(sent) and "桜台" in texts(sent)
    sent = say(client, standin, wh.postback("/affirm"))
    number = re.search(r"r\d{12}", texts(sent))
    assert number is not None
    [report] = stored(client)
    assert report.number == number.group(0) and report.photo is not None
    assert (report.latitude, report.longitude) == INSIDE and report.department == "doboku"
    path = photos.path_of(client.app.state.services.settings.resolved_photo_dir, report.photo)  # type: ignore[attr-defined]
    assert path is not None
    with Image.open(path) as kept:
        assert kept.format == "JPEG" and not kept.getexif() and "comment" not in kept.info
    assert b"SERIAL-1234567" not in path.read_bytes()

    # staff: the photo as stored, then a status change that reaches the resident once, by push
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.get(f"/staff/api/reports/{report.number}/photo", headers=auth)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.content == path.read_bytes()
    changed = client.post(
        f"/staff/api/reports/{report.number}/status", json={"status": "done", "note": "穴を埋めました"}, headers=auth
    )
    assert changed.status_code == 200 and changed.json()["notified"] is True
    wh.drain(client)
    pushes = [d for d in standin.delivered if d.via == "push" and d.to == wh.USER]
    assert len(pushes) == 1
    assert report.number in pushes[0].messages[0]["text"] and "完了" in pushes[0].messages[0]["text"]
    wh.drain(client)
    assert len([d for d in standin.delivered if d.via == "push" and d.to == wh.USER]) == 1


def test_a_photo_that_cannot_be_fetched_is_retried_then_the_report_goes_on_without_it(
    client: TestClient, standin: StandIn
) -> None:
    standin.fail("/v2/bot/message/9002/content", times=3, status=500)
    say(client, standin, wh.text("公園のブランコが壊れてる"))
    sent = say(client, standin, image("9002"))
    assert len(standin.calls_to("/v2/bot/message/9002/content")) == 3  # retried, then given up
    assert "写真を受け取れませんでした" in texts(sent) and "場所" in texts(sent)
    say(client, standin, wh.text("中央1-2"))
    sent = say(client, standin, wh.postback("/affirm"))
    assert "もう一度写真を送って" in texts(sent)
    [report] = stored(client)
    assert report.photo is None
    standin.contents["9003"] = phone_photo()
    sent = say(client, standin, image("9003"))  # the resent photo joins the report
    assert report.number in texts(sent)
    [report] = stored(client)
    assert report.photo is not None


def test_a_non_image_and_a_location_outside_are_answered_plainly(client: TestClient, standin: StandIn) -> None:
    standin.contents["9004"] = b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"
    say(client, standin, wh.text("街灯が切れてる"))
    sent = say(client, standin, image("9004"))
    assert "画像として読み取れませんでした" in texts(sent)
    say(client, standin, wh.postback('/inform{"photo":"none"}'))
    sent = say(client, standin, location(35.67966, 139.73669))  # 千代田区: outside デモ区
    assert "デモ区の外" in texts(sent)
    assert not stored(client)


def test_a_big_image_is_refused_with_the_limit(client: TestClient, standin: StandIn) -> None:
    out = io.BytesIO()
    Image.new("L", (10_000, 5_000)).save(out, format="PNG")
    standin.contents["9005"] = out.getvalue()
    say(client, standin, wh.text("不法投棄されてる"))
    sent = say(client, standin, image("9005"))
    assert "4,000万画素" in texts(sent)


def test_the_rich_menu_has_a_report_tile_that_starts_a_report(client: TestClient, standin: StandIn) -> None:
    from bot.channels.line_richmenu import load_definition, validate

    menu = load_definition()
    validate(menu)
    [tile] = [a for a in menu["areas"] if a["action"]["data"] == "/report_issue"]
    assert "通報" in tile["action"]["label"]
    sent = say(client, standin, wh.postback("/report_issue"))
    assert "何についての通報" in texts(sent)


def test_a_redelivered_image_makes_no_second_report_step(client: TestClient, standin: StandIn) -> None:
    standin.contents["9006"] = phone_photo()
    say(client, standin, wh.text("カラスがごみを荒らす"))
    event = image("9006")
    say(client, standin, event)
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert wh.post(client, redelivered).status_code == 200
    wh.drain(client)
    assert len(standin.calls_to("/v2/bot/message/reply")) == 2  # the copy is not answered again
    assert wh.count_messages(client, conversation_id=f"line:{wh.USER}", text="（写真）") == 1
