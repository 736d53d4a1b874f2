"""The result of a count, per area, area subtree or contest, and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field

from .contest import Contest
from .numbers import exact_json, percentage_json
from .outcome import NO_VALID_VOTES, Outcome
from .validation import Participation


@dataclass
class ContestResult:
    contest: Contest
    participation: Participation
    outcome: Outcome | None  # None when candidate results are skipped
    census: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def winners(self) -> list[str]:
        return list(self.outcome.winners) if self.outcome else []

    def candidate_results(self) -> list[dict]:
        if self.outcome is None:
            return []
        totals = self.outcome.totals
        share_base = sum(totals.values())
        rank = {c: i + 1 for i, c in enumerate(self.outcome.order)}
        winners = set(self.outcome.winners)
        rows = []
        for candidate in sorted(self.contest.candidates, key=lambda c: rank.get(c.id, len(rank) + 1)):
            count = totals.get(candidate.id, 0)
            rows.append(
                {
                    "id": candidate.id,
                    "name": candidate.name,
                    "total_count": exact_json(count),
                    "percentage_votes": percentage_json(count, share_base),
                    "rank": rank.get(candidate.id),
                    "is_winner": candidate.id in winners,
                }
            )
        return rows

    def to_json(self) -> dict:
        p = self.participation
        out = {
            "contest": self.contest.id,
            "method": self.contest.method,
            "seats": self.contest.seats,
            "winners": self.winners,
            "candidates": self.candidate_results(),
            "totals": {
                "total_votes": p.total_votes,
                "valid": p.valid,
                "blank": p.blank,
                "invalid_explicit": p.invalid_explicit,
                "invalid_implicit": p.invalid_implicit,
                "invalid_reasons": dict(sorted(p.invalid_reasons.items())),
            },
            "percentages": {
                "turnout": None if self.census is None else percentage_json(p.total_votes, self.census),
                "valid": percentage_json(p.valid, p.total_votes),
                "blank": percentage_json(p.blank, p.total_votes),
                "invalid": percentage_json(p.total_invalid, p.total_votes),
            },
            "census": self.census,
            "extended_metrics": {
                "total_ballots": p.total_ballots,
                "total_weight": p.total_votes,
                "expected_votes": p.expected_votes,
                "votes_actually": p.votes_actually,
                "under_votes": p.under_votes,
                "over_votes": p.over_votes,
                "alerts": dict(sorted(p.alerts.items())),
            },
            "ties": [t.to_json() for t in self.outcome.ties] if self.outcome else [],
            "notes": list(self.notes) + (list(self.outcome.notes) if self.outcome else []),
        }
        if self.outcome is not None:
            if self.outcome.quota is not None:
                out["quota"] = exact_json(self.outcome.quota)
            if self.outcome.rounds:
                out["rounds"] = [r.to_json() for r in self.outcome.rounds]
            if self.outcome.passes:
                out["passes"] = [p.to_json() for p in self.outcome.passes]
        return out


NO_BALLOTS = "No ballots were counted in this voting period: no winners (tallied with allow-empty)"


def no_winners(result: dict) -> dict:
    """A result (to_json form) of a tally with no ballots at all: no winners, ties or rounds, and
    a note saying why. The count itself already elected nobody (`outcome.nobody_elected`); its
    note says there were no valid votes, which this one says more precisely, so it is replaced."""
    return {
        **result,
        "winners": [],
        "candidates": [{**c, "is_winner": False} for c in result["candidates"]],
        "ties": [],
        **{name: [] for name in ROUND_FIELDS if name in result},
        "notes": [*(n for n in result["notes"] if n != NO_VALID_VOTES), NO_BALLOTS],
    }


def scopes_without_winners(scopes: dict) -> dict:
    """`no_winners` of a contest's results in every scope: `contest`, each of `areas` and
    `subtrees` (an area without candidate results stays as it is); any other key is kept. The
    pipeline publishes a tally with no ballots this way, and `tally verify` re-derives it so."""
    return {
        **scopes,
        "contest": no_winners(scopes["contest"]),
        "areas": {k: no_winners(r) if r else r for k, r in scopes["areas"].items()},
        "subtrees": {k: no_winners(r) if r else r for k, r in scopes["subtrees"].items()},
    }


ROUND_FIELDS = ("rounds", "passes")  # the parts of a result JSON that hold rounds


def rounds_of(result: dict) -> list[dict]:
    """Every round of a result JSON, in counting order; a multi-pass count's rounds each carry the
    `pass` they belong to (the audit log's 'tally round' events are these)."""
    if result.get("passes"):
        return [{"pass": p["pass"], **r} for p in result["passes"] for r in p["rounds"]]
    return list(result.get("rounds", []))
