"""A local stand-in of the LINE Messaging API: a real HTTP server on 127.0.0.1 that records calls.

It speaks the parts of the API madoguchi uses (reply, push, loading animation, rich menus, message
contents: `GET /v2/bot/message/{id}/content` answers `contents[id]`, 404 when unknown) with
LINE's documented behaviour where it matters for delivery guarantees:

- a reply token works once; a used or expired token answers 400 "Invalid reply token";
- a push with an `X-Line-Retry-Key` that was already accepted answers 409 and is not delivered twice;
- scripted faults: answer a status code, or hang for N seconds (then answer 500, or deliver and
  answer 200 too late, like a response lost on the way back).

`delivered` lists what a resident would see on the phone: one entry per accepted message batch.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Fault:
    path: str  # prefix of the request path
    status: int = 500
    hang_seconds: float = 0.0
    deliver: bool = False  # a hanging call that still delivers: "accepted, response lost"


@dataclass
class Delivery:
    via: str  # reply | push
    to: str  # reply token (reply) or recipient id (push)
    messages: list[dict[str, Any]]
    retry_key: str | None = None


@dataclass
class StandIn:
    access_token: str = "test-access-token"
    calls: list[Call] = field(default_factory=list)
    delivered: list[Delivery] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    used_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    accepted_keys: dict[str, str] = field(default_factory=dict)
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_rich_menu: str | None = None
    images: dict[str, tuple[str, int]] = field(default_factory=dict)  # menu id -> (content type, size)
    contents: dict[str, bytes] = field(default_factory=dict)  # message id -> image bytes (通報の写真)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------------------
    def fail(self, path: str, *, times: int = 1, status: int = 500) -> None:
        with self.lock:
            self.faults += [Fault(path=path, status=status) for _ in range(times)]

    def hang(self, path: str, seconds: float, *, times: int = 1, deliver: bool = False) -> None:
        with self.lock:
            self.faults += [Fault(path=path, hang_seconds=seconds, deliver=deliver) for _ in range(times)]

    def calls_to(self, path: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path.startswith(path)]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Block until predicate(self) is true (for the bench and thread-side tests)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError("stand-in did not see the expected calls")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="line-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- behaviour -------------------------------------------------------------------------------
    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if path.startswith(fault.path):
                    return self.faults.pop(i)
        return None

    def answer(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        if call.header("Authorization") != f"Bearer {self.access_token}":
            return 401, {"message": "Authentication failed"}, {}
        path = call.path
        if call.method == "GET" and path.startswith("/v2/bot/message/") and path.endswith("/content"):
            content = self.contents.get(path.split("/")[4])
            if content is None:
                return 404, {"message": "Not found"}, {}
            return 200, content, {"Content-Type": "image/jpeg"}
        if path == "/v2/bot/message/reply":
            return self._reply(call.json)
        if path == "/v2/bot/message/push":
            return self._push(call.json, call.header("X-Line-Retry-Key"))
        if path == "/v2/bot/chat/loading/start":
            return 202, {}, {}
        if path == "/v2/bot/richmenu":
            menu_id = f"richmenu-{uuid.uuid4().hex}"
            with self.lock:
                self.rich_menus[menu_id] = call.json
            return 200, {"richMenuId": menu_id}, {}
        if path.startswith("/v2/bot/richmenu/") and path.endswith("/content"):
            menu_id = path.split("/")[4]
            if menu_id not in self.rich_menus:
                return 404, {"message": "Not found"}, {}
            with self.lock:
                self.images[menu_id] = (call.header("Content-Type") or "", len(call.body))
            return 200, {}, {}
        if path.startswith("/v2/bot/user/all/richmenu/"):
            menu_id = path.rsplit("/", 1)[1]
            if menu_id not in self.rich_menus:
                return 404, {"message": "Not found"}, {}
            self.default_rich_menu = menu_id
            return 200, {}, {}
        return 404, {"message": "Not found"}, {}

    def _reply(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = body.get("replyToken", "")
        messages = body.get("messages") or []
        if not 1 <= len(messages) <= 5:
            return 400, {"message": "The request body has 1 error(s)"}, {}
        with self.lock:
            if token in self.used_tokens or token in self.expired_tokens:
                return 400, {"message": "Invalid reply token"}, {}
            self.used_tokens.add(token)
            self.delivered.append(Delivery(via="reply", to=token, messages=messages))
        return 200, {"sentMessages": [{"id": uuid.uuid4().hex[:16]} for _ in messages]}, {}

    def _push(self, body: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        messages = body.get("messages") or []
        if not 1 <= len(messages) <= 5:
            return 400, {"message": "The request body has 1 error(s)"}, {}
        with self.lock:
            if key and key in self.accepted_keys:
                return (
                    409,
                    {"message": "The retry key is already accepted"},
                    {"x-line-accepted-request-id": self.accepted_keys[key]},
                )
            request_id = uuid.uuid4().hex
            if key:
                self.accepted_keys[key] = request_id
            self.delivered.append(Delivery(via="push", to=body.get("to", ""), messages=messages, retry_key=key))
        return 200, {"sentMessages": [{"id": uuid.uuid4().hex[:16]} for _ in messages]}, {}


class _Handler(BaseHTTPRequestHandler):
    owner: StandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:  # keep test output quiet
        return

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        call = Call(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
        owner = self.owner
        with owner.lock:
            owner.calls.append(call)
        fault = owner.take_fault(self.path)
        if fault is not None and fault.hang_seconds:
            time.sleep(fault.hang_seconds)
            if fault.deliver:
                owner.answer(call)
            status, data, headers = 500, {"message": "Internal error"}, {}
        elif fault is not None:
            status, data, headers = fault.status, {"message": "scripted failure"}, {}
        else:
            status, data, headers = owner.answer(call)
        self._send(status, data, headers)

    def _send(self, status: int, data: Any, headers: dict[str, str]) -> None:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        try:
            self.send_response(status)
            if "Content-Type" not in headers:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("x-line-request-id", uuid.uuid4().hex)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            pass
