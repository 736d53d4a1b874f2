"""`tally db upgrade`, `load`, `advance`, `seal`, `batch`, `run`, `status`, `rollback`, `results`: the operator's
commands. They call the same service layer as the admin API."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

from sqlalchemy import select

from services.read import payloads
from counting.errors import DefinitionError
from counting.table import format_area_table, format_table, printable
from cvr.errors import ConfigError, CvrError
from models import entities as m
from models.db import session_scope, upgrade
from report.views import LAST_FOLLOWED_ROUND, leaders
from scheduler.advance import advance
from scheduler.reconcile import reconcile
from services.lifecycle import batches, dispatch, periods, runs
from services.read import results
from services.loading.ballot_file import open_ballot_file
from services.loading.blt import load_blt
from services.loading.cvr import load_cvr, load_rctab
from services.loading.export import ExportLoadReport, load_export
from services.elections import find_election
from services.errors import NotFound, ServiceError
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from services.loading.fields import LoadError, read_json
from services.lifecycle.commands import RequestTally, RollBack, SealPeriod, VoidBatch
from config.settings import load_settings

from .common import EXIT_FAILED, EXIT_UNAVAILABLE, fail, handles_errors, print_json, terminal_width
from .dispatcher import install_dispatcher
from .urls import shown_url
from .errors import host_port
from .progress import ProgressDisplay

WORKER_PING_AFTER = 5.0  # seconds a run may stay PENDING before `--wait` asks whether any worker is there
WORKER_PING_TIMEOUT = 2.0


def register(subparsers) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply the schema migrations (run before anything else)")
    up.set_defaults(func=cmd_db_upgrade)

    _register_load(subparsers)

    adv = subparsers.add_parser("advance", help="close ended voting periods and start their tallies")
    adv.add_argument("--dry-run", action="store_true", help="only list what would be closed and tallied")
    adv.set_defaults(func=cmd_advance)

    _register_period_commands(subparsers)

    batch = subparsers.add_parser("batch", help="load batches: list a period's, void one before sealing")
    batch_sub = batch.add_subparsers(dest="batch_command", required=True, metavar="ACTION")
    listing = batch_sub.add_parser("list", help="a voting period's load batches as JSON")
    _period_arguments(listing)
    listing.set_defaults(func=resolving(cmd_batch_list))
    void = batch_sub.add_parser("void", help="void a batch before its period is sealed (its ballots are not counted)")
    void.add_argument("batch_id", type=int)
    void.add_argument("--reason", required=True)
    void.set_defaults(func=cmd_batch_void)

    rec = subparsers.add_parser("reconcile", help="re-dispatch or fail tallies stuck in RUNNING (beat does this too)")
    rec.add_argument("--stuck-after", type=int, default=None, metavar="SECONDS",
                     help="no progress for this long counts as stuck (default TALLY_STUCK_AFTER)")
    rec.set_defaults(func=cmd_reconcile)

    res = subparsers.add_parser("results", help="show an election's published results")
    res.add_argument("election", help="election id or key")
    res.add_argument("--area", help="show this area's own and subtree results")
    res.add_argument("--format", choices=("table", "json", "csv", "xlsx"), default="table",
                     help="csv: a line per contest (with --contest, that contest's rounds); xlsx: a workbook to --out")
    res.add_argument("--contest", metavar="ID", help="with --format csv: this contest in RCTab's summary layout")
    res.add_argument("--out", metavar="FILE", help="with --format xlsx: the workbook to write")
    res.set_defaults(func=cmd_results)


def _register_load(subparsers) -> None:
    load = subparsers.add_parser(
        "load", help="load an election definition and/or ballots from JSON files, or cast vote records (CVRs)"
    )
    load.add_argument("--definition", metavar="FILE", help="election definition JSON")
    load.add_argument("--ballots", metavar="FILE", help="ballots JSON ({election, period, ballots: [...]})")
    load.add_argument("--allow-duplicate", action="store_true",
                      help="load ballots even if the same ones were already loaded into the period")
    load.add_argument("--small-batch", action="store_true",
                      help="load a batch of fewer than TALLY_MIN_BATCH ballots (its few voters' votes are then public)")
    load.add_argument("--rctab-config", metavar="CONFIG",
                      help="an RCTab configuration: create or extend --election from it and load its CVRs")
    load.add_argument("--allow-outside-paths", action="store_true",
                      help="with --rctab-config: read CVR sources outside the configuration's folder")
    load.add_argument("--cvr", metavar="PATH", help="one CVR file or folder, for --contest of --election")
    load.add_argument("--blt", metavar="FILE",
                      help="a BLT file (OpenSTV, OpaVote, ERS): create or extend --election with its contest, counted "
                           "by --method, and load its ballots (--contest: the contest's id, default the file's title)")
    load.add_argument("--method", metavar="M", help="with --blt: the counting method (e.g. scottish-stv, meek-stv)")
    load.add_argument("--provider", help="the CVR's provider: ess, cdf, dominion, hart, clearBallot, genericCsv")
    load.add_argument("--election", metavar="KEY", help="the election (key) the CVRs or the BLT file go to")
    load.add_argument("--contest", metavar="ID",
                      help="with --cvr: the contest (id) the CVR's choices are for; without it, every contest of the "
                           "export is loaded (cdf, dominion, clearBallot, hart), defined from the export where the election "
                           "does not have it")
    load.add_argument("--cvr-options", default="{}", metavar="JSON",
                      help="with --cvr: how to read it, as the keys of an RCTab cvrFileSources entry, e.g. "
                           "'{\"firstVoteColumnIndex\": 4, \"precinctColumnIndex\": 2, \"contestId\": \"Mayor\"}'")
    load.add_argument("--period", default="main", metavar="NAME", help="the voting period of the CVRs (default main)")
    load.set_defaults(func=cmd_load)


def _register_period_commands(subparsers) -> None:
    """seal, run, status, rollback: each names an election and a voting period."""
    for name, func, text in (
        ("seal", cmd_seal, "seal a voting period's ballots (like POST .../seal); only sealed periods are tallied"),
        ("run", cmd_run, "start a tally of a voting period (like POST .../tally/run)"),
        ("status", cmd_status, "show a period's tally status (like GET .../tally/status)"),
        ("rollback", cmd_rollback, "roll back a completed tally (like POST .../tally/rollback)"),
    ):
        p = subparsers.add_parser(name, help=text)
        _period_arguments(p)
        if name == "run":
            p.add_argument("--remarks", default=None)
            p.add_argument("--force", action="store_true", help="close the period first if it is still open")
            p.add_argument("--wait", action="store_true", help="wait for the tally to end, then print results")
            p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait (default 3600)")
            p.add_argument("--allow-empty", action="store_true",
                           help="tally a period without ballots: publishes no winners")
        if name == "status":
            p.add_argument("--watch", action="store_true", help="show live progress, then the results")
            p.add_argument("--timeout", type=float, default=3600.0, help="seconds to watch (default 3600)")
        if name == "rollback":
            p.add_argument("--reason", required=True)
        p.set_defaults(func=resolving(func))


def _period_arguments(parser) -> None:
    parser.add_argument("election_id", metavar="ELECTION", help="the election's number or key")
    parser.add_argument("voting_period_id", metavar="PERIOD", help="the voting period's number or name")


def resolving(func):
    """The command, given the election and period as the operator wrote them (number, key or name),
    with their numbers; an unknown one is one `error:` line naming it."""

    @handles_errors
    def run(args) -> int:
        refs = (str(args.election_id), str(args.voting_period_id))
        if all(r.isascii() and r.isdigit() and len(r) <= 10 for r in refs):
            # numbers as the API takes them: the services' own checks answer with its messages
            args.election_id, args.voting_period_id = int(refs[0]), int(refs[1])
            return func(args)
        with session_scope() as session:
            election = find_election(session, args.election_id)
            ref = str(args.voting_period_id)
            period = next((p for p in election.periods if str(p.id) == ref), None) \
                or next((p for p in election.periods if p.name == ref), None)
            if period is None:
                raise NotFound(f"election {election.key!r} has no voting period {ref!r} (give its number or name)")
            args.election_id, args.voting_period_id = election.id, period.id
        return func(args)

    return run


def cmd_db_upgrade(args) -> int:
    before, after = upgrade()  # the embedded SQLite file needs no such step: every command creates or upgrades it
    if before == after:
        print(f"database schema already up to date (revision {after})")
    else:
        print(f"database schema migrated from revision {before or 'none (empty database)'} to {after}")
    return 0


def _read(path: str, what: str):
    """The file's JSON document and the sha256 of its bytes."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise LoadError(f"{what}: cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{what}: {path} is not UTF-8 text (byte {exc.start})") from None
    return read_json(text, what), hashlib.sha256(data).hexdigest()


