"""Security headers on every HTTP answer, and URLs that no route could store.

- Pages (`/`, the widget's demo page, and `/staff`): a Content-Security-Policy without inline
  script or style (the pages load only /static files), `frame-ancestors 'none'` for the staff
  console, and for `/` the municipality's own sites (`WIDGET_FRAME_ANCESTORS`), which embed it.
- Everything else (JSON, static files): `default-src 'none'; frame-ancestors 'none'`.
- Every answer: `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (a sender
  or a conversation id must not travel to another site in a Referer).

A NUL in the path or the query string is refused with 400: PostgreSQL text cannot hold it, and
no id of ours contains one.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
WIDGET_PAGES = frozenset({"/"})
STAFF_PAGES = frozenset({
    "/staff", "/staff/reports", "/staff/broadcasts", "/staff/analytics", "/staff/oidc/login", "/staff/oidc/callback"
})  # fmt: skip


def policy_for(path: str, widget_frame_ancestors: str) -> str:
    if path in WIDGET_PAGES:
        return PAGE_POLICY.format(ancestors=widget_frame_ancestors.strip() or "'self'")
    if path in STAFF_PAGES:
        return PAGE_POLICY.format(ancestors="'none'")
    return API_POLICY


class SecurityHeaders:
    """Pure ASGI (WebSockets pass through untouched; streamed answers keep streaming)."""

    def __init__(self, app: ASGIApp, widget_frame_ancestors: str = "'self'") -> None:
        self.app = app
        self.widget_frame_ancestors = widget_frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", policy_for(path, self.widget_frame_ancestors).encode()),
        ]
        if path in STAFF_PAGES:
            extra.append((b"x-frame-options", b"DENY"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        if "\x00" in path or b"%00" in scope.get("query_string", b"").lower():
            await _refuse(send_with_headers, "the URL contains a NUL character")
            return
        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Any, reason: str) -> None:
    body = json.dumps({"error": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
