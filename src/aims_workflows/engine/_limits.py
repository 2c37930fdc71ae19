"""Limits of the engine."""

MAX_STEPS_PER_EVENT = 500
"""Guards against a loop of automatic steps that the spec checks could not see through."""
