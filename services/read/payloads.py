"""The admin API's JSON payloads (camelCase, as shared/design/api.md fixes them), shaped from what
the services return. `tally status`, `tally rollback` and `tally seal` print the same payloads, from
here too."""

from __future__ import annotations

from services.lifecycle import periods, runs

# The status of a period never tallied: every field null.
_NO_TALLY = (
    "tallyRunId", "status", "electionId", "votingPeriodId", "startedAt", "completedAt", "startedByPersonId",
    "completedByPersonId", "remarks", "totalPositionsCertified", "totalWinnersApplied", "progress",
)


def run_started(run, message: str) -> dict:
    """The answer to a run request (`run` is the TallyRun, read inside its session)."""
    return {
        "tallyRunId": run.id,
        "status": run.status.value,
        "electionId": run.election_id,
        "votingPeriodId": run.voting_period_id,
        "totalPositionsTallied": run.positions_tallied,
        "totalWinnersApplied": run.winners_applied,
        "tiesDetectedCount": run.ties_detected,
        "serverTime": periods.iso(periods.now()),
        "message": message,
    }


def period_state(period) -> dict:
    """Where a voting period stands, tallied or not: OPEN, CLOSED or SEALED, with its ballots."""
    return {
        "name": period.name,
        "state": "SEALED" if period.sealed_at else period.status.value,
        "endsAt": periods.iso(period.ends_at),
        "sealedAt": periods.iso(period.sealed_at) if period.sealed_at else None,
        "ballots": period.ballots_count,
    }


def tally_status(state: runs.RunState | None, period=None) -> dict:
    """The period's latest run (every field null before the first), and, given the period, its state."""
    shown = {"period": period_state(period)} if period is not None else {}
    if state is None:
        return {key: None for key in _NO_TALLY} | {"tallyExists": False} | shown
    return shown | {
        "tallyExists": True,
        "tallyRunId": state.run_id,
        "status": state.status,
        "electionId": state.election_id,
        "votingPeriodId": state.voting_period_id,
        "startedAt": periods.iso(state.started_at),
        "completedAt": periods.iso(state.completed_at),
        "startedByPersonId": state.started_by,
        "completedByPersonId": state.completed_by,
        "remarks": state.remarks,
        "totalPositionsCertified": state.positions_tallied,
        "totalWinnersApplied": state.winners_applied,
        "error": state.error,
        "waitingFor": state.waiting_for,
        "progress": {
            "areasDone": state.progress.areas_done,
            "areasTotal": state.progress.areas_total,
            "ballotsProcessed": state.progress.ballots_processed,
        },
    }


def rolled_back(done: runs.RolledBack) -> dict:
    return {
        "tallyRunId": done.run_id,
        "status": done.status,
        "winnersRemoved": done.winners_removed,
        "rolledBackAt": periods.iso(done.rolled_back_at),
        "message": "Tally rolled back successfully",
    }


def sealed(seal: dict) -> dict:
    """From the seal's audit payload (services.lifecycle.sealing.seal_period)."""
    return {
        "votingPeriodId": seal["voting_period_id"],
        "sealedAt": seal["sealed_at"],
        "ballots": seal["ballots"],
        "counted": seal["counted"],
        "ballotsChainHead": seal["ballots_chain_head"],
        "definitionHash": seal["definition_hash"],
        "message": "Voting period sealed",
    }


def load_batch(batch) -> dict:
    """A load batch as `tally batch list` and `tally batch void` print it (`batch` is the LoadBatch)."""
    return {
        "batchId": batch.id,
        "votingPeriodId": batch.voting_period_id,
        "createdAt": periods.iso(batch.created_at),
        "source": batch.source,
        "fileSha256": batch.file_sha256,
        "contentDigest": batch.content_digest,
        "records": batch.records,
        "weight": batch.weight,
        "countBefore": batch.count_before,
        "countAfter": batch.count_after,
        "chainBefore": batch.chain_before,
        "chainAfter": batch.chain_after,
        "duplicateOf": batch.duplicate_of,
        "voidedAt": periods.iso(batch.voided_at),
        "voidReason": batch.void_reason,
    }
