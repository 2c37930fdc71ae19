"""The workflow language as frozen pydantic models (``extra="forbid"``: a typo is an error).

A workflow file is one :class:`WorkflowSpec`. Its ``steps`` run in order unless a step names its
``next`` step; ``end`` completes the run. Step kinds: ``task`` (a Jira issue for a role, with a
form), ``approval`` (a Slack sign-off by roles, with quorum and segregation of duties),
``decision`` (ordered conditions), ``spawn`` (start other workflows), ``record`` (an artefact with
computed fields), ``notify`` and ``wait``. See ``docs/workflow-language.md`` for every key, with
examples.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from .durations import Duration

__all__ = [
    "END",
    "SUBJECT_ATTRIBUTES",
    "INVENTORY_FIELDS",
    "Identifier",
    "WorkflowId",
    "FormField",
    "Escalation",
    "Separation",
    "Expiry",
    "StepUp",
    "Case",
    "FindingTemplate",
    "TaskStep",
    "ApprovalStep",
    "DecisionStep",
    "SpawnStep",
    "RecordStep",
    "NotifyStep",
    "WaitStep",
    "Step",
    "EventTrigger",
    "Schedule",
    "Trigger",
    "Coverage",
    "InputDecl",
    "WorkflowSpec",
]

END = "end"
"""The target that completes a run."""

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
]
"""Step and field ids: lower-case snake_case, usable as names in expressions."""

WorkflowId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$", max_length=64)]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Template = Annotated[str, StringConstraints(max_length=20000)]
Target = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

INVENTORY_FIELDS: tuple[str, ...] = (
    "name",
    "owner",
    "business_purpose",
    "model_type",
    "data_sources",
    "outputs",
    "users",
    "deployment_scale",
    "dependencies",
    "lifecycle_stage",
    "risk_tier",
    "in_scope",
    "jurisdictions",
)
"""The AI system inventory's fields, readable in expressions as ``subject.<field>``."""

SUBJECT_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    # proposal_issue: the tracker issue the system was proposed in, only on the runs its
    # registration from that issue started (test it with ``is defined``)
    "ai_system": (*INVENTORY_FIELDS, "proposal_issue"),
    "organisation": ("name",),
    "finding": (
        "id",
        "title",
        "severity",
        "source",
        "source_type",
        "tracker_issue",
        "clause",
        "system",
        "raised_at",
        "description",
    ),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FieldType = Literal["text", "number", "choice", "multi_choice", "date", "user", "url", "bool"]


class FormField(_Frozen):
    """One answer a task asks for; becomes a Jira field."""

    id: Identifier
    type: FieldType
    label: str = Field(min_length=1, max_length=200)
    help: str | None = None
    required: bool = True
    required_if: Expression | None = Field(
        default=None, description="required only when this expression over other answers is true"
    )
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    integer: bool = False
    pattern: str | None = Field(
        default=None, description="regular expression a text answer must match"
    )
    max_length: PositiveInt | None = None
    line_keys: Expression | None = Field(
        default=None,
        description=(
            "text fields: an expression giving the allowed keys; each non-empty line of the "
            "answer must start with one (its text up to the first ':')"
        ),
    )

    @model_validator(mode="after")
    def _coherent(self) -> FormField:
        if self.type in ("choice", "multi_choice"):
            if not self.choices:
                raise ValueError(f"a {self.type} field needs 'choices'")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("'choices' has duplicates")
        elif self.choices is not None:
            raise ValueError(
                f"'choices' is only for choice and multi_choice fields, not {self.type}"
            )
        if (self.min is not None or self.max is not None or self.integer) and self.type != "number":
            raise ValueError("'min', 'max' and 'integer' are only for number fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' ({self.min}) is greater than 'max' ({self.max})")
        if (
            self.pattern is not None or self.max_length is not None or self.line_keys is not None
        ) and self.type != "text":
            raise ValueError("'pattern', 'max_length' and 'line_keys' are only for text fields")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as err:
                raise ValueError(f"'pattern' is not a valid regular expression: {err}") from None
        return self


class Escalation(_Frozen):
    """Who is told, and when, after a task or approval passes its due date."""

    after: Duration = Field(description="time after the due date")
    to: str = Field(description="role that receives the escalation")


class _StepBase(_Frozen):
    id: Identifier
    title: Template | None = None
    next: Target | None = Field(
        default=None, description="step to go to next; default: the following step"
    )
    evidences: tuple[str, ...] = Field(
        default=(), description="clause or control ids this step evidences"
    )


