"""The ``aims`` command. Sub-commands live in small modules and import heavy things lazily, so
``aims --help`` stays fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from . import (
    _audit,
    _doctor,
    _documents,
    _evidence,
    _export,
    _inbox,
    _jira,
    _people,
    _publish,
    _report,
    _risks,
    _runs,
    _schema,
    _serve,
    _setup,
    _slack,
    _systems,
    _try,
    _work,
    _workflows,
)
from ._group import command_group

__all__ = ["app", "main"]

app = command_group(
    "ISO/IEC 42001 AI management system workflows in Jira and Slack, "
    "with a hash-chained evidence ledger.",
    name="aims",
    add_completion=False,
    pretty_exceptions_enable=False,
)
_setup.register(app)
_workflows.register(app)
_schema.register(app)
_systems.register(app)
_work.register(app)
_people.register(app)
_runs.register(app)
_evidence.register(app)
_jira.register(app)
_serve.register(app)
_slack.register(app)
_export.register(app)
_publish.register(app)
_doctor.register(app)
_try.register(app)
_report.register(app)
_documents.register(app)
_audit.register(app)
_inbox.register(app)
_risks.register(app)


def _show_version(value: bool) -> None:
    if value:
        from ._help import version_text

        sys.stdout.write(version_text() + "\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_show_version,
        help="print the version and where it is installed, then exit",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="the aims.yaml to use (as AIMS_CONFIG does); it must exist",
    ),
) -> None:
    """ISO/IEC 42001 AI management system workflows in Jira and Slack, with a hash-chained
    evidence ledger."""
    if config is not None:
        # Settings reads the environment: --config is AIMS_CONFIG for this one command (main
        # puts the variable back afterwards)
        os.environ["AIMS_CONFIG"] = str(config)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error the package raises on purpose is a message and exit code 1."""
    before = os.environ.get("AIMS_CONFIG")
    try:
        _run(argv)
    finally:
        if before is None:
            os.environ.pop("AIMS_CONFIG", None)
        else:
            os.environ["AIMS_CONFIG"] = before


def _run(argv: list[str] | None) -> None:
    from pydantic import ValidationError

    from ..errors import AimsError

    try:
        # Without standalone mode typer returns a command's `typer.Exit(code)` instead of
        # raising it: that code is the process's exit status.
        from ._help import plain_help

        code = plain_help(app).main(args=argv, prog_name="aims", standalone_mode=False)
    except AimsError as err:
        from ._output import error

        error(err)
        sys.exit(1)
    except ValidationError as err:
        if err.title != "Settings":
            raise
        from ..config import settings_error
        from ._output import error

        error(settings_error(err))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort as abort:
        # typer turns an interrupt inside a command into Abort; a declined prompt is one too
        if isinstance(abort.__context__, KeyboardInterrupt):
            sys.stderr.write("interrupted\n")
            sys.exit(130)
        sys.exit(1)
    except typer.TyperException as err:
        # a usage error (missing argument, unknown option or command) arrives here in
        # non-standalone mode: shown as typer shows it, with the usage line and its exit code
        _show_usage_error(err)
        sys.exit(err.exit_code)
    if isinstance(code, int) and code != 0:
        sys.exit(code)


def _show_usage_error(err: typer.TyperException) -> None:
    show = getattr(err, "show", None)  # typer's usage errors print their usage line and hint
    if callable(show):
        show()
    else:
        sys.stderr.write(f"Error: {err.format_message()}\n")
