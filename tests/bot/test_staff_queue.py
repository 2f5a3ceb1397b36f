"""The staff queue: the latest handoff reason per chat, DV・虐待 first; the DV reply leads with 110番."""

from __future__ import annotations

import uuid

from tests.bot.test_handoff import AUTH, say, staff_client  # noqa: F401  (fixture)


def test_queue_shows_reasons_and_puts_sensitive_chats_first(staff_client) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    asker, victim, other = (f"web-{uuid.uuid4().hex[:10]}" for _ in range(3))
    say(staff_client, asker, "/request_human")
    replies = say(staff_client, victim, "/dv_abuse")
    say(staff_client, other, "/request_human")  # most recent, but not urgent

    text = "\n".join(r["text"] for r in replies)
    assert text.index("110") < text.index("#8008")  # in danger: the police first

    listed = staff_client.get("/staff/api/conversations", headers=AUTH).json()
    by_id = {c["id"]: c for c in listed}
    assert by_id[f"web:{victim}"]["reason"] == "sensitive" and by_id[f"web:{victim}"]["urgent"] is True
    assert by_id[f"web:{asker}"]["reason"] == "requested" and by_id[f"web:{asker}"]["urgent"] is False
    ids, urgent = [c["id"] for c in listed], [c["urgent"] for c in listed]
    assert urgent == sorted(urgent, reverse=True)  # urgent first (other tests' chats may share the queue)
    assert ids.index(f"web:{victim}") < ids.index(f"web:{asker}")
    assert by_id[f"web:{other}"]["updated_at"].endswith("+09:00")  # in Japan time, with its offset
