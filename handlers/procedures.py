"""Informational answers from the procedure catalog: what, who, where, when, fee, what to bring.

Every fact said comes from the catalog (`knowledge/catalog.py`); nothing here knows a fee, an
office or an hour. Other handlers (certificates, life events, reservations) reuse
`procedure_card` to show the same summary before they ask their questions.

Which procedures are answered here is the catalog's to say, not a list in code: every procedure
of the loaded catalog (`Catalog.is_procedure_intent`) that no form handler owns. The router sends
an intent that no handler claims to its fallback, so `ProcedureInfoHandler` *is* the router's
fallback step (`handlers.registry.fallback_handler`): it claims no intent at construction, looks
the intent up in the catalog at handle time, and hands anything else to the real fallback. So a
form handler with its own intents always wins (the router never reaches the fallback for them),
no intent can have two handlers, and the handlers need no catalog when they are built (the app
builds the router before its knowledge is loaded, and `$DATA_DIR/knowledge/procedures.yml` may
replace the packaged catalog). An information-only procedure is added with a catalog entry and
NLU training examples alone.
"""

from __future__ import annotations

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.base import Handler
from handlers.dated_hours import asked_day
from handlers.facet_answers import facet_answer, no_data_sentence
from knowledge.catalog import Catalog, Procedure
from nlu.facets import detect_facet, facet_question
from nlu.safety import strong_distress

MAX_RELATED_BUTTONS = 3
OTHER_PROCEDURE_CONFIDENCE = 0.75  # a question this sure about another procedure is about that one


def catalog_of(ctx: TurnContext) -> Catalog:
    catalog = ctx.services.knowledge.catalog
    if catalog is None:
        raise RuntimeError("the procedure catalog is not loaded (knowledge.loader.load_knowledge)")
    return catalog


def yen(amount: int) -> str:
    return f"{amount:,}円"


def fee_line(proc: Procedure) -> str | None:
    if not proc.fees:
        return None
    if all(f.amount == 0 for f in proc.fees):
        return "費用：無料"
    return "費用：" + "、".join(f.text for f in proc.fees)


def where_line(catalog: Catalog, proc: Procedure) -> str:
    office = catalog.office_of(proc)
    return f"窓口：{office.name}（{office.where}）"


def hours_line(catalog: Catalog, proc: Procedure) -> str:
    return f"受付時間：{catalog.office_hours(proc)}"


def channel_lines(catalog: Catalog, proc: Procedure) -> list[str]:
    lines: list[str] = []
    if proc.online is not None:
        lines.append(f"オンライン：{proc.online.text}")
    if proc.mail is not None:
        lines.append(f"郵送：{proc.mail.text}")
    if proc.convenience is not None:
        conv = proc.convenience
        extra = []
        if conv.fee is not None:
            extra.append(f"1通{yen(conv.fee)}")
        if conv.hours is not None:
            extra.append(catalog.hours_label(conv.hours))
        lines.append(f"コンビニ：{conv.text}" + (f"（{'、'.join(extra)}）" if extra else ""))
    return lines


def consultation_lines(proc: Procedure) -> list[str]:
    lines = []
    if proc.free_consultation:
        lines.append("相談は無料です。")
    if proc.confidential:
        lines.append("相談の内容や秘密は守られます。")
    return lines


def key_fact_lines(catalog: Catalog, proc: Procedure) -> list[str]:
    """The card's lines, most important first (phones show the top of a card)."""
    lines = [proc.summary, *consultation_lines(proc), where_line(catalog, proc), hours_line(catalog, proc)]
    fee = None if proc.free_consultation else fee_line(proc)  # "相談は無料です" already says it
    if fee:
        lines.append(fee)
    if proc.deadline:
        lines.append(f"期限：{proc.deadline}")
    lines.append("持ち物：" + "／".join(proc.documents))
    lines.append(f"対象：{proc.who}")
    lines.extend(channel_lines(catalog, proc))
    lines.extend(proc.notes)
    lines.append(f"担当：{catalog.department_of(proc).name}")
    return lines


def details_button(proc: Procedure) -> Button:
    return Button("詳しく", proc.url, url=proc.url)  # opens the page; the payload is never sent


