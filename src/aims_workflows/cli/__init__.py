"""The ``aims`` command. Sub-commands live in small modules and import heavy things lazily, so
``aims --help`` stays fast."""

from __future__ import annotations

import sys

import typer

from . import _evidence, _export, _jira, _runs, _serve, _setup, _slack, _systems, _work, _workflows
from ._group import command_group

__all__ = ["app", "main"]

app = command_group(
    "ISO/IEC 42001 AI management system workflows in Jira "
    "and Slack, with a hash-chained evidence ledger.",
    name="aims",
    add_completion=False,
    pretty_exceptions_enable=False,
)
_setup.register(app)
_workflows.register(app)
_systems.register(app)
_work.register(app)
_runs.register(app)
_evidence.register(app)
_jira.register(app)
_serve.register(app)
_slack.register(app)
_export.register(app)


def _click_exception_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Usage errors and aborts, from click and from the copy of click newer typer releases
    carry inside them (``typer._click``), whose exceptions are not click's."""
    import click

    usage = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException as VendoredClickException
    except ImportError:  # typer relying on click itself
        pass
    else:
        usage.append(VendoredClickException)
    return tuple(usage), (click.exceptions.Abort, typer.Abort)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error the package raises on purpose is a message and exit code 1."""
    from ..errors import AimsError

    try:
        # Without standalone mode click returns a command's `typer.Exit(code)` instead of
        # raising it: that code is the process's exit status.
        code = app(args=argv, standalone_mode=False)
    except AimsError as err:
        from ._output import error

        error(err)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except Exception as err:  # click usage errors arrive here in non-standalone mode
        usage_errors, aborts = _click_exception_types()
        if isinstance(err, usage_errors):
            err.show()
            sys.exit(err.exit_code)
        if isinstance(err, aborts):
            sys.exit(1)
        raise
    if isinstance(code, int) and code != 0:
        sys.exit(code)
