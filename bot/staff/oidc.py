"""OIDC sign-in for the staff console (the municipality's identity provider), beside the password.

On when OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_REDIRECT_URL are set (OIDC_CLIENT_SECRET for a
confidential client); otherwise its routes answer 404 and the console shows no such button.

    GET /staff/oidc/login     -> 302 to the provider's authorization endpoint: Authorization Code
                                 flow with PKCE (S256), a fresh `state` and `nonce`
    GET /staff/oidc/callback  <- the provider sends the browser back with `code` and `state`

`state`, `nonce` and the PKCE verifier travel in a short-lived cookie (10 minutes, httpOnly,
SameSite=Lax so that the provider's redirect brings it back, path /staff/oidc) signed with the
server's SECRET_KEY, so no server-side row is needed and a forged or swapped one is refused. The
code is exchanged at the token endpoint (client_secret_basic, with the verifier); the ID token is
verified with joserfc: RS256 only, a key of the provider's JWKS (discovery `jwks_uri`), `iss` the
configured issuer, `aud` our client id, `exp`/`iat` (60 s leeway) and the `nonce` of this sign-in.

The claim OIDC_ACCOUNT_CLAIM (default `preferred_username`) must equal the id of an existing,
enabled staff account (`python -m bot.staff_accounts add …`): the account keeps its role and
departments. Nobody is created here, least of all a supervisor: an unknown user gets a page saying
so. Then the same server-side session cookie as the password sign-in (bot/staff/sessions.py).
Routes are browser pages (redirects, HTML), outside the OpenAPI schema like /staff itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from bot.engine.services import Services
from bot.http.deps import ServicesDep
from bot.http.schemas import Loose
from bot.settings import Settings
from bot.staff.sessions import set_session_cookie, start_session

log = logging.getLogger(__name__)

FLOW_COOKIE = "madoguchi_oidc_flow"
FLOW_SECONDS = 600
LEEWAY_SECONDS = 60
DISCOVERY_TTL = 300.0  # discovery and JWKS are re-read this often (a provider rotates keys)
TIMEOUT = 10.0


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_url)


class SignInRefused(Exception):
    """A sign-in that must not go on; `reason` is for the log (never a token or a claim value)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


# ---- the provider: discovery and keys, cached for a few minutes
class Provider:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, transport=self.transport, follow_redirects=False)

    async def _json(self, url: str, *, fresh: bool = False) -> dict[str, Any]:
        cached = self._cache.get(url)
        if cached is not None and not fresh and time.monotonic() - cached[0] < DISCOVERY_TTL:
            return cached[1]
        async with self.client() as http:
            res = await http.get(url)
        if res.status_code != 200:
            raise SignInRefused(f"provider answered {res.status_code} for a discovery or key document", 502)
        body = res.json()
        if not isinstance(body, dict):
            raise SignInRefused("provider sent a document that is not an object", 502)
        self._cache[url] = (time.monotonic(), body)
        return body

    async def discovery(self) -> dict[str, Any]:
        issuer = self.settings.oidc_issuer.rstrip("/")
        doc = await self._json(f"{issuer}/.well-known/openid-configuration")
        if doc.get("issuer", "").rstrip("/") != issuer:  # OIDC Discovery §4.3
            raise SignInRefused("discovery issuer differs from OIDC_ISSUER", 502)
        return doc

    async def keys(self, *, fresh: bool = False) -> KeySet:
        doc = await self.discovery()
        return KeySet.import_key_set(await self._json(str(doc["jwks_uri"]), fresh=fresh))  # type: ignore[arg-type]


# ---- the signed flow cookie
def _sign(secret: bytes, data: dict[str, Any]) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    mac = hmac.new(secret, b"oidc-flow." + raw.encode(), hashlib.sha256).hexdigest()
    return f"{raw}.{mac}"


