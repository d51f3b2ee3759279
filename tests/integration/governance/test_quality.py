"""The data-quality suites against the real PostgreSQL and S3 server, on seeded data: clean data passes, each
planted violation is caught by its own suite and no other, and no finding repeats a value."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from governance.data_map import load_data_map
from governance.lifecycle import Timeouts
from governance.policy import load_retention_policy
from governance.purge import PurgeSettings, purge_rule
from governance.quality import SUITES, SuiteRun, load_canaries, load_suite
from governance.quality_batches import IP_LITERAL
from governance.storage import list_keys
from scripts.seeding import seed
from scripts.seeding.clock import Clock
from scripts.seeding.injections import build_injections
from tests.factories import CUTOFF

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCALE = 40
# Which suite must catch each injection of the seeder (unregistered recipients and disclosures without a
# legal basis are the transfer report's).
CAUGHT_BY = {"raw_prompts": {"no_raw_prompts"}, "raw_ips": {"hashed_ips"}, "overdue": {"retention_compliance"},
             "prohibited_media": {"retention_compliance"}, "unregistered_recipient": set(),
             "raw_prompt_in_text": {"no_raw_prompts"}, "disclosure_without_basis": set()}
INJECTED_FROM = 9_000_000_000
ROOT = Path(__file__).resolve().parents[3]


def clean_up(workflow_url, s3, buckets, *, run_id="clean"):
    """What the nightly workflows do: every rule of the purge and of the archival, for real, at CUTOFF."""
    from governance.archive import ArchiveSettings, archive_rule

    policy = load_retention_policy()
    with psycopg.connect(workflow_url, autocommit=True) as conn:
        for rule in policy.model.rules:
            if rule.action == "archive_then_delete":
                settings = ArchiveSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=1000,
                                           archive_bucket=buckets.archive, timeouts=Timeouts())
                archive_rule(conn, s3, policy=policy, rule=rule.name, settings=settings)
            else:
                settings = PurgeSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=1000,
                                         max_rows_per_rule=1_000_000, media_bucket=buckets.media)
                purge_rule(conn, s3, policy=policy, rule=rule.name, settings=settings)


def critical_history(conn, s3, buckets):
    """Critical moderation events in three months past 90 days: the archival writes three objects."""
    from dateutil.relativedelta import relativedelta

    from tests.factories import Data

    data = Data(conn, s3, buckets.media)
    data.next_id = 8_000_000_000  # clear of the seeded ids
    person = data.user()
    for months in (4, 5, 6):
        data.moderation(person, severity="critical", created_at=CUTOFF - relativedelta(months=months))
    conn.commit()


def run_suite(workflow_url, s3, buckets, name, *, full_scan=True, run_id="dq-1", cutoff=CUTOFF, docs=None):
    retention = load_retention_policy()
    with psycopg.connect(workflow_url, autocommit=True) as conn:
        return SuiteRun(lambda: psycopg.connect(workflow_url, autocommit=True), conn, retention,
                        load_data_map(retention=retention).model, load_suite(name), run_id, cutoff, full_scan,
                        s3=s3, media_bucket=buckets.media, canaries=load_canaries(), publish_docs=docs).run()


def hold_injected_people(conn, *, release: bool):
    if release:
        conn.execute("UPDATE governance.legal_holds SET released_at = now() WHERE released_at IS NULL")
    else:
        conn.execute("INSERT INTO governance.legal_holds (user_id, reason, placed_by) "
                     "SELECT user_id, 'keep the planted violations through the clean-up', 'test' "
                     "FROM app.users WHERE user_id >= %s", (INJECTED_FROM,))
    conn.commit()


@pytest.fixture
def seeded(conn, s3, buckets, workflow_url, shape):
    """Seeded data with every injection, after a real purge and archival that the injected people's holds
    kept away from the planted rows; the holds are released again, so that the violations stand."""
    summary = seed(conn, s3, scale=SCALE, as_of=CUTOFF, media_bucket=buckets.media, inject=",".join(CAUGHT_BY),
                   partitioned=shape == "partitioned")
    conn.commit()
    hold_injected_people(conn, release=False)
    clean_up(workflow_url, s3, buckets)
    hold_injected_people(conn, release=True)
    return summary.manifest()["injections"]


def raw_values() -> list[str]:
    """The raw prompts and IPs that the seeder plants (the manifest holds only keys)."""
    planted = build_injections(["raw_prompts", "raw_ips", "raw_prompt_in_text"], 42, Clock(CUTOFF))
    rows = [row for injection in planted for table in ("generations", "moderation_events", "sessions", "usage_events")
            for row in injection.rows.get(table, [])]
    values = [row.get(column) for row in rows for column in ("prompt_hash", "ip_hash", "event_type")]
    return [value for value in values if isinstance(value, str) and value != "login" and len(value) != 64]


ID_COLUMNS = {"users": "user_id", "sessions": "session_id", "usage_events": "event_id", "generations": "generation_id",
              "uploads": "upload_id", "moderation_events": "event_id", "payments": "payment_id",
              "disclosures": "disclosure_id"}


def flagged_keys(outcome) -> set[tuple[str, str]]:
    """(table, key) of every row a failed check names. On the partitioned shape a row's key is (id, created_at):
    the id names the planted row, as on plain tables; the rest of a key (cookie_consents') is kept as it is."""
    flagged = set()
    for result in outcome.results:
        for entry in result.sample:
            table = result.batch.table.split(".")[-1]
            key = entry["key"]
            if table in ID_COLUMNS and ID_COLUMNS[table] in key:
                key = {ID_COLUMNS[table]: key[ID_COLUMNS[table]]}
            flagged.add((table, json.dumps(sorted(key.items()))))
    return flagged


def key_of(table, key) -> tuple[str, str]:
    return table, json.dumps([[ID_COLUMNS[table], key]])


def test_clean_seeded_data_passes_every_suite(conn, s3, buckets, workflow_url, shape):
    seed(conn, s3, scale=SCALE, as_of=CUTOFF, media_bucket=buckets.media, partitioned=shape == "partitioned")
    critical_history(conn, s3, buckets)
    clean_up(workflow_url, s3, buckets)
    for name in SUITES:
        outcome = run_suite(workflow_url, s3, buckets, name)
        assert outcome.results, name
        assert not [r.summary() for r in outcome.results if not r.success], name
    archive = run_suite(workflow_url, s3, buckets, "archive_integrity", run_id="dq-2")
    assert archive.results[0].batch.scope["objects_read"] >= 1, archive.results[0].batch.scope  # archived, read back
    # The next night is incremental: it reads only the bytes of manifests added since.
    night = run_suite(workflow_url, s3, buckets, "archive_integrity", full_scan=False, run_id="dq-3")
    assert not night.failed
    assert {r.batch.scope["mode"] for r in night.results} == {"incremental"}


def test_each_injection_is_caught_by_its_suite_and_by_no_other(seeded, workflow_url, s3, buckets):
    outcomes = {name: run_suite(workflow_url, s3, buckets, name) for name in SUITES}
    flagged = {name: flagged_keys(outcome) for name, outcome in outcomes.items()}
    for injection, expected_suites in CAUGHT_BY.items():
        violations = {key_of(table, key) for table, keys in seeded[injection]["violations"].items() for key in keys}
        assert violations, injection
        for suite in SUITES:
            caught = violations & flagged[suite]
            if suite in expected_suites:
                assert caught == violations, f"{suite} missed {sorted(violations - caught)} of {injection}"
            else:
                assert not caught, f"{suite} flagged {injection}: {sorted(caught)}"
    # And nothing but the planted rows: every finding is of an injected row.
    for suite, keys in flagged.items():
        assert all(json.loads(key)[0][1] >= INJECTED_FROM for _, key in keys), suite
    assert not outcomes["archive_integrity"].failed


def test_no_artifact_repeats_a_planted_raw_value(seeded, workflow_url, s3, buckets, conn, caplog):
    values = raw_values()
    assert len(values) >= 15
    assert any(":" in v for v in values)
    assert any(" " in v for v in values)
    caplog.set_level(logging.INFO)
    published = []

    def docs(pages):
        from governance.reports import publish

        with psycopg.connect(workflow_url, autocommit=True) as c:
            for relative, body in pages:
                publish(c, s3, workflow="data_quality_checks", run_id="dq-1", report_type="data_docs",
                        object_key=f"dq/{relative}", body=body, summary={}, bucket=buckets.reports)
                published.append(relative)
        return published

    outcomes = [run_suite(workflow_url, s3, buckets, name, docs=docs) for name in SUITES]
    assert any(o.failed for o in outcomes)
    assert published
    conn.rollback()
    artifacts = {
        "dq_results": json.dumps(conn.execute("SELECT json_agg(r) FROM governance.dq_results r").fetchone()[0]),
        "logs": caplog.text,
        "xcom": json.dumps([o.as_dict() for o in outcomes] + [r.as_dict() for o in outcomes for r in o.results]),
        "data_docs": "".join(s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read().decode()
                             for key in list_keys(s3, buckets.reports, "dq/")),
        "messages": " ".join(o.failure_message() for o in outcomes),
    }
    assert any(page.startswith("validations/") for page in published), published
    assert "^[0-9a-f]{64}$" in artifacts["data_docs"]  # the validation pages are there, and say what was checked
    for where, text in artifacts.items():
        leaked = [value for value in values if value in text]
        assert not leaked, f"{where} repeats {len(leaked)} planted raw value(s)"


def prompt_hash_check(outcome):
    return next(r for r in outcome.results
                if r.check == "prompt hash is a SHA-256" and r.batch.table == "app.generations")


def test_an_incremental_night_reads_only_new_rows_and_the_weekly_full_run_catches_an_old_one(
    conn, s3, buckets, workflow_url
):
    seed(conn, s3, scale=SCALE, as_of=CUTOFF, media_bucket=None, put_media=False)
    conn.commit()
    first = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=False, run_id="night-1")
    assert not first.failed
    # No watermark yet: the first night reads everything.
    assert {r.batch.scope["mode"] for r in first.results if "prompt_hashes" in r.batch.kinds} == {"full"}

    old = conn.execute("SELECT min(generation_id) FROM app.generations").fetchone()[0]
    conn.execute("UPDATE app.generations SET prompt_hash = 'a fox in the snow, old raw prompt' "
                 "WHERE generation_id = %s", (old,))
    new = conn.execute("INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, "
                       "media_key, status, created_at) SELECT max(generation_id) + 1, min(user_id), 'image', "
                       "'a new raw prompt, unhashed', 'openai', 'k', 'completed', now() FROM app.generations "
                       "RETURNING generation_id").fetchone()[0]
    conn.commit()
    night = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=False, run_id="night-2")
    hashes = prompt_hash_check(night)
    assert hashes.batch.scope["mode"] == "incremental"
    assert hashes.batch.scope["after"] == new - 1
    assert [entry["key"]["generation_id"] for entry in hashes.sample] == [new]  # the old one is not read

    full = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=True, run_id="sunday")
    hashes = prompt_hash_check(full)
    assert sorted(entry["key"]["generation_id"] for entry in hashes.sample) == [old, new]
    # A failed batch keeps its watermark: the next night reads the new row again.
    assert conn.execute("SELECT high_key FROM governance.dq_watermarks WHERE suite = 'no_raw_prompts' AND "
                        "table_name = 'app.generations'").fetchone()[0] == new - 1


