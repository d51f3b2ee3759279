"""The audit ledger: an append-only, hash-chained record of everything the workflows delete.

Every purge, archive and erasure appends a `LedgerEntry` (rule, counts, cutoff, policy
version, run id). Each row's `entry_hash` is

    sha256((prev_hash + canonical_json(row)).encode("utf-8")).hexdigest()

where `prev_hash` is the previous row's `entry_hash` (64 zeros for seq 1) and the canonical
JSON covers every column except `entry_hash`. `verify` recomputes the chain, so a changed,
swapped or removed row is detected even when the table's triggers were bypassed; removal of
the newest rows is detected through anchors, (seq, entry_hash) pairs recorded elsewhere
earlier (a WORM report, for instance).

Appends take a table lock that conflicts only with other appends, inside the caller's
transaction when there is one: the caller's deletes and its ledger row commit together,
and seq never has a gap. Under REPEATABLE READ or SERIALIZABLE, call `append` before any
other statement of the transaction (the snapshot is taken by the first one): with a stale
snapshot the insert fails on the primary key rather than forking the chain.
The role that appends needs INSERT and SELECT, plus a privilege that permits SHARE ROW
EXCLUSIVE locks (MAINTAIN on PostgreSQL 17+, or UPDATE, which the triggers refuse anyway).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias

from governance.db import sql_text

if TYPE_CHECKING:
    import psycopg

JSONValue: TypeAlias = str | int | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

GENESIS_HASH = "0" * 64
DEFAULT_BATCH_SIZE = 2000

# The columns the entry hash covers, i.e. every column of governance.audit_ledger but entry_hash.
HASHED_COLUMNS = (
    "seq", "recorded_at", "workflow", "run_id", "action", "rule", "target_table", "cutoff",
    "policy_sha256", "counts", "details", "prev_hash",
)

# VerificationResult.reason starts with one of these.
REASON_ROW_MISSING = "row missing"
REASON_CHAIN_BROKEN = "chain link broken"
REASON_CONTENT_CHANGED = "content changed"
REASON_ANCHOR_MISMATCH = "anchor mismatch"

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class LedgerIntegrityError(Exception):
    """The ledger failed verification; the message names the first broken seq and why."""

    def __init__(self, message: str, result: VerificationResult | None = None) -> None:
        super().__init__(message)
        self.result = result


# --- validation ----------------------------------------------------------------------------


def _plain_str(where: str, value: str) -> str:
    """`value` as a plain str that PostgreSQL text and jsonb store unchanged."""
    if "\x00" in value:
        raise ValueError(f"{where}: NUL characters cannot be stored in PostgreSQL text or jsonb")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{where}: not valid Unicode text ({exc.reason})") from None
    return str.__str__(value)


def _key(where: str, key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{where}: keys must be str, not {type(key).__name__} ({key!r})")
    return _plain_str(f"{where} key {key!r}", key)


def _json_object(where: str, value: Mapping[Any, Any]) -> dict[str, JSONValue]:
    return {_key(where, key): _json_safe(f"{where}[{key!r}]", item) for key, item in value.items()}


def _json_safe(where: str, value: object) -> JSONValue:
    """A plain-typed copy of `value`, or TypeError naming `where` (the key) if jsonb would alter it."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return _plain_str(where, value)
    if isinstance(value, list | tuple):
        return [_json_safe(f"{where}[{index}]", item) for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        return _json_object(where, value)
    if isinstance(value, float):
        raise TypeError(
            f"{where}: floats are not allowed in ledger details (they do not round-trip through jsonb "
            f"byte-exactly); use an int or a str, got {value!r}"
        )
    raise TypeError(f"{where}: {type(value).__name__} is not allowed; use str, int, bool, None, list or dict")


def _details(details: object) -> dict[str, JSONValue]:
    if not isinstance(details, Mapping):
        raise TypeError(f"details must be a mapping, not {type(details).__name__}")
    return _json_object("details", details)


def _counts(counts: object) -> dict[str, int]:
    if not isinstance(counts, Mapping):
        raise TypeError(f"counts must be a mapping, not {type(counts).__name__}")
    checked: dict[str, int] = {}
    for key, value in counts.items():
        name = _key("counts", key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"counts[{name!r}] must be an int, not {type(value).__name__}")
        if value < 0:
            raise ValueError(f"counts[{name!r}] must be non-negative, got {value}")
        checked[name] = int(value)
    return checked


def _text(name: str, value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if required and not value:
        raise ValueError(f"{name} must not be empty")
    return _plain_str(name, value)


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive datetime {value.isoformat()}")
    return value


def _policy_sha256(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise ValueError(f"policy_sha256 must be 64 lowercase hex characters, got {value!r}")
    return str.__str__(value)


# --- entries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerEntry:
    """What a workflow did: one ledger row before it is given its seq, time and hashes.

    Validated on construction; counts and details are stored as plain-typed copies.
    """

    workflow: str
    action: str
    run_id: str | None = None
    rule: str | None = None
    target_table: str | None = None
    cutoff: datetime | None = None
    policy_sha256: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict, hash=False)
    details: Mapping[str, JSONValue] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("workflow", "action"):
            object.__setattr__(self, name, _text(name, getattr(self, name), required=True))
        for name in ("run_id", "rule", "target_table"):
            object.__setattr__(self, name, _text(name, getattr(self, name), required=False))
        if self.cutoff is not None:
            _aware("cutoff", self.cutoff)
        object.__setattr__(self, "policy_sha256", _policy_sha256(self.policy_sha256))
        object.__setattr__(self, "counts", _counts(self.counts))
        object.__setattr__(self, "details", _details(self.details))


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


def entry_fields(entry: LedgerEntry, *, seq: int, recorded_at: datetime, prev_hash: str) -> dict[str, Any]:
    """The hashed columns of the row `entry` becomes at `seq` (keys: HASHED_COLUMNS)."""
    return {
        "seq": seq,
        "recorded_at": recorded_at,
        "workflow": entry.workflow,
        "run_id": entry.run_id,
        "action": entry.action,
        "rule": entry.rule,
        "target_table": entry.target_table,
        "cutoff": entry.cutoff,
        "policy_sha256": entry.policy_sha256,
        "counts": dict(entry.counts),
        "details": dict(entry.details),
        "prev_hash": prev_hash,
    }


def _timestamp_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        utc = _aware("timestamp", value).astimezone(UTC).replace(tzinfo=None)
        return utc.isoformat(timespec="microseconds") + "Z"
    # Only from verify: a value PostgreSQL holds but Python cannot ('infinity'); it never
    # matches the text of a real timestamp, so the row is reported as changed.
    return str(value)


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON of a ledger row: HASHED_COLUMNS only (other keys are ignored),
    sorted keys, no whitespace, UTF-8 text, timestamps as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC."""
    document = {name: fields[name] for name in HASHED_COLUMNS}
    document["recorded_at"] = _timestamp_text(document["recorded_at"])
    document["cutoff"] = _timestamp_text(document["cutoff"])
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_entry_hash(fields: Mapping[str, Any]) -> str:
    """sha256((prev_hash + canonical_json(fields)).encode('utf-8')) as lowercase hex."""
    payload = str(fields["prev_hash"]) + canonical_json(fields)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --- append --------------------------------------------------------------------------------


def _recorded_at(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)  # microsecond resolution, as timestamptz stores it
    return _aware("recorded_at", value).astimezone(UTC)


def append(conn: psycopg.Connection, entry: LedgerEntry, *, recorded_at: datetime | None = None) -> AppendedEntry:
    """Append `entry` as the next link of the chain and return its seq and hashes.

    Runs in `conn.transaction()`: on its own it commits; inside a caller's transaction it is a
    savepoint, and the append lock is held until the caller commits or rolls back (so the
    caller's deletes and this row are committed atomically, and a rollback leaves no gap).
    """
    from psycopg.rows import tuple_row
    from psycopg.types.json import Jsonb

    if not isinstance(entry, LedgerEntry):
        raise TypeError(f"entry must be a LedgerEntry, not {type(entry).__name__}")
    when = _recorded_at(recorded_at)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(sql_text("ledger/lock.sql"))
        head = cur.execute(sql_text("ledger/head.sql")).fetchone()
        seq, prev_hash = (1, GENESIS_HASH) if head is None else (int(head[0]) + 1, str(head[1]))
        fields = entry_fields(entry, seq=seq, recorded_at=when, prev_hash=prev_hash)
        digest = compute_entry_hash(fields)
        params = {**fields, "counts": Jsonb(fields["counts"]), "details": Jsonb(fields["details"])}
        cur.execute(sql_text("ledger/insert.sql"), {**params, "entry_hash": digest})
    return AppendedEntry(seq=seq, entry_hash=digest, prev_hash=prev_hash)


# --- verify --------------------------------------------------------------------------------


def _anchor_map(anchors: Iterable[tuple[int, str]]) -> dict[int, str]:
    checked: dict[int, str] = {}
    for seq, digest in anchors:
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise ValueError(f"anchor seq must be an int >= 1, got {seq!r}")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest.lower()):
            raise ValueError(f"anchor hash for seq {seq} must be 64 hex characters, got {digest!r}")
        if checked.setdefault(seq, digest.lower()) != digest.lower():
            raise ValueError(f"conflicting anchors for seq {seq}")
    return checked


class _ChainChecker:
    """Checks rows one at a time, in seq order; remembers the last good link."""

    def __init__(self, anchors: dict[int, str]) -> None:
        self.anchors = anchors
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
        self.checked += 1
        self.head_seq, self.prev_hash = seq, row["entry_hash"]
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
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> VerificationResult:
    """Recompute the chain from seq 1, streaming the table in batches through a server-side cursor.

    Detects a missing seq (a deleted row), a prev_hash that is not the previous entry_hash,
    an entry_hash that does not match the row's contents, and any anchor — an earlier
    (seq, entry_hash) — that is absent or different. Stops at the first problem.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    checker = _ChainChecker(_anchor_map(anchors))
    broken = None
    with conn.transaction(), _scan_cursor(conn, batch_size) as cur:
        cur.execute(sql_text("ledger/scan.sql"))
        for row in cur:
            broken = checker.check(row)
            if broken is not None:
                break
    return checker.result(broken or checker.check_end())


def verify_or_raise(conn: psycopg.Connection, anchors: Iterable[tuple[int, str]] = ()) -> VerificationResult:
    """`verify`, raising LedgerIntegrityError with the reason when the ledger is not intact."""
    result = verify(conn, anchors=anchors)
    if not result.ok:
        raise LedgerIntegrityError(
            f"audit ledger verification failed at seq {result.first_broken_seq}: {result.reason}", result
        )
    return result


# --- reads ---------------------------------------------------------------------------------


def entries_for_run(conn: psycopg.Connection, workflow: str, run_id: str) -> list[dict[str, Any]]:
    """The ledger rows one run of `workflow` wrote, in seq order, as dicts keyed by column name."""
    from psycopg.rows import dict_row

    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql_text("ledger/entries_for_run.sql"), {"workflow": workflow, "run_id": run_id}).fetchall()
