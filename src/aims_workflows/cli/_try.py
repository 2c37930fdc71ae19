"""``aims try``: Jira and Slack you can click in a browser, with aims serving and working behind
them, in one process until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def _folder(folder: Path | None) -> tuple[Path, bool]:
    """Where this session keeps its files, and whether to keep them afterwards.

    A folder given with ``--dir`` must be new, empty or one ``aims try`` made before (whose
    database is then started afresh): nothing else is ever written over."""
    import tempfile

    from ..demo.try_it import MARKER
    from ..errors import ConfigError

    if folder is None:
        return Path(tempfile.mkdtemp(prefix="aims-try-")), False
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file", hint="pass --dir with a folder name")
    if folder.is_dir() and any(folder.iterdir()):
        config = folder / "aims.yaml"
        ours = config.is_file() and config.read_text(encoding="utf-8").startswith(MARKER)
        if not ours:
            raise ConfigError(
                f"{folder} holds files that `aims try` did not write",
                hint="pass --dir with a new or empty folder (or leave --dir out)",
            )
        for suffix in ("", "-wal", "-shm"):
            (folder / f"aims-try.db{suffix}").unlink(missing_ok=True)
    return folder, True


def register(app: typer.Typer) -> None:
    @app.command("try", short_help="Try aims in a browser: Jira and Slack sandboxes, one process.")
    def try_(
        port: int = typer.Option(
            0,
            "--port",
            metavar="PORT",
            help="port of the page to open (the Jira board); 0: any free port",
        ),
        folder: Path = typer.Option(
            None,
            "--dir",
            metavar="DIR",
            help="keep the database and aims.yaml in DIR (default: a temporary folder, removed "
            "when you stop)",
        ),
    ) -> None:
        """Start a Jira and a Slack you can use in a browser, with aims serving and working
        behind them, and print the page to open and what to do there.

        Everything runs in this process on 127.0.0.1 with its own SQLite database (never
        AIMS_DATABASE_URL) and secrets generated for the session. Ctrl-C stops it all.
        """
        import shutil
        import signal
        import threading

        from ..demo.try_it import TryStack
        from ..errors import ConfigError
        from ._output import console

        where, keep = _folder(folder)
        stack = TryStack(where, port=port)
        out = console()
        try:
            try:
                stack.start()
            except OSError as err:
                raise ConfigError(
                    f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}",
                    hint="pass another --port, or --port 0 for any free one",
                ) from None
            out.print(
                "[bold]aims try[/]: a Jira, a Slack, `aims serve` and `aims worker` are running "
                "in this process.\n",
                soft_wrap=True,
            )
            out.print(f"  Open [bold]{stack.url}[/] in your browser, then:\n", soft_wrap=True)
            for line in stack.script():
                out.print(f"  {line}", markup=False, soft_wrap=True)
            kept = "kept" if keep else "removed when you stop"
            out.print(
                f"\n  Database {where / 'aims-try.db'} ({kept}); secrets generated for this "
                "session and shown nowhere.",
                markup=False,
                soft_wrap=True,
            )
            stopped = threading.Event()
            # Ctrl-C and a plain `kill` stop it alike; the handlers are in place before the line
            # that invites Ctrl-C, so an early one is a clean stop rather than an interruption
            previous = {
                sig: signal.signal(sig, lambda *_: stopped.set())
                for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                out.print("  Press Ctrl-C to stop.")
                while not stopped.wait(0.5):
                    pass
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        finally:
            stack.stop()
            if not keep:
                shutil.rmtree(where, ignore_errors=True)
        out.print("aims try stopped." + (f" The database stays in {where}." if keep else ""))
