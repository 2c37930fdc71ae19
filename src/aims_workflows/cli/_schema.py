"""``aims schema``: the JSON Schema of workflow files, or of evidence payloads."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command(short_help="Print the JSON Schema of workflow files or of evidence payloads.")
    def schema(
        evidence: bool = typer.Option(
            False, "--evidence", help="the evidence payloads instead: one definition per kind"
        ),
        kind: str | None = typer.Option(
            None, "--kind", help="only this evidence kind, e.g. task.completed"
        ),
    ) -> None:
        """Print a JSON Schema (draft 2020-12): of workflow files (for editors and CI) or, with
        --evidence, of every evidence kind's payload (the contract in docs/evidence.md)."""
        import json

        from ._output import write

        if kind is not None and not evidence:
            raise typer.BadParameter(
                "--kind picks an evidence kind: use it with --evidence", param_hint="--kind"
            )
        if evidence:
            from ..engine.evidence_kinds import evidence_schema_text

            write(evidence_schema_text(kind))
            return
        from ..spec.schema import workflow_json_schema

        write(json.dumps(workflow_json_schema(), indent=2))
