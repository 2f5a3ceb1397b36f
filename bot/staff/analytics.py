"""分析 for supervisors: counts only, no personal data. Messages per day and channel, top intents,
the fallback rate and the unanswered questions (grouped, digits masked, so the FAQ can be improved
from them), the hand-off rate, waiting time and callbacks per department, suggestion uptake.
Charts are SVG drawn here (no JavaScript charting library); everything also as CSV.

The counting reads the period's rows and groups them in Python by the Japan-time day: simple
and the same on SQLite and PostgreSQL; a very busy municipality would move it to SQL.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from bot.http.deps import ServicesDep
from bot.http.schemas import Loose, errors
from bot.staff.console import StaffDep, StaffIdentity
from bot.staff.packet import PAYLOAD_LABELS
from bot.staff.queues import department_names
from bot.store.models import Handoff, Message
from knowledge.callbacks import CallbackTicket
from knowledge.residents import SuggestionRecord

JST = ZoneInfo("Asia/Tokyo")
STATIC = Path(__file__).resolve().parents[1] / "static"
DIGITS = re.compile(r"\d{2,}")
COLORS = {"web": "#3d5a80", "line": "#06c755"}


def _day(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(JST).date().isoformat()


def _mask(text: str) -> str:
    """A question as a group key: NFKC, trimmed, digits masked (phone numbers, dates of birth)."""
    return DIGITS.sub("＊", unicodedata.normalize("NFKC", text).strip())[:60]


def _supervisor(who: StaffIdentity) -> None:
    if who.role != "supervisor":
        raise HTTPException(403, "分析 is for supervisors")


async def figures(services: Any, days: int) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=days)
    async with services.sessionmaker() as s:
        rows = (
            await s.execute(
                select(
                    Message.conversation_id, Message.direction, Message.created_at, Message.channel,
                    Message.intent, Message.text, Message.payload,
                )
                .where(Message.created_at >= since)
                .order_by(Message.conversation_id, Message.id)
            )
        ).all()  # fmt: skip
        handoffs = list(await s.scalars(select(Handoff).where(Handoff.requested_at >= since)))
        tickets = (await s.execute(select(CallbackTicket.department).where(CallbackTicket.created_at >= since))).all()
        offers = (await s.execute(select(SuggestionRecord.status).where(SuggestionRecord.offered_at >= since))).all()
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    intents: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    conversations: set[str] = set()
    typed = 0
    asked: dict[str, bool] = {}  # per conversation: did the bot's last message ask a form question?
    for conversation_id, direction, at, channel, intent, text, payload in rows:
        if direction == "out":
            asked[conversation_id] = _asks_for_answer(payload)
            continue
        per_day[_day(at)][channel] += 1
        if payload:
            continue
        typed += 1
        intents[intent or "?"] += 1
        # an answer to a form's question (a name, an address) is not a question: never listed
        if intent in ("nlu_fallback", "out_of_scope") and text and not asked.get(conversation_id):
            unanswered[_mask(text)] += 1
    names = department_names(services)
    waits: dict[str, list[float]] = defaultdict(list)
    for h in handoffs:
        conversations.add(h.conversation_id)
        if h.taken_at is not None:
            waits[h.department or "?"].append((_aware(h.taken_at) - _aware(h.requested_at)).total_seconds() / 60)
    chats = await _conversation_count(services, since)
    by_dept = Counter(h.department or "?" for h in handoffs)
    callbacks = Counter(d for (d,) in tickets)
    offered = Counter(status for (status,) in offers)
    return {
        "days": days,
        "messages_per_day": [{"day": d, **dict(c)} for d, c in sorted(per_day.items())],
        "top_intents": [
            {"intent": i, "label": _intent_label(services, i), "count": n} for i, n in intents.most_common(10)
        ],
        "fallback_rate": round(intents.get("nlu_fallback", 0) / typed, 4) if typed else 0.0,
        "unanswered": [{"question": q, "count": n} for q, n in unanswered.most_common(30)],
        "handoff_rate": round(len(conversations) / chats, 4) if chats else 0.0,
        "departments": [
            {
                "department": d,
                "name": names.get(d, d),
                "handoffs": by_dept.get(d, 0),
                "mean_wait_minutes": round(sum(waits[d]) / len(waits[d]), 1) if waits.get(d) else None,
                "callbacks": callbacks.get(d, 0),
            }
            for d in sorted(set(by_dept) | set(callbacks))
        ],
        "suggestions": {"offered": sum(offered.values()), "accepted": offered.get("accepted", 0)},
    }


def _intent_label(services: Any, intent: str) -> str:
    catalog = services.knowledge.catalog
    procedure = catalog.get(intent) if catalog is not None else None
    return procedure.title if procedure is not None else PAYLOAD_LABELS.get(intent, intent)


def _asks_for_answer(payload: Any) -> bool:
    """Form questions offer 「やめる」 (/cancel): what the resident types next is an answer."""
    buttons = payload.get("buttons", []) if isinstance(payload, dict) else []
    return any(isinstance(b, dict) and b.get("payload") == "/cancel" for b in buttons)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _conversation_count(services: Any, since: datetime) -> int:
    async with services.sessionmaker() as s:
        rows = await s.execute(select(Message.conversation_id).where(Message.created_at >= since).distinct())
        return len(rows.all())


def bar_chart(title: str, rows: list[tuple[str, dict[str, int]]], series: list[str]) -> str:
    """A stacked bar chart as SVG (presentation attributes only: the page's CSP has no inline styles)."""
    width, height, left, bottom = 640, 220, 40, 40
    peak = max([sum(v.values()) for _, v in rows] + [1])
    step = (width - left - 10) / max(len(rows), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    ]
    parts.append(f'<text x="{left}" y="14" font-size="13" fill="#1b1b1b">{escape(title)}</text>')
    for i, (label, values) in enumerate(rows):
        y: float = height - bottom
        for name in series:
            h = (height - bottom - 24) * values.get(name, 0) / peak
            x = left + i * step + 2
            parts.append(
                f'<rect x="{x:.1f}" y="{y - h:.1f}" width="{max(step - 4, 1):.1f}" height="{h:.1f}" fill="{COLORS.get(name, "#8a5a00")}"><title>{escape(label)} {escape(name)} {values.get(name, 0)}</title></rect>'
            )  # noqa: E501
            y -= h
        parts.append(
            f'<text x="{left + i * step + step / 2:.1f}" y="{height - bottom + 14}" font-size="10" text-anchor="middle" fill="#555">{escape(label[5:])}</text>'
        )  # noqa: E501
    parts.append(
        f'<text x="4" y="{height - bottom}" font-size="10" fill="#555">0</text><text x="4" y="34" font-size="10" fill="#555">{peak}</text>'
    )  # noqa: E501
    for n, name in enumerate(series):
        parts.append(
            f'<rect x="{left + n * 80}" y="{height - 14}" width="10" height="10" fill="{COLORS.get(name, "#8a5a00")}"/><text x="{left + n * 80 + 14}" y="{height - 5}" font-size="11" fill="#1b1b1b">{escape(name)}</text>'
        )  # noqa: E501
    return "".join(parts) + "</svg>"


def hbar_chart(title: str, rows: list[tuple[str, float]]) -> str:
    width, line = 640, 22
    height = 30 + line * max(len(rows), 1)
    peak = max([v for _, v in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    ]
    parts.append(f'<text x="4" y="14" font-size="13" fill="#1b1b1b">{escape(title)}</text>')
    for i, (label, value) in enumerate(rows):
        y = 24 + i * line
        w = (width - 260) * value / peak
        parts.append(f'<text x="4" y="{y + 14}" font-size="11" fill="#1b1b1b">{escape(label[:24])}</text>')
        parts.append(f'<rect x="200" y="{y + 3}" width="{w:.1f}" height="14" fill="#3d5a80"/>')
        parts.append(f'<text x="{204 + w:.1f}" y="{y + 14}" font-size="11" fill="#555">{value:g}</text>')
    return "".join(parts) + "</svg>"


def charts(f: dict[str, Any]) -> dict[str, str]:
    days = [(r["day"], {k: v for k, v in r.items() if k != "day"}) for r in f["messages_per_day"]]
    series = sorted({k for _, v in days for k in v}) or ["web"]
    return {
        "messages": bar_chart("日別・経路別のメッセージ数", days, series),
        "intents": hbar_chart("よくある用件（上位10）", [(r["label"], r["count"]) for r in f["top_intents"]]),
        "departments": hbar_chart("部署別の職員対応件数", [(r["name"], r["handoffs"]) for r in f["departments"]]),
        "waits": hbar_chart(
            "部署別の平均待ち時間（分）", [(r["name"], r["mean_wait_minutes"] or 0) for r in f["departments"]]
        ),
    }


def to_csv(f: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "subkey", "value"])
    for r in f["messages_per_day"]:
        for k, v in r.items():
            if k != "day":
                w.writerow(["messages_per_day", r["day"], k, v])
    for r in f["top_intents"]:
        w.writerow(["top_intents", r["intent"], "", r["count"]])
    w.writerow(["fallback_rate", "", "", f["fallback_rate"]])
    w.writerow(["handoff_rate", "", "", f["handoff_rate"]])
    for r in f["unanswered"]:
        w.writerow(["unanswered", r["question"], "", r["count"]])
    for r in f["departments"]:
        for k in ("handoffs", "mean_wait_minutes", "callbacks"):
            w.writerow(["departments", r["department"], k, r[k]])
    w.writerow(["suggestions", "offered", "", f["suggestions"]["offered"]])
    w.writerow(["suggestions", "accepted", "", f["suggestions"]["accepted"]])
    return out.getvalue()


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/staff/analytics", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "staff-analytics.html", media_type="text/html; charset=utf-8")

    @api.get("/staff/analytics.js", include_in_schema=False)
    async def script() -> FileResponse:
        return FileResponse(STATIC / "staff-analytics.js", media_type="text/javascript; charset=utf-8")

    @api.get("/staff/api/analytics", response_model=Loose, responses=errors(401, 403, 503))
    async def analytics(services: ServicesDep, who: StaffDep, days: int = 14) -> dict[str, Any]:
        """Counts for supervisors (no personal data), with the charts as SVG."""
        _supervisor(who)
        found = await figures(services, max(1, min(days, 366)))
        return {**found, "charts": charts(found)}

    @api.get(
        "/staff/api/analytics.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the figures as CSV"},
                   **errors(401, 403, 422, 503)},
    )  # fmt: skip
    async def analytics_csv(services: ServicesDep, who: StaffDep, days: int = 14) -> Response:
        _supervisor(who)
        body = to_csv(await figures(services, max(1, min(days, 366))))
        headers = {"Content-Disposition": 'attachment; filename="madoguchi-analytics.csv"'}
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

    return api
