"""Faults injected from Python: error answers for the next N requests, lost webhooks, a
deleted project, a removed field. Set on ``sandbox.faults``; no extra HTTP routes exist, so
the imitation of Jira's URL space stays clean.

>>> sandbox.faults.rate_limit(times=1, retry_after=1)       # doctest: +SKIP
>>> sandbox.faults.unavailable(times=2, path=r"/search/jql")  # doctest: +SKIP
>>> sandbox.faults.slow(0.05)                                # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._clock import Clock, utcnow
from ._errors import JiraApiError, error_response
from ._state import JiraState

__all__ = ["JiraFaults", "FaultMiddleware"]


@dataclass
class _Rule:
    status: int
    remaining: int
    path: re.Pattern[str] | None
    method: str | None
    retry_after: int | None
    reason: str | None
    after_processing: bool = False
    """The request is carried out and its answer replaced (a gateway timing out on a slow
    Jira): the caller cannot tell whether it took effect."""
    successful_only: bool = False
    """Only a request Jira carried out (a 2xx answer) loses its answer and uses the rule up;
    a refused one is answered as usual."""

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or bool(self.path.search(path))) and (
            self.method is None or self.method == method
        )


class JiraFaults:
    """The control panel for misbehaviour. Rules are used up in the order they were added."""

    def __init__(self, state: JiraState, clock: Clock = utcnow) -> None:
        self._state = state
        self._clock = clock
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._webhooks_to_drop = 0
        self._latency: tuple[float, re.Pattern[str] | None] | None = None
        self._quota: tuple[int, int, datetime] | None = None
        self.injected = 0
        """How many requests were answered with an injected fault so far."""

    def slow(self, seconds: float, *, path: str | None = None) -> None:
        """Answer every request (whose path matches ``path``) ``seconds`` late, as a loaded Jira
        site does; ``slow(0)`` ends it."""
        with self._lock:
            self._latency = (seconds, re.compile(path) if path else None) if seconds > 0 else None

    def latency_for(self, path: str) -> float:
        """How late to answer a request to ``path``."""
        with self._lock:
            if self._latency is None:
                return 0.0
            seconds, pattern = self._latency
        return seconds if pattern is None or pattern.search(path) else 0.0

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        retry_after: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Answer ``status`` to the next ``times`` requests whose path matches ``path`` (regex)."""
        rule = _Rule(
            status,
            times,
            re.compile(path) if path else None,
            method.upper() if method else None,
            retry_after,
            reason,
        )
        with self._lock:
            self._rules.append(rule)

    def rate_limit(
        self,
        *,
        times: int = 1,
        retry_after: int = 1,
        path: str | None = None,
        method: str | None = None,
        reason: str = "jira-quota-global-based",
    ) -> None:
        """429 with ``Retry-After`` and the X-RateLimit-* / RateLimit-Reason headers."""
        self.fail(
            429, times=times, path=path, method=method, retry_after=retry_after, reason=reason
        )

    def unavailable(
        self,
        *,
        times: int = 1,
        retry_after: int | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """503 Service Unavailable (Jira also sheds load this way)."""
        self.fail(503, times=times, path=path, method=method, retry_after=retry_after)

    def server_error(
        self, *, times: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """500 Internal Server Error."""
        self.fail(500, times=times, path=path, method=method)

    def gateway_timeout_after_processing(
        self, *, times: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """504 from Atlassian's edge for a request Jira did carry out (an issue created, an
        edit applied): the answer is lost, the effect is not."""
        self._lose_answers(times, path, method, successful_only=False)

    def lose_successful_answers(
        self, *, times: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """Like ``gateway_timeout_after_processing``, but only for requests Jira carried out
        (a create that made its issue): a refused request in between is answered as usual and
        leaves the rule in place."""
        self._lose_answers(times, path, method, successful_only=True)

    def _lose_answers(
        self, times: int, path: str | None, method: str | None, *, successful_only: bool
    ) -> None:
        rule = _Rule(
            504,
            times,
            re.compile(path) if path else None,
            method.upper() if method else None,
            None,
            None,
            after_processing=True,
            successful_only=successful_only,
        )
        with self._lock:
            self._rules.append(rule)

    def drop_webhooks(self, times: int = 1) -> None:
        """The next ``times`` webhook events are never sent (as when Jira loses one)."""
        with self._lock:
            self._webhooks_to_drop += times

    def delete_project(self, key: str) -> None:
        """Move a project to the trash: it and its issues answer 404 from now on."""
        with self._state.lock:
            self._state.project(key).deleted = True

    def restore_project(self, key: str) -> None:
        """Bring a deleted project back."""
        with self._state.lock:
            for project in self._state.projects.values():
                if project.key == key:
                    project.deleted = False

    def remove_field(self, field_id: str) -> None:
        """Delete a custom field: it leaves /field and issues, and cannot be set any more."""
        with self._state.lock:
            fdef = self._state.fields.get(field_id)
            if fdef is None or not fdef.custom:
                raise KeyError(f"no custom field {field_id!r}")
            fdef.removed = True

    def quota(self, *, limit: int, remaining: int, reset_in: float) -> None:
        """Announce on every answer how much of the rate-limit quota is left, as Jira Cloud's
        X-RateLimit-Limit / -Remaining / -Reset headers do, the quota filling up again
        ``reset_in`` seconds from now; ``clear()`` ends it."""
        with self._lock:
            self._quota = (limit, remaining, self._clock() + timedelta(seconds=reset_in))

    def quota_headers(self) -> list[tuple[bytes, bytes]]:
        with self._lock:
            if self._quota is None:
                return []
            limit, remaining, reset = self._quota
        return [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", reset.strftime("%Y-%m-%dT%H:%M:%SZ").encode()),
        ]

    def clear(self) -> None:
        """Forget pending request faults, webhook drops, latency and quota announcements."""
        with self._lock:
            self._rules.clear()
            self._webhooks_to_drop = 0
            self._latency = None
            self._quota = None

    def take_request_fault(self, method: str, path: str) -> _Rule | None:
        """Use up the first rule matching this request, if any (a ``successful_only`` rule is
        used up by ``use_up`` once the answer is known to be a success)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    if not rule.successful_only:
                        self._use_up(rule)
                    return rule
        return None

    def use_up(self, rule: _Rule) -> None:
        with self._lock:
            self._use_up(rule)

    def _use_up(self, rule: _Rule) -> None:
        rule.remaining -= 1
        if rule.remaining <= 0 and rule in self._rules:
            self._rules.remove(rule)
        self.injected += 1

    def take_webhook_drop(self) -> bool:
        """True (and one fewer to drop) when the next webhook is to be lost."""
        with self._lock:
            if self._webhooks_to_drop > 0:
                self._webhooks_to_drop -= 1
                return True
        return False

    def headers_for(self, rule: _Rule) -> dict[str, str]:
        headers: dict[str, str] = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if rule.status == 429:
            reset = self._clock() + timedelta(seconds=rule.retry_after or 1)
            headers.update(
                {
                    "X-RateLimit-Limit": "100",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "RateLimit-Reason": rule.reason or "jira-quota-global-based",
                }
            )
        return headers


_MESSAGES = {
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    503: "Service unavailable. Please try again later.",
    504: "Gateway timeout.",
}


class FaultMiddleware:
    """Answers a pending injected fault instead of passing the request on."""

    def __init__(self, app: ASGIApp, faults: JiraFaults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            delay = self.faults.latency_for(scope["path"])
            if delay:
                await asyncio.sleep(delay)
            rule = self.faults.take_request_fault(scope["method"], scope["path"])
            if rule is not None:
                if rule.successful_only:
                    answer = await self._carry_out_silently(scope, receive)
                    if not 200 <= answer[0]["status"] < 300:
                        for message in answer:  # refused: the caller hears it as usual
                            await send(message)
                        return
                    self.faults.use_up(rule)
                elif rule.after_processing:
                    await self._carry_out_silently(scope, receive)
                message = _MESSAGES.get(rule.status, JiraApiError(rule.status).args[0])
                response = error_response(
                    rule.status, [message], headers=self.faults.headers_for(rule)
                )
                await response(scope, receive, send)
                return
            quota = self.faults.quota_headers()
            if quota:

                async def announce(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message = {**message, "headers": [*message.get("headers", []), *quota]}
                    await send(message)

                await self.app(scope, receive, announce)
                return
        await self.app(scope, receive, send)

    async def _carry_out_silently(self, scope: Scope, receive: Receive) -> list[Message]:
        """Let the app handle the request; its answer, kept from the caller."""
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        return answer
