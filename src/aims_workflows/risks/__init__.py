"""The AI risk register (6.1.2, 6.1.3, 8.2, 8.3): each risk of each AI system with a stable id,
where it stands, its history and its treatment actions.

How an assessment records any number of risks, and why this way:

* A task is a Jira issue whose form fields are the project's custom fields. Jira has no
  repeatable group of fields, so one issue cannot hold "N risks, each with likelihood, impact,
  sources...". A risk per issue can: ``ai-risk-assessment`` (version 2) analyses the most
  significant new or changed risk itself and lists the others one per line (``further_risks``
  titles, ``rerate`` ids); a ``spawn for_each`` starts one ``ai-risk`` run per line. Each risk so
  gets its own analysis issue, its own treatment issue, its own acceptance with segregation of
  duties (top management for a high risk, the risk owner otherwise) and its own approval bound
  to its own answers, which a repeated field group inside one run could not give.
* The assessment keeps the shape of version 1 (the same steps and fields for its own risk, new
  fields optional), so runs pinned to version 1 finish as they started, the Jira fields already
  created keep working, and nothing in the engine had to learn a new construct. Two small,
  general keys were added to the workflow language: ``line_keys`` (each line of a text answer
  must start with an allowed key, refused with the close matches otherwise) and ``due_on`` (a
  task due on a date from an expression).
* A re-assessment starts from the register: the runtime gives the run the system's open risks
  when it starts (``inputs``), the task shows them, and the answers are checked against their ids.
  The ``risk_register_review`` artefact records what changed (the register it started from,
  closures with reasons, re-ratings, additions); each re-rating's entry records before and after.
* Every treatment but acceptance starts a ``risk-treatment`` run whose task is due on the target
  date; its result moves the risk to its residual level.

``inputs`` gives risk workflows the current register when they start; ``queries`` reads it for
``aims risks``, the KPIs and the audit pack; ``export`` writes it into the pack. The register
itself is a read model of the ledger, moved by ``store.risk_register`` in the same transaction as
the evidence (see there for why not a ledger scan).
"""
