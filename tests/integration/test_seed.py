"""The seeder (make seed SCALE=N [INJECT=...]): what the demo, the checks and the benchmarks rely on."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from dateutil.relativedelta import relativedelta
from psycopg import sql

from governance.storage import list_keys
from scripts import seeding as seeder
from scripts import stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
HEX = "^[0-9a-f]{64}$"
TIMESTAMPS = {
    "users": ("created_at", "deleted_at"), "cookie_consents": ("updated_at",), "sessions": ("created_at",),
    "usage_events": ("created_at",), "generations": ("created_at", "deleted_at", "media_deleted_at"),
    "uploads": ("created_at", "deleted_at"), "moderation_events": ("created_at",), "payments": ("created_at",),
    "disclosures": ("disclosed_at",),
}
CHILD_CLOCKS = {
    "cookie_consents": "updated_at", "sessions": "created_at", "usage_events": "created_at",
    "generations": "created_at", "uploads": "created_at", "moderation_events": "created_at",
    "payments": "created_at", "disclosures": "disclosed_at",
}


def run_seed(conn, s3=None, bucket=None, **options):
    options.setdefault("scale", 60)
    options.setdefault("as_of", AS_OF)
    return seeder.seed(conn, s3, media_bucket=bucket, put_media=bucket is not None, **options)


def scalar(conn, query, params=None):
    return conn.execute(query, params).fetchone()[0]


def column(conn, query, params=None) -> list:
    return [row[0] for row in conn.execute(query, params).fetchall()]


def digests(conn) -> dict[str, str]:
    """md5 of every app table's rows in a canonical order."""
    query = "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} AS t"
    return {name: scalar(conn, sql.SQL(query).format(sql.Identifier("app", name))) for name in seeder.TABLE_ORDER}


def row_texts(conn) -> dict[str, set[str]]:
    return {name: set(column(conn, sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier("app", name))))
            for name in seeder.TABLE_ORDER}


def table_keys(conn, table: str) -> set:
    if table == "cookie_consents":
        return {(u, c) for u, c in conn.execute("SELECT user_id, category FROM app.cookie_consents").fetchall()}
    key = sql.Identifier(seeder.KEYS[table])
    return set(column(conn, sql.SQL("SELECT {} FROM {}").format(key, sql.Identifier("app", table))))


def as_keys(table: str, keys: list) -> set:
    return {tuple(key) for key in keys} if table == "cookie_consents" else set(keys)


def registered_codes(table: str) -> set[str]:
    register = yaml.safe_load((ROOT / "include" / "policy" / "transfers.yaml").read_text())
    return {r["code"] for r in register["recipients"] for place in r["shows_up_in"] if place["table"] == table}


def expected_media(conn) -> set[str]:
    return set(column(conn, "SELECT media_key FROM app.generations WHERE media_key IS NOT NULL"
                            " AND media_deleted_at IS NULL UNION ALL"
                            " SELECT media_key FROM app.uploads WHERE media_key IS NOT NULL"))


def bucket_media(s3, bucket) -> set[str]:
    return set(list_keys(s3, bucket, "generations/")) | set(list_keys(s3, bucket, "uploads/"))


# -- shape ----------------------------------------------------------------------------------


def test_counts_per_table_follow_the_scale(conn):
    """SCALE=N gives N users and the per-user averages the design promises, and the summary tells the truth."""
    summary = run_seed(conn, scale=200)
    counts = {name: scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("app", name)))
              for name in seeder.TABLE_ORDER}
    assert counts == summary.counts
    assert counts["users"] == 200
    assert counts["cookie_consents"] == 600
    assert counts["disclosures"] == 1
    for table, per_user, slack in (("generations", 10, 0.25), ("uploads", 2, 0.35), ("sessions", 5, 0.3),
                                   ("usage_events", 20, 0.25), ("moderation_events", 0.6, 0.5),
                                   ("payments", 1, 0.35)):
        assert abs(counts[table] / 200 - per_user) <= slack * per_user, table
    shares = conn.execute(
        "SELECT (SELECT avg((deleted_at IS NOT NULL)::int) FROM app.users),"
        " (SELECT avg((deleted_at IS NOT NULL)::int) FROM app.generations),"
        " (SELECT avg((deleted_at IS NOT NULL)::int) FROM app.uploads),"
        " (SELECT avg((severity = 'critical')::int) FROM app.moderation_events),"
        " (SELECT avg((generation_id IS NOT NULL)::int) FROM app.moderation_events)").fetchone()
    deleted_users, deleted_generations, deleted_uploads, critical, with_generation = map(float, shares)
    assert 0.03 <= deleted_users <= 0.15
    assert 0.02 <= deleted_generations <= 0.09
    assert 0.01 <= deleted_uploads <= 0.12
    assert 0.01 <= critical <= 0.15
    assert 0.2 <= with_generation <= 0.5


