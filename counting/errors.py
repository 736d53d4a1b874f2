"""Errors the engine raises: each names what the user must fix."""


class DefinitionError(ValueError):
    """A contest definition that cannot be counted; `field` names the offending part."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CountingError(RuntimeError):
    """The count itself could not finish (e.g. Meek STV did not converge)."""
