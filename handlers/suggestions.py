"""Proactive, consent-gated suggestions after each turn, plus the per-turn interaction record.

After the handler has answered, for a procedure intent: one indexed query reads the consent
decision and, only with `suggestions` consent (checked in the database), the household. Rules run
in memory. A suggestion says why, is offered at most once per rule and conversation, and not again
within `suggestion_decline_cooldown_days` of a decline. Every household read writes an audit row;
offers, acceptances (pressing the suggested service's button) and declines are recorded.
A linked resident without a decision is asked for consent once, at the end of a procedure answer.
A procedure intent is one the loaded catalog lists (`Catalog.is_procedure_intent`): no list here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.events import Button, Card, Reply
from bot.engine.turn import TurnContext, payload
from handlers.consent import ASK_TEXT, LINKED_THIS_TURN, consent_buttons, find_code, link_with_code
from knowledge.profile import (
    TurnProfile,
    decide_suggestion,
    declined_recently,
    department_of,
    interaction,
    load_turn_profile,
    set_consent,
)
from knowledge.residents import Interaction, audit, utcnow
from knowledge.suggestions import Match, Profile, RuleBook

log = logging.getLogger(__name__)

TEXT_ONLY_INTENTS = frozenset({"nlu_fallback"})  # rules that read no profile may still fire here
CONSENT_REASK_AFTER = timedelta(days=180)  # an unanswered question may be asked again after this


@dataclass(frozen=True)
class Evaluation:
    turn: TurnProfile | None  # None: nothing was read (anonymous, or not a procedure intent)
    match: Match | None

    @property
    def read_household(self) -> bool:
        return self.turn is not None and bool(self.turn.rows)


async def evaluate(
    session: AsyncSession,
    rules: RuleBook,
    *,
    resident_id: str | None,
    intent: str,
    text: str,
    today: date,
    skip: list[str],
    need_consent: bool = True,
    procedure: bool = True,
) -> Evaluation:
    """The profile read (one query, consent-gated in SQL) and the rules, for one message.

    `procedure`: the intent is a procedure of the catalog; only then is the profile read."""
    candidates = rules.candidates(intent, skip)
    want = any(rule.uses_profile for rule in candidates)
    turn = None
    if resident_id is not None and procedure and (want or need_consent):
        turn = await load_turn_profile(session, resident_id, with_household=want)
    profile = Profile.from_rows(resident_id, turn.rows, today) if turn and turn.rows and resident_id else None
    return Evaluation(turn, rules.evaluate(candidates, intent, text, profile) if candidates else None)


class SuggestionHook:
    def __init__(self, rules: RuleBook | None = None) -> None:
        self.rules = rules or RuleBook.load()

    async def after_turn(self, ctx: TurnContext) -> None:
        state, intent = ctx.state, ctx.parse.intent
        if state.status != "bot" or LINKED_THIS_TURN in ctx.flags or await _link_code_in_message(ctx):
            return
        if state.pending_question == "consent" and intent not in ("affirm", "deny", "privacy_info"):
            state.pending_question = None  # the question was passed over: never repeat it here
        accepted = ctx.parse.entity("suggestion") if ctx.parse.from_payload else None
        try:
            if state.resident_id is not None or isinstance(accepted, str):
                async with ctx.db.begin_nested():  # a failing suggestion undoes only its own writes
                    await self._after_answer(ctx, intent, in_savepoint=True)
            else:  # nobody's records to read: the rules alone decide, and the one possible write
                await self._after_answer(ctx, intent, in_savepoint=False)  # (an offer) has its own
        except Exception:  # never lose the handler's answer over a suggestion; nothing is shown then
            log.warning("suggestion hook failed", exc_info=True, extra={"intent": intent})

    async def _after_answer(self, ctx: TurnContext, intent: str, *, in_savepoint: bool) -> None:
        accepted = ctx.parse.entity("suggestion") if ctx.parse.from_payload else None
        if isinstance(accepted, str):
            await record_decision(ctx, accepted, "accepted")
        elif ctx.handoff_request:
            if ctx.state.resident_id is not None:
                session = ctx.db
                session.add(_interaction(ctx, intent))
        elif ctx.handled_by == "faq":
            return  # the FAQ answered instead of the NLU's guess: no suggestion rides on that guess
        elif intent in TEXT_ONLY_INTENTS or is_procedure(ctx, intent):
            await self._offer(ctx, intent, in_savepoint=in_savepoint)

    async def _offer(self, ctx: TurnContext, intent: str, *, in_savepoint: bool) -> None:
        state, rid = ctx.state, ctx.state.resident_id
        skip = state.offered_suggestions + list(state.data.get("declined_suggestions", []))
        session = ctx.db
        procedure = is_procedure(ctx, intent)
        ev = await evaluate(
            session,
            self.rules,
            resident_id=rid,
            intent=intent,
            text=ctx.parse.text or ctx.event.text,
            today=ctx.today,
            skip=skip,
            need_consent=not state.consent_asked,  # only to decide whether to ask for it
            procedure=procedure,
        )
        match = ev.match
        if ev.turn is not None and ev.turn.consent in ("given", "declined", "withdrawn"):
            state.consent_asked = True  # decided: later turns need not read the consent to ask
        if (
            match
            and rid
            and await declined_recently(
                session,
                resident_id=rid,
                rule=match.rule.id,
                days=ctx.services.settings.suggestion_decline_cooldown_days,
            )
        ):
            match = None
        if ev.read_household:
            session.add(_audit_read(ctx, f"suggestion:{intent}"))
        if rid and procedure:
            session.add(_interaction(ctx, intent))
        if match and in_savepoint:
            session.add(_offer_record(ctx, match))
        elif match:  # an anonymous sender's turn runs without a savepoint until it writes (issue 12)
            async with session.begin_nested():
                session.add(_offer_record(ctx, match))
        elif rid and ev.turn is not None and _should_ask_consent(ctx, ev.turn):
            await set_consent(
                session,
                resident_id=rid,
                status="asked",
                channel=ctx.event.channel,
                conversation_id=ctx.event.conversation_id,
            )
            state.consent_asked, state.pending_question = True, "consent"
            ctx.say(ASK_TEXT, buttons=consent_buttons())
        if match:
            state.offered_suggestions.append(match.rule.id)
            _say_suggestion(ctx, match)


def is_procedure(ctx: TurnContext, intent: str) -> bool:
    """A procedure of the loaded catalog (the one source of the procedure intents)."""
    catalog = ctx.services.knowledge.catalog
    return catalog is not None and catalog.is_procedure_intent(intent)


def _should_ask_consent(ctx: TurnContext, turn: TurnProfile) -> bool:
    state = ctx.state
    if not turn.exists or state.consent_asked or state.active_form is not None or state.pending_question:
        return False
    if turn.consent is None:
        return True
    if turn.consent != "asked" or turn.asked_at is None:
        return False  # given, declined or withdrawn: the resident decided; never ask again
    asked_at = turn.asked_at if turn.asked_at.tzinfo else turn.asked_at.replace(tzinfo=UTC)
    return datetime.now(UTC) - asked_at > CONSENT_REASK_AFTER


def _say_suggestion(ctx: TurnContext, match: Match) -> None:
    single = len(match.services) == 1
    buttons = [
        Button("詳しく見る" if single else f"{s.title}を見る", payload(s.intent, suggestion=match.rule.id))
        for s in match.services
    ]
    buttons.append(Button("今は結構です", payload("suggestion_decline", rule=match.rule.id)))
    lines = tuple(f"{s.title}：{s.note}" if s.note else s.title for s in match.services)
    text = f"{match.rule.text}\n※{match.reason}、お知らせしています。"
    card = Card(title="あわせてご案内", lines=lines, buttons=tuple(buttons), kind="suggestion")
    reply = Reply(text=text, card=card, custom={"suggestion": {"rule": match.rule.id, "reason": match.reason}})
    if ctx.state.active_form is not None and ctx.replies:
        ctx.replies.insert(len(ctx.replies) - 1, reply)  # the form's question stays last, to be answered
    else:
        ctx.replies.append(reply)


async def record_decision(ctx: TurnContext, rule: str, status: str) -> None:
    """The resident pressed a suggestion's service (accepted) or 「今は結構です」 (declined)."""
    session = ctx.db
    rid = await decide_suggestion(
        session,
        conversation_id=ctx.event.conversation_id,
        rule=rule,
        status=status,
        intent=ctx.parse.intent if status == "accepted" else None,
    )
    if rid and status == "accepted":
        session.add(_interaction(ctx, ctx.parse.intent, kind="suggestion", details={"rule": rule}))
    if rid is not None and status == "declined":
        declined = ctx.state.data.setdefault("declined_suggestions", [])
        if rule not in declined:
            declined.append(rule)


