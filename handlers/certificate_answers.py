"""What a resident's words say to a certificate form: who asks, how many, which 年度, which items
and how to receive. Pure readers of the message (and the catalog's certificate rules), used by
`handlers.certificates`; the labels here are also what the form's buttons and checklist say.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from bot.engine.turn import TurnContext
from handlers.forms import as_int
from knowledge.catalog import Procedure
from nlu.entities import RELATIONS as RELATION_WORDS

NO_OPTIONS = "-"  # the value of the option slot for a certificate without choices
REQUESTER_LABELS = {"self": "ご本人", "family": "同じ世帯のご家族", "proxy": "代理人（それ以外の方）"}
METHOD_LABELS = {"counter": "窓口", "mail": "郵送", "convenience": "コンビニ"}
KNOWN_RELATIONS = frozenset(RELATION_WORDS.values())  # what the NLU's relation entity can be
REIWA_OFFSET = 2018  # 令和N年 = 西暦(N + 2018)年
TAX_YEAR_CHOICES = 3

INFO_CUES = (
    "いくら",
    "料金",
    "手数料",
    "費用",
    "どこ",
    "何時",
    "時間",
    "いつ",
    "期限",
    "持ち物",
    "何が必要",
    "必要なもの",
    "とは",
    "教えて",
    "取り方",
    "方法",
    "できますか",
    "使えますか",
)
WANT_CUES = (
    "ほしい",
    "欲しい",
    "取りたい",
    "とりたい",
    "請求",
    "取得したい",
    "発行して",
    "もらいたい",
    "必要です",
    "お願い",
    "申請したい",
    "取りに",
)
_COPIES = re.compile(r"(\d+)\s*(?:通|枚|部)")
_BARE_NUMBER = re.compile(r"^\s*(\d+)\s*$")
_REIWA = re.compile(r"令和\s*(\d+)\s*年")
_WESTERN = re.compile(r"(20\d\d)\s*年")


def message_text(ctx: TurnContext) -> str:
    return unicodedata.normalize("NFKC", ctx.parse.text or "")


def requested_slot(ctx: TurnContext) -> str | None:
    form = ctx.state.active_form
    return form.requested_slot if form is not None else None


def extract_requester(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("requester")
    if given in REQUESTER_LABELS:
        return str(given)
    text = message_text(ctx)
    if any(w in text for w in ("代理", "委任", "頼まれ", "知人", "友人", "会社の")):
        return "proxy"
    relation = ctx.parse.entity("relation")
    if isinstance(relation, str) and relation in KNOWN_RELATIONS:
        return "self" if relation == "self" else "family"
    if any(w in text for w in ("家族", "世帯")):
        return "family"
    if any(w in text for w in ("本人", "自分", "わたし", "私")):
        return "self"
    return None


def extract_copies(ctx: TurnContext, _values: dict[str, Any]) -> int | None:
    if ctx.parse.from_payload:  # a button: only its value counts, whatever its type
        return as_int(ctx.parse.entity("copies"))
    given = as_int(ctx.parse.entity("copies"))
    if given is not None:
        return given
    text = message_text(ctx)
    match = _COPIES.search(text)
    if match:
        return int(match.group(1))
    count = as_int(ctx.parse.entity("count"))
    if count is not None:
        return count
    bare = _BARE_NUMBER.match(text)
    if bare and requested_slot(ctx) == "copies":
        return int(bare.group(1))
    return None


def latest_fiscal_year(proc: Procedure, today: date) -> int:
    """The newest 年度 (令和) whose certificate is issued (new ones from the catalog's month)."""
    assert proc.certificate is not None and proc.certificate.new_fiscal_year_month is not None
    year = today.year if today.month >= proc.certificate.new_fiscal_year_month else today.year - 1
    return year - REIWA_OFFSET


def fiscal_year_label(reiwa: int) -> str:
    return f"令和{reiwa}年度（令和{reiwa - 1}年1〜12月の所得）" if reiwa > 1 else f"令和{reiwa}年度"


def fiscal_year_from(text: str, latest: int) -> int | None:
    if match := _REIWA.search(text):
        return int(match.group(1))
    if match := _WESTERN.search(text):
        return int(match.group(1)) - REIWA_OFFSET
    if any(w in text for w in ("前年度", "昨年度", "去年度", "去年", "昨年")):
        return latest - 1
    if any(w in text for w in ("今年度", "最新", "今年")):
        return latest
    return None


def option_from(text: str, requested: bool) -> str | None:
    if any(w in text for w in ("マイナンバー入り", "マイナンバーの記載", "マイナンバー記載", "個人番号")):
        return "mynumber"
    if ("本籍" in text or "続柄" in text) and not any(w in text for w in ("なし", "不要", "いらない", "省略")):
        return "honseki"
    if requested and any(w in text for w in ("なし", "不要", "いらない", "普通", "一般", "通常")):
        return "standard"
    return None


def extract_method(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("method")
    if given in METHOD_LABELS:
        return str(given)
    text = message_text(ctx)
    if any(w in text for w in ("コンビニ", "セブン", "ローソン", "ファミマ", "ファミリーマート", "マルチコピー")):
        return "convenience"
    if any(w in text for w in ("郵送", "郵便", "送って", "送付")):
        return "mail"
    if any(w in text for w in ("窓口", "区役所", "役所", "取りに行", "直接")):
        return "counter"
    return None
