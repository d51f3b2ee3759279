"""The audit_ledger_verification DAG's task bodies."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from governance.airflow.connections import app_database, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.runs import run_cutoff
from governance.ledger_audit import WORKFLOW, verification_report
from governance.reports import publish_document, report_prefix

log = logging.getLogger(__name__)


def check_policy_files() -> dict[str, Any]:
    """Load and validate every policy file. A DAG that parses them at import time vanishes from the
    UI when one is broken; this task parses none at import time, so it fails loudly instead."""
    from governance.policy import load_retention_policy
    from governance.register import load_jurisdictions, load_transfer_register

    with task_errors(WORKFLOW, "check policy files"):
        files = {}
        for load in (load_retention_policy, load_transfer_register, load_jurisdictions):
            loaded = load()
            files[loaded.path.name] = loaded.sha256
            log.info("policy file %s is valid (SHA-256 %s)", loaded.path.name, loaded.sha256)
        return files


def verify_and_report(context: Mapping[str, Any]) -> dict[str, Any]:
    """Verify the ledger against its anchors, publish the report, and fail the task when the chain is broken."""
    from airflow.sdk.exceptions import AirflowFailException

    run_id = context["run_id"]
    with task_errors(WORKFLOW, "verify"):
        prefix = report_prefix(WORKFLOW, run_cutoff(context).date(), run_id)
        s3 = s3_client()
        with app_database() as conn:
            document = verification_report(conn, s3, run_id)
            summary = {"status": document["status"], "ledger_head": document["ledger_head"],
                       "reason": document["reason"]}
            publish_document(
                conn, s3, workflow=WORKFLOW, run_id=run_id, report_type=WORKFLOW, prefix=prefix,
                document=document, template="ledger_verification.html.j2", summary=summary,
            )
    log.info("ledger: %s; %d entries checked against %d anchors", document["status"], document["entries_checked"],
             document["anchors_checked"])
    if document["status"] != "ok":
        raise AirflowFailException(
            f"audit ledger broken at seq {document['first_broken_seq']}: {document['reason']}"
        )
    return {"status": document["status"], "entries_checked": document["entries_checked"],
            "head": document["ledger_head"]}
