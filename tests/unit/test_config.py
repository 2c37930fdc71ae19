"""aims.yaml and the AIMS_* settings: located errors, e-mail checks, unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from aims_workflows.config import DEFAULT_CONFIG_TEXT, AimsConfig, Settings, load_config
from aims_workflows.errors import ConfigError


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "aims.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def test_the_default_text_loads_and_names_every_shipped_role(tmp_path):
    config = load_config(write(tmp_path, DEFAULT_CONFIG_TEXT))
    assert config.organisation == "Example Ltd"
    assert {
        "top_management",
        "aims_owner",
        "risk_owner",
        "engineer",
        "internal_auditor",
    } <= config.role_names()
    assert config.kpi_targets.risk_assessment_coverage == 0.95


def test_a_missing_file_gives_the_defaults(tmp_path):
    config = load_config(tmp_path / "absent.yaml")
    assert config == AimsConfig()
    assert config.people("engineer") == []


def test_an_empty_file_gives_the_defaults(tmp_path):
    assert load_config(write(tmp_path, "  \n# nothing yet\n")).organisation == "Our organisation"


def test_people_and_roles_lookups(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "roles:\n  engineer: [eve@example.com, "
            "ed@example.com]\n  risk_owner: [eve@example.com]\n",
        )
    )
    assert config.people("engineer") == ["eve@example.com", "ed@example.com"]
    assert config.roles_of("eve@example.com") == ("engineer", "risk_owner")
    assert config.roles_of("nobody@example.com") == ()


def test_a_bad_email_is_located_by_line_and_key(tmp_path):
    path = write(
        tmp_path,
        "organisation: Example\nroles:\n  engineer: "
        "[eve@example.com]\n  risk_owner: [rita at example]\n",
    )
    err = error_of(path)
    assert f"{path}:" in err.message
    assert "roles" in err.message
    assert "'rita at example' is not an e-mail address" in err.message
    assert "aims init" in err.hint


@pytest.mark.parametrize(
    "email", ["rita", "rita@", "@example.com", "rita@example", "ri ta@example.com"]
)
def test_each_kind_of_bad_email_is_refused(tmp_path, email):
    err = error_of(write(tmp_path, f"roles:\n  risk_owner: ['{email}']\n"))
    assert f"'{email}' is not an e-mail address" in err.message


def test_a_role_name_must_be_snake_case(tmp_path):
    err = error_of(write(tmp_path, "roles:\n  Risk-Owner: [rita@example.com]\n"))
    assert "role 'Risk-Owner' must be lower-case snake_case" in err.message


def test_an_unknown_top_level_key_is_located(tmp_path):
    path = write(tmp_path, "organisation: Example\nrolez:\n  engineer: [eve@example.com]\n")
    err = error_of(path)
    assert f"{path}:2:" in err.message
    assert "unknown key 'rolez' (did you mean 'roles'?)" in err.message


def test_an_unknown_kpi_target_and_an_out_of_range_one_are_both_reported(tmp_path):
    path = write(tmp_path, "kpi_targets:\n  risk_assessment_coverage: 1.5\n  speed: 3\n")
    err = error_of(path)
    lines = err.message.splitlines()
    assert lines[0] == "invalid configuration:"
    assert any(
        f"{path}:2:" in line
        and "risk_assessment_coverage" in line
        and "less than or equal to 1" in line
        for line in lines
    )
    assert any(f"{path}:3:" in line and "unknown key 'speed'" in line for line in lines)


def test_yaml_syntax_errors_are_located(tmp_path):
    path = write(tmp_path, "organisation: Example\nroles: [unclosed\n")
    err = error_of(path)
    assert err.message.startswith(f"{path}:")
    assert "YAML syntax" in err.message


def test_a_list_instead_of_a_mapping_is_refused(tmp_path):
    err = error_of(write(tmp_path, "- organisation\n- roles\n"))
    assert "must be a mapping" in err.message


def test_binary_junk_is_refused_with_a_reason(tmp_path):
    err = error_of(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"))
    assert "cannot read" in err.message and "UTF-8" in err.hint


def test_people_must_be_a_list(tmp_path):
    err = error_of(write(tmp_path, "roles:\n  engineer: eve@example.com\n"))
    assert "roles.engineer" in err.message or "engineer" in err.message


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AIMS_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "other.yaml"))
    monkeypatch.setenv("AIMS_WORKFLOWS", str(tmp_path / "wf"))
    settings = Settings()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.config == tmp_path / "other.yaml"
    assert settings.workflows == tmp_path / "wf"


def test_settings_defaults(monkeypatch):
    for name in ("AIMS_DATABASE_URL", "AIMS_CONFIG", "AIMS_WORKFLOWS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite:///aims.db"
    assert settings.config == Path("aims.yaml") and settings.workflows is None
