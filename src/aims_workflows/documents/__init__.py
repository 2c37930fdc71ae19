"""The register of documented information (7.5) and the certification readiness check.

Kept light on purpose: ``config`` imports :mod:`.model` to read the ``documents:`` section of
``aims.yaml``, so this package's ``__init__`` imports nothing that touches the database.
"""
