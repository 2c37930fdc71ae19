"""Which clauses and controls each workflow version says it evidences (its ``evidences:`` lists).

A run finishes on the version it started on, so its evidence counts towards what *that* version
named: versions come from the stored spec texts runs were pinned to, and from the workflow files
loaded now (which may have no runs yet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..catalog import normalise

__all__ = ["Citations", "collect_citations"]

Version = tuple[str, int]  # (workflow id, version)


@dataclass
class Citations:
    """``whole[(wf, v)]``: ids the workflow names for every record of its runs;
    ``steps[(wf, v)][step]``: ids a step names for its own records."""

    whole: dict[Version, frozenset[str]] = field(default_factory=dict)
    steps: dict[Version, dict[str, frozenset[str]]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        workflow_id: str,
        version: int,
        title: str,
        whole: Iterable[Any],
        steps: Mapping[str, Iterable[Any]],
    ) -> None:
        key = (workflow_id, version)
        if key in self.whole:  # the loaded file and the stored text of one version say the same
            return
        self.whole[key] = _ids(whole)
        self.steps[key] = {step: ids for step, raw in steps.items() if (ids := _ids(raw))}
        self.titles.setdefault(workflow_id, title)

    def naming(self, wanted: frozenset[str] | set[str]) -> dict[str, set[str]]:
        """Workflow id -> where it names any of ``wanted``: ``"workflow"`` and/or step ids."""
        found: dict[str, set[str]] = defaultdict(set)
        for (workflow_id, version), ids in self.whole.items():
            if ids & wanted:
                found[workflow_id].add("workflow")
            for step, step_ids in self.steps[(workflow_id, version)].items():
                if step_ids & wanted:
                    found[workflow_id].add(step)
        return dict(found)

    def names_anywhere(self, version: Version, wanted: frozenset[str] | set[str]) -> bool:
        """Whether the workflow version names any of
        ``wanted``, for the whole run or in any step."""
        if self.whole.get(version, frozenset()) & wanted:
            return True
        return any(ids & wanted for ids in self.steps.get(version, {}).values())

    def counts_for(
        self, version: Version, step_id: str | None, wanted: frozenset[str] | set[str]
    ) -> bool:
        """Whether a record of a run on ``version``, written
        by ``step_id``, evidences any of ``wanted``."""
        if self.whole.get(version, frozenset()) & wanted:
            return True
        return step_id is not None and bool(
            self.steps.get(version, {}).get(step_id, frozenset()) & wanted
        )


def _ids(raw: Iterable[Any] | None) -> frozenset[str]:
    ids = set()
    for item in raw or ():
        try:
            ids.add(normalise(item))
        except TypeError:
            continue  # a stored text from an older language version: skip what is not an id
    return frozenset(ids)


def collect_citations(loaded: Iterable[Any], stored: Iterable[tuple[str, int, str]]) -> Citations:
    """From loaded specs (``LoadedSpec``) and stored ``(workflow id, version, text)`` rows."""
    citations = Citations()
    for item in loaded:
        spec = item.spec
        citations.add(
            spec.id,
            spec.version,
            spec.title,
            spec.evidences,
            {s.id: s.evidences for s in spec.steps},
        )
    for workflow_id, version, text in stored:
        if (workflow_id, version) in citations.whole:
            continue  # the loaded file of this version said it already: no need to parse it
        title, whole, steps = _read_stored(text)
        citations.add(workflow_id, version, title or workflow_id, whole, steps)
    return citations


def _read_stored(text: str) -> tuple[str, list[Any], dict[str, list[Any]]]:
    # Read as plain YAML rather than re-validated: a text stored by an older release may no
    # longer pass today's checks, yet what it said it evidences is still what its runs evidence.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return "", [], {}
    if not isinstance(data, dict):
        return "", [], {}
    steps: dict[str, list[Any]] = {}
    listed = data.get("steps")
    for step in listed if isinstance(listed, list) else []:
        if (
            isinstance(step, dict)
            and isinstance(step.get("id"), str)
            and isinstance(step.get("evidences"), list)
        ):
            steps[step["id"]] = step["evidences"]
    whole, title = data.get("evidences"), data.get("title")
    return (
        title if isinstance(title, str) else "",
        whole if isinstance(whole, list) else [],
        steps,
    )
