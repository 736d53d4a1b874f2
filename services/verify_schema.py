"""The shape of the public files, as JSON Schemas (docs/verify-spec.md; checked with fastjsonschema,
which compiles a schema to plain Python): `tally verify` checks each
file against its schema before reading it, so a malformed or hostile file (a list where an id
belongs, a payload that is not an object, nesting past any sense) is refused with one line naming
the place instead of crashing the check. What the schemas leave free (marks' values, options,
results) is compared as data, never trusted as a type."""

from __future__ import annotations

from typing import Any

import fastjsonschema

from services.errors import ServiceError
from services.public_format import AUDIT_FORMAT, BALLOTS_FORMAT


class Malformed(ServiceError):
    """A file that is not the document it should be; the message names the place."""


_INT = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_OBJECT = {"type": "object"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


_SCALAR = {"type": ["string", "integer", "number", "boolean", "null"]}
_ENTRY = _object(
    {"period": _TEXT, "contest": _TEXT, "area": _TEXT, "weight": _INT, "explicit_invalid": {"type": "boolean"},
     "classification": _TEXT, "hash": _TEXT, "chain": _TEXT,
     "marks": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": _SCALAR}}},
    {"defect": _MAYBE_TEXT, "raw": _MAYBE_TEXT, "reason": _MAYBE_TEXT},
)
_AREA = _object({"id": _TEXT, "weight": {"type": "integer", "minimum": 1}, "census": _COUNT},
                {"parent": _MAYBE_TEXT})
_ELECTION = _object({"id": _INT, "key": _TEXT}, {"name": _TEXT})
_CONTEST = _object({"id": _TEXT, "candidates": {"type": "array", "items": _object({"id": _TEXT})}},
                   {"areas": {"type": "array", "items": _TEXT}})

BALLOTS = _object({
    "format": {"const": BALLOTS_FORMAT},
    "election": _ELECTION,
    "areas": {"type": "array", "items": _AREA},
    "contests": {"type": "array", "items": _CONTEST},
    "periods": {"type": "array", "items": _object(
        {"id": _INT, "name": _TEXT, "tally_run_id": _INT, "ballots": _COUNT})},
    "ballots": {"type": "array", "items": _ENTRY},
    "chain_head": _TEXT,
})

DEFINITION = _object({
    "format": _TEXT,
    "areas": {"type": "array", "items": _object(
        {"id": _TEXT, "parent": _MAYBE_TEXT, "weight": {"type": "integer", "minimum": 1}, "census": _COUNT})},
    "contests": {"type": "array", "items": _object({
        "id": _TEXT, "method": _TEXT, "seats": _INT, "min_votes": _INT, "max_votes": {"type": ["integer", "null"]},
        "blank_policy": _TEXT, "options": _OBJECT, "annotations": _OBJECT,
        "candidates": {"type": "array", "items": _object({"id": _TEXT})},
        "exclusion_groups": {"type": "array", "items": _OBJECT},
        "ballot_styles": {"type": "array", "items": _object({"area": _TEXT, "annotations": _OBJECT})},
    })},
})

# What verify reads from each kind of event's payload.
_PAYLOADS = {
    "ballots loaded": _object({
        "batch_id": _INT, "voting_period_id": _INT, "records": _COUNT, "weight": _INT, "content_digest": _TEXT,
        "count_before": _COUNT, "count_after": _COUNT, "chain_before": _TEXT, "chain_after": _TEXT,
        "definition_hash": _TEXT}),
    "batch voided": _object({"batch_id": _INT, "voting_period_id": _INT}),
    "ballots sealed": _object({"voting_period_id": _INT, "ballots": _COUNT, "ballots_chain_head": _TEXT,
                               "definition_hash": _TEXT}),
    "tally completed": _object({"voting_period_id": _INT, "ballots": _COUNT, "ballots_chain_head": _TEXT,
                                "results": {"type": "object", "additionalProperties": _OBJECT}},
                               {"definition_hash": _TEXT}),
    "tally round": _object({"contest": _TEXT}),
    "definition extended": _object({"to": _TEXT}, {"from": _MAYBE_TEXT}),
}
_EVENT = {
    **_object({"seq": _INT, "kind": _TEXT, "run_id": {"type": ["integer", "null"]}, "created_at": _TEXT,
               "payload": _OBJECT, "prev_hash": _TEXT, "hash": _TEXT}),
    "allOf": [
        {"if": {"properties": {"kind": {"const": kind}}}, "then": {"properties": {"payload": schema}}}
        for kind, schema in _PAYLOADS.items()
    ],
}

AUDIT = _object({
    "format": {"const": AUDIT_FORMAT},
    "election": _ELECTION,
    "definition": DEFINITION,
    "contests": {"type": "array", "items": _CONTEST},
    "events": {"type": "array", "items": _EVENT},
    "head": _TEXT,
})

_RESULT_SCOPES = {"type": "object", "additionalProperties": _OBJECT}
RESULTS = _object({
    "election": _TEXT,
    "tallies": {"type": "array", "items": _object({
        "tally_run_id": _INT, "voting_period": _TEXT,
        "contests": {"type": "array", "items": _object(
            {"contest": _TEXT, "result": _OBJECT, "areas": _RESULT_SCOPES, "subtrees": _RESULT_SCOPES})},
    })},
})

# Compiled once to Python code: a million ballot entries are checked in seconds (an interpreting
# validator took 25 times as long here).
_VALIDATORS = {name: fastjsonschema.compile(schema) for name, schema in
               (("ballots", BALLOTS), ("audit", AUDIT), ("results", RESULTS))}


def check(doc: Any, schema: str, name: str) -> None:
    """Raise Malformed naming the first place where `doc` is not a `schema` document."""
    try:
        _VALIDATORS[schema](doc)
    except fastjsonschema.JsonSchemaValueException as error:
        place = name + error.name.removeprefix("data")  # data.ballots[5].area -> ballots.json.ballots[5].area
        rule = error.message.removeprefix(error.name).strip()
        raise Malformed(f"{place}: {rule if len(rule) <= 160 else rule[:157] + '...'}") from None


def check_shape(ballots: Any, ballots_name: str, audit: Any, audit_name: str, results: Any, results_name: str) -> None:
    check(ballots, "ballots", ballots_name)
    check(audit, "audit", audit_name)
    if results is not None:
        check(results, "results", results_name)
