"""Staff console API: the reservations residents made in chat (粗大ごみ, 一時預かり, 施設, 介護, 窓口予約).

A 窓口予約 (`kind=counter_visit`) belongs to the department it was booked with (its resource), the
others to their kind's department in the catalog; staff see and cancel only their departments'.

`GET /staff/api/reservations?kind=&date=&date_from=&date_to=&status=` answers a JSON list, by service
date then number. It carries what the resident gave (address, the topic of a care consultation) for
the staff who serve them, so it sits behind the staff sign-in (a personal account's token or the shared
STAFF_TOKEN) like the rest of the console.

`GET /staff/api/reservations/{number}` finds one by its number (as residents read it out on the
phone: "s-20261201-0003", full-width digits …). `POST /staff/api/reservations/{number}/cancel`
with `{"reason": "…"}` cancels it for a resident who called (the chat's own cancellation keeps to
the deadlines in the data; staff decide themselves): the place is freed, the staff id (the
account's, or the declared one with the shared token) and the reason are kept in the reservation's
details, and a linked resident's history records it. 404 for an unknown number, 409 when it was
already cancelled.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request

from bot.http.deps import ServicesDep
from bot.http.schemas import CancelRequest, IsoDate, Loose, errors, json_body
from bot.staff.console import StaffDep, read_staff_body
from knowledge.bookings import (
    CANCELLED,
    ReservationKind,
    cancel_reservation,
    find_number,
    get_reservation,
    list_reservations,
    reservation_dict,
)
from knowledge.profile import record_cancellation, reservation_department

log = logging.getLogger(__name__)


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")

    @api.get("/reservations", response_model=list[Loose], responses={**errors(401, 403, 503), **errors(422)})
    async def reservations(
        services: ServicesDep,
        who: StaffDep,
        kind: ReservationKind | None = None,
        date: IsoDate | None = None,  # noqa: A002 - the query parameter's public name
        date_from: IsoDate | None = None,
        date_to: IsoDate | None = None,
        status: Literal["confirmed", "cancelled"] | None = None,
    ) -> list[dict[str, Any]]:
        if date is not None:
            date_from = date_to = date
        async with services.sessionmaker() as session:
            rows = await list_reservations(
                session, kind=kind or None, date_from=date_from, date_to=date_to, status=status or None
            )
            catalog = services.knowledge.catalog  # staff see their own departments' bookings (§8)
            return [reservation_dict(r) for r in rows if who.can_see(reservation_department(catalog, r))]

    @api.get("/reservations/{number}", response_model=Loose, responses={**errors(401, 403, 503), **errors(404)})
    async def reservation(number: str, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        async with services.sessionmaker() as session:
            found = await get_reservation(session, number=_canonical(number))
            if found is None:
                raise HTTPException(404, "no reservation with this number")
            who.ensure_can_see(reservation_department(services.knowledge.catalog, found))
            return reservation_dict(found)

    @api.post(
        "/reservations/{number}/cancel",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(CancelRequest),
    )
    async def cancel(number: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        body = await read_staff_body(request, CancelRequest, who)
        reason, staff_id = body.reason, who.staff_id(body.staff_id)
        async with services.sessionmaker() as session, session.begin():
            found = await get_reservation(session, number=_canonical(number))
            if found is None:
                raise HTTPException(404, "no reservation with this number")
            who.ensure_can_see(reservation_department(services.knowledge.catalog, found))
            if found.status == CANCELLED:
                raise HTTPException(409, "this reservation is already cancelled")
            await cancel_reservation(session, number=found.number)
            found.details = {
                **(found.details or {}),
                "cancellation": {"by": f"staff:{staff_id}", "reason": reason.strip()},
            }
            await record_cancellation(
                session,
                catalog=services.knowledge.catalog,
                kind=found.kind,
                number=found.number,
                residents={found.resident_id} if found.resident_id else set(),
                conversation_id=found.conversation_id,
                channel="staff",
                by=f"staff:{staff_id}",
            )
            await session.flush()
            result = reservation_dict(found)
        log.info("reservation cancelled by staff", extra={"kind": result["kind"], "number": result["number"]})
        return result

    return api


def _canonical(number: str) -> str:
    return find_number(number) or number.strip()
