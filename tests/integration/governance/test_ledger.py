"""The audit ledger on the real database: what an auditor relies on when it says "intact"."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from governance import ledger
from governance.db import sql_text
from governance.keys import MissingKey
from governance.ledger import (
    append,
    entries_for_run,
    verify,
)
from governance.ledger_entry import (
    GENESIS_HASH,
    HASHED_COLUMNS,
    LedgerEntry,
    compute_entry_hash,
    entry_fields,
    entry_mac,
)
from tests.conftest import LEDGER_KEY

pytestmark = pytest.mark.integration

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = "ab" * 32


def _entry(index: int = 0, **overrides) -> LedgerEntry:
    values = {
        "workflow": "retention_purge",
        "action": "delete",
        "run_id": "scheduled__2026-01-02T00:00:00+00:00",
        "rule": f"rule_{index}",
        "target_table": "app.sessions",
        "cutoff": CUTOFF,
        "policy_sha256": POLICY,
        "counts": {"rows_deleted": index, "batches": 1},
        "details": {"index": index, "dry_run": False},
    }
    return LedgerEntry(**{**values, **overrides})


def _append_many(conn, count: int) -> list[ledger.AppendedEntry]:
    return [append(conn, _entry(index)) for index in range(1, count + 1)]


def _tamper(db_url: str, statement: str | sql.Composable, params: dict | None = None) -> None:
    """What a superuser (or a restore) can do: run a statement with the ledger's triggers disabled."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")
        admin.execute(statement, params)


def _rows(db_url: str, *seqs: int) -> dict[int, dict]:
    with psycopg.connect(db_url, row_factory=dict_row) as reader:
        rows = reader.execute("SELECT * FROM governance.audit_ledger WHERE seq = ANY(%s)", [list(seqs)]).fetchall()
    return {row["seq"]: row for row in rows}


def _set_row(db_url: str, seq: int, values: dict) -> None:
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in values
    )
    statement = sql.SQL("UPDATE governance.audit_ledger SET {} WHERE seq = {}").format(assignments, sql.Literal(seq))
    params = {
        name: psycopg.types.json.Jsonb(value) if isinstance(value, dict) else value for name, value in values.items()
    }
    _tamper(db_url, statement, params)


def _rehash_from(db_url: str, first: int) -> None:
    """An attacker who knows the algorithm recomputes every hash from seq `first` to the head."""
    with psycopg.connect(db_url, row_factory=dict_row) as reader:
        rows = reader.execute(
            "SELECT * FROM governance.audit_ledger WHERE seq >= %s ORDER BY seq", [first - 1]
        ).fetchall()
    prev_hash = rows[0]["entry_hash"] if rows[0]["seq"] == first - 1 else GENESIS_HASH
    for row in rows:
        if row["seq"] < first:
            continue
        row["prev_hash"] = prev_hash
        prev_hash = compute_entry_hash(row)
        _set_row(db_url, row["seq"], {"prev_hash": row["prev_hash"], "entry_hash": prev_hash})


def _count(conn) -> int:
    return conn.execute("SELECT count(*) FROM governance.audit_ledger").fetchone()[0]


def test_chain_of_appends_verifies_from_genesis_without_gaps(conn):
    """Appends form a gap-free chain from the genesis hash, and verify reports it intact with its head."""
    appended = _append_many(conn, 5)
    assert [item.seq for item in appended] == [1, 2, 3, 4, 5]
    assert appended[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in itertools.pairwise(appended))
    stored = conn.execute("SELECT seq, prev_hash, entry_hash FROM governance.audit_ledger ORDER BY seq").fetchall()
    assert stored == [(item.seq, item.prev_hash, item.entry_hash) for item in appended]

    result = verify(conn)
    assert result == ledger.VerificationResult(
        ok=True, entries_checked=5, head_seq=5, head_hash=appended[-1].entry_hash, first_broken_seq=None, reason=None
    )
    assert verify(conn, anchors=[(item.seq, item.entry_hash) for item in appended]).ok


