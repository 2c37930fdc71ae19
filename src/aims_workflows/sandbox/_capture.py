"""Records each HTTP exchange (request and response, bodies included) for observers.

Tests hang an OpenAPI validator here to hold every request and response to the vendor's
description; the sandbox itself does not depend on any validator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Exchange", "CaptureMiddleware", "Observer"]


@dataclass
class Exchange:
    """One request and the response the sandbox gave to it."""

    method: str
    path: str
    query_string: bytes
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""

    def request_header(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.request_headers if k.lower() == name.lower()), default)

    def response_header(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.response_headers if k.lower() == name.lower()), default)


Observer = Callable[[Exchange], None]


class CaptureMiddleware:
    """Buffers the request body, replays it to the app, and reports the finished exchange."""

    def __init__(self, app: ASGIApp, observers: list[Observer]) -> None:
        self.app = app
        self.observers = observers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.observers:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        exchange = Exchange(
            method=scope["method"],
            path=scope["path"],
            query_string=scope.get("query_string", b""),
            request_headers=[
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
            ],
            request_body=b"".join(chunks),
        )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": exchange.request_body, "more_body": False}
            return await receive()

        body: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    # Report before the last byte goes out, so that a client that has its
                    # answer can rely on the observers having seen the exchange.
                    exchange.response_body = b"".join(body)
                    for observer in list(self.observers):
                        observer(exchange)
            await send(message)

        await self.app(scope, replay, record)
