"""One classification everywhere (issue #15): the same hostile records loaded into the pipeline (PostgreSQL, the
service layer in-process) and counted by `tally count` get the same reason, record for record in the totals, and
`tally verify` re-tallies the published files to the same figures. The record-size limit of the interchange
format (docs/interchange.md) is the case that used to differ: a candidate id of 100,000 characters."""

from __future__ import annotations

import json
from collections import Counter

from cli.main import main as tally
from counting.ballots import MAX_RECORD_CHARS, Ballot, record_json
from models import entities as m
from models.db import session_scope
from services.read import exports
from services.public_format import canonical_json, link, sha256
from services.read.results import published
from services.verify import verify
from services.lifecycle.commands import RequestTally
from tests import factories as f


def _at_length(length: int, value, weight: int = 1) -> str:
    """A candidate id that makes a one-mark record exactly `length` characters as read."""
    return "q" * (length - len(record_json(Ballot(marks=(("", value),), weight=weight))))


def _hostile(contest: dict) -> list[dict]:
    """Records that test each reading rule, sized around the record-size limit, for one contest."""
    names = [c["id"] for c in contest["candidates"]]
    pair = contest["method"] == "pairwise-beta"
    first = names[1] if pair else 1  # a readable value: the loser's id for pairs, rank or check 1 otherwise

    def one(candidate, value=first, **fields) -> dict:
        return {"contest": contest["id"], "marks": [[candidate, value]], **fields}

    return [
        one("x" * 100_000),  # the audit's case: oversized-record, never unknown-candidate
        one(_at_length(MAX_RECORD_CHARS, first)),  # exactly the limit: read, an unknown candidate
        one(_at_length(MAX_RECORD_CHARS + 1, first)),  # one character over
        one(_at_length(MAX_RECORD_CHARS, first, weight=3), weight=3),
        one("\U0001F600" * 5_500),  # 5,500 characters written as 66,000
        one("\u00e9" * 10_000),  # written as 60,000: within the limit
        one(names[0], comment="x" * 70_000),  # a field the format does not read: a valid ballot
        one("nobody", comment="x" * 70_000),  # unknown candidate; its original JSON is too long to keep
        one(names[0], "y" * 70_000) if pair else one(names[0], 70_000),  # a long loser id / a value past storage
        one("x" * 70_000, weight="2"),  # unreadable first: malformed-weight
        one(7),  # a numeric candidate id: read as "7"
        one("\ud800"),  # a lone surrogate
        {"contest": contest["id"], "marks": [[names[0], first]] * 1001},  # more than 1,000 marks
        {"contest": contest["id"], "marks": [[["deep"]]]},
        {"contest": contest["id"], "marks": [[names[0], first]], "explicit_invalid": "no"},
        {"contest": contest["id"], "marks": [[names[0], first]], "explicit_invalid": True, "note": "x" * 70_000},
        "not a record",
    ]


def _records(definition: dict) -> list[dict]:
    ballots = f.random_ballots(definition, 150, seed=15, hostile=True)
    areas = [a["id"] for a in definition["areas"]]
    for c in definition["contests"]:
        for i, record in enumerate(_hostile(c)):
            if isinstance(record, dict):
                ballots.append({**record, "area": areas[i % len(areas)]})
    return ballots


def _tally_count(tmp_path, capsys, definition: dict, ballots: list[dict], contest: dict) -> dict:
    """`tally count` over the contest's records, as an auditor would feed it."""
    doc = {
        "contest": {k: v for k, v in contest.items() if k not in ("areas", "area_annotations")},
        "ballots": [{k: v for k, v in b.items() if k not in ("contest", "area")}
                    for b in ballots if b["contest"] == contest["id"]] + ["not a record"],
    }
    path = tmp_path / f"{contest['id']}.json"
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert tally(["count", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_same_records_get_the_same_reasons_in_the_pipeline_tally_count_and_verify(embedded_db, tmp_path, capsys):
    contests = [f.contest("council", "plurality-at-large", candidates=5, seats=2, max_votes=2),
                f.contest("mayor", "instant-runoff", candidates=4),
                f.contest("duel", "pairwise-beta", candidates=4)]
    definition = f.election("one-class-1", contests, areas=f.area_tree((3,)))
    ballots = _records(definition)
    # The unreadable "not a record" cannot name its contest in a ballots file: `tally count` gets it directly.
    election_id, period_id = f.load(embedded_db, definition, ballots)
    with session_scope(embedded_db) as session:  # Celery embedded: the tally runs once the request commits
        run, _ = RequestTally(election_id, period_id, force=True, by="test").run(session)
        run_id = run.id
    with session_scope(embedded_db) as session:
        assert session.get(m.TallyRun, run_id).status == m.RunStatus.COMPLETED
        tallies = published(session, election_id)["tallies"]
        files = [json.loads(exports.ballots_document(session, election_id)),
                 json.loads(exports.audit_document(session, election_id))]
    pipeline = {c["contest"]: c["result"] for c in tallies[0]["contests"]}

    for contest in contests:
        key = contest["id"]
        counted = _tally_count(tmp_path, capsys, definition, ballots, contest)
        loaded = pipeline[key]["totals"]
        reasons = Counter(counted["totals"]["invalid_reasons"])
        reasons["malformed-record"] -= 1  # the record only `tally count` got
        assert Counter(loaded["invalid_reasons"]) == +reasons, key
        for field in ("valid", "blank", "invalid_explicit"):
            assert loaded[field] == counted["totals"][field], (key, field)
        assert pipeline[key]["winners"] == counted["winners"], key
        # The audit's case, and the limit's edges, in both.
        # 100,000 characters, one over, 66,000 as written, 1,001 marks (and for pairs the 70,000-character loser)
        assert reasons["oversized-record"] == 4 + (key == "duel")
        assert reasons["unknown-candidate"] >= 8  # at the limit (1, and 3 by weight), 60,000 as written,
        # "nobody" with a long comment, "7", the lone surrogate

    report = verify(*files)
    assert report.ok, report.differences
    assert report.ballots == len(ballots)

    # `tally verify` applies the limit itself: the audit's record published with its marks and no defect, as
    # the old `tally count` judged it (unknown-candidate), is found even with every hash recomputed.
    ballots_doc = files[0]
    i = next(i for i, e in enumerate(ballots_doc["ballots"])
             if e["contest"] == "council" and e["defect"] == "oversized-record" and (e["raw"] or "").count("x") >= 65_000)
    ballots_doc["ballots"][i].update(marks=[["x" * 100_000, 1]], defect=None, raw=None, reason="unknown-candidate")
    chain = ballots_doc["ballots"][i - 1]["chain"]
    for entry in ballots_doc["ballots"][i:]:
        entry["hash"] = sha256(canonical_json({k: v for k, v in entry.items() if k not in ("hash", "chain")}))
        chain = entry["chain"] = link(chain, entry["hash"])
    ballots_doc["chain_head"] = chain
    assert (f"ballots[{i}]: classified 'invalid-implicit' (unknown-candidate), the re-tally classifies it "
            f"'invalid-implicit' (oversized-record)") in verify(*files).differences