def test_scale_zero_empties_the_reference_schema_but_keeps_the_ledger(conn):
    """SCALE=0 leaves every app table and the legal holds empty, and never touches the audit ledger."""
    run_seed(conn, scale=30)
    conn.execute("INSERT INTO governance.legal_holds (user_id, reason, placed_by) VALUES (1, 'litigation', 'test')")
    conn.execute("INSERT INTO governance.audit_ledger (seq, recorded_at, workflow, action, prev_hash, entry_hash)"
                 " VALUES (1, now(), 'test', 'test', repeat('0', 64), repeat('1', 64))")
    summary = run_seed(conn, scale=0)
    assert set(summary.counts.values()) == {0}
    for name in seeder.TABLE_ORDER:
        assert scalar(conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("app", name))) == 0, name
    assert scalar(conn, "SELECT count(*) FROM governance.legal_holds") == 0
    assert scalar(conn, "SELECT count(*) FROM governance.audit_ledger") == 1


def test_same_seed_gives_identical_tables_in_two_fresh_databases(conn, template_database):
    """The same seed, scale and as_of reproduce every table byte for byte; another seed does not."""
    run_seed(conn, scale=80)
    first = digests(conn)
    name = f"t_seed_{uuid.uuid4().hex[:10]}"
    other_url = stack.create_database(name, template=template_database)
    try:
        with psycopg.connect(other_url) as other:
            run_seed(other, scale=80)
            assert digests(other) == first
            run_seed(other, scale=80, seed=7)
            assert all(digests(other)[table] != first[table] for table in seeder.TABLE_ORDER if table != "disclosures")
    finally:
        stack.drop_database(name)
    run_seed(conn, scale=80)
    assert digests(conn) == first


def test_every_media_key_has_its_object_and_a_rerun_replaces_them(conn, s3, buckets):
    """Each media_key names an object in the bucket; a rerun leaves no object that no row names."""
    run_seed(conn, s3, buckets.media, scale=30, seed=7)
    summary = run_seed(conn, s3, buckets.media, scale=120)
    wanted = expected_media(conn)
    assert summary.media_objects == len(wanted) > 1000
    assert bucket_media(s3, buckets.media) == wanted
    removed = set(column(conn, "SELECT media_key FROM app.generations WHERE media_deleted_at IS NOT NULL"))
    assert removed, "moderation removed some media"
    assert not removed & bucket_media(s3, buckets.media)
    again = run_seed(conn, s3, buckets.media, scale=120)
    assert again.media_put == 0
    assert bucket_media(s3, buckets.media) == wanted


# -- what the checks rely on ------------------------------------------------------------------


def test_without_injections_hashes_codes_and_emails_are_clean(conn):
    """Without --inject no check fires: only SHA-256 hex, only registered recipients, only example domains."""
    run_seed(conn, scale=150)
    for table, hash_column in (("generations", "prompt_hash"), ("moderation_events", "prompt_hash"),
                               ("sessions", "ip_hash")):
        bad = sql.SQL("SELECT count(*) FROM {} WHERE {} IS NOT NULL AND {} !~ %s").format(
            sql.Identifier("app", table), sql.Identifier(hash_column), sql.Identifier(hash_column))
        assert scalar(conn, bad, (HEX,)) == 0, table
    assert set(column(conn, "SELECT DISTINCT model_provider FROM app.generations")) <= registered_codes("generations")
    assert set(column(conn, "SELECT DISTINCT processor FROM app.payments")) <= registered_codes("payments")
    assert scalar(conn, "SELECT count(*) FROM app.users WHERE email !~ '^user[0-9]+@example\\.(com|org)$'") == 0
    flagged_with_media = (
        "SELECT count(*) FROM app.generations g WHERE g.media_key IS NOT NULL AND g.media_deleted_at IS NULL"
        " AND EXISTS (SELECT 1 FROM app.moderation_events m WHERE m.generation_id = g.generation_id"
        " AND m.action = 'content_deleted')")
    assert scalar(conn, flagged_with_media) == 0


