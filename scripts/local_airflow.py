"""Airflow on top of the local stack: its four components as daemons, the UI on 127.0.0.1 (port 8080,
or GOVERNANCE_AIRFLOW_PORT as the stack remembered it), and a login check.

    python scripts/local_airflow.py   migrate the metadata database, start each component that is not
                                      running, wait until the UI serves, log in as admin and check that
                                      every DAG in dags/ is listed with no import error; then print how
                                      to log in

The components are those of `airflow standalone` (API server, scheduler, DAG processor, triggerer),
started one by one so that each has its own log in .local/logs/ and none opens a port beyond the
UI's: the scheduler and the triggerer run without their log servers, which bind every interface,
because on one machine the API server reads the task logs from their files.

`make stop` (scripts/stack.py down) stops them with the rest of the stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: sys.path[0] is scripts/, not the repository
    sys.path.insert(0, str(ROOT))

from scripts.stack import (  # noqa: E402  (needs the repository on sys.path)
    AIRFLOW_HOME,
    LOG_DIR,
    SETTINGS,
    StackSettings,
    daemon_running,
    ensure_airflow_port_free,
    environment,
    log,
    spawn_daemon,
)

AIRFLOW_URL = SETTINGS.airflow_url
AIRFLOW = str(ROOT / ".venv" / "bin" / "airflow")
# Daemon name (its pid file and log in .local/) -> the airflow command.
COMPONENTS = {
    "airflow-api-server": ["api-server"],
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer", "--skip-serve-logs"],
}


def admin_password() -> str:
    return json.loads((AIRFLOW_HOME / "passwords.json").read_text())["admin"]


def airflow_api(path: str, token: str | None = None, body: dict | None = None, method: str | None = None,
                base_url: str = AIRFLOW_URL) -> dict:
    request = urllib.request.Request(
        f"{base_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def admin_token() -> str:
    return airflow_api("/auth/token", body={"username": "admin", "password": admin_password()})["access_token"]


def airflow_serving() -> bool:
    try:
        health = airflow_api("/api/v2/monitor/health")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return health.get("metadatabase", {}).get("status") == "healthy"


def airflow_environment(settings: StackSettings) -> dict[str, str]:
    env = {**os.environ, **environment(settings)}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return env


def migrate_metadata(env: dict[str, str]) -> None:
    """`airflow db migrate`: idempotent, and the components refuse an unmigrated database."""
    log_path = LOG_DIR / "airflow-db-migrate.log"
    with open(log_path, "wb") as log_file:
        result = subprocess.run([AIRFLOW, "db", "migrate"], env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                check=False)
    if result.returncode != 0:
        raise SystemExit(f"airflow db migrate failed; see {log_path}")


def start_airflow(settings: StackSettings, timeout: float = 300) -> None:
    missing = [name for name in COMPONENTS if not daemon_running(name)]
    if missing:
        if "airflow-api-server" in missing:
            # Else another checkout's Airflow on our port would pass the health check below as ours.
            ensure_airflow_port_free(settings)
        env = airflow_environment(settings)
        migrate_metadata(env)
        for name in missing:
            log(f"starting airflow {COMPONENTS[name][0]} (log: {(LOG_DIR / f'{name}.log').relative_to(ROOT)})")
            spawn_daemon(name, [AIRFLOW, *COMPONENTS[name]], env=env)
    deadline = time.monotonic() + timeout
    while not airflow_serving():
        exited = [name for name in COMPONENTS if not daemon_running(name)]
        if exited:
            raise SystemExit(f"airflow {COMPONENTS[exited[0]][0]} exited; see {LOG_DIR / f'{exited[0]}.log'}")
        if time.monotonic() > deadline:
            raise SystemExit(f"Airflow did not serve {AIRFLOW_URL} in {timeout:.0f} s; see {LOG_DIR}/airflow-*.log")
        time.sleep(2)


def check_airflow_login(expected_dags: set[str], timeout: float = 180) -> None:
    """Log in as admin, and wait until every DAG is listed with no import error."""
    token = admin_token()
    deadline = time.monotonic() + timeout
    while True:
        listed = {dag["dag_id"] for dag in airflow_api("/api/v2/dags?limit=100", token)["dags"]}
        errors = airflow_api("/api/v2/importErrors", token)
        if expected_dags <= listed or time.monotonic() > deadline:
            break
        time.sleep(3)
    for error in errors.get("import_errors", []):
        log(f"IMPORT ERROR in {error.get('filename')}: {error.get('stack_trace', '')[-500:]}")
    missing = expected_dags - listed
    if missing or errors.get("total_entries"):
        raise SystemExit(f"Airflow is up but DAGs are missing ({sorted(missing)}) or failed to import")
    log(f"login as admin works; {len(listed)} DAGs listed, no import errors")


def workflow_ids() -> set[str]:
    """Every DAG of dags/ (dag_id = file name)."""
    return {path.stem for path in (ROOT / "dags").glob("*.py")}


def main() -> int:
    start_airflow(SETTINGS)
    check_airflow_login(workflow_ids())
    print(f"\nAirflow UI: {AIRFLOW_URL}  user: admin  password: {admin_password()}")
    print(f"Governance view: {AIRFLOW_URL}/plugin/governance (Governance in the navigation)")
    print(f"(password file: {(AIRFLOW_HOME / 'passwords.json').relative_to(ROOT)}; `make stop` stops everything)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
