"""FAQ first: the municipality's FAQ answers instead of the intent's handler when it is sure.

The router is given this step (`Router(..., faq=FaqFirst())`); the rule and its thresholds are
here, in one place.
"""

from __future__ import annotations

from bot.engine.turn import TurnContext
from handlers.base import ALWAYS_FIRST
from handlers.fallback import say_faq_answer
from knowledge.faq import FaqHit

# -- FAQ first ------------------------------------------------------------------------------
# The FAQ answers instead of the intent's handler when its top hit clears the bar for that kind
# of intent. The bars use the FAQ's own confidence (0..1, `FaqIndex.confidence`):
#   * `nlu_fallback` (the NLU found nothing): the FAQ's own bar (`FaqHit.confident`); the FAQ is
#     the only other place that may know the answer.
#   * `out_of_scope`: the NLU judged the message outside the municipality, but the FAQ is the
#     municipality's own word on what it handles; it answers when it clears FAQ_OVER_INTENT,
#     whatever the NLU's confidence ("駐車場ある？" is `out_of_scope` 0.81, the FAQ knows it).
#   * every other intent has an answer of its own (a greeting, a yes/no, a procedure, a profile
#     command, a bare value for a question the bot asked): the FAQ takes over only when the NLU
#     is unsure (< INTENT_SURE) AND the FAQ clears FAQ_OVER_INTENT ("区役所に駐車場はありますか？"
#     reads as `greet` 0.57 and is an FAQ question word for word).
# The FAQ's bar is stricter when it overrides the NLU because its confidence also counts words of
# the answers and runs high on one- or two-word messages: a sure "はい、それでお願いします"
# (affirm 1.0) scores 0.78 on an entry whose answer says "お願い", "北区民館" (inform) 0.9 on the
# 会議室 entry. Never: buttons, the commands that always win (cancel, a person, DV), or while the
# bot's own yes/no or code question is open (`pending_question`: its answer has an owner).
FAQ_FIRST_INTENTS = frozenset({"nlu_fallback"})
FAQ_OVER_NLU_INTENTS = frozenset({"out_of_scope"})
INTENT_SURE = 0.75  # NLU confidence from which an intent keeps its handler (= forms' STRONG_OTHER_INTENT)
# FAQ confidence needed to answer instead of what the NLU chose. Near-verbatim FAQ questions score
# 0.88-0.9; a request that only shares words with an entry scores lower and keeps its handler
# ("中央区民館の会議室Aを予約したい" is `facility_booking` 0.62 and 0.81 on the 会議室 entry: a booking).
FAQ_OVER_INTENT = 0.85
# The surer the NLU is that a message is outside the municipality, the closer the FAQ must match:
# "今何時？" (out_of_scope 1.0) shares only 何時 with the opening-hours entry (0.85), while
# "犬を飼い始めたんだけど登録いる？" (0.94) and "駐車場ある？" (0.82) are the FAQ's questions (0.9).
OUT_OF_SCOPE_SURE = 0.97
FAQ_OVER_SURE_OUT_OF_SCOPE = 0.88


def faq_answer(ctx: TurnContext) -> FaqHit | None:
    """The FAQ hit to answer this message with instead of its intent's handler, or None."""
    parse = ctx.parse
    if parse.from_payload or parse.intent in ALWAYS_FIRST or ctx.state.pending_question is not None:
        return None
    first = parse.intent in FAQ_FIRST_INTENTS
    over_nlu = parse.intent in FAQ_OVER_NLU_INTENTS or parse.confidence < INTENT_SURE
    if not first and not over_nlu:
        return None  # a sure intent keeps its handler whatever the FAQ holds: no search (issue 12)
    faq = getattr(ctx.services, "knowledge", {}).get("faq")
    text = parse.text or ctx.event.text
    if faq is None or not text.strip():
        return None
    hits = faq.search(text, top_k=3)
    if not faq.is_confident(hits):
        return None
    best: FaqHit = hits[0]
    if first:
        return best
    bar = FAQ_OVER_INTENT
    if parse.intent == "out_of_scope" and parse.confidence >= OUT_OF_SCOPE_SURE:
        bar = FAQ_OVER_SURE_OUT_OF_SCOPE
    return best if best.confidence >= bar else None


class FaqFirst:
    """The router's FAQ step (`handlers.base.FaqStep`)."""

    def match(self, ctx: TurnContext) -> FaqHit | None:
        return faq_answer(ctx)

    def answer(self, ctx: TurnContext, hit: FaqHit) -> None:
        say_faq_answer(ctx, hit)