@handles_errors
def cmd_load(args) -> int:
    if args.blt:
        return _load_blt(args)
    if args.rctab_config or args.cvr:
        return _load_cvrs(args)
    if not args.definition and not args.ballots:
        return fail("give --definition FILE, --ballots FILE, or both; or --rctab-config / --cvr / --blt")
    lines = []  # printed once everything is committed: a refused ballots file loads no definition either
    with session_scope() as session:
        if args.definition:
            report = load_definition(session, _read(args.definition, "definition")[0])
            if report.unchanged:
                lines.append(f"election {report.election_key!r} (id {report.election_id}) has this definition "
                             "already (the same definition hash): nothing changed")
            else:
                lines.append(
                    f"loaded election {report.election_key!r} (id {report.election_id}): {report.periods} period(s), "
                    f"{report.contests} contest(s), {report.areas} area(s)"
                )
            periods = session.scalars(select(m.VotingPeriod).where(m.VotingPeriod.election_id == report.election_id)
                                      .order_by(m.VotingPeriod.id))
            lines += [f"  period {p.name!r}: id {p.id} (tally run {report.election_id} {p.id})" for p in periods]
        if args.ballots:
            ballots = open_ballot_file(args.ballots)  # streamed: never the whole file in memory
            report = load_ballots(
                session, ballots.election, ballots.period, ballots.texts(),
                source=os.path.basename(args.ballots), file_sha256=ballots.sha256, allow_duplicate=args.allow_duplicate,
                small_batch=args.small_batch,
            )
            lines.append(f"loaded {report.loaded} ballot(s) as batch {report.batch_id}; "
                         f"{report.stored_raw} kept verbatim for invalid content")
    print("\n".join(lines))
    return 0


