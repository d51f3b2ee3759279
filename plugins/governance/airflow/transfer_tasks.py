"""Task bodies of the transfer capture (run ahead of every purge and erasure) and of
cross_border_transfer_report."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from governance.airflow.connections import app_database, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.runs import run_conf, run_cutoff
from governance.transfer_report import WORKFLOW

log = logging.getLogger(__name__)

REPORT_FIELDS = ("period_start", "period_end")


def capture_transfers(context: Mapping[str, Any]) -> dict[str, Any]:
    """Count the transfers recorded up to the run's cutoff that no capture has counted yet, so that
    what the run then deletes has been counted first. Idempotent: a rerun adds nothing."""
    from governance.keys import pseudonym_key
    from governance.register import load_transfer_register
    from governance.transfers import capture, sketch_seed

    with task_errors("transfer capture", "capture"):
        register = load_transfer_register()
        until = run_cutoff(context)
        with app_database() as conn:
            done = capture(conn, register.model, register_sha256=register.sha256, until=until,
                           run_id=context["run_id"], seed=sketch_seed(pseudonym_key()))
    summary = done.summary()
    if done.windows:
        log.info("transfer capture: %d records in %d windows, up to %s%s", done.records, len(done.windows),
                 f"{until:%Y-%m-%d %H:%M:%S} UTC", " (backfilled: the first capture)" if summary["backfilled"] else "")
    else:
        log.info("transfer capture: already up to %s; nothing to add", f"{until:%Y-%m-%d %H:%M:%S} UTC")
    return summary


def write_transfer_report(context: Mapping[str, Any]) -> dict[str, Any]:
    """Build the period's inventory from the captured aggregates and publish it as JSON, CSV, HTML and PDF."""
    from governance.dsr import load_subject_rights_policy
    from governance.register import load_jurisdictions, load_transfer_register
    from governance.transfer_report import RussianCalendar, publish_inventory, summary_of
    from governance.transfers import resolve_period

    with task_errors(WORKFLOW, "report"):
        conf = {**dict(context.get("params") or {}), **run_conf(context, REPORT_FIELDS)}
        period = resolve_period(conf.get("period_start"), conf.get("period_end"), as_of=run_cutoff(context))
        fz152 = load_subject_rights_policy().model.jurisdictions["fz152"]
        log.info("transfer report for %s (%s to %s, end exclusive)", period.label, period.start, period.end)
        with app_database() as conn:
            document, keys = publish_inventory(
                conn, s3_client(), register=load_transfer_register(), jurisdictions=load_jurisdictions(),
                calendar=RussianCalendar(frozenset(fz152.holidays), fz152.zone), period=period,
                run_id=context["run_id"])
    log.info("%s", document["summary"])
    for finding in document["findings"]:
        log.info("finding (%s) %s: %s", finding["severity"], finding["id"], finding["action"])
    log.info("published %s", ", ".join(keys))
    return {**summary_of(document), "reports": keys,
            "critical": [f["id"] for f in document["findings"] if f["severity"] == "critical"]}


def verdict(summary: Mapping[str, Any] | None) -> None:
    """Fail the run when the report found a critical finding, so that on-call hears of it."""
    from airflow.sdk.exceptions import AirflowFailException

    if summary is None:
        raise AirflowFailException("the report did not complete; its log says why")
    if summary["critical"]:
        raise AirflowFailException(f"critical transfer findings in {summary['period']}: "
                                   f"{', '.join(summary['critical'])}; the report says what to do")
