"""Legal holds, placed and released by a person (the Governance view), each change in the ledger.

A person under an active hold is exempt from every rule of every workflow. A hold is placed or
released between purge batches, never during one, and with its ledger entry in the same
transaction: a hold that is not in the ledger does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from governance import ledger
from governance.db import sql_text
from governance.errors import PermanentError

if TYPE_CHECKING:
    import psycopg

WORKFLOW = "governance_view"
MAX_TEXT = 500


class HoldRefused(PermanentError, ValueError):
    """A hold change that is not valid: the message names the field and why. Nothing was changed."""

    def __init__(self, field: str, reason: str, *, status: int = 422):
        self.field, self.status = field, status
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class Hold:
    hold_id: int
    user_id: int
    reason: str
    reference: str | None
    placed_by: str
    placed_at: datetime
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None


def _text(field: str, value: Any, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise HoldRefused(field, "must not be empty")
        return None
    if not isinstance(value, str):
        raise HoldRefused(field, "must be text")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise HoldRefused(field, f"is longer than {MAX_TEXT} characters")
    return value


def _user_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HoldRefused("user_id", "must be a positive whole number (the account's user id)")
    return value


def place_hold(conn: psycopg.Connection, *, user_id: Any, reason: Any, reference: Any, placed_by: str) -> Hold:
    """Place a hold on an existing account, with a ledger entry (hold id, reference, who); committed."""
    user_id, reason = _user_id(user_id), _text("reason", reason)
    reference = _text("reference", reference)
    with conn.transaction():
        conn.execute(sql_text("holds/lock.sql"))
        if not conn.execute(sql_text("holds/subject_exists.sql"), {"user_id": user_id}).fetchone()[0]:
            raise HoldRefused("user_id", f"no account has user id {user_id}", status=404)
        hold_id, placed_at = conn.execute(sql_text("holds/place.sql"), {
            "user_id": user_id, "reason": reason, "reference": reference, "placed_by": placed_by}).fetchone()
        ledger.append(conn, ledger.LedgerEntry(
            workflow=WORKFLOW, action="legal_hold_placed", target_table="governance.legal_holds",
            counts={"holds_placed": 1}, details={"hold_id": hold_id, "reference": reference, "by": placed_by}))
    return Hold(hold_id, user_id, reason, reference, placed_by, placed_at, None, None, None)


def release_hold(conn: psycopg.Connection, *, hold_id: Any, reason: Any, reference: Any, released_by: str) -> int:
    """Release an active hold, with a ledger entry; committed. Returns the held user id."""
    if isinstance(hold_id, bool) or not isinstance(hold_id, int) or hold_id < 1:
        raise HoldRefused("hold_id", "must be a positive whole number")
    reason, reference = _text("reason", reason), _text("reference", reference)
    with conn.transaction():
        conn.execute(sql_text("holds/lock.sql"))
        row = conn.execute(sql_text("holds/release.sql"), {"hold_id": hold_id, "reason": reason,
                                                          "released_by": released_by}).fetchone()
        if row is None:
            raise HoldRefused("hold_id", f"no active hold has id {hold_id}", status=404)
        ledger.append(conn, ledger.LedgerEntry(
            workflow=WORKFLOW, action="legal_hold_released", target_table="governance.legal_holds",
            counts={"holds_released": 1}, details={"hold_id": hold_id, "reference": reference, "by": released_by}))
    return row[0]


def holds(conn: psycopg.Connection, limit: int = 500) -> list[Hold]:
    """The holds, active ones first."""
    return [Hold(*row) for row in conn.execute(sql_text("holds/list.sql"), {"limit": limit})]
