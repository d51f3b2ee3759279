"""Erasure against the real PostgreSQL and S3 server: a function of a set of people and the account
rule's cascade, independent of any clock, that leaves the erased id in no column of the app schema."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from governance import ledger
from governance.erasure import erase_subjects
from governance.errors import StepFailed
from governance.policy import load_retention_policy
from governance.pseudonyms import pseudonym
from governance.purge import PurgeSettings, purge_rule
from governance.storage import list_keys
from tests.conftest import PSEUDONYM_KEY
from tests.factories import CUTOFF

pytestmark = pytest.mark.integration


def columns_holding(conn, value: int) -> list[str]:
    """Every column of every app table in which `value` appears (as a number, or inside text)."""
    conn.rollback()
    found = []
    columns = conn.execute("""
        SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns AS c
        JOIN information_schema.tables AS t USING (table_schema, table_name)
        WHERE c.table_schema = 'app' AND t.table_type = 'BASE TABLE'
    """).fetchall()
    for table, column, data_type in columns:
        if data_type in ("bigint", "integer", "smallint", "numeric"):
            test = sql.SQL("{} = %s").format(sql.Identifier(column))
            argument = value
        elif data_type in ("text", "character", "character varying", "json", "jsonb"):
            test = sql.SQL("{}::text ~ %s").format(sql.Identifier(column))
            argument = rf"(^|\D){value}(\D|$)"
        else:
            continue
        query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(sql.Identifier("app", table), test)
        if conn.execute(query, (argument,)).fetchone()[0]:
            found.append(f"{table}.{column}")
    return found


def everything_of(data, user: int) -> dict[str, int]:
    """A row of the person in every table of the reference database, and their media."""
    data.session(user, created_at=CUTOFF - timedelta(days=2))
    data.usage_event(user, created_at=CUTOFF - timedelta(days=2))
    data.conn.execute("INSERT INTO app.cookie_consents (user_id, category, granted) VALUES (%s, 'analytics', true)",
                      (user,))
    generation = data.generation(user, created_at=CUTOFF - timedelta(days=3))
    data.upload(user)
    data.payment(user, country="DE", created_at=CUTOFF - timedelta(days=60))
    data.moderation(user, severity="critical", action="account_suspended", generation_id=generation)
    data.moderation(user, severity="standard")
    data.conn.execute("INSERT INTO app.disclosures (disclosure_id, user_id, authority, country, legal_basis)"
                      " VALUES (%s, %s, 'police', 'DE', 'StPO 100a')", (data._id(), user))
    return {"generation": generation}


def test_the_account_rule_leaves_the_erased_id_in_no_column_of_the_app_schema(data, conn, workflow_url, s3,
                                                                              buckets):
    """After the purge erases an account, its id is nowhere in the app schema: what the law keeps (payments,
    moderation events, disclosures to authorities) carries a pseudonym instead, the rest is gone."""
    erased = data.user(deleted_at=CUTOFF - timedelta(days=31))
    other = data.user()
    everything_of(data, erased)
    everything_of(data, other)
    data.commit()
    settings = PurgeSettings(run_id="run-1", run_cutoff=CUTOFF, dry_run=False, batch_size=10,
                             max_rows_per_rule=100, media_bucket=buckets.media)
    with psycopg.connect(workflow_url, autocommit=True) as work:
        purge_rule(work, s3, policy=load_retention_policy(), rule="deleted_accounts", settings=settings)
    assert columns_holding(conn, erased) == []
    assert "users.user_id" in columns_holding(conn, other)  # the scan does find a living person
    kept = pseudonym(PSEUDONYM_KEY.encode(), "users", erased)
    for table in ("payments", "moderation_events", "disclosures"):
        assert conn.execute(f"SELECT count(*) FROM app.{table} WHERE user_pseudonym = %s",  # noqa: S608
                            (kept,)).fetchone()[0] >= 1, table


def erase(workflow_url, s3, buckets, subjects, run_id="request-1"):
    with psycopg.connect(workflow_url, autocommit=True) as work:
        return erase_subjects(work, s3, policy=load_retention_policy(), subjects=subjects, workflow="dsr_erasure",
                              run_id=run_id, media_bucket=buckets.media, pseudonym_key=PSEUDONYM_KEY.encode())


def test_a_request_erases_a_live_account_now(data, conn, workflow_url, s3, buckets):
    """A data-subject request needs no deleted_at and no 30 days: the person named is erased at once, with the
    same cascade as the account rule, media included, and the ledger records it under the request."""
    person = data.user()
    bystander = data.user()
    everything_of(data, person)
    everything_of(data, bystander)
    data.commit()
    outcome = erase(workflow_url, s3, buckets, [person])
    assert outcome.counts["subjects_erased"] == 1
    assert outcome.counts["objects_deleted"] == 2
    assert columns_holding(conn, person) == []
    assert not [key for key in list_keys(s3, buckets.media) if f"/{person}/" in key]
    assert len([key for key in list_keys(s3, buckets.media) if f"/{bystander}/" in key]) == 2
    entries = ledger.entries_for_run(conn, "dsr_erasure", "request-1")
    assert [entry["action"] for entry in entries] == ["erasure_started", "erasure_completed"]
    assert entries[-1]["cutoff"] is None
    assert erase(workflow_url, s3, buckets, [person]).state == "already_completed"  # the same request again


def test_a_request_for_a_person_under_legal_hold_is_refused_and_the_reason_recorded(data, conn, workflow_url, s3,
                                                                                    buckets):
    """A held person is not erased; nothing changes, and the refusal and its reason are in the ledger."""
    person = data.user()
    everything_of(data, person)
    data.hold(person)
    data.commit()
    with pytest.raises(StepFailed, match=r"1 of 1 people to erase are under an active legal hold; nothing was erased"):
        erase(workflow_url, s3, buckets, [person])
    assert "users.user_id" in columns_holding(conn, person)
    assert len(list(list_keys(s3, buckets.media))) == 2
    refused = ledger.entries_for_run(conn, "dsr_erasure", "request-1")
    assert [entry["action"] for entry in refused] == ["erasure_refused"]
    assert refused[0]["details"]["failure"]["error_class"] == "SubjectUnderHold"


def test_a_request_for_an_unknown_person_is_refused_and_changes_nothing(data, conn, workflow_url, s3, buckets):
    """An id that names nobody is a clear error; the known people of the same request are not erased either."""
    person = data.user()
    data.commit()
    with pytest.raises(StepFailed, match=r"1 of 2 people to erase are not in app.users; nothing was erased"):
        erase(workflow_url, s3, buckets, [person, 987654321])
    assert "users.user_id" in columns_holding(conn, person)


def test_a_person_with_many_generations_is_erased_in_short_batches(data, conn, workflow_url, s3, buckets):
    """Objects are deleted inside a batch's transaction, so a batch holds at most OBJECTS_PER_BATCH of them: a
    person with 450 generations is erased in several short batches, not one transaction as long as S3 takes."""
    from governance.media import OBJECTS_PER_BATCH

    person = data.user()
    for _ in range(450):
        data.generation(person)
    data.commit()
    outcome = erase(workflow_url, s3, buckets, [person])
    assert outcome.counts["objects_deleted"] == 450
    assert outcome.batches >= 450 // OBJECTS_PER_BATCH + 2  # three chunks of media rows, then the account
    assert columns_holding(conn, person) == []
    assert not list(list_keys(s3, buckets.media))


def test_a_retried_request_finishes_the_erasure_an_earlier_attempt_began(data, conn, workflow_url, s3, buckets,
                                                                         monkeypatch):
    """An attempt that erased some of the people and then failed leaves them gone; the retry of the same request
    counts them as erased (not as unknown), erases the rest, and the ledger counts each person once."""
    from governance import erasure as erasure_module

    monkeypatch.setattr(erasure_module, "MAX_SUBJECTS_PER_BATCH", 1)
    first, second = data.user(), data.user()
    conn.execute(sql.SQL("""
        CREATE FUNCTION app.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no'; END $$;
        CREATE TRIGGER refuse BEFORE DELETE ON app.users FOR EACH ROW WHEN (OLD.user_id = {second})
            EXECUTE FUNCTION app.refuse();
    """).format(second=sql.Literal(second)))
    data.commit()
    with pytest.raises(StepFailed, match=r"RaiseException \(P0001\) in step erase accounts"):
        erase(workflow_url, s3, buckets, [first, second])
    conn.execute("DROP TRIGGER refuse ON app.users")
    conn.commit()
    outcome = erase(workflow_url, s3, buckets, [first, second])
    assert outcome.counts["subjects_erased"] == 2
    assert columns_holding(conn, first) == columns_holding(conn, second) == []
    entries = ledger.entries_for_run(conn, "dsr_erasure", "request-1")
    assert [entry["action"] for entry in entries] == ["erasure_started", "erasure_failed", "erasure_resumed",
                                                      "erasure_completed"]
    assert entries[-1]["counts"]["subjects_erased"] == 2


def test_a_hold_placed_during_a_request_keeps_that_person_and_fails_the_request(data, conn, workflow_url, s3,
                                                                               buckets, monkeypatch):
    """A hold placed after the request was checked protects the person in every later batch; the request then
    fails saying how many were kept, instead of reporting an erasure it did not do."""
    from governance import erasure as erasure_module

    monkeypatch.setattr(erasure_module, "MAX_SUBJECTS_PER_BATCH", 1)
    first, second = data.user(), data.user()
    # The legal team puts the second person on hold while the first one's batch runs.
    conn.execute(sql.SQL("""
        CREATE FUNCTION app.hold_the_next() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
        BEGIN
            INSERT INTO governance.legal_holds (user_id, reason, placed_by) VALUES ({second}, 'case', 'legal');
            RETURN OLD;
        END $$;
        CREATE TRIGGER hold_the_next BEFORE DELETE ON app.users FOR EACH ROW WHEN (OLD.user_id = {first})
            EXECUTE FUNCTION app.hold_the_next();
    """).format(first=sql.Literal(first), second=sql.Literal(second)))
    data.commit()
    with pytest.raises(StepFailed, match=r"1 of 2 people were put under a legal hold during the erasure"):
        erase(workflow_url, s3, buckets, [first, second])
    assert columns_holding(conn, first) == []
    assert "users.user_id" in columns_holding(conn, second)
