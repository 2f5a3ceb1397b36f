"""Suggestions in conversation: each rule with consent shows its reason; without consent, after
withdrawal, or for an unlinked sender nothing profile-based; declines are not repeated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.engine.testing import Conversation
from knowledge.residents import AuditLog, ChannelIdentity, Consent, Interaction, SuggestionRecord, utcnow

pytestmark = pytest.mark.demo_mode  # the tests link residents through the demo's imported web links

Rid = Callable[[str], str]
Chat = Callable[[str], Conversation]


async def rows(services: Any, model: Any, *where: Any) -> list[Any]:
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(model).where(*where).order_by(model.id)))


async def link(services: Any, resident_id: str, sender: str) -> str:
    async with services.sessionmaker() as s, s.begin():
        s.add(
            ChannelIdentity(
                channel="web", user_id=sender, resident_id=resident_id, linked_by="import", linked_at=utcnow()
            )
        )
    return sender


def suggestion(conv: Conversation) -> dict[str, str] | None:
    for reply in conv.last:
        if reply.custom and "suggestion" in reply.custom:
            return reply.custom["suggestion"]  # type: ignore[no-any-return]
    return None


INTENTS = {
    "一時預かりを利用したい": "childcare_temporary",
    "保育園に入りたい": "nursery_admission",
    "引っ越してきたので転入届を出したい": "moving_in",
    "出生届を出したい": "birth",
    "死亡届の手続きを知りたい": "death",
    "要介護認定の申請をしたい": "care_certification",
}
RULE_CASES = [
    # (resident, message, rule, reason, a suggested service shown)
    ("R001", "一時預かりを利用したい", "double_care", "ご家族に75歳以上の方がいらっしゃるため", "介護の相談"),
    ("R020", "保育園に入りたい", "double_care", "ご家族に75歳以上の方がいらっしゃるため", "介護の相談"),
    (
        "R010",
        "引っ越してきたので転入届を出したい",
        "moving_in_children",
        "18歳未満のお子さんがいらっしゃるため",
        "15日以内",
    ),
    ("R040", "出生届を出したい", "birth_followups", "ご家族に1歳未満のお子さんがいらっしゃるため", "乳幼児健診"),
    (
        "R030",
        "死亡届の手続きを知りたい",
        "bereavement",
        "ご家族がお亡くなりになったと届け出をいただいているため",
        "国民健康保険",
    ),
    (
        "R050",
        "要介護認定の申請をしたい",
        "care_with_young_children",
        "小学校入学前のお子さんがいらっしゃるため",
        "一時預かり",
    ),
]


@pytest.mark.parametrize(("resident", "message", "rule", "reason", "service"), RULE_CASES)
async def test_each_rule_with_consent_suggests_with_its_reason(
    demo: Rid, chat: Chat, services: Any, resident: str, message: str, rule: str, reason: str, service: str
) -> None:
    conv = chat(await link(services, demo(resident), f"s-{demo(resident)}"))
    await conv.say(message)
    assert suggestion(conv) == {"rule": rule, "reason": reason}
    assert reason in conv.text and service in conv.text
    offered = await rows(services, SuggestionRecord, SuggestionRecord.resident_id == demo(resident))
    assert [(o.rule, o.status) for o in offered] == [(rule, "offered")]
    reads = await rows(services, AuditLog, AuditLog.resident_id == demo(resident), AuditLog.action == "read_profile")
    whys = [(a.actor, a.why) for a in reads]
    assert whys.count(("system", f"suggestion:{INTENTS[message]}")) == 1
    # the 一時預かり form also reads the household (the children's ages as buttons), audited apart
    assert set(whys) <= {
        ("system", f"suggestion:{INTENTS[message]}"),
        ("system", "一時預かりの予約: お子さんの年齢の候補"),
    }


@pytest.mark.parametrize(("resident", "message", "rule", "reason", "service"), RULE_CASES)
async def test_no_profile_suggestion_without_consent(
    demo: Rid, chat: Chat, services: Any, resident: str, message: str, rule: str, reason: str, service: str
) -> None:
    async with services.sessionmaker() as s, s.begin():
        row = await s.scalar(
            select(Consent).where(Consent.resident_id == demo(resident), Consent.scope == "suggestions")
        )
        await s.delete(row)
    conv = chat(await link(services, demo(resident), f"s-{demo(resident)}"))
    await conv.say(message)
    assert suggestion(conv) is None and reason not in conv.text
    reads = await rows(services, AuditLog, AuditLog.resident_id == demo(resident), AuditLog.action == "read_profile")
    assert reads == []  # the household was never read


async def test_resident_without_consent_in_the_data_gets_none(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(await link(services, demo("R060"), f"s-{demo('R060')}"))
    await conv.say("保育園に入りたい")  # mother aged 84 with 要介護3, but no consent
    assert suggestion(conv) is None


async def test_unlinked_sender_gets_no_profile_suggestion(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(f"stranger-{demo('x')}")
    await conv.say("一時預かりを利用したい")
    assert suggestion(conv) is None and "75歳" not in conv.text
    assert await rows(services, SuggestionRecord, SuggestionRecord.conversation_id == f"web:stranger-{demo('x')}") == []


async def test_after_withdrawal_no_more_suggestions(demo: Rid, chat: Chat) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say("同意を取り消したい")
    assert "取り消しました" in conv.text
    await conv.say("一時預かりを利用したい")
    assert suggestion(conv) is None
    later = chat(demo("demo-hanako"))  # the same person in a new turn still gets none
    await later.say("保育園に入りたい")
    assert suggestion(later) is None


async def test_offered_at_most_once_per_conversation(demo: Rid, chat: Chat) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say("一時預かりを利用したい")
    assert suggestion(conv) is not None
    await conv.say("保育園に入りたい")
    assert suggestion(conv) is None


async def test_declined_is_recorded_and_not_repeated_in_a_new_conversation(
    demo: Rid, chat: Chat, services: Any
) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say("一時預かりを利用したい")
    await conv.press("今は結構です")
    assert "承知しました" in conv.text
    records = await rows(services, SuggestionRecord, SuggestionRecord.resident_id == demo("R001"))
    assert [(r.rule, r.status) for r in records] == [("double_care", "declined")] and records[0].decided_at
    await services.state.delete(f"web:{demo('demo-hanako')}")  # a new conversation, same person
    again = chat(demo("demo-hanako"))
    await again.say("一時預かりを利用したい")
    assert suggestion(again) is None


async def test_declined_may_return_after_the_cooldown(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say("一時預かりを利用したい")
    await conv.press("今は結構です")
    services.settings.suggestion_decline_cooldown_days = 0
    await services.state.delete(f"web:{demo('demo-hanako')}")
    again = chat(demo("demo-hanako"))
    await again.say("一時預かりを利用したい")
    assert suggestion(again) is not None


async def test_pressing_the_suggestion_records_acceptance_and_answers_it(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say("一時預かりを利用したい")
    await conv.press("詳しく見る")
    records = await rows(services, SuggestionRecord, SuggestionRecord.resident_id == demo("R001"))
    assert [(r.status, r.accepted_intent) for r in records] == [("accepted", "care_consultation")]
    kinds = [(i.kind, i.intent) for i in await rows(services, Interaction, Interaction.resident_id == demo("R001"))]
    assert kinds == [("inquiry", "childcare_temporary"), ("suggestion", "care_consultation")]


async def test_money_worries_are_met_with_care_even_when_anonymous(demo: Rid, chat: Chat) -> None:
    conv = chat(f"anon-{demo('y')}")
    await conv.say("国民健康保険料が払えない")
    assert suggestion(conv) == {"rule": "money_worries", "reason": "お支払いについてのご質問だったため"}
    assert "暮らしとお金の相談" in conv.text
    await conv.say("年金の保険料も払えない")
    assert suggestion(conv) is None  # once per conversation


async def test_procedure_turns_of_a_linked_resident_are_recorded(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(demo("demo-kenichi"))
    await conv.say("住民票がほしい")
    await conv.say("こんにちは")
    kinds = [
        (i.kind, i.intent, i.channel)
        for i in await rows(services, Interaction, Interaction.resident_id == demo("R010"))
    ]
    assert kinds == [("inquiry", "juminhyo", "web")]


async def test_a_handoff_of_a_linked_resident_is_recorded(demo: Rid, chat: Chat, services: Any) -> None:
    conv = chat(demo("demo-kenichi"))
    await conv.say("/request_human")
    kinds = [(i.kind, i.intent) for i in await rows(services, Interaction, Interaction.resident_id == demo("R010"))]
    assert kinds == [("handoff", "request_human")]


async def test_a_failing_profile_read_never_costs_the_answer(
    demo: Rid, chat: Chat, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.suggestions

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(handlers.suggestions, "load_turn_profile", broken)
    conv = chat(demo("demo-hanako"))
    await conv.say("一時預かりを利用したい")
    assert "一時預かり" in conv.text and suggestion(conv) is None and "申し訳ありません" not in conv.text