def test_canary_prompts_hash_into_the_data_and_match_the_committed_file(conn):
    """The committed canary file is what canary_prompts() generates, and some stored hashes are canaries."""
    prompts = seeder.canary_prompts()
    assert (ROOT / "include" / "canaries" / "prompts.txt").read_text().splitlines() == prompts
    assert len(prompts) == len(set(prompts)) == 300
    assert sum(len(text) <= 64 for text in prompts) >= 2 * seeder.INJECT_COUNT
    run_seed(conn, scale=150)
    digests_ = [seeder.sha256_hex(text) for text in prompts]
    assert scalar(conn, "SELECT count(*) FROM app.generations WHERE prompt_hash = ANY(%s)", (digests_,)) > 0
    assert scalar(conn, "SELECT count(*) FROM app.moderation_events WHERE prompt_hash = ANY(%s)", (digests_,)) > 0


def test_timestamps_stay_in_eight_years_and_children_inside_their_owner_s_life(conn):
    """No row is older than 8 years or newer than as_of, and no child row predates its account."""
    run_seed(conn, scale=150)
    lower = AS_OF - relativedelta(years=8)
    for table, clocks in TIMESTAMPS.items():
        for clock in clocks:
            query = sql.SQL("SELECT count(*) FROM {} WHERE {} < %s OR {} > %s").format(
                sql.Identifier("app", table), sql.Identifier(clock), sql.Identifier(clock))
            assert scalar(conn, query, (lower, AS_OF)) == 0, (table, clock)
    for table, clock in CHILD_CLOCKS.items():
        query = sql.SQL("SELECT count(*) FROM {} AS c JOIN app.users AS u USING (user_id)"
                        " WHERE c.{} < u.created_at OR c.{} > coalesce(u.deleted_at, %s)").format(
            sql.Identifier("app", table), sql.Identifier(clock), sql.Identifier(clock))
        assert scalar(conn, query, (AS_OF,)) == 0, table
    assert scalar(conn, "SELECT count(*) FROM app.generations WHERE deleted_at < created_at") == 0
    mismatched = ("SELECT count(*) FROM app.moderation_events m JOIN app.generations g USING (generation_id)"
                  " WHERE m.user_id <> g.user_id OR m.prompt_hash <> g.prompt_hash OR m.created_at < g.created_at")
    assert scalar(conn, mismatched) == 0


def test_rows_sit_on_both_sides_of_every_retention_cutoff(conn):
    """Each retention rule has rows within a day of its cutoff, so boundary bugs show up in the demo data."""
    run_seed(conn, scale=300)
    day = timedelta(days=1)
    cutoffs = {
        "users WHERE deleted_at": AS_OF - timedelta(days=30),
        "moderation_events WHERE severity = 'standard' AND created_at": AS_OF - timedelta(days=90),
        "moderation_events WHERE severity = 'critical' AND created_at": AS_OF - relativedelta(years=7),
        "sessions WHERE created_at": AS_OF - relativedelta(months=13),
        "usage_events WHERE created_at": AS_OF - relativedelta(months=13),
        "generations WHERE deleted_at": AS_OF,
        "uploads WHERE deleted_at": AS_OF,
    }
    cutoffs |= {f"payments WHERE billing_country = '{country}' AND created_at": AS_OF - relativedelta(years=years)
                for country, years in seeder.PAYMENT_YEARS.items()}
    for where, cutoff in cutoffs.items():
        near = scalar(conn, f"SELECT count(*) FROM app.{where} BETWEEN %s AND %s", (cutoff - day, cutoff + day))  # noqa: S608
        assert near >= 1, where
    assert scalar(conn, "SELECT count(*) FROM app.users WHERE deleted_at < %s", (AS_OF - timedelta(days=31),)) > 0
    assert scalar(conn, "SELECT count(*) FROM app.users WHERE deleted_at > %s", (AS_OF - timedelta(days=29),)) > 0


