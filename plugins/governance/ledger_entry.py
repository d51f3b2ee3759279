"""What a ledger entry is, and how it is hashed and signed.

Each row's `entry_hash` is

    sha256((prev_hash + canonical_json(row)).encode("utf-8")).hexdigest()

where `prev_hash` is the previous row's `entry_hash` (64 zeros for seq 1) and the canonical
JSON covers every column except `entry_hash` and `entry_mac`: anyone can recompute the
chain from the rows alone. `entry_mac` is HMAC-SHA256(ledger key, entry_hash). Only the
holder of the key (the governance service; the key is never in the database) can make an
entry that verifies, so a role that can INSERT into the table still cannot forge one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias

JSONValue: TypeAlias = str | int | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

GENESIS_HASH = "0" * 64

# The columns the entry hash covers: every column of governance.audit_ledger but entry_hash and entry_mac.
HASHED_COLUMNS = (
    "seq", "recorded_at", "workflow", "run_id", "action", "rule", "target_table", "cutoff",
    "policy_sha256", "counts", "details", "prev_hash",
)

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


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


def aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive datetime {value.isoformat()}")
    return value


def _policy_sha256(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
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
            aware("cutoff", self.cutoff)
        object.__setattr__(self, "policy_sha256", _policy_sha256(self.policy_sha256))
        object.__setattr__(self, "counts", _counts(self.counts))
        object.__setattr__(self, "details", _details(self.details))


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
        utc = aware("timestamp", value).astimezone(UTC).replace(tzinfo=None)
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




def entry_mac(key: bytes, entry_hash: str) -> str:
    """HMAC-SHA256 of an entry's hash under the ledger key, as lowercase hex."""
    return hmac.new(key, entry_hash.encode("ascii"), hashlib.sha256).hexdigest()
