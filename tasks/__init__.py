"""Celery tasks: thin wrappers that open a transaction, call the service layer, and dispatch."""
