"""OIDC sign-in for the console against a local stand-in provider (tests/oidc_provider.py): the
Authorization Code flow with PKCE, state and nonce; the RS256 ID token checked against the
provider's JWKS, issuer, audience and expiry; the user mapped to an existing staff account by a
claim (never created); then the same session cookie as the password sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.staff.accounts import StaffAccount
from bot.store.db import make_sync_engine
from tests.bot.test_staff_departments import Staff
from tests.oidc_provider import StandInProvider

REDIRECT = "http://testserver/staff/oidc/callback"


@pytest.fixture(scope="module")
def idp() -> Iterator[StandInProvider]:
    provider = StandInProvider()
    provider.redirect_uris.add(REDIRECT)
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def staff(settings: Settings) -> Iterator[Staff]:
    made = Staff(settings)
    yield made
    made.close()


@pytest.fixture
def web(settings: Settings, interpreter: Any, idp: StandInProvider) -> Iterator[TestClient]:
    from server import create_app

    idp.tweak = {}
    oidc = {
        "oidc_issuer": idp.issuer,
        "oidc_client_id": idp.client_id,
        "oidc_client_secret": idp.client_secret,
        "oidc_redirect_url": REDIRECT,
    }
    app = create_app(settings.model_copy(update=oidc), interpreter=interpreter)
    with TestClient(app) as client:
        yield client


def account_id(staff: Staff, *departments: str) -> str:
    staff.add(*departments)
    return staff.made[-1]


def start(web: TestClient) -> str:
    """The console's button: a redirect to the provider, PKCE S256, state and nonce."""
    res = web.get("/staff/oidc/login", follow_redirects=False)
    assert res.status_code == 302, res.text
    location = res.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0] and query["redirect_uri"] == [REDIRECT]
    assert "code_verifier" not in location
    return location


def at_provider(location: str) -> str:
    """The user signs in at the provider, which sends the browser back with a code."""
    res = httpx.get(location, follow_redirects=False)
    assert res.status_code == 302, res.text
    back = res.headers["location"]
    assert back.startswith(REDIRECT)
    return back[len("http://testserver") :]


def test_happy_path_signs_in_to_the_same_session(web: TestClient, idp: StandInProvider, staff: Staff) -> None:
    who = account_id(staff, "seiso")
    idp.user = {"sub": "u-42", "preferred_username": who}
    res = web.get(at_provider(start(web)), follow_redirects=False)
    assert res.status_code == 200 and res.headers["refresh"] == "0; url=/staff"
    cookie = res.headers["set-cookie"]
    assert "madoguchi_staff_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    me = web.get("/staff/api/me").json()
    assert me["id"] == who and me["departments"] == ["seiso"] and me["role"] == "staff" and me["csrf"]
    # the code was exchanged with the PKCE verifier and the client's secret (checked by the provider)
    assert idp.token_requests[-1]["code_verifier"] and idp.token_requests[-1]["grant_type"] == "authorization_code"
    # the session works like a password session: CSRF on changes, department scope
    assert web.post("/staff/api/conversations/web:x/notes", json={"note": "x"}).status_code == 403
    assert web.get("/staff/api/canned?department=kumin").status_code == 403


def test_bad_state_is_refused(web: TestClient, idp: StandInProvider, staff: Staff) -> None:
    idp.user = {"sub": "u-1", "preferred_username": account_id(staff, "seiso")}
    back = at_provider(start(web))
    forged = back.replace("state=", "state=x")
    res = web.get(forged, follow_redirects=False)
    assert res.status_code == 400 and "サインインできませんでした" in res.text
    assert web.get("/staff/api/me").status_code == 401
    # no flow cookie at all (a callback from a sign-in begun elsewhere)
    web.cookies.clear()
    assert web.get(back, follow_redirects=False).status_code == 400


@pytest.mark.parametrize(
    ("tweak", "why"),
    [
        ({"nonce": "another-nonce"}, "nonce"),
        ({"iss": "http://evil.example"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"shift": -3600}, "expired"),
        ({"foreign_key": True}, "signature"),
    ],
)
def test_a_bad_id_token_is_refused(
    web: TestClient, idp: StandInProvider, staff: Staff, tweak: dict[str, Any], why: str
) -> None:
    idp.user = {"sub": "u-1", "preferred_username": account_id(staff, "seiso")}
    idp.tweak = tweak
    res = web.get(at_provider(start(web)), follow_redirects=False)
    assert res.status_code == 401, (why, res.status_code)
    assert "madoguchi_staff_session=" not in res.headers.get("set-cookie", "")
    assert web.get("/staff/api/me").status_code == 401


def test_unknown_user_is_refused_and_never_created(web: TestClient, idp: StandInProvider, settings: Settings) -> None:
    idp.user = {"sub": "u-9", "preferred_username": "no.such.person"}
    res = web.get(at_provider(start(web)), follow_redirects=False)
    assert res.status_code == 403 and "このアカウントは登録されていません" in res.text
    assert web.get("/staff/api/me").status_code in (401, 503)  # 503: no account at all (a fresh database)
    engine = make_sync_engine(settings.resolved_database_url)
    with Session(engine) as s:
        assert s.get(StaffAccount, "no.such.person") is None
    engine.dispose()


def test_a_code_is_used_once(web: TestClient, idp: StandInProvider, staff: Staff) -> None:
    idp.user = {"sub": "u-1", "preferred_username": account_id(staff, "seiso")}
    back = at_provider(start(web))
    flow = web.cookies.get("madoguchi_oidc_flow")
    assert flow and web.get(back, follow_redirects=False).status_code == 200
    web.cookies.clear()
    web.cookies.set("madoguchi_oidc_flow", flow, domain="testserver.local", path="/staff/oidc")
    assert web.get(back, follow_redirects=False).status_code == 401  # the provider refuses the code again
    assert web.get("/staff/api/me").status_code == 401


def test_off_when_not_configured(settings: Settings, interpreter: Any) -> None:
    from server import create_app

    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        assert client.get("/staff/oidc/status").json() == {"enabled": False}
        assert client.get("/staff/oidc/login", follow_redirects=False).status_code == 404
        assert client.get("/staff/oidc/callback?code=x&state=y", follow_redirects=False).status_code == 404


def test_status_says_on(web: TestClient) -> None:
    assert web.get("/staff/oidc/status").json() == {"enabled": True}
