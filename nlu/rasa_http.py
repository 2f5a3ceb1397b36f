"""The Rasa engine as an alternative interpreter: a Rasa server's `POST /model/parse`.

Rasa 3.6 runs in its own Python 3.10 environment (it pins SQLAlchemy below 2), so the app talks
to it over HTTP. Its answers already have the contract's shape. Rasa gives the intent and its
ranking; the entities the contract defines (date, time, age, count, relation: resolved values
such as an ISO date for 来週の火曜日) come from the embedded extractor, as with the embedded
engine, so the forms work the same with either engine. An entity Rasa itself extracts under
another name is kept.
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
        from nlu.engine import entities_of  # Sudachi + the extractor; no model

        ours = entities_of(text, today)
        names = {e["entity"] for e in ours}
        theirs = [e for e in data.get("entities") or [] if isinstance(e, dict) and e.get("entity") not in names]
        data["entities"] = sorted(theirs + ours, key=lambda e: (int(e.get("start") or 0), str(e.get("entity"))))
        return data

    async def aclose(self) -> None:
        await self._client.aclose()
