"""compliance-trestle's OSCAL models, imported only when an OSCAL file is built.

trestle is an optional extra (``pip install 'aims-workflows[oscal]'``) and takes most of a
second to import, so nothing imports it at start-up; :func:`oscal_models` imports it on first
use and turns its absence into an error that says how to install it.
"""

from __future__ import annotations

from types import SimpleNamespace

from ...errors import ExportError

__all__ = ["INSTALL_HINT", "MIN_VERSION", "oscal_models", "available"]

INSTALL_HINT = "pip install 'aims-workflows[oscal]'"
MIN_VERSION = (5, 0)
"""Releases before 5 build their models on pydantic's v1 compatibility layer, whose API differs."""


def oscal_models() -> SimpleNamespace:
    """``common``, ``catalog``, ``profile``, ``ssp``, ``assessment_plan``, ``assessment_results``,
    ``poam`` and ``OSCAL_VERSION``.

    Raises ``ExportError`` naming the install command when compliance-trestle is missing or too
    old; never an ImportError traceback.
    """
    try:
        import trestle
        from trestle.oscal import (
            OSCAL_VERSION,
            assessment_plan,
            assessment_results,
            catalog,
            common,
            poam,
            profile,
            ssp,
        )
    except ImportError:
        raise ExportError(
            "OSCAL export needs compliance-trestle, which is not installed",
            hint=f"install it with: {INSTALL_HINT}",
        ) from None
    version = getattr(trestle, "__version__", "0")
    if _release(version) < MIN_VERSION:
        raise ExportError(
            f"OSCAL export needs compliance-trestle 5 or newer; {version} is installed",
            hint=f"upgrade it with: {INSTALL_HINT} --upgrade",
        )
    return SimpleNamespace(
        common=common,
        catalog=catalog,
        profile=profile,
        ssp=ssp,
        assessment_plan=assessment_plan,
        assessment_results=assessment_results,
        poam=poam,
        OSCAL_VERSION=OSCAL_VERSION,
        trestle_version=version,
    )


def available() -> bool:
    """Whether :func:`oscal_models` would succeed
    (the audit pack adds the OSCAL files only then)."""
    try:
        oscal_models()
    except ExportError:
        return False
    return True


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
