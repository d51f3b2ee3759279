"""The Governance view in a real browser: Debian's chromium, driven by Playwright, against `airflow
standalone`. It logs in, opens Governance from the navigation, sees the promises and the latest purge
report, downloads the report and places a hold; screenshots go to .local/artifacts/.

Where chromium is missing the test is skipped, saying how to enable it (`make test` installs it as root).
"""

from __future__ import annotations

import json
import shutil
import uuid

import psycopg
import pytest

from scripts import stack
from tests.dags.conftest import ROOT, airflow_base_env, free_port, serve
from tests.dags.test_governance_ui import published

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / ".local" / "artifacts"
ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex[:8]


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


def test_a_user_logs_in_opens_governance_downloads_the_purge_report_and_places_a_hold(
    standalone, ui_database, s3, ui_buckets, tmp_path
):
    from playwright.sync_api import sync_playwright

    with psycopg.connect(ui_database, autocommit=True) as conn:
        conn.execute("INSERT INTO app.users (user_id, email) VALUES (777, 'browser@example.com')")
        report = published(conn, s3, ui_buckets,
                           key="retention_purge/2026-11-30/nightly/purge_report.html",
                           body=b"<!doctype html><title>Purge report</title><h1>Retention purge report</h1>")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(standalone + "/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
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
        frame.locator('input[name="user_id"]').fill("777")
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
    assert held == [(777, "CASE-2026-17", "admin")]
