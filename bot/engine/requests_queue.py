"""Two requests in one message: recognised per clause, taken one after the other.

The message is split into clauses (`nlu.clauses`), each clause parsed by the NLU; when two or more
clauses are confident requests for different things (a procedure, a booking, a ごみ question) the
bot says it will take them in turn, answers the first, and keeps the rest on the conversation's
stack of expectations (a `requests` entry, below the form the first request starts). After a turn
in which no form is left active (the first request answered, or its form done or cancelled), the
next one is taken.
"""

from __future__ import annotations

from bot.engine.expectations import REQUESTS
from bot.engine.turn import Parse, TurnContext
from nlu.clauses import split_clauses

MIN_CONFIDENCE = 0.6
WEAK_MIN_CONFIDENCE = 0.8  # a clause cut at "と" must be a clearer request
NOT_REQUESTS = frozenset(
    {"greet", "goodbye", "thanks", "affirm", "deny", "request_human", "cancel", "bot_capabilities"}
    | {"out_of_scope", "nlu_fallback", "dv_abuse"}
)
MAX_REQUESTS = 3


def _is_request(ctx: TurnContext, intent: str) -> bool:
    """A request is a procedure of the catalog that a handler answers (not a bare value, not a
    greeting): `inform` ("ベッド") is one item of a list, not a second request."""
    catalog = ctx.services.knowledge.catalog
    # a form or the info handler answers every catalog procedure
    return intent not in NOT_REQUESTS and catalog is not None and catalog.is_procedure_intent(intent)


async def split_requests(ctx: TurnContext) -> list[Parse]:
    """The message's requests, one Parse per clause, when it holds two or more; else []."""
    clauses = split_clauses(ctx.parse.text)
    if len(clauses) < 2:
        return []
    found: list[Parse] = []
    for clause in clauses:
        parse = Parse.from_nlu(await ctx.services.interpreter.parse(clause.text))
        floor = WEAK_MIN_CONFIDENCE if clause.weak else MIN_CONFIDENCE
        if parse.confidence < floor or not _is_request(ctx, parse.intent):
            continue
        if all(p.intent != parse.intent for p in found):
            found.append(parse)
    if len(found) < 2 or ctx.parse.intent not in {p.intent for p in found}:
        return []
    return found[:MAX_REQUESTS]


def label(ctx: TurnContext, parse: Parse) -> str:
    catalog = ctx.services.knowledge.catalog
    proc = catalog.get(parse.intent) if catalog is not None else None
    return proc.name if proc is not None else parse.text


def announce(ctx: TurnContext, parses: list[Parse]) -> None:
    names = "、".join(f"{n}. {label(ctx, p)}" for n, p in enumerate(parses, 1))
    ctx.say(f"ご用件が{len(parses)}つありますね。順番にご案内します（{names}）。")


def keep(ctx: TurnContext, parses: list[Parse]) -> None:
    drop(ctx)
    ctx.state.expect(
        "requests",
        REQUESTS,
        data={
            "parses": [
                {"text": p.text, "intent": p.intent, "confidence": p.confidence, "entities": p.entities} for p in parses
            ]
        },
    )


def drop(ctx: TurnContext) -> None:
    ctx.state.drop_expected("requests")


def next_pending(ctx: TurnContext) -> Parse | None:
    entry = ctx.state.expected("requests")
    pending = list(entry.data.get("parses") or []) if entry is not None else []
    if entry is None or not pending:
        drop(ctx)
        return None
    first, rest = pending[0], pending[1:]
    if rest:
        entry.data["parses"] = rest
    else:
        drop(ctx)
    return Parse(text=first["text"], intent=first["intent"], confidence=first["confidence"], entities=first["entities"])
