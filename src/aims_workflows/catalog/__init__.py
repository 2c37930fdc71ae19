"""Catalogue of ISO/IEC 42001:2023 requirement clauses and Annex A controls.

Workflow files cite these ids in their ``evidences:`` list; the workflow-spec checker uses
this module to reject ids that do not exist and to suggest the one that was probably meant::

    from aims_workflows.catalog import load_catalog

    catalog = load_catalog()
    catalog.get("a.7.5").title           # 'Data provenance'
    catalog.suggest("A.6.2.9")           # 'A.6.2.8'
    len(catalog.controls())              # 38

The data lives in ``iso42001.yaml`` next to this module. Titles and summaries there are the
project's own paraphrases; the standard's text is not reproduced.

Importing this package is cheap: ruamel.yaml, importlib.resources and difflib are imported
only when the catalogue is first loaded or a suggestion is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ._ids import normalise
from ._model import Catalog, CatalogEntry

__all__ = ["Catalog", "CatalogEntry", "load_catalog", "catalog_from_data", "normalise"]


@functools.cache
def load_catalog() -> Catalog:
    """The packaged ISO/IEC 42001 catalogue, read and validated once per process.

    Raises ``aims_workflows.errors.ConfigError`` if the data file is unreadable or inconsistent
    (duplicate ids, missing parents, a control count other than 38, ...), listing every problem.
    """
    from ._load import build, parse, read_text

    return build(parse(read_text()))


def catalog_from_data(data: Mapping[str, Any], *, source: str = "<data>") -> Catalog:
    """Build a catalogue from already-parsed data in the same shape as ``iso42001.yaml``.

    Applies exactly the checks :func:`load_catalog` applies; useful for tools and tests that
    need a modified copy of the catalogue. Raises ``ConfigError`` on invalid data.
    """
    from ._load import build

    return build(data, source=source)
