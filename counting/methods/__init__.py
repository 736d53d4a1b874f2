"""The registry of counting methods: the list of methods is data.

Each method module registers its function with `@method(...)`. A method is a pure function
`count(contest, ballots) -> Outcome` over the weighted multiset of valid ballots
(canonical marks -> summed weight). Additive methods also give `totals` (per-candidate sums that
add across areas) and `decide` (winners from totals), which is what `aggregate-results` uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from ..ballots import Marks
from ..contest import Contest
from ..numbers import Number
from ..outcome import Outcome

Ballots = Mapping[Marks, int]
Totals = dict[str, Number]


@dataclass(frozen=True)
class Method:
    name: str
    mark_kind: str  # "check" (one mark per candidate), "points", "rank", "pair"
    preferential: bool
    count: Callable[[Contest, Ballots], Outcome]
    totals: Callable[[Contest, Ballots], Totals] | None = None
    decide: Callable[[Contest, Totals], Outcome] | None = None
    check: Callable[[Contest], None] = lambda contest: None

    @property
    def additive(self) -> bool:
        return self.totals is not None and self.decide is not None

    @property
    def contest_default(self) -> str:
        return "process-ballots-all" if self.preferential else "aggregate-results"

    @property
    def area_default(self) -> str:
        return "skip-candidate-results" if self.preferential else "process-ballots-all"


METHODS: dict[str, Method] = {}


def register(name: str, *, mark_kind: str, preferential: bool, totals=None, decide=None, check=None):
    """Decorator registering `count`; for additive methods pass `totals` and `decide`."""

    def wrap(count):
        METHODS[name] = Method(
            name=name,
            mark_kind=mark_kind,
            preferential=preferential,
            count=count,
            totals=totals,
            decide=decide,
            check=check or (lambda contest: None),
        )
        return count

    return wrap


def register_additive(name: str, *, mark_kind: str, preferential: bool, totals, decide, check=None):
    """Register a method whose count is `decide(totals(ballots))`."""
    register(name, mark_kind=mark_kind, preferential=preferential, totals=totals, decide=decide, check=check)(
        lambda contest, ballots: decide(contest, totals(contest, ballots))
    )


from . import plurality, irv, meek, borda, desborda, pairwise, rcv  # noqa: E402,F401  (registration)
