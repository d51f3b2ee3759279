"""Nightly verification of the audit ledger, anchored on the heads earlier reports recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from governance import ledger
from governance.db import sql_text

if TYPE_CHECKING:
    import psycopg

WORKFLOW = "audit_ledger_verification"


def recorded_anchors(conn: psycopg.Connection) -> list[tuple[int, str]]:
    """Every ledger head (seq, hash) that a published report recorded."""
    return [(seq, entry_hash) for seq, entry_hash in conn.execute(sql_text("reports/ledger_anchors.sql"))]


def ledger_head(result: ledger.VerificationResult) -> dict[str, Any] | None:
    """The head to record in a report's summary, only when the chain verified."""
    if not result.ok or result.head_seq is None:
        return None
    return {"seq": result.head_seq, "hash": result.head_hash}


def verify_against_anchors(conn: psycopg.Connection) -> tuple[ledger.VerificationResult, int]:
    """Verify the whole chain against every recorded anchor; the result and how many anchors there were."""
    anchors = recorded_anchors(conn)
    return ledger.verify(conn, anchors=anchors), len(anchors)


def ledger_state(conn: psycopg.Connection) -> dict[str, Any]:
    """The ledger's state for a workflow's report; its head becomes an anchor in turn."""
    result, _ = verify_against_anchors(conn)
    return {
        "chain_ok": result.ok,
        "entries": result.entries_checked,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "reason": result.reason,
        "head": ledger_head(result),
    }


def verify_with_anchors(conn: psycopg.Connection, run_id: str) -> dict:
    """The verification workflow's report document."""
    result, anchors_checked = verify_against_anchors(conn)
    return {
        "report": WORKFLOW,
        "generated_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "status": "ok" if result.ok else "failed",
        "entries_checked": result.entries_checked,
        "head": {"seq": result.head_seq, "hash": result.head_hash},
        "ledger_head": ledger_head(result),
        "anchors_checked": anchors_checked,
        "first_broken_seq": result.first_broken_seq,
        "reason": result.reason,
    }
