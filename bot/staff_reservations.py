"""Staff console API, read-only: the reservations residents made in chat (粗大ごみ, 一時預かり, 施設, 介護).

`GET /staff/api/reservations?kind=&date=&date_from=&date_to=&status=` answers a JSON list, by service
date then number. It carries what the resident gave (address, the topic of a care consultation) for
the staff who serve them, so it sits behind the staff sign-in (a personal account's token or the shared
STAFF_TOKEN) like the rest of the console. It only reads, so it records no staff id.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException

from bot.deps import ServicesDep
from bot.staff import StaffDep
from knowledge.bookings import PREFIXES, list_reservations, reservation_dict


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")

    @api.get("/reservations")
    async def reservations(
        services: ServicesDep,
        _: StaffDep,
        kind: str | None = None,
        date: date | None = None,  # noqa: A002 - the query parameter's public name
        date_from: date | None = None,
        date_to: date | None = None,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        if kind and kind not in PREFIXES:
            raise HTTPException(422, f"kind must be one of {sorted(PREFIXES)}")
        if date is not None:
            date_from = date_to = date
        async with services.sessionmaker() as session:
            rows = await list_reservations(
                session, kind=kind or None, date_from=date_from, date_to=date_to, status=status or None
            )
            return [reservation_dict(r) for r in rows]

    return api
