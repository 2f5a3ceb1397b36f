"""Staff broadcasts and outreach figures (the console's 一斉のお知らせ page, /staff/broadcasts).

Compose a notice for a segment and see, live, how many residents it reaches with consent and a
preview; a SECOND staff account approves it (four-eyes: not the composer, and never the shared
token, which names nobody); then it is sent, once per resident. Per rule: sent, procedures opened
from a notice's button, opt-outs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, BeforeValidator, Field, StrictBool
from sqlalchemy import func, select

from bot.channels.web import BadRequest
from bot.engine.services import Services
from bot.http.deps import ServicesDep
from bot.http.schemas import ANY_TEXT, TEXT, RequestModel, RowId, errors, json_body, read_body
from bot.outreach import broadcasts as bc
from bot.outreach.send import OutreachRun, notice_reply
from bot.outreach.targets import Notice
from bot.staff.console import StaffDep, StaffIdentity
from bot.store.models import Message
from knowledge.base import required
from knowledge.notices import NoticeOptout, OutreachDelivery, utcnow
from knowledge.suggestions import RuleError


def _json_number(value: Any) -> Any:
    """JSON Schema's integer: 3 or 3.0, never true or "3" (pydantic's lax mode would take both)."""
    if isinstance(value, bool | str):
        raise ValueError("must be a whole number")
    return value


Age = Annotated[int, Ge(0), Le(130), BeforeValidator(_json_number)]
Relation = Literal[
    "head", "spouse", "child", "father", "mother", "grandfather", "grandmother", "grandchild", "sibling", "other"
]  # relation_to_head (CONTRACTS §4)


class MemberIn(RequestModel):
    min_age: Age | None = None
    max_age: Age | None = None
    care_level: StrictBool | None = None  # true, not "true" or 1
    relations: list[Relation] | None = Field(default=None, max_length=12)
    include_self: StrictBool = True


class SegmentIn(RequestModel):
    member: MemberIn = Field(default_factory=MemberIn)
    address_contains: str = Field(default="", max_length=60, pattern=ANY_TEXT)


class PreviewRequest(RequestModel):
    text: str = Field(min_length=1, max_length=1000, pattern=TEXT)
    segment: SegmentIn = Field(default_factory=SegmentIn)


class BroadcastRequest(PreviewRequest):
    title: str = Field(min_length=1, max_length=100, pattern=TEXT)


class PreviewAnswer(BaseModel):
    matched: int
    reach: int
    skipped: dict[str, int]
    preview: str
    message: str


class BroadcastOut(BaseModel):
    id: int
    title: str
    text: str
    segment: dict[str, Any]
    status: Literal["pending", "approved", "sent", "rejected"]
    created_by: str
    created_at: str
    decided_by: str | None
    decided_at: str | None
    sent_at: str | None
    counts: dict[str, Any] | None


class UptakeOut(BaseModel):
    rule: str
    topic: str
    sent: int
    opened: int  # a procedure started from the notice's button within 14 days
    opted_out: int  # opt-outs of the rule's topic (all rules of a topic share them)


def _run(services: Services) -> OutreachRun:
    run = OutreachRun(
        services.settings, services.sessionmaker, list(required(services.knowledge.outreach, "outreach").rules)
    )
    run.writers = dict(services.outbox_writers)
    return run


def _segment(body: PreviewRequest) -> bc.Segment:
    try:
        return bc.Segment.parse(body.segment.model_dump(exclude_none=True))
    except RuleError as exc:
        raise BadRequest(422, f"'segment': {exc}") from None


def _out(b: bc.Broadcast) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": b.id, "title": b.title, "text": b.text, "segment": b.segment, "status": b.status,
        "created_by": b.created_by, "created_at": iso(b.created_at), "decided_by": b.decided_by,
        "decided_at": iso(b.decided_at), "sent_at": iso(b.sent_at), "counts": b.counts,
    }  # fmt: skip


def _preview_text(text: str) -> str:
    notice = Notice(bc.as_rule(0, text), "", None)
    return notice_reply(notice).text


def _approver(who: StaffIdentity, composer: str) -> str:
    if who.shared:
        raise HTTPException(403, "approval needs a personal staff account (four-eyes), not the shared token")
    if who.id == composer:
        raise HTTPException(409, "a second staff member must approve what you composed")
    return who.staff_id("staff")


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")
    auth = errors(401, 403, 503)

    @api.post("/broadcasts/preview", response_model=PreviewAnswer, responses={**auth, **errors(400, 413, 422)},
              openapi_extra=json_body(PreviewRequest))  # fmt: skip
    async def preview(request: Request, services: ServicesDep, _: StaffDep) -> dict[str, Any]:
        body = await read_body(request, PreviewRequest)
        rule = bc.as_rule(0, body.text)
        found = await bc.preview(_run(services), rule, _segment(body), services.now())
        message = (
            f"{found['reach']}人にお送りします。" if found["reach"] else "この条件でお知らせを受け取れる方はいません。"
        )
        return {**found, "preview": _preview_text(body.text), "message": message}

    @api.post("/broadcasts/compose", response_model=BroadcastOut, responses={**auth, **errors(400, 413, 422)},
              openapi_extra=json_body(BroadcastRequest))  # fmt: skip
    async def compose(request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        body = await read_body(request, BroadcastRequest)
        _segment(body)
        row = bc.Broadcast(
            title=body.title.strip(), text=body.text.strip(), segment=body.segment.model_dump(exclude_none=True),
            status="pending", created_by=who.staff_id("staff"), created_at=utcnow(),
        )  # fmt: skip
        async with services.sessionmaker() as s, s.begin():
            s.add(row)
        return _out(row)

    @api.get("/broadcasts", response_model=list[BroadcastOut], responses=auth)
    async def listing(services: ServicesDep, _: StaffDep) -> list[dict[str, Any]]:
        async with services.sessionmaker() as s:
            rows = await s.scalars(select(bc.Broadcast).order_by(bc.Broadcast.id.desc()).limit(100))
            return [_out(b) for b in rows]

    @api.post("/broadcasts/{broadcast_id}/approve", response_model=BroadcastOut, responses={**auth, **errors(404, 409)})
    async def approve(broadcast_id: RowId, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        async with services.sessionmaker() as s, s.begin():
            row = await _pending(s, broadcast_id)
            row.status, row.decided_by, row.decided_at = "approved", _approver(who, row.created_by), utcnow()
        await send_approved(services, row.id)
        async with services.sessionmaker() as s:
            return _out(await s.get(bc.Broadcast, broadcast_id))  # type: ignore[arg-type]

    @api.post("/broadcasts/{broadcast_id}/reject", response_model=BroadcastOut, responses={**auth, **errors(404, 409)})
    async def reject(broadcast_id: RowId, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        async with services.sessionmaker() as s, s.begin():
            row = await _pending(s, broadcast_id)
            row.status, row.decided_by, row.decided_at = "rejected", who.staff_id("staff"), utcnow()
            return _out(row)

    @api.get("/outreach/uptake", response_model=list[UptakeOut], responses=auth)
    async def uptake(services: ServicesDep, _: StaffDep) -> list[dict[str, Any]]:
        return await uptake_figures(services)

    return api


async def _pending(s: Any, broadcast_id: int) -> bc.Broadcast:
    row = await s.get(bc.Broadcast, broadcast_id, with_for_update=True)
    if row is None:
        raise HTTPException(404, "no such broadcast")
    if row.status != "pending":
        raise HTTPException(409, f"this broadcast is already {row.status}")
    return row


async def send_approved(services: Services, broadcast_id: int | None = None) -> int:
    """Send approved broadcasts (one, or every one waiting for the end of quiet hours)."""
    sent = 0
    async with services.sessionmaker() as s:
        query = select(bc.Broadcast.id).where(bc.Broadcast.status == "approved")
        if broadcast_id is not None:
            query = query.where(bc.Broadcast.id == broadcast_id)
        ids = list(await s.scalars(query))
    for bid in ids:
        run = _run(services)
        async with services.sessionmaker() as s:
            row = await s.get(bc.Broadcast, bid)
            counts = await bc.send(run, row, services.now()) if row is not None else None  # type: ignore[arg-type]
        if counts is None:
            continue
        async with services.sessionmaker() as s, s.begin():
            row = await s.get(bc.Broadcast, bid)
            if row is not None and row.status == "approved":
                row.status, row.sent_at, row.counts = "sent", utcnow(), counts
                sent += 1
        for _rule, channel, sender, reply in run.written:
            await services.deliver(channel, sender, [reply])
    return sent


async def uptake_figures(services: Services) -> list[dict[str, Any]]:
    book = required(services.knowledge.outreach, "outreach")
    out = []
    async with services.sessionmaker() as s:
        for rule in book.rules:
            intents = [b.payload[1:].split("{", 1)[0] for b in rule.buttons]
            sent_rows = (await s.execute(
                select(OutreachDelivery.conversation_id, OutreachDelivery.created_at).where(OutreachDelivery.rule_id == rule.id)
            )).all()  # fmt: skip
            opened = 0
            for conversation_id, at in sent_rows:
                hit = await s.scalar(
                    select(Message.id).where(
                        Message.conversation_id == conversation_id, Message.direction == "in",
                        Message.intent.in_(intents or ["-"]), Message.created_at >= at,
                        Message.created_at <= at + timedelta(days=14),
                    ).limit(1)
                )  # fmt: skip
                opened += hit is not None
            opted = await s.scalar(select(func.count(NoticeOptout.id)).where(NoticeOptout.topic == rule.topic))
            out.append(
                {
                    "rule": rule.id,
                    "topic": rule.topic,
                    "sent": len(sent_rows),
                    "opened": opened,
                    "opted_out": opted or 0,
                }
            )
    return out
