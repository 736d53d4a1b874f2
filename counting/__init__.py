"""The counting engine: pure functions from a contest and its ballots to a result.

No database, no Celery, no I/O: the same code counts in a worker, in `tally count` and in tests.
"""

from .ballots import Ballot, parse_ballot, parse_ballots
from .contest import Candidate, Contest, ExclusionGroup
from .definition import parse_contest
from .count import count, decide, decide_totals
from .errors import CountingError, DefinitionError
from .methods import METHODS
from .result import ContestResult
from .validation import Classification, Participation, classify

__all__ = [
    "Ballot",
    "Candidate",
    "Classification",
    "Contest",
    "ContestResult",
    "CountingError",
    "DefinitionError",
    "ExclusionGroup",
    "METHODS",
    "Participation",
    "classify",
    "count",
    "decide",
    "decide_totals",
    "parse_ballot",
    "parse_ballots",
    "parse_contest",
]
