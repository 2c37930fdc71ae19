"""Socket Mode: the app opens a WebSocket to Slack and receives its requests over it.

An app calls ``apps.connections.open`` with its app-level token (``xapp-...``; a bot token is
refused with ``not_allowed_token_type``) and gets a one-time ``wss://`` URL. Over the socket,
Slack first sends ``hello``, then one envelope per request: ``{"envelope_id", "type",
"payload", "accepts_response_payload", "retry_attempt", "retry_reason"}`` with ``type``
``interactive``, ``slash_commands`` or ``events_api``. The app acknowledges each with
``{"envelope_id": ..., "payload": ...}`` within 3 seconds; an envelope that is not
acknowledged is sent again (up to three retries). No request is signed: the socket itself is
authenticated by the app token.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ._delivery import Attempt, Delivery
from ._ids import IdFactory

__all__ = ["ENVELOPE_TYPES", "SocketModeHub", "SocketDeliverer"]

ENVELOPE_TYPES = {
    "block_actions": "interactive",
    "view_submission": "interactive",
    "view_closed": "interactive",
    "shortcut": "interactive",
    "message_action": "interactive",
    "slash_command": "slash_commands",
    "event_callback": "events_api",
}


@dataclass
class _Connection:
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    acks: dict[str, threading.Event] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)


class SocketModeHub:
    """The app-level token, the one-time connection tickets and the open sockets."""

    def __init__(self, ids: IdFactory, app_token: str, app_id: str) -> None:
        self.app_token = app_token
        self.app_id = app_id
        self._ids = ids
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self.connected = threading.Event()
        """Set while at least one app connection is open."""

    def open_ticket(self, base_url: str) -> str:
        """``apps.connections.open``: a URL good for one connection."""
        ticket = self._ids.secret(32)
        with self._lock:
            self._tickets.add(ticket)
        ws_base = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return f"{ws_base}/link/?ticket={ticket}&app_id={self.app_id}"

    async def endpoint(self, websocket: WebSocket) -> None:
        ticket = websocket.query_params.get("ticket", "")
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            await websocket.close(code=4001)
            return
        await websocket.accept()
        conn = _Connection(websocket, asyncio.get_running_loop())
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "sandbox", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        await websocket.send_text(json.dumps(hello))
        with self._lock:
            self._connections.append(conn)
            self.connected.set()
        try:
            while True:
                text = await websocket.receive_text()
                self._on_message(conn, text)
        except WebSocketDisconnect:
            pass
        finally:
            with self._lock:
                self._connections.remove(conn)
                if not self._connections:
                    self.connected.clear()

    @staticmethod
    def _on_message(conn: _Connection, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return  # Slack ignores what it cannot read; the envelope is sent again later
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            return
        event = conn.acks.get(envelope_id)
        if event is not None:
            conn.answers[envelope_id] = message.get("payload")
            event.set()

    def send(
        self, kind: str, payload: dict[str, Any], *, retry: int, reason: str | None, timeout: float
    ) -> tuple[bool, Any]:
        """One envelope to one open connection; (acknowledged in time, the ack's payload)."""
        with self._lock:
            conn = self._connections[0] if self._connections else None
        if conn is None:
            return False, None
        envelope_id = self._ids.new("env-").lower()
        envelope = {
            "envelope_id": envelope_id,
            "type": ENVELOPE_TYPES.get(kind, "events_api"),
            "payload": payload,
            "accepts_response_payload": kind != "event_callback",
            "retry_attempt": retry,
            "retry_reason": reason or "",
        }
        acked = threading.Event()
        conn.acks[envelope_id] = acked
        try:
            future = asyncio.run_coroutine_threadsafe(
                conn.websocket.send_text(json.dumps(envelope)), conn.loop
            )
            future.result(timeout)
            ok = acked.wait(timeout)
            return ok, conn.answers.pop(envelope_id, None)
        except Exception:  # noqa: BLE001 - a broken socket is an unacknowledged envelope
            return False, None
        finally:
            conn.acks.pop(envelope_id, None)


class SocketDeliverer:
    """Delivers what people do over the app's socket, retrying unacknowledged envelopes as
    Slack does; the same ``send`` as the HTTP deliverer, so the rest of the sandbox is alike."""

    def __init__(
        self,
        hub: SocketModeHub,
        *,
        timeout: float = 3.0,
        max_retries: int = 3,
        connect_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hub = hub
        self.timeout = timeout
        self.max_retries = max_retries
        self.connect_wait = connect_wait
        self.sleep = sleep

    def send(
        self, url: str, *, kind: str, payload: dict[str, Any], body: bytes, content_type: str
    ) -> Delivery:
        delivery = Delivery(url="socket-mode", kind=kind, payload=payload, body=body)
        self.hub.connected.wait(self.connect_wait)
        reason: str | None = None
        for retry in range(self.max_retries + 1):
            attempt = Attempt(retry_num=retry, headers={})
            delivery.attempts.append(attempt)
            acked, answer = self.hub.send(
                kind, payload, retry=retry, reason=reason, timeout=self.timeout
            )
            if acked:
                attempt.status = 200
                attempt.response_body = json.dumps(answer).encode() if answer else b""
                break
            attempt.failure = reason = "timeout" if self.hub.connected.is_set() else "no_connection"
        return delivery
