"""Erasure: the account rule's cascade applied to a set of people.

Erasure depends on no clock. The purge's `erase_subject` rule feeds it the accounts whose
deletion is older than its period; a data-subject request feeds it one person, now
(`erase_subjects`). Either way, for a group of people:

1. their dependent rows with media go in chunks of OBJECTS_PER_BATCH, each a batch of its
   own: the people's rows are locked and the holds re-checked (a person under legal hold is
   skipped), a chunk of media rows is locked, its objects are deleted with every version,
   then those rows;
2. a last batch locks the people again, deletes the media of any row added since, deletes
   the remaining dependent rows, pseudonymises the rows the law keeps, and deletes the
   people's own rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from psycopg import sql

from governance.db import sql_text
from governance.errors import PermanentError
from governance.lifecycle import Batch, Plan, RuleRun, RunIdentity, RunOutcome, Timeouts
from governance.media import OBJECTS_PER_BATCH, MediaBucket
from governance.policy import CascadeStep, Loaded, RetentionPolicy, RetentionRule
from governance.pseudonyms import pseudonym
from governance.purge_sql import RuleStatements
from governance.schema_check import RuleConfigurationError, require_serviceable

if TYPE_CHECKING:
    import psycopg

MAX_SUBJECTS_PER_BATCH = 50  # people erased together; their media rows go in chunks first


class SubjectUnderHold(PermanentError):
    """A person to erase is under an active legal hold; nothing was erased."""


class UnknownSubject(PermanentError):
    """A person to erase is not in the subject table; nothing was erased."""


class ErasureIncomplete(PermanentError):
    """After the erasure, a table of the schema still holds an erased person's id."""


def tables_naming(conn: psycopg.Connection, policy: RetentionPolicy, subject_id: int) -> list[str]:
    """Every table of the schema that has a column named like the subject's key holding this id."""
    found = []
    tables = conn.execute(sql_text("policy/tables_with_column.sql"),
                          {"schema": policy.database_schema, "column": policy.subject.key}).fetchall()
    for (table,) in tables:
        statement = sql.SQL(sql_text("dsr/rows_naming.sql")).format(
            schema=sql.Identifier(policy.database_schema), table=sql.Identifier(table),
            key=sql.Identifier(policy.subject.key))
        if conn.execute(statement, {"subject": subject_id}).fetchone()[0]:
            found.append(table)
    return found


class Erasure:
    """The cascade of an `erase_subject` rule, for one batch of subjects at a time."""

    def __init__(self, policy: RetentionPolicy, rule: RetentionRule, statements: RuleStatements,
                 media: MediaBucket, pseudonym_key: bytes | None) -> None:
        if rule.action != "erase_subject":
            raise ValueError(f"rule {rule.name!r} is not an erase_subject rule")
        self.policy, self.rule, self.sql, self.media = policy, rule, statements, media
        self.pseudonym_key = pseudonym_key

    @property
    def tables(self) -> list[str]:
        """Every table a batch changes: its batch locks."""
        schema = self.policy.database_schema
        return [f"{schema}.{self.rule.table}", *(f"{schema}.{step.table}" for step in self.rule.cascade)]

    def erase(self, run: RuleRun, subjects: Sequence[int]) -> None:
        """Erase `subjects` (those still due and not held): their media rows in chunks, then the rest."""
        for step in self.rule.cascade:
            if not step.media_column:
                continue
            while run.batch(lambda batch, step=step: self._media_chunk(run.conn, step, subjects, batch),
                            tables=self.tables, step="erase media")["rows_deleted"]:
                pass
        run.batch(lambda batch: self._erase(run.conn, subjects, batch), tables=self.tables, step="erase accounts")

    def _lock(self, conn: psycopg.Connection, subjects: Sequence[int]) -> list[int]:
        """Lock the people still due and not held; while they are locked, no new dependent row can name them."""
        return [row[0] for row in conn.execute(self.sql.statement("lock_due", media=sql.NULL),
                                               {**self.sql.params, "keys": list(subjects)})]

    def _media_chunk(self, conn: psycopg.Connection, step: CascadeStep, subjects: Sequence[int],
                     batch: Batch) -> None:
        locked = self._lock(conn, subjects)
        if not locked:
            return
        statement, params = self.sql.cascade(step, "cascade_media_keys")
        keys = [row[0] for row in conn.execute(statement, {**params, "subjects": locked, "limit": OBJECTS_PER_BATCH})]
        if not keys:
            return
        self.media.delete(keys, batch)
        statement, params = self.sql.cascade(step, "cascade_delete_media_rows")
        batch.add_for(step.table, rows_deleted=conn.execute(statement, {**params, "subjects": locked,
                                                                        "media_keys": keys}).rowcount)

    def _erase(self, conn: psycopg.Connection, subjects: Sequence[int], batch: Batch) -> None:
        locked = self._lock(conn, subjects)
        if not locked:
            return
        # Objects only now, with the people and their media rows locked and the holds re-checked.
        self.media.delete(self._media_keys(conn, locked), batch)
        for step in self.rule.cascade:
            name = "cascade_delete" if step.action == "delete" else "cascade_pseudonymise"
            statement, params = self.sql.cascade(step, name)
            params["subjects"] = locked
            if step.action == "pseudonymise":
                params["pseudonyms"] = [pseudonym(self.pseudonym_key, self.rule.table, s) for s in locked]
                batch.add_for(step.table, rows_pseudonymised=conn.execute(statement, params).rowcount)
            else:
                batch.add_for(step.table, rows_deleted=conn.execute(statement, params).rowcount)
        deleted = conn.execute(self.sql.statement("delete_batch"), {**self.sql.params, "keys": locked}).rowcount
        batch.add_for(self.rule.table, rows_deleted=deleted)
        batch.add(subjects_erased=len(locked))

    def _media_keys(self, conn: psycopg.Connection, subjects: list[int]) -> list[str]:
        keys: list[str] = []
        for step in self.rule.cascade:
            if step.media_column:
                statement, params = self.sql.cascade(step, "cascade_media_keys")
                keys += [row[0] for row in conn.execute(statement, {**params, "subjects": subjects, "limit": None})]
        return keys


