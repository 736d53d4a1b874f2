"""Loading a BLT file (OpenSTV, OpaVote, ERS, the published Scottish wards) into an election (`tally load --blt
FILE --election KEY --method M`), as an RCTab configuration is loaded (services.loading.cvr): the election and
its period are created when missing, the file's contest is created on the root area, counted by `method`, or
matched to the election's contest of that id (the same candidates, method and rules, else the load is
refused), and its ballots go to the loader as one load batch, each ballot line one record of its weight."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from sqlalchemy.orm import Session

from counting.ballots import Ballot
from counting.blt import parse_blt
from services.loading.ballots import BallotReport, load_ballots
from services.loading.cvr import election_for, ensure_contest, period_for, root_of
from services.loading.fields import LoadError


def load_blt(
    session: Session, path: str | Path, election_key: str, method: str, period_name: str = "main",
    contest_key: str | None = None, allow_duplicate: bool = False, small_batch: bool = False,
) -> tuple[str, BallotReport]:
    """Load the BLT file at `path`; its contest's key (`contest_key`, else the file's title) and the loader's
    report. A file that cannot be read raises `BltError` naming its line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise LoadError(f"--blt: {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise LoadError(f"--blt: {path}: not UTF-8 text (byte {exc.start})") from None
    blt = parse_blt(text, path.name)
    definition = blt.definition(method, contest_id=contest_key)
    election = election_for(session, election_key, blt.title or election_key)
    period = period_for(election, period_name)
    root = root_of(election)
    contest = ensure_contest(session, election, definition)
    records = _records(contest.key, root.key, blt.ballots)
    report = load_ballots(session, election.key, period.name, records, source=path.name,
                          allow_duplicate=allow_duplicate, extends_definition=True, small_batch=small_batch)
    return contest.key, report


def _records(contest: str, area: str, ballots: tuple[Ballot, ...]) -> Iterator[dict]:
    for ballot in ballots:
        record = {"contest": contest, "area": area, "marks": [list(mark) for mark in ballot.marks]}
        if ballot.weight != 1:
            record["weight"] = ballot.weight
        yield record
