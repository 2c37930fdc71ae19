"""Settings: the only module that reads the environment (``AIMS_*``) and ``aims.yaml``.

``aims.yaml`` maps roles to people by e-mail, sets the KPI targets and states the Statement of
Applicability's decisions about Annex A controls::

    organisation: Example Ltd
    roles:
      aims_owner: [ana@example.com]
      risk_owner: [rui@example.com]
    kpi_targets:
      risk_assessment_coverage: 0.95
    soa:
      controls:
        A.10.4: {applicable: false, justification: "We offer no AI system to customers"}
        A.4.2: {implementation: "Resource register https://wiki.example.com/aims/resources"}
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .documents.model import REFERENCE_PATTERN, DocumentFields
from .errors import ConfigError

__all__ = [
    "Settings",
    "AimsConfig",
    "KpiTargets",
    "SoaConfig",
    "SoaControl",
    "SegregationConfig",
    "ScheduleConfig",
    "SHIPPED",
    "load_config",
    "jira_rest_url",
    "settings_error",
    "DEFAULT_CONFIG_TEXT",
]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Settings(BaseSettings):
    """Environment settings. Every one can be set as ``AIMS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="AIMS_", extra="ignore")

    database_url: str = "sqlite:///aims.db"
    config: Path = Path("aims.yaml")
    workflows: Path | None = Field(default=None, description="directory of workflow files")
    jira_url: str | None = Field(
        default=None, description="Jira Cloud site, e.g. https://example.atlassian.net"
    )
    jira_api_url: str | None = Field(
        default=None,
        description=(
            "REST API base when it differs from AIMS_JIRA_URL: scoped API tokens and service "
            "accounts call https://api.atlassian.com/ex/jira/{cloudId}; AIMS_JIRA_URL stays the "
            "site people open issues in"
        ),
    )
    jira_email: str | None = Field(default=None, description="the integration account's e-mail")
    jira_api_token: SecretStr | None = None
    jira_project: str = "AIMS"
    jira_issue_type: str = Field(
        default="Task", min_length=1, description="the issue type of the tasks aims creates"
    )
    jira_nonconformity_type: str = Field(
        default="Nonconformity",
        min_length=1,
        description="the issue type people report nonconformities with",
    )
    jira_proposal_type: str = Field(
        default="AI system proposal",
        min_length=1,
        description="the issue type people propose new AI systems with",
    )
    jira_webhook_secret: SecretStr | None = None
    jira_mode: Literal["webhook", "poll"] = Field(
        default="webhook",
        description=(
            "webhook: Jira calls aims back (needs a URL Jira can reach); poll: no webhook, "
            "`aims worker` polls Jira every AIMS_JIRA_POLL_SECONDS"
        ),
    )
    jira_poll_seconds: int = Field(
        default=60, ge=15, description="how often `aims worker` asks Jira what changed"
    )

    @field_validator("jira_api_url")
    @classmethod
    def _api_url_form(cls, url: str | None) -> str | None:
        return _check_jira_api_url(url)

    jira_token_expires: date | None = Field(
        default=None,
        description="the day the Jira API token expires (id.atlassian.com shows it): doctor warns",
    )
    # Slack: secrets are SecretStr so that they print as '**********' in reprs, logs and errors.
    slack_bot_token: SecretStr | None = Field(
        default=None, description="bot token (xoxb-...) of the Slack app"
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="signing secret of the Slack app"
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        description="app-level token (xapp-...) for Socket Mode: `aims serve --socket-mode`",
    )
    slack_channel: str | None = Field(
        default=None, description="channel for approvals whose step says channel"
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (the sandbox sets it)"
    )

    @property
    def config_required(self) -> bool:
        """The configuration file was named on purpose (``AIMS_CONFIG``): it must exist."""
        return "config" in self.model_fields_set

    confluence_url: str | None = Field(
        default=None,
        description="Confluence Cloud site, e.g. https://example.atlassian.net/wiki",
    )
    confluence_email: str | None = Field(
        default=None, description="the e-mail of the account that publishes pages"
    )
    confluence_api_token: SecretStr | None = None
    confluence_space: str | None = Field(
        default=None, description="key of the space that holds the published documents"
    )
    confluence_parent: str = Field(
        default="AI management system",
        description="title of the page the documents are published under (created if missing)",
    )
    public_url: str | None = Field(
        default=None,
        description="where people reach aims serve (e.g. https://aims.example.com): Slack "
        "messages link to run pages there",
    )
    dashboard_token: SecretStr | None = Field(
        default=None,
        description=(
            "token that /dashboard and /api/* require (Bearer, or Basic with any user name)"
        ),
    )
    witness_key: Path | None = Field(
        default=None,
        description=(
            "file of the Ed25519 key that signs ledger checkpoints (default: aims-witness.key "
            "next to aims.yaml); `aims init` creates it"
        ),
    )

    # An RFC 3161 time-stamp authority as one more witness: every checkpoint is timestamped there
    witness_tsa_url: str | None = Field(
        default=None,
        description="an RFC 3161 time-stamp authority (HTTP POST of application/timestamp-query) "
        "that timestamps every ledger checkpoint; needs `pip install aims-workflows[tsa]`",
    )
    witness_tsa_ca: Path | None = Field(
        default=None,
        description="PEM file of the CA certificate(s) the TSA's certificate must chain to "
        "(default: the certifi bundle of public CAs)",
    )
    witness_tsa_username: str | None = Field(
        default=None, description="user name, when the TSA asks for HTTP basic authentication"
    )
    witness_tsa_password: SecretStr | None = Field(
        default=None, description="password for the TSA's basic authentication"
    )

    def witness_key_path(self) -> Path:
        return self.witness_key or self.config.parent / "aims-witness.key"


