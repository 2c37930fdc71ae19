"""The package's public surface is deliberate: this test pins it."""

import subprocess
import sys

import aims_workflows

EXPECTED = {
    "AimsConfig",
    "AimsError",
    "Actor",
    "Command",
    "ConfigError",
    "Database",
    "Dispatcher",
    "EngineError",
    "Event",
    "EvidenceRecord",
    "ExportError",
    "IntegrationError",
    "Inventory",
    "InventoryError",
    "LedgerTampered",
    "NotFound",
    "PermanentError",
    "RetryableError",
    "RunState",
    "Runtime",
    "Settings",
    "SpecError",
    "StoreError",
    "Subject",
    "Transition",
    "WorkflowSpec",
    "__version__",
    "advance",
    "load_catalog",
    "load_spec",
    "load_workflows",
    "new_run",
    "open_app",
    "parse_event",
    "parse_spec",
}


def test_all_is_pinned():
    assert set(aims_workflows.__all__) == EXPECTED


def test_every_public_name_resolves():
    for name in aims_workflows.__all__:
        assert getattr(aims_workflows, name) is not None


def test_unknown_name_is_an_attribute_error():
    try:
        aims_workflows.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_does_not_load_the_heavy_parts():
    code = (
        "import sys, aims_workflows; print(sorted(m for m in "
        "('sqlalchemy', 'pydantic', 'jinja2', 'rich') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
