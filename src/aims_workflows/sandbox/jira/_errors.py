"""Jira's error answer, the ErrorCollection: ``{"errorMessages": [...], "errors": {...}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse

__all__ = ["JiraApiError", "error_response"]

_NO_ISSUE = "Issue does not exist or you do not have permission to see it."


class JiraApiError(Exception):
    """Raised by sandbox operations; the routes turn it into Jira's error answer."""

    def __init__(
        self,
        status: int,
        messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {messages or ''} {errors or ''}")
        self.status = status
        self.messages = list(messages or [])
        self.errors = dict(errors or {})

    @classmethod
    def not_found(cls, what: str = _NO_ISSUE) -> JiraApiError:
        return cls(404, [what])

    @classmethod
    def bad_fields(cls, errors: dict[str, str]) -> JiraApiError:
        return cls(400, [], errors)


def error_response(
    status: int,
    messages: list[str] | None = None,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON ErrorCollection response, as Jira Cloud sends for 4xx and 5xx answers."""
    body = {"errorMessages": list(messages or []), "errors": dict(errors or {})}
    return JSONResponse(body, status_code=status, headers=headers)
