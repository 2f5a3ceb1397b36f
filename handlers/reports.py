"""通報 (CONTRACTS §10): a resident reports something broken in the town, with a photo and a place.

The form asks for the category (understood from the words when it can: "街灯が切れてる"), a
photo (optional, but asked), the place (a shared location or a typed address, handlers/report_places)
and a short description (the first message when it already describes the problem), confirms, and
answers a receipt number (`r202612040001`). The department comes from the category's data.

Photos arrive as the payload `/report_photo{"photo": "<ref>"}`: a reference to an upload that the
channel already checked and stored (knowledge/photos.py), valid only in the conversation that sent
it; `{"error": "<code>"}` when the channel could not fetch or accept the image. A photo sent after
the receipt (the resident was asked to resend) joins their latest report that has none.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.forms import Form, Slot
from handlers.report_places import extract_place, place_choices, render_place, report_data, validate_place
from knowledge.reports import NewReport, Report, attach_photo, create_report, find_upload

NO_PHOTO = "none"
NO_PHOTO_WORDS = ("写真なし", "写真はない", "写真はありません", "なし", "ない", "ありません", "撮れない", "撮れません")
LATE_PHOTO = timedelta(hours=24)  # how long after the receipt a resent photo joins the report
PHOTO_ERRORS = {
    "fetch_failed": "申し訳ありません。写真を受け取れませんでした。お手数ですが、もう一度写真を送ってください。",
    "not_image": "写真（JPEG・PNGなどの画像）を送ってください。このファイルは画像として読み取れませんでした。",
    "too_large": "写真のサイズが大きすぎます（10MBまで）。小さくしてもう一度送ってください。",
    "too_many_pixels": "写真の画素数が大きすぎます（4,000万画素まで）。縮小してもう一度送ってください。",
    "broken": "写真のデータが途中で切れているようです。もう一度送ってください。",
}
PHOTO_TAKEN = "report_photo_taken"  # a one-turn flag (TurnContext.flags): this turn's photo payload was read


def _category_from(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    data = report_data(ctx)
    chosen = ctx.parse.entity("category")
    if isinstance(chosen, str) and data.category(chosen) is not None:
        return chosen
    if ctx.parse.from_payload:
        return None
    found = data.category_in(ctx.parse.text)
    form = ctx.state.active_form
    if found is None and form is not None and form.requested_slot == "category" and "その他" in ctx.parse.text:
        return data.fallback.id
    return found.id if found else None


def _category_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(c.name, payload("inform", category=c.id)) for c in report_data(ctx).categories]


def _photo_from(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    if ctx.parse.entity("photo") == NO_PHOTO:
        return NO_PHOTO
    form = ctx.state.active_form
    if ctx.parse.from_payload or form is None or form.requested_slot != "photo":
        return None
    text = unicodedata.normalize("NFKC", ctx.parse.text).strip("。.! ")
    return NO_PHOTO if any(w in text for w in NO_PHOTO_WORDS) and len(text) <= 15 else None


def _photo_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    buttons = [Button("写真なしで進む", payload("inform", photo=NO_PHOTO))]
    if ctx.event.channel == "line":
        buttons += [Button("カメラで撮る", "", url="line:camera"), Button("写真を選ぶ", "", url="line:cameraRoll")]
    return buttons


def _description_from(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    if ctx.parse.from_payload:
        return None
    text = unicodedata.normalize("NFKC", ctx.parse.text).strip()
    return text or None


def _validate_description(_ctx: TurnContext, value: str, _values: dict[str, Any]) -> str | None:
    if len(value) > 500:
        return "内容は500文字以内で、短く教えてください。"
    return None


def _render_photo(value: Any) -> str:
    return "なし" if value == NO_PHOTO else "あり"


class ReportForm(Form):
    name = "report"
    intents = frozenset({"report_issue", "report_photo", "report_location"})
    title = "まちの不具合の通報"
    slots = (
        Slot(
            "category",
            "何についての通報ですか。",
            "種類",
            extract=_category_from,
            choices=_category_choices,
            render=lambda v: v,
            aliases=("種類", "分類", "カテゴリ"),
        ),
        Slot(
            "photo",
            "写真があれば送ってください。状況がわかり、対応が早くなります。",
            "写真",
            extract=_photo_from,
            choices=_photo_choices,
            render=_render_photo,
            aliases=("写真", "画像"),
        ),
        Slot(
            "place",
            "場所を教えてください。位置情報を送るか、町名と番地・目印を入力してください。（例：桜台2-3 桜台公園の入口）",
            "場所",
            extract=extract_place,
            validate=validate_place,
            choices=place_choices,
            render=render_place,
            aliases=("場所", "住所", "位置"),
        ),
        Slot(
            "description",
            "どのような状態か、短く教えてください。（例：直径30cmほどの穴があり、自転車が通ると危ない）",
            "内容",
            extract=_description_from,
            validate=_validate_description,
            free_text=True,
            aliases=("内容", "状態", "説明"),
        ),
    )

    # -- starting ---------------------------------------------------------------------------
    async def start(self, ctx: TurnContext) -> bool:
        if ctx.parse.intent == "report_photo" and await self._late_photo(ctx):
            return False
        data = report_data(ctx)
        intro = "まちの不具合の通報を受け付けます。途中で「やめる」と送ると取りやめられます。"
        ctx.say(f"{intro}\n{data.urgent}" if data.urgent else intro)
        return True

    async def handle(self, ctx: TurnContext) -> None:
        await super().handle(ctx)
        form = ctx.state.active_form
        if form is None or form.name != self.name or ctx.parse.from_payload:
            return
        # "道路に穴が空いていて危ない": the first message already says what is wrong
        if "category" in form.slots and "description" not in form.slots and len(ctx.parse.text) >= 5:
            form.slots["description"] = unicodedata.normalize("NFKC", ctx.parse.text).strip()[:500]

    async def resume(self, ctx: TurnContext) -> None:
        if await self._take_photo(ctx):
            self._form(ctx).awaiting_confirmation = False
            await self._next(ctx)
            return
        await super().resume(ctx)

    async def _next(self, ctx: TurnContext, *, announce_errors: bool = True) -> None:
        await self._take_photo(ctx)
        await super()._next(ctx, announce_errors=announce_errors)

    # -- photos -----------------------------------------------------------------------------
    async def _take_photo(self, ctx: TurnContext) -> bool:
        """A photo payload (once per turn): its upload of this conversation, or the reason the
        channel could not take it. True when it changed the form."""
        form = ctx.state.active_form
        if ctx.parse.intent != "report_photo" or form is None or not ctx.once(PHOTO_TAKEN):
            return False
        error = ctx.parse.entity("error")
        ref = ctx.parse.entity("photo")
        if isinstance(error, str):
            ctx.say(PHOTO_ERRORS.get(error, PHOTO_ERRORS["not_image"]))
            if error == "fetch_failed":  # kept without it: the resident may resend at any time
                form.slots.setdefault("photo", NO_PHOTO)
                ctx.state.data["report_photo_failed"] = True
                return True
            return False
        upload = (
            await find_upload(ctx.db, ref=ref, conversation_id=ctx.event.conversation_id)
            if isinstance(ref, str)
            else None
        )
        if upload is None:
            ctx.say(PHOTO_ERRORS["not_image"])
            return False
        form.slots["photo"] = {"ref": upload.ref}
        ctx.state.data.pop("report_photo_failed", None)
        ctx.say("写真を受け取りました。")
        return True

    async def _late_photo(self, ctx: TurnContext) -> bool:
        """A photo after the receipt joins the conversation's latest report that has none."""
        ref = ctx.parse.entity("photo")
        if not isinstance(ref, str):
            error = ctx.parse.entity("error")
            ctx.say(PHOTO_ERRORS.get(str(error), PHOTO_ERRORS["not_image"]))
            return True
        since = (ctx.services.now() - LATE_PHOTO).astimezone(UTC)  # SQLite keeps UTC without its offset
        report = await ctx.db.scalar(
            select(Report)
            .where(Report.conversation_id == ctx.event.conversation_id, Report.photo.is_(None))
            .where(Report.created_at >= since, Report.status.in_(("received", "in_progress")))
            .order_by(Report.id.desc())
            .limit(1)
        )
        upload = await find_upload(ctx.db, ref=ref, conversation_id=ctx.event.conversation_id)
        if report is None or upload is None:
            return False  # a new report starting with this photo
        await attach_photo(ctx.db, report=report, upload=upload)
        ctx.say(f"受付番号 {report.number} の通報に写真を追加しました。ありがとうございます。")
        return True

    # -- confirmation and receipt -----------------------------------------------------------
    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        data = report_data(ctx)
        category = data.category(str(values.get("category"))) or data.fallback
        lines = [f"種類：{category.name}"]
        if "photo" in values:
            lines.append(f"写真：{_render_photo(values['photo'])}")
        if "place" in values:
            lines.append(f"場所：{render_place(values['place'])}")
        if "description" in values:
            lines.append(f"内容：{values['description']}")
        return lines

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        data = report_data(ctx)
        category = data.category(str(values["category"])) or data.fallback
        place = values["place"]
        report = await create_report(
            ctx.db,
            new=NewReport(
                category=category.id,
                department=category.department,
                description=str(values["description"]),
                channel=ctx.event.channel,
                conversation_id=ctx.event.conversation_id,
                address=place.get("address"),
                town=place.get("town"),
                latitude=place.get("lat"),
                longitude=place.get("lon"),
                place_source=place.get("source"),
            ),
            today=ctx.today,
        )
        photo = values.get("photo")
        if isinstance(photo, dict):
            upload = await find_upload(ctx.db, ref=str(photo.get("ref")), conversation_id=ctx.event.conversation_id)
            if upload is not None:
                await attach_photo(ctx.db, report=report, upload=upload)
        notes = [data.received] if data.received else []
        if self._photo_failed(ctx, values):
            notes.append(
                "写真は受け取れませんでした。このチャットにもう一度写真を送っていただければ、この通報に追加します。"
            )
        ctx.say(
            "通報を受け付けました。ご協力ありがとうございます。",
            card=Card(
                title="通報の受付",
                lines=(f"受付番号：{report.number}", *self.summary_lines(ctx, values), *notes),
                kind="info",
            ),
        )

    @staticmethod
    def _photo_failed(ctx: TurnContext, values: dict[str, Any]) -> bool:
        return values.get("photo") == NO_PHOTO and bool(ctx.state.data.pop("report_photo_failed", None))
