"""Verifying the audit ledger against its anchors, and the gate every deleting workflow passes.

- `ledger_state`: verify the chain and its signatures against every anchor in the reports
  bucket; when intact, anchor the verified head in turn. Reports carry the result.
- `require_intact_ledger`: a deleting workflow does not start while the ledger fails
  verification, unless an operator overrides it with a reason, which the ledger records.
- `verification_report`: the nightly verification workflow's report document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from governance import ledger, settings
from governance.errors import PermanentError
from governance.keys import ledger_key
from governance.ledger_anchors import read_anchors, write_anchor

if TYPE_CHECKING:
    import psycopg

WORKFLOW = "audit_ledger_verification"
MIN_OVERRIDE_REASON = 10  # characters: a reason an auditor can read, not "ok"


class LedgerBroken(PermanentError):
    """The audit ledger fails verification; no deleting workflow starts until that is explained."""


def ledger_state(conn: psycopg.Connection, s3: Any, *, workflow: str, run_id: str) -> dict[str, Any]:
    """Verify the whole chain (signatures included) against every anchor; anchor the head when intact."""
    bucket = settings.reports_bucket()
    anchors = read_anchors(s3, bucket)
    result = ledger.verify(conn, anchors=anchors.pairs, key=ledger_key(), signed_from=anchors.signed_from)
    state: dict[str, Any] = {
        "chain_ok": result.ok,
        "entries": result.entries_checked,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "first_broken_seq": result.first_broken_seq,
        "reason": result.reason,
        "signatures_checked": result.signatures_checked,
        "anchors_checked": len(anchors.pairs),
        "anchor_bucket": bucket,
        "foreign_objects_under_anchor_prefix": len(anchors.unreadable),
        "head": None,
        "anchor": None,
    }
    if result.ok and result.head_seq is not None:
        state["head"] = {"seq": result.head_seq, "hash": result.head_hash}
        state["anchor"] = write_anchor(s3, bucket, seq=result.head_seq, entry_hash=result.head_hash,
                                       signed_from=result.first_signed_seq, verified_at=datetime.now(UTC),
                                       workflow=workflow, run_id=run_id)
    return state


def require_intact_ledger(conn: psycopg.Connection, s3: Any, *, workflow: str, run_id: str,
                          override_reason: str | None = None) -> dict[str, Any]:
    """The ledger's state; raises LedgerBroken when it fails verification and nobody overrode that.

    An override needs a reason of at least MIN_OVERRIDE_REASON characters; it is appended to
    the ledger as `ledger_override`, with the failure it overrides, before anything is deleted.
    """
    state = ledger_state(conn, s3, workflow=workflow, run_id=run_id)
    if state["chain_ok"]:
        return state
    failure = f"the audit ledger fails verification at seq {state['first_broken_seq']}: {state['reason']}"
    reason = (override_reason or "").strip()
    if not reason:
        raise LedgerBroken(f"{failure}. {workflow} will not delete anything until this is explained; to run "
                           "anyway, give ledger_override_reason (it is recorded in the ledger)")
    if len(reason) < MIN_OVERRIDE_REASON:
        raise LedgerBroken(f"{failure}. ledger_override_reason must say why, in at least {MIN_OVERRIDE_REASON} "
                           "characters")
    ledger.append(conn, ledger.LedgerEntry(
        workflow=workflow, action="ledger_override", run_id=run_id,
        details={"reason": reason, "first_broken_seq": state["first_broken_seq"], "failure": state["reason"]},
    ))
    return {**state, "override_reason": reason}


def verification_report(conn: psycopg.Connection, s3: Any, run_id: str) -> dict[str, Any]:
    """The verification workflow's report document."""
    state = ledger_state(conn, s3, workflow=WORKFLOW, run_id=run_id)
    return {
        "report": WORKFLOW,
        "generated_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "status": "ok" if state["chain_ok"] else "failed",
        "entries_checked": state["entries"],
        "head": {"seq": state["head_seq"], "hash": state["head_hash"]},
        "ledger_head": state["head"],
        "anchors_checked": state["anchors_checked"],
        "anchor_bucket": state["anchor_bucket"],
        "anchor_written": state["anchor"],
        "signatures_checked": state["signatures_checked"],
        "foreign_objects_under_anchor_prefix": state["foreign_objects_under_anchor_prefix"],
        "first_broken_seq": state["first_broken_seq"],
        "reason": state["reason"],
    }
