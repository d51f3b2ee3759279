"""Screenshots for the README, from the running demo (`make demo` first).

    python scripts/screenshots.py   log in as admin in Debian's chromium (Playwright) and save to docs/images/:
                                    the Governance view's pages, retention_purge's Trigger form (and a bad
                                    value refused), the task log of the demo's purge, and its report
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.local_airflow import AIRFLOW_URL, admin_password, admin_token, airflow_api  # noqa: E402

IMAGES = ROOT / "docs" / "images"


def main() -> int:
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium")
    if browser_path is None:
        print("chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(AIRFLOW_URL + "/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(admin_password())
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Governance").first.click()
        frame = page.frame_locator("iframe").first
        frame.locator("table#promises").wait_for()
        page.screenshot(path=str(IMAGES / "governance-promises.png"))
        for link, heading, name in (("Legal holds", "Legal holds", "governance-holds.png"),
                                    ("Audit ledger", "Audit ledger", "governance-ledger.png"),
                                    ("Reports", "Report index", "governance-reports.png")):
            frame.get_by_role("link", name=link).click()
            frame.get_by_role("heading", name=heading).wait_for()  # the page it opened, not the one it left
            frame.locator("table").first.wait_for()
            page.screenshot(path=str(IMAGES / name))
        trigger_form(page)
        purge_log_and_report(page)
        browser.close()
    print(f"saved to {IMAGES.relative_to(ROOT)}/")
    return 0


def trigger_form(page) -> None:
    """The form as it opens (its defaults preview), then a batch size of 0 refused; nothing is triggered."""
    page.set_viewport_size({"width": 1400, "height": 1250})
    page.goto(f"{AIRFLOW_URL}/dags/retention_purge")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    batch_size = dialog.locator("input[name='element_batch_size']")
    batch_size.wait_for()
    page.screenshot(path=str(IMAGES / "trigger-form.png"))
    batch_size.fill("0")
    page.keyboard.press("Tab")
    dialog.get_by_role("button", name="Trigger").click()  # refused: the DAG is unpaused and no run starts
    dialog.get_by_text("Invalid input for param batch_size").wait_for()
    page.screenshot(path=str(IMAGES / "trigger-form-refused.png"))
    page.keyboard.press("Escape")


def purge_log_and_report(page) -> None:
    """The log of the demo's last manual purge of sessions, and that run's HTML report."""
    token = admin_token()
    runs = airflow_api("/api/v2/dags/retention_purge/dagRuns?run_type=manual&state=success&order_by=-run_after"
                       "&limit=1", token)["dag_runs"]
    run_id = runs[0]["dag_run_id"]
    mapped = airflow_api(f"/api/v2/dags/retention_purge/dagRuns/{quote(run_id, safe='')}/taskInstances"
                         "?task_id=purge&limit=50", token)["task_instances"]
    index = next(ti["map_index"] for ti in mapped if ti.get("rendered_map_index") == "sessions")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{AIRFLOW_URL}/dags/retention_purge/runs/{quote(run_id, safe='')}/tasks/purge/mapped/{index}")
    page.get_by_text("rule sessions: completed").first.wait_for()
    page.screenshot(path=str(IMAGES / "purge-task-log.png"))
    page.goto(f"{AIRFLOW_URL}/governance/reports/{report_id(run_id)}")
    page.wait_for_load_state()
    page.screenshot(path=str(IMAGES / "purge-report.png"), full_page=True)


def report_id(run_id: str) -> int:
    import psycopg

    with psycopg.connect(os.environ["APP_DB_URL"]) as conn:
        return conn.execute("SELECT report_id FROM governance.report_index WHERE workflow = 'retention_purge' AND "
                            "run_id = %s AND object_key LIKE '%%.html'", (run_id,)).fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
