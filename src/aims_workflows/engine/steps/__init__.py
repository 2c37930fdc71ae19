"""Entering each kind of step: what the engine does when a run arrives at a step.

Entering never moves the run on by itself: automatic steps return the next target, and
:func:`~aims_workflows.engine._flow.goto` follows it. Handlers of events live in
:mod:`~aims_workflows.engine.handlers` and call ``goto``; these modules call neither.
"""
