"""The interchange format of `tally count`: one contest and its ballots in, the result JSON out.

The format is a contract with auditors (docs/interchange.md): a document is an object with
`contest` (see `parse_contest`), `ballots` (see `parse_ballot`) and optionally `census`.
"""

from __future__ import annotations

from typing import Any, Mapping

from .ballots import Ballot, parse_ballots
from .contest import Contest, parse_contest
from .count import count
from .errors import DefinitionError


def load_document(obj: Any) -> tuple[Contest, list[Ballot]]:
    """Read a document's contest and ballots; a ballot record that cannot be read is kept as a defect."""
    if not isinstance(obj, Mapping):
        raise DefinitionError("document", "must be an object with `contest` and `ballots`")
    for key in ("contest", "ballots"):
        if key not in obj:
            raise DefinitionError(key, "is required")
    if not isinstance(obj["ballots"], list):
        raise DefinitionError("ballots", "must be a list")
    return parse_contest(obj["contest"]), parse_ballots(obj["ballots"])


def load_census(obj: Mapping[str, Any]) -> int | None:
    """The optional top-level `census`: eligible voters, a non-negative integer or null."""
    census = obj.get("census")
    if census is not None and (isinstance(census, bool) or not isinstance(census, int) or census < 0):
        raise DefinitionError("census", f"must be a non-negative integer, got {census!r}")
    return census


def count_document(obj: Any) -> dict:
    """Count an interchange document and return the result JSON (`ContestResult.to_json()`)."""
    contest, ballots = load_document(obj)
    return count(contest, ballots, census=load_census(obj)).to_json()
