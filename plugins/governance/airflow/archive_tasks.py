"""The moderation_log_archival DAG's task bodies: Airflow context in, plain library calls out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from governance import settings
from governance.airflow.connections import app_database, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.forms import value_or_default
from governance.airflow.outcomes import planned_or_skip, report_summary, run_record
from governance.airflow.runs import InvalidRunParameters, dry_run, run_conf, run_cutoff, run_started, run_type
from governance.archive import ArchiveSettings, archive_rule, due_by_month, write_run_manifest
from governance.archive_report import build_archival_report
from governance.ledger_audit import require_intact_ledger
from governance.policy import MAX_BATCH_SIZE, RetentionPolicy, RetentionRule, load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.reports import publish_document, report_prefix

log = logging.getLogger(__name__)

WORKFLOW = "moderation_log_archival"
START = datetime(2000, 1, 1, tzinfo=UTC)  # periods are compared by how far they reach from one instant


def resolve_parameters(policy: RetentionPolicy, params: Mapping[str, Any], *, conf: Mapping[str, Any], kind: str,
                       run_cutoff_: datetime, started: datetime) -> dict[str, Any]:
    """The form's fields, checked. `cutoff` replaces the run's cutoff; it may not lie after the moment the
    run started, which would delete or archive events younger than their 90 days."""
    cutoff = run_cutoff_
    text = params.get("cutoff")
    if text:
        try:
            cutoff = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRunParameters(f"cutoff: {text!r} is not an ISO 8601 date and time") from None
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
        cutoff = cutoff.astimezone(UTC)
        if cutoff > started:
            raise InvalidRunParameters(
                f"cutoff: {cutoff:%Y-%m-%d %H:%M:%S} UTC is later than now ({started:%Y-%m-%d %H:%M:%S} UTC); it "
                "would delete or archive moderation events younger than their 90 days"
            )
    batch_size = value_or_default(params, "batch_size", policy.defaults.batch_size)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidRunParameters(f"batch_size: {batch_size!r} must be an integer from 1 to {MAX_BATCH_SIZE}")
    reason = params.get("ledger_override_reason") or ""
    if not isinstance(reason, str):
        raise InvalidRunParameters(f"ledger_override_reason: {reason!r} must be text")
    return {"cutoff": cutoff, "batch_size": batch_size, "ledger_override_reason": reason.strip(),
            "dry_run": dry_run(kind, conf, value_or_default(params, "dry_run", True)),
            "rules": [rule.name for rule in night_order(policy.rules_for(WORKFLOW))]}


def night_order(rules: list[RetentionRule]) -> list[RetentionRule]:
    """The archival's rules in the order one night runs them (the DAG runs its mapped tasks one at a time,
    in this order): the archiving rules first, then the deletes, the longest period first. On a table
    partitioned by month, a delete drops a month whole only when every row left in it is its own or held
    (partition_purge): once critical events are archived, and those past 7 years deleted, a month past 90
    days holds only standard events, and the standard rule drops it the same night."""
    def key(rule: RetentionRule) -> tuple[bool, int]:
        longest_first = -rule.period.after(START).timestamp() if rule.period else 0
        return rule.action != "archive_then_delete", longest_first

    return sorted(rules, key=key)


def plan_archival(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One item per rule of the archival, with the run's cutoff; refuses bad fields and a broken ledger."""
    with task_errors(WORKFLOW, "plan"):
        policy = load_retention_policy()
        conf = run_conf(context, context["dag"].params)
        resolved = resolve_parameters(policy.model, context["params"], conf=conf, kind=run_type(context),
                                      run_cutoff_=run_cutoff(context), started=run_started(context))
        run_id = context["run_id"]
        with app_database() as conn:
            if not resolved["dry_run"]:
                require_intact_ledger(conn, s3_client(), workflow=WORKFLOW, run_id=run_id,
                                      override_reason=resolved["ledger_override_reason"])
            months = {name: due_by_month(conn, policy=policy, rule=name, run_cutoff=resolved["cutoff"])
                      for name in resolved["rules"] if policy.model.rule(name).action == "delete"}
        log.info("plan: %s of %s with cutoff %s UTC", "preview" if resolved["dry_run"] else "archival",
                 ", ".join(resolved["rules"]), f"{resolved['cutoff']:%Y-%m-%d %H:%M:%S}")
        return [{"rule": name, "run_id": run_id, "run_cutoff": resolved["cutoff"].isoformat(),
                 "dry_run": resolved["dry_run"], "batch_size": resolved["batch_size"],
                 "months": months.get(name, {})} for name in resolved["rules"]]


