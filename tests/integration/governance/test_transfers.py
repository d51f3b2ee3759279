"""The transfer capture and the monthly inventory against the real PostgreSQL and S3 server: exact
counts, counts that survive the purge, reproducible files, every kind of finding, the change against
the previous period, an empty period, a killed capture, and no personal value in any output."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from governance.dsr import load_subject_rights_policy
from governance.keys import pseudonym_key
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.register import load_jurisdictions, load_transfer_register
from governance.storage import list_keys
from governance.transfer_report import RussianCalendar, publish_inventory
from governance.transfers import SKETCH_STANDARD_ERROR, Period, capture, sketch_seed
from scripts.seeding import seed
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
AS_OF = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # the night after November
NOVEMBER = Period(date(2026, 11, 1), date(2026, 12, 1))
SCALE = 150


def fz152_calendar() -> RussianCalendar:
    fz152 = load_subject_rights_policy().model.jurisdictions["fz152"]
    return RussianCalendar(frozenset(fz152.holidays), fz152.zone)


def capture_until(url: str, until: datetime = AS_OF, *, register=None, run_id: str = "capture"):
    register = register or load_transfer_register()
    with psycopg.connect(url, autocommit=True) as conn:
        return capture(conn, register.model, register_sha256=register.sha256, until=until, run_id=run_id,
                       seed=sketch_seed(pseudonym_key()))


def inventory(url: str, s3, period: Period = NOVEMBER, *, register=None, run_id: str = "report"):
    with psycopg.connect(url, autocommit=True) as conn:
        return publish_inventory(conn, s3, register=register or load_transfer_register(),
                                 jurisdictions=load_jurisdictions(), calendar=fz152_calendar(), period=period,
                                 run_id=run_id)


def bodies(s3, buckets, keys) -> dict[str, bytes]:
    return {key[key.rfind("."):]: s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read() for key in keys}


def register_variant(tmp_path: Path, change) -> object:
    data = yaml.safe_load((ROOT / "include" / "policy" / "transfers.yaml").read_text())
    change(data)
    path = tmp_path / "transfers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_transfer_register(path)


def recipient(data: dict, code: str) -> dict:
    return next(r for r in data["recipients"] if r["code"] == code)


def exact(conn, query: str, params=()) -> dict[str, tuple[int, int]]:
    return {code: (records, subjects) for code, records, subjects in conn.execute(query, params)}


# -- counts ------------------------------------------------------------------------------------


def test_counts_equal_a_count_of_the_rows_and_subjects_their_distinct_people(conn, workflow_url, s3, buckets):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False)
    conn.commit()
    done = capture_until(workflow_url)
    assert done.windows
    assert {w["method"] for w in done.windows} == {"backfilled"}
    document, _ = inventory(workflow_url, s3)

    start, end = NOVEMBER.bounds()
    expected = exact(conn, "SELECT model_provider, count(*), count(DISTINCT user_id) FROM app.generations"
                           " WHERE created_at >= %s AND created_at < %s GROUP BY 1", (start, end))
    expected |= exact(conn, "SELECT processor, count(*), count(DISTINCT user_id) FROM app.payments"
                            " WHERE created_at >= %s AND created_at < %s GROUP BY 1", (start, end))
    assert sum(records for records, _ in expected.values()) > 100  # enough rows for the test to mean something
    found = {r["code"]: (r["volume"]["records"], r["volume"]["subjects"]) for r in document["recipients"]
             if r["volume"]["records"]}
    assert found.keys() == expected.keys()
    for code, (records, subjects) in expected.items():
        assert found[code][0] == records, code
        assert abs(found[code][1] - subjects) <= max(1, 3 * SKETCH_STANDARD_ERROR * subjects), code
    # A record reaches each destination of its recipient: Google's count is under Ireland and the US.
    google = next(r for r in document["recipients"] if r["code"] == "google_vertex")
    assert [d["volume"]["records"] for d in google["destinations"]] == [expected["google_vertex"][0]] * 2
    assert document["coverage"] == {"days": 30, "captured": 30, "backfilled": 30, "missing_days": [],
                                    "sentence": document["coverage"]["sentence"]}
    assert document["coverage"]["sentence"].startswith("30 of 30 days captured (30 backfilled")


def test_counts_are_the_same_whether_the_purge_ran_before_the_report_or_not(conn, workflow_url, s3, buckets):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False,
         inject="overdue,unregistered_recipient")
    conn.commit()
    capture_until(workflow_url)  # as retention_purge does, ahead of its rules
    before, keys = inventory(workflow_url, s3, run_id="before-purge")
    start, end = NOVEMBER.bounds()
    in_november = "SELECT count(*) FROM app.generations WHERE created_at >= %s AND created_at < %s"
    rows_before = conn.execute(in_november, (start, end)).fetchone()[0]

    policy = load_retention_policy()
    with psycopg.connect(workflow_url, autocommit=True) as work:
        for rule in policy.model.rules_for("retention_purge"):
            settings = PurgeSettings(run_id="purge", run_cutoff=AS_OF, dry_run=False, batch_size=500,
                                     max_rows_per_rule=1_000_000, media_bucket=buckets.media)
            purge_rule(work, s3, policy=policy, rule=rule.name, settings=settings)
    conn.rollback()
    rows_after = conn.execute(in_november, (start, end)).fetchone()[0]
    assert rows_after < rows_before, "the purge must delete November generations, or this test proves nothing"

    capture_until(workflow_url, AS_OF, run_id="after-purge")  # a rerun at the same cutoff adds nothing
    after, keys_after = inventory(workflow_url, s3, run_id="after-purge")
    assert after == before
    assert bodies(s3, buckets, keys_after)[".json"] == bodies(s3, buckets, keys)[".json"]
    generations = sum(r["volume"]["records"] for r in after["recipients"] if r["category"] == "ai_model_provider")
    generations += next(u["volume"]["records"] for u in after["unregistered"] if u["recipient"] == "shadow_ai_labs")
    assert generations == rows_before > rows_after


def test_the_same_period_on_the_same_data_gives_byte_identical_json_and_csv(conn, workflow_url, s3, buckets):
    seed(conn, None, scale=20, as_of=AS_OF, media_bucket=None, put_media=False)
    conn.commit()
    capture_until(workflow_url)
    _, keys = inventory(workflow_url, s3, run_id="first")
    first = bodies(s3, buckets, keys)
    indexed = conn.execute("SELECT count(*) FROM governance.report_index").fetchone()[0]
    _, again = inventory(workflow_url, s3, run_id="second")
    second = bodies(s3, buckets, again)
    assert keys == again == [f"cross_border_transfer_report/2026-11/transfer_inventory{suffix}"
                             for suffix in (".json", ".html", ".csv", ".pdf")]
    assert first[".json"] == second[".json"]
    assert first[".csv"] == second[".csv"]
    assert first[".html"] == second[".html"]
    assert second[".pdf"].startswith(b"%PDF-")
    # The same bytes are indexed once: only the PDF (which carries its creation time) adds a row.
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM governance.report_index").fetchone()[0] <= indexed + 1
    rows = first[".csv"].decode().splitlines()
    assert rows[0].startswith("period_start,period_end,recipient_code,recipient_name,registered,")
    assert len(rows) - 1 == sum(len(r.destinations) for r in load_transfer_register().model.recipients)


# -- findings -----------------------------------------------------------------------------------


def test_every_kind_of_finding_is_raised_with_a_severity_and_what_to_do(conn, workflow_url, s3, buckets, tmp_path):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False,
         inject="unregistered_recipient,disclosure_without_basis")
    # A disclosure to an authority in a country no recipient of the register covers.
    conn.execute("INSERT INTO app.disclosures (disclosure_id, user_id, authority, country, legal_basis, disclosed_at)"
                 " VALUES (77, (SELECT min(user_id) FROM app.users), 'Ministry of Public Security', 'CN',"
                 " 'GDPR art. 49(1)(e)', '2026-11-20T10:00:00Z')")
    conn.commit()

    def plant(data):
        recipient(data, "openai")["destinations"][0].pop("gdpr")  # no tool for a country
        kling = recipient(data, "kling_ai")
        kling["destinations"][1]["gdpr"] = {"mechanism": "not_applicable", "note": "wrongly thought in the EEA"}
        kling["transfers_since"] = "2026-11-10"  # notified in November, transfers since the 1st
        kling["ru_152fz"]["notification"]["date"] = "2026-11-10"
        recipient(data, "stripe")["review"]["date"] = "2026-11-15"  # review passed in the period
        data["recipients"].append({  # registered, never seen
            "code": "old_vendor", "name": "Old Vendor GmbH", "address": "Berlin", "category": "ai_model_provider",
            "role": "processor", "purpose": "Image upscaling", "data_subjects": ["users"],
            "data_categories": ["generated_media"], "transfers_since": "2024-01-01",
            "destinations": [{"country": "DE", "access": ["hosting"],
                              "gdpr": {"mechanism": "not_applicable", "note": "Inside the EEA"}}],
            "review": {"date": "2027-01-01", "owner": "DPO"},
            "shows_up_in": [{"table": "generations", "column": "model_provider", "match": "code",
                             "clock": "created_at", "data_categories": ["generated_media"]}]})

    register = register_variant(tmp_path, plant)
    capture_until(workflow_url, register=register)
    document, keys = inventory(workflow_url, s3, register=register)
    found = {f["id"]: f for f in document["findings"]}
    expected = {
        "unregistered_transfer:shadow_ai_labs": "critical",
        "unregistered_transfer:quickpay_offshore": "critical",
        "unregistered_transfer:disclosures.country=CN": "critical",
        "missing_mechanism:openai:US": "high",
        "no_sccs_or_bcrs:kling_ai:CN": "high",
        "no_sccs_or_bcrs:foreign_authorities:KZ": "medium",  # an Art. 49 derogation for a non-adequate country
        "before_lawful_date:kling_ai:CN": "critical",  # not adequate: 10 working days after filing
        "before_lawful_date:kling_ai:SG": "critical",  # adequate (Roskomnadzor's list): from the filing day
        "missing_legal_basis:foreign_authorities": "high",
        "review_overdue:stripe": "medium",
        "stale_entry:old_vendor": "low",
    }
    assert {key: found[key]["severity"] for key in expected if key in found} == expected
    assert all(f["action"] and f["title"] and f["detail"] for f in found.values())
    assert "the earliest lawful date is 2026-11-25" in found["before_lawful_date:kling_ai:CN"]["detail"]
    assert "5 records in the period have no legal basis" in found["missing_legal_basis:foreign_authorities"]["detail"]
    html = bodies(s3, buckets, keys)[".html"].decode()
    assert all(finding["title"].replace("'", "&#39;") in html for finding in found.values())


def test_the_shipped_register_on_clean_data_has_no_critical_or_high_finding(conn, workflow_url, s3, buckets):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False)
    conn.commit()
    capture_until(workflow_url)
    document, _ = inventory(workflow_url, s3)
    assert [f["id"] for f in document["findings"] if f["severity"] in ("critical", "high")] == []


def test_the_change_against_the_previous_period(conn, data, workflow_url, s3, buckets):
    people = [data.user(), data.user()]
    october, november = datetime(2026, 10, 15, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC)
    for when, provider, person in [(october, "openai", 0)] * 3 + [(november, "openai", 0)] * 4 + [
            (november, "openai", 1), (november, "stability_ai", 1), (october, "runway", 0)]:
        gid = data.generation(people[person], created_at=when)
        conn.execute("UPDATE app.generations SET model_provider = %s WHERE generation_id = %s", (provider, gid))
    data.commit()
    capture_until(workflow_url)
    document, _ = inventory(workflow_url, s3)
    volume = {r["code"]: r["volume"] for r in document["recipients"]}
    assert volume["openai"] == {"records": 5, "subjects": 2, "previous_records": 3, "previous_subjects": 1,
                                "change": {"difference": 2, "percent": 66.7}}
    assert volume["stability_ai"]["change"] == {"difference": 1, "percent": None}  # new this period
    assert volume["runway"]["change"] == {"difference": -1, "percent": -100.0}
    assert document["previous_period"]["label"] == "2026-10"
    assert document["totals"]["records"] == 6
    assert document["totals"]["previous_records"] == 4


def test_an_empty_period_gives_a_report_that_says_so(conn, workflow_url, s3, buckets):
    capture_until(workflow_url)
    document, keys = inventory(workflow_url, s3)
    assert document["empty"] is True
    assert document["summary"].startswith("No transfers were recorded in November 2026. 0 of 30 days captured.")
    assert "No transfers were recorded" in bodies(s3, buckets, keys)[".html"].decode()


# -- crash safety -------------------------------------------------------------------------------

CAPTURE_SCRIPT = """
import sys
from datetime import datetime
import psycopg
sys.path.insert(0, "plugins")
from governance.keys import pseudonym_key
from governance.register import load_transfer_register
from governance.transfers import capture, sketch_seed
register = load_transfer_register()
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    capture(conn, register.model, register_sha256=register.sha256, until=datetime.fromisoformat(sys.argv[2]),
            run_id="killed", seed=sketch_seed(pseudonym_key()))
