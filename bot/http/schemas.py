"""Pydantic models of the HTTP surface: request bodies, answers, and the one error body.

Bodies are still read by `read_json_object` (UTF-8, size and strict-JSON checks, 400/413) and then
validated with these models (422), so the OpenAPI documents exactly what the routes accept.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, Path, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from bot.engine.jsonbody import MAX_INT_DIGITS

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


TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"  # something besides spaces, and no NUL (see bot/engine/jsonbody.py)
ANY_TEXT = r"^[^\x00]*$"

# Any JSON value the strict loader (bot/engine/jsonbody.py) accepts: no NUL in strings or keys, integers of at
# most MAX_INT_DIGITS digits (and nesting of at most 32 levels, which JSON Schema cannot say: 400).
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "any JSON value without a NUL character, integers of at most 30 digits",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "integer", "minimum": -(10**MAX_INT_DIGITS - 1), "maximum": 10**MAX_INT_DIGITS - 1},
        {"type": "number"},
        {"type": "string", "pattern": ANY_TEXT},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "propertyNames": {"pattern": ANY_TEXT},
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
        },
    ],
}
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
_MARK = "x-madoguchi-json-value"  # pydantic resolves `$ref`s itself: json_body puts the real one in
JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": ANY_TEXT},
    "additionalProperties": {_MARK: True},
}
JsonObject = Annotated[dict[str, Any], WithJsonSchema(JSON_OBJECT_SCHEMA)]

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: Any) -> Any:
    """Pydantic would take `0` or `"0"` as a Unix time; the documented form is YYYY-MM-DD only."""
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("a date must be written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


LINE_EVENT_SCHEMA: dict[str, Any] = {
    **JSON_OBJECT_SCHEMA,
    "properties": {"type": {"type": "string", "pattern": ANY_TEXT}},
    "required": ["type"],
}

IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]


class RequestModel(BaseModel):
    """A request body: unknown keys are refused (422), so the OpenAPI lists all that is accepted."""

    model_config = ConfigDict(extra="forbid")


class WebhookRequest(RequestModel):
    """Rasa's REST channel body (`input_channel` and `metadata` are read by Rasa, ignored here)."""

    sender: str = Field(pattern=r"^[A-Za-z0-9_.:@-]{1,128}$")
    message: str = Field(min_length=1, max_length=5000, pattern=TEXT)
    input_channel: str | None = Field(default=None, max_length=100, pattern=ANY_TEXT)
    metadata: JsonObject | None = None


class ParseRequest(RequestModel):
    text: str = Field(max_length=5000, pattern=ANY_TEXT)
    today: IsoDate | None = None
    message_id: str | None = Field(default=None, max_length=200, pattern=ANY_TEXT)  # Rasa's; ignored


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


class StaffTextRequest(RequestModel):
    text: str = Field(min_length=1, max_length=5000, pattern=TEXT)


class StaffIdRequest(RequestModel):
    """With the shared STAFF_TOKEN, who is acting; a personal account's own id wins."""

    staff_id: str = Field(default="staff", min_length=1, max_length=60, pattern=ANY_TEXT)


class StaffReasonRequest(StaffIdRequest):
    reason: str = Field(default="", max_length=120, pattern=ANY_TEXT)
    conversation_id: str | None = Field(default=None, max_length=200, pattern=ANY_TEXT)


class ProfileRequest(StaffReasonRequest):
    """Reading a profile needs a stated reason (it is audited)."""

    reason: str = Field(min_length=1, max_length=120, pattern=TEXT)


class CancelRequest(StaffIdRequest):
    reason: str = Field(min_length=1, max_length=120, pattern=TEXT)


class Loose(BaseModel):
    """An answer object whose fields are listed in the route's docstring."""

    model_config = ConfigDict(extra="allow")


class LineWebhookRequest(BaseModel):
    """LINE's webhook body (https://developers.line.biz/en/reference/messaging-api/#webhooks); fields
    LINE may add later are accepted. Events the SDK does not know are skipped, not refused."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": {_MARK: True}})

    destination: str | None = Field(default=None, pattern=ANY_TEXT)
    events: list[Annotated[dict[str, Any], WithJsonSchema(LINE_EVENT_SCHEMA)]]


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


URL_400 = {
    "description": "the URL contains a NUL character (%00)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status it can answer, all with the error body."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in codes}


COMPONENTS: dict[str, Any] = {"JsonValue": JSON_VALUE_SCHEMA}  # schemas hand-documented bodies refer to


def json_body(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """`openapi_extra=` documenting a body that the route reads itself (`read_body`)."""
    schema = _with_refs(model.model_json_schema(ref_template="#/components/schemas/{model}"))
    COMPONENTS.update(schema.pop("$defs", {}))  # nested models: registered by install_openapi
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def _with_refs(schema: Any) -> Any:
    """The schema with each JsonValue marker replaced by its `$ref`."""
    if isinstance(schema, dict):
        return dict(JSON_VALUE_REF) if schema.get(_MARK) else {k: _with_refs(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_with_refs(v) for v in schema]
    return schema


def install_openapi(app: FastAPI) -> None:
    """Register the schemas hand-documented bodies refer to (`JsonValue`, nested models) in the OpenAPI."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                # bot/http/web_security.py refuses a NUL anywhere in the URL, on every route
                operation["responses"].setdefault("400", URL_400)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def validate(model: type[M], data: dict[str, Any]) -> M:
    """The body as `model`, or BadRequest 422 naming the first bad field."""
    from bot.channels.web import BadRequest

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadRequest(422, f"'{where}': {first['msg']}") from None


# -- staff work (bot/staff/work.py, bot/staff/callbacks.py, bot/staff/sessions.py) ------------------
# a row id in a path: PostgreSQL's integer (a larger number is 422, not a database error)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class TransferRequest(StaffIdRequest):
    department: str = Field(min_length=1, max_length=60, pattern=TEXT)
    note: str = Field(default="", max_length=1000, pattern=ANY_TEXT)


class CloseRequest(StaffIdRequest):
    outcome: Literal["solved", "callback", "visit", "referred"]
    # with `visit`: the 窓口予約 to link (default: the conversation's latest upcoming one)
    reservation: str | None = Field(default=None, min_length=1, max_length=32, pattern=TEXT)


class NoteRequest(RequestModel):
    note: str = Field(min_length=1, max_length=1000, pattern=TEXT)


class FillRequest(RequestModel):
    slot: str = Field(min_length=1, max_length=60, pattern=TEXT)
    value: str = Field(min_length=1, max_length=500, pattern=TEXT)


class CallbackCloseRequest(StaffIdRequest):
    outcome: Literal["reached", "no_answer", "solved", "visit", "referred"]


class LoginRequest(RequestModel):
    id: str = Field(min_length=1, max_length=80, pattern=TEXT)
    password: str = Field(min_length=1, max_length=1024, pattern=ANY_TEXT)


async def read_body(request: Request, model: type[M], *, optional: bool = False) -> M:
    """The request's body as `model`: strict JSON (400/413, bot/engine/jsonbody.py), then the model (422).
    With `optional`, an empty body is the model's defaults."""
    from bot.channels.web import read_json_object

    if optional and not await request.body():
        return model()
    return validate(model, await read_json_object(request))
