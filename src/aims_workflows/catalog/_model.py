"""The in-memory catalogue: entries and the lookups the rest of the package needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from aims_workflows.errors import ConfigError, NotFound

from ._ids import closeness_tiebreak, describe, is_annex, normalise, parent_of, sort_key

__all__ = ["CatalogEntry", "Catalog", "structural_problems"]

Kind = Literal["clause", "control", "group"]

# Below this difflib ratio a "did you mean" hint is more distracting than helpful.
_SUGGEST_CUTOFF = 0.6


@dataclass(frozen=True)
class CatalogEntry:
    """One requirement clause, Annex A group or Annex A control.

    ``parent`` is the entry one level up (None at the top). ``group`` is the top-level Annex A
    group a control or sub-group falls under (``"A.6"`` for ``A.6.2.8``); it is None for
    clauses and for the nine top-level groups themselves. ``evidence_kinds`` lists the kinds of
    record a workflow could produce for a control, from the catalogue's evidence vocabulary.
    """

    id: str
    kind: Kind
    title: str
    summary: str
    parent: str | None
    group: str | None
    evidence_kinds: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"A.7.5 Data provenance"``: the form used in reports and error messages."""
        return f"{self.id} {self.title}"


def structural_problems(
    entries: Sequence[CatalogEntry],
    crosswalk: Mapping[str, Sequence[str]] | None = None,
    evidence_kinds: Mapping[str, str] | None = None,
) -> list[str]:
    """Every way ``entries`` fail to form a consistent tree; an empty list means consistent.

    Collects all problems instead of stopping at the first, so whoever edits the data file sees
    the full list in one run.
    """
    problems: list[str] = []
    by_id: dict[str, CatalogEntry] = {}
    for entry in entries:
        if entry.id in by_id:
            problems.append(f"duplicate id {entry.id!r}")
        else:
            by_id[entry.id] = entry

    for entry in entries:
        where = f"{entry.kind} {entry.id!r}"
        if normalise(entry.id) != entry.id:
            problems.append(f"{where}: id is not in canonical form {normalise(entry.id)!r}")
        if entry.kind == "clause" and is_annex(entry.id):
            problems.append(f"{where}: clause ids must not carry the 'A.' prefix")
        if entry.kind != "clause" and not is_annex(entry.id):
            problems.append(f"{where}: Annex A ids must start with 'A.'")
        expected_parent = parent_of(entry.id)
        if entry.parent != expected_parent:
            problems.append(
                f"{where}: parent is {entry.parent!r} but the numbering implies {expected_parent!r}"
            )
        if entry.parent is not None:
            parent = by_id.get(entry.parent)
            if parent is None:
                problems.append(f"{where}: parent {entry.parent!r} does not exist")
            elif entry.kind == "clause" and parent.kind != "clause":
                problems.append(f"{where}: parent {entry.parent!r} is not a clause")
            elif entry.kind != "clause" and parent.kind != "group":
                problems.append(f"{where}: parent {entry.parent!r} is not an Annex A group")
        if entry.kind == "control" and entry.parent is None:
            problems.append(f"{where}: a control must sit inside a group")
        if entry.kind == "clause":
            if entry.group is not None:
                problems.append(f"{where}: clauses have no Annex A group")
        else:
            expected_group = _top_group(entry.id) if entry.parent is not None else None
            if entry.group != expected_group:
                problems.append(
                    f"{where}: group is {entry.group!r} but should be {expected_group!r}"
                )
        if entry.kind == "control" and not entry.evidence_kinds:
            problems.append(f"{where}: lists no evidence kinds")
        if entry.kind != "control" and entry.evidence_kinds:
            problems.append(f"{where}: only controls carry evidence kinds")
        if evidence_kinds is not None:
            for kind in entry.evidence_kinds:
                if kind not in evidence_kinds:
                    problems.append(f"{where}: unknown evidence kind {kind!r}")

    for control_id, clause_ids in (crosswalk or {}).items():
        control = by_id.get(control_id)
        if control is None or control.kind != "control":
            problems.append(f"crosswalk: {control_id!r} is not a known control")
        if not clause_ids:
            problems.append(f"crosswalk: {control_id!r} maps to no clauses")
        for clause_id in clause_ids:
            clause = by_id.get(clause_id)
            if clause is None or clause.kind != "clause":
                problems.append(f"crosswalk: {control_id!r} -> {clause_id!r} is not a known clause")
    return problems


def _top_group(annex_id: str) -> str:
    return ".".join(annex_id.split(".")[:2])


