"""The ledger's canonical JSON, entry validation and signatures, without a database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from governance import ledger_entry as ledger
from governance.ledger_entry import GENESIS_HASH, LedgerEntry, canonical_json, compute_entry_hash, entry_fields

RECORDED = datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)


def _fields(entry: LedgerEntry, *, seq: int = 1, prev_hash: str = GENESIS_HASH) -> dict:
    return entry_fields(entry, seq=seq, recorded_at=RECORDED, prev_hash=prev_hash)


def test_key_order_does_not_change_the_hash():
    """Two workflows recording the same counts and details in a different order get the same hash."""
    first = LedgerEntry(
        workflow="w", action="a", counts={"a": 1, "b": 2}, details={"x": {"p": 1, "q": [1, 2]}, "y": None}
    )
    second = LedgerEntry(
        workflow="w", action="a", counts={"b": 2, "a": 1}, details={"y": None, "x": {"q": [1, 2], "p": 1}}
    )
    assert canonical_json(_fields(first)) == canonical_json(_fields(second))
    assert compute_entry_hash(_fields(first)) == compute_entry_hash(_fields(second))


def test_canonical_json_is_compact_sorted_utf8_and_covers_every_column_but_entry_hash():
    """The hashed text is the documented canonical form, so an auditor can recompute it with any JSON tool."""
    entry = LedgerEntry(workflow="w", action="a", details={"note": "é"})
    fields = {**_fields(entry), "entry_hash": "ignored"}
    text = canonical_json(fields)
    document = json.loads(text)
    assert set(document) == set(ledger.HASHED_COLUMNS)
    assert list(document) == sorted(document)
    assert " " not in text
    assert '"note":"é"' in text
    assert document["recorded_at"] == "2026-01-02T03:04:05.000600Z"
    assert document["cutoff"] is None


def test_entry_hash_is_sha256_of_prev_hash_and_canonical_json():
    """entry_hash = sha256(prev_hash + canonical JSON), and the first entry chains from 64 zeros."""
    assert GENESIS_HASH == "0" * 64
    prev = "ab" * 32
    fields = _fields(LedgerEntry(workflow="w", action="a"), seq=2, prev_hash=prev)
    expected = hashlib.sha256((prev + canonical_json(fields)).encode("utf-8")).hexdigest()
    assert compute_entry_hash(fields) == expected
    other_prev = _fields(LedgerEntry(workflow="w", action="a"), seq=2, prev_hash="cd" * 32)
    assert compute_entry_hash(other_prev) != expected


def test_timestamps_are_normalised_to_utc_microseconds():
    """The same instant in another time zone hashes the same; the cutoff is written as UTC with a Z."""
    plus_two = timezone(timedelta(hours=2))
    utc_entry = LedgerEntry(workflow="w", action="a", cutoff=datetime(2026, 1, 1, 10, tzinfo=UTC))
    local_entry = LedgerEntry(workflow="w", action="a", cutoff=datetime(2026, 1, 1, 12, tzinfo=plus_two))
    assert canonical_json(_fields(utc_entry)) == canonical_json(_fields(local_entry))
    assert json.loads(canonical_json(_fields(utc_entry)))["cutoff"] == "2026-01-01T10:00:00.000000Z"


@pytest.mark.parametrize(
    ("details", "key"),
    [({"ratio": 0.5}, "'ratio'"), ({"outer": {"inner": [1, 2.0]}}, "'inner'")],
    ids=["top-level", "nested"],
)
def test_float_in_details_is_refused_naming_the_key(details, key):
    """A float in details is refused up front (it would not hash the same after jsonb), naming the key."""
    with pytest.raises(TypeError, match=key):
        LedgerEntry(workflow="w", action="a", details=details)


def test_naive_cutoff_is_refused():
    """A cutoff without a time zone is refused: the ledger must say which instant was the cutoff."""
    with pytest.raises(ValueError, match="timezone-aware"):
        LedgerEntry(workflow="w", action="a", cutoff=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("counts", "error"),
    [({"rows_deleted": -1}, ValueError), ({"rows_deleted": True}, TypeError), ({"rows_deleted": 1.0}, TypeError)],
    ids=["negative", "bool", "float"],
)
def test_counts_must_be_non_negative_ints(counts, error):
    """Counts are refused unless they are non-negative ints, naming the count."""
    with pytest.raises(error, match="rows_deleted"):
        LedgerEntry(workflow="w", action="a", counts=counts)


@pytest.mark.parametrize(
    "overrides",
    [
        {"workflow": ""},
        {"details": {"k": "a\x00b"}},
        {"details": {1: "x"}},
        {"policy_sha256": "AB" * 32},
        {"policy_sha256": "abc"},
        {"details": {"when": datetime(2026, 1, 1, tzinfo=UTC)}},
    ],
    ids=["empty-workflow", "nul", "int-key", "upper-policy", "short-policy", "datetime-detail"],
)
def test_values_that_would_not_round_trip_are_refused(overrides):
    """Values PostgreSQL would reject or alter (NUL, non-str keys, padded char(64)) are refused when built."""
    with pytest.raises((TypeError, ValueError)):
        LedgerEntry(**{"workflow": "w", "action": "a", **overrides})


def test_entry_keeps_its_own_copy_of_counts_and_details():
    """Changing the caller's dicts after building an entry does not change what gets hashed."""
    counts, details = {"rows": 1}, {"tags": ["a"]}
    entry = LedgerEntry(workflow="w", action="a", counts=counts, details=details)
    before = canonical_json(_fields(entry))
    counts["rows"] = 2
    details["tags"].append("b")
    assert canonical_json(_fields(entry)) == before
