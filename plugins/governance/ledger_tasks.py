"""The audit_ledger_verification DAG's task body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.ledger_audit import WORKFLOW, verify_with_anchors
from governance.reports import publish_document, report_prefix
from governance.runs import run_cutoff


def verify_and_report(context: Mapping[str, Any]) -> dict[str, Any]:
    """Verify the ledger, publish the report, and fail the task when the chain is broken."""
    from airflow.sdk.exceptions import AirflowFailException

    from governance.db import connect_airflow
    from governance.storage import client_from_airflow

    run_id = context["run_id"]
    prefix = report_prefix(WORKFLOW, run_cutoff(context).date(), run_id)
    with connect_airflow() as conn:
        document = verify_with_anchors(conn, run_id)
        summary = {"status": document["status"], "ledger_head": document["ledger_head"], "reason": document["reason"]}
        publish_document(
            conn, client_from_airflow(), workflow=WORKFLOW, run_id=run_id, report_type=WORKFLOW, prefix=prefix,
            document=document, template="ledger_verification.html.j2", summary=summary,
        )
    if document["status"] != "ok":
        raise AirflowFailException(
            f"audit ledger broken at seq {document['first_broken_seq']}: {document['reason']}"
        )
    return {"status": document["status"], "entries_checked": document["entries_checked"],
            "head": document["ledger_head"]}
