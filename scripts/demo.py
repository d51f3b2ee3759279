"""make demo: seed the stack if it is empty, start Airflow, and run every governance workflow once
through the scheduler, the way a data engineer would from the UI.

Each workflow, in the order of a night, is unpaused, triggered through Airflow's REST API with the
demo's configuration, and awaited; its run, with its task logs, is then in the UI. Unpausing a DAG
makes the scheduler start a run for its last interval too: the demo waits for those as well and
lists them. Scheduled runs of the deleting workflows only preview until the deployment sets
GOVERNANCE_SCHEDULED_DELETES=enabled, which the demo does not.

Safe to run again: the seed only happens on an empty database, the data-subject requests are the
same ones (and are answered once), and every triggered run is new. Nothing here runs
`airflow dags test`, which beside a live scheduler would run the same tasks twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.local_airflow import (  # noqa: E402  (needs the repository on sys.path)
    AIRFLOW_URL,
    SETTINGS,
    admin_password,
    admin_token,
    airflow_api,
    check_airflow_login,
    start_airflow,
    workflow_ids,
)
from scripts.stack import LOCAL  # noqa: E402

# The order of a night: the purge and the archival, then the data-quality checks of what they left,
# then the rest; the ledger check goes last, to verify what the others wrote.
FIRST = ("retention_purge", "moderation_log_archival", "data_quality_checks")
LAST = ("audit_ledger_verification",)
# It remediates findings by id, and a demo whose checks pass has none (see its DAG docs).
NOT_RUN = ("data_quality_remediation",)
RUN_TIMEOUT_S = 900
FINISHED = {"success", "failed"}
DSR_SUBJECTS = LOCAL / "demo-dsr-subjects"


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def app_connection():
    import psycopg

    return psycopg.connect(os.environ["APP_DB_URL"], autocommit=True)


def seed_if_empty() -> None:
    with app_connection() as conn:
        users = conn.execute("SELECT count(*) FROM app.users").fetchone()[0]
    if users:
        print(f"app.users already holds {users} rows; keeping them (make seed SCALE=N [PARTITIONED=1] reseeds)")
    else:
        partitioned = ["--partitioned"] if os.environ.get("PARTITIONED") == "1" else []
        subprocess.run([sys.executable, str(ROOT / "scripts" / "seed.py"), "--scale", os.environ.get("SCALE", "1000"),
                        "--inject", os.environ.get("INJECT", "overdue,prohibited_media"), *partitioned], check=True)
    print(f"reference database shape: {database_shape()}")


def database_shape() -> str:
    """Which of the reference database's two shapes the demo runs on (make demo PARTITIONED=1 seeds the other)."""
    from scripts.seeding import shape  # puts plugins/ on sys.path, for governance

    names = list(shape.PARTITIONED_CLOCKS)
    from governance.db import sql_text

    with app_connection() as conn:
        tables = [row[0] for row in conn.execute(sql_text("seed/partitioned_tables.sql"), {"tables": names})]
    if not tables:
        return "plain tables (make seed PARTITIONED=1, or make demo PARTITIONED=1 on an empty database, for the other)"
    return f"partitioned by month: {', '.join(f'app.{table}' for table in sorted(tables))}"


def dsr_subjects() -> tuple[int, int]:
    """The people of the demo's data-subject requests: two live accounts under no legal hold, chosen
    once and remembered, so that a second demo finds the same requests done (and does them once)."""
    if not DSR_SUBJECTS.exists():
        with app_connection() as conn:
            erasure, export = conn.execute(
                "SELECT min(user_id), max(user_id) FROM app.users AS u WHERE deleted_at IS NULL AND NOT EXISTS "
                "(SELECT FROM governance.legal_holds AS h WHERE h.user_id = u.user_id AND h.released_at IS NULL)"
            ).fetchone()
        DSR_SUBJECTS.write_text(f"{erasure}|{export}\n")
    erasure, export = DSR_SUBJECTS.read_text().strip().split("|")
    return int(erasure), int(export)


def demo_conf(dag_id: str, subjects: tuple[int, int]) -> dict:
    """Each DAG's configuration in the demo; unlisted DAGs run with their defaults."""
    erasure_subject, export_subject = subjects
    return {
        "retention_purge": {"dry_run": False},
        "moderation_log_archival": {"dry_run": False},
        "dsr_export": {"request_id": "DEMO-EXPORT-1", "user_id": export_subject},
        "dsr_erasure": {"request_id": "DEMO-ERASURE-1", "user_id": erasure_subject},
    }.get(dag_id, {})


def night_order() -> list[str]:
    rest = sorted(workflow_ids() - set(FIRST) - set(LAST) - set(NOT_RUN))
    return [*FIRST, *rest, *LAST]