def test_empty_ledger_verifies_and_an_anchor_on_it_does_not(conn):
    """An empty ledger is intact, but not if an anchor says it once held rows."""
    assert verify(conn) == ledger.VerificationResult(True, 0, None, None, None, None)
    result = verify(conn, anchors=[(1, "cd" * 32)])
    assert (result.ok, result.first_broken_seq) == (False, 1)
    assert result.reason.startswith(ledger.REASON_ROW_MISSING)


def test_every_value_an_entry_accepts_verifies_after_the_round_trip(conn):
    """Whatever details a workflow records (Unicode, nesting, big ints, other time zones) still verifies."""
    plus_five = timezone(timedelta(hours=5, minutes=30))
    entry = LedgerEntry(
        workflow="dsr_erasure",
        action="erase",
        run_id="manual__ü",
        cutoff=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=plus_five),
        counts={"zero": 0, "big": 2**62},
        details={"ключ": "значение 🚀 \u2028", "nested": [{"b": None, "a": [True, -(2**70)]}], "": ""},
    )
    append(conn, entry, recorded_at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=plus_five))
    append(conn, LedgerEntry(workflow="w", action="a"))
    assert verify(conn).ok
    row = entries_for_run(conn, "dsr_erasure", "manual__ü")[0]
    assert row["recorded_at"] == datetime(2026, 3, 1, 6, 30, 0, 123456, tzinfo=UTC)
    assert row["details"] == entry.details


def test_concurrent_appends_from_many_connections_form_one_chain(db_url, conn):
    """Eight workers appending at once get distinct, gap-free seqs 1..200 and one verifiable chain."""
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)

    def worker(number: int) -> list[int]:
        with psycopg.connect(db_url) as own:
            start.wait()
            return [append(own, _entry(i, workflow=f"worker_{number}")).seq for i in range(per_thread)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(worker, range(threads)))

    assert all(seqs == sorted(seqs) for seqs in results)
    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, threads * per_thread + 1))
    result = verify(conn)
    assert (result.ok, result.entries_checked, result.head_seq) == (True, 200, 200)


def test_rolled_back_append_leaves_neither_row_nor_gap(conn):
    """An append whose transaction rolls back leaves no row, and the next append takes the same seq."""
    append(conn, _entry(1))
    conn.execute("INSERT INTO governance.legal_holds (user_id, reason, placed_by) VALUES (1, 'x', 'test')")
    assert append(conn, _entry(2)).seq == 2  # a savepoint inside the caller's transaction
    conn.rollback()
    assert _count(conn) == 1
    assert conn.execute("SELECT count(*) FROM governance.legal_holds").fetchone()[0] == 0
    assert append(conn, _entry(3)).seq == 2
    assert verify(conn).ok


def test_append_lock_is_held_until_the_callers_commit_and_readers_proceed(db_url, conn):
    """Inside a caller's transaction the append lock lasts until commit; other appenders wait, readers do not."""
    with psycopg.connect(db_url) as other:
        other.execute("SET lock_timeout = '200ms'")
        other.commit()
        with conn.transaction():
            append(conn, _entry(1))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                append(other, _entry(2))
            assert verify(other) == ledger.VerificationResult(True, 0, None, None, None, None)
            other.commit()
        assert append(other, _entry(2)).seq == 2
    assert verify(conn).head_seq == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE governance.audit_ledger SET counts = '{}' WHERE seq = 1",
        "DELETE FROM governance.audit_ledger WHERE seq = 2",
        "TRUNCATE governance.audit_ledger",
    ],
    ids=["update", "delete", "truncate"],
)
def test_triggers_refuse_update_delete_truncate(conn, statement):
    """Ordinary sessions cannot change or remove ledger rows: the statement fails and nothing changes."""
    appended = _append_many(conn, 2)
    conn.commit()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute(statement)
    conn.rollback()
    assert _count(conn) == 2
    assert verify(conn).head_hash == appended[-1].entry_hash


