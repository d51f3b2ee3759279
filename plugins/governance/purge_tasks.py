"""The retention_purge DAG's task bodies: Airflow context in, plain library calls out.

Only small dicts of keys and counts cross XCom; connections are opened inside each task.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from governance import settings
from governance.ledger_audit import ledger_state
from governance.policy import RetentionPolicy, load_retention_policy
from governance.purge import WORKFLOW, PurgeSettings, purge_rule, run_outcomes
from governance.purge_report import build_purge_report
from governance.reports import publish_document, report_prefix
from governance.runs import run_cutoff, run_type


class InvalidRunParameters(ValueError):
    """A form field is out of range or names a rule that does not exist."""


def resolve_parameters(policy: RetentionPolicy, params: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Check the form's fields; scheduled and backfill runs always purge (dry_run only applies by hand)."""
    available = [rule.name for rule in policy.rules_for(WORKFLOW)]
    chosen = list(params.get("rules") or available)
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise InvalidRunParameters(f"rules: unknown {unknown}; choose from {available}")
    resolved = {
        "rules": [name for name in available if name in chosen],
        "batch_size": params.get("batch_size", policy.defaults.batch_size),
        "max_rows_per_rule": params.get("max_rows_per_rule", policy.defaults.max_rows_per_rule),
        "dry_run": bool(params.get("dry_run", False)) if kind == "manual" else False,
    }
    for name, upper in (("batch_size", 100_000), ("max_rows_per_rule", None)):
        value = resolved[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1 or (upper and value > upper):
            raise InvalidRunParameters(f"{name}: {value!r} must be an integer from 1{f' to {upper}' if upper else ''}")
    return resolved


def plan_purge(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One item per rule to run, each carrying the run's cutoff and settings."""
    policy = load_retention_policy()
    resolved = resolve_parameters(policy.model, context["params"], run_type(context))
    cutoff = run_cutoff(context)
    run_id = context["run_id"]
    return [
        {
            "rule": name,
            "run_id": run_id,
            "run_cutoff": cutoff.isoformat(),
            "dry_run": resolved["dry_run"],
            "batch_size": resolved["batch_size"],
            "max_rows_per_rule": resolved["max_rows_per_rule"],
        }
        for name in resolved["rules"]
    ]


def run_rule(item: Mapping[str, Any]) -> dict[str, Any]:
    """Run (or preview) one rule against the Airflow connections; returns its counts."""
    from governance.db import connect_airflow
    from governance.storage import client_from_airflow

    run = PurgeSettings(
        run_id=item["run_id"],
        run_cutoff=datetime.fromisoformat(item["run_cutoff"]),
        dry_run=item["dry_run"],
        batch_size=item["batch_size"],
        max_rows_per_rule=item["max_rows_per_rule"],
        media_bucket=settings.media_bucket(),
    )
    with connect_airflow() as conn:
        return purge_rule(conn, client_from_airflow(), load_retention_policy(), item["rule"], run).as_dict()


def write_report(planned: list[dict[str, Any]], context: Mapping[str, Any]) -> dict[str, Any]:
    """Publish the run's JSON and HTML report and return a small summary for the verdict."""
    from governance.db import connect_airflow
    from governance.storage import client_from_airflow

    policy = load_retention_policy()
    run_id = context["run_id"]
    pulled = context["ti"].xcom_pull(task_ids="purge", map_indexes=range(len(planned)), default=None) or []
    outcomes = [outcome for outcome in pulled if outcome]
    dry_run = bool(planned and planned[0]["dry_run"])
    cutoff = run_cutoff(context)
    with connect_airflow() as conn:
        recorded = [] if dry_run else run_outcomes(conn, run_id)
        document = build_purge_report(
            policy=policy, run_id=run_id, run_type=run_type(context), run_cutoff=cutoff, dry_run=dry_run,
            planned_rules=[item["rule"] for item in planned], outcomes=outcomes, recorded=recorded,
            ledger_state=ledger_state(conn),
        )
        keys = publish_purge_report(conn, client_from_airflow(), document, run_id, cutoff)
    return {
        "status": document["status"],
        "rules": [{"rule": r["rule"], "status": r["status"], "error": r["error"]} for r in document["rules"]],
        "reports": keys,
    }


def publish_purge_report(conn, s3, document: dict[str, Any], run_id: str, cutoff: datetime) -> list[str]:
    summary = {"status": document["status"], "totals": document["totals"], "dry_run": document["dry_run"],
               "ledger_head": document["ledger"]["head"]}
    return publish_document(
        conn, s3, workflow=WORKFLOW, run_id=run_id, report_type=document["report"],
        prefix=report_prefix(WORKFLOW, cutoff.date(), run_id), document=document,
        template="purge_report.html.j2", summary=summary, period_end=cutoff,
    )
