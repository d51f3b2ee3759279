"""The audit ledger: an append-only, hash-chained, signed record of everything the workflows delete.

Every purge, archive and erasure appends a `LedgerEntry` (rule, counts, cutoff, policy
version, run id); ledger_entry says how each row is hashed and signed. `verify` recomputes
the chain, so a changed, swapped or removed row is detected even when the table's triggers
were bypassed; with the ledger key it also checks every entry's signature, so an entry that
a role with plain INSERT rights added is detected; removal of the newest rows is detected
through anchors, (seq, entry_hash) pairs kept outside the database (ledger_anchors).

Appends take a table lock that conflicts only with other appends, inside the caller's
transaction when there is one: the caller's deletes and its ledger row commit together,
and seq never has a gap. Under REPEATABLE READ or SERIALIZABLE, call `append` before any
other statement of the transaction (the snapshot is taken by the first one): with a stale
snapshot the insert fails on the primary key rather than forking the chain.
The role that appends needs INSERT and SELECT, plus a privilege that permits SHARE ROW
EXCLUSIVE locks (MAINTAIN on PostgreSQL 17+); include/sql/schema/grants.sql grants them.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from governance.db import sql_text
from governance.keys import ledger_key
from governance.ledger_entry import (
    GENESIS_HASH,
    SHA256_HEX,
    LedgerEntry,
    aware,
    compute_entry_hash,
    entry_fields,
    entry_mac,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["GENESIS_HASH", "AppendedEntry", "LedgerEntry", "VerificationResult", "append", "verify"]

DEFAULT_BATCH_SIZE = 2000

# VerificationResult.reason starts with one of these.
REASON_ROW_MISSING = "row missing"
REASON_CHAIN_BROKEN = "chain link broken"
REASON_CONTENT_CHANGED = "content changed"
REASON_ANCHOR_MISMATCH = "anchor mismatch"
REASON_ANCHOR_CONFLICT = "anchor conflict"
REASON_SIGNATURE = "signature invalid"


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppendedEntry:
    """Where an entry landed in the chain."""

    seq: int
    entry_hash: str
    prev_hash: str



@dataclass(frozen=True)
class VerificationResult:
    """The outcome of `verify`.

    head_seq and head_hash name the last entry that verified as part of an intact chain from
    seq 1 (on success, the ledger's head: record them as an anchor). first_broken_seq and
    reason name the first problem; reason starts with one of the REASON_* phrases.
    """

    ok: bool
    entries_checked: int
    head_seq: int | None
    head_hash: str | None
    first_broken_seq: int | None = None
    reason: str | None = None
    signatures_checked: bool = False
    first_signed_seq: int | None = None  # from here on every entry must be signed (anchors keep it)


# --- append --------------------------------------------------------------------------------


def _recorded_at(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)  # microsecond resolution, as timestamptz stores it
    return aware("recorded_at", value).astimezone(UTC)


def append(conn: psycopg.Connection, entry: LedgerEntry, *, recorded_at: datetime | None = None,
           key: bytes | None = None) -> AppendedEntry:
    """Append `entry` as the next link of the chain, signed with the ledger key; return its seq and hashes.

    Runs in `conn.transaction()`: on its own it commits; inside a caller's transaction it is a
    savepoint, and the append lock is held until the caller commits or rolls back (so the
    caller's deletes and this row are committed atomically, and a rollback leaves no gap).
    `key` defaults to the configured ledger key (keys.ledger_key); without one, nothing is appended.
    """
    from psycopg.rows import tuple_row
    from psycopg.types.json import Jsonb

    if not isinstance(entry, LedgerEntry):
        raise TypeError(f"entry must be a LedgerEntry, not {type(entry).__name__}")
    signing_key = key if key is not None else ledger_key()
    when = _recorded_at(recorded_at)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(sql_text("ledger/lock.sql"))
        head = cur.execute(sql_text("ledger/head.sql")).fetchone()
        seq, prev_hash = (1, GENESIS_HASH) if head is None else (int(head[0]) + 1, str(head[1]))
        fields = entry_fields(entry, seq=seq, recorded_at=when, prev_hash=prev_hash)
        digest = compute_entry_hash(fields)
        params = {**fields, "counts": Jsonb(fields["counts"]), "details": Jsonb(fields["details"])}
        cur.execute(sql_text("ledger/insert.sql"),
                    {**params, "entry_hash": digest, "entry_mac": entry_mac(signing_key, digest)})
    return AppendedEntry(seq=seq, entry_hash=digest, prev_hash=prev_hash)


# --- verify --------------------------------------------------------------------------------


def _anchor_map(anchors: Iterable[tuple[int, str]]) -> tuple[dict[int, str], tuple[int, str] | None]:
    """The anchors by seq, and the first conflict (two different hashes anchored for one seq), if any."""
    checked: dict[int, str] = {}
    conflict = None
    for seq, digest in anchors:
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise ValueError(f"anchor seq must be an int >= 1, got {seq!r}")
        if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest.lower()):
            raise ValueError(f"anchor hash for seq {seq} must be 64 hex characters, got {digest!r}")
        if checked.setdefault(seq, digest.lower()) != digest.lower() and (conflict is None or seq < conflict[0]):
            conflict = (seq, f"{REASON_ANCHOR_CONFLICT}: seq {seq} is anchored with two different hashes "
                             f"({checked[seq]} and {digest.lower()}); one of the anchors, or the chain, was forged")
    return checked, conflict


class _ChainChecker:
    """Checks rows one at a time, in seq order; remembers the last good link."""

    def __init__(self, anchors: dict[int, str], key: bytes | None, signed_from: int | None) -> None:
        self.anchors = anchors
        self.key = key
        self.signed_from = signed_from
        self.first_signed_seq: int | None = None
        self.checked = 0
        self.head_seq: int | None = None
        self.prev_hash = GENESIS_HASH

    @property
    def expected_seq(self) -> int:
        return (self.head_seq or 0) + 1

    def check(self, row: Mapping[str, Any]) -> tuple[int, str] | None:
        """None if `row` extends the chain, else (first broken seq, reason)."""
        seq, expected = row["seq"], self.expected_seq
        if seq > expected:
            return expected, f"{REASON_ROW_MISSING}: seq {expected} is absent (the next row is seq {seq})"
        if seq < expected:
            return seq, f"{REASON_CHAIN_BROKEN}: seq {seq} appears where seq {expected} was expected"
        if row["prev_hash"] != self.prev_hash:
            return seq, f"{REASON_CHAIN_BROKEN}: prev_hash of seq {seq} is not the entry_hash of seq {seq - 1}"
        if compute_entry_hash(row) != row["entry_hash"]:
            return seq, f"{REASON_CONTENT_CHANGED}: entry_hash of seq {seq} does not match its contents"
        anchored = self.anchors.get(seq)
        if anchored is not None and anchored != row["entry_hash"]:
            return seq, (
                f"{REASON_ANCHOR_MISMATCH}: seq {seq} has entry_hash {row['entry_hash']}, anchored as {anchored} "
                f"(the chain was rewritten at or before seq {seq})"
            )
        unsigned = self._signature_problem(row)
        if unsigned:
            return seq, unsigned
        self.checked += 1
        self.head_seq, self.prev_hash = seq, row["entry_hash"]
        return None

    def _signature_problem(self, row: Mapping[str, Any]) -> str | None:
        """Entries must be signed with the ledger key. Only a prefix of unsigned entries is
        accepted: those appended before this ledger was signed (an upgraded deployment), and
        never past the first signed seq that an anchor recorded, so that clearing every
        signature does not turn the whole ledger into such a prefix."""
        if self.key is None:
            return None
        seq, mac = row["seq"], row.get("entry_mac")
        prefix = self.first_signed_seq is None and (self.signed_from is None or seq < self.signed_from)
        if mac is None and prefix:
            return None
        if mac is None or not hmac.compare_digest(mac, entry_mac(self.key, row["entry_hash"])):
            state = "is not signed" if mac is None else "has a signature the ledger key did not make"
            return f"{REASON_SIGNATURE}: seq {seq} {state} (it was not appended by the governance service)"
        if self.first_signed_seq is None:
            self.first_signed_seq = seq
        return None

    def check_end(self) -> tuple[int, str] | None:
        """After the last row: an anchor beyond it means the newest rows were removed."""
        beyond = [seq for seq in self.anchors if seq >= self.expected_seq]
        if not beyond:
            return None
        return self.expected_seq, (
            f"{REASON_ROW_MISSING}: the ledger ends at seq {self.expected_seq - 1} "
            f"but an anchor records seq {max(beyond)}"
        )

    def result(self, broken: tuple[int, str] | None) -> VerificationResult:
        head_hash = None if self.head_seq is None else self.prev_hash
        first_broken_seq, reason = broken if broken else (None, None)
        return VerificationResult(
            ok=broken is None,
            entries_checked=self.checked,
            head_seq=self.head_seq,
            head_hash=head_hash,
            first_broken_seq=first_broken_seq,
            reason=reason,
            signatures_checked=self.key is not None,
            first_signed_seq=self.first_signed_seq,
        )


def _tolerant_json_loads(data: str | bytes) -> Any:
    """json.loads, or the raw text if Python cannot load it (the row then fails its hash check)."""
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


@cache
def _tolerant_timestamptz_loader() -> type:
    import psycopg
    from psycopg.types.datetime import TimestamptzLoader

    class TolerantTimestamptzLoader(TimestamptzLoader):
        """A timestamp Python cannot represent ('infinity', year 10000) loads as its text, so a
        tampered row is reported as changed instead of making verification fail to read it."""

        def load(self, data: Any) -> Any:
            try:
                return super().load(data)
            except psycopg.DataError:
                return bytes(data).decode("utf-8", "replace")

    return TolerantTimestamptzLoader


def _scan_cursor(conn: psycopg.Connection, batch_size: int) -> psycopg.ServerCursor:
    from psycopg.rows import dict_row
    from psycopg.types.json import set_json_loads

    cur = conn.cursor(name="governance_ledger_scan", row_factory=dict_row)
    cur.itersize = batch_size
    cur.adapters.register_loader("timestamptz", _tolerant_timestamptz_loader())
    set_json_loads(_tolerant_json_loads, cur)
    return cur


def verify(
    conn: psycopg.Connection,
    *,
    anchors: Iterable[tuple[int, str]] = (),
    key: bytes | None = None,
    signed_from: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> VerificationResult:
    """Recompute the chain from seq 1, streaming the table in batches through a server-side cursor.

    Detects a missing seq (a deleted row), a prev_hash that is not the previous entry_hash,
    an entry_hash that does not match the row's contents, any anchor — an earlier
    (seq, entry_hash) — that is absent or different, two anchors that disagree, and, given
    the ledger key, an entry the key did not sign (from `signed_from` on, every entry must be
    signed). Stops at the first problem.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    anchored, conflict = _anchor_map(anchors)
    checker = _ChainChecker(anchored, key, signed_from)
    if conflict is not None:
        return checker.result(conflict)
    broken = None
    with conn.transaction(), _scan_cursor(conn, batch_size) as cur:
        cur.execute(sql_text("ledger/scan.sql"))
        for row in cur:
            broken = checker.check(row)
            if broken is not None:
                break
    return checker.result(broken or checker.check_end())


# --- reads ---------------------------------------------------------------------------------


def entries_for_run(conn: psycopg.Connection, workflow: str, run_id: str) -> list[dict[str, Any]]:
    """The ledger rows one run of `workflow` wrote, in seq order, as dicts keyed by column name."""
    from psycopg.rows import dict_row

    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql_text("ledger/entries_for_run.sql"), {"workflow": workflow, "run_id": run_id}).fetchall()
