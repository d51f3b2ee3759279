"""The data_quality_checks DAG's task bodies: which scan tonight, one suite per mapped task, the report.

Only small dicts of names, counts and keys cross XCom; connections are opened inside each task.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from governance.airflow.connections import app_database, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.forms import value_or_default
from governance.airflow.runs import InvalidRunParameters, run_cutoff
from governance.quality import SUITES
from governance.reports import publish, publish_document, report_prefix

log = logging.getLogger(__name__)

WORKFLOW = "data_quality_checks"
FULL_SCAN_WEEKDAY = 6  # Sunday (UTC): the weekly run reads every row, not only the new ones


def docs_prefix(cutoff: datetime, run_id: str, suite: str) -> str:
    """Where a suite's GX Data Docs go in the reports bucket."""
    return f"{report_prefix(WORKFLOW, cutoff.date(), run_id)}/data_docs/{suite}"


def plan_checks(context: Mapping[str, Any]) -> dict[str, Any]:
    """Tonight's scan: full when the form asks for it or on the weekly day, else incremental."""
    from governance.quality import load_suite

    asked = value_or_default(context["params"], "full_scan", False)
    if not isinstance(asked, bool):
        raise InvalidRunParameters(f"full_scan: {asked!r} must be true or false")
    cutoff = run_cutoff(context)
    weekly = cutoff.weekday() == FULL_SCAN_WEEKDAY
    for suite in SUITES:
        load_suite(suite)  # a bad suite file fails here, naming the file and the field, before anything runs
    why = "asked for in the form" if asked else "the weekly full scan" if weekly else None
    log.info("data-quality checks at cutoff %s: %s", cutoff.isoformat(),
             f"full scan ({why})" if why else "incremental: only rows new since the last successful run")
    return {"run_cutoff": cutoff.isoformat(), "full_scan": bool(why), "why": why or "incremental night",
            "suites": list(SUITES)}


