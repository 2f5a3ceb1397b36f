"""Which links identify a resident (CONTRACTS §4): an imported web link only in demo mode, a LINE
link always, a code redeemed from a server-issued sender always. Outside demo mode a web sender
that matches an import (guessed, or simply typed: `demo-hanako`) gets nothing from the profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.engine.identity import issue_link_code, issue_web_session
from bot.engine.state import ConversationState
from bot.engine.testing import Conversation
from knowledge.residents import ChannelIdentity

Rid = Callable[[str], str]
Chat = Callable[[str], Conversation]
ASK = "一時預かりを利用したい"


def profile_based(conv: Conversation) -> list[str]:
    """What in the last replies came from the household profile."""
    found = [f"suggestion {r.custom['suggestion']['rule']}" for r in conv.last if r.custom and "suggestion" in r.custom]
    found += [t for t in conv.button_titles if t.endswith("のお子さん")]  # a child's age from the profile
    found += [word for word in ("ダブルケア", "75歳") if word in conv.text]
    return found


async def test_an_imported_web_sender_is_nobody_outside_demo_mode(demo: Rid, chat: Chat, services: Any) -> None:
    assert not services.settings.demo_mode
    conv = chat(demo("demo-hanako"))
    await conv.say(ASK)
    assert "お子さんの年齢" in conv.text  # the question is answered, anonymously
    assert profile_based(conv) == []
    assert await services.resolve_resident("web", demo("demo-hanako")) is None


@pytest.mark.demo_mode
async def test_the_same_sender_in_demo_mode_gets_the_profile(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say(ASK)
    assert "suggestion double_care" in profile_based(conv)
    assert "2歳のお子さん" in conv.button_titles
    assert await services.resolve_resident("web", demo("demo-hanako")) == demo("R001")


async def test_a_code_linked_server_issued_sender_gets_the_profile(demo: Rid, chat: Chat, services: Any) -> None:
    sender = await issue_web_session(services.sessionmaker)
    async with services.sessionmaker() as s, s.begin():
        issued = await issue_link_code(s, resident_id=demo("R001"), staff_id="s-1", secret=services.secret_key)
    assert issued is not None
    conv = chat(sender)
    await conv.say(f"連携コード {issued[0]}")
    assert "連携が完了しました" in conv.text
    await conv.say(ASK)
    assert "suggestion double_care" in profile_based(conv)
    assert "2歳のお子さん" in conv.button_titles


async def test_an_imported_line_link_counts_outside_demo_mode(demo: Rid, services: Any) -> None:
    user = "U" + demo("x").split("-")[-1].rjust(32, "0")
    async with services.sessionmaker() as s, s.begin():
        s.add(ChannelIdentity(channel="line", user_id=user, resident_id=demo("R001"), linked_by="import"))
    assert await services.resolve_resident("line", user) == demo("R001")
    assert await services.resolve_resident("web", user) is None  # the same id typed into the widget


async def test_a_stored_state_does_not_keep_a_link_that_no_longer_counts(demo: Rid, chat: Chat, services: Any) -> None:
    """A conversation resolved while the demo link counted (or before this rule) stays anonymous."""
    sender = demo("demo-hanako")
    await services.state.save(
        ConversationState(conversation_id=f"web:{sender}", channel="web", sender_id=sender, resident_id=demo("R001"))
    )
    conv = chat(sender)
    await conv.say(ASK)
    assert profile_based(conv) == []
    assert (await services.state.get(f"web:{sender}")).resident_id is None


def test_unknown_link_kinds_never_count() -> None:
    from bot.engine.identity import link_counts

    assert link_counts("web", "code", demo_mode=False) and link_counts("line", "import", demo_mode=False)
    assert link_counts("web", "import", demo_mode=True)
    assert not link_counts("web", "import", demo_mode=False)
    assert not link_counts("shell", "import", demo_mode=False)
    assert not link_counts("web", "", demo_mode=True)
