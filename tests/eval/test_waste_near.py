"""ごみ "did you mean" on held-out item names (tests/eval/waste_near.tsv), end to end, with a floor.

A row passes when the bot's first reply offers the expected list item as a choice (its button), or,
for a name nothing in the list is near, offers no item at all and says plainly that the list lacks it.
`EVAL_PRINT=1` prints the figure and the misses."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from bot.engine.testing import Conversation

HERE = Path(__file__).resolve().parent
FLOOR = 0.8
NOT_LISTED = ("一覧に見つかりませんでした", "not in the garbage sorting list")


def load() -> list[tuple[str, str, str]]:
    lines = [line.rstrip("\n") for line in (HERE / "waste_near.tsv").open(encoding="utf-8")]
    return [tuple(line.split("\t")) for line in lines if line.strip() and not line.startswith("#")]  # type: ignore[misc]


def test_held_out_names_are_not_in_the_data(services) -> None:  # type: ignore[no-untyped-def]
    from knowledge.waste_near import PACKAGED

    near_words = PACKAGED.read_text(encoding="utf-8")
    listed = {i.name for i in services.knowledge.waste.items}
    for _lang, message, _near in load():
        assert message not in listed
        assert f"\n  {message.split('は')[0]}:" not in near_words


async def test_did_you_mean_meets_the_floor(dispatcher, services) -> None:  # type: ignore[no-untyped-def]
    rows = load()
    passed, misses = 0, []
    for lang, message, near in rows:
        conv = Conversation(dispatcher, sender_id=f"evalw-{uuid.uuid4().hex[:10]}")
        await conv.say(message)
        first = conv.last[0] if conv.last else None
        offered = [b.payload for b in first.buttons] if first else []
        items = [p for p in offered if p.startswith("/waste_sorting") and '"item":' in p and '"item":"-' not in p]
        if near == "-":
            ok = not items and first is not None and any(n in first.text for n in NOT_LISTED)
        else:
            ok = any(f'"item":"{near}"' in p for p in items)
        passed += ok
        if not ok:
            misses.append(f"{lang} {message} -> {first.text[:50] if first else ''!r} {items} (want {near})")
    share = passed / len(rows)
    if os.environ.get("EVAL_PRINT"):
        print(json.dumps({"waste_near": len(rows), "passed": passed, "share": round(share, 3)}))
        print("\n".join(misses))
    assert share >= FLOOR, misses
