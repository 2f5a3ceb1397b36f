"""Operational endpoints: liveness, readiness, and the NLU's Rasa-compatible `/model/parse`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.channels.web import BadRequest, UTF8JSONResponse
from bot.engine import metrics
from bot.engine.services import SchemaNotReady
from bot.http.deps import ServicesDep
from bot.http.schemas import ParseAnswer, ParseRequest, ReadyAnswer, StatusAnswer, errors, json_body, read_body

router = APIRouter()


@router.get("/healthz", response_model=StatusAnswer)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", response_model=ReadyAnswer, responses={503: {"model": ReadyAnswer, "description": "a check failed"}}
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await services.check_database()
        checks["database"] = "ok"
    except SchemaNotReady as exc:
        checks["database"] = f"error: {exc}"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"error: {exc.__class__.__name__}"
    checks["state"] = checks["database"]  # the conversation state is a column of the database
    checks["nlu"] = "ok" if services.interpreter is not None else "missing"
    ready = all(v == "ok" for v in checks.values())
    busy = metrics.in_flight() > services.settings.max_turns_in_flight  # this worker: send traffic elsewhere
    live: dict[str, str] = {}
    if services.redis is not None:  # only live wake-ups use Redis: without it workers poll, still ready
        try:
            await services.redis.ping()
            live["redis"] = "ok"
        except Exception as exc:
            live["redis"] = f"degraded: {exc.__class__.__name__}"
    return JSONResponse(
        {
            "status": "ready" if ready and not busy else ("saturated" if ready else "unavailable"),
            "checks": checks,
            "live": live,
            "capacity": "saturated" if busy else "ok",
        },
        status_code=200 if ready and not busy else 503,
    )


@router.post(
    "/model/parse",
    response_model=ParseAnswer,
    responses=errors(400, 413, 422, 503),
    openapi_extra=json_body(ParseRequest),
)
async def model_parse(request: Request, services: ServicesDep) -> JSONResponse:
    body = await read_body(request, ParseRequest)
    if len(body.text) > services.settings.max_message_chars:
        raise BadRequest(422, f"'text' is longer than {services.settings.max_message_chars} characters")
    return UTF8JSONResponse(await services.interpreter.parse(body.text, today=body.today))