# -- injections ----------------------------------------------------------------------------


def _raw_prompts(conn, s3, bucket, entry):
    canaries = set(seeder.canary_prompts())
    for table, id_column in (("generations", "generation_id"), ("moderation_events", "event_id")):
        rows = conn.execute(sql.SQL("SELECT {}, rtrim(prompt_hash) FROM {} WHERE prompt_hash !~ %s").format(
            sql.Identifier(id_column), sql.Identifier("app", table)), (HEX,)).fetchall()
        assert {key for key, _ in rows} == set(entry["violations"][table])
        assert all(text in canaries for _, text in rows)


def _raw_prompt_in_text(conn, s3, bucket, entry):
    """Canary prompt text inside usage_events.event_type, on exactly the announced rows."""
    canaries = seeder.canary_prompts()
    rows = conn.execute("SELECT event_id, event_type FROM app.usage_events WHERE event_type LIKE '% %'").fetchall()
    assert {key for key, _ in rows} == set(entry["violations"]["usage_events"])
    assert all(any(text.endswith(canary) for canary in canaries) for _, text in rows)


def _raw_ips(conn, s3, bucket, entry):
    rows = conn.execute("SELECT session_id, rtrim(ip_hash) FROM app.sessions WHERE ip_hash !~ %s", (HEX,)).fetchall()
    assert {key for key, _ in rows} == set(entry["violations"]["sessions"])
    assert {ipaddress.ip_address(text).version for _, text in rows} == {4, 6}


def _overdue(conn, s3, bucket, entry):
    found = entry["violations"]
    assert entry["rules"] == {"deleted_accounts": found["users"], "sessions": found["sessions"],
                              "usage_events": found["usage_events"], "deleted_generations": found["generations"]}
    deleted = column(conn, "SELECT deleted_at FROM app.users WHERE user_id = ANY(%s)", (found["users"],))
    assert deleted == [AS_OF - timedelta(days=60)] * seeder.INJECT_COUNT
    year_13 = AS_OF - relativedelta(months=13)
    for table, key in (("sessions", "session_id"), ("usage_events", "event_id")):
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} = ANY(%s) AND created_at < %s").format(
            sql.Identifier("app", table), sql.Identifier(key))
        assert scalar(conn, query, (found[table], year_13)) == seeder.INJECT_COUNT
    gone = column(conn, "SELECT deleted_at FROM app.generations WHERE generation_id = ANY(%s)", (found["generations"],))
    assert gone == [AS_OF - timedelta(days=10)] * seeder.INJECT_COUNT
    children = scalar(conn, "SELECT count(*) FROM app.generations WHERE user_id = ANY(%s)", (found["users"],))
    assert children == seeder.INJECT_COUNT


def _prohibited_media(conn, s3, bucket, entry):
    flagged = column(conn, "SELECT g.generation_id FROM app.generations g"
                           " WHERE g.media_key IS NOT NULL AND g.media_deleted_at IS NULL"
                           " AND EXISTS (SELECT 1 FROM app.moderation_events m WHERE m.generation_id = g.generation_id"
                           " AND m.action = 'content_deleted')")
    assert set(flagged) == set(entry["violations"]["generations"]) == set(entry["rules"]["prohibited_content"])
    keys = set(column(conn, "SELECT media_key FROM app.generations WHERE generation_id = ANY(%s)", (flagged,)))
    assert keys <= bucket_media(s3, bucket)


def _unregistered_recipient(conn, s3, bucket, entry):
    providers = column(conn, "SELECT generation_id FROM app.generations WHERE NOT model_provider = ANY(%s)",
                       (sorted(registered_codes("generations")),))
    processors = column(conn, "SELECT payment_id FROM app.payments WHERE NOT processor = ANY(%s)",
                        (sorted(registered_codes("payments")),))
    assert set(providers) == set(entry["violations"]["generations"])
    assert set(processors) == set(entry["violations"]["payments"])


def _disclosure_without_basis(conn, s3, bucket, entry):
    """Disclosures whose legal basis is empty or blank, on exactly the announced rows."""
    rows = column(conn, "SELECT disclosure_id FROM app.disclosures WHERE btrim(legal_basis) = ''")
    assert set(rows) == set(entry["violations"]["disclosures"])


