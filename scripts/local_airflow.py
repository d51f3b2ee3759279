"""Airflow on top of the local stack: `airflow standalone`, its UI on 127.0.0.1 (port 8080, or
GOVERNANCE_AIRFLOW_PORT as the stack remembered it), and a login check.

    python scripts/local_airflow.py   start it unless it runs, wait until it serves, log in as
                                      admin and check that every DAG in dags/ is listed with no
                                      import error; then print how to log in

`make stop` (scripts/stack.py down) stops it with the rest of the stack.
"""

from __future__ import annotations

import json
import os
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
    ensure_airflow_ports_free,
    environment,
    log,
    spawn_daemon,
)

AIRFLOW_URL = SETTINGS.airflow_url


def admin_password() -> str:
    return json.loads((AIRFLOW_HOME / "passwords.json").read_text())["admin"]


def airflow_api(path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{AIRFLOW_URL}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


def airflow_serving() -> bool:
    try:
        health = airflow_api("/api/v2/monitor/health")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return health.get("metadatabase", {}).get("status") == "healthy"


def start_airflow(settings: StackSettings, timeout: float = 300) -> None:
    if not daemon_running("airflow"):
        # Else another checkout's Airflow on our port would pass the health check below as ours.
        ensure_airflow_ports_free(settings)
        log(f"starting airflow standalone (logs: {LOG_DIR / 'airflow.log'})")
        env = {**os.environ, **environment(settings)}
        env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
        spawn_daemon("airflow", [str(ROOT / ".venv" / "bin" / "airflow"), "standalone"], env=env)
    deadline = time.monotonic() + timeout
    while not airflow_serving():
        if not daemon_running("airflow"):
            raise SystemExit(f"airflow standalone exited; see {LOG_DIR / 'airflow.log'}")
        if time.monotonic() > deadline:
            raise SystemExit(f"Airflow did not serve {AIRFLOW_URL} in {timeout:.0f} s; see {LOG_DIR / 'airflow.log'}")
        time.sleep(2)


def check_airflow_login(expected_dags: set[str], timeout: float = 180) -> None:
    """Log in as admin, and wait until every DAG is listed with no import error."""
    token = airflow_api("/auth/token", body={"username": "admin", "password": admin_password()})["access_token"]
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


def main() -> int:
    start_airflow(SETTINGS)
    check_airflow_login({path.stem for path in (ROOT / "dags").glob("*.py")})
    print(f"\nAirflow UI: {AIRFLOW_URL}  user: admin  password: {admin_password()}")
    print(f"Governance view: {AIRFLOW_URL}/plugin/governance (Governance in the navigation)")
    print(f"(password file: {(AIRFLOW_HOME / 'passwords.json').relative_to(ROOT)}; `make stop` stops everything)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