async def _link_code_in_message(ctx: TurnContext) -> bool:
    """A bare "123456" after the bot asked for the code (or "連携コード 123456" that the NLU did
    not place) reaches whatever handler the NLU guessed; unless a form took it as an answer, link
    with it instead of that handler's answer (informational handlers change no state)."""
    text = ctx.event.text
    asked = ctx.state.pending_question == "link_code"
    if asked and ctx.handled_by != "link_account":
        ctx.state.pending_question = None  # asked once; a later stray number is not a code
    form = ctx.state.active_form
    answered_by_form = form is not None and form.name == ctx.handled_by  # a slot value, e.g. a count
    code = find_code(text, bare=True) if text and ctx.handled_by != "link_account" and not answered_by_form else None
    if code is None or (not asked and "コード" not in text):
        return False
    ctx.replies.clear()
    ctx.state.fallback_streak = 0
    await link_with_code(ctx, code)
    return True


def _audit_read(ctx: TurnContext, why: str) -> object:
    return audit(
        actor="system",
        action="read_profile",
        why=why,
        resident_id=ctx.state.resident_id,
        conversation_id=ctx.event.conversation_id,
    )


def _interaction(ctx: TurnContext, intent: str, *, kind: str | None = None, details: dict | None = None) -> Interaction:  # type: ignore[type-arg]
    form = ctx.state.active_form
    # A handoff's own intent ("職員と話す") names no procedure: the form or the last topic does.
    department = department_of(
        ctx.services.knowledge.catalog, intent, form.name if form else None, ctx.state.last_intent
    )
    assert ctx.state.resident_id is not None
    return interaction(
        resident_id=ctx.state.resident_id,
        kind=kind or ("handoff" if ctx.handoff_request else "inquiry"),
        intent=intent,
        department=department,
        conversation_id=ctx.event.conversation_id,
        channel=ctx.event.channel,
        details=details or {"handled_by": ctx.handled_by},
    )


def _offer_record(ctx: TurnContext, match: Match) -> object:
    from knowledge.residents import SuggestionRecord

    return SuggestionRecord(
        resident_id=ctx.state.resident_id,
        conversation_id=ctx.event.conversation_id,
        rule=match.rule.id,
        status="offered",
        offered_at=utcnow(),
    )
