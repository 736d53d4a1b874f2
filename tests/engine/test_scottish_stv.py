"""Scottish STV (SSI 2007/42, Schedule 1, rules 45-52): the six 2017 wards of the shared corpus against their
official count sheets, stage by stage, then each rule on a small election worked by hand."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from counting import METHODS, Candidate, Contest, DefinitionError, ExclusionGroup, count
from counting.blt import parse_blt
from counting.interchange import count_document
from counting.methods.scottish_stv import droop_quota, sheet_figure

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "scotland-2017"
WARDS = sorted(p.stem for p in CORPUS.glob("*.blt"))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "interchange.md"

# ---------------------------------------------------------------------------------------------- helpers


def contest(candidates: str, seats: int = 1, **kw) -> Contest:
    return Contest(id="t", method="scottish-stv", candidates=tuple(Candidate(c) for c in candidates.split()),
                   seats=seats, **kw)


def ballots(*spec: tuple[int, str]) -> Counter:
    """(weight, "A>B>C") pairs as the weighted multiset of valid ballots the method receives."""
    out: Counter = Counter()
    for weight, ranking in spec:
        out[tuple((c, i + 1) for i, c in enumerate(ranking.split(">")))] += weight
    return out


def stv(c: Contest, spec: Counter):
    return METHODS["scottish-stv"].count(c, spec)


def tallies(outcome) -> list[dict[str, str]]:
    return [{c: sheet_figure(v) for c, v in r.tallies.items()} for r in outcome.rounds]


def ward(name: str):
    election = parse_blt((CORPUS / f"{name}.blt").read_text(encoding="utf-8"), f"{name}.blt")
    sheet = json.loads((CORPUS / f"{name}.official.json").read_text(encoding="utf-8"))
    return election, sheet, count(election.contest("scottish-stv"), election.ballots)


def as_the_sheet_prints(value: Decimal, printed: str) -> str:
    """Our exact figure written as the sheet writes that cell: five places (most councils), two places
    (Glasgow: rounded half up, as its sheet rounds), or a bare whole number."""
    if "." not in printed:
        return format(value.normalize(), "f") if value == value.to_integral_value() else sheet_figure(value)
    places = len(printed.split(".")[1])
    if places == 5:
        return sheet_figure(value)
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


# ---------------------------------------------------------------------------------------------- the six wards


def test_the_corpus_has_six_wards():
    assert len(WARDS) == 6


@pytest.mark.parametrize("name", WARDS)
def test_every_stage_of_every_ward_is_the_official_count_sheet(name):
    election, sheet, result = ward(name)
    rounds = result.outcome.rounds
    assert len(rounds) == len(sheet["stages"])
    for number, (rnd, stage) in enumerate(zip(rounds, sheet["stages"], strict=True), 1):
        for candidate, printed in stage.items():
            ours = Decimal(rnd.tallies.get(candidate, 0))
            assert as_the_sheet_prints(ours, printed) == printed, f"stage {number}, candidate {candidate}"


@pytest.mark.parametrize("name", WARDS)
def test_every_ward_elects_the_official_winners_with_the_rule_46_quota(name):
    election, sheet, result = ward(name)
    valid = sum(Decimal(v) for v in sheet["stages"][0].values())
    assert result.outcome.quota == droop_quota(int(valid), sheet["seats"]) == int(valid) // (sheet["seats"] + 1) + 1
    assert sorted(result.outcome.winners, key=int) == sorted(sheet["elected"], key=int)
    assert result.participation.valid == valid


@pytest.mark.parametrize("name", WARDS)
def test_who_is_elected_and_excluded_at_each_stage_is_what_the_sheet_shows(name):
    election, sheet, result = ward(name)
    quota = result.outcome.quota
    reached = set()
    for rnd, stage, before in zip(result.outcome.rounds, sheet["stages"], [{}] + sheet["stages"], strict=False):
        newly = {c for c, v in stage.items() if Decimal(v) >= quota} - reached
        reached |= newly
        assert set(rnd.elected) == newly
        dropped = {c for c, v in stage.items() if Decimal(v) == 0 and Decimal(before.get(c, "1")) > 0}
        assert set(rnd.eliminated) == dropped  # an exclusion empties the excluded candidate's pile
        assert rnd.details["stage"] == ("first-preferences" if rnd.round == 1 else
                                        "exclusion" if rnd.eliminated else "surplus")


@pytest.mark.parametrize("name", WARDS)
def test_in_every_stage_tallies_non_transferable_and_residual_add_up_to_the_valid_votes(name):
    election, sheet, result = ward(name)
    valid = result.participation.valid
    for rnd in result.outcome.rounds:
        details = rnd.to_json()
        residual = Decimal(str(details["residual_surplus"]))
        assert sum(rnd.tallies.values()) + rnd.exhausted + residual == valid
        for t in rnd.transfers:  # a stage's transfer moves what the source loses, less the cuts
            moved = sum(t.to.values()) + t.exhausted + t.residual
            assert moved == (Decimal(str(details["surplus"])) if details["surplus"] is not None
                             else result.outcome.rounds[rnd.round - 2].tallies[t.source])


def test_aberdeen_stage_2_is_the_weighted_inclusive_gregory_transfer_of_bell_s_surplus():
    election, sheet, result = ward("aberdeen_2017_ward9")
    second = result.outcome.rounds[1].to_json()
    assert (second["stage"], second["transferred_from"], second["surplus"]) == ("surplus", "1", 1011)
    # 1,011 over 2,714: each of Bell's papers moves on at 0.37251 (0.372512... cut to five places)
    assert second["transfers"][0]["to"]["3"] == "14.9004"  # 40 papers x 0.37251
    assert Decimal(second["transfers"][0]["residual_surplus"]) == Decimal("0.00786")


# ---------------------------------------------------------------------------------------------- the rules


def test_quota_is_rule_46():
    assert [droop_quota(v, s) for v, s in [(6811, 3), (5000, 4), (1000, 2), (12, 2), (0, 1)]] == [1703, 1001, 334, 5, 1]


def test_a_surplus_moves_at_surplus_over_votes_cut_to_five_places_and_rule_52_fills_the_last_seat():
    # 12 votes, 2 seats: quota 5. A's surplus of 2 over 7 votes: each paper moves at 0.28571 (2/7 cut).
    outcome = stv(contest("A B C", seats=2), ballots((5, "A>B"), (2, "A>C"), (2, "B"), (3, "C")))
    assert tallies(outcome) == [
        {"A": "7.00000", "B": "2.00000", "C": "3.00000"},
        {"A": "5.00000", "B": "3.42855", "C": "3.57142"},
        {"A": "5.00000", "B": "0.00000", "C": "3.57142"},
    ]
    first, second, third = (r.to_json() for r in outcome.rounds)
    assert (first["elected"], first["elected_by"]) == (["A"], {"A": "quota"})
    assert (second["stage"], second["surplus"], second["residual_surplus"]) == ("surplus", 2, "0.00003")
    assert second["transfers"] == [{"from": "A", "to": {"B": "1.42855", "C": "0.57142"}, "exhausted": 0,
                                    "residual_surplus": "0.00003"}]
    # B is lowest and excluded; its 7 papers have no next preference: 3.42855 set aside. C alone continues
    # for the one seat left: rule 52 elects it below the quota.
    assert (third["eliminated"], third["non_transferable"], third["exhausted"]) == (["B"], "3.42855", "3.42855")
    assert (third["elected"], third["elected_by"]) == (["C"], {"C": "last-vacancies"})
    assert outcome.winners == ["A", "C"] and outcome.quota == 5


def test_a_tie_for_lowest_goes_to_the_most_recent_preceding_stage_where_the_votes_differ():
    # Rule 51(2)(a). Stage 1: A 8 (quota 6), X 3, Y 4, Z 1. Stage 2: A's surplus gives X 2 (X 5, Y 4).
    # Stage 3: Z's paper gives Y 1: X and Y tie at 5. At stage 2 (the most recent stage where they differ)
    # Y had fewer: Y is excluded, X takes the last seat. (At stage 1 X had fewer: "earliest" would exclude X.)
    outcome = stv(contest("A X Y Z", seats=2), ballots((8, "A>X"), (3, "X"), (4, "Y"), (1, "Z>Y")))
    assert [r.eliminated for r in outcome.rounds] == [[], [], ["Z"], ["Y"]]
    assert outcome.winners == ["A", "X"]
    tie = outcome.rounds[3].tie_breaks[0]
    assert (tie.candidates, tie.chosen, tie.rule, tie.purpose, tie.round) == (
        ["X", "Y"], ["Y"], "previous-rounds", "eliminate", 4)


def test_equal_surpluses_level_at_every_stage_go_by_lot_the_contest_s_tie_order():
    # Rule 49(3). 12 votes, 3 seats: quota 4; A and B both have 5 at stage 1, the only stage: a lot. With
    # no tie order, ids ascending: A's surplus goes first; then C and D tie at 2 and stage 2 (C 2, D 1) excludes D.
    spec = ballots((5, "A>C"), (5, "B>D"), (1, "C"), (1, "D"))
    outcome = stv(contest("A B C D", seats=3), spec)
    assert [r.details["transferred_from"] for r in outcome.rounds] == [None, "A", "B", "D"]
    tie = outcome.rounds[1].tie_breaks[0]
    assert (tie.chosen, tie.rule, tie.purpose, tie.round) == (["A"], "candidate-id-asc", "elect", 2)
    assert outcome.winners == ["A", "B", "C"]
    reordered = stv(contest("A B C D", seats=3, options={"tie_break_order": ["B", "A", "C", "D"]}), spec)
    assert [r.details["transferred_from"] for r in reordered.rounds] == [None, "B", "A", "C"]
    assert reordered.rounds[1].tie_breaks[0].rule == "tie-break-order"
    assert reordered.winners == ["B", "A", "D"]  # in order of election: equal votes listed in the tie order


def test_a_lot_may_be_drawn_with_a_seed_as_rcv_draws():
    spec = ballots((5, "A>C"), (5, "B>D"), (1, "C"), (1, "D"))
    chosen = set()
    for seed in (0, 42, 12345, 31337):  # java.util.Random(seed): floor(nextDouble() x 2) is 1, 1, 0, 0
        outcome = stv(contest("A B C D", seats=3, options={"random_seed": seed}), spec)
        tie = outcome.rounds[1].tie_breaks[0]
        assert tie.rule == "random-draw"
        assert outcome == stv(contest("A B C D", seats=3, options={"random_seed": seed}), spec)  # deterministic
        chosen.add(tie.chosen[0])
    assert chosen == {"A", "B"}
    drawn = stv(contest("A B C D", seats=3, options={"random_seed": 12345}), spec).rounds[1].tie_breaks[0]
    assert drawn.chosen == ["A"]  # index 0 of the tied sorted by id


def test_a_tie_among_three_narrows_stage_by_stage_then_goes_by_lot():
    # 24 votes, 2 seats: quota 9. Stage 1: A 10, X 3, Y 4, Z 5, W 2. Stage 2: A's surplus of 1 moves at 0.1
    # a paper, all to X (X 4, Y 4, Z 5). Stage 3: W is excluded, one paper each to X and Y: X, Y and Z tie at 5.
    # Stage 2 is the most recent where they differ: X and Y have the fewest, still level; at stage 1 X had
    # fewer than Y: X is excluded. Then Y and Z tie at 5: stage 2 (Y 4, Z 5) excludes Y; Z takes the seat.
    spec = ballots((10, "A>X"), (3, "X"), (4, "Y"), (5, "Z"), (1, "W>X"), (1, "W>Y"))
    outcome = stv(contest("A W X Y Z", seats=2), spec)
    assert tallies(outcome)[2] == {c: f"{v}.00000" for c, v in zip("AWXYZ", (9, 0, 5, 5, 5), strict=True)}
    assert [r.eliminated for r in outcome.rounds] == [[], [], ["W"], ["X"], ["Y"]]
    first, second = outcome.ties
    assert (first.candidates, first.chosen, first.rule, first.round) == (["X", "Y", "Z"], ["X"], "previous-rounds", 4)
    assert (second.candidates, second.chosen, second.rule, second.round) == (["Y", "Z"], ["Y"], "previous-rounds", 5)
    assert outcome.winners == ["A", "Z"]
    # Level at every stage: the lot (ids ascending; the least favoured, Q, is excluded).
    level = stv(contest("A P Q", seats=2), ballots((7, "A"), (4, "P"), (4, "Q")))
    assert level.rounds[2].eliminated == ["Q"] and level.rounds[2].tie_breaks[0].rule == "candidate-id-asc"
    assert level.winners == ["A", "P"]


def test_an_elected_candidate_receives_no_papers_and_the_count_stops_when_the_seats_are_filled():
    # 10 votes, 2 seats: quota 4. A (6) is elected; its surplus of 2 moves at 0.33333 a paper to B (2.99998).
    # B, lowest, is excluded: its B>A paper has no next available preference (A is elected, not continuing)
    # and A's papers none either: 2.99998 set aside. C alone continues for the last seat (rule 52).
    outcome = stv(contest("A B C", seats=2), ballots((6, "A>B"), (1, "B>A"), (3, "C>A")))
    assert tallies(outcome) == [
        {"A": "6.00000", "B": "1.00000", "C": "3.00000"},
        {"A": "4.00000", "B": "2.99998", "C": "3.00000"},
        {"A": "4.00000", "B": "0.00000", "C": "3.00000"},
    ]
    assert outcome.rounds[2].details["non_transferable"] == "2.99998"
    assert outcome.rounds[2].details["elected_by"] == {"C": "last-vacancies"} and outcome.winners == ["A", "C"]
    # Seats filled at stage 1: no surplus moves at all.
    filled = stv(contest("A B", seats=1), ballots((6, "A>B"), (1, "B")))
    assert len(filled.rounds) == 1 and filled.winners == ["A"]


def test_fewer_candidates_than_seats_are_all_elected_and_the_rest_stay_vacant():
    outcome = stv(contest("A B C", seats=4), ballots((2, "A")))  # quota 1: A reaches it, B and C do not
    assert outcome.winners == ["A", "B", "C"] and len(outcome.rounds) == 1
    assert outcome.rounds[0].details["elected_by"] == {"A": "quota", "B": "last-vacancies", "C": "last-vacancies"}
    assert outcome.notes == ["1 seat(s) left vacant: no candidate is left to elect"]


def test_an_undeclared_write_in_is_excluded_before_the_first_stage():
    c = Contest(id="t", method="scottish-stv", seats=1,
                candidates=(Candidate("A"), Candidate("B"), Candidate("W", undeclared_write_in=True)))
    outcome = stv(c, ballots((3, "W>B"), (2, "A")))
    assert tallies(outcome)[0] == {"A": "2.00000", "B": "3.00000"}
    assert outcome.winners == ["B"] and outcome.order[-1] == "W"


def test_values_are_exact_five_place_decimals_never_floats():
    outcome = stv(contest("A B C", seats=2), ballots((5, "A>B"), (2, "A>C"), (2, "B"), (3, "C")))
    for r in outcome.rounds:
        for v in r.tallies.values():
            assert isinstance(v, Decimal) and v.as_tuple().exponent == -5
    assert sheet_figure(Fraction(7, 4)) == "1.75000" and sheet_figure(3) == "3.00000"
    with pytest.raises(ValueError):
        sheet_figure(Fraction(1, 3))


# ---------------------------------------------------------------------------------------------- definitions


def test_registration():
    method = METHODS["scottish-stv"]
    assert (method.mark_kind, method.preferential, method.additive) == ("rank", True, False)


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"exclusion_groups": (ExclusionGroup("g", ("A", "B"), 1),)}, "contest.exclusion_groups"),
        ({"options": {"batch_elimination": True}}, "contest.options.batch_elimination"),
        ({"options": {"tie_break_look_back": False}}, "contest.options.tie_break_look_back"),
        ({"options": {"random_seed": "x"}}, "contest.options.random_seed"),
        ({"options": {"overvote_rule": "nope"}}, "contest.options.overvote_rule"),
    ],
)
def test_what_cannot_be_counted_is_refused_naming_the_field(extra, field):
    with pytest.raises(DefinitionError) as err:
        METHODS["scottish-stv"].check(contest("A B C", seats=2, **extra))
    assert err.value.field == field


def test_an_overvote_is_invalid_by_default_and_ballot_rules_apply():
    doc = {
        "contest": {"id": "c", "method": "scottish-stv", "seats": 1, "candidates": [{"id": "A"}, {"id": "B"}]},
        "ballots": [{"marks": [["A", 1], ["B", 1]]}, {"marks": [["B", 1], ["A", 2]]}, {"marks": [["A", 1]]},
                    {"marks": [["B", 1], ["A", 1]], "weight": 2}],
    }
    result = count_document(doc)
    assert result["totals"]["invalid_reasons"] == {"overvote": 3}
    doc["contest"]["options"] = {"overvote_rule": "exhaust-immediately"}
    result = count_document(doc)
    assert result["totals"]["valid"] == 5 and result["rounds"][0]["exhausted_by"] == {"overvote": 3}


# ---------------------------------------------------------------------------------------------- the docs


def doc_example(kind: str) -> dict:
    blocks = re.findall(rf"<!-- example-{kind}: scottish_stv -->\s*```json\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def test_the_docs_worked_example_counts_as_written():
    result = count_document(doc_example("input"))
    expected = doc_example("rounds")
    assert result["winners"] == expected["winners"]
    keys = ("round", "tallies", "threshold", "elected", "eliminated", "exhausted", "stage", "transferred_from",
            "surplus", "non_transferable", "residual_surplus", "elected_by")
    assert [{k: r[k] for k in keys} for r in result["rounds"]] == expected["rounds"]