class TaskStep(_StepBase):
    """Work for a person in a role, carried out as a Jira issue."""

    kind: Literal["task"]
    role: str
    title: Template = Field(min_length=1)
    description: Template = ""
    form: tuple[FormField, ...] = ()
    due: Duration | None = None
    due_on: Expression | None = Field(
        default=None,
        description="an absolute due date (YYYY-MM-DD) from an expression, e.g. a target date",
    )
    reminders: tuple[Duration, ...] = Field(
        default=(), description="reminders, counted from creation"
    )
    escalate: Escalation | None = None
    priority: Literal["highest", "high", "medium", "low", "lowest"] = "medium"
    assignee: Expression | None = Field(
        default=None,
        description=(
            "expression for the one person the task is for (an e-mail, e.g. inputs.learner); "
            "only they may complete it. Default, or when it gives none: the first holder of "
            "the role"
        ),
    )

    @model_validator(mode="after")
    def _one_due(self) -> TaskStep:
        if self.due is not None and self.due_on is not None:
            raise ValueError("give 'due' (a duration) or 'due_on' (a date), not both")
        return self


class Separation(_Frozen):
    """Segregation of duties: who may not decide this approval."""

    not_assignee_of: tuple[Identifier, ...] = Field(
        default=(), description="task steps whose completer may not approve"
    )
    not_subject_owner: bool = Field(
        default=True, description="the AI system's owner may not approve"
    )
    forbidden_roles: tuple[str, ...] = ()


class Expiry(_Frozen):
    """A request nobody decided in time expires (which is not a rejection) and goes to an
    alternate approver role, once: the alternate's request does not expire again."""

    after: Duration | None = Field(
        default=None, description="time after the due date; default: at the due date"
    )
    to: str | None = Field(
        default=None, description="role asked instead; default: the step's escalate.to"
    )


class StepUp(_Frozen):
    """A decision that needs a second channel: when ``when`` is true at the request, the
    approver's Slack click counts only once the same person confirms it in Jira."""

    when: Expression
    confirm_in: Literal["jira"] = "jira"


class ApprovalStep(_StepBase):
    """A sign-off by people in roles, carried out in Slack, with a required reason."""

    kind: Literal["approval"]
    approvers: tuple[str, ...] = Field(min_length=1)
    quorum: Literal["any", "all"] | PositiveInt = "any"
    approves: tuple[Identifier, ...] = Field(
        default=(),
        description=(
            "steps whose data is approved (bound by content "
            "hash); default: all earlier task and record steps"
        ),
    )
    show: dict[str, Expression] = Field(
        default_factory=dict, description="label -> expression shown to approvers"
    )
    separation: Separation = Separation()
    on_reject: Target
    due: Duration | None = None
    reminders: tuple[Duration, ...] = ()
    escalate: Escalation | None = None
    channel: Literal["direct", "channel"] = "direct"
    expire: Expiry | None = None
    withdraw_within: Duration | None = Field(
        default=None,
        description="how long an approver may take back a decision before the workflow acts on it",
    )
    step_up: StepUp | None = None

    @model_validator(mode="after")
    def _expiry_has_a_due_date_and_an_alternate(self) -> ApprovalStep:
        if self.expire is None:
            return self
        if self.due is None:
            raise ValueError("'expire' needs 'due': a request expires after its due date")
        if self.expire.to is None and self.escalate is None:
            raise ValueError(
                "'expire' needs an alternate approver: set 'expire.to' or 'escalate.to'"
            )
        return self

    @property
    def alternate(self) -> str | None:
        """The role an expired request goes to."""
        if self.expire is None:
            return None
        return self.expire.to or (self.escalate.to if self.escalate else None)


class Case(_Frozen):
    when: Expression
    goto: Target


class DecisionStep(_StepBase):
    """Ordered conditions; the first true one chooses the next step, else ``otherwise``."""

    kind: Literal["decision"]
    cases: tuple[Case, ...] = Field(min_length=1)
    otherwise: Target


class FindingTemplate(_Frozen):
    """The finding a ``spawn`` raises when the started workflow's subject is a finding."""

    title: Expression
    severity: Expression
    clause: Expression | None = None
    description: Expression | None = None
    source: Expression | None = None

    @model_serializer(mode="wrap")
    def _unset_source_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # 'source' came after workflows were pinned by the hash of their dump: left out when
        # unset, a workflow that does not use it keeps the hash its runs were started with
        data: dict[str, Any] = handler(self)
        if self.source is None:
            data.pop("source", None)
        return data


