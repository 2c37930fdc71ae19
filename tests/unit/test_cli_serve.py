"""``aims serve``: refuses to listen beyond loopback without a dashboard token, says how to fix
it, and never prints the token."""

from __future__ import annotations

import pytest

from aims_workflows.app import shipped_workflows_dir
from aims_workflows.cli import _output, main
from aims_workflows.store import Database

TOKEN = "serve-token-5d1e0c"


@pytest.fixture
def serve(monkeypatch, capsys, tmp_path):
    """``serve("--host", "0.0.0.0")`` -> (exit code, output, where uvicorn was asked to listen)."""
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIMS_DATABASE_URL", url)
    (tmp_path / "aims.yaml").write_text("organisation: Example Ltd\n")
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "aims.yaml"))
    monkeypatch.setenv("AIMS_WORKFLOWS", str(shipped_workflows_dir()))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AIMS_DASHBOARD_TOKEN", raising=False)
    _output.console.cache_clear()
    _output.err_console.cache_clear()
    listened: list[tuple[str, int]] = []
    import uvicorn

    # the network is what is faked here: uvicorn would block serving forever
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: listened.append((host, port)))

    def run(*args: str):
        capsys.readouterr()
        try:
            main(["serve", *args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        captured = capsys.readouterr()
        return code, captured.out + captured.err, listened

    yield run
    _output.console.cache_clear()
    _output.err_console.cache_clear()


def test_beyond_loopback_without_a_token_is_refused_with_the_fix(serve):
    code, out, listened = serve("--host", "0.0.0.0", "--port", "8123")
    assert code == 1 and listened == []
    assert "refusing to listen on 0.0.0.0" in out
    assert "set AIMS_DASHBOARD_TOKEN" in out and "--host 127.0.0.1" in out
    assert "Traceback" not in out


def test_with_a_token_it_listens_and_never_prints_it(serve, monkeypatch):
    monkeypatch.setenv("AIMS_DASHBOARD_TOKEN", TOKEN)
    code, out, listened = serve("--host", "0.0.0.0", "--port", "8123")
    assert code == 0 and listened == [("0.0.0.0", 8123)]
    assert "dashboard at http://0.0.0.0:8123/dashboard (token required)" in out
    assert TOKEN not in out


def test_loopback_needs_no_token(serve):
    code, out, listened = serve("--port", "8124")
    assert code == 0 and listened == [("127.0.0.1", 8124)]
    assert "no token: loopback only" in out


def test_serve_socket_mode_says_what_is_missing(tmp_path, monkeypatch, capsys) -> None:
    from conftest import cli_environment, run_aims

    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch)
    for name in ("AIMS_SLACK_BOT_TOKEN", "AIMS_SLACK_APP_TOKEN", "AIMS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'aims.db'}")
    assert run_aims(capsys, "init").code == 0
    no_slack = run_aims(capsys, "serve", "--socket-mode", "--port", "0")
    assert no_slack.code == 1 and "needs Slack configured" in no_slack.err

    monkeypatch.setenv("AIMS_SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    monkeypatch.setenv("AIMS_SLACK_API_URL", "http://127.0.0.1:9/api/")
    no_token = run_aims(capsys, "serve", "--socket-mode", "--port", "0")
    assert no_token.code == 1 and "AIMS_SLACK_APP_TOKEN" in no_token.err

    monkeypatch.setenv("AIMS_SLACK_APP_TOKEN", "xoxb-1-2-wrong-kind")
    wrong = run_aims(capsys, "serve", "--socket-mode", "--port", "0")
    assert wrong.code == 1 and "a bot token (xoxb-)" in wrong.err
    assert "xoxb-1-2-wrong-kind" not in wrong.all
