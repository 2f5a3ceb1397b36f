"""LINE image and location messages for 通報 (CONTRACTS §10).

An image message carries no picture: its content is fetched from the Messaging API's content
endpoint (`AsyncMessagingApiBlob.get_message_content`, on api-data.line.me, or LINE_API_BASE_URL
when that points at a stand-in), retried on timeouts, 5xx and 429, checked and re-encoded without
metadata (knowledge/photos.py) and stored before the turn; the turn then sees the payload
`/report_photo{"photo": "<ref>"}`, or `{"error": "<code>"}` when it could not be fetched or is
not an acceptable image (the form keeps the report without it and asks the resident to resend).
A location message becomes `/report_location{"latitude": …, "longitude": …}`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApiBlob, Configuration
from linebot.v3.messaging.exceptions import ApiException

from bot.channels.line_outbox import LineTuning
from bot.channels.uploads import keep_upload
from bot.engine.services import Services
from bot.engine.turn import payload
from bot.settings import Settings
from knowledge import photos

log = logging.getLogger(__name__)

LINE_API = "https://api.line.me"
LINE_DATA_API = "https://api-data.line.me"  # where LINE serves message contents
FETCH_ATTEMPTS = 3
PHOTO_TEXT = "（写真）"
LOCATION_TEXT = "（位置情報）"


def data_host(settings: Settings) -> str:
    base = settings.line_api_base_url.rstrip("/")
    return LINE_DATA_API if base == LINE_API else base


def location_payload(message: Any) -> str:
    return payload("report_location", latitude=float(message.latitude), longitude=float(message.longitude))


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status == 429 or (exc.status or 0) >= 500
    return isinstance(exc, (TimeoutError, aiohttp.ClientError, OSError))


class LineContent:
    """Fetches message contents with the SDK's blob client, retrying what may succeed later."""

    def __init__(self, settings: Settings, tuning: LineTuning) -> None:
        config = Configuration(host=data_host(settings), access_token=settings.line_channel_access_token)
        self._client = AsyncApiClient(config)
        self.blob = AsyncMessagingApiBlob(self._client)
        self.tuning = tuning

    async def fetch(self, message_id: str) -> bytes | None:
        for attempt in range(FETCH_ATTEMPTS):
            try:
                data = await self.blob.get_message_content(message_id, _request_timeout=self.tuning.request_timeout)
                return bytes(data)
            except Exception as exc:
                if not _transient(exc) or attempt == FETCH_ATTEMPTS - 1:
                    log.warning(
                        "LINE content fetch failed", extra={"error": type(exc).__name__, "attempt": attempt + 1}
                    )
                    return None
                await asyncio.sleep(min(self.tuning.backoff_base * 2**attempt, self.tuning.backoff_cap))
        return None

    async def photo_payload(self, services: Services, conversation_id: str, message_id: str) -> str:
        """Fetch, check, store: the payload the turn sees."""
        data = await self.fetch(message_id)
        if data is None:
            return payload("report_photo", error="fetch_failed")
        try:
            jpeg = await asyncio.to_thread(photos.clean_jpeg, data)
        except photos.PhotoRejected as exc:
            log.info("LINE image refused", extra={"reason": exc.code})
            return payload("report_photo", error=exc.code)
        return payload("report_photo", photo=await keep_upload(services, conversation_id, jpeg))

    async def close(self) -> None:
        await self._client.close()
