"""Witnesses of the ledger head outside the database: post checkpoints there, read them back.

* Slack: a message in a channel (``chat.postMessage``), read back with
  ``conversations.history`` (which takes the channel's ID, so the configuration names the ID);
* Jira: a comment on one pinned issue, read back from the issue's comments;
* git: a line appended to ``aims-checkpoints.txt`` in a directory, committed when the directory
  is a git repository (the commit history is then a witness of its own);
* tsa: an RFC 3161 time-stamp authority (:mod:`.tsa`); its tokens are kept in the ledger and
  checked there (:mod:`aims_workflows.runtime.timestamps`), so it is never fetched here.

``perform`` carries out ``witness.post`` commands (the dispatcher's witness port); ``fetch`` reads
one witness's checkpoints and raises :class:`~aims_workflows.runtime.witness.Unreachable` (never
returns an empty list) when the witness cannot be read.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.checkpoints import Checkpoint, find_checkpoints
from ..engine.commands import Command, PostCheckpoint
from ..errors import AimsError, PermanentError

__all__ = ["GIT_FILE", "WitnessPoster"]

GIT_FILE = "aims-checkpoints.txt"


class WitnessUnreachable(Exception):
    """Raised by :meth:`WitnessPoster.fetch`; the CLI reports it as unreachable."""


class WitnessPoster:
    """The configured witnesses: a Slack client and channel ID, a Jira connection and issue key,
    a git directory; any of them may be missing (not configured)."""

    def __init__(
        self,
        *,
        slack_client: Any = None,
        slack_channel: str | None = None,
        jira: Any = None,
        jira_issue: str | None = None,
        git_dir: Path | None = None,
        tsa_url: str | None = None,
        tsa_client: Callable[[], Any] | None = None,
    ) -> None:
        self.slack_client, self.slack_channel = slack_client, slack_channel
        self.jira, self.jira_issue = jira, jira_issue
        self.git_dir = git_dir
        # the TSA client (adapters.tsa.TsaClient) is built at its first use: a CA file that
        # cannot be read fails the posting, with the reason, not every command of the process
        self.tsa_url = tsa_url
        self._tsa_loader = tsa_client
        self._tsa: Any = None

    def names(self) -> list[str]:
        found = [
            ("slack", self.slack_client is not None and self.slack_channel),
            ("jira", self.jira is not None and self.jira_issue),
            ("git", self.git_dir is not None),
            ("tsa", self.tsa_url is not None and self._tsa_loader is not None),
        ]
        return [name for name, ready in found if ready]

    def where(self, name: str) -> str:
        return {
            "slack": f"Slack channel {self.slack_channel}",
            "jira": f"Jira issue {self.jira_issue}",
            "git": f"{self.git_dir}/{GIT_FILE}",
            "tsa": f"the time-stamp authority {self.tsa_url}",
        }[name]

    # -- posting -------------------------------------------------------------------------------
    def perform(self, command: Command) -> dict[str, Any]:
        if not isinstance(command, PostCheckpoint):
            raise PermanentError(f"the witness poster does not carry out {command.kind}")
        if command.witness not in self.names():
            raise PermanentError(
                f"the {command.witness} witness is not configured in this process",
                hint="set it under witness: in aims.yaml, with its integration's settings",
            )
        if command.witness == "tsa":
            return self._stamp(command)
        text = f"aims ledger checkpoint of row {command.head_seq}:\n{command.line}"
        if command.witness == "slack":
            from .slack._errors import slack_call

            client, channel = self.slack_client, self.slack_channel
            answer = slack_call(
                "chat.postMessage", lambda: client.chat_postMessage(channel=channel, text=text)
            )
            return {"ref": f"slack:{answer['channel']}:{answer['ts']}"}
        if command.witness == "jira":
            from .jira._adf import from_text

            issue = str(self.jira_issue)
            self.jira.add_comment(issue, from_text(text), what=f"comment on {issue}")
            return {"ref": f"jira:{issue}"}
        return {"ref": f"git:{self._append(command)}"}

    def tsa_client(self) -> Any:
        """The TSA client, built once (ConfigError when its settings do not hold)."""
        if self._tsa is None:
            assert self._tsa_loader is not None
            self._tsa = self._tsa_loader()
        return self._tsa

    def _stamp(self, command: PostCheckpoint) -> dict[str, Any]:
        """Timestamp the checkpoint at the TSA; the verified token goes back in the result,
        which the dispatcher appends to the ledger."""
        from ..runtime.timestamps import stamp_result

        found = find_checkpoints(command.line)
        if len(found) != 1:
            raise PermanentError(f"not one checkpoint line: {command.line[:200]}")
        checkpoint = found[0]
        message = Checkpoint.message(checkpoint.head_seq, checkpoint.head_hash, checkpoint.at)
        client = self.tsa_client()
        stamp = client.stamp(message, checkpoint.describe())
        return stamp_result(checkpoint, client.url, stamp.response, stamp.gen_time, stamp.serial)

    def _append(self, command: PostCheckpoint) -> str:
        directory = Path(str(self.git_dir))
        if not directory.is_dir():
            raise PermanentError(
                f"the witness directory {directory} does not exist",
                hint="create it (git init) or correct witness.git_dir in aims.yaml",
            )
        target = directory / GIT_FILE
        existing = target.read_text(encoding="ascii") if target.exists() else ""
        if command.line not in existing:  # a retry after the line was written adds nothing
            with target.open("a", encoding="ascii") as out:
                out.write(command.line + "\n")
        if (directory / ".git").exists():
            self._commit(directory, f"aims ledger checkpoint of row {command.head_seq}")
        return str(target)

    @staticmethod
    def _commit(directory: Path, message: str) -> None:
        def git(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        git("add", GIT_FILE)
        if git("diff", "--cached", "--quiet").returncode == 0:
            return  # committed by an earlier attempt
        done = git(
            "-c",
            "user.name=aims-workflows",
            "-c",
            "user.email=aims-workflows@localhost",
            "commit",
            "-q",
            "-m",
            message,
        )
        if done.returncode != 0:
            raise PermanentError(
                f"git could not commit the checkpoint in {directory}: "
                f"{(done.stderr or done.stdout).strip()[:300]}",
                hint="check that the directory is a git repository this user may write to",
            )

    # -- reading back --------------------------------------------------------------------------
    def fetch(self, name: str) -> list[Checkpoint]:
        """The checkpoints one witness holds; WitnessUnreachable when it cannot be read."""
        try:
            if name == "slack":
                return self._fetch_slack()
            if name == "jira":
                return self._fetch_jira()
            return self._fetch_git()
        except WitnessUnreachable:
            raise
        except AimsError as err:
            raise WitnessUnreachable(f"{self.where(name)} could not be read: {err}") from None
        except OSError as err:
            raise WitnessUnreachable(
                f"{self.where(name)} could not be read: {err.strerror or err}"
            ) from None

    def _fetch_slack(self) -> list[Checkpoint]:
        from .slack._errors import slack_call

        found: list[Checkpoint] = []
        cursor: str | None = None
        client, channel = self.slack_client, self.slack_channel
        for _ in range(10_000):  # pages of 200; a bound, not a limit anyone reaches
            kwargs: dict[str, Any] = {"channel": channel, "limit": 200}
            if cursor:
                kwargs["cursor"] = cursor

            def read(kw: dict[str, Any] = kwargs) -> Any:
                return client.conversations_history(**kw)

            page = slack_call("conversations.history", read)
            for message in page.get("messages") or []:
                found += find_checkpoints(str(message.get("text") or ""))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                break
        return found

    def _fetch_jira(self) -> list[Checkpoint]:
        from .jira._adf import to_text

        issue = str(self.jira_issue)
        comments = self.jira.comments(
            issue, order_by="created", max_results=5000, what=f"read the comments of {issue}"
        )
        found: list[Checkpoint] = []
        for comment in comments:
            found += find_checkpoints(to_text(comment.get("body")))
        return found

    def _fetch_git(self) -> list[Checkpoint]:
        directory = Path(str(self.git_dir))
        if not directory.is_dir():
            raise WitnessUnreachable(f"the witness directory {directory} does not exist")
        target = directory / GIT_FILE
        if not target.exists():
            return []
        return find_checkpoints(target.read_text(encoding="utf-8", errors="replace"))
