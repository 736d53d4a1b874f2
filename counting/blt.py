"""BLT, the ballot format of OpenSTV, OpaVote and the Electoral Reform Society (ERS), read from its text.

Pure: it takes the text and the name to give in errors, never a file. A BLT file is, line by line:

    8 3                   candidates and seats
    -2 -7                 optional: withdrawn candidates, as negative numbers
    693 1 0               one line per ballot: weight, then candidate numbers in order of preference, then 0
    7 1 2=3 - 4 0         `2=3`: two candidates ranked equal; `-`: a preference left out (OpenSTV)
    (b17) 1 3 1 0         optional: a ballot id in brackets before a weight of 1 (OpenSTV)
    0                     the end of the ballots
    "Philip BELL (Con)"   the candidates' names, one a line, numbered from 1
    "Lower Deeside Ward"  the title

As OpenSTV reads it, blank lines and lines starting with `#` are skipped anywhere, and a `#` after the numbers
of a line, or after a quoted name, starts a comment. Names and the title are quoted in OpenSTV's files; the
published Scottish files (mggg/scot-elex) write them bare, so a line that does not start with `"` is taken
whole (trimmed) as the name, `#` included.

What the engine receives: the candidates keep the file's numbers as ids ("1", "2", ...) and its names; each
ballot line is one `Ballot` of its weight whose marks are `(candidate, rank)`, the rank being the position on
the line (several candidates at one rank for `a=b`; a `-` leaves its rank empty, a gap). A withdrawn candidate is
not in the contest and is taken off every ballot as if it had not been printed on the paper: its position
disappears and the later ones move up (a ballot that ranked only withdrawn candidates is blank). Repeated
candidates and equal rankings are kept as cast, for validation to judge (by the default rules a ballot with either
is invalid, with its reason). A file that cannot be read raises `BltError`, a `DefinitionError` whose field is
`SOURCE: line N`, so the CLI prints `error: SOURCE: line N: message`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .ballots import MAX_VALUE, Ballot, Marks
from .contest import Candidate, Contest
from .definition import parse_contest
from .errors import DefinitionError

_SKIPPED = re.compile(r"\s*(#.*)?")
_COMMENT = re.compile(r"#.*$")
_QUOTED = re.compile(r'\s*"([^"]*)"\s*(#.*)?')
_BALLOT_ID = re.compile(r"\s*\(([^)]*)\)\s*(.*)")
_WHOLE = re.compile(r"[0-9]+")
_WITHDRAWN = re.compile(r"-[0-9]+")


class BltError(DefinitionError):
    """A BLT file that cannot be read: `line` is the line (from 1) that is wrong, or the last line when the
    file ends too soon."""

    def __init__(self, source: str, line: int, message: str):
        super().__init__(f"{source}: line {line}", message)
        self.source = source
        self.line = line


@dataclass(frozen=True)
class BltElection:
    """What a BLT file holds. `candidates` lists every candidate of the file (withdrawn ones too) with its
    number as id; `withdrawn` the ids of the withdrawn; `ballots` one per ballot line, withdrawn candidates
    taken off; `max_rank` the most ranks a ballot uses."""

    source: str
    title: str
    seats: int
    candidates: tuple[Candidate, ...]
    withdrawn: tuple[str, ...]
    ballots: tuple[Ballot, ...]
    max_rank: int = 0
    ballot_ids: tuple[str | None, ...] = field(default=(), repr=False)  # OpenSTV's "(id)", per ballot

    @property
    def standing(self) -> tuple[Candidate, ...]:
        """The candidates who are not withdrawn: the contest's."""
        return tuple(c for c in self.candidates if c.id not in self.withdrawn)

    def definition(self, method: str, *, contest_id: str | None = None, options: Mapping[str, Any] | None = None) -> dict:
        """The contest for `method` in the interchange format (docs/interchange.md): the file's seats and standing
        candidates (their numbers as ids, their names), `max_votes` the ranks the ballots use when more than the
        candidates, the id `contest_id` or else the title (or the source's name), the title as its name."""
        standing = self.standing
        contest_id = contest_id or self.title or PurePath(self.source).stem or "blt"
        return {
            "id": contest_id,
            "name": self.title or contest_id,
            "method": method,
            "seats": self.seats,
            "max_votes": self.max_rank if self.max_rank > len(standing) else None,
            "candidates": [{"id": c.id, "name": c.name} for c in standing],
            "options": dict(options or {}),
        }

    def contest(self, method: str, *, contest_id: str | None = None, options: Mapping[str, Any] | None = None) -> Contest:
        """The engine's contest of `definition`, checked as every definition is (`DefinitionError` naming the
        field, e.g. `contest.method`)."""
        return parse_contest(self.definition(method, contest_id=contest_id, options=options))