_GATEWAY = re.compile(r"^https://api\.atlassian\.com/ex/jira/[0-9a-fA-F-]{36}/?$")


def _check_jira_api_url(url: str | None) -> str | None:
    if url and "api.atlassian.com" in url and not _GATEWAY.match(url):
        raise ValueError(
            "AIMS_JIRA_API_URL for a scoped token must be https://api.atlassian.com/ex/jira/"
            "{cloudId}, where cloudId is the id that https://<site>.atlassian.net/"
            "_edge/tenant_info shows"
        )
    return url.rstrip("/") if url else url


def settings_error(err: ValidationError) -> ConfigError:
    """A refused environment setting as a message naming the variable; never its value,
    which may be a secret."""
    lines = []
    for problem in err.errors():
        name = "AIMS_" + str(problem["loc"][0]).upper() if problem["loc"] else "AIMS_*"
        lines.append(f"{name}: {str(problem['msg']).removeprefix('Value error, ')}")
    return ConfigError(
        "invalid setting: " + "; ".join(lines), hint="fix the environment variable named"
    )


def jira_rest_url(settings: Settings) -> str | None:
    """Where the Jira REST calls go: the API URL when set (scoped tokens), else the site."""
    return settings.jira_api_url or settings.jira_url


class KpiTargets(BaseModel):
    """One target per KPI (``aims kpi --explain`` shows each KPI's definition and target).
    ``control_evidence_fresh_days`` is no target: it is how old a control's latest evidence may
    be and still count as current; nor are ``training_valid_days`` (how long a completed
    training counts as current) and ``findings_period_days`` (the period nonconformities raised
    are counted over)."""

    model_config = ConfigDict(extra="forbid")

    risk_assessment_coverage: float = Field(0.95, ge=0, le=1)
    impact_assessment_coverage: float = Field(0.90, ge=0, le=1)
    open_tasks: int = Field(50, ge=0)
    overdue_tasks: int = Field(0, ge=0)
    median_approval_latency_hours: float = Field(48, gt=0)
    # the corrective-action workflow's due dates, from the finding to the action implemented,
    # add up to 57 days: an action that keeps to them meets this target
    mean_days_to_close_nonconformity: float = Field(60, gt=0)
    nonconformity_action_effectiveness: float = Field(0.8, ge=0, le=1)
    controls_with_current_evidence: float = Field(0.9, ge=0, le=1)
    control_evidence_fresh_days: int = Field(365, gt=0)
    repeated_audit_findings: int = Field(0, ge=0)
    overdue_treatments: int = Field(0, ge=0)
    training_completion: float = Field(0.9, ge=0, le=1)
    training_valid_days: int = Field(365, gt=0)
    # the ai-incident workflow's due dates: report and triage a day each, containment two days
    # after triage, and about three weeks from detection to the close approved
    incident_median_hours_to_triage: float = Field(48, gt=0)
    incident_median_hours_to_contain: float = Field(96, gt=0)
    incident_median_days_to_close: float = Field(30, gt=0)
    open_findings: int = Field(10, ge=0)
    nonconformities_raised: int = Field(10, ge=0)
    findings_period_days: int = Field(30, gt=0)

    @field_validator("*", mode="before")
    @classmethod
    def _no_empty_target(cls, value: Any, info: Any) -> Any:
        # `kpi_targets: {overdue_tasks: }` reads as null: say what to write instead
        if value is None:
            raise PydanticCustomError(
                "kpi_target",
                _literal(
                    f"kpi_targets.{info.field_name} has no value: give a number (the default is "
                    f"{cls.model_fields[info.field_name].default}), or remove the line to use "
                    "the default"
                ),
            )
        return value


