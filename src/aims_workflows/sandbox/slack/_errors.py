"""The two ways things go wrong in the sandbox: a Web API call Slack would refuse, and a test
that asks the sandbox for something impossible (a person who does not exist, a button that is
not on the message).

Neither derives from the product's ``AimsError``: the sandbox imports nothing of the product, so
that it can stand in for Slack in anyone's tests without bringing the engine along."""

from __future__ import annotations

__all__ = ["ApiFailure", "SandboxUsageError"]


class ApiFailure(Exception):
    """Answer this Web API call with ``{"ok": false, "error": error}``.

    ``messages`` become ``response_metadata.messages``, as Slack explains ``invalid_arguments``
    and ``invalid_blocks``; ``status`` is the HTTP status (Slack uses 200 for most errors);
    ``extra`` are further fields of the answer (``needed`` and ``provided`` of
    ``missing_scope``).
    """

    def __init__(
        self,
        error: str,
        messages: list[str] | None = None,
        *,
        status: int = 200,
        extra: dict[str, str] | None = None,
    ):
        super().__init__(error)
        self.error = error
        self.messages = list(messages or [])
        self.status = status
        self.extra = dict(extra or {})


class SandboxUsageError(Exception):
    """A test or demo drove the sandbox in a way that cannot happen in Slack; ``hint`` says how
    to drive it instead."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
