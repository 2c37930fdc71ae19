"""Wiring the witness: the poster from aims.yaml's ``witness:`` section and the integrations,
and the worker's scheduled checkpoint (``App.pump``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .adapters.witness import WitnessPoster
from .config import AimsConfig, Settings

__all__ = [
    "checkpoint_if_due",
    "witness_poster",
    "witness_targets",
    "load_witness_key",
    "tsa_client",
]

log = logging.getLogger("aims.witness")


def witness_poster(
    settings: Settings, config: AimsConfig, jira: Any = None, slack: Any = None
) -> WitnessPoster:
    """The witnesses aims.yaml names that this process can reach (Slack needs the Slack
    integration, Jira the Jira integration)."""
    w = config.witness
    git_dir = None
    if w.git_dir:
        git_dir = Path(w.git_dir)
        if not git_dir.is_absolute():
            git_dir = settings.config.parent / git_dir
    return WitnessPoster(
        slack_client=slack.ports.client if slack is not None else None,
        slack_channel=w.slack_channel,
        jira=jira.connection if jira is not None else None,
        jira_issue=w.jira_issue,
        git_dir=git_dir,
        tsa_url=settings.witness_tsa_url,
        tsa_client=lambda: tsa_client(settings),
    )


def witness_targets(settings: Settings, config: AimsConfig) -> list[str]:
    """Where each checkpoint goes: the witnesses aims.yaml names, and the time-stamp authority
    when AIMS_WITNESS_TSA_URL is set."""
    return config.witness.targets() + (["tsa"] if settings.witness_tsa_url else [])


def tsa_client(settings: Settings) -> Any:
    """The TSA client from AIMS_WITNESS_TSA_* (ConfigError when the CA file is unreadable or
    the tsa extra is not installed)."""
    from .adapters.tsa import TsaClient, trusted_certificates
    from .errors import ConfigError

    try:
        import rfc3161_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "AIMS_WITNESS_TSA_URL is set but the rfc3161-client package is not installed",
            hint="pip install 'aims-workflows[tsa]'",
        ) from None
    url = str(settings.witness_tsa_url)
    auth = None
    if settings.witness_tsa_username is not None:
        password = settings.witness_tsa_password
        auth = (settings.witness_tsa_username, password.get_secret_value() if password else "")
    return TsaClient(url, trusted_certificates(settings.witness_tsa_ca), auth=auth)


def load_witness_key(settings: Settings) -> Any:
    from .runtime.witness import WitnessKey

    return WitnessKey.load(settings.witness_key_path())


def checkpoint_if_due(app: Any) -> Any:
    """Make a checkpoint if one is due; None when none is due or no witness is configured.
    A missing or unreadable key is logged (by path, never content) and skips the checkpoint:
    the worker's other work goes on."""
    from .errors import ConfigError
    from .runtime import witness
    from .spec.durations import parse_duration

    targets = witness_targets(app.settings, app.config)
    if not targets:
        return None
    try:
        key = app.witness_key or load_witness_key(app.settings)
    except ConfigError as err:
        log.warning("no ledger checkpoint made: %s (%s)", err, err.hint)
        return None
    app.witness_key = key
    return witness.checkpoint_if_due(
        app.db, key, targets, parse_duration(app.config.witness.every), app.runtime.clock.now()
    )
