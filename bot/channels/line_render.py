"""Replies rendered as LINE messages: text, quick replies, and Flex Message cards.

- Text: one text message per reply (split at LINE's 5,000 characters).
- Buttons of the last reply that has any become quick replies on the LAST message of the turn
  (LINE shows quick replies only there): at most 13, labels at most 20 characters. A button's
  Rasa-style payload (`/affirm`, `/inform{"x":1}`) becomes postback data; pressing it shows the
  button's title in the chat (displayText) and comes back as a postback event.
- A card becomes a Flex bubble (title, lines, postback/URI buttons) with an altText for
  notifications and old clients.
- Staff replies carry LINE's `sender` name so residents see that a person wrote.
- LINE takes at most 5 messages per call: adjacent texts are merged first (a push costs the
  municipality's message quota, a reply does not), then the rest is split into batches of 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.engine.events import Button, Card, Reply

MAX_MESSAGES_PER_CALL = 5
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_DATA = 300
MAX_TEXT = 5000
MAX_ALT_TEXT = 400
MAX_CARD_BUTTONS = 6
STAFF_SENDER = {"name": "窓口の職員"}

HEADER_COLORS = {"info": "#1E6FB8", "checklist": "#2E7D32", "suggestion": "#8E5A00", "confirmation": "#37474F"}
Message = dict[str, Any]


def label(title: str, limit: int = MAX_LABEL) -> str:
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"


# Buttons a handler marks with these pseudo-URLs open LINE's own pickers (通報: photo, location)
LINE_ACTIONS = {"line:location": "location", "line:camera": "camera", "line:cameraRoll": "cameraRoll"}


def action(button: Button) -> dict[str, Any]:
    if button.url in LINE_ACTIONS:
        return {"type": LINE_ACTIONS[button.url], "label": label(button.title)}
    if button.url:
        return {"type": "uri", "label": label(button.title), "uri": button.url}
    if not button.payload or len(button.payload) > MAX_DATA:
        # no payload, or too long for postback data: send the title as text (the NLU reads it)
        return {"type": "message", "label": label(button.title), "text": button.title[:MAX_DATA]}
    return {
        "type": "postback",
        "label": label(button.title),
        "data": button.payload,
        "displayText": button.title[:MAX_DATA],
    }


def quick_reply(buttons: Sequence[Button]) -> dict[str, Any]:
    items = [{"type": "action", "action": action(b)} for b in buttons[:MAX_QUICK_REPLIES]]
    return {"items": items}


def text_messages(text: str) -> list[Message]:
    text = text.strip()
    return [{"type": "text", "text": text[i : i + MAX_TEXT]} for i in range(0, len(text), MAX_TEXT)]


def flex_card(card: Card) -> Message:
    lines = [line for line in card.lines if line.strip()]
    if card.kind == "checklist":
        lines = [line if line.startswith(("□", "☐", "・")) else f"□ {line}" for line in lines]
    bubble: dict[str, Any] = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": HEADER_COLORS.get(card.kind, HEADER_COLORS["info"]),
            "contents": [{"type": "text", "text": card.title, "weight": "bold", "color": "#FFFFFF", "wrap": True}],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [{"type": "text", "text": line, "wrap": True, "size": "sm"} for line in lines]
            or [{"type": "text", "text": card.title, "wrap": True, "size": "sm"}],
        },
    }
    buttons = card.buttons[:MAX_CARD_BUTTONS]
    if buttons:
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary" if i == 0 else "secondary",
                    "height": "sm",
                    "action": action(b),
                }
                for i, b in enumerate(buttons)
            ],
        }
    alt = "\n".join([card.title, *lines])
    return {"type": "flex", "altText": label(alt, MAX_ALT_TEXT), "contents": bubble}


def render(replies: Sequence[Reply]) -> list[Message]:
    """All messages of one turn, in order, quick replies on the last one."""
    messages: list[Message] = []
    for reply in replies:
        mine = text_messages(reply.text)
        if reply.card is not None:
            mine.append(flex_card(reply.card))
        if reply.sender == "staff":
            for message in mine:
                message["sender"] = dict(STAFF_SENDER)
        messages += mine
    with_buttons = [r for r in replies if r.buttons]
    if messages and with_buttons:
        messages[-1]["quickReply"] = quick_reply(with_buttons[-1].buttons)
    return messages


def merge_texts(messages: list[Message], limit: int = MAX_MESSAGES_PER_CALL) -> list[Message]:
    """Merge adjacent plain texts (same sender, no quick reply) until `limit` messages remain."""
    out = [dict(m) for m in messages]
    i = 0
    while len(out) > limit and i < len(out) - 1:
        a, b = out[i], out[i + 1]
        mergeable = (
            a["type"] == b["type"] == "text"
            and "quickReply" not in a
            and a.get("sender") == b.get("sender")
            and len(a["text"]) + len(b["text"]) + 2 <= MAX_TEXT
        )
        if mergeable:
            merged = {**b, "text": f"{a['text']}\n\n{b['text']}"}
            out[i : i + 2] = [merged]
        else:
            i += 1
    return out


def batches(messages: list[Message]) -> list[list[Message]]:
    """At most 5 messages per API call: the first batch is the reply, the rest are pushes."""
    merged = merge_texts(messages)
    return [merged[i : i + MAX_MESSAGES_PER_CALL] for i in range(0, len(merged), MAX_MESSAGES_PER_CALL)]