class Catalog:
    """Read-only lookup over the ISO/IEC 42001 clauses and Annex A controls.

    Ids are normalised on the way in (see :func:`normalise`), so ``"a.5.2"`` and ``" A.5.2"``
    find ``A.5.2``. Every list comes back in the standard's order: clauses 4 to 10, then Annex A
    from A.2 to A.10, parents before their children. Use :func:`load_catalog` rather than
    building one by hand; the constructor is for tests and tools that assemble their own data.
    """

    def __init__(
        self,
        entries: Iterable[CatalogEntry],
        *,
        crosswalk: Mapping[str, Sequence[str]] | None = None,
        evidence_kinds: Mapping[str, str] | None = None,
        standard: str = "ISO/IEC 42001:2023",
    ) -> None:
        ordered = sorted(entries, key=lambda e: sort_key(e.id))
        problems = structural_problems(ordered, crosswalk, evidence_kinds)
        if problems:
            raise ConfigError(
                f"inconsistent catalogue: {len(problems)} problem(s):\n- " + "\n- ".join(problems)
            )
        self.standard = standard
        self._order: tuple[str, ...] = tuple(e.id for e in ordered)
        self._by_id: dict[str, CatalogEntry] = {e.id: e for e in ordered}
        self._children: dict[str, list[str]] = {}
        for entry in ordered:
            if entry.parent is not None:
                self._children.setdefault(entry.parent, []).append(entry.id)
        self._evidence_kinds = MappingProxyType(dict(evidence_kinds or {}))
        # The crosswalk is stored both ways so related() answers from either side.
        self._related: dict[str, list[str]] = {}
        for control_id, clause_ids in (crosswalk or {}).items():
            for clause_id in clause_ids:
                self._related.setdefault(control_id, []).append(clause_id)
                self._related.setdefault(clause_id, []).append(control_id)

    # -- lookups ---------------------------------------------------------------------------

    @staticmethod
    def normalise(id: object) -> str:
        """Canonical form of ``id``; see the module-level :func:`normalise`."""
        return normalise(id)

    def is_known(self, id: object) -> bool:
        """True if ``id`` (after normalising) names a clause, group or control."""
        try:
            return normalise(id) in self._by_id
        except TypeError:
            return False

    def __contains__(self, id: object) -> bool:
        return self.is_known(id)

    def get(self, id: object) -> CatalogEntry:
        """The entry for ``id``; raises ``NotFound`` with a "did you mean" hint if unknown."""
        try:
            key = normalise(id)
        except TypeError as exc:
            raise NotFound(f"not a catalogue id: {id!r}") from exc
        entry = self._by_id.get(key)
        if entry is None:
            guess = self.suggest(key)
            raise NotFound(
                f"unknown {describe(key)} {key!r}",
                hint=f"did you mean {guess!r}?" if guess else None,
            )
        return entry

    def suggest(self, id: object) -> str | None:
        """The known id closest to ``id``, or None if nothing is reasonably close.

        Candidates on the same branch come first (``A.2.5`` suggests its sibling ``A.2.4``),
        then the same numbers with or without the ``A.`` prefix, then anything difflib finds
        similar enough. Within a tier difflib's similarity ratio decides, and remaining ties go
        to the nearest final number, so ``A.6.2.9`` suggests ``A.6.2.8``. A known id returns
        its canonical form.
        """
        try:
            wanted = normalise(id)
        except TypeError:
            return None
        if not wanted:
            return None
        if wanted in self._by_id:
            return wanted
        # Imported here: only error paths need difflib, and module import should stay light.
        from difflib import SequenceMatcher

        matcher = SequenceMatcher(autojunk=False)
        # difflib caches details about seq2, so the fixed string goes there.
        matcher.set_seq2(wanted)
        best: tuple[Any, str] | None = None
        for position, candidate in enumerate(self._order):
            tier, neg_shared, gap = closeness_tiebreak(wanted, candidate)
            matcher.set_seq1(candidate)
            # Only unrelated candidates need to clear the similarity bar; a sibling is a
            # plausible guess even when its characters differ more.
            if tier == 2 and (
                matcher.real_quick_ratio() < _SUGGEST_CUTOFF
                or matcher.quick_ratio() < _SUGGEST_CUTOFF
            ):
                continue
            ratio = matcher.ratio()
            if tier == 2 and ratio < _SUGGEST_CUTOFF:
                continue
            rank = (tier, -ratio, neg_shared, gap, position)
            if best is None or rank < best[0]:
                best = (rank, candidate)
        return best[1] if best else None

    # -- listings --------------------------------------------------------------------------

    def entries(self) -> list[CatalogEntry]:
        """Every entry: clauses, then Annex A groups and controls, in standard order."""
        return [self._by_id[i] for i in self._order]

    def clauses(self) -> list[CatalogEntry]:
        """All requirement clauses (top-level and sub-clauses) in standard order."""
        return [e for e in self.entries() if e.kind == "clause"]

    def groups(self) -> list[CatalogEntry]:
        """All Annex A groups in order: the nine top-level ones plus the A.6.1/A.6.2 sub-groups.

        Top-level groups are those with ``parent is None``.
        """
        return [e for e in self.entries() if e.kind == "group"]

    def controls(self, group: str | None = None) -> list[CatalogEntry]:
        """The Annex A controls in standard order, optionally only those under ``group``.

        ``group`` may be a top-level group (``"A.6"``) or a sub-group (``"A.6.2"``); an unknown
        group raises ``NotFound``.
        """
        controls = [e for e in self.entries() if e.kind == "control"]
        if group is None:
            return controls
        prefix = self.get(group).id + "."
        return [c for c in controls if c.id.startswith(prefix)]

    def children(self, id: object) -> list[CatalogEntry]:
        """Direct children of ``id`` in order (empty for leaves); ``NotFound`` if unknown."""
        entry = self.get(id)
        return [self._by_id[i] for i in self._children.get(entry.id, [])]

    def related(self, id: object) -> list[CatalogEntry]:
        """Entries linked to ``id`` by the project's own control-to-clause crosswalk.

        For a control, the clauses its evidence usually supports; for a clause, the controls
        that map to it. Not part of the standard; empty when no mapping was recorded.
        """
        entry = self.get(id)
        linked = sorted(set(self._related.get(entry.id, [])), key=sort_key)
        return [self._by_id[i] for i in linked]

    @property
    def evidence_kinds(self) -> Mapping[str, str]:
        """The evidence vocabulary: kind name -> one-line description (read-only)."""
        return self._evidence_kinds

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return (
            f"<Catalog {self.standard}: {len(self.clauses())} clauses, "
            f"{len(self.controls())} controls>"
        )
