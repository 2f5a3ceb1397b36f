"""The Rasa engine as an alternative interpreter: a Rasa server's `POST /model/parse`.

Rasa 3.6 runs in its own Python 3.10 environment (it pins SQLAlchemy below 2), so the app talks
to it over HTTP. Its answers already have the contract's shape.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx


class RasaUnavailable(RuntimeError):
    pass


class RasaHTTPInterpreter:
    def __init__(self, base_url: str, *, timeout: float = 5.0, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def parse(self, text: str, *, today: date | None = None) -> dict[str, Any]:
        try:
            response = await self._client.post("/model/parse", json={"text": text})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"rasa server error: {exc.__class__.__name__}") from exc
        data: dict[str, Any] = response.json()
        return data

    async def aclose(self) -> None:
        await self._client.aclose()