class SubjectErasure:
    """Work for the lifecycle: erase named people now (a data-subject request)."""

    def __init__(self, policy: Loaded[RetentionPolicy], rule: RetentionRule, subjects: Sequence[int],
                 media: MediaBucket, pseudonym_key: bytes) -> None:
        self.policy, self.rule, self.subjects = policy, rule, sorted(set(subjects))
        self.sql = RuleStatements(policy.model, rule, None)
        self.erasure = Erasure(policy.model, rule, self.sql, media, pseudonym_key)

    def check(self, run: RuleRun) -> Plan:
        require_serviceable(self.policy.model, run.conn, self.rule)
        found, held = run.conn.execute(self.sql.statement("count_subjects"),
                                       {**self.sql.params, "keys": self.subjects}).fetchone()
        erased = run.earlier["subjects_erased"]  # by an earlier attempt of this same request
        done = "nothing was erased" if not erased else f"{erased} were erased by an earlier attempt"
        if found + erased < len(self.subjects):
            missing = len(self.subjects) - found - erased
            raise UnknownSubject(f"{missing} of {len(self.subjects)} people to erase are not in "
                                 f"{self.policy.model.database_schema}.{self.rule.table}; {done}")
        if held:
            raise SubjectUnderHold(f"{held} of {len(self.subjects)} people to erase are under an active legal hold; "
                                   f"{done}. Erase them once the hold is released.")
        return Plan(eligible=found, held=0, details={"subjects": len(self.subjects)}, unit="people")

    def execute(self, run: RuleRun) -> None:
        for first in range(0, len(self.subjects), MAX_SUBJECTS_PER_BATCH):
            self.erasure.erase(run, self.subjects[first:first + MAX_SUBJECTS_PER_BATCH])
        kept = len(self.subjects) - run.done["subjects_erased"]
        if kept:  # a hold placed after the check: the batch kept those people, and the request is not done
            raise SubjectUnderHold(f"{kept} of {len(self.subjects)} people were put under a legal hold during the "
                                   "erasure and were kept; the others were erased")
        # The proof, before the run can complete: no table that can name a person still names one of these.
        run.step = "verify"
        for subject in self.subjects:
            still = tables_naming(run.conn, self.policy.model, subject)
            if still:
                raise ErasureIncomplete(f"after the erasure, {', '.join(still)} still hold an erased person's id: "
                                        f"a table outside the cascade of rule {self.rule.name!r}")


def erase_subjects(conn: psycopg.Connection, s3: Any, *, policy: Loaded[RetentionPolicy], subjects: Sequence[int],
                   workflow: str, run_id: str, media_bucket: str, pseudonym_key: bytes,
                   timeouts: Timeouts | None = None) -> RunOutcome:
    """Erase these people now, with the cascade of the policy's erase_subject rule; no clock decides.

    Refused, with nothing erased, when anyone of them is unknown or under an active legal hold.
    Callers gate on the ledger first (ledger_audit.require_intact_ledger), as every deleting workflow does.
    """
    rule = next((rule for rule in policy.model.rules if rule.action == "erase_subject"), None)
    if rule is None:
        raise RuleConfigurationError(f"{policy.path.name} has no erase_subject rule, whose cascade an erasure uses")
    identity = RunIdentity(workflow=workflow, run_id=run_id, rule=rule.name, verb="erasure",
                           policy_sha256=policy.sha256, target_table=f"{policy.model.database_schema}.{rule.table}")
    media = MediaBucket(s3, media_bucket, subject=f"{workflow} {run_id}")
    work = SubjectErasure(policy, rule, subjects, media, pseudonym_key)
    return RuleRun(conn, identity, timeouts=timeouts).execute(work)