def _annex_control_id(value: Any) -> str:
    """An Annex A control id in canonical form; anything else is refused with a suggestion."""
    from .catalog import load_catalog, normalise

    try:
        wanted = normalise(value)
    except TypeError:
        raise PydanticCustomError(
            "soa_control", _literal(f"{value!r} is not a control id such as 'A.6.2.4'")
        ) from None
    catalog = load_catalog()
    if wanted in catalog:
        entry = catalog.get(wanted)
        if entry.kind == "control":
            return entry.id
        kind = "a clause" if entry.kind == "clause" else "an Annex A group"
        raise PydanticCustomError(
            "soa_control",
            _literal(
                f"'{wanted}' is {kind}, not an Annex A control: the Statement of Applicability "
                "lists controls (see `aims catalog`)"
            ),
        )
    close = catalog.suggest(wanted)
    hint = f"did you mean '{close}'?" if close else "see `aims catalog` for the control ids"
    raise PydanticCustomError(
        "soa_control", _literal(f"unknown Annex A control '{wanted}' ({hint})")
    )


def _literal(message: str) -> str:
    """``message`` as a pydantic error template that formats to itself (braces doubled)."""
    return message.replace("{", "{{").replace("}", "}}")


ControlId = Annotated[str, BeforeValidator(_annex_control_id)]


