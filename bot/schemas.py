"""Pydantic models of the HTTP surface: request bodies, answers, and the one error body.

Bodies are still read by `read_json_object` (UTF-8, size and strict-JSON checks, 400/413) and then
validated with these models (422), so the OpenAPI documents exactly what the routes accept.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

M = TypeVar("M", bound=BaseModel)


class ErrorBody(BaseModel):
    """Every error answer: `{"error": "<reason>"}` (HTTPException answers repeat it as `detail`)."""

    error: str
    detail: str | None = None


class ButtonOut(BaseModel):
    title: str
    payload: str
    url: str | None = None


class BotMessage(BaseModel):
    """One message of Rasa's REST channel answer."""

    model_config = ConfigDict(extra="allow")

    recipient_id: str
    text: str
    buttons: list[ButtonOut] | None = None
    custom: dict[str, Any] | None = None


TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"  # something besides spaces, and no NUL (see bot/jsonbody.py)
ANY_TEXT = r"^[^\x00]*$"


class WebhookRequest(BaseModel):
    sender: str = Field(pattern=r"^[A-Za-z0-9_.:@-]{1,128}$")
    message: str = Field(min_length=1, max_length=5000, pattern=TEXT)


class ParseRequest(BaseModel):
    text: str = Field(max_length=5000, pattern=ANY_TEXT)
    today: date | None = None


class ParseIntent(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    confidence: float


class ParseAnswer(BaseModel):
    """Rasa's `/model/parse` format."""

    model_config = ConfigDict(extra="allow")

    text: str
    intent: ParseIntent
    entities: list[dict[str, Any]]
    intent_ranking: list[ParseIntent]


class ReadyAnswer(BaseModel):
    status: str
    checks: dict[str, str]


class StaffTextRequest(BaseModel):
    text: str = Field(min_length=1, max_length=5000, pattern=TEXT)


class StaffIdRequest(BaseModel):
    """With the shared STAFF_TOKEN, who is acting; a personal account's own id wins."""

    staff_id: str = Field(default="staff", min_length=1, max_length=60, pattern=ANY_TEXT)


class StaffReasonRequest(StaffIdRequest):
    reason: str = Field(default="", max_length=120, pattern=ANY_TEXT)
    conversation_id: str | None = Field(default=None, max_length=200, pattern=ANY_TEXT)


class CancelRequest(StaffIdRequest):
    reason: str = Field(min_length=1, max_length=120, pattern=TEXT)


class Loose(BaseModel):
    """An answer object whose fields are listed in the route's docstring."""

    model_config = ConfigDict(extra="allow")


class StatusAnswer(BaseModel):
    status: str


class SessionAnswer(BaseModel):
    sender: str


ERROR_TEXT = {
    400: "the body is not UTF-8 JSON, or not accepted (too deep, a NUL, an unpaired surrogate …)",
    401: "a valid staff token is required (`Authorization: Bearer <token>`)",
    403: "not allowed for this staff account",
    404: "not found",
    409: "conflicts with the current state",
    411: "a Content-Length is required",
    413: "the body is larger than 64 KB",
    422: "a field is missing or invalid; `error` names it",
    503: "a database, Redis or the NLU is unavailable (or the feature is not configured); retry later",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status it can answer, all with the error body."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in codes}


def json_body(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """`openapi_extra=` documenting a body that the route reads itself."""
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {"schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}
            },
        }
    }


def validate(model: type[M], data: dict[str, Any]) -> M:
    """The body as `model`, or BadRequest 422 naming the first bad field."""
    from bot.channels.web import BadRequest

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadRequest(422, f"'{where}': {first['msg']}") from None