def run_archival_rule(item: Mapping[str, Any]) -> dict[str, Any]:
    """Delete or archive (or preview) one rule; returns its counts, and the archive objects it touched."""
    with task_errors(f"{WORKFLOW} rule {item['rule']!r}", "run"):
        policy = load_retention_policy()
        cutoff = datetime.fromisoformat(item["run_cutoff"])
        s3 = s3_client()
        objects: list[dict[str, Any]] = []
        with app_database() as conn:
            if policy.model.rule(item["rule"]).action == "archive_then_delete":
                archive_settings = ArchiveSettings(run_id=item["run_id"], run_cutoff=cutoff, dry_run=item["dry_run"],
                                                   batch_size=item["batch_size"],
                                                   archive_bucket=settings.archive_bucket())
                outcome, objects = archive_rule(conn, s3, policy=policy, rule=item["rule"], settings=archive_settings)
                spec = policy.model.rule(item["rule"]).archive
                write_run_manifest(s3, bucket=archive_settings.archive_bucket, prefix=spec.prefix,
                                   run_id=item["run_id"], rule=item["rule"], objects=objects)
            else:
                purge_settings = PurgeSettings(run_id=item["run_id"], run_cutoff=cutoff, dry_run=item["dry_run"],
                                               batch_size=item["batch_size"], max_rows_per_rule=10**9,
                                               media_bucket=settings.media_bucket())
                outcome = purge_rule(conn, s3, policy=policy, rule=item["rule"], settings=purge_settings)
        counts = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in outcome.counts.nonzero().items())
        log.info("rule %s: %s; due %d, held %d; %s", outcome.rule, outcome.state.replace("_", " "), outcome.eligible,
                 outcome.held, counts or "nothing changed")
        return {**outcome.as_dict(), "months": item.get("months") or outcome.details.get("months", {}),
                "objects": [{key: (value.isoformat() if isinstance(value, datetime) else value)
                             for key, value in obj.items()} for obj in objects]}


def write_archival_report(planned: list[dict[str, Any]] | None, context: Mapping[str, Any]) -> dict[str, Any]:
    """Publish the run's JSON and HTML report; a small summary for the verdict."""
    planned = planned_or_skip(planned)
    with task_errors(WORKFLOW, "report"):
        policy = load_retention_policy()
        s3 = s3_client()
        with app_database() as conn:
            run = run_record(conn, s3, planned, context, workflow=WORKFLOW, task_id="archive")
            document = build_archival_report(
                policy=policy, run_id=run.run_id, run_type=run_type(context), run_cutoff=run.cutoff,
                dry_run=run.dry_run, planned=planned, outcomes=run.outcomes, recorded=run.recorded,
                ledger_state=run.ledger_state, archive_bucket=settings.archive_bucket(),
                partitions_dropped=run.partitions_dropped)
            summary = {"status": document["status"], "totals": document["totals"], "dry_run": run.dry_run,
                       "ledger_head": document["ledger"]["head"]}
            keys = publish_document(
                conn, s3, workflow=WORKFLOW, run_id=run.run_id, report_type=document["report"],
                prefix=report_prefix(WORKFLOW, run.cutoff.date(), run.run_id), document=document,
                template="archival_report.html.j2", summary=summary, period_end=run.cutoff)
        log.info("report: %s", document["status"])
    return report_summary(document, run.dry_run, keys)
