"""Stage 4, publish: finalize, the one transaction that publishes a run's results."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from counting.result import ROUND_FIELDS, rounds_of, scopes_without_winners
from models import entities as m

from services import audit, definition, storage
from services.ballot_chain import period_chain_state

from services.lifecycle import batches

from services.lifecycle.periods import iso, now, refresh_election_status
from services.lifecycle.runs import lock_run, transition


def finalize(session: Session, run_id: int) -> bool:
    """Publish everything in this one transaction: certified results, winners, audit events, run
    COMPLETED, election tallied. Readers see all of it or none of it. False if not publishable."""
    run = lock_run(session, run_id)
    if run is None or run.status != m.RunStatus.RUNNING:
        return False
    election = session.get(m.Election, run.election_id)
    store = storage.of(session)
    staged = store.staged_contests(session, run_id)
    if set(staged) != {c.id for c in election.contests}:
        return False
    period = session.get(m.VotingPeriod, run.voting_period_id)
    definition_hash = definition.current_hash(session, election.id)
    if period.sealed_definition_hash is not None and definition_hash != period.sealed_definition_hash:
        raise RuntimeError(
            f"the definition changed since the period was sealed (definition hash {definition_hash}, "
            f"sealed {period.sealed_definition_hash}): nothing is published"
        )
    ballots = sum(payload["ballots_read"] for payload in staged.values())
    if ballots == 0:  # only with --allow-empty: no winners chosen by tie-break from nothing
        staged = {contest_id: scopes_without_winners(payload) for contest_id, payload in staged.items()}
    winners_total = ties_total = 0
    for row in election.contests:
        winners, ties = _publish_contest(session, run, row, staged[row.id])
        winners_total += winners
        ties_total += ties
    # Before COMPLETED, which the database lets change only through a rollback: it records the chain head.
    completion = _completion_record(
        session, run, {c.key: staged[c.id]["contest"] for c in election.contests}, ballots,
        batches.counted_ballots(session, period),
    )
    # Under the row lock taken above; the guard makes it a compare-and-set all the same.
    if not transition(
        session, run, (m.RunStatus.RUNNING,), m.RunStatus.COMPLETED, completed_at=now(), completed_by=run.started_by,
        positions_tallied=len(election.contests), winners_applied=winners_total, ties_detected=ties_total,
        areas_done=run.areas_total, ballots_processed=ballots,
    ):
        raise RuntimeError(f"run {run_id} left RUNNING while it was being finalized")
    refresh_election_status(session, election.id)
    record = {
        "voting_period_id": run.voting_period_id,
        "positions_tallied": run.positions_tallied,
        "winners_applied": winners_total,
        "ties_detected": ties_total,
        "ballots": ballots,
        "completed_at": iso(run.completed_at),
        "definition_hash": definition_hash,
        **completion,
    }
    audit.append(session, election.id, "tally completed", record, run_id=run.id)
    store.drop_staging(session, run_id)
    return True


def _publish_contest(session: Session, run: m.TallyRun, row: m.Contest, payload: dict) -> tuple[int, int]:
    """One contest's certified results (contest, areas, subtrees), candidates, winners and rounds."""
    areas = storage.of(session).election_areas(session, row.election_id)
    area_ids = {areas[s.area_id].key: s.area_id for s in row.ballot_styles}
    scoped = [(m.ResultScope.CONTEST, None, payload["contest"])]
    scoped += [(m.ResultScope.AREA, area_ids[k], r) for k, r in payload["areas"].items()]
    scoped += [(m.ResultScope.SUBTREE, area_ids[k], r) for k, r in payload["subtrees"].items()]
    # One bulk INSERT (no objects, no ids read back): added one object per area, 10,000 areas took
    # three times as long.
    session.execute(insert(m.CertifiedResult), [
        {"run_id": run.id, "contest_id": row.id, "scope": scope, "area_id": area_id,
         "total_ballots": result["extended_metrics"]["total_ballots"],
         "turnout_percent": result["percentages"]["turnout"], "notes": "; ".join(result["notes"]), "result": result}
        for scope, area_id, result in scoped
    ])
    result = payload["contest"]
    candidate_ids = {c.key: c.id for c in row.candidates}
    for c in result["candidates"]:
        session.add(
            m.CertifiedCandidateResult(
                run_id=run.id, contest_id=row.id, candidate_id=candidate_ids[c["id"]],
                vote_count=str(c["total_count"]), vote_share_percent=c["percentage_votes"],
                rank=c["rank"], is_winner=c["is_winner"],
            )
        )
    for seat, key in enumerate(result["winners"], start=1):
        session.add(m.WinnerAssignment(run_id=run.id, contest_id=row.id, candidate_id=candidate_ids[key], seat=seat))
    for rnd in rounds_of(result):
        audit.append(session, run.election_id, "tally round", {"contest": row.key, **rnd}, run_id=run.id)
    return len(result["winners"]), len(result["ties"])


def _completion_record(
    session: Session, run: m.TallyRun, contest_results: dict[str, dict], counted: int, expected: int
) -> dict:
    """What finalize adds to the 'tally completed' event: the period's ballot chain head and each
    contest's result (rounds are in the 'tally round' events), so the audit log alone says what
    was counted and what came out. Refuses when the tally did not read exactly the `expected`
    ballots: those loaded, less the voided batches' (services.lifecycle.batches.counted_ballots)."""
    count, head = period_chain_state(session, session.get(m.VotingPeriod, run.voting_period_id))
    if counted != expected:
        voided = f" and not voided ({count} in all)" if count != expected else ""
        raise RuntimeError(f"the tally read {counted} ballot(s) but {expected} were loaded into the period{voided}")
    run.ballots_chain_head = head
    return {
        "ballots_chain_head": head,
        "ballots_published": count,
        "results": {key: {k: v for k, v in r.items() if k not in ROUND_FIELDS} for key, r in contest_results.items()},
    }
