"""One line of plain words per evidence row, for ``aims runs show`` and the demo."""

from __future__ import annotations

import json

from ..engine.evidence import ChainedEvidence

__all__ = ["describe"]


def describe(row: ChainedEvidence) -> str:
    p = json.loads(row.payload)
    who = f"{row.actor} via {row.via}"
    step = row.step_id or ""
    kind = row.kind
    if kind == "run.started":
        return f"started {p['workflow']} v{p['version']} ({p.get('trigger', 'manual')}) by {who}"
    if kind == "task.requested":
        return f"task '{step}' for {p['role']}: {p['title']}"
    if kind == "task.issued":
        return f"task '{step}' issued as {p.get('ref')} to {p.get('assignee')}"
    if kind == "task.completed":
        answers = ", ".join(f"{k}={v}" for k, v in p["answers"].items())
        return f"task '{step}' completed by {who}" + (" (late)" if p.get("overdue") else "") + f": {answers}"[:400]
    if kind == "task.answers_refused":
        return f"answers to '{step}' refused: {' '.join(p['problems'])}"
    if kind == "approval.requested":
        return f"approval '{step}' requested from {', '.join(p['approvers'])} (quorum {p['quorum']}, content {p['content_hash'][:12]})"
    if kind == "approval.decided":
        verb = {"approve": "approved", "reject": "rejected"}.get(p["decision"], p["decision"])
        return f"{p['person']} {verb} '{step}' via {row.via}: {p['reason']}"
    if kind == "approval.refused":
        return f"decision by {p['person']} on '{step}' refused: {p['reason']}"
    if kind == "approval.closed":
        return f"approval '{step}' {p['outcome']} after {p['latency_seconds'] / 3600:.1f} h"
    if kind == "approval.invalidated":
        return f"approval '{step}' invalidated: {p['reason']}"
    if kind == "decision.taken":
        return f"decision '{step}': " + (f"{p['when']} -> {p['goto']}" if p["when"] else f"otherwise -> {p['goto']}")
    if kind == "artefact.recorded":
        fields = ", ".join(f"{k}={v}" for k, v in p["fields"].items())
        return f"recorded {p['artefact']}: {fields}"[:400]
    if kind == "run.spawned":
        return f"started {len(p['runs'])} {p['workflow']} run(s)" + (" and waits for them" if p["wait"] else "")
    if kind in ("task.overdue", "approval.overdue"):
        return f"'{step}' is overdue (due {p['due_at'][:10]})"
    if kind.endswith(".escalated"):
        return f"'{step}' escalated to {p['to']}"
    if kind.endswith(".reminded"):
        return f"reminder for '{step}' sent to {', '.join(p['to'])}"
    if kind == "wait.started":
        return f"waiting until {p['until'][:10]}"
    if kind == "wait.ended":
        return "wait over"
    if kind == "run.completed":
        return "run completed"
    if kind == "run.failed":
        return f"run failed: {p['reason']}"
    if kind == "run.cancelled":
        return f"run cancelled by {who}: {p['reason']}"
    if kind == "command.revived":
        return f"{who} queued again: {', '.join(c['kind'] for c in p['commands'])}"
    if kind == "command.dead":
        return f"gave up on {p['kind']}: {p['reason']}"
    return f"{kind} by {who}"
