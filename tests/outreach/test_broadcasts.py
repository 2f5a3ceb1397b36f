"""Staff broadcasts: live count and preview, four-eyes approval, sent once with consent, and a
segment that matches nobody says so."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.staff.accounts import add_account
from bot.store.db import make_sync_engine
from bot.store.models import Message

TOKEN = "shared-broadcast-token"
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"staff_token": TOKEN})


def account(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    account_id = f"b.{uuid.uuid4().hex[:10]}"
    with Session(make_sync_engine(settings.resolved_database_url)) as s, s.begin():
        token = add_account(s, account_id, "試験 職員")
    return {"id": account_id, "auth": f"Bearer {token}"}


@pytest.mark.demo_mode
def test_compose_count_preview_four_eyes_and_send(client, settings, household) -> None:  # type: ignore[no-untyped-def]
    client.app.state.services.clock = lambda: NOON
    town = f"試験町{uuid.uuid4().hex[:6]}"
    ids = household(line=False, web=True, address=f"デモ区{town}1-1")
    household(consent=False, line=False, web=True, address=f"デモ区{town}2-2")  # no consent: counted apart
    composer, approver = account(settings), account(settings)
    body = {"text": "12月の防災訓練のお知らせです。", "segment": {"address_contains": town, "member": {"min_age": 65}}}
    preview = client.post("/staff/api/broadcasts/preview", json=body, headers={"Authorization": composer["auth"]})
    assert preview.status_code == 200, preview.text
    found = preview.json()
    assert found["reach"] == 1 and found["skipped"] == {"no_consent": 1}
    assert "防災訓練" in found["preview"] and "お知らせを止めて" in found["preview"]

    made = client.post(
        "/staff/api/broadcasts/compose", json={**body, "title": "防災訓練"}, headers={"Authorization": composer["auth"]}
    )
    assert made.status_code == 200 and made.json()["status"] == "pending"
    bid = made.json()["id"]
    own = client.post(f"/staff/api/broadcasts/{bid}/approve", headers={"Authorization": composer["auth"]})
    assert own.status_code == 409  # the composer cannot approve
    shared = client.post(f"/staff/api/broadcasts/{bid}/approve", headers={"Authorization": f"Bearer {TOKEN}"})
    assert shared.status_code == 403  # the shared token names nobody
    ok = client.post(f"/staff/api/broadcasts/{bid}/approve", headers={"Authorization": approver["auth"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "sent" and ok.json()["counts"]["sent"] == 1
    assert ok.json()["decided_by"] == approver["id"]
    again = client.post(f"/staff/api/broadcasts/{bid}/approve", headers={"Authorization": approver["auth"]})
    assert again.status_code == 409

    engine = make_sync_engine(settings.resolved_database_url)
    with Session(engine) as s:
        texts = list(s.scalars(select(Message.text).where(Message.conversation_id == f"web:{ids['web']}")))
    assert sum("防災訓練" in t for t in texts) == 1


def test_a_segment_that_matches_nobody_says_so(client, settings) -> None:  # type: ignore[no-untyped-def]
    body = {"text": "お知らせです。", "segment": {"address_contains": f"存在しない町{uuid.uuid4().hex[:6]}"}}
    found = client.post("/staff/api/broadcasts/preview", json=body, headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert found["reach"] == 0 and "いません" in found["message"]


def test_a_bad_segment_is_refused_naming_the_condition(client) -> None:  # type: ignore[no-untyped-def]
    body = {"text": "x", "segment": {"member": {"min_height": 3}}}
    res = client.post("/staff/api/broadcasts/preview", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert res.status_code == 422 and "min_height" in res.json()["error"]


def test_quiet_hours_hold_an_approved_broadcast(client, settings) -> None:  # type: ignore[no-untyped-def]
    client.app.state.services.clock = lambda: NOON.replace(hour=23)
    a, b = account(settings), account(settings)
    body = {"title": "夜", "text": "夜のお知らせ", "segment": {"address_contains": f"町{uuid.uuid4().hex[:6]}"}}
    bid = client.post("/staff/api/broadcasts/compose", json=body, headers={"Authorization": a["auth"]}).json()["id"]
    res = client.post(f"/staff/api/broadcasts/{bid}/approve", headers={"Authorization": b["auth"]})
    assert res.json()["status"] == "approved"  # sent by the scheduler at its next run in hours