class SoaControl(BaseModel):
    """What the Statement of Applicability says about one Annex A control.

    A control not listed is applicable with nothing stated; an excluded one must say why.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    applicable: bool = True
    justification: str = Field(
        "", description="why the control is included or, when excluded, why not"
    )
    implementation: str = Field(
        "", description="how it is implemented: free text or a link to the document"
    )

    @model_validator(mode="after")
    def _exclusion_needs_a_reason(self) -> SoaControl:
        if not self.applicable and not self.justification:
            raise PydanticCustomError(
                "soa_exclusion",
                "an excluded control needs a justification: say why it does not apply",
            )
        return self


class SoaConfig(BaseModel):
    """The Statement of Applicability's decisions:
    ``controls`` maps Annex A ids to a :class:`SoaControl`."""

    model_config = ConfigDict(extra="forbid")

    controls: dict[ControlId, SoaControl] = Field(default_factory=dict)

    @field_validator("controls", mode="before")
    @classmethod
    def _no_id_twice(cls, value: Any) -> Any:
        # "a.5.2" and "A.5.2" are the same control: two entries would silently overwrite each other
        if isinstance(value, dict):
            from .catalog import normalise

            seen: dict[str, Any] = {}
            for key in value:
                try:
                    canonical = normalise(key)
                except TypeError:
                    continue  # reported by the key's own validation
                if canonical in seen:
                    raise PydanticCustomError(
                        "soa_duplicate",
                        _literal(
                            f"control {canonical} is listed twice ({seen[canonical]!r} and {key!r})"
                        ),
                    )
                seen[canonical] = key
        return value

    def control(self, control_id: str) -> SoaControl:
        """The stated decision for a control (applicable with nothing stated when not listed)."""
        return self.controls.get(control_id) or SoaControl()


class WitnessConfig(BaseModel):
    """Where signed checkpoints of the ledger head are posted, and how often (``witness:``)."""

    model_config = ConfigDict(extra="forbid")

    every: str = Field("1d", description="how often the worker makes a checkpoint (1d, 12h...)")
    slack_channel: str | None = Field(
        None, description="the Slack channel's ID (C...): conversations.history reads it back"
    )
    jira_issue: str | None = Field(None, description="the pinned Jira issue to comment on")
    git_dir: str | None = Field(
        None, description="a directory (a git repository: each checkpoint is committed)"
    )

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        from .spec.durations import parse_duration

        parse_duration(value)
        return value

    def targets(self) -> list[str]:
        found = [("slack", self.slack_channel), ("jira", self.jira_issue), ("git", self.git_dir)]
        return [name for name, where in found if where]


class SegregationConfig(BaseModel):
    """Roles one person may not hold together (``conflicting_roles: [[risk_owner,
    internal_auditor]]``): `aims validate` and `aims people list` name whoever holds both, and a
    decision by such a person on an approval of either role is refused."""

    model_config = ConfigDict(extra="forbid")

    conflicting_roles: list[tuple[str, str]] = Field(default_factory=list)

    @field_validator("conflicting_roles")
    @classmethod
    def _two_different_roles(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for first, second in pairs:
            if first == second:
                raise ValueError(f"'{first}' cannot conflict with itself: name two roles")
        return pairs


class ScheduleConfig(BaseModel):
    """When a recurring workflow (``trigger.schedule``) first falls due.

    Without it, a yearly internal audit would start on the worker's first pass, the day aims is
    installed. ``first_due`` is the day the first run starts; later runs follow the workflow's
    interval from the last start."""

    model_config = ConfigDict(extra="forbid")

    first_due: date = Field(description="the day the first run starts (YYYY-MM-DD)")


class AuditAreaConfig(BaseModel):
    """One area of the internal audit programme and the clauses and controls it covers (a
    clause or group id covers everything under it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$", description="short id, e.g. data")
    title: str = Field(min_length=1, max_length=120)
    covers: list[str] = Field(min_length=1, description="clause and control ids, e.g. 8, A.7")
    risk_related: bool = Field(
        False, description="audited more often while high-risk AI systems are in scope"
    )

    @field_validator("covers", mode="before")
    @classmethod
    def _numbers_as_ids(cls, value: Any) -> Any:
        # YAML reads an unquoted 8 or 6.1 as a number: the clause meant is its text
        if isinstance(value, list):
            return [
                str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                for v in value
            ]
        return value


class AuditProgrammeConfig(BaseModel):
    """The internal audit programme (``audit_programme:``): the certification cycle it spans and,
    when the default areas do not fit, the organisation's own areas."""

    model_config = ConfigDict(extra="forbid")

    cycle_years: int = Field(3, ge=1, le=6, description="length of the certification cycle")
    cycle_start: date | None = Field(
        None, description="first day of the cycle (default: the first day of this year)"
    )
    areas: list[AuditAreaConfig] | None = Field(
        None, description="the programme's audit areas (default: twelve areas over 4 to 10, A)"
    )


SHIPPED = "shipped"
"""``workflows: shipped`` in aims.yaml: the workflows that come with the package."""


class AimsConfig(BaseModel):
    """The contents of ``aims.yaml``."""

    model_config = ConfigDict(extra="forbid")

    organisation: str = "Our organisation"
    roles: dict[str, list[str]] = Field(default_factory=dict)
    kpi_targets: KpiTargets = KpiTargets()
    workflows: Literal["shipped"] | list[str] = Field(
        "shipped",
        description="'shipped' (the package's workflows) or folders of workflow files, relative "
        "to aims.yaml",
    )
    schedules: dict[str, ScheduleConfig] = Field(
        default_factory=dict, description="workflow id -> when its schedule first falls due"
    )
    soa: SoaConfig = SoaConfig()
    audit_programme: AuditProgrammeConfig = AuditProgrammeConfig()
    witness: WitnessConfig = WitnessConfig()
    segregation: SegregationConfig = SegregationConfig()
    cli_decisions: Literal["allow", "forbid"] | None = Field(
        None,
        description="whether tasks and approvals may be decided from the CLI; unset: allowed "
        "until Jira or Slack is configured, forbidden after",
    )
    documents: dict[str, DocumentFields] = Field(
        default_factory=dict,
        description="documented information kept outside aims, by its reference",
    )

    @field_validator("documents")
    @classmethod
    def _references(cls, documents: dict[str, DocumentFields]) -> dict[str, DocumentFields]:
        for reference in documents:
            if not REFERENCE_PATTERN.match(reference):
                raise ValueError(
                    f"document reference '{reference}' must be letters, digits and . _ / - "
                    "(at most 100), such as AIMS-POL-001"
                )
        return documents

    @field_validator("roles")
    @classmethod
    def _emails(cls, roles: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, people in roles.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", role):
                raise ValueError(f"role '{role}' must be lower-case snake_case")
            for person in people:
                if not _EMAIL.match(person):
                    raise ValueError(f"role '{role}': '{person}' is not an e-mail address")
        return roles

    def people(self, role: str) -> list[str]:
        return list(self.roles.get(role, []))

    def roles_of(self, person: str) -> tuple[str, ...]:
        return tuple(sorted(role for role, people in self.roles.items() if person in people))

    def role_names(self) -> set[str]:
        return set(self.roles)

    def conflicts_of(self, roles: tuple[str, ...] | set[str]) -> tuple[tuple[str, str], ...]:
        """The conflicting pairs of aims.yaml that ``roles`` holds both of."""
        pairs = self.segregation.conflicting_roles
        if not pairs:  # the usual case, asked for every actor of every event
            return ()
        held = set(roles)
        return tuple((a, b) for a, b in pairs if a in held and b in held)

    @model_validator(mode="after")
    def _conflicts_name_known_roles(self) -> AimsConfig:
        from .spec.checks import DEFAULT_ROLES

        known = set(DEFAULT_ROLES) | set(self.roles)
        for pair in self.segregation.conflicting_roles:
            for role in pair:
                if role not in known:
                    raise PydanticCustomError(
                        "unknown_role",
                        _literal(
                            f"segregation.conflicting_roles names '{role}', a role aims.yaml "
                            f"does not define (roles: {', '.join(sorted(known))})"
                        ),
                    )
        return self


DEFAULT_CONFIG_TEXT = """\
# aims-workflows configuration: who holds which role, and the KPI targets.
# People are named by e-mail: the Jira and Slack integrations look them up by it.
organisation: Example Ltd
roles:
  top_management: [ceo@example.com]
  aims_owner: [aims.owner@example.com]
  risk_owner: [risk.owner@example.com]
  ciso: [ciso@example.com]
  engineer: [engineer@example.com]
  internal_auditor: [auditor@example.com]
  data_protection_officer: [dpo@example.com]
  legal_counsel: [legal@example.com]
kpi_targets:
  risk_assessment_coverage: 0.95      # share of in-scope AI systems with a current risk assessment
  impact_assessment_coverage: 0.90    # ... and a current impact assessment
  open_tasks: 50                      # workload ceiling: open tasks across all runs
  overdue_tasks: 0
  median_approval_latency_hours: 48
  mean_days_to_close_nonconformity: 60  # finding raised -> corrective action implemented
  nonconformity_action_effectiveness: 0.8  # effectiveness checks that found the action worked
  controls_with_current_evidence: 0.9  # applicable Annex A controls with evidence this year
  control_evidence_fresh_days: 365    # evidence older than this is stale
  repeated_audit_findings: 0          # findings in an area (clause) that had one before
  training_completion: 0.9           # role holders with current, acknowledged training
  training_valid_days: 365            # a completed training counts as current this long
  incident_median_hours_to_triage: 48 # AI incidents: detection -> triage
  incident_median_hours_to_contain: 96  # ... -> containment
  incident_median_days_to_close: 30   # ... -> closed (incident record written)
  open_findings: 10                   # nonconformities not yet closed, from any source
  nonconformities_raised: 10          # raised in the last findings_period_days
  findings_period_days: 30
# The workflows in use: `shipped` (those that come with aims-workflows, updated with it), or
# folders of your own copies (`aims init --copy-workflows` copies the shipped ones to workflows/).
workflows: shipped
# Recurring workflows start on the worker's first pass after their first due date, then every
# interval their file sets (365d for these). Without a date here, the first run falls due one
# interval after the ledger's first row (for an AI system: one interval after it was registered).
# schedules:
#   internal-audit: {first_due: 2027-03-01}
#   management-review: {first_due: 2027-04-15}
# Segregation of duties: roles one person may not hold together (reported by `aims validate`
# and `aims people list`; such a person's decision on an approval of either role is refused).
# segregation:
#   conflicting_roles: [[risk_owner, internal_auditor]]
# Whether tasks and approvals may be decided from the CLI (`--as` is a claim, not a login).
# Unset: allowed until Jira or Slack is configured, forbidden after.
# cli_decisions: forbid
# Statement of Applicability: every Annex A control applies unless excluded here with a reason.
# `aims export soa` lists each control with the workflows and evidence behind it.
# soa:
#   controls:
#     A.10.4: {applicable: false, justification: "No AI system is provided to customers"}
#     A.6.2.2: {justification: "We develop our own models", implementation: "https://wiki.example.com/aims/requirements"}
# Documented information kept outside aims (`aims documents list` shows what is required):
# documents:
#   AIMS-POL-001:
#     requirement: policy          # or the clause: "5.2"
#     title: AI policy
#     version: "1.0"
#     author: aims.owner@example.com
#     approver: ceo@example.com
#     approved_on: 2026-01-15
#     next_review: 2027-01-15
#     location: https://wiki.example.com/aims/ai-policy
#     file: policies/ai-policy.pdf   # optional: its SHA-256 is checked (relative to aims.yaml)
"""


def load_config(path: Path, *, required: bool = False) -> AimsConfig:
    """Read ``aims.yaml``. Problems name the key and line, unknown keys and misspelt roles
    with a suggestion.

    A missing file gives the defaults, unless ``required`` (the path was given on purpose, as
    ``AIMS_CONFIG`` or ``--config``): then it is an error, not a silent organisation of nobody.
    """
    from .spec.problems import format_path
    from .spec.source import YamlSyntaxError, read_yaml

    if not path.exists():
        if required:
            raise ConfigError(
                f"configuration file {path} does not exist",
                hint="check AIMS_CONFIG (or --config), or run `aims init` to write it there",
            )
        return AimsConfig()
    if path.is_dir():
        raise ConfigError(f"configuration file {path} is a directory", hint="name aims.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"cannot read {path}: {err}", hint="it must be a UTF-8 YAML file"
        ) from None
    try:
        source = read_yaml(text) if text.strip() else None
    except YamlSyntaxError as err:
        raise ConfigError(f"{path}:{err.line}:{err.column}: YAML syntax: {err.message}") from None
    data = source.data if source else None
    if data is None:  # empty, or nothing but comments: the defaults
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping (organisation, roles, kpi_targets)")
    lines = []
    try:
        config = AimsConfig.model_validate(data)
    except ValidationError as err:
        for e in err.errors():
            loc = tuple(
                part for part in e["loc"] if part != "[key]"
            )  # a bad mapping key: point at the key
            line, column = source.position(loc) if source else (0, 0)
            lines.append(f"{path}:{line}:{column} {format_path(loc)}: {_message(e, loc)}")
        config = None
    roles = data.get("roles")
    for role in roles if isinstance(roles, dict) else {}:
        near = _misspelt_role(str(role), roles)
        if near:
            line, column = source.position(("roles", role)) if source else (0, 0)
            lines.append(f"{path}:{line}:{column} roles.{role}: unknown role '{role}' ({near})")
    if lines or config is None:
        raise ConfigError(
            "invalid configuration:\n" + "\n".join(lines),
            hint="see `aims init` for a commented example",
        ) from None
    unreadable = []
    for reference, document in config.documents.items():
        if document.file is None:
            continue
        problem = _unreadable(path.parent / document.file)
        if problem:
            line, column = source.position(("documents", reference, "file")) if source else (0, 0)
            unreadable.append(
                f"{path}:{line}:{column} documents.{reference}.file: cannot read "
                f"'{document.file}' ({problem})"
            )
    if unreadable:
        raise ConfigError(
            "invalid configuration:\n" + "\n".join(unreadable),
            hint="a document's file is read to record its SHA-256: give a path relative to "
            f"{path.name} that can be read, or remove file and keep the location",
        )
    return config


def _unreadable(file: Path) -> str | None:
    """Why ``file`` cannot be read, or None."""
    if not file.exists():
        return "no such file"
    if not file.is_file():
        return "not a file"
    try:
        with file.open("rb"):
            return None
    except OSError as err:
        return err.strerror or "cannot be opened"


def _known_keys() -> set[str]:
    keys: set[str] = set()
    for model in (AimsConfig, KpiTargets, SoaConfig, SoaControl, ScheduleConfig):
        keys.update(model.model_fields)
    return keys


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    """pydantic's message, or for an unknown key what it is and the key that was meant."""
    from .spec.problems import did_you_mean

    if error["type"] == "extra_forbidden" and loc:
        key = str(loc[-1])
        return f"unknown key '{key}'" + (
            f" ({near})" if (near := did_you_mean(key, _known_keys())) else ""
        )
    if error["type"] == "literal_error" and loc[:1] == ("workflows",):
        return "must be 'shipped' or a list of folders of workflow files"
    return str(error["msg"])


def _misspelt_role(role: str, configured: Any) -> str | None:
    """``did you mean 'internal_auditor'?`` for a role that is not one the shipped workflows use
    but is close to one that this file does not define: a typo that would leave the real role
    with nobody. Roles of one's own (approver groups) are not near a known one and pass."""
    from .spec.checks import DEFAULT_ROLES
    from .spec.problems import did_you_mean

    if role in DEFAULT_ROLES:
        return None
    return did_you_mean(role, DEFAULT_ROLES - set(map(str, configured)))
