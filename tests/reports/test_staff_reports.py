"""The widget's photo upload and the staff API for 通報 (CONTRACTS §10): department-scoped lists,
detail with history and possible duplicates, the photo, status changes that reach the resident."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.settings import Settings
from bot.staff.console import StaffIdentity, require_staff
from bot.store.models import Message
from tests.reports.test_photos import phone_photo

TOKEN = "reports-staff-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIELDS = {"number", "category", "department", "status", "address", "latitude", "longitude", "created_at"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"staff_token": TOKEN})


def chat(client: TestClient, sender: str, message: str) -> list[dict[str, Any]]:
    answer = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def upload(client: TestClient, sender: str, data: bytes, name: str = "photo.jpg") -> Any:
    return client.post("/webhooks/rest/upload", data={"sender": sender}, files={"file": (name, data, "image/jpeg")})


def file_report(client: TestClient, first: str, place: dict[str, float], photo: bool = True) -> tuple[str, str]:
    """A web resident's whole report; answers (sender, number)."""
    sender = f"w-{uuid.uuid4().hex[:12]}"
    chat(client, sender, first)
    if photo:
        ref = upload(client, sender, phone_photo()).json()["photo"]
        chat(client, sender, '/report_photo{"photo":"' + ref + '"}')
    else:
        chat(client, sender, '/inform{"photo":"none"}')
    chat(client, sender, f'/report_location{{"latitude":{place["lat"]},"longitude":{place["lon"]}}}')
    answer = chat(client, sender, "/affirm")
    number = re.search(r"r\d{12}", str(answer))
    assert number is not None, answer
    return sender, number.group(0)


def test_uploads_are_checked_by_content(client: TestClient) -> None:
    sender = "w-upload-test"
    good = upload(client, sender, phone_photo())
    assert good.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", good.json()["photo"])
    text = upload(client, sender, b"just text", "photo.jpg")
    assert text.status_code == 422 and "画像" in text.json()["error"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"0" * 2_000_000)
    assert upload(client, sender, archive.getvalue(), "bomb.zip").status_code == 422
    huge = upload(client, sender, b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024 + 10))
    assert huge.status_code == 413 and "10MB" in huge.json()["error"]
    declared = upload(client, sender, b"\0" * (11 * 1024 * 1024))  # refused by its Content-Length, unread
    assert declared.status_code == 413
    assert client.post("/webhooks/rest/upload", json={"sender": sender}).status_code == 422
    assert (
        client.post("/webhooks/rest/upload", data={"sender": "bad sender!"}, files={"file": ("a", b"x")}).status_code
        == 422
    )


def test_staff_list_detail_photo_status_and_notes(client: TestClient) -> None:
    place = {"lat": 35.6301, "lon": 139.6101}  # 旭町
    sender, number = file_report(client, "道路に穴が空いてる", place)
    listed = client.get("/staff/api/reports", headers=AUTH).json()
    mine = next(r for r in listed if r["number"] == number)
    assert set(mine) == FIELDS and mine["status"] == "received" and mine["department"] == "doboku"
    assert any(r["number"] == number for r in client.get("/staff/api/reports?category=road", headers=AUTH).json())
    assert not any(r["number"] == number for r in client.get("/staff/api/reports?status=done", headers=AUTH).json())
    assert client.get("/staff/api/reports?status=bogus", headers=AUTH).status_code == 422
    assert client.get("/staff/api/reports", headers={}).status_code == 401

    photo = client.get(f"/staff/api/reports/{number}/photo", headers=AUTH)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg" and b"Exif" not in photo.content

    assert (
        client.post(f"/staff/api/reports/{number}/notes", json={"note": "現地確認予定"}, headers=AUTH).status_code
        == 200
    )
    changed = client.post(
        f"/staff/api/reports/{number}/status", json={"status": "in_progress", "note": "明日補修します"}, headers=AUTH
    )
    assert changed.json() == {"number": number, "status": "in_progress", "notified": True}
    detail = client.get(f"/staff/api/reports/{number}", headers=AUTH).json()
    assert detail["status"] == "in_progress" and detail["has_photo"] and "openstreetmap.org" in detail["map_url"]
    assert [(e["kind"], e["status"]) for e in detail["history"]] == [
        ("status", "received"),
        ("photo", None),
        ("note", None),
        ("status", "in_progress"),
    ]
    told = staff_messages(client, f"web:{sender}")
    assert len(told) == 1 and number in told[0] and "対応中" in told[0] and "明日補修します" in told[0]
    assert "現地確認予定" not in "".join(told)  # a note is for staff only
    bad = client.post(f"/staff/api/reports/{number}/status", json={"status": "closed"}, headers=AUTH)
    assert bad.status_code == 422
    assert client.get("/staff/api/reports/r999999999999", headers=AUTH).status_code == 404


def test_a_report_near_an_open_one_of_the_same_category_is_a_possible_duplicate(client: TestClient) -> None:
    _, first = file_report(client, "街灯が切れてる", {"lat": 35.6401, "lon": 139.6201}, photo=False)
    _, second = file_report(client, "街灯がついていない", {"lat": 35.6403, "lon": 139.6202}, photo=False)  # ~25 m
    _, far = file_report(client, "街灯が切れてる", {"lat": 35.6440, "lon": 139.6201}, photo=False)  # ~430 m
    detail = client.get(f"/staff/api/reports/{second}", headers=AUTH).json()
    numbers = {d["number"] for d in detail["possible_duplicates"]}
    assert first in numbers and far not in numbers


def test_staff_of_another_department_cannot_see_or_change_a_report(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    _, number = file_report(client, "道路に穴が空いてる", {"lat": 35.6302, "lon": 139.6102})
    _, park = file_report(client, "公園の遊具が壊れてる", {"lat": 35.6302, "lon": 139.6102}, photo=False)
    app.dependency_overrides[require_staff] = lambda: StaffIdentity(
        id="k1", role="staff", departments=frozenset({"koen"})
    )
    try:
        listed = {r["number"] for r in client.get("/staff/api/reports", headers=AUTH).json()}
        assert park in listed and number not in listed
        assert client.get(f"/staff/api/reports/{number}", headers=AUTH).status_code == 403
        assert client.get(f"/staff/api/reports/{number}/photo", headers=AUTH).status_code == 403
        denied = client.post(f"/staff/api/reports/{number}/status", json={"status": "done"}, headers=AUTH)
        assert denied.status_code == 403
        assert (
            client.post(f"/staff/api/reports/{park}/status", json={"status": "done"}, headers=AUTH).status_code == 200
        )
    finally:
        app.dependency_overrides.clear()
    assert client.get(f"/staff/api/reports/{number}", headers=AUTH).json()["status"] == "received"


def staff_messages(client: TestClient, conversation_id: str) -> list[str]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> list[str]:
        async with services.sessionmaker() as s:
            rows = await s.scalars(
                select(Message.text).where(Message.conversation_id == conversation_id, Message.author == "staff")
            )
            return list(rows)

    return client.portal.call(read)  # type: ignore[union-attr,no-any-return]
