"""What a resident's words answer to a life-event form's yes/no questions.

Pure readers of the message for `handlers.life_events`: `read_answers` finds every question a
message answers ("犬はいません、子どもは2人" answers two), `yes_no` reads a bare はい/いいえ, and
`extract_origin` reads where the resident moved from.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from bot.engine.turn import TurnContext

_NO = re.compile(r"いいえ|いません|いない|ありません|ない|なし|無い|違|持っていません|入っていません|しない")
_YES = re.compile(r"はい|います|いる|あります|ある|持って|入って|飼って|そう|受けて|もらって|でした")


def message_text(ctx: TurnContext) -> str:
    return unicodedata.normalize("NFKC", ctx.parse.text or "")


def yes_no(ctx: TurnContext) -> bool | None:
    """affirm / deny, or a short yes/no answer in words ("います", "持っていません")."""
    if ctx.parse.intent == "affirm":
        return True
    if ctx.parse.intent == "deny":
        return False
    text = message_text(ctx)
    if _NO.search(text):
        return False
    if _YES.search(text):
        return True
    return None


# -- reading an answer ---------------------------------------------------------------------
# Each question has words that name its topic. An answer is read for a question only when it
# names that topic ("犬はいません" → 犬：いいえ) or, for the question just asked, when it names
# no other topic ("いません"). So "犬はいません" never answers the school question; it is kept for
# the dog question instead.
TOPICS: dict[str, re.Pattern[str]] = {
    "children": re.compile(r"子ども|子供|こども|お子|息子|娘"),
    "school_children": re.compile(
        r"小中学生|小学生|中学生|小学校|中学校|小学|中学|小[1-6一二三四五六]|中[1-3一二三]|(?<!高校)[1-6一二三四五六]年生"
    ),
    "dog": re.compile(r"犬|いぬ|イヌ|ワンちゃん|わんちゃん"),
    "has_mynumber_card": re.compile(r"マイナンバー|マイナカード|個人番号カード"),
    "national_health_insurance": re.compile(
        r"国民健康保険|国保|社会保険|社保|健康保険|会社の保険|協会けんぽ|共済|扶養"
    ),
    "care_certified": re.compile(r"要介護|要支援|介護"),
    "pension_recipient": re.compile(r"年金"),
    "household_head": re.compile(r"世帯主"),
}
_SCOPE_END = re.compile(r"[。、,.!！?？\n]")
_NEG = re.compile(r"いない|いません|おらず|おりません|ない|無い|なく|なし|無し|ありません|0人|0匹|ゼロ|違|ちが|以外")
_POS = re.compile(
    r"います|いる|おります|あります|ある|持って|入って|飼って|受けて|もらって|でした|\d+\s*[人匹頭]|ひとり|ふたり|[一二三]人"
)
_UNSURE = re.compile(r"わから|分から|わかりません|不明|知らな")
_QUESTION = re.compile(r"[?？]|(ますか|ですか|でしょうか|いるか|あるか)$")
_NOT_IN_SCHOOL = re.compile(r"未就学|就学前|幼稚園|保育園|保育所|こども園|乳児|赤ちゃん|赤ん坊|高校")
_AGE = re.compile(r"(\d{1,2})\s*(?:歳|才)")
_OTHER_INSURANCE = re.compile(r"社会保険|社保|会社の|協会けんぽ|共済|扶養|組合")
_NATIONAL = re.compile(r"国民健康保険|国保")


def _scopes(text: str, key: str) -> list[str]:
    """The words after each mention of `key`'s topic, up to the next topic or clause end."""
    pattern = TOPICS[key]
    others = [p for k, p in TOPICS.items() if k != key]
    scopes: list[str] = []
    for match in pattern.finditer(text):
        end = len(text)
        for other in (pattern, *others, _SCOPE_END):
            found = other.search(text, match.end())
            if found is not None:
                end = min(end, found.start())
        scopes.append(text[match.start() : end])
    return scopes


def _polarity(scope: str) -> bool | None:
    if _UNSURE.search(scope):
        return None
    if _NEG.search(scope):
        return False
    if _POS.search(scope):
        return True
    return None


def _school_answer(text: str, *, asked: bool) -> bool | None:
    values = [_polarity(scope) for scope in _scopes(text, "school_children")]
    if True in values:  # "小学生はいないけど中学生が1人"
        return True
    if False in values:  # "小学生はいません"
        return False
    if values:  # "小1と中2": naming them is a yes
        return None if _UNSURE.search(text) else True
    if not asked:
        return None
    ages = [int(a) for a in _AGE.findall(text)]
    if ages:
        if any(7 <= a <= 14 for a in ages):
            return True
        if all(a <= 5 or a >= 16 for a in ages):
            return False
        return None
    if _NOT_IN_SCHOOL.search(text):  # "未就学です", "保育園です"
        return False
    return None


def _insurance_answer(text: str) -> bool | None:
    if _NATIONAL.search(text):
        values = {_polarity(s) for s in _scopes(text, "national_health_insurance")}
        return False not in values
    if _OTHER_INSURANCE.search(text):  # "会社の保険です": not 国民健康保険
        return False
    return None


def read_answers(ctx: TurnContext, keys: tuple[str, ...], asked: str | None) -> dict[str, bool]:
    """The questions among `keys` this message answers, with their answers.

    A question back ("犬も登録がいりますか？") answers nothing. `asked` is the question just asked:
    a bare "はい" / "いません" answers it, unless the message names another question's topic.
    """
    if ctx.parse.from_payload:
        return {k: v for k in keys if isinstance(v := ctx.parse.entity(k), bool)}
    text = message_text(ctx).strip()
    if not text or _QUESTION.search(text):
        return {}
    answers: dict[str, bool] = {}
    mentioned: set[str] = set()
    for key in keys:
        if not TOPICS.get(key, re.compile(r"(?!)")).search(text):
            continue
        mentioned.add(key)
        if key == "school_children":
            value = _school_answer(text, asked=asked == key)
        elif key == "national_health_insurance":
            value = _insurance_answer(text)
        else:
            values = {_polarity(s) for s in _scopes(text, key)}
            value = False if False in values else True if True in values else None
        if value is not None:
            answers[key] = value
    if "children" in keys and "children" not in answers and answers.get("school_children") is True:
        answers["children"] = True  # "小学生が1人" says there are children
    if asked in keys and asked not in answers:
        if asked == "school_children" and not mentioned:
            value = _school_answer(text, asked=True)
            if value is not None:
                answers[asked] = value
                return answers
        if not (mentioned - {asked}):  # a bare yes/no answers only the question asked
            value = yes_no(ctx)
            if value is not None:
                answers[asked] = value
    return answers


def extract_origin(ctx: TurnContext, _values: dict[str, Any]) -> bool | None:
    given = ctx.parse.entity("from_abroad")
    if isinstance(given, bool):
        return given
    text = message_text(ctx)
    if any(w in text for w in ("海外", "外国", "国外")):
        return True
    if any(w in text for w in ("国内", "市から", "区から", "町から", "村から", "県から", "ほかの市", "他の市")):
        return False
    return None