def _load_blt(args) -> int:
    if args.rctab_config or args.cvr or args.definition or args.ballots:
        return fail("--blt: give it alone, without --definition, --ballots, --rctab-config or --cvr")
    if not args.election or not args.method:
        return fail("--blt: needs --election KEY and --method M (e.g. scottish-stv)")
    try:
        with session_scope() as session:
            contest, report = load_blt(session, args.blt, args.election, args.method, args.period, args.contest,
                                       args.allow_duplicate, args.small_batch)
    except DefinitionError as exc:
        return fail(f"{exc.field}: {exc.message}")
    print(f"loaded {report.loaded} ballot(s) into contest {contest!r} ({args.method}) of election {args.election!r}, "
          f"period {args.period!r}, as batch {report.batch_id}; {report.stored_raw} kept verbatim for invalid content")
    return 0


def _load_cvrs(args) -> int:
    if not args.election:
        return fail("--election: required with --rctab-config and --cvr")
    if args.cvr and not args.provider:
        return fail("--cvr: needs --provider")
    try:
        with session_scope() as session:
            if args.rctab_config:
                report = load_rctab(session, args.rctab_config, args.election, args.period, args.allow_duplicate,
                                    args.allow_outside_paths, args.small_batch)
            elif args.contest:
                report = load_cvr(session, args.cvr, args.provider, args.election, args.contest, args.period,
                                  _options(args.cvr_options), args.allow_duplicate, args.small_batch)
            else:
                report = load_export(session, args.cvr, args.provider, args.election, args.period,
                                     _options(args.cvr_options), args.allow_duplicate, args.small_batch)
    except (ConfigError, CvrError) as exc:
        return fail(str(exc))
    except DefinitionError as exc:
        return fail(f"{exc.field}: {exc.message}")
    if isinstance(report, ExportLoadReport):
        created = f"; defined {', '.join(map(repr, report.created))}" if report.created else ""
        print(f"loaded {report.loaded} ballot(s) into {len(report.contests)} contest(s) of election "
              f"{report.election_key!r} (id {report.election_id}), period {report.period!r} (id {report.period_id}), "
              f"{len(report.areas)} area(s), as batch {report.batch_id}; {report.stored_raw} kept verbatim for "
              f"invalid content{created}")
        for line in report.notes.lines():
            print(f"warning: {line}", file=sys.stderr)
        return 0
    print(
        f"loaded {report.loaded} ballot(s) into contest {report.contest!r} of election {report.election_key!r} "
        f"(id {report.election_id}), period {report.period!r} (id {report.period_id}), {len(report.areas)} area(s), "
        f"as batch {report.batch_id}; {report.stored_raw} kept verbatim for invalid content"
    )
    for line in report.notes.lines():
        print(f"warning: {line}", file=sys.stderr)
    return 0


