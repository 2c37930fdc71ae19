"""Identifiers in the OSCAL files: control ids in OSCAL's token form, and UUIDs that stay the same
from one export to the next.

OSCAL ids are *tokens*: they start with a letter or ``_`` and hold letters, digits, ``-``, ``.``
and ``_``. Catalogue ids start with a digit (``6.1.2``) or are written ``A.6.2.4``, so they are
mapped, one to one and reversibly:

=====================  ==================  ==============================================
catalogue              OSCAL               what
=====================  ==================  ==============================================
``6.1.2``              ``clause-6.1.2``    a requirement clause (in groups ``clause-4``
                                           ... ``clause-10``)
``A.6``, ``A.6.2``     ``a-6``, ``a-6.2``  an Annex A group or sub-group
``A.6.2.4``            ``a-6.2.4``         an Annex A control
=====================  ==================  ==============================================

The catalogue id itself travels with every group and control as the OSCAL ``label`` property,
so people and tools that show labels see ``A.6.2.4``. A control's assessment objective (the
catalogue's summary, in the project's words) is the part ``<oscal id>_obj``; findings target it.

UUIDs are version 5 (name-based): the same name under :data:`NAMESPACE` always gives the same
UUID, so a re-export of unchanged data is byte-identical and a changed one differs only where
the data did. Only the standard library is used here: the CLI may import this without
compliance-trestle.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..period import Period

__all__ = [
    "NAMESPACE",
    "PROPS_NS",
    "oscal_id",
    "catalog_id",
    "objective_id",
    "sort_id",
    "stable_uuid",
    "ExportIds",
    "token",
]

NAMESPACE = uuid.UUID("506d6962-b253-4e9a-ace0-a57cc5e56ed1")
"""Fixed for good: changing it would change every UUID in every export."""

PROPS_NS = "urn:aims-workflows:oscal"
"""Namespace of the properties OSCAL does not define
itself (``soa-status``, ``ledger-hash`` ...)."""

_CLAUSE = "clause-"
_ANNEX = "a-"
_TOKEN_START = re.compile(r"[A-Za-z_]")
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._-]+")


def oscal_id(catalogue_id: str) -> str:
    """``"A.6.2.4"`` -> ``"a-6.2.4"``, ``"6.1.2"`` -> ``"clause-6.1.2"`` (canonical ids only)."""
    if catalogue_id.startswith("A."):
        return _ANNEX + catalogue_id[2:]
    return _CLAUSE + catalogue_id


def catalog_id(oscal: str) -> str:
    """The inverse of :func:`oscal_id`; ``ValueError`` for an id it did not make."""
    if oscal.startswith(_ANNEX):
        return "A." + oscal[len(_ANNEX) :]
    if oscal.startswith(_CLAUSE):
        return oscal[len(_CLAUSE) :]
    raise ValueError(f"{oscal!r} is not an OSCAL id of a catalogue entry")


def objective_id(catalogue_id: str) -> str:
    """The id of a control's assessment-objective part, the target of its findings."""
    return oscal_id(catalogue_id) + "_obj"


def sort_id(catalogue_id: str) -> str:
    """Numbers zero-padded so that text order is the standard's order (``a-06.02.04``, and
    ``a-10`` after ``a-09``), for tools that sort by OSCAL's ``sort-id`` property."""
    prefix, _, numbers = oscal_id(catalogue_id).rpartition("-")
    return f"{prefix}-" + ".".join(part.zfill(2) for part in numbers.split("."))


def stable_uuid(*name: object) -> str:
    """A UUID determined by ``name`` alone: ``stable_uuid("control", "A.6.2.4")``.

    The parts are joined with a separator that cannot occur inside a part, so ``("a", "b/c")``
    and ``("a/b", "c")`` differ.
    """
    text = "\x1f".join(str(part) for part in name)
    return str(uuid.uuid5(NAMESPACE, text))


def token(text: str) -> str:
    """Any text made into a valid OSCAL token (for role ids and the like from configuration)."""
    cleaned = _NOT_TOKEN.sub("-", text).strip("-") or "_"
    return cleaned if _TOKEN_START.match(cleaned) else "_" + cleaned


class ExportIds:
    """The UUIDs of one export: stable for the same organisation and period."""

    def __init__(self, organisation: str, period: Period) -> None:
        self.key = (organisation, period.since, period.until)

    def __call__(self, *name: object) -> str:
        return stable_uuid(*name, *self.key)
