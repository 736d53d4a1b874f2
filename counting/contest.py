"""A contest: what is being counted (its candidates, seats, vote limits, policies, options). Reading one
from its JSON form and checking it against the methods is `counting.definition`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

BLANK_POLICIES = ("allowed", "not-allowed")


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str = ""
    tie_break_key: int | None = None
    category: str | None = None
    gender: str | None = None
    undeclared_write_in: bool = False


@dataclass(frozen=True)
class ExclusionGroup:
    name: str
    members: tuple[str, ...]
    max_elected: int


@dataclass(frozen=True)
class Contest:
    id: str
    method: str
    candidates: tuple[Candidate, ...]
    seats: int = 1
    min_votes: int = 0
    max_votes: int | None = None
    blank_policy: str = "allowed"
    exclusion_groups: tuple[ExclusionGroup, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def candidate_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.candidates)

    @property
    def effective_max_votes(self) -> int:
        return self.max_votes if self.max_votes is not None else len(self.candidates)

    def candidate(self, candidate_id: str) -> Candidate:
        for c in self.candidates:
            if c.id == candidate_id:
                return c
        raise KeyError(candidate_id)
