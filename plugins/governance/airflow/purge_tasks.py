"""The retention_purge DAG's task bodies: Airflow context in, plain library calls out.

Only small dicts of names and counts cross XCom; connections are opened inside each task.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from governance import settings
from governance.airflow.connections import app_database, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.forms import value_or_default
from governance.airflow.outcomes import planned_or_skip, report_summary, run_record
from governance.airflow.runs import InvalidRunParameters, dry_run, run_conf, run_cutoff, run_type
from governance.ledger_audit import require_intact_ledger
from governance.lifecycle import COUNTERS
from governance.policy import MAX_BATCH_SIZE, RetentionPolicy, load_retention_policy
from governance.purge import WORKFLOW, PurgeSettings, purge_rule
from governance.purge_report import build_purge_report
from governance.reports import publish_document, report_prefix

log = logging.getLogger(__name__)

def _positive_int(name: str, value: Any, upper: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or (upper and value > upper):
        raise InvalidRunParameters(f"{name}: {value!r} must be an integer from 1{f' to {upper}' if upper else ''}")
    return value


def resolve_parameters(policy: RetentionPolicy, params: Mapping[str, Any], *, conf: Mapping[str, Any],
                       kind: str) -> dict[str, Any]:
    """Check the form's fields. An explicit dry_run is always honoured; without one, scheduled
    runs purge and every other run previews (runs.dry_run)."""
    available = [rule.name for rule in policy.rules_for(WORKFLOW)]
    chosen = params.get("rules") or available
    if not isinstance(chosen, list) or not all(isinstance(name, str) for name in chosen):
        raise InvalidRunParameters(f"rules: {chosen!r} must be a list of rule names; choose from {available}")
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        raise InvalidRunParameters(f"rules: unknown {unknown}; choose from {available}")
    reason = params.get("ledger_override_reason") or ""
    if not isinstance(reason, str):
        raise InvalidRunParameters(f"ledger_override_reason: {reason!r} must be text")
    return {
        "rules": [name for name in available if name in chosen],
        "batch_size": _positive_int("batch_size", value_or_default(params, "batch_size", policy.defaults.batch_size),
                                    MAX_BATCH_SIZE),
        "max_rows_per_rule": _positive_int("max_rows_per_rule", value_or_default(params, "max_rows_per_rule",
                                                                                 policy.defaults.max_rows_per_rule)),
        "dry_run": dry_run(kind, conf, value_or_default(params, "dry_run", True)),
        "ledger_override_reason": reason.strip(),
    }


def plan_purge(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One item per rule to run, each carrying the run's cutoff and settings.

    Refuses at once, before anything is read or deleted: an unknown or out-of-range field, a
    run dated in the future, and, for a real purge, a ledger that fails verification (unless
    ledger_override_reason says why to go on; the ledger records it)."""
    with task_errors(WORKFLOW, "plan"):
        policy = load_retention_policy()
        conf = run_conf(context, context["dag"].params)  # declared fields only: conf keys join "params"
        resolved = resolve_parameters(policy.model, context["params"], conf=conf, kind=run_type(context))
        cutoff = run_cutoff(context)
        run_id = context["run_id"]
        override = None
        if not resolved["dry_run"]:
            with app_database() as conn:
                gate = require_intact_ledger(conn, s3_client(), workflow=WORKFLOW, run_id=run_id,
                                             override_reason=resolved["ledger_override_reason"])
            override = gate.get("override_reason")
        log.info("plan: %s %d rule(s) (%s) with cutoff %s UTC, batch_size %d, max_rows_per_rule %d%s",
                 "preview of" if resolved["dry_run"] else "purge of", len(resolved["rules"]),
                 ", ".join(resolved["rules"]), f"{cutoff:%Y-%m-%d %H:%M:%S}", resolved["batch_size"],
                 resolved["max_rows_per_rule"], "; ledger check overridden" if override else "")
        return [
            {
                "rule": name,
                "run_id": run_id,
                "run_cutoff": cutoff.isoformat(),
                "dry_run": resolved["dry_run"],
                "batch_size": resolved["batch_size"],
                "max_rows_per_rule": resolved["max_rows_per_rule"],
                "ledger_override_reason": override,
            }
            for name in resolved["rules"]
        ]


def run_rule(item: Mapping[str, Any]) -> dict[str, Any]:
    """Run (or preview) one rule against the Airflow connections; returns its counts."""
    with task_errors(f"{WORKFLOW} rule {item['rule']!r}", "run"):
        settings_ = PurgeSettings(
            run_id=item["run_id"],
            run_cutoff=datetime.fromisoformat(item["run_cutoff"]),
            dry_run=item["dry_run"],
            batch_size=item["batch_size"],
            max_rows_per_rule=item["max_rows_per_rule"],
            media_bucket=settings.media_bucket(),
        )
        with app_database() as conn:
            outcome = purge_rule(conn, s3_client(), policy=load_retention_policy(), rule=item["rule"],
                                 settings=settings_)
        counts = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in outcome.counts.nonzero().items())
        log.info("rule %s: %s; due %d, held %d; %s; %d batches, longest %.0f ms", outcome.rule,
                 outcome.state.replace("_", " "), outcome.eligible, outcome.held, counts or "nothing removed",
                 outcome.batches, outcome.longest_batch_ms)
        return outcome.as_dict()


def write_report(planned: list[dict[str, Any]] | None, context: Mapping[str, Any]) -> dict[str, Any]:
    """Publish the run's JSON and HTML report and return a small summary for the verdict."""
    planned = planned_or_skip(planned)
    with task_errors(WORKFLOW, "report"):
        policy = load_retention_policy()
        s3 = s3_client()
        with app_database() as conn:
            run = run_record(conn, s3, planned, context, workflow=WORKFLOW, task_id="purge")
            override = planned[0].get("ledger_override_reason") if planned else None
            document = build_purge_report(
                policy=policy, run_id=run.run_id, run_type=run_type(context), run_cutoff=run.cutoff,
                dry_run=run.dry_run, planned_rules=[item["rule"] for item in planned], outcomes=run.outcomes,
                recorded=run.recorded, ledger_state={**run.ledger_state, "override_reason": override},
                partitions_dropped=run.partitions_dropped,
            )
            keys = publish_purge_report(conn, s3, document, run.run_id, run.cutoff)
        log.info("report: %s; %s", document["status"],
                 ", ".join(f"{name.replace('_', ' ')} {document['totals'][name]}" for name in COUNTERS
                           if document["totals"][name]) or "nothing removed")
    return report_summary(document, run.dry_run, keys)


def publish_purge_report(conn, s3, document: dict[str, Any], run_id: str, cutoff: datetime) -> list[str]:
    summary = {"status": document["status"], "totals": document["totals"], "dry_run": document["dry_run"],
               "ledger_head": document["ledger"]["head"]}
    return publish_document(
        conn, s3, workflow=WORKFLOW, run_id=run_id, report_type=document["report"],
        prefix=report_prefix(WORKFLOW, cutoff.date(), run_id), document=document,
        template="purge_report.html.j2", summary=summary, period_end=cutoff,
    )
