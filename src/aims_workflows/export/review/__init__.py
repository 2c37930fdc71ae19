"""The management-review input pack (ISO/IEC 42001 clause 9.3): the period since the last review,
the figures and open work it asks for, rendered as Markdown or HTML.

::

    from aims_workflows.export.review import choose_period, gather_review, write_review
"""

from __future__ import annotations

from .gather import gather_review
from .period import ReviewPeriod, choose_period
from .render import FORMATS, default_review_name, render_review, write_review

__all__ = [
    "FORMATS",
    "ReviewPeriod",
    "choose_period",
    "default_review_name",
    "gather_review",
    "render_review",
    "write_review",
]
