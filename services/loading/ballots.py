"""Loading a ballots file into a period as one load batch: records read as a stream, every record
stored as cast (a malformed one kept and counted invalid with its reason), the period's hash chain
extended, all in one transaction."""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import marshal
import threading
from collections import Counter
from dataclasses import dataclass
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol, runtime_checkable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import counting

from counting.ballots import MAX_RECORD_CHARS, record_json
from counting.methods import METHODS
from config.settings import load_settings
from models import entities as m
from models.marks import encode
from services import storage
from services.lifecycle import batches, sealing
from services.elections import election_by_key
from services.ballot_chain import BallotEntries, period_chain_state
from services.loading.fields import LoadError
from services.public_format import chain_over, content_digest

# Longest original record kept verbatim: the engine's record-size limit, so a record the engine reads has a
# stored form that fits (its original, or else the record as read).
RAW_LIMIT = MAX_RECORD_CHARS
# Distinct record texts whose rows are kept for a text seen again (about 250 bytes each).
TEXTS_KEPT = 1_000_000


@dataclass
class BallotReport:
    loaded: int
    stored_raw: int  # records kept verbatim (they will count as invalid, with their reason)
    by_contest: dict[str, int]
    batch_id: int | None = None


# A stored row's content: (marks, weight, explicit_invalid, defect, raw).
Content = tuple