def _options(text: str) -> dict:
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"--cvr-options: invalid JSON: {exc.msg}") from None
    if not isinstance(options, dict):
        raise LoadError("--cvr-options: must be a JSON object")
    return options


def cmd_advance(args) -> int:
    install_dispatcher()
    with session_scope() as session:
        plan = advance(session, dry_run=args.dry_run)
    verb = "would close" if args.dry_run else "closed"
    for election_id, period_id in plan.close:
        print(f"{verb}: election {election_id} period {period_id}")
    verb = "would tally" if args.dry_run else "tallying"
    for election_id, period_id in plan.tally:
        print(f"{verb}: election {election_id} period {period_id}")
    if not plan.close and not plan.tally and not plan.errors:
        print("nothing to close or tally")
    for election_id, period_id, why in plan.waiting:
        print(f"waiting: election {election_id} period {period_id}: {why}")
    for election_id, period_id, error in plan.errors:
        print(f"error: election {election_id} period {period_id}: {error}", file=sys.stderr)
    if args.dry_run:
        return 0
    outcome = dispatch.send_pending()  # this pass's dispatches and any left while the broker was down
    if outcome.unsent:
        return fail(f"{len(outcome.unsent)} tally run(s) recorded but not started ({', '.join(map(str, outcome.unsent))}): "
                    f"{outcome.error}; they start once it is back (beat), or run `tally advance` again",
                    EXIT_UNAVAILABLE)
    return 0


