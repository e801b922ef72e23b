"""ASGI middleware that holds for every request, whatever the route does: a request id, no 500 that leaks, and
a bounded request body."""
from __future__ import annotations

import json
import logging
import re
import uuid

log = logging.getLogger("todo_api")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *headers]})
    await send({"type": "http.response.body", "body": payload})


class RequestContext:
    """Gives each request an id (the caller's X-Request-ID when it is a plain token, e.g. nginx's $request_id,
    else a new one), returns it in X-Request-ID, and turns any exception the app did not handle into a JSON 500
    that names only the request id. The log gets the exception's type and the request id: never a traceback,
    whose frames would hold the request's values (passwords, SQL parameters)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = dict(message, headers=[*message.get("headers", []), (b"x-request-id", request_id.encode())])
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the one place every unhandled error ends
            log.error("request %s: %s %s failed with %s", request_id, scope["method"], scope["path"],
                      type(exc).__name__)
            if not started:
                await _send_json(send, 500, {"detail": "internal error", "request_id": request_id},
                                 [(b"x-request-id", request_id.encode())])


class BodyLimit:
    """413 for a request body over `max_bytes`, before anything parses it: at once when Content-Length says so,
    else as soon as the received chunks pass the limit. At most `max_bytes` of a body is ever held."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def too_large(self, send) -> None:
        await _send_json(send, 413, {"detail": f"request body over {self.max_bytes} bytes"},
                         [(b"connection", b"close")])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self.too_large(send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                return await self.too_large(send)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)