def moderation_prompt_check(outcome):
    return next(r for r in outcome.results
                if r.check == "prompt hash is a SHA-256" and r.batch.table == "app.moderation_events")


def test_an_incremental_night_reads_only_new_ids_of_a_table_keyed_by_id_and_created_at(
    conn, s3, buckets, workflow_url, shape
):
    """On the partitioned shape moderation_events, sessions and usage_events are keyed (id, created_at): a night
    still reads only the ids above the watermark, as it does on plain tables keyed by the id alone, and every
    batch of those tables is incremental. A row written below the watermark (on the partitioned shape, an old id
    reused with another created_at) is not read that night; the weekly full scan finds it."""
    from scripts.seeding.shape import PARTITIONED_CLOCKS

    seed(conn, s3, scale=SCALE, as_of=CUTOFF, media_bucket=None, put_media=False, partitioned=shape == "partitioned")
    conn.commit()
    first = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=False, run_id="night-1")
    assert not first.failed
    watermark = conn.execute("SELECT key_column, high_key FROM governance.dq_watermarks WHERE suite = "
                             "'no_raw_prompts' AND table_name = 'app.moderation_events'").fetchone()
    old, high = conn.execute("SELECT min(event_id), max(event_id) FROM app.moderation_events").fetchone()
    assert watermark == ("event_id", high)

    insert = ("INSERT INTO app.moderation_events (event_id, user_id, prompt_hash, category, severity, action, "
              "created_at) SELECT %s, min(user_id), %s, 'nsfw', 'standard', 'warning', %s FROM app.users")
    conn.execute("UPDATE app.moderation_events SET prompt_hash = 'an old raw prompt, unhashed' WHERE event_id = %s",
                 (old,))
    conn.execute(insert, (high + 1, "a new raw prompt, unhashed", CUTOFF - timedelta(hours=1)))
    reused = []
    if shape == "partitioned":  # the key allows an old id again with another created_at
        conn.execute(insert, (old, "a raw prompt under a reused id", CUTOFF - timedelta(hours=2)))
        reused = [old]
    conn.commit()
    night = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=False, run_id="night-2")
    hashes = moderation_prompt_check(night)
    assert (hashes.batch.scope["mode"], hashes.batch.scope["key"], hashes.batch.scope["after"]) == (
        "incremental", "event_id", high)
    assert [entry["key"]["event_id"] for entry in hashes.sample] == [high + 1]
    assert [name for name, _ in hashes.batch.keys] == (
        ["event_id", "created_at"] if shape == "partitioned" else ["event_id"])
    modes = {r.batch.table: r.batch.scope["mode"] for r in night.results
             if r.batch.table.split(".")[-1] in PARTITIONED_CLOCKS}
    assert set(modes) == {f"app.{table}" for table in PARTITIONED_CLOCKS}
    assert set(modes.values()) == {"incremental"}

    full = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=True, run_id="sunday")
    assert sorted(entry["key"]["event_id"] for entry in moderation_prompt_check(full).sample) == sorted(
        [old, *reused, high + 1])
    # A failed batch keeps its watermark: the next night reads the new row again.
    assert conn.execute("SELECT high_key FROM governance.dq_watermarks WHERE suite = 'no_raw_prompts' AND "
                        "table_name = 'app.moderation_events'").fetchone()[0] == high