def _unsign(secret: bytes, value: str) -> dict[str, Any] | None:
    raw, _, mac = value.rpartition(".")
    expected = hmac.new(secret, b"oidc-flow." + raw.encode(), hashlib.sha256).hexdigest()
    if not raw or not hmac.compare_digest(mac, expected):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or int(data.get("exp", 0)) < time.time():
        return None
    return data


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# ---- the ID token
async def verify_id_token(provider: Provider, id_token: str, nonce: str) -> dict[str, Any]:
    settings = provider.settings
    try:
        try:
            token = jwt.decode(id_token, await provider.keys(), algorithms=["RS256"])
        except JoseError:
            token = jwt.decode(id_token, await provider.keys(fresh=True), algorithms=["RS256"])  # rotated keys
        JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.oidc_issuer.rstrip("/")},
            aud={"essential": True, "value": settings.oidc_client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise SignInRefused(f"ID token refused: {type(exc).__name__}", 401) from None
    claims = dict(token.claims)
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise SignInRefused("ID token refused: azp", 401)  # OIDC Core §3.1.3.7 (6)
    return claims


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = (
        f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<link rel="stylesheet" href="/static/staff.css"></head><body class="oidc-page"><main>'
        f'<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p><p><a href="/staff">職員コンソールへ戻る</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def provider_of(services: Services, request: Request) -> Provider:
    found = getattr(request.app.state, "oidc_provider", None)
    if not isinstance(found, Provider) or found.settings is not services.settings:
        found = Provider(services.settings, getattr(request.app.state, "oidc_transport", None))
        request.app.state.oidc_provider = found
    return found


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/oidc")

    @api.get("/status", response_model=Loose)
    async def status(services: ServicesDep) -> dict[str, Any]:
        """Whether the console offers the OIDC sign-in (no secret in it)."""
        return {"enabled": enabled(services.settings)}

    @api.get("/login", include_in_schema=False)
    async def login(request: Request, services: ServicesDep) -> Response:
        settings = services.settings
        if not enabled(settings):
            raise HTTPException(404, "OIDC sign-in is not configured")
        provider = provider_of(services, request)
        try:
            doc = await provider.discovery()
        except (SignInRefused, httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("oidc discovery failed", extra={"error": type(exc).__name__})
            return _page(
                "サインインできません", "認証サーバーに接続できませんでした。時間をおいてお試しください。", 502
            )
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = urlencode({
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": settings.oidc_redirect_url,
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        })  # fmt: skip
        response = RedirectResponse(f"{doc['authorization_endpoint']}?{query}", status_code=302)
        flow = {"state": state, "nonce": nonce, "verifier": verifier, "exp": int(time.time()) + FLOW_SECONDS}
        response.set_cookie(
            FLOW_COOKIE, _sign(services.secret_key, flow), max_age=FLOW_SECONDS, path="/staff/oidc",
            httponly=True, samesite="lax", secure=request.url.scheme == "https",
        )  # fmt: skip
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.get("/callback", include_in_schema=False)
    async def callback(request: Request, services: ServicesDep, code: str = "", state: str = "") -> Response:
        if not enabled(services.settings):
            raise HTTPException(404, "OIDC sign-in is not configured")
        try:
            account = await _sign_in(request, services, code, state)
        except SignInRefused as exc:
            log.warning("oidc sign-in refused", extra={"reason": exc.reason})
            if exc.status == 403:
                response: Response = _page(
                    "このアカウントは登録されていません",
                    "認証はできましたが、このIDの職員アカウントがありません。管理者に登録を依頼してください。",
                    403,
                )
            else:
                response = _page(
                    "サインインできませんでした", "もう一度「組織のIDでログイン」からお試しください。", exc.status
                )
            response.delete_cookie(FLOW_COOKIE, path="/staff/oidc")
            return response
        async with services.sessionmaker() as s, s.begin():
            value, _csrf = await start_session(s, services, account)
        log.info("staff signed in with oidc")
        # a page of our own that moves on: the session cookie is SameSite=Strict, and a navigation
        # begun at the provider would not carry it to /staff
        response = _page("サインインしました", "職員コンソールへ移動します。", 200)
        response.headers["Refresh"] = "0; url=/staff"
        set_session_cookie(response, request, services, value)
        response.delete_cookie(FLOW_COOKIE, path="/staff/oidc")
        return response

    return api


async def _sign_in(request: Request, services: Services, code: str, state: str) -> str:
    """The account id of a completed sign-in, or SignInRefused."""
    settings = services.settings
    flow = _unsign(services.secret_key, request.cookies.get(FLOW_COOKIE, ""))
    if flow is None:
        raise SignInRefused("no or an expired sign-in in progress")
    if not state or not hmac.compare_digest(state, str(flow.get("state", ""))):
        raise SignInRefused("state mismatch")
    if request.query_params.get("error") or not code or len(code) > 2048:
        raise SignInRefused("no code")
    provider = provider_of(services, request)
    try:
        doc = await provider.discovery()
        async with provider.client() as http:
            res = await http.post(
                str(doc["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": settings.oidc_redirect_url,
                    "code_verifier": str(flow["verifier"]),
                    "client_id": settings.oidc_client_id,
                },
                auth=httpx.BasicAuth(settings.oidc_client_id, settings.oidc_client_secret)
                if settings.oidc_client_secret
                else httpx.USE_CLIENT_DEFAULT,
                headers={"Accept": "application/json"},
            )
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise SignInRefused(f"token request failed: {type(exc).__name__}", 502) from None
    body = res.json() if res.headers.get("content-type", "").startswith("application/json") else {}
    id_token = body.get("id_token") if res.status_code == 200 and isinstance(body, dict) else None
    if not isinstance(id_token, str):
        raise SignInRefused(f"token endpoint answered {res.status_code} without an ID token", 401)
    claims = await verify_id_token(provider, id_token, str(flow["nonce"]))
    return await _account_for(services, claims.get(settings.oidc_account_claim))


async def _account_for(services: Services, value: Any) -> str:
    from bot.staff.accounts import StaffAccount

    if not isinstance(value, str) or not 0 < len(value) <= 60:
        raise SignInRefused("the account claim is missing", 403)
    async with services.sessionmaker() as s:
        account = await s.get(StaffAccount, value)
    if account is None or account.disabled_at is not None:
        raise SignInRefused("no enabled staff account for this user", 403)  # never created here
    return account.id
