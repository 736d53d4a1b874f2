"""The one error a CVR reader raises: the file cannot be read, and this says where and why."""

from __future__ import annotations


class CvrError(ValueError):
    """A CVR source that cannot be read. `where` names the record or row (or is empty for the whole
    file), `field` the column, key or element; the CLI prints it and exits 2."""

    def __init__(self, path: str, where: str, field: str, message: str):
        self.path, self.where, self.field, self.message = str(path), where, field, message
        parts = [self.path] + [p for p in (where, field) if p]
        super().__init__(f"{': '.join(parts)}: {message}")


class ConfigError(ValueError):
    """An RCTab configuration that cannot be used: `field` names the key (e.g. `rules.tiebreakMode`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
