"""The moderation_archive_retrieval DAG's task body."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from governance import settings
from governance.airflow.connections import app_database, arrow_s3, s3_client
from governance.airflow.failures import task_errors
from governance.airflow.forms import value_or_default
from governance.airflow.runs import InvalidRunParameters, run_conf
from governance.archive_retrieval import Retrieval, retrieval_report, retrieve
from governance.keys import pseudonym_key
from governance.policy import load_retention_policy
from governance.reports import publish, render_html, report_prefix, to_json_bytes

log = logging.getLogger(__name__)

WORKFLOW = "moderation_archive_retrieval"
RULE = "moderation_logs_critical"


def _day(name: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidRunParameters(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def request_from(params: Mapping[str, Any], default_period: tuple[str, str]) -> Retrieval:
    """The form's fields as a Retrieval (checked against the policy by `retrieve`); an empty day of the
    period is the form's default."""
    user_id = params.get("user_id")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        raise InvalidRunParameters(f"user_id: {user_id!r} must be an integer")
    start, end = (value_or_default(params, name, default)
                  for name, default in zip(("period_start", "period_end"), default_period, strict=True))
    return Retrieval(start=_day("period_start", start), end=_day("period_end", end), user_id=user_id,
                     pseudonym=(params.get("pseudonym") or None), category=(params.get("category") or None))


def retrieve_and_report(context: Mapping[str, Any], *, default_period: tuple[str, str]) -> dict[str, Any]:
    """Read the selected events from the archive into a CSV and an HTML summary in the reports bucket, indexed."""
    with task_errors(WORKFLOW, "retrieve"):
        run_conf(context, context["dag"].params)
        request = request_from(context["params"], default_period)
        run_id = context["run_id"]
        policy = load_retention_policy()
        prefix = report_prefix(WORKFLOW, datetime.now(UTC).date(), run_id)
        s3 = s3_client()
        with tempfile.TemporaryDirectory() as work, app_database() as conn:
            csv_path = Path(work) / "events.csv"
            found = retrieve(conn, arrow_s3(), policy=policy, rule=RULE, bucket=settings.archive_bucket(),
                             request=request, pseudonym_key=pseudonym_key(), out_csv=csv_path)
            document = retrieval_report(workflow=WORKFLOW, run_id=run_id, request=request, found=found,
                                        csv_key=f"{prefix}/events.csv")
            summary = {"rows": found.rows, "objects_read": found.objects_read, **document["request"]}
            period = {"period_start": datetime.combine(request.start, datetime.min.time(), tzinfo=UTC),
                      "period_end": datetime.combine(request.end, datetime.min.time(), tzinfo=UTC)}
            for key, body in ((document["csv_key"], csv_path.read_bytes()),
                              (f"{prefix}/{WORKFLOW}.json", to_json_bytes(document)),
                              (f"{prefix}/{WORKFLOW}.html", render_html("archive_retrieval.html.j2", report=document))):
                publish(conn, s3, workflow=WORKFLOW, run_id=run_id, report_type=WORKFLOW, object_key=key, body=body,
                        summary=summary, **period)
        log.info("retrieval: %d events from %d archive objects", found.rows, found.objects_read)
        return {"rows": found.rows, "objects_read": found.objects_read, "csv": document["csv_key"]}