def parse_blt(text: str, source: str) -> BltElection:
    """Read a BLT file's text; `source` names it in errors (`BltError`: `SOURCE: line N: message`)."""
    lines = _Lines(text.removeprefix("\ufeff"), source)
    number, line = lines.next("the first line, 'candidates seats'")
    candidates, seats = _header(line, lines.error(number))
    number, line = lines.next("the ballots")
    withdrawn: tuple[str, ...] = ()
    if _is_withdrawn(line):
        withdrawn = _withdrawn(line, candidates, lines.error(number))
        number, line = lines.next("the ballots")
    ballots, ids, max_rank = [], [], 0
    gone = set(withdrawn)
    while _numbers(line) != "0":
        ballot_id, weight, groups = _ballot(line, candidates, lines.error(number))
        marks, ranks = _marks(groups, gone)
        ballots.append(Ballot(marks=marks, weight=weight))
        ids.append(ballot_id)
        max_rank = max(max_rank, ranks)
        number, line = lines.next("the line '0' that ends the ballots")
    names = []
    for i in range(candidates):
        number, line = lines.next(f"the name of candidate {i + 1} (the file has {candidates} candidates)")
        names.append(_text(line, lines.error(number)))
    number, line = lines.next("the title, after the candidates' names")
    title = _text(line, lines.error(number))
    extra = lines.next_or_none()
    if extra is not None:
        raise BltError(source, extra[0], f"unexpected text after the title: {_shown(extra[1])}")
    return BltElection(
        source=source,
        title=title,
        seats=seats,
        candidates=tuple(Candidate(str(i + 1), name) for i, name in enumerate(names)),
        withdrawn=withdrawn,
        ballots=tuple(ballots),
        max_rank=max_rank,
        ballot_ids=tuple(ids) if any(i is not None for i in ids) else (),
    )


class _Lines:
    """The file's lines that are neither blank nor comments, with their numbers (from 1)."""

    def __init__(self, text: str, source: str):
        self.source = source
        self.total = max(1, len(text.removesuffix("\n").split("\n")))  # the last line: where a short file ends
        self._lines: Iterator[tuple[int, str]] = (
            (n, line.removesuffix("\r"))
            for n, line in enumerate(text.split("\n"), 1)
            if not _SKIPPED.fullmatch(line.removesuffix("\r"))
        )

    def next(self, expected: str) -> tuple[int, str]:
        found = self.next_or_none()
        if found is None:
            raise BltError(self.source, self.total, f"the file ends before {expected}")
        return found

    def next_or_none(self) -> tuple[int, str] | None:
        return next(self._lines, None)

    def error(self, number: int):
        def fail(message: str) -> BltError:
            return BltError(self.source, number, message)

        return fail


def _numbers(line: str) -> str:
    """A line of numbers without its comment, trimmed."""
    return _COMMENT.sub("", line).strip()


def _shown(line: str) -> str:
    text = line.strip()
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _header(line: str, fail) -> tuple[int, int]:
    parts = _numbers(line).split()
    if len(parts) != 2 or not all(_WHOLE.fullmatch(p) for p in parts):
        raise fail(f"expected 'candidates seats', two whole numbers, got {_shown(line)}")
    candidates, seats = int(parts[0]), int(parts[1])
    if candidates < 1:
        raise fail(f"a file needs at least one candidate, got {candidates}")
    if seats < 1:
        raise fail(f"seats must be at least 1, got {seats}")
    return candidates, seats


def _is_withdrawn(line: str) -> bool:
    parts = _numbers(line).split()
    return bool(parts) and all(_WITHDRAWN.fullmatch(p) for p in parts)


def _withdrawn(line: str, candidates: int, fail) -> tuple[str, ...]:
    out: list[str] = []
    for part in _numbers(line).split():
        number = -int(part)
        if not 1 <= number <= candidates:
            raise fail(f"withdrawn candidate {part}: there is no candidate {number} (the file has {candidates})")
        if str(number) in out:
            raise fail(f"candidate {number} is withdrawn twice")
        out.append(str(number))
    return tuple(out)


