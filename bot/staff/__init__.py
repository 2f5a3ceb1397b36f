"""The staff console: its API, accounts, queues and the department-scoped views."""
