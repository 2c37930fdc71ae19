"""Catalogue id handling: canonical form, ordering and closeness of ids.

Kept free of imports beyond the standard library's basics because the workflow-spec checker
normalises every id it reads, and that path should stay cheap.
"""

from __future__ import annotations

__all__ = [
    "normalise",
    "sort_key",
    "components",
    "parent_of",
    "is_annex",
    "describe",
    "closeness_tiebreak",
]


def normalise(id: object) -> str:
    """Return the canonical spelling of a catalogue id.

    Removes all whitespace and trailing dots and upper-cases the Annex A prefix, so
    ``" a.5.2 "`` becomes ``"A.5.2"``; a missing dot after the prefix is restored (``"A5.2"``).
    Integers and floats are accepted because an unquoted ``evidences: [8.2]`` in a YAML
    workflow file arrives as a float, and rejecting it would only confuse the author.
    Raises ``TypeError`` for anything else.
    """
    # bool is an int subclass, but True is never a meaningful clause number.
    if isinstance(id, bool) or not isinstance(id, (str, int, float)):
        raise TypeError(f"catalogue id must be a string, not {type(id).__name__}")
    text = id if isinstance(id, str) else repr(id)
    text = "".join(text.split()).rstrip(".").upper()
    if len(text) > 1 and text[0] == "A" and text[1].isdigit():
        text = "A." + text[1:]
    return text


def components(id: str) -> list[str]:
    """Split a canonical id into its numeric parts, without the ``A`` prefix."""
    parts = id.split(".")
    return parts[1:] if parts[0] == "A" else parts


def is_annex(id: str) -> bool:
    """True for Annex A ids (groups and controls), false for requirement clauses."""
    return id.startswith("A.")


def parent_of(id: str) -> str | None:
    """The id one level up, or None at the top (``"6"``, ``"A.6"``).

    The catalogue's numbering is strictly hierarchical, so the parent can be derived; the data
    file still states it explicitly and the loader checks the two agree, which catches typos.
    """
    parts = id.split(".")
    top_len = 2 if is_annex(id) else 1
    return ".".join(parts[:-1]) if len(parts) > top_len else None


def sort_key(id: str) -> tuple[int, tuple[int, ...]]:
    """Order clauses before Annex A, then numerically (so 10 follows 9 and A.10 follows A.9)."""
    nums = tuple(int(p) if p.isdigit() else -1 for p in components(id))
    return (1 if is_annex(id) else 0, nums)


def describe(id: str) -> str:
    """A noun for error messages: what kind of thing the (unknown) id looks like."""
    if is_annex(id):
        return "Annex A group" if len(components(id)) == 1 else "control"
    if all(p.isdigit() for p in components(id)):
        return "clause"
    return "catalogue id"


def closeness_tiebreak(wanted: str, candidate: str) -> tuple[int, int, int]:
    """Structural ranking of a suggestion candidate; smaller is closer.

    Character similarity alone misleads on numbered ids: ``A.2.5`` shares more characters with
    ``A.6.2.5`` than with its sibling ``A.2.4``, and ``A.6.2.9`` is equally similar to every
    ``A.6.2.x``. Real typos nearly always stay on the same branch, so the key is
    ``(tier, -shared leading parts, gap between last numbers)`` where tier 0 is a sibling
    (same family, same parent), tier 1 is the same numbers in the other family (a forgotten or
    extra ``A.`` prefix) and tier 2 is anything else.
    """
    a, b = wanted.split("."), candidate.split(".")
    # Free text such as "risk register" has no branch; only numbered ids get the first tiers.
    numbered = all(p.isdigit() for p in components(wanted))
    if not numbered:
        tier = 2
    elif is_annex(wanted) == is_annex(candidate) and len(a) == len(b) and a[:-1] == b[:-1]:
        tier = 0
    elif components(wanted) == components(candidate):
        tier = 1
    else:
        tier = 2
    shared = 0
    for x, y in zip(a, b, strict=False):  # the common prefix of two ids of any length
        if x != y:
            break
        shared += 1
    gap = 10**6
    if len(a) == len(b) and a[-1].isdigit() and b[-1].isdigit():
        gap = abs(int(a[-1]) - int(b[-1]))
    return (tier, -shared, gap)