@handles_errors
def cmd_run(args) -> int:
    install_dispatcher()
    with session_scope() as session:
        waiting = periods.live_run(session, args.voting_period_id)
        waiting = waiting.id if waiting is not None and dispatch.unsent(session, waiting.id) else None
    if waiting is None:
        try:
            with session_scope() as session:
                run, created = RequestTally(
                    args.election_id, args.voting_period_id, force=args.force, remarks=args.remarks,
                    by="cli", trigger="cli", allow_empty=args.allow_empty,
                ).run(session)
                run_id = run.id
        except ServiceError as exc:
            if exc.message == runs.NOT_CLOSED:
                return fail(f"{exc.message}: the period is still open; add --force to close it now and tally it")
            raise
    else:  # a run whose dispatch waits in the outbox (the broker was down): send it now
        run_id, created = waiting, True
        dispatch.send_pending(run_ids=[run_id])
    with session_scope() as session:
        error = dispatch.last_error(session, run_id) if dispatch.unsent(session, run_id) else None
    if error is not None:
        return fail(not_started(run_id, error, args), EXIT_UNAVAILABLE)
    print(f"tally run {run_id}: {'started' if created else 'already completed (idempotent)'}")
    if not args.wait:
        return 0
    return _wait(args.election_id, args.voting_period_id, args.timeout)


def not_started(run_id: int, error: str, args) -> str:
    """Why a run's dispatch waits in the outbox, and what happens next, in one line."""
    settings = load_settings()
    where, _, detail = error.partition(": ")
    if where == "result backend":
        name, url = "the result backend", settings.result_backend
    else:
        name, url, detail = "the broker", settings.broker_url, detail if where == "broker" else error
    return (
        f"tally run {run_id} is recorded but not started: cannot reach {name} {shown_url(url)} ({detail}); is "
        f"Redis at {host_port(url)} running? The run starts by itself once it is back (beat), or run "
        f"`tally run {args.election_id} {args.voting_period_id}` again"
    )


def _wait(election_id: int, period_id: int, timeout: float) -> int:
    """Show progress until the run ends, then the results table (or the error). A run still
    PENDING after a few seconds with no worker answering a ping will wait forever: say so."""
    deadline = time.monotonic() + timeout
    ping_after = time.monotonic() + WORKER_PING_AFTER
    with ProgressDisplay() as display:
        while True:
            with session_scope() as session:
                state = payloads.tally_status(runs.status(session, election_id, period_id))
            display.show(state)
            if state["status"] in ("COMPLETED", "FAILED", "ROLLED_BACK"):
                break
            if state["status"] == "WAITING":
                return fail(_waiting_line(state, election_id, period_id), EXIT_FAILED)
            if state["status"] == "PENDING" and time.monotonic() > ping_after:
                ping_after = float("inf")
                if not workers_answer():
                    return fail(
                        f"tally run {state['tallyRunId']} is PENDING and no worker answers: start one "
                        "(celery -A worker.app worker -Q tally); the run starts when it does",
                        EXIT_UNAVAILABLE,
                    )
            if time.monotonic() > deadline:
                return fail(f"tally still {state['status']} after {timeout:.0f} s", EXIT_UNAVAILABLE)
            time.sleep(0.5)
    if state["status"] != "COMPLETED":
        return fail(f"tally {state['status']}: {state.get('error')}", EXIT_FAILED)
    with session_scope() as session:
        print(render(results.published(session, election_id)))
    return 0


def _waiting_line(state: dict, election_id: int, period_id: int) -> str:
    tie = state["waitingFor"]
    where = "" if tie["round"] is None else f" --round {tie['round']}"
    return (f"tally run {state['tallyRunId']} waits for an official's tie decision: contest {tie['contest']!r}, "
            f"{', '.join(tie['candidates'])} tied ({tie['purpose']} {tie['choose']}); record it with: tally tie "
            f"decide {election_id} {period_id} --contest {tie['contest']!r}{where} --choose CANDIDATE --reason TEXT")


def workers_answer() -> bool:
    """True when a worker answers Celery's ping (always, embedded: tasks run in this process)."""
    from worker.app import app

    if app.conf.task_always_eager:
        return True
    return bool(app.control.ping(timeout=WORKER_PING_TIMEOUT))


def cmd_reconcile(args) -> int:
    install_dispatcher()
    with session_scope() as session:
        actions = reconcile(session, stuck_after=args.stuck_after)
    for action in actions:
        print(action)
    if not actions:
        print("no stuck tallies")
    return 0