def test_a_key_that_is_not_an_id_widened_by_the_partition_key_is_read_in_full(conn, s3, buckets, workflow_url):
    """cookie_consents' key (user_id, category) says nothing about which rows are new: its batch reads every row
    every night, and says why."""
    seed(conn, s3, scale=5, as_of=CUTOFF, media_bucket=None, put_media=False)
    conn.commit()
    run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=False, run_id="night-1")
    night = run_suite(workflow_url, s3, buckets, "no_raw_prompts", full_scan=False, run_id="night-2")
    scopes = {r.batch.scope.get("why") for r in night.results if r.batch.table == "app.cookie_consents"}
    assert scopes == {"no integer id in its key"}


def test_archive_integrity_catches_a_missing_object_a_changed_checksum_and_a_shortened_lock(
    conn, s3, buckets, workflow_url
):
    seed(conn, s3, scale=SCALE, as_of=CUTOFF, media_bucket=buckets.media)
    critical_history(conn, s3, buckets)
    clean_up(workflow_url, s3, buckets)
    manifests = conn.execute("SELECT manifest_id, object_key, version_id, retain_until FROM "
                             "governance.archive_manifests WHERE state = 'complete' ORDER BY manifest_id").fetchall()
    assert len(manifests) >= 3
    (missing, _, _, _), (changed, _, _, _), (shortened, key, version, until) = manifests[:3]
    conn.execute("UPDATE governance.archive_manifests SET object_key = object_key || '.gone' WHERE manifest_id = %s",
                 (missing,))
    conn.execute("UPDATE governance.archive_manifests SET sha256 = repeat('0', 64) WHERE manifest_id = %s", (changed,))
    conn.commit()
    # The local S3 server lets COMPLIANCE retention be shortened (real S3 refuses): the check must see it.
    s3.put_object_retention(Bucket=buckets.archive, Key=key, VersionId=version,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(days=30)})
    outcome = run_suite(workflow_url, s3, buckets, "archive_integrity")
    failed = {r.check: [e["key"]["manifest_id"] for e in r.sample] for r in outcome.failed}
    assert failed == {"archive object exists": [missing], "archive object unchanged": [changed],
                      "locked for 7 years from its newest event": [shortened], "lock not shortened": [shortened]}


