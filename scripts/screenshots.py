"""Screenshots of the Governance view for the README, from the running demo (`make demo` first).

    python scripts/screenshots.py   log in as admin in Debian's chromium (Playwright), open Governance
                                    from the navigation, and save its pages to docs/images/
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.local_airflow import AIRFLOW_URL, admin_password  # noqa: E402  (needs the repository on sys.path)

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
        for link, name in (("Legal holds", "governance-holds.png"), ("Audit ledger", "governance-ledger.png"),
                           ("Reports", "governance-reports.png")):
            frame.get_by_role("link", name=link).click()
            frame.locator("table").first.wait_for()
            page.screenshot(path=str(IMAGES / name))
        browser.close()
    print(f"saved to {IMAGES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
