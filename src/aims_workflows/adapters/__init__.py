"""Adapters behind the ports: ``local`` (tasks and approvals kept in the database and completed
with the CLI), and the Jira and Slack integrations."""
