"""The Airflow UI in a real browser: Debian's chromium, driven by Playwright, against `airflow standalone`.

- The Governance view: a user logs in, opens Governance from the navigation, sees the promises and the
  latest purge report, downloads the report and places a hold.
- The Trigger form: a field with a default is not marked required, a bad number gets a message and is
  never changed, and the form's default path (dry run on, "Unpause on trigger" ticked) deletes nothing.

Screenshots go to .local/artifacts/.

Where chromium is missing the test is skipped, saying how to enable it (`make test` installs it as root).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql

from governance.storage import list_keys
from scripts import stack
from scripts.local_airflow import airflow_api
from scripts.seeding import seed
from tests.dags.conftest import ROOT, airflow_base_env, free_port, serve
from tests.dags.test_governance_ui import published

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / ".local" / "artifacts"
ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex[:8]
HOLD_USER = 9_000_001  # clear of the ids the seeder gives (the form test seeds the same database)


@pytest.fixture(scope="module")
def standalone(stack_env, airflow_metadata, ui_database, ui_buckets, tmp_path_factory):
    """`airflow standalone` (scheduler, DAG processor, triggerer, API server and UI) on ports of its own."""
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed: run `make test` as root, or `apt-get install -y chromium`, "
                    "to run the browser test of the Governance view")
    home = tmp_path_factory.mktemp("standalone_home")
    (home / "passwords.json").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
    env = airflow_base_env(stack_env, home)
    port = free_port()
    env.update(
        AIRFLOW_CONN_APP_DB=ui_database.replace("postgres@", f"{stack.WORKFLOW_ROLE}@", 1),
        AIRFLOW_CONN_GOVERNANCE_VIEW_DB=ui_database.replace("postgres@", f"{stack.VIEW_ROLE}@", 1),
        APP_DB_URL=ui_database,
        **ui_buckets,
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__API_AUTH__JWT_SECRET="governance-browser-test-" + uuid.uuid4().hex,
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
    )
    url = f"http://127.0.0.1:{port}"
    with serve(["airflow", "standalone"], env, url, home / "standalone.log"):
        yield url


def log_in(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_user_logs_in_opens_governance_downloads_the_purge_report_and_places_a_hold(
    standalone, ui_database, s3, ui_buckets, tmp_path
):
    from playwright.sync_api import sync_playwright

    with psycopg.connect(ui_database, autocommit=True) as conn:
        conn.execute("INSERT INTO app.users (user_id, email) VALUES (%s, 'browser@example.com')", (HOLD_USER,))
        report = published(conn, s3, ui_buckets,
                           key="retention_purge/2026-11-30/nightly/purge_report.html",
                           body=b"<!doctype html><title>Purge report</title><h1>Retention purge report</h1>")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        log_in(page, standalone)
        page.get_by_role("link", name="Governance").first.click()
        page.wait_for_url("**/plugin/governance**")
        frame = page.frame_locator("iframe").first
        frame.locator("table#promises").wait_for()
        assert frame.locator("table#promises tbody tr").count() >= 10
        link = frame.locator(f'a[href="reports/{report.report_id}?download=true"]').first
        page.screenshot(path=str(ARTIFACTS / "governance-promises.png"), full_page=True)
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "purge_report.html"
        download.value.save_as(saved)
        assert b"Retention purge report" in saved.read_bytes()

        frame.get_by_role("link", name="Legal holds").click()
        frame.locator("form#place-hold").wait_for()
        frame.locator('input[name="user_id"]').fill(str(HOLD_USER))
        frame.locator('input[name="reason"]').fill("litigation hold")
        frame.locator('input[name="reference"]').fill("CASE-2026-17")
        frame.get_by_role("button", name="Place hold").click()
        frame.get_by_text("CASE-2026-17").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "governance-holds.png"), full_page=True)
        frame.get_by_role("link", name="Audit ledger").click()
        frame.get_by_text("legal hold placed").first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "governance-ledger.png"), full_page=True)
        browser.close()
    with psycopg.connect(ui_database) as conn:
        held = conn.execute("SELECT user_id, reference, placed_by FROM governance.legal_holds").fetchall()
    assert held == [(HOLD_USER, "CASE-2026-17", "admin")]


def stored(conn, s3, media_bucket: str) -> dict[str, int]:
    """Rows of every app table, and the media objects."""
    tables = [name for (name,) in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'app' ORDER BY 1")]
    counts = {name: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("app", name))).fetchone()[0]
              for name in tables}
    counts["media objects"] = sum(1 for _ in list_keys(s3, media_bucket))
    return counts


def open_trigger_form(page, url: str, dag_id: str):
    page.goto(f"{url}/dags/{dag_id}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name='element_batch_size']").wait_for()
    return dialog


def test_the_trigger_form_marks_no_default_required_refuses_a_bad_number_and_its_defaults_never_delete(
    standalone, ui_database, s3, ui_buckets
):
    """retention_purge's Trigger form, as a user meets it: no field with a default is marked required; a batch
    size of 0 stays 0 and the trigger is refused with a message naming the field and the bound; the form's
    defaults (dry run on, "Unpause on trigger" ticked) start a preview, and the unpause a scheduled run of
    the last night, which previews too. Rows are due, and not one row or media object is deleted."""
    from playwright.sync_api import sync_playwright

    with psycopg.connect(ui_database, autocommit=True) as conn:
        seed(conn, s3, scale=40, as_of=datetime.now(UTC).replace(microsecond=0),
             media_bucket=ui_buckets["MEDIA_BUCKET"], inject="overdue")
        before = stored(conn, s3, ui_buckets["MEDIA_BUCKET"])
    earlier = {run["dag_run_id"] for run in dag_runs(standalone, "retention_purge")}  # other tests' `dags test`
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        log_in(page, standalone)
        dialog = open_trigger_form(page, standalone, "retention_purge")
        labels = [label.inner_text().strip() for label in dialog.locator("label").all()]
        assert {"Batch size", "Dry run", "Rules"} <= set(labels), labels
        assert not [label for label in labels if label.endswith("*")], labels
        assert dialog.get_by_text("Unpause retention_purge on trigger").is_visible()  # ticked: the default
        page.screenshot(path=str(ARTIFACTS / "trigger-form.png"))
        dialog.get_by_role("button", name="Trigger").click()
        dialog.wait_for(state="hidden")

        dialog = open_trigger_form(page, standalone, "retention_purge")
        batch_size = dialog.locator("input[name='element_batch_size']")
        batch_size.fill("0")
        page.keyboard.press("Tab")
        assert batch_size.input_value() == "0"  # not clamped to 1 behind the user's back
        dialog.get_by_role("button", name="Trigger").click()
        dialog.get_by_text("Invalid input for param batch_size: 0 is less than the minimum of 1").wait_for()
        page.screenshot(path=str(ARTIFACTS / "trigger-form-refused.png"))
        browser.close()
    runs = new_finished_runs(standalone, "retention_purge", earlier, expected=2)
    assert sorted(run["run_type"] for run in runs) == ["manual", "scheduled"], runs
    assert {run["state"] for run in runs} == {"success"}, runs
    with psycopg.connect(ui_database) as conn:
        assert stored(conn, s3, ui_buckets["MEDIA_BUCKET"]) == before
        previews = conn.execute("SELECT run_id, bucket, object_key FROM governance.report_index "
                                "WHERE workflow = 'retention_purge' AND object_key LIKE '%%.json'").fetchall()
    assert {run_id for run_id, _, _ in previews} == {run["dag_run_id"] for run in runs}
    for _, bucket, key in previews:
        report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert report["dry_run"] is True, key
        assert sum(rule["eligible"] for rule in report["rules"]) > 0, key  # there was something to delete


def dag_runs(url: str, dag_id: str) -> list[dict]:
    token = airflow_api("/auth/token", body={"username": "admin", "password": ADMIN_PASSWORD},
                        base_url=url)["access_token"]
    return airflow_api(f"/api/v2/dags/{dag_id}/dagRuns?limit=100", token, base_url=url)["dag_runs"]


def new_finished_runs(url: str, dag_id: str, earlier: set[str], *, expected: int, timeout: float = 420) -> list[dict]:
    """The DAG's runs but those in `earlier`, once `expected` of them have finished, through the REST API."""
    deadline = time.monotonic() + timeout
    while True:
        runs = [run for run in dag_runs(url, dag_id) if run["dag_run_id"] not in earlier]
        done = [run for run in runs if run["state"] in ("success", "failed")]
        if len(done) >= expected or time.monotonic() > deadline:
            return runs
        time.sleep(3)