@pytest.mark.parametrize(
    ("column", "new_value"),
    [
        ("counts", '\'{"rows_deleted": 0, "batches": 1}\'::jsonb'),
        ("details", "details || '{\"dry_run\": true}'::jsonb"),
        ("cutoff", "cutoff + interval '1 day'"),
        ("cutoff", "NULL"),
        ("cutoff", "'infinity'::timestamptz"),
        ("recorded_at", "recorded_at + interval '1 microsecond'"),
        ("workflow", "'other'"),
        ("policy_sha256", "repeat('c', 64)"),
    ],
    ids=["counts", "details", "cutoff", "cutoff-null", "cutoff-infinity", "recorded_at-1us", "workflow", "policy"],
)
def test_tampering_that_bypasses_the_triggers_is_detected(db_url, conn, column, new_value):
    """A row changed behind the triggers' back is named as the first broken seq, as "content changed"."""
    _append_many(conn, 5)
    conn.commit()
    _tamper(
        db_url,
        sql.SQL("UPDATE governance.audit_ledger SET {} = {} WHERE seq = 3").format(
            sql.Identifier(column), sql.SQL(new_value)
        ),
    )
    result = verify(conn)
    assert (result.ok, result.first_broken_seq, result.entries_checked) == (False, 3, 2)
    assert result.reason.startswith(ledger.REASON_CONTENT_CHANGED)
    assert (result.head_seq, result.head_hash) == (2, _rows(db_url, 2)[2]["entry_hash"])


def test_changed_row_with_its_own_hash_recomputed_breaks_the_next_link(db_url, conn):
    """Recomputing the changed row's hash does not help: the next row's prev_hash no longer matches."""
    _append_many(conn, 5)
    conn.commit()
    row = _rows(db_url, 3)[3]
    row["counts"] = {"rows_deleted": 0, "batches": 1}
    _set_row(db_url, 3, {"counts": row["counts"], "entry_hash": compute_entry_hash(row)})
    result = verify(conn)
    assert (result.ok, result.first_broken_seq) == (False, 4)
    assert result.reason.startswith(ledger.REASON_CHAIN_BROKEN)


def test_rewritten_chain_is_caught_only_by_an_anchor(db_url, conn):
    """A chain rewritten from a changed row to the head passes alone, so auditors keep anchors: these catch it."""
    appended = _append_many(conn, 5)
    conn.commit()
    _set_row(db_url, 3, {"counts": {"rows_deleted": 0, "batches": 1}})
    _rehash_from(db_url, 3)
    assert verify(conn).ok
    result = verify(conn, anchors=[(5, appended[4].entry_hash)])
    assert (result.ok, result.first_broken_seq) == (False, 5)
    assert result.reason.startswith(ledger.REASON_ANCHOR_MISMATCH)


def test_deleted_middle_row_is_named(db_url, conn):
    """Deleting a row behind the triggers' back leaves a gap, and verify names the missing seq."""
    _append_many(conn, 5)
    conn.commit()
    _tamper(db_url, "DELETE FROM governance.audit_ledger WHERE seq = 3")
    result = verify(conn)
    assert (result.ok, result.first_broken_seq, result.head_seq) == (False, 3, 2)
    assert result.reason.startswith(ledger.REASON_ROW_MISSING)
    assert "seq 3" in result.reason


def test_deleted_newest_rows_are_caught_through_an_anchor(db_url, conn):
    """Removing the newest rows leaves a valid shorter chain; an anchor recorded earlier exposes it."""
    appended = _append_many(conn, 5)
    conn.commit()
    _tamper(db_url, "DELETE FROM governance.audit_ledger WHERE seq >= 4")
    assert verify(conn).ok
    result = verify(conn, anchors=[(2, appended[1].entry_hash), (5, appended[4].entry_hash)])
    assert (result.ok, result.first_broken_seq, result.head_seq) == (False, 4, 3)
    assert result.reason.startswith(ledger.REASON_ROW_MISSING)


