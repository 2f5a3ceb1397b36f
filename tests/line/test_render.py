"""Replies -> LINE messages: quick replies, Flex cards, and the 5-message limit."""

from __future__ import annotations

from bot.channels.line_render import batches, flex_card, label, render
from bot.engine.events import Button, Card, Reply
from bot.engine.turn import payload


def test_quick_replies_are_at_most_13_postbacks_on_the_last_message() -> None:
    buttons = tuple(Button(f"選択肢{i}", payload("inform", n=i)) for i in range(20))
    messages = render([Reply(text="一つ目"), Reply(text="どれにしますか", buttons=buttons)])
    assert "quickReply" not in messages[0]
    items = messages[-1]["quickReply"]["items"]
    assert len(items) == 13
    assert items[0]["action"] == {
        "type": "postback",
        "label": "選択肢0",
        "data": '/inform{"n":0}',
        "displayText": "選択肢0",
    }


def test_long_labels_are_cut_to_20_characters_but_the_full_title_is_shown() -> None:
    title = "住民票の写しを郵送で請求する方法について知りたい"
    [message] = render([Reply(text="どうぞ", buttons=(Button(title, "/juminhyo"),))])
    action = message["quickReply"]["items"][0]["action"]
    assert len(action["label"]) == 20 and action["label"].endswith("…")
    assert action["displayText"] == title
    assert label("短い") == "短い"


def test_url_buttons_open_the_page() -> None:
    [message] = render([Reply(text="詳しくは", buttons=(Button("区のページ", "", url="https://example.jp/a"),))])
    assert message["quickReply"]["items"][0]["action"] == {
        "type": "uri",
        "label": "区のページ",
        "uri": "https://example.jp/a",
    }


def test_a_card_is_a_flex_bubble_with_alt_text_and_postback_buttons() -> None:
    card = Card(
        title="内容の確認",
        lines=("日付: 2026-12-01", "品目: ソファ"),
        buttons=(Button("はい", payload("affirm")), Button("いいえ", payload("deny"))),
        kind="confirmation",
    )
    flex = flex_card(card)
    assert flex["type"] == "flex" and flex["altText"].startswith("内容の確認")
    bubble = flex["contents"]
    assert bubble["header"]["contents"][0]["text"] == "内容の確認"
    assert [c["text"] for c in bubble["body"]["contents"]] == ["日付: 2026-12-01", "品目: ソファ"]
    actions = [c["action"] for c in bubble["footer"]["contents"]]
    assert [(a["type"], a["data"], a["displayText"]) for a in actions] == [
        ("postback", "/affirm", "はい"),
        ("postback", "/deny", "いいえ"),
    ]


def test_checklist_lines_get_boxes() -> None:
    flex = flex_card(Card(title="持ち物", lines=("本人確認書類", "印鑑"), kind="checklist"))
    assert [c["text"] for c in flex["contents"]["body"]["contents"]] == ["□ 本人確認書類", "□ 印鑑"]


def test_the_sdk_accepts_what_we_render() -> None:
    from linebot.v3.messaging import ReplyMessageRequest

    card = Card(title="手続き", lines=("窓口: 区民課",), buttons=(Button("予約する", "/book"),))
    messages = render([Reply(text="ご案内です", card=card, buttons=(Button("はい", "/affirm"),))])
    request = ReplyMessageRequest.from_dict({"replyToken": "t", "messages": messages})
    assert len(request.messages) == 2


def test_texts_are_merged_before_anything_is_pushed() -> None:
    replies = [Reply(text=f"お知らせ{i}") for i in range(7)]
    [only] = batches(render(replies))
    assert len(only) == 5
    assert only[0]["text"] == "お知らせ0\n\nお知らせ1\n\nお知らせ2"
    assert only[-1]["text"] == "お知らせ6"


def test_more_than_five_unmergeable_messages_are_split_into_batches_of_five() -> None:
    card = Card(title="カード")
    messages = render([Reply(text=f"説明{i}", card=card) for i in range(4)])
    assert [len(b) for b in batches(messages)] == [5, 3]


def test_staff_messages_carry_a_sender_name() -> None:
    [message] = render([Reply(text="担当です", sender="staff")])
    assert message["sender"] == {"name": "窓口の職員"}