@handles_errors
def cmd_seal(args) -> int:
    with session_scope() as session:
        print_json(payloads.sealed(SealPeriod(args.election_id, args.voting_period_id, by="cli").run(session)))
    return 0


@handles_errors
def cmd_batch_list(args) -> int:
    with session_scope() as session:
        print_json([payloads.load_batch(b) for b in batches.listing(session, args.election_id, args.voting_period_id)])
    return 0


@handles_errors
def cmd_batch_void(args) -> int:
    with session_scope() as session:
        print_json(payloads.load_batch(VoidBatch(args.batch_id, args.reason, by="cli").run(session)))
    return 0


@handles_errors
def cmd_status(args) -> int:
    if args.watch:
        return _wait(args.election_id, args.voting_period_id, args.timeout)
    with session_scope() as session:
        state = runs.status(session, args.election_id, args.voting_period_id)
        print_json(payloads.tally_status(state, periods.locate(session, args.election_id, args.voting_period_id)))
    return 0


@handles_errors
def cmd_rollback(args) -> int:
    with session_scope() as session:
        print_json(payloads.rolled_back(
            RollBack(args.election_id, args.voting_period_id, args.reason, by="cli").run(session)))
    return 0


@handles_errors
def cmd_results(args) -> int:
    if args.format in ("csv", "xlsx"):
        from .report import write_sheet

        return write_sheet(args)
    with session_scope() as session:
        published = results.published(session, args.election)
    shown = published if args.area is None else only_area(published, args.area)
    if args.area is not None and not any(t["contests"] for t in shown["tallies"]):
        return fail(f"no published results for area {args.area!r} in election {published['election']}")
    if args.format == "json":
        print(json.dumps(shown, indent=2, sort_keys=True))
        return 0
    if not published["tallies"]:
        print(f"election {published['election']} ({published['status']}): no published results")
        return 0
    print(render(published, area=args.area))
    return 0


def only_area(published: dict, area: str) -> dict:
    """The published results narrowed to one area's own and subtree results."""
    tallies = []
    for tally in published["tallies"]:
        contests = [
            {"contest": c["contest"], "areas": {k: v for k, v in c["areas"].items() if k == area},
             "subtrees": {k: v for k, v in c["subtrees"].items() if k == area}}
            for c in tally["contests"]
            if area in c["areas"] or area in c["subtrees"]
        ]
        tallies.append({**tally, "contests": contests})
    return {**published, "tallies": tallies}


def render(published: dict, area: str | None = None, width: int | None = None) -> str:
    """The results as text `width` columns wide (default: the terminal's). With `area`, each
    contest's figures in that area and its subtree: who leads there beside the contest's winners
    (an area elects nobody) and the contest's rounds followed with its ballots."""
    width = terminal_width() if width is None else width
    parts = [f"Election {printable(published['election'])}: {printable(published['name'])} ({published['status']})"]
    for tally in published["tallies"]:
        for contest in tally["contests"]:
            if area is None:
                parts.append(f"\n== {printable(contest['contest'])} (period {printable(tally['voting_period'])}) ==")
                parts.append(format_table(contest["result"], width))
                continue
            for scope, label in (("areas", "area"), ("subtrees", "area subtree")):
                if area in contest[scope]:
                    parts.append(f"\n== {printable(contest['contest'])}, {label} {printable(area)} ==")
                    parts.append(_area_table(contest["result"], contest[scope][area], width))
    return "\n".join(parts)


def _area_table(contest: dict, here: dict, width: int) -> str:
    """One area's (or subtree's) figures, its leaders decided as the results site's area pages decide them."""
    leading = leaders(here, contest.get("seats", here.get("seats", 1)))
    note = "in the contest's last round here" if leading.basis == LAST_FOLLOWED_ROUND else ""
    return format_area_table(here, contest.get("winners") or [], None if leading.basis is None else leading.ids,
                             width, note)