def test_anchor_with_a_different_hash_is_detected(conn):
    """An anchor that no longer matches its row fails verification at that seq."""
    appended = _append_many(conn, 5)
    result = verify(conn, anchors=[(1, appended[0].entry_hash), (3, "cd" * 32)])
    assert (result.ok, result.first_broken_seq, result.entries_checked) == (False, 3, 2)
    assert result.reason.startswith(ledger.REASON_ANCHOR_MISMATCH)
    assert verify(conn, anchors=[(3, appended[2].entry_hash.upper())]).ok


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        (("workflow", "action", "rule", "counts", "details"), ledger.REASON_CONTENT_CHANGED),
        ((*(c for c in HASHED_COLUMNS if c != "seq"), "entry_hash"), ledger.REASON_CHAIN_BROKEN),
    ],
    ids=["contents", "whole-rows"],
)
def test_swapped_rows_are_detected(db_url, conn, columns, reason):
    """Swapping two rows (their contents, or everything but seq) is detected at the first of them."""
    _append_many(conn, 5)
    conn.commit()
    rows = _rows(db_url, 2, 4)
    if "entry_hash" in columns:  # entry_hash is UNIQUE, checked row by row: park the old values first
        _set_row(db_url, 2, {"entry_hash": "e" * 64})
        _set_row(db_url, 4, {"entry_hash": "f" * 64})
    _set_row(db_url, 2, {name: rows[4][name] for name in columns})
    _set_row(db_url, 4, {name: rows[2][name] for name in columns})
    result = verify(conn)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert result.reason.startswith(reason)


def test_entries_for_run_returns_that_runs_rows_in_order(conn):
    """A rerun or a report finds exactly the rows its own run wrote, in order, with their values intact."""
    append(conn, _entry(1, run_id="run_a"))
    append(conn, _entry(2, run_id="run_b"))
    append(conn, _entry(3, run_id="run_a", rule=None, cutoff=None, details={"note": "é"}))
    append(conn, _entry(4, run_id="run_a", workflow="moderation_log_archival"))
    rows = entries_for_run(conn, "retention_purge", "run_a")
    assert [row["seq"] for row in rows] == [1, 3]
    assert rows[0]["counts"] == {"rows_deleted": 1, "batches": 1}
    assert rows[0]["cutoff"] == CUTOFF
    assert (rows[1]["rule"], rows[1]["cutoff"], rows[1]["details"]) == (None, None, {"note": "é"})
    assert all(compute_entry_hash(row) == row["entry_hash"] for row in rows)
    assert entries_for_run(conn, "retention_purge", "run_missing") == []


@pytest.mark.slow
def test_verify_streams_a_large_ledger_across_batches(db_url, conn):
    """A ledger larger than one fetch batch verifies completely, and a change deep in it is still found."""
    total = 5000
    assert total > 2 * ledger.DEFAULT_BATCH_SIZE
    with conn.transaction():
        for index in range(total):
            append(conn, _entry(index))
    result = verify(conn)
    assert (result.ok, result.entries_checked, result.head_seq) == (True, total, total)

    boundary = ledger.DEFAULT_BATCH_SIZE * 2 + 1  # the first row of the third batch
    _tamper(db_url, "UPDATE governance.audit_ledger SET details = '{}' WHERE seq = %(seq)s", {"seq": boundary})
    with psycopg.connect(db_url, autocommit=True) as autocommit_conn:
        result = verify(autocommit_conn)
    assert (result.ok, result.first_broken_seq, result.entries_checked) == (False, boundary, boundary - 1)


# --- signatures and anchors that disagree --------------------------------------------------

KEY = LEDGER_KEY.encode()


def test_every_entry_is_signed_with_the_ledger_key_and_verifies_with_it(conn):
    """Appends sign each entry; verification with the key checks every signature."""
    _append_many(conn, 3)
    result = verify(conn, key=KEY)
    assert (result.ok, result.signatures_checked, result.entries_checked) == (True, True, 3)
    macs = conn.execute("SELECT entry_hash, entry_mac FROM governance.audit_ledger ORDER BY seq").fetchall()
    assert all(mac == entry_mac(KEY, digest) for digest, mac in macs)