def run_url(dag_id: str, run_id: str) -> str:
    return f"{AIRFLOW_URL}/dags/{dag_id}/runs/{quote(run_id, safe='')}"


class Airflow:
    """The few REST calls the demo makes, as admin."""

    def __init__(self) -> None:
        self.token = admin_token()

    def call(self, path: str, body: dict | None = None, method: str | None = None) -> dict:
        try:
            return airflow_api(path, self.token, body, method)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise SystemExit(f"Airflow refused {method or 'GET'} {path}: {error.code} {detail}") from None

    def unpause(self, dag_id: str) -> None:
        self.call(f"/api/v2/dags/{dag_id}?update_mask=is_paused", {"is_paused": False}, "PATCH")

    def trigger(self, dag_id: str, conf: dict) -> str:
        run = self.call(f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf, "note": "make demo"})
        return run["dag_run_id"]

    def state(self, dag_id: str, run_id: str) -> str:
        return self.call(f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")["state"]

    def runs(self, dag_id: str) -> list[dict]:
        return self.call(f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=20")["dag_runs"]

    def wait(self, dag_id: str, run_id: str) -> str:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while (state := self.state(dag_id, run_id)) not in FINISHED:
            if time.monotonic() > deadline:
                return f"still {state} after {RUN_TIMEOUT_S} s"
            time.sleep(2)
        return state


def run_workflows(airflow: Airflow, dag_ids: list[str], subjects: tuple[int, int]) -> list[str]:
    """Trigger each workflow and wait for it; returns the DAGs whose run did not succeed."""
    failed = []
    for dag_id in dag_ids:
        airflow.unpause(dag_id)
        run_id = airflow.trigger(dag_id, demo_conf(dag_id, subjects))
        state = airflow.wait(dag_id, run_id)
        mark = "ok    " if state == "success" else "FAILED"
        print(f"  {mark}  {dag_id:30s} {run_url(dag_id, run_id)}", flush=True)
        if state != "success":
            failed.append(dag_id)
    return failed


def scheduler_runs(airflow: Airflow, dag_ids: list[str], since: datetime) -> list[str]:
    """Wait for the runs the scheduler started itself since the demo began (on unpausing, or on an asset);
    returns the failed."""
    failed = []
    for dag_id in dag_ids:
        for run in airflow.runs(dag_id):
            queued = run.get("queued_at")
            if run["run_type"] == "manual" or (queued and datetime.fromisoformat(queued) < since):
                continue
            state = run["state"] if run["state"] in FINISHED else airflow.wait(dag_id, run["dag_run_id"])
            mark = "ok    " if state == "success" else "FAILED"
            print(f"  {mark}  {dag_id:30s} {run['run_type']:15s} {run_url(dag_id, run['dag_run_id'])}", flush=True)
            if state != "success":
                failed.append(f"{dag_id} ({run['run_type']})")
    return failed


def show_evidence() -> None:
    with app_connection() as conn:
        reports = conn.execute("SELECT workflow, report_type, object_key FROM governance.report_index "
                               "ORDER BY report_id DESC LIMIT 6").fetchall()
        entries = conn.execute("SELECT seq, workflow, action, coalesce(rule, '') FROM governance.audit_ledger "
                               "ORDER BY seq DESC LIMIT 8").fetchall()
    print("  newest reports (governance.report_index):")
    for workflow, report_type, key in reports:
        print(f"    {workflow:28s} {report_type:24s} {key}")
    print("  newest ledger entries (governance.audit_ledger):")
    for seq, workflow, action, rule in entries:
        print(f"    #{seq:<6d} {workflow:28s} {action:24s} {rule}")


def main() -> int:
    started = datetime.now(UTC)
    step("Demo data")
    seed_if_empty()
    subjects = dsr_subjects()

    step("Airflow (API server, scheduler, DAG processor, triggerer)")
    start_airflow(SETTINGS)
    check_airflow_login(workflow_ids())

    dag_ids = night_order()
    step("Each governance workflow, triggered through Airflow's REST API, in the order of a night")
    print(f"  (not run: {', '.join(NOT_RUN)}: it remediates findings by id; see its DAG docs)")
    airflow = Airflow()
    failed = run_workflows(airflow, dag_ids, subjects)

    step("Runs the scheduler started itself, on unpausing or on an Asset (scheduled purges and archivals preview)")
    failed += scheduler_runs(airflow, dag_ids, since=started)

    step("Evidence")
    show_evidence()

    step("Airflow UI")
    print(f"  {AIRFLOW_URL}  user: admin  password: {admin_password()}")
    print(f"  Governance view: {AIRFLOW_URL}/plugin/governance (Governance in the navigation)")
    print("  `make stop` stops everything")
    if failed:
        print(f"These workflow runs failed in the demo: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
