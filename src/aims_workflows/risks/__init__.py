"""The AI risk register (6.1.2, 6.1.3, 8.2, 8.3): each risk of each AI system with a stable id,
where it stands, its history and its treatment actions.

``inputs`` gives risk workflows the current register when they start; ``queries`` reads it for
``aims risks``, the KPIs and the audit pack. The register itself is a read model of the ledger,
moved by ``store.risk_register``.
"""
