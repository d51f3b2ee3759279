"""docker-compose.yaml, read as YAML (no Docker engine): what a user of the container stack relies on.

Values are checked after Compose's variable interpolation, done here the way Compose does it:
`${VAR:-default}` (nested defaults too) and `$$` for a literal dollar sign.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"

REQUIRED_SERVICES = (
    "postgres",
    "app-db",
    "minio",
    "minio-init",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "redis",
    "airflow-worker",
    "flower",
)
CELERY_SERVICES = ("redis", "airflow-worker", "flower")
LONG_RUNNING_AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "flower",
)
PROJECT_MOUNTS = {
    "/opt/airflow/dags": "dags",
    "/opt/airflow/plugins": "plugins",
    "/opt/airflow/include": "include",
    "/opt/airflow/expectations": "expectations",
}
# Created at first start (by Docker or airflow-init), as in the official quick start; not in the repository.
RUNTIME_DIRS = {"logs", "config"}
BUCKETS = {"MEDIA_BUCKET": "clipia-media", "REPORTS_BUCKET": "clipia-reports", "ARCHIVE_BUCKET": "clipia-archive",
           "EXPORTS_BUCKET": "clipia-exports"}
AIRFLOW_33_TAG = re.compile(r"^apache/airflow:3\.3\.\d+(-python3\.\d+)?$")


# -- Compose interpolation ------------------------------------------------------------------


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` that closes the `${` at `start`, counting nested `${`."""
    depth, i = 0, start
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unclosed variable in {text!r}")


def _resolve(expr: str, env: dict[str, str]) -> str:
    """Value of the inside of one `${...}`: NAME, NAME:-default, NAME-default or NAME:?message."""
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", expr).group(0)
    op = expr[len(name) :]
    value = env.get(name)
    if op.startswith(":-"):
        return value if value else interpolate(op[2:], env)
    if op.startswith("-"):
        return value if value is not None else interpolate(op[1:], env)
    if op.startswith(":?") and not value:
        raise ValueError(f"required variable {name} is not set")
    return value or ""


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """`text` with its Compose variables replaced, given the host environment `env` (default: empty)."""
    env = env or {}
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i)
            out.append(_resolve(text[i + 2 : end], env))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_services(compose, services) -> dict:
    """Every service built on the x-airflow-common anchor (it shares the anchor's image)."""
    image = compose["x-airflow-common"]["image"]
    return {name: svc for name, svc in services.items() if svc.get("image") == image}


def _env(service: dict, host_env: dict[str, str] | None = None) -> dict[str, str]:
    return {key: interpolate(str(value), host_env) for key, value in (service.get("environment") or {}).items()}


def _bind_mounts(service: dict) -> list[tuple[str, str, str]]:
    """(host path, container path, options) of each bind mount, host paths interpolated."""
    mounts = []
    for volume in service.get("volumes") or []:
        host, target, *options = interpolate(volume).split(":")
        if host.startswith((".", "/")):
            mounts.append((host, target, options[0] if options else ""))
    return mounts


def _depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    return {name: {} for name in deps} if isinstance(deps, list) else deps


def _command(service: dict) -> str:
    command = service.get("command") or ""
    return interpolate(" ".join(command) if isinstance(command, list) else command)


# -- the interpolation helper itself --------------------------------------------------------


def test_interpolate_follows_compose_rules():
    """The helper resolves defaults, nested defaults, overrides and $$ the way Compose does."""
    assert interpolate("${A:-x}") == "x"
    assert interpolate("${A:-x}", {"A": "y"}) == "y"
    assert interpolate("${A:-${B:-z}}", {"B": "b"}) == "b"
    assert interpolate('{"k":"${A:-v}"}') == '{"k":"v"}'
    assert interpolate("$${HOSTNAME}") == "${HOSTNAME}"


# -- services, profiles, executor -----------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED_SERVICES)
def test_required_service_exists(services, name):
    """Each service the stack needs is defined."""
    assert name in services


