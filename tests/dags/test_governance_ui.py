"""The Governance view against the real API server (`airflow api-server`, SimpleAuthManager with an
admin and a read-only viewer), the real database and S3: login, rights, pages, holds, downloads and
the evidence pack."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from scripts import stack
from tests.dags.conftest import airflow_base_env, free_port, serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASSWORDS = {"admin": "admin-secret", "viewer": "viewer-secret"}


class Server:
    """HTTP calls to the API server, as a user of a given login (or none)."""

    def __init__(self, url: str):
        self.url = url
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self.tokens:
            answer = self.call("POST", "/auth/token", body={"username": user, "password": PASSWORDS[user]})
            self.tokens[user] = json.loads(answer[1])["access_token"]
        return self.tokens[user]

    def call(self, method: str, path: str, *, user: str | None = None, body=None, raw: bytes | None = None,
             content_type: str = "application/json", cookie: bool = False) -> tuple[int, bytes, dict]:
        headers = {"Content-Type": content_type}
        if user:
            headers["Cookie" if cookie else "Authorization"] = (
                f"_token={self.token(user)}" if cookie else f"Bearer {self.token(user)}")
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)


@pytest.fixture(scope="module")
def server(stack_env, airflow_metadata, ui_database, ui_buckets, tmp_path_factory):
    """`airflow api-server` with this project's plugins, on a port of its own."""
    home = tmp_path_factory.mktemp("ui_home")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    env = airflow_base_env(stack_env, home)
    port = free_port()
    env.update(
        AIRFLOW_CONN_GOVERNANCE_VIEW_DB=ui_database.replace("postgres@", f"{stack.VIEW_ROLE}@", 1),
        APP_DB_URL=ui_database,
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,viewer:viewer",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        AIRFLOW__API_AUTH__JWT_SECRET="governance-ui-test-" + uuid.uuid4().hex,
        AIRFLOW__CORE__LAZY_LOAD_PLUGINS="False",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        **ui_buckets,
    )
    url = f"http://127.0.0.1:{port}"
    argv = ["airflow", "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with serve(argv, env, url, home / "api-server.log"):
        yield Server(url)


@pytest.fixture
def app_conn(ui_database):
    with psycopg.connect(ui_database, autocommit=True) as conn:
        yield conn


def published(conn, s3, ui_buckets, *, workflow="retention_purge", body=b'{"ok": true}\n',
              key="retention_purge/2026-11-30/run/purge_report.json"):
    """A report written and indexed the way the workflows write one."""
    from governance.reports import publish

    os.environ["REPORTS_BUCKET"] = ui_buckets["REPORTS_BUCKET"]
    return publish(conn, s3, workflow=workflow, run_id="run", report_type="purge_report", object_key=key, body=body,
                   summary={"status": "completed", "totals": {"rows_deleted": 478, "objects_deleted": 458}},
                   bucket=ui_buckets["REPORTS_BUCKET"])


# -- security -----------------------------------------------------------------------------------


def test_without_a_login_every_page_answers_401(server):
    for path in ("/governance/", "/governance/reports", "/governance/ledger", "/governance/holds",
                 "/governance/evidence.zip?period_start=2026-11-01&period_end=2026-12-01", "/governance/reports/1"):
        status, _, _ = server.call("GET", path)
        assert status == 401, path
    assert server.call("POST", "/governance/holds", body={"user_id": 1})[0] == 401


def test_a_read_only_user_sees_the_pages_but_may_not_place_a_hold(server, app_conn):
    app_conn.execute("INSERT INTO app.users (user_id, email) VALUES (4242, 'held@example.com') ON CONFLICT DO NOTHING")
    status, body, _ = server.call("GET", "/governance/", user="viewer")
    assert status == 200, body[:2000]
    status, body, _ = server.call("POST", "/governance/holds", user="viewer",
                                  body={"user_id": 4242, "reason": "litigation", "reference": "CASE-1"})
    assert status == 403, body
    assert app_conn.execute("SELECT count(*) FROM governance.legal_holds").fetchone()[0] == 0
    # The viewer sees no user ids on the holds page.
    page = server.call("GET", "/governance/holds", user="viewer")[1].decode()
    assert "<th>User id</th>" not in page
    assert "Place hold" not in page


def test_writes_take_json_only_and_bad_input_gets_a_clear_4xx(server, app_conn):
    app_conn.execute("INSERT INTO app.users (user_id, email) VALUES (4343, 'x@example.com') ON CONFLICT DO NOTHING")
    form = server.call("POST", "/governance/holds", user="admin", raw=b"user_id=4343&reason=x&reference=y",
                       content_type="application/x-www-form-urlencoded", cookie=True)
    assert form[0] == 415
    cases = [
        ({"user_id": 999999999, "reason": "litigation", "reference": "CASE-2"}, 404, "user_id: no account has user id"),
        ({"user_id": 4343, "reason": "  ", "reference": "CASE-2"}, 422, "reason: must not be empty"),
        ({"user_id": "4343", "reason": "litigation", "reference": "CASE-2"}, 422, "user_id: must be a positive"),
        ({"user_id": 4343, "reason": "litigation"}, 422, "reference: must not be empty"),
        ({"user_id": 4343, "reason": "x", "reference": "y", "email": "a@b"}, 422, "email: is not a field"),
    ]
    for body, status, message in cases:
        answer = server.call("POST", "/governance/holds", user="admin", body=body)
        assert (answer[0], message in json.loads(answer[1])["detail"]) == (status, True), (body, answer)
    for query, message in (("period_start=2026-11-10&period_end=2026-11-01", "must be after period_start"),
                           ("period_start=2026-13-01&period_end=2026-12-01", "is not a date"),
                           ("period_start=2026-11-01", "give both dates")):
        answer = server.call("GET", f"/governance/evidence.zip?{query}", user="admin")
        assert answer[0] == 422, (query, answer)
        assert message in json.loads(answer[1])["detail"], (query, answer)
    assert app_conn.execute("SELECT count(*) FROM governance.legal_holds").fetchone()[0] == 0


def test_a_report_outside_the_index_is_refused(server, app_conn, s3, ui_buckets):
    s3.put_object(Bucket=ui_buckets["REPORTS_BUCKET"], Key="ledger-anchors/secret.json", Body=b"{}")
    for path in ("/governance/reports/987654", "/governance/reports/..%2F..%2Fledger-anchors%2Fsecret.json",
                 "/governance/reports/ledger-anchors/secret.json"):
        assert server.call("GET", path, user="admin")[0] in (404, 422), path


def test_a_report_gone_from_the_bucket_answers_410_in_plain_words(server, app_conn, s3, ui_buckets):
    from scripts.s3_reconcile import mark_missing_reports

    gone = published(app_conn, s3, ui_buckets, body=b'{"gone": true}\n',
                     key="retention_purge/2026-11-28/run/purge_report.json")
    s3.delete_object(Bucket=ui_buckets["REPORTS_BUCKET"], Key=gone.object_key)
    # At fetch time, before make services noticed: 410 and a sentence, not a 500.
    status, body, headers = server.call("GET", f"/governance/reports/{gone.report_id}?download=true", user="viewer")
    assert (status, headers["content-type"].split(";")[0]) == (410, "text/plain"), body
    assert body.decode() == f"report {gone.report_id} ({gone.object_key}) is no longer in its bucket\n"
    # Once marked, the report index shows it as gone, with no link to it.
    mark_missing_reports(app_conn, s3)
    page = server.call("GET", "/governance/reports", user="viewer")[1].decode()
    assert f"{gone.object_key} · <strong>gone</strong> from the bucket" in page
    assert f'href="reports/{gone.report_id}"' not in page
    assert server.call("GET", f"/governance/reports/{gone.report_id}", user="viewer")[0] == 410


# -- pages and data -------------------------------------------------------------------------------


def test_the_promises_page_shows_each_promise_its_last_report_and_what_it_recorded(server, app_conn, s3, ui_buckets):
    report = published(app_conn, s3, ui_buckets)
    page = server.call("GET", "/governance/", user="viewer")[1].decode()
    assert "Account data: until account deletion + 30 days" in page
    assert "retention_purge" in page
    assert "cross_border_transfer_report" in page
    assert f'href="reports/{report.report_id}"' in page
    rows = json.loads(server.call("GET", "/governance/api/promises", user="viewer")[1])
    purge = next(row for row in rows if row["rule"] == "deleted_accounts")
    assert purge["evidence"]["report_id"] == report.report_id
    assert purge["recorded"] == {}  # the rule has not run: the workflow's totals are not shown as the rule's
    app_conn.execute("INSERT INTO governance.rule_runs (workflow, run_id, rule, cutoff, policy_sha256, state, "
                     "started_at, finished_at, counts, batches) VALUES ('retention_purge', 'run', 'deleted_accounts',"
                     " now(), repeat('a', 64), 'completed', now(), now(), '{\"subjects_erased\": 3, "
                     "\"rows_deleted\": 0}', 1)")
    rows = json.loads(server.call("GET", "/governance/api/promises", user="viewer")[1])
    assert next(row for row in rows if row["rule"] == "deleted_accounts")["recorded"] == {"subjects_erased": 3}
    checks = next(row for row in rows if row["workflow"] == "retention_purge" and row["rule"] == "sessions")
    assert checks["recorded"] == {}
    status, body, headers = server.call("GET", f"/governance/reports/{report.report_id}?download=true", user="viewer")
    assert status == 200
    assert body == b'{"ok": true}\n'
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["x-content-sha256"] == hashlib.sha256(body).hexdigest()


def test_a_hold_round_trip_is_in_the_ledger_and_honoured_by_the_next_purge(server, app_conn, ui_database, s3,
                                                                           ui_buckets):
    from governance.policy import load_retention_policy
    from governance.purge import PurgeSettings, purge_rule

    gone = datetime(2026, 10, 1, tzinfo=UTC)
    app_conn.execute("INSERT INTO app.users (user_id, email, created_at, deleted_at) VALUES "
                     "(5151, 'gone@example.com', '2024-01-01', %s), (5252, 'gone2@example.com', '2024-01-01', %s)",
                     (gone, gone))
    placed = server.call("POST", "/governance/holds", user="admin",
                         body={"user_id": 5151, "reason": "litigation hold", "reference": "CASE-7"})
    assert placed[0] == 201, placed
    hold_id = json.loads(placed[1])["hold_id"]
    entries = app_conn.execute("SELECT action, details FROM governance.audit_ledger ORDER BY seq").fetchall()
    assert entries[-1] == ("legal_hold_placed", {"hold_id": hold_id, "reference": "CASE-7", "by": "admin"})
    ledger_page = server.call("GET", "/governance/ledger", user="viewer")[1].decode()
    assert "legal hold placed" in ledger_page

    policy = load_retention_policy()
    with psycopg.connect(ui_database.replace("postgres@", f"{stack.WORKFLOW_ROLE}@", 1), autocommit=True) as work:
        settings = PurgeSettings(run_id="after-hold", run_cutoff=datetime.now(UTC) - timedelta(minutes=1),
                                 dry_run=False, batch_size=100, max_rows_per_rule=1000,
                                 media_bucket=ui_buckets["MEDIA_BUCKET"])
        purge_rule(work, s3, policy=policy, rule="deleted_accounts", settings=settings)
    remaining = {row[0] for row in app_conn.execute("SELECT user_id FROM app.users WHERE user_id IN (5151, 5252)")}
    assert remaining == {5151}  # the held account stayed; the other one went
    # The promises page shows what that real run of the rule recorded.
    rows = json.loads(server.call("GET", "/governance/api/promises", user="viewer")[1])
    accounts = next(row for row in rows if row["rule"] == "deleted_accounts")
    assert (accounts["rule_state"], accounts["recorded"].get("subjects_erased")) == ("completed", 1)

    released = server.call("POST", f"/governance/holds/{hold_id}/release", user="admin",
                           body={"reason": "case closed", "reference": "CASE-7"})
    assert released[0] == 200, released
    again = server.call("POST", f"/governance/holds/{hold_id}/release", user="admin",
                        body={"reason": "case closed", "reference": "CASE-7"})
    assert again[0] == 404
    assert app_conn.execute("SELECT action FROM governance.audit_ledger ORDER BY seq DESC LIMIT 1").fetchone()[0] \
        == "legal_hold_released"
    page = server.call("GET", "/governance/holds", user="admin")[1].decode()
    assert "case closed" in page
    assert "CASE-7" in page
    assert "gone@example.com" not in page


def test_the_evidence_pack_verifies_offline(server, app_conn, s3, ui_buckets, tmp_path):
    report = published(app_conn, s3, ui_buckets, key="retention_purge/2026-11-30/run2/purge_report.html",
                       body=b"<html>evidence</html>")
    today = datetime.now(UTC).date()
    window = f"period_start={today - timedelta(days=1)}&period_end={today + timedelta(days=1)}"
    status, body, _ = server.call("GET", f"/governance/evidence.zip?{window}", user="viewer")
    assert status == 200, body[:500]
    with zipfile.ZipFile(io.BytesIO(body)) as pack:
        names = set(pack.namelist())
        pack.extractall(tmp_path)
    assert {"SHA256SUMS", "README.md", "verify_ledger.py", "ledger.jsonl", "manifests.json"} <= names
    assert f"reports/{report.object_key}" in names
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(names) - 1
    ledger = subprocess.run(["python3", "verify_ledger.py"], cwd=tmp_path, capture_output=True, text=True)
    assert ledger.returncode == 0, ledger.stdout
    assert "ledger extract intact" in ledger.stdout
    # Tampering with an entry is caught by the script.
    lines = (tmp_path / "ledger.jsonl").read_text().splitlines()
    assert lines, "the period's ledger has entries"
    entry = json.loads(lines[0])
    entry["counts"] = {**entry["counts"], "holds_placed": 99}
    (tmp_path / "ledger.jsonl").write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")
    broken = subprocess.run(["python3", "verify_ledger.py"], cwd=tmp_path, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "content changed" in broken.stdout
    assert "gone@example.com" not in body.decode(errors="replace")


def test_the_plugin_registers_a_nav_entry_with_a_relative_link(server):
    plugins = json.loads(server.call("GET", "/api/v2/plugins", user="admin")[1])["plugins"]
    ours = next(p for p in plugins if p["name"] == "governance")
    view = ours["external_views"][0]
    assert (view["href"], view["destination"], view["url_route"]) == ("governance/", "nav", "governance")
    assert ours["fastapi_apps"][0]["url_prefix"] == "/governance"

