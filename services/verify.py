"""`tally verify`: check the two public files against each other, with no database.

1. The audit chain: every event's seq, prev_hash and hash (services.audit.event_hash).
2. The ballot chain: every ballot's hash and chain link, and the chain head.
3. The contest definitions of ballots.json are the ones audit.json publishes.
4. Re-tally: each published period's ballots, per contest, with the engine (weight x area weight),
   compared with the run's 'tally completed' event (results and the period's ballot chain head)
   and its 'tally round' events, round by round.
Each difference names its place: `ballots[17]: ...`, `audit event seq 5: ...`."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator

import counting
from counting.ballots import oversized
from counting.errors import CountingError, DefinitionError
from counting.result import ROUND_FIELDS, rounds_of

from .audit import GENESIS, canonical_json, event_hash
from .exports import AUDIT_FORMAT, BALLOTS_FORMAT, classification, link, sha256

MAX_FIELDS = 5  # differing fields reported per compared object


@dataclass
class Report:
    differences: list[str] = field(default_factory=list)
    ballots: int = 0
    events: int = 0
    contests_retallied: int = 0
    rounds: int = 0

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
        for i, (a, b) in enumerate(zip(recorded, retallied)):
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
    events = audit.get("events")
    if not isinstance(events, list):
        report.add("audit.json", "has no events list")
        return []
    prev = GENESIS
    good = []
    for i, event in enumerate(events):
        if not isinstance(event, dict) or not {"seq", "kind", "payload", "prev_hash", "hash"} <= set(event):
            report.add(f"audit.events[{i}]", "is not an audit event")
            continue
        place = _event_place(event)
        if event["seq"] != i + 1:
            report.add(place, f"out of place: found at position {i + 1} (an event was removed, added or moved)")
        if event["prev_hash"] != prev:
            report.add(place, "prev_hash does not match the hash of the event before it")
        try:
            recomputed = event_hash(
                event["prev_hash"], event["seq"], event["kind"], event.get("run_id"), event.get("created_at"),
                event["payload"],
            )
        except (TypeError, ValueError):
            recomputed = None
        if recomputed != event["hash"]:
            report.add(place, "hash mismatch: the event's content is not what was hashed (edited)")
        prev = event["hash"]
        good.append(event)
    if audit.get("head") != prev:
        report.add("audit.json head", "does not match the hash of the last event")
    report.events = len(events)
    return good


def _definitions(report: Report, audit: dict, ballots: dict) -> dict[str, tuple[counting.Contest, dict]]:
    published = {}
    for i, raw in enumerate(audit.get("contests") or []):
        try:
            contest = counting.parse_contest(raw)
        except DefinitionError as exc:
            report.add(f"audit.json contests[{i}]", f"cannot be counted: {exc}")
            continue
        published[contest.id] = (contest, raw)
    seen = set()
    for i, raw in enumerate(ballots.get("contests") or []):
        key = str(raw.get("id")) if isinstance(raw, dict) else None
        seen.add(key)
        if key not in published:
            report.add(f"ballots.json contests[{i}]", f"contest {key!r} is not in audit.json")
            continue
        _compare(report, f"ballots.json contests[{i}] ({key})", "definition differs from audit.json at ",
                 published[key][1], raw)
    for key in published:
        if key not in seen:
            report.add("ballots.json contests", f"contest {key!r} of audit.json is missing")
    return published


def _ballot_from(entry: dict) -> counting.Ballot:
    """The published ballot, judged by the interchange format's record-size limit as the engine and the loader
    judge it."""
    marks = tuple(tuple(mark) for mark in entry["marks"])
    if any(len(mark) != 2 for mark in marks):
        raise ValueError("marks must be [candidate, value] pairs")
    ballot = counting.Ballot(marks, entry["weight"], bool(entry["explicit_invalid"]), entry.get("defect"))
    if ballot.defect is None and oversized(ballot):
        return counting.Ballot((), ballot.weight, ballot.explicit_invalid, "oversized-record")
    return ballot


def check_ballots(report: Report, ballots: dict, contests: dict, periods: dict[str, dict]):
    """Check the ballot chain; returns ({(period, contest): [Ballot]}, {period: (records, chain head)})."""
    areas = {a.get("id"): a for a in ballots.get("areas") or [] if isinstance(a, dict)}
    pooled: dict[tuple[str, str], list[counting.Ballot]] = defaultdict(list)
    per_period: dict[str, list] = {name: [0, GENESIS] for name in periods}
    entries = ballots.get("ballots")
    if not isinstance(entries, list):
        report.add("ballots.json", "has no ballots list")
        return pooled, per_period
    prev = GENESIS
    for i, entry in enumerate(entries):
        place = f"ballots[{i}]"
        if not isinstance(entry, dict):
            report.add(place, "is not a ballot entry")
            continue
        content = {k: v for k, v in entry.items() if k not in ("hash", "chain")}
        digest = sha256(canonical_json(content))
        if entry.get("hash") != digest:
            report.add(place, "hash mismatch: the ballot's content is not what was hashed (edited)")
        if entry.get("chain") != link(prev, str(entry.get("hash"))):
            report.add(place, "chain does not link to the previous ballot (a ballot was removed, added or moved)"
                       if i else "chain does not start from the genesis value")
        prev = entry.get("chain")
        period, contest_key, area_key = entry.get("period"), entry.get("contest"), entry.get("area")
        if period not in per_period:
            report.add(place, f"period {period!r} is not a published period")
            continue
        per_period[period][0] += 1
        per_period[period][1] = link(per_period[period][1], digest)
        if contest_key not in contests:
            report.add(place, f"unknown contest {contest_key!r}")
            continue
        if area_key not in areas:
            report.add(place, f"unknown area {area_key!r}")
            continue
        contest = contests[contest_key][0]
        try:
            ballot = _ballot_from(entry)
            if isinstance(ballot.weight, bool) or not isinstance(ballot.weight, int) or ballot.weight < 1:
                raise ValueError("weight must be a positive integer")
            weight = ballot.weight * int(areas[area_key]["weight"])
        except (KeyError, TypeError, ValueError) as exc:
            report.add(place, f"cannot be read: {exc}")
            continue
        kind, reason = classification(contest, ballot)
        if (entry.get("classification"), entry.get("reason")) != (kind, reason):
            report.add(place, f"classified {entry.get('classification')!r} ({entry.get('reason')}), "
                              f"the re-tally classifies it {kind!r} ({reason})")
        pooled[(period, contest_key)].append(
            counting.Ballot(ballot.marks, weight, ballot.explicit_invalid, ballot.defect)
        )
    if ballots.get("chain_head") != prev:
        report.add("ballots.json chain_head", "does not match the chain of the last ballot")
    report.ballots = len(entries)
    return pooled, per_period


def retally(report: Report, ballots: dict, events: list[dict], contests: dict, pooled, per_period,
            periods: dict[str, dict]) -> None:
    areas = {a.get("id"): a for a in ballots.get("areas") or [] if isinstance(a, dict)}
    for name, period in periods.items():
        run_id = period.get("tally_run_id")
        where = f"period {name!r} (run {run_id})"
        completed = [e for e in events if e["kind"] == "tally completed" and e.get("run_id") == run_id]
        for e in events:
            if e["kind"] == "tally rolled back" and e.get("run_id") == run_id:
                report.add(_event_place(e, "tally rolled back"), f"run {run_id} was rolled back, yet ballots.json publishes it")
        if not completed:
            report.add("audit.json", f"no 'tally completed' event for {where}")
            continue
        done = completed[-1]
        payload = done["payload"] if isinstance(done.get("payload"), dict) else {}
        place = _event_place(done, f"tally completed, run {run_id}")
        records, head = per_period[name]
        if payload.get("voting_period_id") != period.get("id"):
            report.add(place, f"is for voting period {payload.get('voting_period_id')}, ballots.json says {period.get('id')}")
        if payload.get("ballots_chain_head") != head:
            report.add(place, f"ballots_chain_head does not match the ballots of {where} in ballots.json")
        if payload.get("ballots") != records:
            report.add(place, f"records {payload.get('ballots')} ballot(s), ballots.json has {records} for {where}")
        if period.get("ballots") != records:
            report.add(f"ballots.json periods ({name})", f"says {period.get('ballots')} ballot(s), lists {records}")
        results = payload.get("results")
        if not isinstance(results, dict):
            report.add(place, "has no contest results")
            results = {}
        rounds_by_contest: dict[str, list[dict]] = defaultdict(list)
        for e in events:
            if e["kind"] == "tally round" and e.get("run_id") == run_id and isinstance(e.get("payload"), dict):
                rounds_by_contest[e["payload"].get("contest")].append(e)
        for key, (contest, raw) in contests.items():
            census = sum(areas[a]["census"] for a in raw.get("areas") or [] if a in areas)
            try:
                result = _normal(counting.count(contest, pooled.get((name, key), []), census=census).to_json())
            except (CountingError, DefinitionError) as exc:
                report.add(f"contest {key!r}, {where}", f"the re-tally could not finish: {exc}")
                continue
            report.contests_retallied += 1
            rounds = rounds_of(result)
            for part in ROUND_FIELDS:
                result.pop(part, None)
            if key not in results:
                report.add(place, f"has no result for contest {key!r}")
            else:
                _compare(report, place, f"contest {key!r} ", results[key], result)
            recorded = rounds_by_contest.get(key, [])
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


def verify(ballots: Any, audit: Any) -> Report:
    report = Report()
    if not isinstance(ballots, dict) or ballots.get("format") != BALLOTS_FORMAT:
        report.add("ballots.json", f"is not a {BALLOTS_FORMAT} document")
        return report
    if not isinstance(audit, dict) or audit.get("format") != AUDIT_FORMAT:
        report.add("audit.json", f"is not a {AUDIT_FORMAT} document")
        return report
    if ballots.get("election") != audit.get("election"):
        report.add("ballots.json election", "is not the election of audit.json")
    events = check_audit_chain(report, audit)
    contests = _definitions(report, audit, ballots)
    periods = {p.get("name"): p for p in ballots.get("periods") or [] if isinstance(p, dict)}
    pooled, per_period = check_ballots(report, ballots, contests, periods)
    retally(report, ballots, events, contests, pooled, per_period, periods)
    return report
