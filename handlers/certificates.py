"""住民票・印鑑証明・税証明: who, how many, which items, how to receive → what to bring and the fee.

Guidance only: nothing is applied for or stored. The form ends with a checklist card built from
the catalog (documents for the requester and the way of receiving, the office and its hours, and
copies × the catalog's fee). 印鑑登録 itself and plain questions ("手数料はいくら？") get the
catalog's information card instead of the form. What the resident's words say (requester,
copies, 年度, items, way of receiving) is read by `handlers.certificate_answers`.
"""

from __future__ import annotations

from typing import Any

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.certificate_answers import (
    INFO_CUES,
    METHOD_LABELS,
    NO_OPTIONS,
    REQUESTER_LABELS,
    TAX_YEAR_CHOICES,
    WANT_CUES,
    extract_copies,
    extract_method,
    extract_requester,
    fiscal_year_from,
    fiscal_year_label,
    latest_fiscal_year,
    message_text,
    option_from,
    requested_slot,
)
from handlers.forms import Form, Slot
from handlers.procedures import asked_facet, catalog_of, details_button, related_buttons, say_procedure, yen
from knowledge.catalog import Catalog, Procedure

# ---------------------------------------------------------------- the form


class CertificateForm(Form):
    """One instance per certificate intent (住民票, 印鑑証明, 税証明)."""

    def __init__(self, intent: str, title: str, option_question: str = "記載する内容を選んでください。") -> None:
        self.intent = intent
        self.name = f"certificate_{intent}"
        self.intents = frozenset({intent})
        self.title = title
        self.slots = (
            Slot(
                "requester",
                "どなたの証明書を請求しますか。",
                "請求する方",
                extract=extract_requester,
                choices=self._requester_choices,
                render=lambda k: REQUESTER_LABELS.get(k, str(k)),
                aliases=("どなた", "代理", "本人"),
            ),
            Slot(
                "copies",
                "何通必要ですか。",
                "通数",
                extract=extract_copies,
                validate=self._check_copies,
                choices=self._copies_choices,
                render=lambda n: f"{n}通",
                aliases=("何通", "部数", "枚数"),
            ),
            Slot(
                "option",
                option_question,
                "記載内容・年度",
                extract=self._extract_option,
                validate=self._check_option,
                choices=self._option_choices,
                aliases=("記載", "年度", "本籍"),
            ),
            Slot(
                "method",
                "受け取り方を選んでください。",
                "受け取り方",
                extract=extract_method,
                validate=self._check_method,
                choices=self._method_choices,
                render=lambda m: METHOD_LABELS.get(m, str(m)),
                aliases=("受け取り", "受取", "郵送", "窓口", "コンビニ"),
            ),
        )

    def procedure(self, ctx: TurnContext) -> Procedure:
        return catalog_of(ctx).procedure(self.intent)

    # -- start: the form, or only the information card --------------------------------------
    async def start(self, ctx: TurnContext) -> bool:
        proc = self.procedure(ctx)
        if not self._wants_certificate(ctx):
            say_procedure(ctx, proc, extra_buttons=[Button("請求の準備をする", payload(self.intent, start="yes"))])
            return False
        copy_fee = proc.copy_fee
        assert copy_fee is not None  # the catalog guarantees it for certificates
        office = catalog_of(ctx).office_of(proc)
        conv = f"（コンビニは1通{yen(proc.convenience.fee)}）" if proc.convenience and proc.convenience.fee else ""
        ctx.say(
            f"{copy_fee.label}は、{office.name}（{office.where}）で1通{yen(copy_fee.amount)}です{conv}。"
            "お持ちいただくものと手数料をまとめますので、いくつか教えてください。"
        )
        return True

    def _wants_certificate(self, ctx: TurnContext) -> bool:
        parse = ctx.parse
        if parse.from_payload:  # "請求の準備をする" carries start; a related-procedure button does not
            return parse.entity("start") is not None or len(parse.entities) > 0
        text = message_text(ctx)
        if self.intent == "inkan" and "登録" in text and "証明" not in text:
            return False  # 印鑑登録 itself: information only
        if extract_copies(ctx, {}) is not None:
            return True
        if asked_facet(ctx) is not None:  # a question about one facet: its answer, then the card
            return False
        return any(w in text for w in WANT_CUES) or not any(w in text for w in INFO_CUES)

    def takes_over(self, ctx: TurnContext) -> bool:
        # A direct answer to the question asked wins over a confident other intent
        # ("本籍入りで" reads as 戸籍 to the NLU).
        if not ctx.parse.from_payload and requested_slot(ctx) is not None and self._would_fill(ctx):
            return True
        return super().takes_over(ctx)

    # -- choices and validation --------------------------------------------------------------
    def _requester_choices(self, ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
        return [Button(label, payload("inform", requester=kind)) for kind, label in REQUESTER_LABELS.items()]

    def _copies_choices(self, ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
        return [Button(f"{n}通", payload("inform", copies=n)) for n in (1, 2, 3)]

    def _check_copies(self, ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
        limit = self._rules(ctx).max_copies
        if value < 1:
            return f"{value}通ではお受けできません。1通から{limit}通までの数で教えてください。"
        if value > limit:
            return (
                f"このご案内でお受けできるのは{limit}通までです。1通から{limit}通までの数で教えてください。"
                f"それより多く必要なときは窓口にご相談ください。"
            )
        return None

    def _rules(self, ctx: TurnContext):  # type: ignore[no-untyped-def]
        rules = self.procedure(ctx).certificate
        assert rules is not None
        return rules

    def _option_choices(self, ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
        return [Button(label, payload("inform", option=value)) for value, label in self.option_labels(ctx).items()]

    def option_labels(self, ctx: TurnContext) -> dict[str, str]:
        proc = self.procedure(ctx)
        rules = self._rules(ctx)
        if rules.new_fiscal_year_month is not None:
            latest = latest_fiscal_year(proc, ctx.today)
            return {f"R{y}": fiscal_year_label(y) for y in range(latest, latest - TAX_YEAR_CHOICES, -1)}
        return {o.id: o.label for o in rules.options}

    def _extract_option(self, ctx: TurnContext, _values: dict[str, Any]) -> str | None:
        rules = self._rules(ctx)
        if not rules.options and rules.new_fiscal_year_month is None:
            return NO_OPTIONS
        given = ctx.parse.entity("option")
        if given is not None:
            return str(given)
        text = message_text(ctx)
        if rules.new_fiscal_year_month is not None:
            year = fiscal_year_from(text, latest_fiscal_year(self.procedure(ctx), ctx.today))
            return f"R{year}" if year is not None else None
        found = option_from(text, requested=requested_slot(ctx) == "option")
        return found if found in {o.id for o in rules.options} else None

    def _check_option(self, ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
        if value == NO_OPTIONS or value in self.option_labels(ctx):
            return None
        rules = self._rules(ctx)
        if rules.new_fiscal_year_month is not None and str(value).startswith("R"):
            latest = latest_fiscal_year(self.procedure(ctx), ctx.today)
            if str(value)[1:].isdigit() and int(str(value)[1:]) > latest:
                return (
                    f"令和{str(value)[1:]}年度の証明書はまだ発行していません"
                    f"（新しい年度の分は{rules.new_fiscal_year_month}月1日から発行します）。"
                )
            return f"このご案内では{fiscal_year_label(latest - TAX_YEAR_CHOICES + 1)}以降から選んでください。"
        return "その内容は選べません。ボタンから選んでください。"

    def _method_choices(self, ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
        proc = self.procedure(ctx)
        available = ["counter"] + (["mail"] if proc.mail else []) + (["convenience"] if proc.convenience else [])
        return [Button(METHOD_LABELS[m], payload("inform", method=m)) for m in available]

    def _check_method(self, ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
        proc = self.procedure(ctx)
        short = proc.copy_fee.label if proc.copy_fee else proc.title
        if value == "mail" and proc.mail is None:
            return f"{short}は郵送では請求できません。窓口{'かコンビニ' if proc.convenience else ''}をお選びください。"
        if value == "convenience" and proc.convenience is None:
            return f"{short}はコンビニでは取得できません。窓口{'か郵送' if proc.mail else ''}をお選びください。"
        if value == "convenience" and values.get("requester") == "proxy":
            assert proc.convenience is not None
            return (
                f"コンビニでは{'・'.join(proc.convenience.documents)}で取得するため、代理の方は使えません。"
                f"窓口{'か郵送' if proc.mail else ''}をお選びください。"
            )
        return None

    # -- confirmation and the checklist -----------------------------------------------------
    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for slot in self.slots:
            if slot.name not in values or values[slot.name] == NO_OPTIONS:
                continue
            shown = (
                self.option_labels(ctx).get(values["option"], values["option"])
                if slot.name == "option"
                else slot.render(values[slot.name])
            )
            lines.append(f"{slot.label}：{shown}")
        fee = self.fee(ctx, values)
        if fee is not None:
            lines.append(f"手数料：{fee[1]}")
        return lines

    def fee(self, ctx: TurnContext, values: dict[str, Any]) -> tuple[int, str] | None:
        """(total, "300円 × 2通 = 600円") from the catalog, once copies (and method) are known."""
        if "copies" not in values:
            return None
        proc = self.procedure(ctx)
        unit = proc.copy_fee.amount if proc.copy_fee else 0
        if values.get("method") == "convenience" and proc.convenience and proc.convenience.fee is not None:
            unit = proc.convenience.fee
        total = unit * values["copies"]
        return total, f"{yen(unit)} × {values['copies']}通 = {yen(total)}"

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        catalog = catalog_of(ctx)
        proc = self.procedure(ctx)
        card = Card(
            title=f"{proc.title}：{_CHECKLIST_TITLES[values['method']]}",
            lines=tuple(checklist_lines(catalog, proc, values, self.option_labels(ctx), self.fee(ctx, values))),
            buttons=(details_button(proc),),
            kind="checklist",
        )
        ctx.say(
            "必要なものと手数料をまとめました。このチャットで請求が済んだわけではありませんので、ご注意ください。",
            card=card,
            buttons=related_buttons(catalog, proc),
        )


_CHECKLIST_TITLES = {
    "counter": "窓口へお持ちいただくもの",
    "mail": "郵送で送るもの",
    "convenience": "コンビニで必要なもの",
}


def checklist_lines(
    catalog: Catalog,
    proc: Procedure,
    values: dict[str, Any],
    option_labels: dict[str, str],
    fee: tuple[int, str] | None,
) -> list[str]:
    rules = proc.certificate
    assert rules is not None
    requester = rules.requesters[values["requester"]]
    method = values["method"]
    lines = [f"受け取り方：{METHOD_LABELS[method]}"]
    documents: list[str] = list(requester.documents)
    if method == "counter":
        office = catalog.office_of(proc)
        lines += [f"場所：{office.name}（{office.where}）", f"受付時間：{catalog.office_hours(proc)}"]
    elif method == "mail" and proc.mail is not None:
        lines.append(f"郵送：{proc.mail.text}")
        if proc.mail.address:
            lines.append(f"送り先：{proc.mail.address}")
        documents = [d for d in requester.documents if "本人確認" not in d] + list(proc.mail.documents)
    elif method == "convenience" and proc.convenience is not None:
        hours = catalog.hours_label(proc.convenience.hours) if proc.convenience.hours else ""
        lines.append(f"コンビニ：{proc.convenience.text}" + (f"（{hours}）" if hours else ""))
        documents = list(proc.convenience.documents)
    lines += [f"□ {d}" for d in dict.fromkeys(documents)]
    if values.get("option", NO_OPTIONS) != NO_OPTIONS:
        lines.append(f"記載内容・年度：{option_labels.get(values['option'], values['option'])}")
        note = next((o.note for o in rules.options if o.id == values["option"] and o.note), "")
        if note:
            lines.append(note)
    if requester.note and method != "convenience":
        lines.append(requester.note)
    if fee is not None:
        money = "（定額小為替で同封）" if method == "mail" else ""
        lines.append(f"手数料：{fee[1]}{money}")
    return lines


def certificate_forms() -> list[CertificateForm]:
    return [
        CertificateForm("juminhyo", "住民票の写しの請求"),
        CertificateForm("inkan", "印鑑登録証明書の請求"),
        CertificateForm("tax_certificate", "税証明書の請求", option_question="何年度の証明書が必要ですか。"),
    ]
