"""A conversation driver for tests and the shell: say a message, read the replies.

Modelled on errbot's test backend: no HTTP, no channel, the real dispatcher underneath.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.dispatcher import Dispatcher
from bot.engine.events import InboundEvent, Reply


@dataclass
class Conversation:
    dispatcher: Dispatcher
    sender_id: str = "tester"
    channel: str = "web"
    last: list[Reply] = field(default_factory=list)
    client_address: str | None = None

    async def say(self, text: str) -> list[Reply]:
        self.last = await self.dispatcher.handle(
            InboundEvent(channel=self.channel, sender_id=self.sender_id, text=text, client_address=self.client_address)
        )
        return self.last

    async def press(self, title: str) -> list[Reply]:
        """Press the button titled `title` among the last replies (cards included)."""
        for reply in self.last:
            buttons = list(reply.buttons) + (list(reply.card.buttons) if reply.card else [])
            for button in buttons:
                if button.title == title:
                    return await self.say(button.payload)
        titles = [b.title for r in self.last for b in r.buttons]
        raise LookupError(f"no button {title!r} in the last replies (have {titles})")

    @property
    def text(self) -> str:
        """All texts of the last replies, cards included, joined by newlines."""
        parts: list[str] = []
        for reply in self.last:
            parts.append(reply.text)
            if reply.card:
                parts.append(reply.card.title)
                parts.extend(reply.card.lines)
        return "\n".join(parts)

    @property
    def button_titles(self) -> list[str]:
        return [b.title for r in self.last for b in (list(r.buttons) + (list(r.card.buttons) if r.card else []))]
