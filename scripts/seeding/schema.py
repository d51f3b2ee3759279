"""The app schema, as far as the seed writes it, and Table: one table's columns as numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NULL = np.iinfo(np.int64).min  # NULL in int64 columns (also NaT as datetime64)

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("user_id", "email", "display_name", "country", "created_at", "deleted_at", "trust_score"),
    "cookie_consents": ("user_id", "category", "granted", "updated_at"),
    "sessions": ("session_id", "user_id", "ip_hash", "user_agent", "created_at"),
    "usage_events": ("event_id", "user_id", "event_type", "created_at"),
    "generations": ("generation_id", "user_id", "kind", "prompt_hash", "model_provider", "media_key", "status",
                    "created_at", "deleted_at", "media_deleted_at"),
    "uploads": ("upload_id", "user_id", "kind", "media_key", "created_at", "deleted_at"),
    "moderation_events": ("event_id", "user_id", "generation_id", "prompt_hash", "category", "severity", "action",
                          "created_at"),
    "payments": ("payment_id", "user_id", "processor", "amount_minor", "currency", "billing_country", "created_at"),
    "disclosures": ("disclosure_id", "user_id", "authority", "country", "legal_basis", "disclosed_at"),
}
TABLE_ORDER = tuple(COLUMNS)  # foreign-key order: users first
KEYS = {"users": "user_id", "sessions": "session_id", "usage_events": "event_id", "generations": "generation_id",
        "uploads": "upload_id", "moderation_events": "event_id", "payments": "payment_id",
        "disclosures": "disclosure_id"}
INT_COLUMNS = frozenset({"user_id", "session_id", "event_id", "generation_id", "upload_id", "payment_id",
                         "disclosure_id", "amount_minor"})
# About 1% of people under a legal hold, a third of those holds already released; by id, so
# deterministic. The purge must keep the held people's rows and count them as held.
LEGAL_HOLDS = """
INSERT INTO governance.legal_holds (user_id, reason, placed_by, placed_at, released_at)
SELECT user_id, 'litigation hold, matter ' || (user_id % 1000), 'legal@example.com',
       created_at + interval '1 day',
       CASE WHEN user_id % 3 = 0 THEN created_at + interval '1 day 1 hour' END
FROM app.users
WHERE user_id % 97 = 0 AND user_id < 9000000000
"""
# The transfer captures describe the rows being replaced: they go too (the next capture backfills).
TRUNCATE = ("TRUNCATE app.users, app.cookie_consents, app.sessions, app.usage_events, app.generations, app.uploads,"
            " app.moderation_events, app.payments, app.disclosures, governance.legal_holds,"
            " governance.transfer_daily, governance.transfer_windows RESTART IDENTITY")


@dataclass
class Table:
    """Columns of one app table as numpy arrays: int64 for ids and *_at (epoch seconds, NULL for null),
    bool for booleans, object (str or None) for text."""

    name: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @classmethod
    def empty(cls, name: str) -> Table:
        return cls.from_rows(name, [])

    @classmethod
    def from_rows(cls, name: str, rows: Sequence[dict[str, Any]]) -> Table:
        return cls(name, {column: _array(column, [row.get(column) for row in rows]) for column in COLUMNS[name]})

    def append(self, other: Table) -> Table:
        return Table(self.name, {c: np.concatenate([v, other.columns[c]]) for c, v in self.columns.items()})


def _array(column: str, values: list[Any]) -> np.ndarray:
    if column == "granted":
        return np.array(values, dtype=bool)
    if column in INT_COLUMNS or column.endswith("_at"):
        return np.array([NULL if v is None else v for v in values], dtype=np.int64)
    return np.array(values, dtype=object)


def by_time(name: str, key: str, columns: dict[str, np.ndarray], ts_column: str = "created_at") -> Table:
    """Rows in time order (ties by user), numbered 1.. in that order, as ids grow in a live system."""
    order = np.lexsort((columns["user_id"], columns[ts_column]))
    ordered = {column: values[order] for column, values in columns.items()}
    ordered[key] = np.arange(1, len(order) + 1, dtype=np.int64)
    return Table(name, {column: ordered[column] for column in COLUMNS[name]})
