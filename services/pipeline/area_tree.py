"""The contest stage's arithmetic over the area tree, pure: no database, only plain data.

A contest is counted in some areas of the election's tree (its ballot styles). Each of those areas
has a staged partial (from the area stage); an area's subtree is itself and every contest area below
it, reached through the nearest ancestor that is a contest area (areas without the contest are
passed through). Results over a set of areas add the staged partials: participation always, totals
for an additive method, and the pooled valid ballots (the staged multisets) for any other."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import counting
from counting import official
from counting.area_rounds import followable, followed_rounds
from counting.ranking import sum_totals
from counting.result import ContestResult
from counting.validation import Participation
from counting.vocabulary import TallyOperation
from models.pooling import merge_multisets

from services.pipeline.area_count import StoredBallotJudge


@dataclass(frozen=True)
class TreeArea:
    id: int
    key: str
    parent_id: int | None
    census: int


@dataclass(frozen=True)
class StagedArea:
    """One area's staged partial, as the area stage wrote it (JSON values)."""

    operation: TallyOperation | str  # as stored: the value's string
    participation: dict  # Participation.to_json()
    area_result: dict | None  # the area's own result (process-ballots-all, skip-candidate-results)
    totals: dict | None  # candidate -> exact JSON number, for an additive method
    ballots_read: int


def _exact(value) -> int | Fraction:
    return value if isinstance(value, int) else Fraction(value)


class AreaTree:
    """A contest's areas as a tree, with their staged partials.

    `areas`: every area of the election (the contest's and those between them); `counted`: the
    contest's areas, in the order results are reported; `multisets(area_ids)`: the staged valid-ballot
    multisets of those areas (None: all the contest's), read only for a non-additive method."""

    def __init__(
        self,
        contest: counting.Contest,
        judge: StoredBallotJudge,
        areas: Mapping[int, TreeArea],
        counted: Sequence[int],
        staged: Mapping[int, StagedArea],
        multisets: Callable[[Sequence[int] | None], Iterable[bytes]],
    ):
        self.contest, self.judge, self.multisets = contest, judge, multisets
        self.area_contest = official.for_areas(contest)  # areas elect nobody: their ties never wait for an official
        self.method = counting.METHODS[contest.method]
        self.areas = {a: areas[a] for a in counted}
        self.every_area = areas
        self.staged = staged
        missing = set(self.areas) - set(staged)
        if missing:
            raise RuntimeError(f"contest {contest.id!r}: {len(missing)} area result(s) missing")
        self.children: dict[int, list[int]] = {a: [] for a in self.areas}
        for area_id in self.areas:
            parent = self.nearest_contest_ancestor(area_id)
            if parent is not None:
                self.children[parent].append(area_id)

    def nearest_contest_ancestor(self, area_id: int) -> int | None:
        node = self.every_area[area_id].parent_id
        while node is not None and node not in self.areas:
            node = self.every_area[node].parent_id
        return node

    def subtree(self, area_id: int) -> list[int]:
        out, todo = [], [area_id]
        while todo:
            a = todo.pop()
            out.append(a)
            todo.extend(self.children[a])
        return out

    def participation(self, area_ids: Iterable[int]) -> Participation:
        total = Participation()
        for a in area_ids:
            total = total + Participation.from_json(self.staged[a].participation)
        return total

    def outcome(self, area_ids: Sequence[int], operation: TallyOperation):
        if operation == TallyOperation.SKIP_CANDIDATE_RESULTS:
            return None
        contest = self.contest_of(area_ids)
        if self.method.additive:
            totals = sum_totals([{c: _exact(v) for c, v in self.staged[a].totals.items()} for a in area_ids])
            # through the engine's entry point, so that with no valid votes nobody is elected, as `tally count` says
            return counting.decide_totals(contest, totals, self.participation(area_ids).valid)
        return counting.decide(contest, self.valid(area_ids))

    def contest_of(self, area_ids: Sequence[int]) -> counting.Contest:
        """The contest as counted over these areas: the contest's own rules over all of them, an area's else."""
        return self.contest if len(area_ids) == len(self.areas) else self.area_contest

    def valid(self, area_ids: Sequence[int]) -> Counter:
        """The areas' pooled valid ballots, by the engine's canonical marks."""
        pooled = merge_multisets(self.multisets(area_ids if len(area_ids) < len(self.areas) else None))
        # The staged ballots are valid ones: each is read as the engine's canonical marks, by the judge
        # that judged it in its area when this worker counted that area (as classify would read it).
        valid: Counter = Counter()
        judge = self.judge
        for marks, weight in pooled.items():
            canonical = judge(marks, False, None, None)[1]
            if canonical is not None:
                valid[canonical] += weight
        return valid

    def result(self, area_ids: Sequence[int], operation: TallyOperation) -> dict:
        census = sum(self.areas[a].census for a in area_ids)
        return ContestResult(
            self.contest_of(area_ids), self.participation(area_ids), self.outcome(area_ids, operation), census
        ).to_json()


def silent(stage: str, done: int | None = None, total: int | None = None) -> None:
    return None


def contest_payload(tree: AreaTree, operation: TallyOperation, report=silent) -> dict:
    """The contest's staged result: the contest over all its areas, each area's own result, and each
    area with contest areas below it over its subtree. `report(stage, done, total)` hears progress."""
    report("counting the contest", None, len(tree.areas))
    contest = tree.result(list(tree.areas), operation)
    follows = operation != TallyOperation.SKIP_CANDIDATE_RESULTS and followable(tree.contest, contest)
    areas, subtrees = {}, {}
    for done, (area_id, area) in enumerate(tree.areas.items()):
        report("area and subtree results", done, len(tree.areas))
        own = [area_id]
        if tree.staged[area_id].operation == TallyOperation.AGGREGATE_RESULTS:
            # Its ballots were not counted in the area: its result is its subtree's, counted here.
            own = tree.subtree(area_id)
            kind = TallyOperation.AGGREGATE_RESULTS if tree.method.additive else TallyOperation.PROCESS_BALLOTS_ALL
            areas[area.key] = tree.result(own, kind)
        else:
            areas[area.key] = tree.staged[area_id].area_result
        if follows and areas[area.key] is not None:
            # with or without its own candidate results, an area shows the contest's rounds in it
            rounds = followed_rounds(tree.contest, tree.valid(own), contest)
            areas[area.key] = {**areas[area.key], "followed_rounds": rounds}
        if tree.children[area_id]:
            subtrees[area.key] = tree.result(tree.subtree(area_id), operation)
            if follows:
                subtrees[area.key]["followed_rounds"] = followed_rounds(
                    tree.contest, tree.valid(tree.subtree(area_id)), contest)
    return {
        "operation": operation,
        "contest": contest,
        "areas": areas,
        "subtrees": subtrees,
        "ballots_read": sum(s.ballots_read for s in tree.staged.values()),
    }