class SpawnStep(_StepBase):
    """Start another workflow (once, or once per item
    of ``for_each``), optionally waiting for it."""

    kind: Literal["spawn"]
    workflow: WorkflowId
    for_each: Expression | None = None
    inputs: dict[Identifier, Expression] = Field(default_factory=dict)
    finding: FindingTemplate | None = Field(
        default=None,
        description="raise a finding per item; the started run's subject is that finding",
    )
    wait: bool = False


class RecordStep(_StepBase):
    """Write a named artefact to the evidence ledger with computed fields."""

    kind: Literal["record"]
    artefact: Identifier
    fields: dict[Identifier, Expression] = Field(min_length=1)


class NotifyStep(_StepBase):
    kind: Literal["notify"]
    to: tuple[str, ...] = Field(min_length=1)
    message: Template = Field(min_length=1)


class WaitStep(_StepBase):
    """Pause the run, e.g. an effectiveness check 30 days after a corrective action."""

    kind: Literal["wait"]
    duration: Duration


Step = Annotated[
    TaskStep | ApprovalStep | DecisionStep | SpawnStep | RecordStep | NotifyStep | WaitStep,
    Field(discriminator="kind"),
]

EventName = Literal["ai_system.registered", "ai_system.changed", "run.completed", "finding.raised"]


class EventTrigger(_Frozen):
    event: EventName
    fields: tuple[str, ...] = Field(
        default=(), description="ai_system.changed: the material fields"
    )
    workflow: WorkflowId | None = Field(
        default=None, description="run.completed: of which workflow"
    )


class Schedule(_Frozen):
    every: Duration


class Trigger(_Frozen):
    manual: bool = True
    on: tuple[EventTrigger, ...] = ()
    schedule: Schedule | None = None
    scope: Expression | None = Field(
        default=None, description="subject filter, e.g. 'subject.in_scope'"
    )


class Coverage(_Frozen):
    """This workflow's completion counts towards a coverage KPI for ``valid_for``."""

    kpi: Literal["risk_assessment", "impact_assessment"]
    valid_for: Duration


class InputDecl(_Frozen):
    """A value a starting party passes in (``spawn.inputs`` or ``aims start --input``)."""

    id: Identifier
    type: Literal["text", "number", "bool", "list"] = "text"
    required: bool = False


_S = TypeVar("_S", bound=_StepBase)


class WorkflowSpec(_Frozen):
    """One workflow definition, identified by ``id`` and ``version``."""

    id: WorkflowId
    version: PositiveInt
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    evidences: tuple[str, ...] = Field(
        default=(), description="ISO/IEC 42001 clause and Annex A control ids"
    )
    subject: Literal["ai_system", "organisation", "finding"]
    trigger: Trigger = Trigger()
    sla: Duration | None = None
    coverage: Coverage | None = None
    inputs: tuple[InputDecl, ...] = ()
    outputs: dict[Identifier, Expression] | None = Field(
        default=None,
        description=(
            "name -> expression evaluated when a run completes: what a parent that waits for "
            "the run reads of it (default: the run's step data)"
        ),
    )
    steps: tuple[Step, ...] = Field(min_length=1)

    _step_index: dict[str, Step] = PrivateAttr(default_factory=dict)
    _following: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:
        self._step_index.update((s.id, s) for s in self.steps)
        # the step after each one (the first of a duplicated id, as a list lookup would find),
        # so that next_of is one lookup and walking the whole graph stays linear
        ids = [s.id for s in self.steps]
        for position, step_id in enumerate(ids):
            self._following.setdefault(
                step_id, ids[position + 1] if position + 1 < len(ids) else END
            )

    @overload
    def step(self, step_id: str) -> Step: ...
    @overload
    def step(self, step_id: str, kind: type[_S]) -> _S: ...
    def step(self, step_id: str, kind: type[_StepBase] | None = None) -> _StepBase:
        """The step with this id (``KeyError`` if there is none). Given a ``kind``, also checks the
        step is one (``TypeError`` if not) and is typed as one: ``spec.step("approve",
        ApprovalStep).quorum``."""
        step = self._step_index[step_id]
        if kind is not None and not isinstance(step, kind):
            raise TypeError(f"step {step_id!r} is a {step.kind} step, not {kind.__name__}")
        return step

    def next_of(self, step_id: str) -> str:
        """Where a step goes when it does not say: its
        ``next``, else the following step, else end."""
        step = self.step(step_id)
        if step.next:
            return step.next
        return self._following[step_id]