def _collector_paused(load):
    """The cyclic garbage collector off while ballots load: it would pass over every content and bucket
    again and again as the records' short-lived containers come and go (a third of the loading time),
    and frees nothing, since what is read is kept to the end of the load. The collector is the whole
    process's, so it is paused only where the load is all the process does, on its main thread (the
    CLI, a worker's task); a load on a thread of its own (an API process's load job, beside the
    requests it serves) leaves it running."""

    @functools.wraps(load)
    def paused(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return load(*args, **kwargs)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return load(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_collector_paused
def load_ballots(
    session: Session,
    election_key: str,
    period_name: str,
    records: Iterable[Any],
    *,
    source: str | None = None,
    file_sha256: str | None = None,
    allow_duplicate: bool = False,
    extends_definition: bool = False,
    small_batch: bool = False,
) -> BallotReport:
    """Store ballots for one voting period as one load batch. Records must name a known contest
    and area (else the whole file is refused and nothing is stored); their content is stored as
    cast, whatever it is. The period must take ballots (open, or closed awaiting a manual seal),
    the definition must be the one the first ballots were loaded under, and the same ballots
    already loaded into the period (a batch not voided) are refused unless `allow_duplicate`.
    `extends_definition`: the caller (a CVR import, which adds the precincts it finds as areas) has
    extended the definition in this transaction; the new hash is recorded ('definition extended').
    A batch of fewer than TALLY_MIN_BATCH ballots is refused unless `small_batch` (`_check_batch_size`).

    Rows are stored grouped by (contest, area), an area read in one pass, each in entry-hash order (never
    the file's: it could tell when each was cast), and the period's chain extended over them in that order
    (finalize reads its head). The batch and its audit event (services.lifecycle.batches) record the
    digest, records, weight and chain heads. Identical records cost one dictionary lookup each."""
    election, period, definition_hash = _period_to_load(session, election_key, period_name, extends_definition)
    buckets, stored_raw = _read_records(election, records)
    if not buckets:  # a file without ballots loads nothing and records nothing
        return BallotReport(0, 0, {})
    _check_batch_size(sum(map(len, buckets.values())), small_batch)
    election.definition_hash = definition_hash
    count, chain = period_chain_state(session, period)
    batch = m.LoadBatch(
        election_id=election.id, voting_period_id=period.id, source=source, file_sha256=file_sha256,
        count_before=count, chain_before=chain, records=0, weight=0, count_after=count,
    )
    session.add(batch)
    session.flush()
    chain, hashes, weight, by_contest = _store(session, election, batch, buckets, chain)
    session.execute(insert(m.AreaBallotCount), [
        {"voting_period_id": period.id, "batch_id": batch.id, "contest_id": contest_id, "area_id": area_id,
         "records": len(contents)}
        for (contest_id, area_id), contents in buckets.items()
    ])
    loaded = sum(by_contest.values())
    batch.records, batch.weight = loaded, weight
    batch.count_after, batch.chain_after = count + loaded, chain
    batch.content_digest = content_digest(hashes)
    earlier = batches.earlier_copy(session, batch)
    if earlier is not None:
        if not allow_duplicate:
            raise LoadError(
                f"ballots: the same {loaded} ballot(s) were already loaded into voting period {period_name!r} "
                f"as batch {earlier.id} ({earlier.source or 'no source'}); --allow-duplicate loads them again"
            )
        batch.duplicate_of = earlier.id
    batches.record(session, batch, period, definition_hash)
    period.ballots_count = count + loaded
    period.ballots_chain_head = chain
    return BallotReport(loaded, stored_raw, dict(by_contest), batch.id)


def _check_batch_size(records: int, small_batch: bool) -> None:
    """Published, a small batch's ballots show how its few voters voted to whoever knows who they were."""
    least = load_settings().min_batch
    if records < least and not small_batch:
        raise LoadError(
            f"ballots: a batch of {records} ballot(s) is smaller than TALLY_MIN_BATCH ({least}): published, it shows "
            "how those few voted to anyone who knows who cast them; --small-batch (API: smallBatch=true) loads it anyway"
        )


def _period_to_load(
    session: Session, election_key: str, period_name: str, extends_definition: bool
) -> tuple[m.Election, m.VotingPeriod, str]:
    """The election, its period locked for this load, and the definition hash the ballots are loaded under."""
    election = election_by_key(session, election_key)
    if election is None:
        raise LoadError(f"ballots.election: unknown election {election_key!r}")
    period = next((p for p in election.periods if p.name == period_name), None)
    if period is None:
        raise LoadError(f"ballots.period: election {election_key!r} has no voting period {period_name!r}")
    # One load of a period at a time (the chain follows cast order), and none while it is closed or sealed.
    session.execute(select(m.VotingPeriod.id).where(m.VotingPeriod.id == period.id).with_for_update())
    session.refresh(period)
    refused = sealing.loadable(session, period)
    if refused is not None:
        raise LoadError(f"ballots.period: voting period {period_name!r} is {refused}; it takes no more ballots")
    try:
        definition_hash = sealing.check_definition(session, election)
    except sealing.DefinitionChanged as exc:
        if not extends_definition:
            raise LoadError(f"ballots.election: {exc.message}") from None
        definition_hash = sealing.record_extension(session, election)
    return election, period, definition_hash


def _store(
    session: Session,
    election: m.Election,
    batch: m.LoadBatch,
    buckets: dict[tuple[int, int], list[Content]],
    chain: str,
) -> tuple[str, Counter, int, Counter]:
    """Write the rows of each (contest, area) together and extend the chain over them in that order:
    (chain head, entry hashes, weight, records by contest key)."""
    entries = BallotEntries(session, election)
    by_contest: Counter = Counter()
    hashes: Counter = Counter()
    weight = 0
    contest_keys = {c.id: c.key for c in election.contests}
    period_id = batch.voting_period_id
    rests: dict[int, bytes] = {}  # id of a content -> the rest of its entry's JSON, for the contest being stored
    rests_of = None
    sha = hashlib.sha256
    with storage.of(session).ballot_writer(session, period_id, batch.id) as writer:
        for (contest_id, area_id), contents in sorted(buckets.items()):
            if contest_id != rests_of:
                rests, rests_of = {}, contest_id
            # Identical ballots share a content object, so an entry hash per distinct content of the area:
            # the area's JSON then the content's (BallotEntries.area_json, rest_json), the latter once per contest.
            area = entries.area_json(area_id).encode()
            ids = list(map(id, contents))
            distinct = dict(zip(ids, contents, strict=True))
            counts = Counter(ids)
            digests = {}
            for key, n in counts.items():
                content = distinct[key]
                rest = rests.get(key)
                if rest is None:
                    rest = rests[key] = entries.rest_json(period_id, contest_id, content).encode()
                digest = sha(area + rest).hexdigest()
                digests[key] = digest.encode()
                hashes[digest] = hashes.get(digest, 0) + n  # not `+=`: a Counter's missing key is a Python call
                weight += content[1] * n
            # Stored, chained and published in the order of their entry hashes, identical ones together:
            # nothing of the order the records arrived in (when each ballot was cast or scanned) is kept.
            order = sorted(counts, key=digests.__getitem__)
            writer.write(contest_id, area_id, [distinct[k] for k in order for _ in range(counts[k])])
            chain = chain_over(chain, (digests[k] for k in order for _ in range(counts[k])))
            by_contest[contest_keys[contest_id]] += len(contents)
    return chain, hashes, weight, by_contest


@runtime_checkable
class RecordTexts(Protocol):
    """Ballot records as the texts they were cut from (services.loading.ballot_file). `chunks()` yields, in file
    order, (texts, their readings): record texts, each a key of `readings`, with its value then; or (None,
    records): records parsed one at a time. A text's reading is the list of records it holds, or a
    `Spliced` record, until the loader replaces it in `readings` with what it made of them. Identical texts are identical records, so a record's work is
    done once per distinct text."""

    readings: dict[bytes, Any]

    def chunks(self) -> Iterator[tuple[list[bytes] | None, list | None]]: ...


class Template:
    """A record whose text other record texts repeat but for their area's; `content`: the loader's, once made."""

    __slots__ = ("record", "content")

    def __init__(self, record: dict):
        self.record, self.content = record, None


class Spliced(NamedTuple):
    """The record of a text that is its template's text with another area: that record, with this area."""

    template: Template
    area: str


def _read_records(
    election: m.Election, records: Iterable[Any] | RecordTexts
) -> tuple[dict[tuple[int, int], list[Content]], int]:
    """The records' contents grouped by (contest id, area id), in file order within each group
    (identical records share one content object), and how many are kept verbatim. Refuses the
    file at the first record that names an unknown contest or area."""
    reader = _Reader(election)
    if not isinstance(records, RecordTexts):
        reader.records(records)
        return reader.buckets, reader.stored_raw
    for texts, readings in records.chunks():
        if texts is None:
            reader.records(readings)
            continue
        reader.texts(texts, readings, records.readings)
        if len(records.readings) > TEXTS_KEPT:  # a cache: a text seen again after this is read again
            records.readings.clear()
    records.readings.clear()  # what the file's texts were read as: not needed to store them
    return reader.buckets, reader.stored_raw


class _Reader:
    """Records read into their rows' contents, bucket by bucket (`_read_records`)."""

    def __init__(self, election: m.Election):
        # Plain ids and codecs, looked up per record: ORM attribute access would cost more than the rest.
        area_keys = {a.id: a.key for a in election.areas}  # one query, not one per ballot style
        self.election = election
        self.styles = {(c.key, area_keys[s.area_id]): (c.id, s.area_id) for c in election.contests
                       for s in c.ballot_styles}
        self.codecs = {
            c.id: ({cand.key: cand.position for cand in c.candidates}, METHODS[c.method].mark_kind)
            for c in election.contests
        }
        self.parsed: dict[tuple, Content] = {}
        self.buckets: dict[tuple[int, int], list[Content]] = {}
        self.areas: dict[tuple[str, str], tuple] = {}  # (contest key, area key) -> (ids, bucket), as spliced
        self.stored_raw = 0
        self.count = 0  # records read so far: the next one's index

    def records(self, records: Iterable[Any]) -> None:
        for record in records:
            bucket, content, raw = self._row(record, self.count)
            bucket.append(content)
            self.stored_raw += raw
            self.count += 1

    def texts(self, texts: list[bytes], readings: list, read: dict[bytes, Any]) -> None:
        """The records of `texts`, given each text's reading: the text's bucket and content (`_entry`), made
        the first time the text comes (then its reading is what it holds) and kept as its reading in `read`."""
        i = self.count
        stored_raw = 0
        made: dict[int, tuple] = {}  # id of a reading of this block -> its entry (a text may come twice)
        try:
            for text, entry in zip(texts, readings, strict=True):
                if type(entry) is not tuple:  # not read by the loader when the block was cut
                    reading = entry
                    entry = made.get(id(reading))
                    if entry is None:
                        entry = made[id(reading)] = read[text] = self._entry(reading, i)
                bucket, content, raw = entry
                if bucket is None:  # several records in one text (`} ,` between them)
                    rows = content
                    for bucket, content, raw in rows:
                        bucket.append(content)
                        stored_raw += raw
                    i += len(rows)
                else:
                    bucket.append(content)
                    stored_raw += raw
                    i += 1
        finally:
            self.count = i
            self.stored_raw += stored_raw

    def _entry(self, reading: list | Spliced, i: int) -> tuple:
        """(bucket, content, kept verbatim) of a text's one record; (None, those of each, n) for several."""
        if type(reading) is Spliced:
            return self._spliced(reading, i)
        rows = tuple(self._row(record, i + j) for j, record in enumerate(reading))
        return rows[0] if len(rows) == 1 else (None, rows, len(rows))

    def _row(self, record: Any, i: int) -> tuple[list[Content], Content, bool]:
        """The bucket of record `i`, its content (shared by identical records) and whether it is kept verbatim."""
        if type(record) is not dict and not isinstance(record, Mapping):
            raise LoadError(f"ballots[{i}]: must be an object with contest and area")
        ids = self._ids(record.get("contest"), record.get("area")) or _style_of(self.election, self.styles, record, i)
        content = self._content(record, ids[0])
        return self._bucket(ids), content, content[4] is not None

    def _spliced(self, spliced: Spliced, i: int) -> tuple[list[Content], Content, bool]:
        """`_row` of a template's record in another area: the same content, made once per template."""
        template, area = spliced
        record = template.record
        contest = record.get("contest")
        try:
            found = self.areas.get((contest, area))  # (ids, bucket) of a plain contest and area
        except TypeError:  # an unhashable contest
            found = None
        if found is None:
            ids = self._ids(contest, area)
            plain = ids is not None
            if not plain:
                ids = _style_of(self.election, self.styles, {**record, "area": area}, i)
            found = (ids, self._bucket(ids))
            if plain:
                self.areas[(contest, area)] = found
        content = template.content
        if content is None:
            content = template.content = self._content(record, found[0][0])
        return found[1], content, content[4] is not None

    def _ids(self, contest: Any, area: Any) -> tuple[int, int] | None:
        try:
            return self.styles.get((contest, area))
        except TypeError:  # an unhashable contest or area value
            return None

    def _content(self, record: Mapping, contest_id: int) -> Content:
        key = _record_key(record)
        content = self.parsed.get((contest_id, key)) if key is not None else None
        if content is None:
            content = _ballot_row(record, self.codecs[contest_id])
            if content[4] is None and key is not None:  # one kept verbatim depends on the whole record
                self.parsed[(contest_id, key)] = content
        return content

    def _bucket(self, ids: tuple[int, int]) -> list[Content]:
        bucket = self.buckets.get(ids)
        if bucket is None:
            bucket = self.buckets[ids] = []
        return bucket


def _style_of(election: m.Election, styles: Mapping, record: Mapping, i: int) -> tuple[int, int]:
    """(contest id, area id) of a record whose ids are not plain keys (numbers, say), or the
    reason the file is refused."""
    contest_key, area_key = str(record.get("contest")), str(record.get("area"))
    ids = styles.get((contest_key, area_key))
    if ids is not None:
        return ids
    if contest_key not in {c.key for c in election.contests}:
        raise LoadError(f"ballots[{i}].contest: unknown contest {record.get('contest')!r}")
    if area_key not in {a.key for a in election.areas}:
        raise LoadError(f"ballots[{i}].area: unknown area {record.get('area')!r}")
    raise LoadError(f"ballots[{i}].area: contest {contest_key!r} is not on the ballot in area {area_key!r}")


def _record_key(record: Mapping) -> tuple | None:
    """A key that two records share only if they are read as the same ballot, or None when the
    record is not plain enough to tell cheaply. marshal keeps types apart (1, 1.0 and True are
    equal in Python but not as votes) and refuses what it cannot write."""
    weight = record.get("weight", 1)
    explicit = record.get("explicit_invalid", False)
    if type(weight) is not int or type(explicit) is not bool:
        return None
    try:
        return marshal.dumps(record.get("marks", []), 0), weight, explicit
    except ValueError:
        return None


def _ballot_row(record: Mapping, codec) -> Content:
    """(marks, weight, explicit_invalid, defect, raw) for one record."""
    positions, kind = codec
    ballot = counting.parse_ballot({k: v for k, v in record.items() if k not in ("contest", "area")})
    marks = None if ballot.defect else encode(ballot.marks, positions, kind)
    if marks is not None:
        return marks, ballot.weight, ballot.explicit_invalid, None, None
    defect = ballot.defect
    try:
        raw = json.dumps({k: v for k, v in record.items() if k not in ("contest", "area")}, sort_keys=True)
    except (RecursionError, ValueError):  # nested too deeply to write
        raw = None
    if raw is None or len(raw) > RAW_LIMIT:
        # Unreadable: the defect is what counts; the start of the record, if any, is kept for the audit.
        # Readable: fields beyond the format made it long or unwritable; the record as read is within the limit
        # (else the engine would have called it oversized) and reads back as the same ballot.
        raw = (raw and raw[:RAW_LIMIT]) if defect else record_json(ballot)
    return b"", ballot.weight, ballot.explicit_invalid, defect, raw
