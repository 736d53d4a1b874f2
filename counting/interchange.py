"""The interchange format of `tally count`: one contest and its ballots in, the result JSON out.

The format is a contract with auditors (docs/interchange.md): a document is an object with
`contest` (see `parse_contest`), `ballots` (see `parse_ballot`) and optionally `census`.
"""

from __future__ import annotations

from typing import Any, Mapping

from .ballots import Ballot, parse_ballots
from .contest import Contest
from .definition import parse_contest
from .count import Grouped, count, count_grouped, group_counted
from .errors import DefinitionError
from .stream import DocumentStream


def load_document(obj: Any) -> tuple[Contest, list[Ballot]]:
    """Read a document's contest and ballots; a ballot record that cannot be read is kept as a defect."""
    return load_contest(obj), parse_ballots(obj["ballots"])


def load_contest(obj: Any) -> Contest:
    """Check a document's shape and read its contest."""
    if not isinstance(obj, Mapping):
        raise DefinitionError("document", "must be an object with `contest` and `ballots`")
    for key in ("contest", "ballots"):
        if key not in obj:
            raise DefinitionError(key, "is required")
    if not isinstance(obj["ballots"], list):
        raise DefinitionError("ballots", "must be a list")
    return parse_contest(obj["contest"])


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



def read_stream(stream: DocumentStream) -> tuple[dict, Grouped]:
    """A document read as its bytes arrive (`counting.stream`): its other members, and its ballots grouped.
    Raises `NotStreamable` when the document must be read whole."""
    grouped = group_counted(stream.ballots())
    return dict(stream.members), grouped  # of equal keys the last wins, as in `json.loads`


def count_read(members: Mapping[str, Any], grouped: Grouped) -> dict:
    """`count_document` of a document read by `read_stream`: the same result."""
    contest = load_contest({**members, "ballots": []})  # the ballots are read: the checks need to know they are a list
    return count_grouped(contest, grouped, census=load_census(members)).to_json()
