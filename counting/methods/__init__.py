"""The registry of counting methods: the list of methods is data.

Every module of this package is imported when the registry is (`_discover`, below: there is no list
of modules to keep), and a module registers each of its methods by calling `register(...)` as a
decorator of its count function, or `register_additive(...)` with its `totals` and `decide`.
A method is a pure function `count(contest, ballots) -> Outcome` over the weighted multiset of valid
ballots (canonical marks -> summed weight), with its options declared as a dataclass (`options`, an
`Options`) whose `parse` is the method's definition check. Additive methods also give `totals` (per-candidate sums
that add across areas) and `decide` (winners from totals), which is what `aggregate-results` uses.
How to add one: docs/adding-a-method.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..ballots import Marks
from ..contest import Contest
from ..numbers import Number
from ..options import Options
from ..outcome import Outcome
from ..vocabulary import MarkKind, TallyOperation

Ballots = Mapping[Marks, int]
Totals = dict[str, Number]


@dataclass(frozen=True)
class Method:
    name: str
    mark_kind: MarkKind
    preferential: bool
    count: Callable[[Contest, Ballots], Outcome]
    totals: Callable[[Contest, Ballots], Totals] | None = None
    decide: Callable[[Contest, Totals], Outcome] | None = None
    options: type[Options] = Options

    def check(self, contest: Contest) -> None:
        """Refuse a definition this method cannot count, naming the field (its options' `parse`)."""
        self.options.parse(contest)

    @property
    def additive(self) -> bool:
        return self.totals is not None and self.decide is not None

    @property
    def contest_default(self) -> TallyOperation:
        return TallyOperation.PROCESS_BALLOTS_ALL if self.preferential else TallyOperation.AGGREGATE_RESULTS

    @property
    def area_default(self) -> TallyOperation:
        return TallyOperation.SKIP_CANDIDATE_RESULTS if self.preferential else TallyOperation.PROCESS_BALLOTS_ALL


METHODS: dict[str, Method] = {}


def register(name: str, *, mark_kind: MarkKind, preferential: bool, options=Options, totals=None, decide=None):
    """Decorator registering `count`; for additive methods pass `totals` and `decide`."""

    def wrap(count):
        METHODS[name] = Method(
            name=name,
            mark_kind=MarkKind(mark_kind),
            preferential=preferential,
            count=count,
            totals=totals,
            decide=decide,
            options=options,
        )
        return count

    return wrap


def register_additive(name: str, *, mark_kind: MarkKind, preferential: bool, totals, decide, options=Options):
    """Register a method whose count is `decide(totals(ballots))`."""
    register(name, mark_kind=mark_kind, preferential=preferential, options=options, totals=totals, decide=decide)(
        lambda contest, ballots: decide(contest, totals(contest, ballots))
    )


def _discover() -> None:
    """Import every module of this package: each registers its methods as it is imported."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_discover()
