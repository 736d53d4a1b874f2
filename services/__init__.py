"""The service layer: one implementation of each operation, used by the CLI, the API and the tasks."""