def test_executor_defaults_to_local_and_switches_to_celery(compose):
    """The executor is LocalExecutor unless AIRFLOW_EXECUTOR=CeleryExecutor, and Celery is configured for the switch."""
    common = compose["x-airflow-common"]
    assert _env(common)["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert _env(common, {"AIRFLOW_EXECUTOR": "CeleryExecutor"})["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    env = _env(common)
    assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    assert "@postgres/" in env["AIRFLOW__CELERY__RESULT_BACKEND"]


@pytest.mark.parametrize("name", CELERY_SERVICES)
def test_celery_service_is_under_celery_profile(services, name):
    """Redis, the Celery worker and Flower start only with --profile celery."""
    assert "celery" in services[name].get("profiles", [])


def test_core_services_have_no_profile(services):
    """A plain `docker compose up` starts the databases, MinIO and every Airflow component but the worker."""
    core = set(REQUIRED_SERVICES) - set(CELERY_SERVICES)
    assert {name for name in core if services[name].get("profiles")} == set()


def test_default_services_do_not_depend_on_profile_services(services):
    """No service started by default waits for one that only a profile starts (Compose would refuse to start)."""
    profiled = {name for name, svc in services.items() if svc.get("profiles")}
    bad = {
        (name, dep)
        for name, svc in services.items()
        if not svc.get("profiles")
        for dep in _depends_on(svc)
        if dep in profiled
    }
    assert bad == set()


def test_apiserver_serves_on_port_8080(services):
    """The UI and API answer on http://localhost:8080."""
    api = services["airflow-apiserver"]
    assert _command(api) == "api-server"
    assert "8080:8080" in api["ports"]


# -- image ----------------------------------------------------------------------------------


def test_image_is_airflow_3_3(compose):
    """The image is built FROM apache/airflow 3.3.x, and requirements.txt pins the same Airflow 3.3.x."""
    base = re.search(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE).group(1)
    assert AIRFLOW_33_TAG.match(base), base
    tag = interpolate(compose["x-airflow-common"]["image"]).rsplit(":", 1)[1]
    assert tag.startswith("3.3."), tag
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned, "requirements.txt does not pin apache-airflow"
    assert base.split(":", 1)[1].startswith(pinned.group(1) + "-")


def test_image_is_built_from_the_project_dockerfile(compose):
    """Every Airflow container uses the image built from docker/Dockerfile with the repository root as context."""
    build = compose["x-airflow-common"]["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert interpolate(compose["x-airflow-common"]["image"]).split(":")[0] != "apache/airflow"


def test_dockerfile_installs_pinned_requirements():
    """The Dockerfile pip-installs the repository's requirements.txt, without a constraints file."""
    text = "\n".join(line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"^COPY\s+requirements\.txt\s+/requirements\.txt$", text, re.MULTILINE)
    assert re.search(r"^RUN\s+pip install .*-r /requirements\.txt", text, re.MULTILINE)
    assert "--constraint" not in text
    assert (ROOT / "requirements.txt").is_file()


def test_pip_additional_requirements_is_not_used(compose, services):
    """No container installs packages at start-up through _PIP_ADDITIONAL_REQUIREMENTS."""
    environments = [compose["x-airflow-common"], *services.values()]
    assert not any("_PIP_ADDITIONAL_REQUIREMENTS" in (svc.get("environment") or {}) for svc in environments)


# -- mounts ---------------------------------------------------------------------------------


def test_airflow_services_are_all_found(airflow_services):
    """Every Airflow component is built on the x-airflow-common anchor."""
    assert set(LONG_RUNNING_AIRFLOW_SERVICES) | {"airflow-init"} <= set(airflow_services)


@pytest.mark.parametrize("target", sorted(PROJECT_MOUNTS))
def test_every_airflow_service_mounts_project_folder(airflow_services, target):
    """Every Airflow container sees the project's dags, plugins, include and expectations folders."""
    expected_host = "./" + PROJECT_MOUNTS[target]
    missing = {
        name
        for name, svc in airflow_services.items()
        if (expected_host, target) not in {(host, tgt) for host, tgt, _ in _bind_mounts(svc)}
    }
    assert missing == set()


def test_mounted_host_paths_exist(services):
    """Every host path a service mounts exists in the repository (logs/ and config/ are created at first start)."""
    missing = {}
    for name, svc in services.items():
        for host, _, _ in _bind_mounts(svc):
            path = (ROOT / host).resolve()
            if path.relative_to(ROOT).parts[0] not in RUNTIME_DIRS and not path.exists():
                missing.setdefault(host, []).append(name)
    assert missing == {}, f"mounted but missing from the repository: {sorted(missing)}"


def test_app_db_applies_schema_ddl_on_first_start(services):
    """app-db runs include/sql/schema/app.sql, governance.sql, roles.sql and grants.sql, in that order (the
    order of db.SCHEMA_FILES), read-only, from docker-entrypoint-initdb.d, on PostgreSQL 17 or later (grants
    use MAINTAIN)."""
    from governance.db import SCHEMA_FILES

    mounts = {target: (host, options) for host, target, options in _bind_mounts(services["app-db"])}
    initdb = sorted(target for target in mounts if target.startswith("/docker-entrypoint-initdb.d/"))
    assert [mounts[target] for target in initdb] == [(f"./include/sql/{name}", "ro") for name in SCHEMA_FILES]
    assert int(services["app-db"]["image"].split(":")[1]) >= 17
    assert _env(services["app-db"])["POSTGRES_DB"] == "app"


# -- connections and settings ---------------------------------------------------------------


def test_app_db_connection_points_at_app_db_service(compose, services):
    """AIRFLOW_CONN_APP_DB (and APP_DB_URL) reach the app-db service with its own user, password and database."""
    env = _env(compose["x-airflow-common"])
    url = urlsplit(env["AIRFLOW_CONN_APP_DB"])
    db_env = _env(services["app-db"])
    assert url.scheme in {"postgres", "postgresql"}
    assert (url.hostname, url.port) == ("app-db", 5432)
    assert (url.username, url.password) == (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"])
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]
    assert env["APP_DB_URL"] == env["AIRFLOW_CONN_APP_DB"]


def test_aws_connection_is_json_pointing_at_minio(compose, services):
    """AIRFLOW_CONN_AWS_DEFAULT is valid JSON whose endpoint_url is the minio service, with MinIO's credentials."""
    env = _env(compose["x-airflow-common"])
    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    endpoint = urlsplit(conn["extra"]["endpoint_url"])
    minio_env = _env(services["minio"])
    assert conn["conn_type"] == "aws"
    assert (endpoint.hostname, endpoint.port) == ("minio", 9000)
    assert "minio" in services
    assert (conn["login"], conn["password"]) == (minio_env["MINIO_ROOT_USER"], minio_env["MINIO_ROOT_PASSWORD"])
    assert conn["extra"]["region_name"]
    assert env["S3_ENDPOINT_URL"] == conn["extra"]["endpoint_url"]


def test_connections_follow_host_overrides(compose):
    """AIRFLOW_CONN_APP_DB and the S3_* variables set on the host point the containers at a real database and S3."""
    host_env = {
        "AIRFLOW_CONN_APP_DB": "postgresql://gov:secret@db.example.internal:5432/prod",
        "S3_ENDPOINT_URL": "https://s3.eu-central-1.amazonaws.com",
        "S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "S3_SECRET_ACCESS_KEY": "s3cr3t/with+chars",
        "S3_REGION": "eu-central-1",
        "ARCHIVE_BUCKET": "acme-archive",
    }
    env = _env(compose["x-airflow-common"], host_env)
    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert env["AIRFLOW_CONN_APP_DB"] == env["APP_DB_URL"] == host_env["AIRFLOW_CONN_APP_DB"]
    assert conn["extra"] == {"endpoint_url": host_env["S3_ENDPOINT_URL"], "region_name": "eu-central-1"}
    assert (conn["login"], conn["password"]) == ("AKIAEXAMPLE", "s3cr3t/with+chars")
    assert env["S3_ENDPOINT_URL"] == host_env["S3_ENDPOINT_URL"]
    assert env["ARCHIVE_BUCKET"] == "acme-archive"


def test_governance_settings_are_set(compose):
    """The bucket names, S3 endpoint, include dir and LOAD_EXAMPLES=false reach every Airflow container."""
    env = _env(compose["x-airflow-common"])
    assert {key: env[key] for key in BUCKETS} == BUCKETS
    assert env["GOVERNANCE_SCHEDULED_DELETES"] == "disabled"  # nightly runs preview until the deployment arms them
    assert env["S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["GOVERNANCE_INCLUDE_DIR"] == "/opt/airflow/include"


@pytest.mark.parametrize("name", ["GOVERNANCE_PSEUDONYM_KEY", "GOVERNANCE_LEDGER_KEY"])
def test_secret_keys_are_provided(compose, services, name):
    """The pseudonymisation and ledger keys come from the variable or a key file under the mounted config folder,
    which airflow-init generates once."""
    env = _env(compose["x-airflow-common"])
    assert name in env
    assert env[f"{name}_FILE"].startswith("/opt/airflow/config/")
    assert env[f"{name}_FILE"] in _command(services["airflow-init"])


# -- buckets --------------------------------------------------------------------------------


def test_archive_bucket_is_created_with_object_lock(services):
    """minio-init creates the archive bucket with Object Lock and the media and reports buckets."""
    command = _command(services["minio-init"])
    made = {line.split()[-1]: line for line in command.splitlines() if re.match(r"\s*mc mb\b", line)}
    assert set(made) == {f"local/{bucket}" for bucket in BUCKETS.values()}
    assert "--with-lock" in made["local/clipia-archive"].split()
    assert "--with-lock" in made["local/clipia-reports"].split()  # the ledger's anchors are locked there
    # Export bundles are deleted, every version, when they expire: versioned, never locked.
    assert "--with-versioning" in made["local/clipia-exports"].split()
    assert "--with-lock" not in made["local/clipia-exports"].split()


def test_bucket_names_match_between_minio_init_and_airflow(compose, services):
    """A bucket name overridden on the host changes both the bucket created and the one the workflows use."""
    host_env = {"MEDIA_BUCKET": "m", "REPORTS_BUCKET": "r", "ARCHIVE_BUCKET": "a", "EXPORTS_BUCKET": "x"}
    command = interpolate(" ".join(services["minio-init"]["command"]), host_env)
    env = _env(compose["x-airflow-common"], host_env)
    assert all(f"local/{env[key]}" in command.split() for key in BUCKETS)
    assert re.search(r"--with-lock\s+local/a\b", command)


# -- start-up order -------------------------------------------------------------------------


def test_depends_on_names_defined_services(services):
    """Every depends_on entry names a service defined in the file, with a known condition."""
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    bad = {
        (name, dep)
        for name, svc in services.items()
        for dep, spec in _depends_on(svc).items()
        if dep not in services or spec.get("condition", "service_started") not in conditions
    }
    assert bad == set()


def test_healthy_dependencies_have_healthchecks(services):
    """Every service waited on with condition service_healthy defines a healthcheck."""
    waited = {
        dep
        for svc in services.values()
        for dep, spec in _depends_on(svc).items()
        if spec.get("condition") == "service_healthy"
    }
    assert {"postgres", "app-db", "minio"} <= waited
    assert {dep for dep in waited if "healthcheck" not in services[dep]} == set()


@pytest.mark.parametrize("name", LONG_RUNNING_AIRFLOW_SERVICES)
def test_airflow_components_wait_for_init_and_data_services(services, name):
    """Each Airflow component starts after airflow-init succeeded and the databases and buckets are ready."""
    deps = _depends_on(services[name])
    assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    assert deps["postgres"]["condition"] == "service_healthy"
    assert deps["app-db"]["condition"] == "service_healthy"
    assert deps["minio-init"]["condition"] == "service_completed_successfully"


def test_airflow_init_migrates_and_creates_admin(services):
    """airflow-init runs `airflow db migrate` and creates the airflow/airflow admin, as the official file does."""
    init = services["airflow-init"]
    env = _env(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert (env["_AIRFLOW_WWW_USER_USERNAME"], env["_AIRFLOW_WWW_USER_PASSWORD"]) == ("airflow", "airflow")
    assert "/entrypoint airflow version" in _command(init)
    assert _depends_on(init)["postgres"]["condition"] == "service_healthy"


def test_minio_init_waits_for_healthy_minio(services):
    """The buckets are created once MinIO answers, by a one-shot container."""
    init = services["minio-init"]
    assert _depends_on(init)["minio"]["condition"] == "service_healthy"
    assert "restart" not in init
    assert _command(services["minio"]).startswith("server /data --console-address")