def _ballot(line: str, candidates: int, fail) -> tuple[str | None, int, list[tuple[str, ...]]]:
    """One ballot line: its id (OpenSTV's "(id)", else None), its weight and its ranks, each the candidates
    at that rank (none for `-`)."""
    ballot_id = None
    body = line
    with_id = _BALLOT_ID.fullmatch(line)
    if with_id:
        ballot_id, body = with_id.group(1), with_id.group(2)
    parts = _numbers(body).split()
    if not parts or not _WHOLE.fullmatch(parts[0]):
        raise fail(f"expected a ballot ('weight preferences... 0') or the line '0', got {_shown(line)}")
    weight = int(parts[0])
    if not 1 <= weight <= MAX_VALUE:
        raise fail(f"a ballot's weight must be a whole number from 1 to {MAX_VALUE:,}, got {weight}")
    if ballot_id is not None and weight != 1:
        raise fail(f"a ballot with an id must have weight 1, got {weight}")
    if len(parts) < 2 or parts[-1] != "0":
        raise fail(f"a ballot line must end with 0, got {_shown(line)}")
    return ballot_id, weight, [_rank(part, candidates, fail) for part in parts[1:-1]]


def _rank(part: str, candidates: int, fail) -> tuple[str, ...]:
    if part == "-":
        return ()
    group = part.split("=")
    for number in group:
        if not _WHOLE.fullmatch(number):
            raise fail(f"a preference must be a candidate number, 'a=b' or '-', got {part!r}")
        if not 1 <= int(number) <= candidates:
            raise fail(f"preference {part!r}: there is no candidate {int(number)} (the file has {candidates})")
    return tuple(str(int(number)) for number in group)


def _marks(groups: list[tuple[str, ...]], withdrawn: set[str]) -> tuple[Marks, int]:
    """The ranks as marks, withdrawn candidates taken off and the positions they alone held removed (a `-`
    keeps its place: it was a rank the voter left out); the number of ranks used."""
    ranks = []
    for group in groups:
        kept = tuple(c for c in group if c not in withdrawn)
        if kept or not group:
            ranks.append(kept)
    while ranks and not ranks[-1]:  # trailing gaps rank nothing
        ranks.pop()
    marks = tuple((c, rank) for rank, group in enumerate(ranks, 1) for c in group)
    return marks, len(ranks)


def _text(line: str, fail) -> str:
    """A name or the title: quoted (a comment may follow), or the whole line, trimmed."""
    quoted = _QUOTED.fullmatch(line)
    if quoted:
        return quoted.group(1)
    text = line.strip()
    if text.startswith('"'):
        raise fail(f"a quoted name must end with its closing quote, got {_shown(line)}")
    return text


def write_blt(title: str, seats: int, candidates: Sequence[Candidate], ballots: Iterable[tuple[Marks, int]],
              comment: str | None = None) -> str:
    """A BLT file of `ballots` (marks and weight each, equal marks summed into one line, in first-seen order): the
    candidates numbered from 1 in their order, names and title quoted (a `"` in them becomes `'`, which BLT cannot
    escape), `comment` a `#` line at the top. Ranks the voter left out are written `-`, candidates at one rank
    `a=b`, as `parse_blt` reads them."""
    number = {c.id: str(i) for i, c in enumerate(candidates, 1)}
    lines: dict[str, int] = {}
    for marks, weight in ballots:
        by_rank: dict[int, list[str]] = {}
        for candidate, rank in marks:
            by_rank.setdefault(rank, []).append(number[candidate])
        top = max(by_rank, default=0)
        line = " ".join("=".join(by_rank[r]) if r in by_rank else "-" for r in range(1, top + 1))
        lines[line] = lines.get(line, 0) + weight
    out = [f"# {' '.join(comment.split())}"] if comment else []
    out.append(f"{len(candidates)} {seats}")
    out += [f"{weight} {line} 0" if line else f"{weight} 0" for line, weight in lines.items()]
    out += ["0", *(_quoted(c.name or c.id) for c in candidates), _quoted(title)]
    return "\n".join(out) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "'").replace("\n", " ") + '"'
