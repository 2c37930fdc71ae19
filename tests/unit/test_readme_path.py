"""Every command of README's "Using it for real", in order, in a fresh empty directory with no
AIMS_* settings: each does what README says (the same path runs against an installed wheel in
test_packaging.py)."""

from __future__ import annotations

import json

import pytest
from readme_path import fill_answers, inventory_csv, placeholders, steps

from aims_workflows.app import shipped_workflows_dir
from aims_workflows.cli import _output
from conftest import run_aims


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("AIMS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")  # what a pipe gets
    monkeypatch.setenv("NO_COLOR", "1")
    yield tmp_path
    _output.console.cache_clear()
    _output.err_console.cache_clear()


def test_readmes_path_works_in_a_fresh_directory(fresh, capsys):
    (fresh / "systems.csv").write_text(inventory_csv(), encoding="utf-8")
    ids: dict[str, str] = {}
    seen: list[str] = []
    for step in steps():
        if step.argv[0] == "$EDITOR":
            if step.argv[1] == "answers.yaml":
                fill_answers(fresh / "answers.yaml")
            continue  # aims.yaml: the people of the default file are fine here
        assert step.argv[0] == "aims", step.line
        result = run_aims(capsys, *placeholders(step.argv[1:], ids))
        assert result.code == 0, (step.line, result)
        table = [line for line in result.out.splitlines() if line[:1] in "┏┃┡│└"]
        assert all(len(line) <= 80 for line in table), (step.line, result.out)
        if step.redirect:
            (fresh / step.redirect).write_text(result.out, encoding="utf-8")
        seen.append(" ".join(step.argv[:3]))
        # the ids a person copies from one command into the next
        if step.argv[1:3] == ["runs", "list"]:
            runs = json.loads(run_aims(capsys, "runs", "list", "--format", "json").out)
            assert sorted(r["workflow"] for r in runs) == [
                "ai-impact-assessment v1",
                "ai-risk-assessment v2",
            ]
            ids["RUN-ID"] = next(r["run"] for r in runs if r["workflow"].startswith("ai-risk"))
        if step.argv[1:3] == ["approvals", "list"]:
            (pending,) = json.loads(run_aims(capsys, "approvals", "list", "--format", "json").out)
            assert pending["may_decide"] == "risk.owner@example.com"
            ids["APPROVAL-ID"] = pending["approval"]
        if step.argv[1] == "validate":
            shipped = len(list(shipped_workflows_dir().glob("*.yaml")))
            assert f"{shipped} workflow(s) valid" in result.out
        if step.argv[1:3] == ["approvals", "decide"]:
            assert "run is completed" in result.out
        if step.argv[1:3] == ["runs", "show"]:
            assert "status: completed" in result.out
        if step.argv[1] == "worker":
            assert "stop with Ctrl-C" in result.out or "one pass" in result.out
            assert "started run" not in result.out  # no yearly workflow on the first pass
    # the whole path was there to run
    assert "aims init" in seen and "aims approvals decide" in seen and "aims runs show" in seen
    assert (fresh / "aims.yaml").exists() and not (fresh / "workflows").exists()
