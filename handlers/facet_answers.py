"""The facet asked, answered first in one or two sentences from the catalog's fields.

`facet_answer(catalog, proc, facet, text)` says what the catalog knows about that facet of the
procedure, or None when the data has no answer (the caller then says so plainly and offers a
person: nothing here invents a fee, an hour or a deadline). Which facet is asked is the NLU's
text analysis (`nlu.facets.detect_facet`, cues as data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from handlers.dated_hours import day_sentence
from handlers.hours_answers import hours_sentences
from knowledge.catalog import Catalog, Channel, Procedure
from nlu.facets import hours_details

FACET_LABELS = {
    "fee": "費用",
    "hours": "受付の曜日と時間",
    "place": "窓口の場所",
    "documents": "持ち物",
    "who": "手続きができる方",
    "eligibility": "対象になる方",
    "proxy": "代理の方の手続き",
    "online": "オンラインでの手続き",
    "mail": "郵送での手続き",
    "convenience": "コンビニでの取得",
    "deadline": "期限",
    "lost": "なくしたときの手続き",
    "payment": "支払い（支給）の時期",
}


def _yen(amount: int) -> str:
    return "無料" if amount == 0 else f"{amount:,}円"


def _notes_with(proc: Procedure, *words: str) -> list[str]:
    return [n for n in proc.notes if any(w in n for w in words)]


def _channel(catalog: Catalog, ch: Channel, *, fee_prefix: str = "手数料は") -> str:
    parts = [ch.text]
    if ch.fee is not None:
        parts.append(f"{fee_prefix}1通{_yen(ch.fee)}です。")
    if ch.hours is not None:
        parts.append(f"利用できるのは{catalog.hours_label(ch.hours)}です。")
    return "".join(parts)


def _fee(catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    if not proc.fees:
        return None
    fees = "、".join(f.text for f in proc.fees)
    parts = [f"{proc.name}の費用は、{fees}です。"]
    if proc.convenience is not None and proc.convenience.fee is not None:
        parts.append(f"コンビニでは1通{_yen(proc.convenience.fee)}です。")
    parts.extend(_notes_with(proc, "円", "料"))
    return "".join(parts)


def _hours(catalog: Catalog, proc: Procedure, text: str) -> str:
    office = catalog.office_of(proc)
    structured = hours_sentences(catalog.opening(office.hours), hours_details(text))
    if structured is not None:
        parts = [f"{office.name}は、{structured}"]
    else:
        parts = [f"{office.name}の受付は、{catalog.office_hours(proc)}です。"]
    if proc.convenience is not None and proc.convenience.hours is not None:
        parts.append(f"コンビニでは{catalog.hours_label(proc.convenience.hours)}に取得できます。")
    parts.extend(_notes_with(proc, "閉庁", "時間外", "休日"))
    return "".join(parts)


def _named_documents(proc: Procedure, text: str) -> list[str]:
    """Documents of the procedure the question names ("処理券はどこで買えますか"): words of the
    message (kanji or katakana runs) found in a document and not in the procedure's own name."""
    own = proc.title + proc.short
    words = [w for w in re.findall(r"[\u3400-\u9fffァ-ヶー]{2,}", text) if w not in own]
    return [d for d in proc.documents if any(w in d for w in words)]


def _place(catalog: Catalog, proc: Procedure, text: str) -> str:
    office = catalog.office_of(proc)
    named = _named_documents(proc, text)
    if named:  # where to get what the procedure needs, as the catalog says it
        return "、".join(named) + "です。" + f"窓口は{office.name}（{office.where}）です。"
    return f"{office.name}（{office.where}）です。" + "".join(_notes_with(proc, "場所"))


def _documents(_catalog: Catalog, proc: Procedure, _text: str) -> str:
    return "お持ちいただくものは、" + "／".join(proc.documents) + "です。"


def _who(_catalog: Catalog, proc: Procedure, _text: str) -> str:
    return f"対象は、{proc.who}です。" + "".join(_notes_with(proc, "の方は"))


def _proxy(_catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    rules = proc.certificate
    if rules is not None and "proxy" in rules.requesters:
        proxy = rules.requesters["proxy"]
        family = rules.requesters.get("family")
        parts = ["代理の方は、" + "と".join(proxy.documents) + "をお持ちください。"]
        parts.extend(n for n in (proxy.note, family.note if family else "") if n)
        return "".join(parts)
    if any(w in proc.who for w in ("代理", "委任", "ご家族", "葬儀社")):
        return f"手続きができるのは、{proc.who}です。"
    return None


def _online(_catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    return proc.online.text if proc.online is not None else None


def _mail(_catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    if proc.mail is not None:
        return proc.mail.text + (f"送り先：{proc.mail.address}" if proc.mail.address else "")
    notes = _notes_with(proc, "郵送")
    return "".join(notes) or None


def _convenience(catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    if proc.convenience is not None:
        return _channel(catalog, proc.convenience)
    others = [c.text for c in (proc.online, proc.mail) if c is not None and "コンビニ" in c.text]
    return "".join(others + _notes_with(proc, "コンビニ")) or None


def _deadline(_catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    if not proc.deadline:
        return None
    if proc.deadline.endswith(("ます", "ください", "です")):  # already a sentence
        return f"{proc.deadline}。"
    return f"期限は、{proc.deadline}です。"


def _lost(catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    if proc.reissue is not None:
        return _channel(catalog, proc.reissue, fee_prefix="再発行の手数料は")
    return "".join(_notes_with(proc, "紛失", "なくした")) or None


def _payment(_catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    if proc.payment is None:
        return None
    return f"{proc.name}は、{proc.payment.text}"


ANSWERS: dict[str, Callable[[Catalog, Procedure, str], str | None]] = {
    "fee": _fee,
    "hours": _hours,
    "place": _place,
    "documents": _documents,
    "who": _who,
    "eligibility": _who,
    "proxy": _proxy,
    "online": _online,
    "mail": _mail,
    "convenience": _convenience,
    "deadline": _deadline,
    "lost": _lost,
    "payment": _payment,
}


def facet_answer(catalog: Catalog, proc: Procedure, facet: str, text: str = "", day: date | None = None) -> str | None:
    """One or two sentences from the catalog answering `facet` of `proc`, or None (no data); an
    hours question naming a date (`day`) is answered for that date."""
    opening = catalog.opening(catalog.office_of(proc).hours) if facet == "hours" and day is not None else None
    if opening is not None and day is not None:
        return f"{catalog.office_of(proc).name}は、{day_sentence(opening, day)}"
    answer = ANSWERS.get(facet)
    return answer(catalog, proc, text) if answer is not None else None


def no_data_sentence(catalog: Catalog, proc: Procedure, facet: str) -> str:
    label = FACET_LABELS.get(facet, "お尋ねのこと")
    dept = catalog.department_of(proc).name
    return (
        f"{proc.name}の{label}については、こちらの案内には載っていません。"
        f"担当の{dept}にお問い合わせいただくか、職員におつなぎします。"
    )
