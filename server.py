"""madoguchi HTTP server: the app factory and entry point.

`create_app(settings)` builds every dependency inside the app's lifespan (no import-time engines
or settings), so tests and workers each get their own. `python server.py` and
`uvicorn server:app` both run it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.channels import line, pages, uploads, web
from bot.channels.web import BadRequest
from bot.engine import identity
from bot.engine.assembly import build_dispatcher
from bot.engine.interpreters import build_interpreter
from bot.engine.locks import LockTimeout
from bot.engine.services import build_services
from bot.engine.state import StateStoreError
from bot.http import metrics_endpoint, workers
from bot.http import ops as api
from bot.http.schemas import install_openapi
from bot.http.web_security import SecurityHeaders
from bot.logs import configure
from bot.outreach.scheduler import OutreachScheduler
from bot.secret_key import ConfigurationError, resolve_secret_key
from bot.settings import Settings
from bot.staff import analytics as staff_analytics
from bot.staff import broadcasts as staff_broadcasts
from bot.staff import callbacks as staff_callbacks
from bot.staff import console as staff
from bot.staff import oidc as staff_oidc
from bot.staff import reports as staff_reports
from bot.staff import reservations as staff_reservations
from bot.staff import residents as staff_residents
from bot.staff import sessions as staff_sessions
from bot.staff import work as staff_work
from bot.store.db import migrate
from knowledge.loader import load_knowledge
from nlu.interpreter import Interpreter
from nlu.rasa_http import RasaUnavailable

log = logging.getLogger("madoguchi")


def create_app(settings: Settings | None = None, *, interpreter: Interpreter | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.database_url:  # embedded SQLite: one process, safe to bring the schema up to date
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(migrate, settings.resolved_database_url)
        services = build_services(settings, interpreter or build_interpreter(settings))
        services.resolve_resident = identity.make_resolver(services.sessionmaker, demo_mode=settings.demo_mode)
        await services.hub.start()
        services.senders["web"] = partial(web.deliver, services)
        load_knowledge(services)
        app.state.services = services
        app.state.dispatcher = build_dispatcher(services)  # with the language hook (CONTRACTS §9)
        # LINE workers + outbox (a processing child of its own on PostgreSQL, unless a test injected the NLU)
        await line.start_channel(app, services, app.state.dispatcher, own_interpreter=interpreter is None)
        app.state.outreach = OutreachScheduler(services)  # notices (CONTRACTS §7), claimed once
        app.state.outreach.start()
        # What start-up made (the NLU model, the knowledge, compiled statements: long-lived) moves out
        # of the collector's generations: a full collection then walks only what serving made,
        # instead of stopping the process for ~0.5 s now and then (bench/PROFILE.md, LINE).
        gc.freeze()
        log.info("madoguchi started", extra={"database": settings.resolved_database_url.split(":")[0]})
        try:
            yield
        finally:
            await app.state.outreach.stop()
            await line.stop_channel(app)
            await services.close()

    app = FastAPI(title="madoguchi", version="0.1.0", lifespan=lifespan)
    _install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(SecurityHeaders, widget_frame_ancestors=settings.widget_frame_ancestors)
    app.include_router(api.router)
    app.include_router(web.router())
    app.include_router(line.router())
    app.include_router(pages.router())
    app.include_router(staff.router())
    app.include_router(staff.console_websocket())
    app.include_router(staff_reservations.router())
    app.include_router(staff_residents.router())
    app.include_router(staff_broadcasts.router())
    app.include_router(staff_reports.router())  # 通報 (CONTRACTS §10)
    app.include_router(uploads.router())  # 通報の写真 from the widget
    app.include_router(staff_work.router())
    app.include_router(staff_callbacks.router())
    app.include_router(staff_sessions.router())
    app.include_router(staff_oidc.router())  # optional OIDC sign-in (off unless OIDC_* are set)
    app.include_router(staff_analytics.router())
    app.include_router(metrics_endpoint.router())
    if settings.worker_header:
        workers.add_worker_header(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    def error(status: int, reason: str) -> JSONResponse:
        return JSONResponse({"error": reason}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        return error(422, f"'{where}': {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # one error shape; `detail` repeats it for clients written against FastAPI's default
        return JSONResponse(
            {"error": exc.detail, "detail": exc.detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return error(exc.status, exc.reason)

    @app.exception_handler(StateStoreError)
    async def state_down(_: Request, exc: StateStoreError) -> JSONResponse:
        log.error("state store unavailable", extra={"reason": str(exc)})
        return error(503, "conversation state is unavailable; please retry shortly")

    @app.exception_handler(RedisError)
    async def redis_down(_: Request, exc: RedisError) -> JSONResponse:
        log.error("redis unavailable", extra={"kind": exc.__class__.__name__})
        return error(503, "a coordination service is unavailable; please retry shortly")

    @app.exception_handler(LockTimeout)
    async def busy(_: Request, exc: LockTimeout) -> JSONResponse:
        res = error(503, "the conversation is busy with an earlier message; please retry")
        res.headers["Retry-After"] = "2"
        return res

    @app.exception_handler(RasaUnavailable)
    async def nlu_down(_: Request, exc: RasaUnavailable) -> JSONResponse:
        log.error("nlu server unavailable", extra={"reason": str(exc)})
        return error(503, "the language understanding service is unavailable; please retry shortly")

    from sqlalchemy.exc import DBAPIError, OperationalError

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_down(_: Request, exc: Any) -> JSONResponse:
        log.error("database error", extra={"kind": exc.__class__.__name__})
        return error(503, "the database is unavailable; please retry shortly")


def app_factory() -> FastAPI:
    settings = Settings()
    configure(settings.log_level)
    return create_app(settings)


def main() -> None:
    import uvicorn

    settings = Settings()
    configure(settings.log_level)
    try:
        resolve_secret_key(settings)  # refuse here with one clear line, before uvicorn starts
    except ConfigurationError as exc:
        sys.exit(f"madoguchi: not starting: {exc}")
    caveat = workers.caveat(settings)
    if caveat:
        log.warning("several workers in the embedded mode", extra={"caveat": caveat})
    workers.prepare_embedded(settings)  # SQLite: migrated once, before the workers
    workers.prepare_metrics_dir(settings)  # several workers: shared metrics files, emptied now
    workers.prepare_nlu_model(settings)  # trained (if needed) in a process of its own, before the app
    if settings.workers > 1:  # the supervising parent without the app's modules (bot/http/supervise.py)
        sys.stdout.flush()
        sys.stderr.flush()
        here = os.path.dirname(os.path.abspath(__file__))  # `bot` is found from any working directory
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
        os.execve(sys.executable, [sys.executable, "-m", "bot.http.supervise"], env)
    # An import string and a factory: the app is built from the environment, as each worker does.
    uvicorn.run(
        "server:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
    )


def __getattr__(name: str) -> Any:
    # `uvicorn server:app` asks for `app`; build it on that request, never at import time.
    if name == "app":
        return app_factory()
    raise AttributeError(name)


if __name__ == "__main__":
    main()