INJECTION_CHECKS = {
    "raw_prompts": _raw_prompts,
    "raw_ips": _raw_ips,
    "overdue": _overdue,
    "prohibited_media": _prohibited_media,
    "unregistered_recipient": _unregistered_recipient,
    "raw_prompt_in_text": _raw_prompt_in_text,
    "disclosure_without_basis": _disclosure_without_basis,
}


@pytest.mark.parametrize("name", seeder.INJECTIONS)
def test_each_injection_plants_exactly_its_announced_rows(name, conn, s3, buckets):
    """An injection adds exactly the rows its manifest lists (5 violations), and leaves every other row alone."""
    run_seed(conn, s3, buckets.media, scale=40)
    before_rows, before_media = row_texts(conn), bucket_media(s3, buckets.media)
    before_keys = {table: table_keys(conn, table) for table in seeder.TABLE_ORDER}
    summary = run_seed(conn, s3, buckets.media, scale=40, inject=[name])
    entry = summary.injected[name]
    assert list(summary.injected) == [name]
    assert sum(len(keys) for keys in entry["violations"].values()) == seeder.INJECT_COUNT * (
        2 if name in ("raw_prompts", "unregistered_recipient") else 4 if name == "overdue" else 1)
    after_rows = row_texts(conn)
    for table in seeder.TABLE_ORDER:
        assert before_rows[table] <= after_rows[table], f"{table}: a base row changed"
        added = table_keys(conn, table) - before_keys[table]
        assert added == as_keys(table, entry["planted"].get(table, [])), table
        assert as_keys(table, entry["violations"].get(table, [])) <= added, table
    assert bucket_media(s3, buckets.media) == before_media | set(entry["media_keys"])
    INJECTION_CHECKS[name](conn, s3, buckets.media, entry)


def test_unknown_injection_is_refused_by_name(conn):
    """A typo in INJECT fails before anything is truncated, and names the bad value."""
    run_seed(conn, scale=10)
    with pytest.raises(ValueError, match="raw_ipz"):
        run_seed(conn, scale=10, inject="raw_ips,raw_ipz")
    assert scalar(conn, "SELECT count(*) FROM app.users") == 10


# -- the command line ------------------------------------------------------------------------


def test_cli_seeds_prints_the_summary_and_writes_the_manifest(db_url, buckets, tmp_path):
    """`python scripts/seed.py --scale 20 ...` exits 0, prints one summary line, and writes the injection manifest."""
    out = tmp_path / "injections.json"
    argv = [sys.executable, str(ROOT / "scripts" / "seed.py"), "--scale", "20", "--database-url", db_url,
            "--media-bucket", buckets.media, "--as-of", AS_OF.isoformat(), "--inject", "raw_ips,overdue",
            "--injections-out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("seeded scale=20 seed=42 as_of=2026-11-25T02:00:00+00:00: users=")
    assert "injected=raw_ips,overdue" in first
    manifest = json.loads(out.read_text())
    assert manifest["scale"] == 20
    assert set(manifest["injections"]) == {"raw_ips", "overdue"}
    assert len(manifest["injections"]["raw_ips"]["violations"]["sessions"]) == seeder.INJECT_COUNT
    with psycopg.connect(db_url) as conn:
        assert scalar(conn, "SELECT count(*) FROM app.users") == 20 + 1 + 1 + seeder.INJECT_COUNT


def test_about_one_percent_of_people_are_under_legal_hold_some_released(conn):
    """The demo data has active and released legal holds on seeded users, so the purge shows held rows."""
    run_seed(conn, scale=500)
    active = scalar(conn, "SELECT count(*) FROM governance.legal_holds WHERE released_at IS NULL")
    released = scalar(conn, "SELECT count(*) FROM governance.legal_holds WHERE released_at IS NOT NULL")
    orphans = scalar(conn, "SELECT count(*) FROM governance.legal_holds h"
                           " WHERE NOT EXISTS (SELECT 1 FROM app.users u WHERE u.user_id = h.user_id)")
    assert active > 0
    assert released > 0
    assert 0.005 <= (active + released) / 500 <= 0.02
    assert orphans == 0
