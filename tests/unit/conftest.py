"""Fixtures for the spec and engine tests: workflow fixtures, people, and a run driver that
saves and reloads the run state after every step and checks purity and determinism."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aims_workflows.engine import (
    GENESIS_HASH,
    Actor,
    Event,
    RunState,
    Subject,
    Transition,
    advance,
    chain,
    dump_run,
    load_run,
    new_run,
    parse_event,
    verify_chain,
)
from aims_workflows.spec import LoadedSpec, load_spec, parse_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows"


# -- the aims command, in-process ----------------------------------------------------------------
@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def cli_environment(monkeypatch) -> None:
    """The shipped workflows, wide plain output: what the CLI tests read."""
    from aims_workflows.app import shipped_workflows_dir

    monkeypatch.setenv("AIMS_WORKFLOWS", str(shipped_workflows_dir()))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("NO_COLOR", "1")


def run_aims(capsys, *args: str) -> CliResult:
    """``aims ARGS`` in this process: its exit code and what it printed. Never a traceback."""
    from aims_workflows.cli import _output, main

    # the consoles read COLUMNS and NO_COLOR once: fresh ones for every command
    _output.console.cache_clear()
    _output.err_console.cache_clear()
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    captured = capsys.readouterr()
    result = CliResult(code, captured.out, captured.err)
    assert "Traceback" not in result.all, result
    return result


@pytest.fixture
def aims(monkeypatch, capsys, tmp_path):
    """``aims("systems", "list")`` -> CliResult, run in ``tmp_path`` with its own SQLite database
    and aims.yaml there (modules that need another world define their own ``aims``)."""
    from aims_workflows.cli import _output

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'aims.db'}")
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "aims.yaml"))
    cli_environment(monkeypatch)

    def run(*args: str) -> CliResult:
        return run_aims(capsys, *args)

    yield run
    _output.console.cache_clear()
    _output.err_console.cache_clear()


@pytest.fixture
def ready(aims, tmp_path, roles):
    """``aims init`` done, with the test organisation's people in aims.yaml."""
    assert aims("init").code == 0
    lines = ["organisation: Example Ltd", "roles:"] + [
        f"  {role}: [{', '.join(p)}]" for role, p in roles.items()
    ]
    (tmp_path / "aims.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return aims


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

ENGINEER = Actor("eve@example.com", "jira", ("engineer",))
ENGINEER_2 = Actor("ed@example.com", "jira", ("engineer",))
RISK_OWNER = Actor("rita@example.com", "slack", ("risk_owner",))
CISO = Actor("carl@example.com", "slack", ("ciso",))
BOARD = [Actor(f"{n}@example.com", "slack", ("top_management",)) for n in ("bea", "ben", "bob")]
OWNER = Actor("olga@example.com", "slack", ("risk_owner",))
AUDITOR = Actor("ida@example.com", "jira", ("internal_auditor",))
AIMS_OWNER = Actor("amy@example.com", "jira", ("aims_owner",))
STRANGER = Actor("sam@example.com", "slack", ())


def ai_system(**attributes: Any) -> Subject:
    return Subject(
        type="ai_system",
        id="sys-1",
        name="Chatbot",
        owner=OWNER.id,
        attributes={"risk_tier": "high", "model_type": "llm", **attributes},
    )


def organisation() -> Subject:
    return Subject(type="organisation", id="org", name="Example Ltd")


def finding() -> Subject:
    return Subject(
        type="finding",
        id="F-1",
        name="Gap",
        attributes={"title": "Gap in risk", "severity": "major"},
    )


def fixture_spec(name: str) -> LoadedSpec:
    return load_spec(FIXTURES / "good" / f"{name}.yaml")


class Driver:
    """Sends events to one run the way the runtime would, and checks the engine's promises.

    After every event: the input run is unchanged (purity), the same inputs give an equal
    transition (determinism), the new state survives ``dump_run``/``load_run`` unchanged, and the
    evidence so far chains and verifies. The next event is applied to the reloaded state.
    """

    def __init__(
        self,
        loaded: LoadedSpec,
        subject: Subject,
        *,
        inputs: dict | None = None,
        run_id: str = "run-1",
        now: datetime = T0,
        parent_run_id: str | None = None,
    ) -> None:
        self.loaded, self.spec = loaded, loaded.spec
        self.now = now
        self.run: RunState = self._reload(
            new_run(
                self.spec,
                run_id=run_id,
                spec_hash=loaded.content_hash,
                subject=subject,
                inputs=inputs,
                parent_run_id=parent_run_id,
            )
        )
        self.transitions: list[Transition] = []
        self.commands: list = []
        self.evidence: list = []
        self.rows: list = []

    @staticmethod
    def _reload(run: RunState) -> RunState:
        text = dump_run(run)
        again = load_run(text)
        assert again == run, "run state changed on a save and reload"
        assert dump_run(again) == text
        return again

    def later(self, **delta: float) -> Driver:
        self.now = self.now + timedelta(**delta)
        return self

    def send(
        self,
        kind: str,
        actor: Actor | None = None,
        *,
        step_id: str | None = None,
        attempt: int | None = None,
        ref: str | None = None,
        **data: Any,
    ) -> Transition:
        fields: dict[str, Any] = {"kind": kind, **data}
        for name, value in (("actor", actor), ("step_id", step_id), ("attempt", attempt)):
            if value is not None:
                fields[name] = value
        fields["ref"] = ref
        return self.send_event(parse_event(fields))

    def send_event(self, event: Event) -> Transition:
        before = dump_run(self.run)
        transition = advance(self.spec, self.run, event, self.now)
        assert dump_run(self.run) == before, "advance mutated its input run"
        # the runtime's way: on a run of its own, without the copy
        again = advance(self.spec, load_run(before), event, self.now, copy=False)
        assert again == transition, "advance is not deterministic"
        if transition.ignored:
            assert (
                transition.run == self.run and not transition.commands and not transition.evidence
            )
        self.transitions.append(transition)
        self.commands += transition.commands
        self.evidence += transition.evidence
        prev = self.rows[-1].hash if self.rows else GENESIS_HASH
        self.rows += chain(
            transition.evidence, start_seq=len(self.rows) + 1, prev_hash=prev, recorded_at=self.now
        )
        assert verify_chain(self.rows) is None
        self.run = self._reload(transition.run)
        return transition

    # -- shorthands ----------------------------------------------------------------------
    def start(self, **data: Any) -> Transition:
        return self.send("run.start", **data)

    def complete(
        self, step_id: str, actor: Actor = ENGINEER, answers: dict | None = None, **kw: Any
    ) -> Transition:
        attempt = kw.pop("attempt", self.run.task.attempt if self.run.task else None)
        return self.send(
            "task.completed", actor, step_id=step_id, attempt=attempt, answers=answers or {}, **kw
        )

    def decide(
        self, actor: Actor, decision: str = "approve", reason: str = "looks right", **kw: Any
    ) -> Transition:
        approval = self.run.approval
        ref = kw.pop("ref", None)
        data = {
            "approval_id": approval.approval_id if approval else "no-approval",
            "content_hash": approval.content_hash if approval else None,
            "decision": decision,
            "reason": reason,
        }
        data.update(kw)
        return self.send("approval.decided", actor, ref=ref, **data)

    def tick(self, **delta: float) -> Transition:
        self.later(**delta)
        return self.send("timer.tick")

    def kinds(self, transition: Transition | None = None) -> list[str]:
        t = transition or self.transitions[-1]
        return [e.kind for e in t.evidence]

    def command_kinds(self, transition: Transition | None = None) -> list[str]:
        t = transition or self.transitions[-1]
        return [c.kind for c in t.commands]


@pytest.fixture
def risk() -> LoadedSpec:
    return fixture_spec("risk-assessment")


@pytest.fixture
def drive():
    """``drive(loaded_spec, subject, **kw)`` -> a :class:`Driver`."""
    return Driver


@pytest.fixture
def spec_from_text():
    def make(text: str) -> LoadedSpec:
        return parse_spec(text, "inline.yaml")

    return make
