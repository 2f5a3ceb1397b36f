"""Password sign-in for staff accounts: argon2id hashes (argon2-cffi, the reference binding of
the Password Hashing Competition winner, instead of a hand-rolled KDF), server-side sessions in an
httpOnly SameSite=Strict cookie, a CSRF token required on every state change made with that
cookie, and a lockout after repeated failures. The bearer-token API stays for machine clients.

    python -m bot.staff_accounts password tanaka     # sets tanaka's password (read from stdin)

POST /staff/login {"id", "password"} answers {"csrf": …} and sets the cookie; the console sends
the CSRF token back in `X-CSRF-Token`. POST /staff/logout ends the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import DateTime, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.engine.services import Services
from bot.http.deps import ServicesDep
from bot.http.schemas import ErrorBody, LoginRequest, Loose, errors, json_body, read_body
from bot.store.db import Base

COOKIE = "madoguchi_staff_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_PASSWORD = 12
HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY = HASHER.hash("not-a-password-of-anyone")  # equal work for an unknown id: no account probing
SIGN_IN_FAILED = "the id or the password is wrong"
LOCKED = {"model": ErrorBody, "description": "too many failed sign-ins: the account is locked for a while"}


class StaffPassword(Base):
    __tablename__ = "staff_passwords"

    account_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's value
    account_id: Mapped[str] = mapped_column(String(60), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class SessionUser:
    account_id: str
    csrf: str


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# ---- the command line (sync)


class PasswordError(ValueError):
    pass


def set_password(session: Session, account_id: str, password: str) -> None:
    """Set (or replace) the password of an existing account (the caller checked it exists)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD} characters")
    row = session.get(StaffPassword, account_id)
    now = datetime.now(UTC)
    if row is None:
        session.add(
            StaffPassword(account_id=account_id, password_hash=HASHER.hash(password), failures=0, changed_at=now)
        )
    else:
        row.password_hash, row.failures, row.locked_until, row.changed_at = HASHER.hash(password), 0, None, now
    session.execute(delete(StaffSession).where(StaffSession.account_id == account_id))  # signed out everywhere


# ---- the API side


async def session_of_cookie(services: Services, value: str) -> SessionUser | None:
    """The live session behind a cookie value (the console's WebSocket reads it from its handshake)."""
    if not value:
        return None
    async with services.sessionmaker() as s:
        row = await s.get(StaffSession, _digest(value))
        if row is None or (_utc(row.expires_at) or datetime.now(UTC)) <= datetime.now(UTC):
            return None
        return SessionUser(account_id=row.account_id, csrf=row.csrf)


async def session_user(services: Services, request: Request) -> SessionUser | None:
    """The signed-in account of the request's cookie (None: no or no valid session). A state
    change without the session's CSRF token in `X-CSRF-Token` is refused with 403."""
    user = await session_of_cookie(services, request.cookies.get(COOKIE, ""))
    if user is None:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, user.csrf):
            raise HTTPException(403, "a CSRF token is required (X-CSRF-Token)")
    return user


async def _check_password(s: AsyncSession, services: Services, account_id: str, password: str) -> Any:
    # imported here: `python -m bot.staff_accounts` (its own __main__) imports this module too
    from bot.staff.accounts import StaffAccount

    settings = services.settings
    now = datetime.now(UTC)
    account = await s.get(StaffAccount, account_id) if 0 < len(account_id) <= 60 else None
    row = await s.get(StaffPassword, account_id, with_for_update=True) if account is not None else None
    if account is None or row is None or account.disabled_at is not None:
        _verify(_DUMMY, password)
        raise HTTPException(401, SIGN_IN_FAILED)
    locked = _utc(row.locked_until)
    if locked is not None and locked > now:
        raise HTTPException(429, "too many failed sign-ins: try again later")
    if not _verify(row.password_hash, password):
        row.failures += 1
        if row.failures >= settings.staff_login_max_failures:
            row.locked_until, row.failures = now + timedelta(minutes=settings.staff_lockout_minutes), 0
        raise HTTPException(401, SIGN_IN_FAILED)
    row.failures, row.locked_until = 0, None
    if HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = HASHER.hash(password)
    return account


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def start_session(s: AsyncSession, services: Services, account_id: str) -> tuple[str, str]:
    """A new server-side session for `account_id` (password or OIDC sign-in): (cookie value, CSRF)."""
    value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(hours=services.settings.staff_session_hours)
    s.add(StaffSession(id_hash=_digest(value), account_id=account_id, csrf=csrf, created_at=now, expires_at=expires))
    await s.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    return value, csrf


def set_session_cookie(response: Response, request: Request, services: Services, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=services.settings.staff_session_hours * 3600, path="/staff",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(prefix="/staff")

    @api.post("/login", response_model=Loose, responses={**errors(400, 401, 413, 422), 429: LOCKED},
              openapi_extra=json_body(LoginRequest))  # fmt: skip
    async def login(request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
        body = await read_body(request, LoginRequest)
        account_id, password = body.id, body.password
        failed: HTTPException | None = None
        async with services.sessionmaker() as s, s.begin():  # a failure is counted even as it is refused
            try:
                account = await _check_password(s, services, account_id, password)
            except HTTPException as exc:
                failed = exc
            else:
                value, csrf = await start_session(s, services, account.id)
        if failed is not None:
            raise failed
        set_session_cookie(response, request, services, value)
        return {"id": account.id, "name": account.name, "csrf": csrf}

    @api.post("/logout", response_model=Loose, responses=errors(403))
    async def logout(request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
        user = await session_user(services, request)  # 403 without the CSRF token
        if user is not None:
            async with services.sessionmaker() as s, s.begin():
                await s.execute(delete(StaffSession).where(StaffSession.id_hash == _digest(request.cookies[COOKIE])))
        response.delete_cookie(COOKIE, path="/staff")
        return {"status": "signed out"}

    return api


async def sessions_of(s: AsyncSession, account_id: str) -> int:
    return len(list(await s.scalars(select(StaffSession.id_hash).where(StaffSession.account_id == account_id))))
