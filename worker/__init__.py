"""The Celery application and its runtime settings."""
