"""Link codes at rest and under guessing: stored as an HMAC with the server secret (a dump cannot
be reversed by hashing the 10⁶ codes), and failures limited per chat identity, per code value and
per client address, never overall, so no one can lock every resident out."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.engine.identity import issue_link_code, issue_web_session
from bot.engine.link_limits import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_CODE,
    MAX_FAILURES_PER_IDENTITY,
    code_hash,
    keyed,
)
from bot.engine.testing import Conversation
from knowledge.residents import LinkAttempt, LinkCode

Rid = Callable[[str], str]
LINKED = "連携が完了しました"
WRONG = "正しくないか"
LIMITED = "上限に達しました"


async def new_code(services: Any, resident_id: str) -> str:
    async with services.sessionmaker() as s, s.begin():
        issued = await issue_link_code(s, resident_id=resident_id, staff_id="s-1", secret=services.secret_key)
    assert issued is not None
    return issued[0]


async def web_chat(dispatcher: Any, services: Any, address: str | None) -> Conversation:
    sender = await issue_web_session(services.sessionmaker)
    return Conversation(dispatcher, sender_id=sender, channel="web", client_address=address)


def other_than(code: str, k: int) -> str:
    return f"{(int(code) + k) % 1_000_000:06d}"


async def test_a_dump_of_the_codes_cannot_be_checked_without_the_secret(demo: Rid, services: Any) -> None:
    code = await new_code(services, demo("R001"))
    async with services.sessionmaker() as s:
        stored = await s.scalar(select(LinkCode.code_hash).where(LinkCode.resident_id == demo("R001")))
    assert stored != hashlib.sha256(code.encode()).hexdigest()
    every_plain_hash = {hashlib.sha256(f"{n:06d}".encode()).hexdigest() for n in range(1_000_000)}
    assert stored not in every_plain_hash  # the attack on a dump: hash all 10⁶ codes and compare
    assert stored == code_hash(services.secret_key, code)  # what the server itself checks
    assert stored != code_hash(b"some-other-secret-of-the-same-length", code)


async def test_forty_sessions_of_wrong_codes_do_not_stop_a_resident(dispatcher: Any, services: Any, demo: Rid) -> None:
    """The old global cap (40 free sessions × 5 wrong codes) blocked everybody for an hour."""
    code = await new_code(services, demo("R001"))
    for n in range(40):  # each session from its own address, each wrong value once
        guesser = await web_chat(dispatcher, services, f"198.51.100.{n + 1}")
        for k in range(MAX_FAILURES_PER_IDENTITY):
            await guesser.say(f"連携コード {other_than(code, 1 + n * MAX_FAILURES_PER_IDENTITY + k)}")
            assert WRONG in guesser.text
        await guesser.say(f"連携コード {other_than(code, 999)}")
        assert LIMITED in guesser.text  # each guessing session is stopped
    resident = await web_chat(dispatcher, services, "203.0.113.50")
    await resident.say(f"連携コード {code}")
    assert LINKED in resident.text


async def test_one_address_is_limited_across_its_sessions(dispatcher: Any, services: Any, demo: Rid) -> None:
    code = await new_code(services, demo("R001"))
    guesses = iter(range(1, 10_000))
    failures = 0
    while failures < MAX_FAILURES_PER_ADDRESS:  # fresh sessions, never over the per-session limit
        guesser = await web_chat(dispatcher, services, "192.0.2.7")
        for _ in range(min(MAX_FAILURES_PER_IDENTITY - 1, MAX_FAILURES_PER_ADDRESS - failures)):
            await guesser.say(f"連携コード {other_than(code, next(guesses))}")
            assert WRONG in guesser.text
            failures += 1
    fresh = await web_chat(dispatcher, services, "192.0.2.7")
    await fresh.say(f"連携コード {code}")  # even the right code: this address tries no more
    assert LIMITED in fresh.text
    elsewhere = await web_chat(dispatcher, services, "192.0.2.8")
    await elsewhere.say(f"連携コード {code}")
    assert LINKED in elsewhere.text


async def test_ipv6_addresses_count_per_64_prefix(dispatcher: Any, services: Any, demo: Rid) -> None:
    code = await new_code(services, demo("R001"))
    for n in range(MAX_FAILURES_PER_ADDRESS):  # a new address of the same /64 for every guess
        guesser = await web_chat(dispatcher, services, f"2001:db8:1:2::{n + 1:x}")
        await guesser.say(f"連携コード {other_than(code, n + 1)}")
        assert WRONG in guesser.text
    same_prefix = await web_chat(dispatcher, services, "2001:db8:1:2:ffff::1")
    await same_prefix.say(f"連携コード {code}")
    assert LIMITED in same_prefix.text
    other_prefix = await web_chat(dispatcher, services, "2001:db8:1:3::1")
    await other_prefix.say(f"連携コード {code}")
    assert LINKED in other_prefix.text


async def test_one_value_sprayed_from_many_sessions_is_limited(dispatcher: Any, services: Any, demo: Rid) -> None:
    code = await new_code(services, demo("R001"))
    sprayed = other_than(code, 1)
    for n in range(MAX_FAILURES_PER_CODE):
        guesser = await web_chat(dispatcher, services, f"198.51.100.{n + 1}")
        await guesser.say(f"連携コード {sprayed}")
        assert WRONG in guesser.text
    late = await web_chat(dispatcher, services, "198.51.100.200")
    await late.say(f"連携コード {sprayed}")
    assert LIMITED in late.text
    await late.say(f"連携コード {code}")  # other values, and so the resident's own, are unaffected
    assert LINKED in late.text


async def test_a_burnt_value_is_never_issued(
    dispatcher: Any, services: Any, demo: Rid, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.engine.identity

    burnt, fresh = "424242", "171717"
    for n in range(MAX_FAILURES_PER_CODE):
        guesser = await web_chat(dispatcher, services, f"198.51.100.{n + 1}")
        await guesser.say(f"連携コード {burnt}")
        assert WRONG in guesser.text
    draws = iter([int(burnt), int(fresh)])
    monkeypatch.setattr(bot.engine.identity.secrets, "randbelow", lambda _n: next(draws))
    assert await new_code(services, demo("R001")) == fresh  # its holder could not have used 424242
    monkeypatch.undo()
    resident = await web_chat(dispatcher, services, "203.0.113.9")
    await resident.say(f"連携コード {fresh}")
    assert LINKED in resident.text


async def test_line_has_no_address_and_is_limited_per_user_and_per_code(
    dispatcher: Any, services: Any, demo: Rid
) -> None:
    code = await new_code(services, demo("R001"))
    user = "U" + demo("x").split("-")[-1].rjust(32, "0")
    line = Conversation(dispatcher, sender_id=user, channel="line")
    for k in range(MAX_FAILURES_PER_IDENTITY):
        await line.say(f"連携コード {other_than(code, k + 1)}")
        assert WRONG in line.text
    await line.say(f"連携コード {code}")
    assert LIMITED in line.text
    other = Conversation(dispatcher, sender_id=user[:-1] + ("e" if user[-1] != "e" else "d"), channel="line")
    await other.say(f"連携コード {code}")
    assert LINKED in other.text
    async with services.sessionmaker() as s:
        assert set(await s.scalars(select(LinkAttempt.address_key).where(LinkAttempt.user_id == user))) == {None}


def test_the_web_client_address_reaches_the_limit_and_is_stored_only_as_an_hmac(
    app: FastAPI, settings: Any, demo: Rid, caplog: pytest.LogCaptureFixture
) -> None:
    settings.staff_token = "staff-secret"
    address = "203.0.113.77"
    caplog.set_level(logging.DEBUG)
    with TestClient(app, client=(address, 40000)) as client:
        secret = client.app.state.services.secret_key  # type: ignore[attr-defined]
        res = client.post(
            f"/staff/api/residents/{demo('R001')}/link-code",
            json={"staff_id": "s-1"},
            headers={"Authorization": "Bearer staff-secret"},
        )
        code = res.json()["code"]
        for n in range(MAX_FAILURES_PER_ADDRESS):
            sender = client.post("/webhooks/rest/session").json()["sender"]
            reply = client.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": f"連携コード {other_than(code, n + 1)}"}
            )
            assert WRONG in "".join(m["text"] for m in reply.json())
        sender = client.post("/webhooks/rest/session").json()["sender"]
        reply = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": f"連携コード {code}"})
        assert LIMITED in "".join(m["text"] for m in reply.json())
        sessionmaker = client.app.state.services.sessionmaker  # type: ignore[attr-defined]

        async def stored() -> list[Any]:
            async with sessionmaker() as s:
                return list((await s.execute(select(LinkAttempt))).scalars())

        rows = client.portal.call(stored)  # type: ignore[union-attr]
    mine = [r for r in rows if r.address_key == keyed(secret, "client-address", address)]
    assert mine and all(address not in str(vars(r)) for r in rows)
    assert address not in caplog.text
