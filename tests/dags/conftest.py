"""Fixtures for DAG tests: a DagBag of dags/, and an Airflow of the tests' own.

`airflow_env` gives `airflow dags test` its own metadata database (airflow_test, migrated
once per session), its own AIRFLOW_HOME, and this test's app database and buckets.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import stack

ROOT = Path(__file__).resolve().parents[2]
METADATA_DB = "airflow_test"


def airflow_base_env(stack_env: dict[str, str], home: Path) -> dict[str, str]:
    env = {**os.environ, **stack_env}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=(
            f"postgresql+psycopg2://postgres@127.0.0.1:{stack.SETTINGS.pg_port}/{METADATA_DB}"
        ),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",  # what a user reads; leak checks search all of it
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="session")
def dagbag(stack_env):
    """Every DAG in dags/, parsed the way the scheduler parses them."""
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="session")
def airflow_metadata(stack_env, tmp_path_factory) -> Path:
    """A migrated Airflow metadata database for the tests (recreated each session)."""
    stack.create_database(METADATA_DB, replace=True)
    home = tmp_path_factory.mktemp("airflow_home")
    subprocess.run(["airflow", "db", "migrate"], env=airflow_base_env(stack_env, home), check=True,
                   capture_output=True, cwd=ROOT)
    return home


@pytest.fixture
def airflow_env(stack_env, airflow_metadata, db_url, workflow_url, buckets) -> dict[str, str]:
    """Environment for `airflow dags test` against this test's database and buckets, with the
    workflows connecting as their least-privileged role."""
    env = airflow_base_env(stack_env, airflow_metadata)
    env.update(
        AIRFLOW_CONN_APP_DB=workflow_url,
        APP_DB_URL=db_url,
        MEDIA_BUCKET=buckets.media,
        REPORTS_BUCKET=buckets.reports,
        ARCHIVE_BUCKET=buckets.archive,
        EXPORTS_BUCKET=buckets.exports,
    )
    return env


def airflow_dags_test(env: dict[str, str], dag_id: str, *args: str) -> subprocess.CompletedProcess:
    """`airflow dags test DAG_ID ...` as a user would run it; returns the finished process."""
    return subprocess.run(["airflow", "dags", "test", dag_id, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


# -- an Airflow server of the tests' own (the Governance view's API and browser tests) ------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ui_database(template_database):
    """A database of the module's own, for a server that outlives one test."""
    import uuid

    name = f"ui_{uuid.uuid4().hex[:10]}"
    url = stack.create_database(name, template=template_database)
    yield url
    stack.drop_database(name)


@pytest.fixture(scope="module")
def ui_buckets(s3):
    """Reports and media buckets of the module's own, as the environment names them."""
    import uuid

    suffix = uuid.uuid4().hex[:10]
    names = {"REPORTS_BUCKET": f"reports-ui-{suffix}", "MEDIA_BUCKET": f"media-ui-{suffix}"}
    for bucket in names.values():
        s3.create_bucket(Bucket=bucket)
    return names


@contextlib.contextmanager
def serve(argv: list[str], env: dict[str, str], url: str, log_path: Path, timeout: float = 240):
    """Start an Airflow server process (in a session of its own), wait until `url` answers its health
    check, and stop it, with every child, on leaving."""
    import signal
    import time
    import urllib.error
    import urllib.request

    with log_path.open("w") as log:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v2/monitor/health", timeout=5):
                break
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(f"{argv[1]} did not serve {url}:\n{log_path.read_text()[-4000:]}") from None
            time.sleep(1)
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
