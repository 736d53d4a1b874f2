"""What the public files are made of, and nothing of a database: the canonical JSON, every hash and
chain link, the audit event names, the content digest of a batch and the classification of a
ballot. The exports write with it, `tally verify` reads with it (docs/verify-spec.md states each
rule), so the two cannot drift apart; it imports the engine alone (an import-linter contract)."""

from __future__ import annotations

import binascii
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

import counting
from counting.validation import classify

BALLOTS_FORMAT = "tally-ballots/1"
AUDIT_FORMAT = "tally-audit/1"
MANIFEST_FORMAT = "tally-manifest/1"
# How the loader orders a batch's ballots (services.loading.ballots): by contest and area, then by entry
# hash, as its 'ballots loaded' event says; `tally verify` checks it. Older batches kept their file's order.
BALLOT_ORDER = "hash"
GENESIS = "0" * 64  # the hash before the first audit event, the chain before the first ballot

# Audit events that a verifier reads (docs/verify-spec.md).
LOADED = "ballots loaded"
VOIDED = "batch voided"
SEALED = "ballots sealed"
EXTENDED = "definition extended"
TIE_WAITING = "tally waiting for a tie decision"  # a count met a tie its rules leave to an official
TIE_DECIDED = "tie decided"  # the official's decision, which every later count of the period replays
_DECISION_FIELDS = ("round", "purpose", "candidates", "chosen", "pass")


def decision_of(payload: dict) -> dict:
    """The engine's `tie_decisions` entry (counting.official) of a 'tie decided' event's payload."""
    return {k: payload.get(k) for k in _DECISION_FIELDS if payload.get(k) is not None or k == "round"}


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed and exported: sorted keys, no spaces, ASCII only.

    ASCII, because a hostile ballot may carry a lone surrogate, which has no UTF-8 form: escaped,
    it hashes and exports like any other text instead of blocking the tally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, seq: int, kind: str, run_id: int | None, created_at: str, payload: Any) -> str:
    body = canonical_json(
        {"seq": seq, "kind": kind, "run_id": run_id, "created_at": created_at, "payload": payload}
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def link(prev_chain: str, ballot_hash: str) -> str:
    # Called once per ballot (by every load and export): hashlib directly, not through sha256().
    return hashlib.sha256((prev_chain + ballot_hash).encode("ascii")).hexdigest()


def chain_over(chain: str, ballot_hashes: Iterable[bytes]) -> str:
    """`link` over each ballot hash in turn (as ASCII bytes): the loader's loop, kept to bytes and
    hashlib calls bound to locals, since it runs once per ballot loaded."""
    head, sha, hexlify = chain.encode("ascii"), hashlib.sha256, binascii.hexlify
    for ballot_hash in ballot_hashes:
        head = hexlify(sha(head + ballot_hash).digest())
    return head.decode("ascii")


def content_digest(entry_hashes: Counter) -> str:
    """A batch's content, whatever its order: the sha256 of the canonical JSON of its sorted
    [entry hash, occurrences] pairs."""
    # The [hash, n] pairs in the order of their hashes (each hash once: the order of the pairs), as tuples,
    # which JSON writes as arrays: sorted by the hash alone, twice as fast as comparing the pairs.
    return sha256(canonical_json(sorted(entry_hashes.items(), key=itemgetter(0))))


def definition_digest(document: dict) -> str:
    """The definition hash of a definition document (services.definition.document)."""
    return hashlib.sha256(canonical_json(document).encode("ascii")).hexdigest()


def classification(contest: counting.Contest, ballot: counting.Ballot) -> tuple[str, str | None]:
    """(valid | blank | invalid-explicit | invalid-implicit, reason code or None) of one ballot."""
    p = classify(contest, [(counting.Ballot(ballot.marks, 1, ballot.explicit_invalid, ballot.defect), 1)]).participation
    if p.invalid_explicit:
        return "invalid-explicit", None
    if p.invalid_implicit:
        return "invalid-implicit", next(iter(p.invalid_reasons))
    return ("blank", None) if p.blank else ("valid", None)