@pytest.mark.parametrize("text", [
    "203.0.113.7", "login from 198.51.100.23 at noon", "2001:db8::1", "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "fe80::1%eth0", "fe80::a00:27ff:fe4e:66a1%enp0s3", "[2001:db8::5]:443",
    "http://10.0.0.1/admin",
])
def test_an_ip_address_in_any_form_is_found(conn, text):
    assert conn.execute("SELECT %s ~ %s", (text, IP_LITERAL)).fetchone()[0], text


@pytest.mark.parametrize("text", [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36", "at 12:30:45", "version 1.2.3",
    "generations/12/345.png", "10.0.0.256", "00:1a:2b:3c:4d:5e", "f" * 64,
])
def test_text_that_only_looks_like_an_address_is_not(conn, text):
    assert not conn.execute("SELECT %s ~ %s", (text, IP_LITERAL)).fetchone()[0], text


def test_a_check_the_database_cannot_evaluate_fails_recorded_by_error_class_never_by_message(
    conn, s3, buckets, workflow_url, tmp_path
):
    """PostgreSQL's error text can quote a value: a check that errors is a failure with its class and SQLSTATE,
    in the results and in the Data Docs, without the message."""
    from governance.quality import load_suite

    seed(conn, s3, scale=5, as_of=CUTOFF, media_bucket=None, put_media=False)
    conn.commit()
    document = json.loads((ROOT / "expectations" / "hashed_ips.json").read_text())
    document["expectations"][0]["kwargs"]["regex"] = "^[0-9a-f{64}$"  # brackets not balanced: SQLSTATE 2201B
    (tmp_path / "hashed_ips.json").write_text(json.dumps(document))
    pages = []
    retention = load_retention_policy()
    with psycopg.connect(workflow_url, autocommit=True) as wf:
        outcome = SuiteRun(lambda: psycopg.connect(workflow_url, autocommit=True), wf, retention,
                           load_data_map(retention=retention).model, load_suite("hashed_ips", tmp_path), "dq-err",
                           CUTOFF, True, canaries=load_canaries(),
                           publish_docs=lambda found: pages.extend(found) or []).run()
    errored = [r for r in outcome.results if r.error]
    assert [(r.check, r.error) for r in errored] == [
        ("IP hash is a SHA-256", {"class": "InvalidRegularExpression", "sqlstate": "2201B"})]
    assert errored[0] in outcome.failed
    assert "could not be checked on app.sessions.ip_hash (InvalidRegularExpression, SQLSTATE 2201B)" in \
        outcome.failure_message()
    conn.rollback()
    recorded = json.dumps(conn.execute("SELECT json_agg(r) FROM governance.dq_results r").fetchone()[0])
    docs = "".join(body.decode() for _, body in pages)
    assert pages  # the Data Docs were written; GX renders no exception text in them, and the store was cleaned
    for text in (recorded, docs):
        assert "brackets" not in text  # PostgreSQL's message
