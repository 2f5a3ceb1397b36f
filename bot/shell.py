"""`python -m bot.shell`: chat with the bot in a terminal, like `rasa shell`.

Uses the same settings, database and dispatcher as the server. Buttons are numbered; type the
number to press one. `/quit` (or Ctrl-D) leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.engine.assembly import build_dispatcher
from bot.engine.events import Button, Reply
from bot.engine.identity import make_resolver
from bot.engine.interpreters import build_interpreter
from bot.engine.services import build_services
from bot.engine.testing import Conversation
from bot.settings import Settings
from bot.store.db import migrate
from knowledge.loader import load_knowledge


def render(replies: list[Reply]) -> list[Button]:
    buttons: list[Button] = []
    for reply in replies:
        print(f"🤖 {reply.text}" if reply.sender == "bot" else f"👤 {reply.text}")
        if reply.card:
            print(f"   【{reply.card.title}】")
            for line in reply.card.lines:
                print(f"   ・{line}")
        for button in list(reply.buttons) + (list(reply.card.buttons) if reply.card else []):
            buttons.append(button)
            print(f"   [{len(buttons)}] {button.title}")
    return buttons


async def chat(sender: str) -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.resolved_database_url)
    services = build_services(settings, build_interpreter(settings))
    services.resolve_resident = make_resolver(services.sessionmaker, demo_mode=settings.demo_mode)
    await services.hub.start()
    load_knowledge(services)
    conversation = Conversation(build_dispatcher(services), sender_id=sender, channel="shell")
    buttons = render(await conversation.say("/greet"))
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, _read)
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            text = line.strip()
            if not text:
                continue
            if text.isdigit() and 0 < int(text) <= len(buttons):
                text = buttons[int(text) - 1].payload
            buttons = render(await conversation.say(text))
    finally:
        await services.close()


def _read() -> str | None:
    try:
        return input("あなた> ")
    except EOFError:
        print()  # leave the terminal on a fresh line
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.shell", description="Chat with madoguchi in the terminal.")
    parser.add_argument("--sender", default="shell-user", help="conversation id (default: shell-user)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(chat(args.sender))
    except KeyboardInterrupt:
        print(file=sys.stderr)


if __name__ == "__main__":
    main()
