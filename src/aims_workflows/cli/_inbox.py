"""``aims inbox parked | retry``: inbound deliveries that could not be applied, and putting them
back in the queue."""

from __future__ import annotations

import json

import typer

from ._group import command_group

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    inbox = command_group("Inbound deliveries (Jira webhooks, Slack decisions) set aside.")
    app.add_typer(inbox, name="inbox")

    @inbox.command("parked")
    def inbox_parked(
        output: str = typer.Option("table", "--format", help="table or json"),
        limit: int = typer.Option(100, "--limit", min=1, help="at most this many, newest first"),
    ) -> None:
        """Deliveries that could not be applied, newest first, with why."""
        from rich.markup import escape

        from ..errors import AimsError
        from ._context import open_cli_app
        from ._output import console
        from ._output import table as make_table

        if output not in ("table", "json"):
            raise AimsError(f"unknown format '{output}'", hint="use --format table or json")
        parked = open_cli_app().runtime.parked_deliveries(limit=limit)
        if output == "json":
            rows = [
                {
                    "source": p.source,
                    "delivery_id": p.id,
                    "run_id": p.run_id,
                    "received_at": p.received_at.isoformat(),
                    "parked_at": p.parked_at.isoformat() if p.parked_at else None,
                    "reason": p.reason,
                }
                for p in parked
            ]
            typer.echo(json.dumps(rows, indent=2))
            return
        if not parked:
            console().print("no parked deliveries")
            return
        table = make_table("source", "delivery", "run", "parked", "why", ids=("delivery",))
        for p in parked:
            table.add_row(
                p.source,
                escape(p.id),
                escape(p.run_id or "-"),
                f"{p.parked_at:%Y-%m-%d %H:%M}" if p.parked_at else "-",
                escape(p.reason),
            )
        console().print(table)
        console().print("put one back with `aims inbox retry ID`, or all with `--all`")

    @inbox.command("retry")
    def inbox_retry(
        delivery: str | None = typer.Argument(
            None, help="the delivery id (see `aims inbox parked`)"
        ),
        all_: bool = typer.Option(False, "--all", help="every parked delivery"),
        as_: str | None = typer.Option(None, "--as", help="your e-mail (recorded as who)"),
    ) -> None:
        """Put parked deliveries back in the queue (recorded in the ledger); the next
        `aims worker` pass applies them."""
        from ..errors import AimsError
        from ._context import cli_actor, open_cli_app
        from ._output import ok

        if (delivery is None) == (not all_):
            raise AimsError(
                "name one delivery or give --all",
                hint="`aims inbox retry ID` or `aims inbox retry --all` (ids: `aims inbox parked`)",
            )
        runtime = open_cli_app().runtime
        back = runtime.retry_parked(delivery_id=delivery, actor=cli_actor(as_))
        if not back:
            if delivery is not None:
                raise AimsError(f"no parked delivery '{delivery}'", hint="see `aims inbox parked`")
            ok("no parked deliveries")
            return
        ok(
            f"{len(back)} deliveries put back in the queue: `aims worker` applies them "
            "(`aims worker --once` for a single pass)"
        )
