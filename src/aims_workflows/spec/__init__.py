"""The workflow language: models, loader with located problems, and whole-spec checks."""

from .checks import DEFAULT_ROLES
from .durations import Duration, format_duration, parse_duration
from .expressions import ExpressionError, evaluate, render
from .loader import LoadedSpec, WorkflowSet, load_spec, load_workflows, parse_spec, spec_hash
from .model import END, INVENTORY_FIELDS, SUBJECT_ATTRIBUTES, WorkflowSpec
from .problems import Problem

__all__ = [
    "DEFAULT_ROLES",
    "Duration",
    "END",
    "ExpressionError",
    "INVENTORY_FIELDS",
    "LoadedSpec",
    "Problem",
    "SUBJECT_ATTRIBUTES",
    "WorkflowSet",
    "WorkflowSpec",
    "evaluate",
    "format_duration",
    "load_spec",
    "load_workflows",
    "parse_duration",
    "parse_spec",
    "render",
    "spec_hash",
]