def related_buttons(catalog: Catalog, proc: Procedure, limit: int = MAX_RELATED_BUTTONS) -> list[Button]:
    return [Button(r.name, payload(r.id)) for r in catalog.related(proc)[:limit]]


def procedure_card(catalog: Catalog, proc: Procedure) -> Card:
    return Card(
        title=proc.title,
        lines=tuple(key_fact_lines(catalog, proc)),
        buttons=(details_button(proc),),
        kind="info",
    )


def lead_sentence(proc: Procedure) -> str:
    return proc.lead or f"{proc.title}のご案内です。"


def asked_facet(ctx: TurnContext) -> str | None:
    """The facet the resident's own words ask about (a button asks none)."""
    return None if ctx.parse.from_payload else detect_facet(ctx.parse.text)


def say_procedure(ctx: TurnContext, proc: Procedure, *, extra_buttons: list[Button] | None = None) -> None:
    """Say the catalog summary of `proc` as a card, with related procedures as buttons.

    When the resident asked one facet (fee, hours, convenience store...), its answer comes first,
    in a sentence or two, and the card follows as the details; when the catalog has no answer
    for it, that is said plainly and a person is offered."""
    catalog = catalog_of(ctx)
    buttons = list(extra_buttons or []) + related_buttons(catalog, proc)
    facet = asked_facet(ctx)
    if facet is None:
        ctx.say(lead_sentence(proc), card=procedure_card(catalog, proc), buttons=buttons)
        return
    answer = facet_answer(catalog, proc, facet, ctx.parse.text, asked_day(ctx))
    if answer is None:
        human = Button("職員と話す", payload("request_human"))
        ctx.say(no_data_sentence(catalog, proc, facet), buttons=[human])
    else:
        ctx.say(answer)
    ctx.say(f"{proc.title}の詳しい案内です。", card=procedure_card(catalog, proc), buttons=buttons)


def answer_facet_question(ctx: TurnContext, intents: frozenset[str]) -> bool:
    """In the middle of a form: a question about one facet ("手数料はいくら？") of the
    procedure asked about (the message's own if confident, else the form's) is answered in a
    sentence from the catalog; False when it is no such question (the form takes the message)."""
    catalog = ctx.services.knowledge.catalog
    facet = None if ctx.parse.from_payload else facet_question(ctx.parse.text)
    if catalog is None or facet is None:
        return False
    own = [i for i in sorted(intents) if catalog.is_procedure_intent(i)]
    other = ctx.parse.intent if ctx.parse.confidence >= OTHER_PROCEDURE_CONFIDENCE else None
    intent = other if other is not None and catalog.is_procedure_intent(other) else (own[0] if own else None)
    if intent is None:
        return False
    proc = catalog.procedure(intent)
    answer = facet_answer(catalog, proc, facet, ctx.parse.text, asked_day(ctx))
    ctx.say(answer if answer is not None else no_data_sentence(catalog, proc, facet))
    return True


class ProcedureInfoHandler:
    """The router's fallback: a catalog procedure that no handler owns is answered with the
    catalog's key facts; any other intent goes to `otherwise` (`handlers.fallback`)."""

    name = "procedure_info"
    intents: frozenset[str] = frozenset()  # claims none: the catalog says at handle time

    def __init__(self, otherwise: Handler) -> None:
        self.otherwise = otherwise

    async def handle(self, ctx: TurnContext) -> None:
        catalog = ctx.services.knowledge.catalog  # None: not loaded, nothing is a procedure
        if catalog is None or not catalog.is_procedure_intent(ctx.parse.intent):
            ctx.handled_by = self.otherwise.name
            await self.otherwise.handle(ctx)
            return
        ctx.handled_by = self.name
        proc = catalog.procedure(ctx.parse.intent)
        extra = [Button("職員と話す", payload("request_human"))] if proc.confidential else []
        if proc.confidential and not ctx.parse.from_payload and strong_distress(ctx.parse.text):
            # Strong distress in a confidential matter (生活困窮): a person now, not a card to read.
            office = catalog.office_of(proc)
            ctx.say(f"{lead_sentence(proc)}担当の{office.name}の職員におつなぎします。")
            ctx.request_handoff("sensitive")
            return
        say_procedure(ctx, proc, extra_buttons=extra)
