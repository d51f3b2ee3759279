"""Verifying the audit ledger against its anchors, and the gate every deleting workflow passes.

- `ledger_state`: verify the chain and its signatures against every anchor in the reports
  bucket; when intact, anchor the verified head in turn. Reports carry the result.
- `require_intact_ledger`: a deleting workflow does not start while the ledger fails
  verification, unless an operator overrides it with a reason, which the ledger records.
- `verification_report`: the nightly verification workflow's report document, which names the
  anchored heads it checked the chain against and the reports that recorded each of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from governance import ledger, settings
from governance.db import sql_text
from governance.errors import PermanentError
from governance.keys import ledger_key
from governance.ledger_anchors import Anchors, read_anchors, write_anchor
from governance.reports import counted, readable_time

if TYPE_CHECKING:
    import psycopg

WORKFLOW = "audit_ledger_verification"
MIN_OVERRIDE_REASON = 10  # characters: a reason an auditor can read, not "ok"


class LedgerBroken(PermanentError):
    """The audit ledger fails verification; no deleting workflow starts until that is explained."""


def ledger_state(conn: psycopg.Connection, s3: Any, *, workflow: str, run_id: str) -> dict[str, Any]:
    """Verify the whole chain (signatures included) against every anchor; anchor the head when intact."""
    return _verify_and_anchor(conn, s3, workflow=workflow, run_id=run_id)[0]


def _verify_and_anchor(conn: psycopg.Connection, s3: Any, *, workflow: str,
                       run_id: str) -> tuple[dict[str, Any], Anchors]:
    """ledger_state, and the anchors it checked the chain against."""
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
    return state, anchors


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


def checked_against(conn: psycopg.Connection, anchors: Anchors) -> list[dict[str, Any]]:
    """Each anchored head the chain was checked against, newest first: when it was anchored, and the indexed
    reports that recorded the same head (the runs that verified the ledger and anchored it), with when each
    was written. An anchor whose reports are gone, or that no report recorded, lists none."""
    recorded: dict[tuple[int, str], list[dict[str, Any]]] = {}
    rows = conn.execute(sql_text("reports/recorded_heads.sql"), {"seqs": sorted({seq for seq, _ in anchors.pairs})})
    for report_id, workflow, run_id, object_key, created_at, head_seq, head_hash in rows:
        recorded.setdefault((head_seq, head_hash), []).append(
            {"report_id": report_id, "workflow": workflow, "run_id": run_id, "object_key": object_key,
             "created_at": created_at})
    return [{"seq": seq, "hash": digest, "anchored_at": anchors.written_at.get((seq, digest)),
             "reports": recorded.get((seq, digest), [])} for seq, digest in sorted(anchors.pairs, reverse=True)]


def verification_summary(document: dict[str, Any]) -> str:
    """Two or three sentences: what was checked, what it found, and what that means."""
    heads = document["checked_against"]
    reports = {report["report_id"] for head in heads for report in head["reports"]}
    checked = f"The audit ledger was checked at {readable_time(document['generated_at'])}"
    if document["status"] != "ok":
        against = f" It was compared with {counted(len(heads), 'verified head')} kept outside the database." \
            if heads else ""
        return (f"{checked} and found broken at entry #{document['first_broken_seq']}: {document['reason']}."
                f"{against} No workflow that deletes data will run until someone explains this in writing.")
    head = document["head"]
    upto = f" up to entry #{head['seq']:,}" if head["seq"] is not None else ""
    signed = "each with its signature" if document["signatures_checked"] else "signatures not checked (no key)"
    intact = f"{checked} and found intact: {counted(document['entries_checked'], 'entry', 'entries')}{upto}, {signed}."
    if not heads:
        keeps = "; this check keeps one now, for the next" if document["anchor_written"] else ""
        return f"{intact} No verified head was kept outside the database yet to compare it with{keeps}."
    recorded_by = f"recorded by {counted(len(reports), 'report')} listed below" if reports else \
        "which no indexed report records"
    return (f"{intact} It matched {counted(len(heads), 'verified head')} kept outside the database, {recorded_by}: "
            "no entry was changed, none was added without the key, and none of the anchored entries was removed.")


def verification_report(conn: psycopg.Connection, s3: Any, run_id: str) -> dict[str, Any]:
    """The verification workflow's report document."""
    state, anchors = _verify_and_anchor(conn, s3, workflow=WORKFLOW, run_id=run_id)
    document = {
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
        "checked_against": checked_against(conn, anchors),
        "signatures_checked": state["signatures_checked"],
        "foreign_objects_under_anchor_prefix": state["foreign_objects_under_anchor_prefix"],
        "first_broken_seq": state["first_broken_seq"],
        "reason": state["reason"],
    }
    document["summary"] = verification_summary(document)
    return document
