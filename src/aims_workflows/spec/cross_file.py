"""Problems between workflow files, found once every file is valid on its own: duplicate
workflow ids, spawns of unknown workflows or with the wrong subject or inputs, and triggers on
the completion of unknown workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import model as m
from .problems import KeyPath, Problem, did_you_mean, format_path
from .source import read_yaml

if TYPE_CHECKING:
    from .loader import LoadedSpec

__all__ = ["cross_file_problems"]


def cross_file_problems(
    loaded: list[LoadedSpec], *, broken: dict[str, str] | None = None
) -> list[Problem]:
    """Every problem between the workflows of ``loaded`` (each valid on its own).

    ``broken`` maps the ids of workflows whose files have problems of their own to those files:
    a reference to one of them says so, instead of "unknown workflow" and a wrong suggestion."""
    broken = broken or {}
    problems: list[Problem] = []

    def unknown(name: str) -> tuple[str, str | None]:
        if name in broken:
            return (
                f"workflow '{name}' is not loaded: {broken[name]} has problems",
                "fix that file first",
            )
        return f"unknown workflow '{name}'", did_you_mean(name, by_id)

    by_id: dict[str, LoadedSpec] = {}
    for item in loaded:
        if item.spec.id in by_id:
            problems.append(
                Problem(
                    item.source,
                    1,
                    1,
                    "id",
                    f"duplicate workflow id '{item.spec.id}'",
                    f"{by_id[item.spec.id].source} has it already",
                )
            )
        by_id.setdefault(item.spec.id, item)

    def located(item: LoadedSpec, parts: KeyPath, message: str, hint: str | None = None) -> Problem:
        line, column = read_yaml(item.text).position(parts)
        return Problem(item.source, line, column, format_path(parts), message, hint)

    for item in loaded:
        spec = item.spec
        for i, step in enumerate(spec.steps):
            if not isinstance(step, m.SpawnStep):
                continue
            target = by_id.get(step.workflow)
            if target is None:
                problems.append(located(item, ("steps", i, "workflow"), *unknown(step.workflow)))
                continue
            if step.finding and target.spec.subject != "finding":
                problems.append(
                    located(
                        item,
                        ("steps", i, "finding"),
                        f"'{step.workflow}' does not take a finding as its subject",
                    )
                )
            if not step.finding and target.spec.subject not in (spec.subject, "organisation"):
                problems.append(
                    located(
                        item,
                        ("steps", i, "workflow"),
                        f"'{step.workflow}' runs on a {target.spec.subject}, "
                        f"this workflow on a {spec.subject}",
                        "add 'finding:' to raise a finding for it",
                    )
                )
            declared = {d.id: d for d in target.spec.inputs}
            for name in step.inputs:
                if name not in declared:
                    problems.append(
                        located(
                            item,
                            ("steps", i, "inputs", name),
                            f"'{step.workflow}' has no input '{name}'",
                            did_you_mean(name, declared),
                        )
                    )
            for name, decl in declared.items():
                if decl.required and name not in step.inputs:
                    problems.append(
                        located(
                            item,
                            ("steps", i, "inputs"),
                            f"missing required input '{name}' of '{step.workflow}'",
                        )
                    )
        for j, on in enumerate(spec.trigger.on):
            if on.workflow and on.workflow not in by_id:
                problems.append(
                    located(item, ("trigger", "on", j, "workflow"), *unknown(on.workflow))
                )
    return problems
