"""通報の写真 from the web widget: `POST /webhooks/rest/upload` (multipart: `sender` + `file`).

The file is checked by its content and re-encoded without metadata (knowledge/photos.py), stored
under PHOTO_DIR, and answered with a reference (`{"photo": "<ref>"}`) that the widget's next
message carries (`/report_photo{"photo": "<ref>"}`); the reference works only in the conversation
of that sender. LINE images come through `keep_upload` too (bot/channels/line_media.py).
"""

from __future__ import annotations

import asyncio
import secrets

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from bot.channels.web import SENDER, BadRequest
from bot.engine.services import Services
from bot.http.deps import ServicesDep
from bot.http.schemas import errors
from knowledge import photos
from knowledge.reports import add_upload

READ_LIMIT = photos.MAX_BYTES + 1  # one byte more than allowed tells "too large" apart


class UploadAnswer(BaseModel):
    photo: str  # the reference the next message carries: /report_photo{"photo": "<ref>"}


async def keep_upload(services: Services, conversation_id: str, jpeg: bytes) -> str:
    """Store a cleaned photo and its upload row (bound to the conversation); answer its reference."""
    name = await asyncio.to_thread(photos.store, services.settings.resolved_photo_dir, jpeg)
    ref = secrets.token_hex(16)
    async with services.turn_gate(), services.sessionmaker() as session, session.begin():
        await add_upload(session, ref=ref, conversation_id=conversation_id, file_name=name)
    return ref


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["sender", "file"],
                    "additionalProperties": False,
                    "properties": {
                        "sender": {"type": "string", "pattern": SENDER.pattern},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}
MAX_BODY = photos.MAX_BYTES + 64 * 1024  # the photo and the multipart framing around it


async def _form_parts(request: Request) -> tuple[str, UploadFile]:
    """`sender` and `file`, refusing a body over the limit before it is read (and spooled)."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise BadRequest(411, "a Content-Length is required")
    if int(length) > MAX_BODY:
        raise BadRequest(413, photos.TOO_BIG.message)
    try:
        form = await request.form(max_files=1, max_fields=2)
    except Exception:  # not multipart, or more parts than allowed
        raise BadRequest(422, "the body must be multipart/form-data with 'sender' and 'file'") from None
    unknown = sorted(set(form.keys()) - {"sender", "file"})
    if unknown:
        raise BadRequest(422, "only 'sender' and 'file' are accepted")
    sender, upload = form.get("sender"), form.get("file")
    if not isinstance(sender, str) or not SENDER.match(sender):
        raise BadRequest(422, "'sender' may contain only letters, digits and _.:@- (at most 128)")
    if not isinstance(upload, UploadFile):
        raise BadRequest(422, "'file' is required")
    return sender, upload


def router() -> APIRouter:
    api = APIRouter()

    @api.post(
        "/webhooks/rest/upload",
        response_model=UploadAnswer,
        responses=errors(411, 413, 422, 503),
        openapi_extra=UPLOAD_BODY,
    )
    async def upload(request: Request, services: ServicesDep) -> dict[str, str]:
        """A photo for a 通報, checked by its content (not its name or type), at most 10 MB and 40
        megapixels; SVG, archives, polyglots, truncated files and decompression bombs are refused
        (422 with the reason the resident reads in `error`, 413 for a file over 10 MB)."""
        sender, file = await _form_parts(request)
        data = await file.read(READ_LIMIT)
        await file.close()
        try:
            jpeg = await asyncio.to_thread(photos.clean_jpeg, data)
        except photos.PhotoRejected as exc:
            raise BadRequest(413 if exc.code == "too_large" else 422, exc.message) from None
        return {"photo": await keep_upload(services, f"web:{sender}", jpeg)}

    return api