def test_an_entry_appended_without_the_ledger_key_is_caught(conn):
    """A role with INSERT on the table used the library to append a forged purge_completed. Without the key
    its signature is wrong, and verification with the key names it; the chain alone cannot tell."""
    _append_many(conn, 2)
    append(conn, _entry(3, action="purge_completed"), key=b"a key somebody guessed, 32+ chars long")
    assert verify(conn).ok  # the public chain is intact
    result = verify(conn, key=KEY)
    assert (result.ok, result.first_broken_seq, result.head_seq) == (False, 3, 2)
    assert result.reason.startswith(ledger.REASON_SIGNATURE)


def test_an_entry_inserted_behind_the_librarys_back_is_caught(db_url, conn):
    """A row inserted with SQL, with a correct chain hash but no signature, after signed ones, fails."""
    appended = _append_many(conn, 2)
    conn.commit()
    fields = entry_fields(_entry(3), seq=3, recorded_at=datetime(2026, 1, 3, tzinfo=UTC),
                          prev_hash=appended[-1].entry_hash)
    digest = compute_entry_hash(fields)
    params = {**fields, "counts": psycopg.types.json.Jsonb(fields["counts"]),
              "details": psycopg.types.json.Jsonb(fields["details"]), "entry_hash": digest, "entry_mac": None}
    _tamper(db_url, sql_text("ledger/insert.sql"), params)
    result = verify(conn, key=KEY)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "seq 3 is not signed" in result.reason


def test_a_ledger_signed_from_an_upgrade_on_accepts_its_unsigned_older_entries(db_url, conn):
    """Entries appended before this version signed them stay verifiable; every entry after the first signed one
    must be signed."""
    _append_many(conn, 2)
    conn.commit()
    _tamper(db_url, "UPDATE governance.audit_ledger SET entry_mac = NULL")
    append(conn, _entry(3))
    assert verify(conn, key=KEY).ok


def test_a_rechained_ledger_cannot_be_re_signed(db_url, conn):
    """An attacker who recomputes every hash from a changed row cannot recompute the signatures."""
    _append_many(conn, 5)
    conn.commit()
    _set_row(db_url, 3, {"counts": {"rows_deleted": 0, "batches": 1}})
    _rehash_from(db_url, 3)
    assert verify(conn).ok
    result = verify(conn, key=KEY)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert result.reason.startswith(ledger.REASON_SIGNATURE)


def test_conflicting_anchors_are_a_failed_verification_not_an_exception(conn):
    """Two anchors with different hashes for one seq mean one was forged: verification fails and says so."""
    appended = _append_many(conn, 3)
    result = verify(conn, anchors=[(2, appended[1].entry_hash), (2, "ab" * 32)], key=KEY)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert result.reason.startswith(ledger.REASON_ANCHOR_CONFLICT)


def test_no_ledger_key_means_nothing_is_appended(conn, monkeypatch):
    """Without the key an append is refused before it writes anything."""
    monkeypatch.delenv("GOVERNANCE_LEDGER_KEY")
    with pytest.raises(MissingKey, match="GOVERNANCE_LEDGER_KEY"):
        append(conn, _entry(1))
    assert _count(conn) == 0


def test_clearing_every_signature_does_not_make_the_ledger_unsigned_again(db_url, conn):
    """Unsigned entries are accepted only before the first signed one. An anchor records where signing began,
    so setting entry_mac to NULL on every row and appending unsigned forgeries fails verification."""
    _append_many(conn, 3)
    conn.commit()
    assert verify(conn, key=KEY).first_signed_seq == 1
    _tamper(db_url, "UPDATE governance.audit_ledger SET entry_mac = NULL")
    assert verify(conn, key=KEY).ok  # without the anchor's word, it looks like a ledger from before signing
    result = verify(conn, key=KEY, signed_from=1)
    assert (result.ok, result.first_broken_seq) == (False, 1)
    assert "seq 1 is not signed" in result.reason