def run_suite(suite: str, plan: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one suite; fail the task, naming each failed check, when it found anything."""
    from governance import settings
    from governance.data_map import load_data_map
    from governance.policy import load_retention_policy
    from governance.quality import DataQualityFailed, SuiteRun, load_canaries, load_suite

    run_id = context["run_id"]
    cutoff = datetime.fromisoformat(plan["run_cutoff"])
    prefix = docs_prefix(cutoff, run_id, suite)
    with task_errors(f"suite {suite}", "validate"), app_database() as conn:
        s3 = s3_client()
        retention = load_retention_policy()

        def publish_docs(pages: list[tuple[str, bytes]]) -> list[str]:
            keys = []
            for relative, body in pages:
                key = f"{prefix}/{relative}"
                publish(conn, s3, workflow=WORKFLOW, run_id=run_id,
                        report_type="data_docs" if relative == "index.html" else "data_docs_page",
                        object_key=key, body=body, summary={"suite": suite})
                keys.append(key)
            return keys

        outcome = SuiteRun(app_database, conn, retention, load_data_map(retention=retention).model, load_suite(suite),
                           run_id, cutoff, bool(plan["full_scan"]), s3=s3, media_bucket=settings.media_bucket(),
                           canaries=load_canaries(), publish_docs=publish_docs).run()
        if outcome.failed:
            raise DataQualityFailed(outcome.failure_message())
    return outcome.as_dict()


def write_report(plan: Mapping[str, Any] | None, context: Mapping[str, Any]) -> dict[str, Any]:
    """The run's report from governance.dq_results: every check, what it proves, and what failed."""
    from governance.airflow.outcomes import planned_or_skip
    from governance.quality import load_suite, results_of_run, scope_words
    from governance.quality_report import quality_summary

    planned_or_skip([plan] if plan else None)
    run_id = context["run_id"]
    cutoff = datetime.fromisoformat(plan["run_cutoff"])
    with task_errors("data-quality report", "report"), app_database() as conn:
        s3 = s3_client()
        results = list(results_of_run(conn, run_id))
        suites = []
        for name in plan["suites"]:
            suite = load_suite(name)
            rows = [row for row in results if row["suite"] == name]
            explain = {e.check: e.explain for e in suite.expectations}
            suites.append({
                "suite": name, "promise": suite.meta.get("promise"), "about": suite.meta.get("about"),
                "suite_sha256": suite.sha256, "ran": bool(rows), "checks": len(rows),
                "failed": sum(not row["success"] for row in rows),
                "results": [{**row, "explain": explain.get(row["check_name"], ""), "read": scope_words(row["scope"])}
                            for row in rows],
            })
        failed = sum(s["failed"] for s in suites)
        not_run = [s["suite"] for s in suites if not s["ran"]]
        document = {
            "workflow": WORKFLOW, "run_id": run_id, "run_cutoff": cutoff, "full_scan": plan["full_scan"],
            "scan": plan["why"], "status": "failed" if failed or not_run else "passed",
            "checks": sum(s["checks"] for s in suites), "failed_checks": failed, "suites_not_run": not_run,
            "suites": suites,
            "data_docs": [f"{docs_prefix(cutoff, run_id, s['suite'])}/index.html" for s in suites if s["ran"]],
        }
        document["summary"] = quality_summary(document)
        keys = publish_document(conn, s3, workflow=WORKFLOW, run_id=run_id, report_type="data_quality",
                                prefix=report_prefix(WORKFLOW, cutoff.date(), run_id), document=document,
                                template="data_quality_report.html.j2",
                                summary={"status": document["status"], "failed_checks": failed,
                                         "full_scan": plan["full_scan"]})
    log.info("data-quality report: %s, %d of %d checks failed%s; %s", document["status"], failed,
             document["checks"], f"; suites that did not run: {', '.join(not_run)}" if not_run else "", keys[-1])
    return {"status": document["status"], "failed_checks": failed, "suites_not_run": not_run, "reports": keys}


def verdict(summary: Mapping[str, Any] | None) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    if summary is None:
        raise AirflowFailException("the report did not complete; its log says why")
    if summary["status"] != "passed":
        not_run = summary["suites_not_run"]
        raise AirflowFailException(
            f"{summary['failed_checks']} data-quality check(s) failed"
            f"{'; suites that did not run: ' + ', '.join(not_run) if not_run else ''}"
            f". The failed suite tasks' logs name each check; the report: {summary['reports'][-1]}")


def remediate_findings(context: Mapping[str, Any]) -> dict[str, Any]:
    """Act on each finding of the form; publish what was done (or, in a dry run, would be)."""
    from governance.data_map import load_data_map
    from governance.policy import load_retention_policy
    from governance.quality_remediation import WORKFLOW as REMEDIATION
    from governance.quality_remediation import remediate, remediation_report

    params = context["params"]
    ids = params.get("result_ids") or []
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0
                                                       for i in ids):
        raise InvalidRunParameters(f"result_ids: {ids!r} must be a non-empty list of finding ids (result_id in "
                                   "governance.dq_results, named in the failed task's log and the report)")
    dry = value_or_default(params, "dry_run", True)
    if not isinstance(dry, bool):
        raise InvalidRunParameters(f"dry_run: {dry!r} must be true or false")
    run_id = context["run_id"]
    cutoff = run_cutoff(context)
    with task_errors("data-quality remediation", "remediate"), app_database() as conn:
        data_map = load_data_map(retention=load_retention_policy()).model
        done = [remediate(conn, data_map, result_id, dry_run=dry, run_id=run_id) for result_id in sorted(set(ids))]
        for item in done:
            log.info("finding %d (%s, %s): %s%s, %d row(s): %s", item.result_id, item.suite, item.target,
                     "would be " if dry and item.action == "hashed_in_place" else "", item.action, item.rows, item.why)
        document = remediation_report(run_id=run_id, dry_run=dry, done=done)
        keys = publish_document(conn, s3_client(), workflow=REMEDIATION, run_id=run_id,
                                report_type="data_quality_remediation",
                                prefix=report_prefix(REMEDIATION, cutoff.date(), run_id), document=document,
                                template="data_quality_remediation.html.j2",
                                summary={"dry_run": dry, "findings": len(done), "rows_hashed": document["rows_hashed"]})
    return {"dry_run": dry, "findings": [item.as_dict() for item in done], "reports": keys}
