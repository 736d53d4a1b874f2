"""`tally verify`: check the public files against each other, with no database. The rules are
written down in docs/verify-spec.md, precisely enough to re-implement this module from them.

0. Shape: each file is checked against its JSON schema (services.verify_schema) before anything
   else; a malformed or hostile file is refused with one line naming the place (`Malformed`).
1. The audit chain: every event's seq, prev_hash and hash (services.public_format.event_hash).
2. The definition: audit.json's `definition` hashes to the `definition_hash` every load, seal and
   completion event recorded; the contests of both files and the areas of ballots.json agree with it.
3. The ballot chain: every ballot's hash and chain link, and the chain head; each published period's
   ballots are exactly its 'ballots loaded' batches, in order (counts, chain heads, content digests,
   weights); the ballots of voided batches are listed but not counted.
4. Re-tally: each published period, per contest, with the engine (weight x area weight): the
   contest, every area and area subtree as its `tally_operation` asks, and every round, compared
   with the run's 'tally completed' and 'tally round' events and, if given, with results.json.
Each difference names its place: `ballots[17]: ...`, `audit event seq 5: ...`."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator

import counting
from counting.ballots import oversized
from counting.area_rounds import followable, followed_rounds
from counting.definition import area_operation, contest_operation
from counting import official
from counting.count import group_ballots
from counting.errors import CountingError, DefinitionError
from counting.official import TieNeedsDecision
from counting.result import ROUND_FIELDS, ContestResult, rounds_of, scopes_without_winners
from counting.validation import classify
from counting.vocabulary import TallyOperation

from services.public_format import (
    BALLOT_ORDER, EXTENDED, GENESIS, LOADED, SEALED, TIE_DECIDED, VOIDED, canonical_json, classification, content_digest,
    decision_of, definition_digest, event_hash, link, sha256,
)
from services.verify_schema import Malformed, check_shape

MAX_FIELDS = 5  # differing fields reported per compared object
_DEFINITION_FIELDS = ("method", "seats", "min_votes", "max_votes", "blank_policy", "options", "annotations")
_CANDIDATE_FIELDS = ("id", "tie_break_key", "category", "gender", "undeclared_write_in")

__all__ = ["Malformed", "Report", "verify"]


@dataclass
class Report:
    differences: list[str] = field(default_factory=list)
    ballots: int = 0
    events: int = 0
    contests_retallied: int = 0
    rounds: int = 0
    results_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences

    def add(self, place: str, message: str) -> None:
        self.differences.append(f"{place}: {message}")


def _normal(value: Any) -> Any:
    """The JSON value as it reads back from the file (tuples become lists, and so on)."""
    return json.loads(canonical_json(value))


def differences(recorded: Any, retallied: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, recorded, re-tallied) for every leaf that differs."""
    if isinstance(recorded, dict) and isinstance(retallied, dict):
        for key in sorted(set(recorded) | set(retallied), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in recorded:
                yield sub, "(missing)", retallied[key]
            elif key not in retallied:
                yield sub, recorded[key], "(missing)"
            else:
                yield from differences(recorded[key], retallied[key], sub)
    elif isinstance(recorded, list) and isinstance(retallied, list) and len(recorded) == len(retallied):
        for i, (a, b) in enumerate(zip(recorded, retallied, strict=True)):
            yield from differences(a, b, f"{path}[{i}]")
    elif recorded != retallied or type(recorded) is not type(retallied):
        yield path or "(value)", recorded, retallied


def _compare(report: Report, place: str, what: str, recorded: Any, retallied: Any) -> None:
    found = list(differences(_normal(recorded), _normal(retallied)))
    for path, a, b in found[:MAX_FIELDS]:
        report.add(place, f"{what}{path}: recorded {json.dumps(a)}, re-tally {json.dumps(b)}")
    if len(found) > MAX_FIELDS:
        report.add(place, f"{what.rstrip()}: {len(found) - MAX_FIELDS} more differing field(s)")


def _event_place(event: dict, note: str = "") -> str:
    return f"audit event seq {event.get('seq')}" + (f" ({note})" if note else "")


def check_audit_chain(report: Report, audit: dict) -> list[dict]:
    events = audit["events"]
    prev = GENESIS
    for i, event in enumerate(events):
        place = _event_place(event)
        if event["seq"] != i + 1:
            report.add(place, f"out of place: found at position {i + 1} (an event was removed, added or moved)")
        if event["prev_hash"] != prev:
            report.add(place, "prev_hash does not match the hash of the event before it")
        recomputed = event_hash(
            event["prev_hash"], event["seq"], event["kind"], event["run_id"], event["created_at"], event["payload"]
        )
        if recomputed != event["hash"]:
            report.add(place, "hash mismatch: the event's content is not what was hashed (edited)")
        prev = event["hash"]
    if audit["head"] != prev:
        report.add("audit.json head", "does not match the hash of the last event")
    report.events = len(events)
    return events


@dataclass
class Definition:
    """audit.json's definition, as the re-tally uses it."""

    contests: dict[str, tuple[counting.Contest, dict]]  # key -> (engine contest, audit.json contest)
    areas: dict[str, dict]  # key -> {parent, weight, census}
    styles: dict[str, dict[str, dict]]  # contest key -> {area key: annotations}


def check_definition(report: Report, audit: dict, ballots: dict, events: list[dict]) -> Definition:
    definition = audit["definition"]
    _check_definition_hashes(report, definition_digest(definition), events)
    areas = _definition_areas(report, definition)
    styles = _ballot_styles(report, definition, areas)
    contests = _published_contests(report, audit, {c["id"]: c for c in definition["contests"]}, styles)
    _same_contests(report, contests, ballots)
    _same_areas(report, areas, ballots)
    return Definition(contests, areas, styles)


def _check_definition_hashes(report: Report, recorded_hash: str, events: list[dict]) -> None:
    # A load may record an earlier hash only when a later 'definition extended' event (a CVR
    # import adding precincts) replaced it, by a chain of extensions ending at the published one.
    extended = {e["payload"].get("from"): e["payload"].get("to") for e in events if e["kind"] == EXTENDED}
    for event in events:
        payload = event["payload"]
        if event["kind"] in (LOADED, SEALED, "tally completed") and "definition_hash" in payload:
            current, seen = payload["definition_hash"], set()
            if event["kind"] == LOADED:
                while current in extended and current not in seen:
                    seen.add(current)
                    current = extended[current]
            if current != recorded_hash:
                report.add(_event_place(event, event["kind"]),
                           f"definition_hash {payload['definition_hash']} is not the hash of audit.json's "
                           f"definition ({recorded_hash}): the definition changed")


def _definition_areas(report: Report, definition: dict) -> dict[str, dict]:
    areas = {a["id"]: a for a in definition["areas"]}
    for key, area in areas.items():
        if area["parent"] is not None and area["parent"] not in areas:
            report.add(f"audit.json definition area {key!r}", f"parent {area['parent']!r} is not an area")
            area["parent"] = None
    return areas


def _ballot_styles(report: Report, definition: dict, areas: dict[str, dict]) -> dict[str, dict[str, dict]]:
    styles = {}
    for c in definition["contests"]:
        styles[c["id"]] = {}
        for style in c["ballot_styles"]:
            if style["area"] not in areas:
                report.add(f"audit.json definition contest {c['id']!r}", f"ballot style area {style['area']!r} is not an area")
                continue
            styles[c["id"]][style["area"]] = style["annotations"]
    return styles


def _published_contests(report: Report, audit: dict, hashed: dict[str, dict],
                        styles: dict[str, dict[str, dict]]) -> dict[str, tuple[counting.Contest, dict]]:
    """audit.json's contests, parsed, each compared with its definition in the hashed definition."""
    contests = {}
    for i, raw in enumerate(audit["contests"]):
        place = f"audit.json contests[{i}]"
        try:
            contest = counting.parse_contest(raw)
        except DefinitionError as exc:
            report.add(place, f"cannot be counted: {exc}")
            continue
        contests[contest.id] = (contest, raw)
        if contest.id not in hashed:
            report.add(place, f"contest {contest.id!r} is not in audit.json's definition")
            continue
        want = hashed[contest.id]
        mine = {name: raw.get(name, want[name]) for name in _DEFINITION_FIELDS}
        mine["candidates"] = [{k: c.get(k) for k in _CANDIDATE_FIELDS} for c in raw.get("candidates") or []]
        mine["exclusion_groups"] = raw.get("exclusion_groups") or []
        mine["areas"] = sorted(raw.get("areas") or [])
        theirs = {name: want[name] for name in (*_DEFINITION_FIELDS, "candidates", "exclusion_groups")}
        theirs["areas"] = sorted(styles[contest.id])
        _compare(report, f"{place} ({contest.id})", "differs from audit.json definition at ", theirs, mine)
    for key in hashed:
        if key not in contests:
            report.add("audit.json contests", f"contest {key!r} of the definition is missing")
    return contests


def _same_areas(report: Report, areas: dict[str, dict], ballots: dict) -> None:
    for i, area in enumerate(ballots["areas"]):
        place = f"ballots.json areas[{i}] ({area['id']})"
        if area["id"] not in areas:
            report.add(place, "is not an area of audit.json's definition")
            continue
        want = areas[area["id"]]
        _compare(report, place, "differs from audit.json definition at ",
                 {k: want[k] for k in ("parent", "weight", "census")},
                 {k: area.get(k) for k in ("parent", "weight", "census")})


def _same_contests(report: Report, published: dict, ballots: dict) -> None:
    seen = set()
    for i, raw in enumerate(ballots["contests"]):
        key = str(raw.get("id"))
        seen.add(key)
        if key not in published:
            report.add(f"ballots.json contests[{i}]", f"contest {key!r} is not in audit.json")
            continue
        _compare(report, f"ballots.json contests[{i}] ({key})", "definition differs from audit.json at ",
                 published[key][1], raw)
    for key in published:
        if key not in seen:
            report.add("ballots.json contests", f"contest {key!r} of audit.json is missing")


@dataclass
class PeriodBallots:
    """One published period's ballots as listed: entry hashes, chain after each, weights, and the
    counted ballots per (contest, area) (None where a ballot could not be read)."""

    hashes: list[str] = field(default_factory=list)
    scopes: list[tuple[str, str]] = field(default_factory=list)  # each ballot's (contest, area)
    chains: list[str] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    ballots: list[tuple[str, str, counting.Ballot] | None] = field(default_factory=list)

    def chain_at(self, position: int) -> str:
        return self.chains[position - 1] if position else GENESIS


def check_ballots(report: Report, ballots: dict, definition: Definition, periods: dict[str, dict]):
    """Check the ballot chain and each ballot; returns {period name: PeriodBallots}."""
    listed = {name: PeriodBallots() for name in periods}
    prev = GENESIS
    for i, entry in enumerate(ballots["ballots"]):
        place = f"ballots[{i}]"
        content = {k: v for k, v in entry.items() if k not in ("hash", "chain")}
        digest = sha256(canonical_json(content))
        if entry["hash"] != digest:
            report.add(place, "hash mismatch: the ballot's content is not what was hashed (edited)")
        if entry["chain"] != link(prev, entry["hash"]):
            report.add(place, "chain does not link to the previous ballot (a ballot was removed, added or moved)"
                       if i else "chain does not start from the genesis value")
        prev = entry["chain"]
        period, contest_key, area_key = entry["period"], entry["contest"], entry["area"]
        if period not in listed:
            report.add(place, f"period {period!r} is not a published period")
            continue
        own = listed[period]
        own.hashes.append(digest)
        own.scopes.append((contest_key, area_key))
        own.chains.append(link(own.chain_at(len(own.chains)), digest))
        own.weights.append(entry["weight"])
        own.ballots.append(None)
        if contest_key not in definition.contests:
            report.add(place, f"unknown contest {contest_key!r}")
            continue
        if area_key not in definition.styles.get(contest_key, {}):
            report.add(place, f"area {area_key!r} is not where contest {contest_key!r} is on the ballot")
            continue
        contest = definition.contests[contest_key][0]
        marks = tuple(tuple(mark) for mark in entry["marks"])
        ballot = counting.Ballot(marks, entry["weight"], entry["explicit_invalid"], entry.get("defect"))
        if ballot.defect is None and oversized(ballot):  # judged by the record-size limit, as the engine does
            ballot = counting.Ballot((), ballot.weight, ballot.explicit_invalid, "oversized-record")
        if entry["weight"] < 1:
            report.add(place, "cannot be read: weight must be a positive integer")
            continue
        kind, reason = classification(contest, ballot)
        if (entry["classification"], entry.get("reason")) != (kind, reason):
            report.add(place, f"classified {entry['classification']!r} ({entry.get('reason')}), "
                              f"the re-tally classifies it {kind!r} ({reason})")
        weight = entry["weight"] * definition.areas[area_key]["weight"]
        own.ballots[-1] = (contest_key, area_key,
                           counting.Ballot(ballot.marks, weight, ballot.explicit_invalid, ballot.defect))
    if ballots["chain_head"] != prev:
        report.add("ballots.json chain_head", "does not match the chain of the last ballot")
    report.ballots = len(ballots["ballots"])
    return listed


def check_batches(report: Report, events: list[dict], periods: dict[str, dict], listed: dict[str, PeriodBallots]):
    """Each published period's ballots are exactly its load batches in order; returns
    {period name: set of positions of voided batches' ballots}."""
    voided_ids = {e["payload"]["batch_id"] for e in events if e["kind"] == VOIDED}
    uncounted: dict[str, set[int]] = {name: set() for name in periods}
    for name, period in periods.items():
        own = listed[name]
        position = 0
        for event in (e for e in events if e["kind"] == LOADED and e["payload"]["voting_period_id"] == period["id"]):
            p = event["payload"]
            place = _event_place(event, f"ballots loaded, batch {p['batch_id']}")
            before, after = p["count_before"], p["count_after"]
            if before != position:
                report.add(place, f"starts at ballot {before} of period {name!r}, the batches before end at {position}")
            if not 0 <= before <= after <= len(own.hashes) or after - before != p["records"]:
                report.add(place, f"ballots {before}..{after} ({p['records']} records) are not in ballots.json "
                                  f"(period {name!r} lists {len(own.hashes)})")
                position = max(position, after)
                continue
            position = after
            if own.chain_at(before) != p["chain_before"] or own.chain_at(after) != p["chain_after"]:
                report.add(place, f"chain heads do not match the ballots {before}..{after} of period {name!r}")
            if content_digest(Counter(own.hashes[before:after])) != p["content_digest"]:
                report.add(place, "content_digest does not match its ballots in ballots.json")
            if sum(own.weights[before:after]) != p["weight"]:
                report.add(place, f"weight {p['weight']} is not the sum of its ballots' weights")
            if p.get("ballot_order") == BALLOT_ORDER and (out_of_order := _out_of_order(own, before, after)) is not None:
                report.add(place, f"ballot {out_of_order} of period {name!r} breaks the batch's order (by contest "
                                  "and area, then entry hash): the order could carry when ballots were cast")
            if p["batch_id"] in voided_ids:
                uncounted[name].update(range(before, after))
        if position != len(own.hashes):
            report.add(f"ballots.json period {name!r}",
                       f"ballots {position}..{len(own.hashes)} are in no load batch of audit.json "
                       "(a load missing from the audit chain)")
    return uncounted


def _out_of_order(own: PeriodBallots, before: int, after: int) -> int | None:
    """The first of ballots before..after not in the loader's order: each (contest, area) together,
    and within it ascending entry hashes; None when they all are."""
    seen: set[tuple[str, str]] = set()
    for i in range(before, after):
        scope = own.scopes[i]
        if i == before or scope != own.scopes[i - 1]:
            if scope in seen:
                return i
            seen.add(scope)
        elif own.hashes[i] < own.hashes[i - 1]:
            return i
    return None


SEAL_FIELDS = ("ballots", "counted", "voided_batches", "ballots_chain_head", "definition_hash")


def check_seals(report: Report, events: list[dict]) -> None:
    """A seal is final: every later 'ballots sealed' event of a period agrees with its first, and no
    batch is loaded into it or voided after that first seal (a seal cleared in the database, a
    batch voided and the period sealed again reads as exactly this)."""
    first: dict[Any, dict] = {}
    for event in events:
        period_id = event["payload"].get("voting_period_id")
        seal = first.get(period_id)
        if event["kind"] == SEALED:
            if seal is None:
                first[period_id] = event
                continue
            for name in SEAL_FIELDS:
                if event["payload"].get(name) != seal["payload"].get(name):
                    report.add(_event_place(event, "ballots sealed"),
                               f"{name} {json.dumps(event['payload'].get(name))} differs from the period's first "
                               f"seal (seq {seal['seq']}: {json.dumps(seal['payload'].get(name))})")
        elif event["kind"] in (LOADED, VOIDED) and seal is not None:
            report.add(_event_place(event, f"{event['kind']}, batch {event['payload'].get('batch_id')}"),
                       f"comes after period {seal['payload'].get('period')!r} was sealed (seq {seal['seq']})")


def _count(contest: counting.Contest, ballots: list[counting.Ballot], census: int, outcome: bool) -> dict:
    plain, others = group_ballots(ballots)
    classified = classify(contest, others, plain)
    decided = counting.decide(contest, classified.valid) if outcome else None
    return _normal(ContestResult(contest, classified.participation, decided, census).to_json())


def _followed(contest: counting.Contest, ballots: list[counting.Ballot], whole: dict) -> list[dict]:
    """Ballots' rounds following the contest's decisions, as the pipeline publishes an area's."""
    plain, others = group_ballots(ballots)
    return _normal(followed_rounds(contest, classify(contest, others, plain).valid, whole))


def derive(contest: counting.Contest, definition: Definition, by_area: dict[str, list[counting.Ballot]]) -> dict:
    """A contest's published results from its ballots, as the pipeline makes them: the contest,
    each area (its own ballots, or its subtree's for aggregate-results, as its tally_operation
    asks) and each subtree of an area with child areas of the contest."""
    styles = definition.styles[contest.id]
    operation = contest_operation(contest).value
    children: dict[str, list[str]] = {a: [] for a in styles}
    for key in styles:
        node, seen = definition.areas[key]["parent"], {key}
        while node is not None and node not in styles and node not in seen:  # a forged cycle ends here
            seen.add(node)
            node = definition.areas[node]["parent"]
        if node is not None and node in styles and node not in seen:
            children[node].append(key)

    def subtree(key: str) -> list[str]:
        out, todo = [], [key]
        while todo:
            node = todo.pop()
            if node not in out:  # parents forged into a cycle must not loop
                out.append(node)
                todo.extend(children[node])
        return out

    in_areas = official.for_areas(contest)  # an area's ties never wait for an official, as in the pipeline

    def result(keys: list[str], outcome: bool) -> dict:
        pooled = [b for k in keys for b in by_area.get(k, [])]
        counted_as = contest if set(keys) == set(styles) else in_areas
        return _count(counted_as, pooled, sum(definition.areas[k]["census"] for k in keys), outcome)

    with_outcome = operation != TallyOperation.SKIP_CANDIDATE_RESULTS
    whole = result(list(styles), with_outcome)
    areas = {}
    for key, style in styles.items():
        own = area_operation(contest, style).value
        keys = subtree(key) if own == TallyOperation.AGGREGATE_RESULTS else [key]
        areas[key] = (result(keys, own != TallyOperation.SKIP_CANDIDATE_RESULTS), keys)
    subtrees = {k: (result(subtree(k), with_outcome), subtree(k)) for k in styles if children[k]}
    if with_outcome and followable(contest, whole):
        for scope in (areas, subtrees):
            for shown, keys in scope.values():
                shown["followed_rounds"] = _followed(contest, [b for k in keys for b in by_area.get(k, [])], whole)
    areas = {k: shown for k, (shown, _) in areas.items()}
    subtrees = {k: shown for k, (shown, _) in subtrees.items()}
    return {"contest": whole, "areas": areas, "subtrees": subtrees}


def retally(report: Report, events: list[dict], definition: Definition, periods: dict[str, dict],
            listed: dict[str, PeriodBallots], uncounted: dict[str, set[int]]) -> dict[str, dict[str, dict]]:
    """Re-tally each published period; returns {period: {contest: derived results}}."""
    derived: dict[str, dict[str, dict]] = {}
    for name, period in periods.items():
        run_id = period["tally_run_id"]
        where = f"period {name!r} (run {run_id})"
        for e in events:
            if e["kind"] == "tally rolled back" and e["run_id"] == run_id:
                report.add(_event_place(e, "tally rolled back"), f"run {run_id} was rolled back, yet ballots.json publishes it")
        own = listed[name]
        counted = [b for i, b in enumerate(own.ballots) if i not in uncounted[name]]
        by_contest: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for item in counted:
            if item is not None:
                by_contest[item[0]][item[1]].append(item[2])
        if period["ballots"] != len(own.hashes):
            report.add(f"ballots.json periods ({name})", f"says {period['ballots']} ballot(s), lists {len(own.hashes)}")
        done = _check_completion(report, events, period, own, len(counted), where)
        if done is None:
            continue
        rounds_by_contest: dict[str, list[dict]] = defaultdict(list)
        for e in events:
            if e["kind"] == "tally round" and e["run_id"] == run_id:
                rounds_by_contest[e["payload"].get("contest")].append(e)
        decisions: dict[str, list[dict]] = defaultdict(list)  # the officials' tie decisions, replayed in order
        for e in events:
            if e["kind"] == TIE_DECIDED and e["payload"].get("voting_period_id") == period["id"]:
                decisions[e["payload"].get("contest")].append(decision_of(e["payload"]))
        derived[name] = _retally_contests(report, definition, by_contest, bool(counted), done, rounds_by_contest,
                                          where, decisions)
    return derived


def _retally_contests(report: Report, definition: Definition, by_contest: dict[str, dict[str, list]], any_counted: bool,
                      done: dict, rounds_by_contest: dict[str, list[dict]], where: str,
                      decisions: dict[str, list[dict]]) -> dict[str, dict]:
    """One period's contests re-tallied, with the tie decisions the audit records, and compared with its
    completion and round events."""
    derived = {}
    for key, (contest, _raw) in definition.contests.items():
        if decisions.get(key):
            contest = official.with_decisions(contest, decisions[key])
        try:
            results = derive(contest, definition, by_contest.get(key, {}))
        except TieNeedsDecision as exc:
            report.add(f"contest {key!r}, {where}", f"the re-tally needs a tie decision the audit lacks: {exc}")
            continue
        except (CountingError, DefinitionError) as exc:
            report.add(f"contest {key!r}, {where}", f"the re-tally could not finish: {exc}")
            continue
        if not any_counted:  # tallied with allow-empty: no winners, as the pipeline publishes it
            results = scopes_without_winners(results)
        derived[key] = results
        report.contests_retallied += 1
        _compare_published(report, done, key, results["contest"], rounds_by_contest.get(key, []))
    return derived


def _check_completion(report: Report, events: list[dict], period: dict, own: PeriodBallots, counted: int,
                      where: str) -> dict | None:
    """The period's last 'tally completed' event (None: there is none), checked against its ballots, and
    its 'ballots sealed' events."""
    run_id = period["tally_run_id"]
    completed = [e for e in events if e["kind"] == "tally completed" and e["run_id"] == run_id]
    if not completed:
        report.add("audit.json", f"no 'tally completed' event for {where}")
        return None
    done = completed[-1]
    payload = done["payload"]
    place = _event_place(done, f"tally completed, run {run_id}")
    if payload["voting_period_id"] != period["id"]:
        report.add(place, f"is for voting period {payload['voting_period_id']}, ballots.json says {period['id']}")
    if payload["ballots_chain_head"] != own.chain_at(len(own.hashes)):
        report.add(place, f"ballots_chain_head does not match the ballots of {where} in ballots.json")
    if payload["ballots"] != counted:
        report.add(place, f"records {payload['ballots']} counted ballot(s), ballots.json has {counted} "
                          f"for {where} outside voided batches")
    for e in events:
        if e["kind"] == SEALED and e["payload"]["voting_period_id"] == period["id"]:
            if (e["payload"]["ballots"], e["payload"]["ballots_chain_head"]) != (len(own.hashes), own.chain_at(len(own.hashes))):
                report.add(_event_place(e, "ballots sealed"), f"does not seal the ballots of {where} in ballots.json")
    return done


def _compare_published(report: Report, done: dict, key: str, derived: dict, recorded: list[dict]) -> None:
    """A contest's re-tallied result against its 'tally completed' event, and its rounds against the
    run's 'tally round' events."""
    run_id = done["run_id"]
    place = _event_place(done, f"tally completed, run {run_id}")
    result = dict(derived)
    rounds = rounds_of(result)
    for part in ROUND_FIELDS:
        result.pop(part, None)
    if key not in done["payload"]["results"]:
        report.add(place, f"has no result for contest {key!r}")
    else:
        _compare(report, place, f"contest {key!r} ", done["payload"]["results"][key], result)
    for j in range(max(len(recorded), len(rounds))):
        if j >= len(recorded):
            report.add(f"audit.json (run {run_id})", f"no 'tally round' event for round {j + 1} of contest {key!r}")
            continue
        event = recorded[j]
        rplace = _event_place(event, f"tally round {j + 1} of {key!r}")
        if j >= len(rounds):
            report.add(rplace, f"the re-tally of contest {key!r} has only {len(rounds)} round(s)")
            continue
        report.rounds += 1
        _compare(report, rplace, "", {k: v for k, v in event["payload"].items() if k != "contest"}, rounds[j])


def check_results(report: Report, results: dict, ballots: dict, periods: dict[str, dict],
                  derived: dict[str, dict[str, dict]]) -> None:
    """results.json against the re-tally: every period, contest, area, subtree and round."""
    if results["election"] != ballots["election"]["key"]:
        report.add("results.json election", f"is {results['election']!r}, ballots.json's is {ballots['election']['key']!r}")
    tallies = {t["voting_period"]: (i, t) for i, t in enumerate(results["tallies"])}
    for name, period in periods.items():
        if name not in tallies:
            report.add("results.json tallies", f"period {name!r} (run {period['tally_run_id']}) is missing")
            continue
        i, tally = tallies[name]
        where = f"results.json tallies[{i}] (period {name!r})"
        if tally["tally_run_id"] != period["tally_run_id"]:
            report.add(where, f"is run {tally['tally_run_id']}, ballots.json publishes run {period['tally_run_id']}")
        contests = {c["contest"]: c for c in tally["contests"]}
        for key, want in derived.get(name, {}).items():
            if key not in contests:
                report.add(where, f"contest {key!r} is missing")
                continue
            _check_published_contest(report, f"{where} contest {key!r}", contests[key], want)
            report.results_checked += 1
        for key in contests:
            if key not in derived.get(name, {}):
                report.add(where, f"contest {key!r} is not in audit.json")
    for name in tallies:
        if name not in periods:
            report.add("results.json tallies", f"period {name!r} is not published in ballots.json")


def _check_published_contest(report: Report, place: str, got: dict, want: dict) -> None:
    """One contest of results.json: its result, and each of its areas and subtrees."""
    _compare(report, place, "result.", got["result"], want["contest"])
    for scope in ("areas", "subtrees"):
        for area in sorted(set(got[scope]) | set(want[scope])):
            if area not in got[scope] or area not in want[scope]:
                missing = "results.json" if area not in got[scope] else "the re-tally"
                report.add(place, f"{scope}.{area}: missing from {missing}")
                continue
            _compare(report, place, f"{scope}.{area}.", got[scope][area], want[scope][area])


def verify(ballots: Any, audit: Any, results: Any = None) -> Report:
    """Raises Malformed (naming the place) for a file that is not the document it should be;
    otherwise returns the report of every difference."""
    try:
        check_shape(ballots, "ballots.json", audit, "audit.json", results, "results.json")
        return _verify(ballots, audit, results)
    except RecursionError:
        raise Malformed("a file is nested too deeply to check") from None


def _verify(ballots: dict, audit: dict, results: dict | None) -> Report:
    report = Report()
    if ballots["election"] != audit["election"]:
        report.add("ballots.json election", "is not the election of audit.json")
    events = check_audit_chain(report, audit)
    definition = check_definition(report, audit, ballots, events)
    periods = {p["name"]: p for p in ballots["periods"]}
    listed = check_ballots(report, ballots, definition, periods)
    uncounted = check_batches(report, events, periods, listed)
    check_seals(report, events)
    derived = retally(report, events, definition, periods, listed, uncounted)
    if results is not None:
        check_results(report, results, ballots, periods, derived)
    return report