"""


def kill_capture_inside_a_window(db_url: str, workflow_url: str, until: datetime) -> None:
    """Start a capture in its own process, let it block inside a window's transaction, after it wrote the
    window and before its aggregates (the test holds governance.transfer_daily), and kill it there."""
    # A second connection watches: inside the blocker's transaction pg_stat_activity would not change.
    with psycopg.connect(db_url) as blocker, psycopg.connect(db_url, autocommit=True) as watcher:
        blocker.execute("LOCK TABLE governance.transfer_daily IN ACCESS EXCLUSIVE MODE")
        worker = subprocess.Popen([sys.executable, "-c", CAPTURE_SCRIPT, workflow_url, until.isoformat()], cwd=ROOT,
                                  env={**os.environ})
        try:
            wait_for(lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                " AND query LIKE %s", ("%INSERT INTO governance.transfer_daily%",)).fetchone()[0] == 1,
                "the capture to wait inside its window")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        blocker.rollback()


def test_a_capture_killed_inside_a_window_loses_nothing_and_its_rerun_counts_each_row_once(
    conn, db_url, workflow_url, s3, buckets
):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False)
    conn.commit()
    kill_capture_inside_a_window(db_url, workflow_url, AS_OF - timedelta(days=3))  # in the first backfill window
    assert conn.execute("SELECT count(*) FROM governance.transfer_windows").fetchone()[0] == 0
    capture_until(workflow_url, AS_OF - timedelta(days=3))
    windows = conn.execute("SELECT count(*) FROM governance.transfer_windows").fetchone()[0]
    conn.rollback()
    kill_capture_inside_a_window(db_url, workflow_url, AS_OF)  # in a nightly window
    assert conn.execute("SELECT count(*) FROM governance.transfer_windows").fetchone()[0] == windows
    conn.rollback()
    capture_until(workflow_url, AS_OF)

    conn.rollback()
    windows = conn.execute("SELECT captured_from, captured_to, method FROM governance.transfer_windows"
                           " ORDER BY captured_from").fetchall()
    assert all(earlier[1] == later[0] for earlier, later in itertools.pairwise(windows))  # no gap
    assert windows[-1][1:] == (AS_OF, "captured")
    captured = conn.execute("SELECT sum(records) FROM governance.transfer_daily").fetchone()[0]
    rows = conn.execute("SELECT (SELECT count(*) FROM app.generations WHERE created_at < %(t)s)"
                        " + (SELECT count(*) FROM app.payments WHERE created_at < %(t)s)"
                        " + (SELECT count(*) FROM app.disclosures WHERE disclosed_at < %(t)s)", {"t": AS_OF})
    assert captured == rows.fetchone()[0]


# -- privacy ------------------------------------------------------------------------------------


def test_no_output_holds_an_email_a_user_id_an_ip_or_a_prompt(conn, workflow_url, s3, buckets):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False,
         inject="raw_prompts,raw_ips,unregistered_recipient,disclosure_without_basis,overdue")
    conn.commit()
    from scripts.seeding.prompts import canary_prompts

    capture_until(workflow_url)
    with psycopg.connect(workflow_url, autocommit=True) as work:  # erase one person: pseudonyms appear
        policy = load_retention_policy()
        settings = PurgeSettings(run_id="purge", run_cutoff=AS_OF, dry_run=False, batch_size=500,
                                 max_rows_per_rule=1_000_000, media_bucket=buckets.media)
        purge_rule(work, s3, policy=policy, rule="deleted_accounts", settings=settings)
    capture_until(workflow_url, AS_OF + timedelta(hours=1), run_id="next")
    inventory(workflow_url, s3)
    conn.rollback()
    values = {email for (email,) in conn.execute("SELECT email FROM app.users")}
    values |= {str(uid) for (uid,) in conn.execute("SELECT user_id FROM app.users WHERE user_id >= 9000000000")}
    values |= {ip.strip() for (ip,) in conn.execute("SELECT ip_hash FROM app.sessions")}
    values |= {h.strip() for (h,) in conn.execute("SELECT prompt_hash FROM app.generations")}
    values |= {p for (p,) in conn.execute("SELECT user_pseudonym FROM app.payments WHERE user_pseudonym IS NOT NULL")}
    values |= set(canary_prompts())
    assert len(values) > 1000
    assert any(v.startswith("203.0.113.") for v in values)
    outputs = {key: s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read().decode(errors="replace")
               for key in list_keys(s3, buckets.reports) if not key.endswith(".pdf")}  # the PDF prints the HTML
    outputs["governance.transfer_daily"] = json.dumps(
        [row for (row,) in conn.execute("SELECT row_to_json(t)::text FROM governance.transfer_daily AS t")])
    outputs["governance.report_index"] = json.dumps(
        [row for (row,) in conn.execute("SELECT summary::text FROM governance.report_index")])
    assert len(outputs) == 5
    for name, text in outputs.items():
        leaked = sorted(value for value in values if value in text)
        assert not leaked, f"{name} holds {len(leaked)} personal values"


# -- the page ---------------------------------------------------------------------------------


def test_the_html_opens_offline_with_the_summary_first_then_the_recipients_then_the_findings(
    conn, workflow_url, s3, buckets, tmp_path
):
    seed(conn, None, scale=SCALE, as_of=AS_OF, media_bucket=None, put_media=False, inject="unregistered_recipient")
    conn.commit()
    capture_until(workflow_url)
    document, keys = inventory(workflow_url, s3)
    html = bodies(s3, buckets, keys)[".html"].decode()
    positions = [html.index(marker) for marker in ('class="summary"', "<h2>Recipients</h2>", 'id="findings"')]
    assert positions == sorted(positions)
    assert html.count("<svg ") == 2
    assert "Records by destination country" in html
    # Nothing to fetch: no script, stylesheet, image, font or frame; the one URL is the SVG namespace.
    assert not [tag for tag in ("<script", "<link", "<img", "<iframe", "url(", " src=") if tag in html]
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert document["summary"] in html

    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium not installed: `apt-get install -y chromium` to open the report in a browser")
    page = tmp_path / "transfer_inventory.html"
    page.write_text(html)
    artifacts = ROOT / ".local" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    # No network: a proxy that does not exist makes any fetch fail, and the page must not need one.
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9", "--window-size=1300,1600"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "Unregistered recipient &#39;shadow_ai_labs&#39;" in dom.stdout or "shadow_ai_labs" in dom.stdout
    assert "<svg" in dom.stdout
    shot = artifacts / "transfer_inventory.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000


def test_a_recipient_dropped_from_the_register_after_its_transfers_is_reported_as_unregistered(
    conn, data, workflow_url, s3, buckets, tmp_path
):
    person = data.user()
    gid = data.generation(person, created_at=datetime(2026, 11, 20, tzinfo=UTC))
    conn.execute("UPDATE app.generations SET model_provider = 'runway' WHERE generation_id = %s", (gid,))
    data.commit()
    capture_until(workflow_url)  # captured while runway was registered
    dropped = register_variant(tmp_path, lambda d: d["recipients"].remove(recipient(d, "runway")))
    document, _ = inventory(workflow_url, s3, register=dropped)
    assert [(u["recipient"], u["volume"]["records"]) for u in document["unregistered"]] == [("runway", 1)]
    assert "unregistered_transfer:runway" in {f["id"] for f in document["findings"]}
    assert document["totals"]["records"] == 1
