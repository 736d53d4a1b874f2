"""`tally tie decide E P --contest C [--round R] --choose X [--choose Y] --reason TEXT`: record an official's
decision of the tie a period's tally waits for (services.lifecycle.ties); the tally then goes on with it."""

from __future__ import annotations

from models.db import session_scope
from services.lifecycle.ties import DecideTie
from services.read import payloads

from .common import print_json
from .dispatcher import install_dispatcher
from .operations import _period_arguments, resolving


def register(subparsers) -> None:
    tie = subparsers.add_parser("tie", help="ties an official decides: record a decision a waiting tally needs")
    sub = tie.add_subparsers(dest="tie_command", required=True, metavar="ACTION")
    decide = sub.add_parser("decide", help="record the decision of the tie the period's tally waits for, "
                                           "then let the tally go on (tally status shows the tie)")
    _period_arguments(decide)
    decide.add_argument("--contest", required=True, metavar="ID", help="the contest of the tie")
    decide.add_argument("--round", type=int, metavar="R", help="the round of the tie (none for a tie at the cut-off)")
    decide.add_argument("--choose", action="append", required=True, metavar="CANDIDATE",
                        help="a candidate the official chose (to elect, to eliminate, or above the cut-off, as the "
                             "tie says); once per candidate when the tie needs several")
    decide.add_argument("--reason", required=True, help="how the tie was decided (the lot drawn, the rule applied)")
    decide.set_defaults(func=resolving(cmd_decide))


def cmd_decide(args) -> int:
    install_dispatcher()  # the run goes on: its dispatch is sent after the decision commits
    with session_scope() as session:
        run = DecideTie(args.election_id, args.voting_period_id, args.contest, args.round, tuple(args.choose),
                        args.reason, by="cli").run(session)
        print_json(payloads.run_started(run, "Tie decision recorded: the tally goes on"))
    return 0
