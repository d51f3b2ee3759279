"""Archival: the rows of an `archive_then_delete` rule move to a WORM archive, exactly once.

The rule runs on the shared lifecycle (lifecycle.RuleRun). Its rows are grouped by event
month; each group is written as objects of at most `max_rows_per_object` rows, and each
object goes through these steps, recorded in governance.archive_manifests:

1. **write**: the rows are copied (one COPY, one snapshot) into a local Parquet file (zstd),
   keeping a pseudonym instead of the person's id;
2. **intent**: the file's key, SHA-256, row count, key range and retain-until (newest event +
   `retain_for`), and the pseudonyms it holds, are committed before anything is uploaded;
3. **upload**: PutObject with Object Lock COMPLIANCE until retain-until (set as a date) and
   a SHA-256 checksum sent with it;
4. **verify**: the version is read back; its SHA-256 is recomputed from the bytes, its rows
   counted, its key range and its lock mode and date read back. A mismatch stops the run;
5. **delete**: the object's rows are deleted from the table in batches, each by its key and its
   clock as read back from the object (on a partitioned table the key alone may name a row that
   was never archived), except rows a legal hold keeps (recorded in governance.archive_retained,
   never archived again).

A rerun first finishes the rule's open objects: an intent whose object exists is adopted
(verified against the intent), one without is abandoned (its rows are still in the table);
uploaded and verified objects go on from their step. So after a crash at any point and a
rerun, every row is in the table or in exactly one verified object: never both once the run
has ended (save rows a hold keeps), never neither, never in two objects. Then objects whose
retention ended are deleted by version id (one ledger entry each), and S3 legal holds follow
the people under legal hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import sql

from governance import ledger
from governance.archive_rows import ArchivedRows, rows_in
from governance.db import sql_text
from governance.errors import GovernanceError, PermanentError, error_code
from governance.keys import pseudonym_key
from governance.ledger_anchors import bucket_has_object_lock
from governance.lifecycle import Batch, Plan, RuleRun, RunIdentity, RunOutcome, Timeouts
from governance.policy import Loaded, RetentionPolicy
from governance.pseudonyms import pseudonym
from governance.purge_sql import RuleStatements
from governance.reports import safe_path_part
from governance.schema_check import RuleConfigurationError, require_serviceable

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

log = logging.getLogger(__name__)

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
PSEUDONYM_FIELD = "user_pseudonym"  # the archive's column for the person, whatever the table calls it
CSV_BLOCK_BYTES = 8 << 20  # the Parquet writer reads the copied rows 8 MB at a time: memory stays bounded
PASS_OBJECTS = 10  # one COPY copies at most this many objects' worth of rows (local disk, not memory)
MONTH_FIELD = "archive_month"  # the copy's last column: the event month, YYYY-MM, where objects are cut
# Dictionary encoding only where values repeat: on hashes and pseudonyms it costs 5x the write time.
DICTIONARY_COLUMNS = ("category", "severity", "action")
# PostgreSQL types the archive copies, and their Parquet types.
ARROW_TYPES = {
    "bigint": "int64", "integer": "int32", "smallint": "int16", "boolean": "bool", "text": "string",
    "timestamp with time zone": "timestamp", "date": "date32",
}


class ArchiveError(GovernanceError):
    """The archive bucket refused or could not be reached; nothing was deleted for the object concerned."""


class ArchiveVerificationError(GovernanceError):
    """An archive object did not read back as it was written; none of its rows were deleted."""


class ArchiveBucketNotLocked(PermanentError):
    """The archive bucket has no Object Lock: a WORM archive cannot be written there."""


@dataclass(frozen=True, kw_only=True)
class ArchiveSettings:
    run_id: str
    run_cutoff: datetime
    dry_run: bool
    batch_size: int
    archive_bucket: str
    workdir: Path | None = None  # where local Parquet files are written (the system's temp dir)
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass
class ArchiveFile:
    """A local Parquet file of one event month's rows, and what the manifest records of it."""

    path: Path
    month: str  # YYYY-MM
    rows: int = 0
    min_key: int | None = None
    max_key: int | None = None
    newest: datetime | None = None
    sha256: str = ""
    people: set[int] = field(default_factory=set)  # subject_hash of each person in it


def subject_hash(value: str) -> int:
    """The first 64 bits of a pseudonym, as a signed bigint: how archive_subjects names a person."""
    return int.from_bytes(bytes.fromhex(value[:16]), "big", signed=True)


class _RollingFiles:
    """Parquet files rolled at each month and at max_rows_per_object, with their manifest facts."""

    def __init__(self, rule: ArchiveRule, workdir: Path) -> None:
        self.rule, self.workdir = rule, workdir
        self.files: list[ArchiveFile] = []
        self.writer: Any = None

    def write(self, month: str, block: Any, pa: Any, pc: Any) -> None:
        limit = self.rule.spec.max_rows_per_object
        while block.num_rows:
            current = self.files[-1] if self.files and self.writer else None
            if current is None or current.month != month or current.rows >= limit:
                current = self._open(month)
            room = limit - current.rows
            part, block = block.slice(0, room), block.slice(room)
            self._append(current, part, pa, pc)

    def _open(self, month: str) -> ArchiveFile:
        import pyarrow.parquet as pq

        self._finish()
        opened = ArchiveFile(path=self.workdir / f"archive-{uuid.uuid4().hex}.parquet", month=month)
        schema = self.rule._arrow_schema()
        self.writer = pq.ParquetWriter(opened.path, schema, compression="zstd",
                                       use_dictionary=[name for name in DICTIONARY_COLUMNS if name in schema.names])
        self.files.append(opened)
        return opened

    def _append(self, current: ArchiveFile, part: Any, pa: Any, pc: Any) -> None:
        table, people = self.rule.table_of(part, pa, pc)
        self.writer.write_table(table)
        keys = part.column(self.rule.rule.key)
        low, high = pc.min(keys).as_py(), pc.max(keys).as_py()
        newest = pc.max(part.column(self.rule.rule.clock)).as_py().replace(tzinfo=UTC)
        current.rows += part.num_rows
        current.min_key = low if current.min_key is None else min(current.min_key, low)
        current.max_key = high if current.max_key is None else max(current.max_key, high)
        current.newest = newest if current.newest is None else max(current.newest, newest)
        current.people |= people

    def _finish(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            done = self.files[-1]
            done.sha256 = hashlib.sha256(done.path.read_bytes()).hexdigest()

    def close(self) -> list[ArchiveFile]:
        self._finish()
        return self.files

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        for written in self.files:
            written.path.unlink(missing_ok=True)


def _ceil_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0) + (timedelta(seconds=1) if moment.microsecond else timedelta(0))


class ArchiveRule:
    """The archival's work for one `archive_then_delete` rule, run by the lifecycle."""

    def __init__(self, s3: Any, policy: Loaded[RetentionPolicy], rule_name: str, settings: ArchiveSettings):
        self.s3, self.policy, self.settings = s3, policy, settings
        self.rule = policy.model.rule(rule_name)
        if self.rule.action != "archive_then_delete" or self.rule.archive is None:
            raise RuleConfigurationError(f"rule {self.rule.name!r} does not archive (action {self.rule.action!r})")
        self.spec = self.rule.archive
        self.schema = policy.model.database_schema
        self.source = f"{self.schema}.{self.rule.table}"
        self.sql = RuleStatements(policy.model, self.rule, settings.run_cutoff)
        # Rows older than the retention are not archived (the rule's *_expired twin deletes them).
        self.retain_cutoff = self.spec.retain_for.before(settings.run_cutoff)
        self.key: bytes | None = None
        self.months: list[tuple[datetime, int, int]] = []
        self._types: dict[str, str] = {}
        self._people: dict[int, tuple[str, int]] = {}
        self.touched: list[int] = []  # manifests this run finished, expired or put under a legal hold

    def identity(self) -> RunIdentity:
        return RunIdentity(workflow=self.rule.workflow, run_id=self.settings.run_id, rule=self.rule.name,
                           verb="archive", policy_sha256=self.policy.sha256, target_table=self.source,
                           cutoff=self.sql.cutoff)

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {**self.sql.params, "retain_cutoff": self.retain_cutoff, **extra}

    def _statement(self, name: str, **extra: Any) -> sql.Composed:
        return self.sql.statement(name, area="archive", clock=sql.Identifier(self.rule.clock),
                                  rows=sql.SQL(sql_text("archive/rows.sql").strip()), **extra)

    # -- check --------------------------------------------------------------------------------

    def check(self, run: RuleRun) -> Plan:
        """Refuse what cannot be archived safely, before anything is written or deleted."""
        from botocore.exceptions import BotoCoreError

        conn = run.conn
        require_serviceable(self.policy.model, conn, self.rule)
        now = conn.execute(sql_text("purge/database_now.sql")).fetchone()[0]
        if self.settings.run_cutoff > now:
            raise RuleConfigurationError(f"rule {self.rule.name!r}: the run's cutoff is later than now; a run "
                                         "dated in the future is refused")
        try:
            locked = bucket_has_object_lock(self.s3, self.settings.archive_bucket)
        except BotoCoreError as exc:
            raise ArchiveError(f"rule {self.rule.name!r}: cannot reach the archive bucket "
                               f"{self.settings.archive_bucket} ({type(exc).__name__}); nothing was archived") from None
        if not locked:
            raise ArchiveBucketNotLocked(
                f"rule {self.rule.name!r}: bucket {self.settings.archive_bucket} has no Object Lock; critical "
                "moderation logs need a WORM archive (create the bucket with Object Lock enabled)"
            )
        self.key = pseudonym_key()  # before anything: the archive never holds a raw id
        self._types = self._arrow_types(conn)
        self.months = [(month.replace(tzinfo=UTC), due, held)
                       for month, due, held in conn.execute(self._statement("due_months"), self._params())]
        due = sum(count for _, count, _ in self.months)
        held = sum(count for _, _, count in self.months)
        return Plan(eligible=due, held=held, details={
            "action": self.rule.action, "retain_for": str(self.spec.retain_for),
            "months": {f"{month:%Y-%m}": {"due": count, "held": kept} for month, count, kept in self.months},
        })

    def _arrow_types(self, conn: psycopg.Connection) -> dict[str, str]:
        columns = [*self.spec.columns, self.rule.subject_column, self.spec.pseudonym_column]
        found = dict(conn.execute(sql_text("archive/column_types.sql"), {"table": self.source, "columns": columns}))
        types, problems = {}, []
        for column in columns:
            kind = ARROW_TYPES.get(found.get(column, ""))
            if found.get(column, "").startswith("character"):
                kind = "string"
            if kind is None:
                problems.append(f"column {self.source}.{column} has type {found.get(column)!r}, which the archive "
                                "cannot copy")
            types[column] = kind
        if problems:
            raise RuleConfigurationError(f"rule {self.rule.name!r} cannot run: {'; '.join(problems)}")
        return types

    # -- execute ------------------------------------------------------------------------------

    def execute(self, run: RuleRun) -> None:
        self._date_retained(run)
        self._finish_open(run)
        while self._archive_pass(run):
            pass
        self._delete_released(run)
        self._expire(run)
        self._follow_legal_holds(run)

    def _archive_pass(self, run: RuleRun) -> bool:
        """One pass over the due rows: written to local files, then each file through intent, upload,
        verification and deletes. False when nothing was left to archive."""
        run.step = "write archive files"
        workdir = self.settings.workdir or Path(tempfile.gettempdir())
        files = self._write_files(run.conn, workdir)
        try:
            for written in files:
                manifest = self._record_intent(run, written)
                self._upload(run, manifest, written)
                written.path.unlink(missing_ok=True)
        finally:
            for written in files:
                written.path.unlink(missing_ok=True)
        return bool(files)

    # -- step 1: the local files ----------------------------------------------------------------

    def _csv_columns(self) -> list[str]:
        return [*self.spec.columns, self.rule.subject_column, self.spec.pseudonym_column]

    def _write_files(self, conn: psycopg.Connection, workdir: Path) -> list[ArchiveFile]:
        """Copy the next PASS_OBJECTS objects' worth of due rows (one COPY) into local Parquet files."""
        names = self._csv_columns()
        selected = sql.SQL(", ").join(
            sql.SQL("t.{} AT TIME ZONE 'UTC'").format(sql.Identifier(name)) if self._types[name] == "timestamp"
            else sql.SQL("t.{}").format(sql.Identifier(name)) for name in names)
        statement = self._statement("chunk_rows", columns=selected)
        handle, csv_name = tempfile.mkstemp(prefix="archive-", suffix=".csv", dir=workdir)
        csv_path = Path(csv_name)
        try:
            with os.fdopen(handle, "wb") as out, conn.transaction():
                # The copy sorts a pass's rows by month: in memory, not in temporary files.
                conn.execute(sql_text("archive/sort_memory.sql"))
                with conn.cursor().copy(statement,
                                        self._params(limit=PASS_OBJECTS * self.spec.max_rows_per_object)) as copy:
                    for data in copy:
                        out.write(data)
            if csv_path.stat().st_size == 0:
                return []
            return self._to_parquet(csv_path, workdir)
        finally:
            csv_path.unlink(missing_ok=True)

    def _arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        def arrow(kind: str) -> pa.DataType:
            return pa.timestamp("us", tz="UTC") if kind == "timestamp" else pa.type_for_alias(kind)

        fields = [pa.field(name, arrow(self._types[name])) for name in self.spec.columns]
        return pa.schema([*fields, pa.field(PSEUDONYM_FIELD, pa.string())])

    def _to_parquet(self, csv_path: Path, workdir: Path) -> list[ArchiveFile]:
        """Stream the copied rows (sorted by month) into Parquet files (zstd), a block at a time, a new file at
        each month and at max_rows_per_object, with the person replaced by a pseudonym."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pa_csv

        names = [*self._csv_columns(), MONTH_FIELD]
        read_types = {name: (pa.timestamp("us") if kind == "timestamp" else pa.type_for_alias(kind))
                      for name, kind in self._types.items()}
        read_types[MONTH_FIELD] = pa.string()
        reader = pa_csv.open_csv(
            csv_path, read_options=pa_csv.ReadOptions(column_names=names, block_size=CSV_BLOCK_BYTES),
            convert_options=pa_csv.ConvertOptions(column_types=read_types, strings_can_be_null=True,
                                                  quoted_strings_can_be_null=False))
        rolling = _RollingFiles(self, workdir)
        self._people: dict[int, tuple[str, int]] = {}  # a person's pseudonym and subject hash, for this pass
        try:
            for block in reader:
                months = block.column(MONTH_FIELD)
                # The rows are sorted by month: cut the block where the month changes.
                changes = pc.indices_nonzero(pc.not_equal(months.slice(1), months.slice(0, len(months) - 1)))
                ends = [index + 1 for index in changes.to_pylist()] + [len(months)]
                start = 0
                for end in ends:
                    rolling.write(months[start].as_py(), block.slice(start, end - start), pa, pc)
                    start = end
        except BaseException:
            rolling.discard()
            raise
        return rolling.close()

    def table_of(self, block: Any, pa: Any, pc: Any) -> tuple[Any, set[int]]:
        """A block of copied rows as the archive's table (its columns, timestamps in UTC, and the pseudonym),
        and the subject hashes of the people in it."""
        columns = [block.column(name) for name in self.spec.columns]
        columns = [column.cast(pa.timestamp("us", tz="UTC")) if self._types[name] == "timestamp" else column
                   for name, column in zip(self.spec.columns, columns, strict=True)]
        person, people = self._pseudonyms(block, pa, pc)
        return pa.Table.from_arrays([*columns, person], schema=self._arrow_schema()), people

    def _pseudonyms(self, block: Any, pa: Any, pc: Any) -> tuple[Any, set[int]]:
        """The person of each row as a pseudonym: made from the id (one HMAC per person and pass, not per row),
        or, for erased people, the pseudonym the table already holds."""
        ids = block.column(self.rule.subject_column)
        people = pc.unique(ids).drop_null()
        table, known = self.policy.model.subject.table, self._people
        made = []
        for person in people.to_pylist():
            if person not in known:
                value = pseudonym(self.key, table, person)
                known[person] = (value, subject_hash(value))
            made.append(known[person])
        hashes = {entry[1] for entry in made}
        kept = pc.unique(block.column(self.spec.pseudonym_column)).drop_null().to_pylist()
        hashes.update(subject_hash(value) for value in kept)
        values = pa.array([entry[0] for entry in made], type=pa.string())
        person_column = pc.coalesce(pc.take(values, pc.index_in(ids, value_set=people)),
                                    block.column(self.spec.pseudonym_column).cast(pa.string()))
        return person_column, hashes

    # -- step 2: the intent ------------------------------------------------------------------------

    def _object_key(self, written: ArchiveFile) -> str:
        name = f"{safe_path_part(self.settings.run_id)}-{written.min_key}-{uuid.uuid4().hex[:8]}.parquet"
        return f"{self.spec.prefix}/month={written.month}/{name}"

    def retain_until(self, newest: datetime) -> datetime:
        return _ceil_second(self.spec.retain_for.after(newest))

    def _record_intent(self, run: RuleRun, written: ArchiveFile) -> dict[str, Any]:
        manifest = {
            "run_id": self.settings.run_id, "rule": self.rule.name, "source_table": self.source,
            "partition_key": f"month={written.month}", "bucket": self.settings.archive_bucket,
            "object_key": self._object_key(written), "sha256": written.sha256, "row_count": written.rows,
            "min_key": written.min_key, "max_key": written.max_key, "retain_until": self.retain_until(written.newest),
        }

        def body(batch: Batch) -> None:
            manifest["manifest_id"] = run.conn.execute(sql_text("archive/record_intent.sql"), manifest).fetchone()[0]
            run.conn.execute(sql_text("archive/record_subjects.sql"),
                             {"manifest_id": manifest["manifest_id"], "hashes": sorted(written.people)})

        run.batch(body, tables=[self.source], step="record archive intent")
        return manifest

    # -- step 3: the upload ------------------------------------------------------------------------

    def _upload(self, run: RuleRun, manifest: dict[str, Any], written: ArchiveFile) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        run.step = "upload archive object"
        body = written.path.read_bytes()
        try:
            put = self.s3.put_object(
                Bucket=manifest["bucket"], Key=manifest["object_key"], Body=body, ContentType=PARQUET_CONTENT_TYPE,
                ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=manifest["retain_until"],
                ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(bytes.fromhex(written.sha256)).decode(),
                Metadata={"sha256": written.sha256, "rows": str(written.rows), "rule": self.rule.name},
            )
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveError(self._s3_failure(exc, "uploading", manifest)) from None
        self._set_state(run, manifest, "uploaded", version_id=put.get("VersionId"))
        manifest["version_id"] = put.get("VersionId")
        self._verify_and_delete(run, manifest)

    def _s3_failure(self, exc: Exception, doing: str, manifest: dict[str, Any]) -> str:
        code = error_code(exc)
        return (f"rule {self.rule.name!r}: S3 failed while {doing} archive object {manifest['object_key']} "
                f"({type(exc).__name__}{f' {code}' if code else ''}); none of its rows were deleted")

    def _set_state(self, run: RuleRun, manifest: dict[str, Any], state: str, *, version_id: str | None = None,
                   rows_removed: int = 0) -> None:
        run.conn.execute(sql_text("archive/set_state.sql"), {"manifest_id": manifest["manifest_id"], "state": state,
                                                              "version_id": version_id, "rows_removed": rows_removed})

    # -- step 4: verification ----------------------------------------------------------------------

    def _verify_and_delete(self, run: RuleRun, manifest: dict[str, Any]) -> None:
        rows = self.verify(run, manifest)
        self._set_state(run, manifest, "verified")
        self._delete_rows(run, manifest, rows)

    def verify(self, run: RuleRun, manifest: dict[str, Any]) -> ArchivedRows:
        """Read the object back; its rows (key and clock) when bytes, rows, key range and lock all match the
        manifest."""
        from botocore.exceptions import BotoCoreError, ClientError

        run.step = "verify archive object"
        where = {"Bucket": manifest["bucket"], "Key": manifest["object_key"]}
        if manifest.get("version_id"):
            where["VersionId"] = manifest["version_id"]
        try:
            head = self.s3.head_object(**where)
            body = self.s3.get_object(**where)["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveError(self._s3_failure(exc, "reading back", manifest)) from None
        problems = self._lock_problems(head, manifest)
        if hashlib.sha256(body).hexdigest() != manifest["sha256"]:
            problems.append("its SHA-256 does not match")
        rows = None
        if not problems:
            rows, problem = self._rows_in(body, manifest)
            problems += [problem] if problem else []
        if problems or rows is None:
            raise ArchiveVerificationError(
                f"rule {self.rule.name!r}: archive object {manifest['object_key']} did not verify: "
                f"{'; '.join(problems)}. None of its rows were deleted; the run stops here."
            )
        return rows

    @staticmethod
    def _lock_problems(head: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
        problems = []
        if head.get("ObjectLockMode") != "COMPLIANCE":
            problems.append(f"it is not under COMPLIANCE lock ({head.get('ObjectLockMode')})")
        locked_until = head.get("ObjectLockRetainUntilDate")
        if locked_until is None or abs((locked_until - manifest["retain_until"]).total_seconds()) >= 1:
            problems.append(f"it is locked until {locked_until}, not {manifest['retain_until']}")
        return problems

    def _rows_in(self, body: bytes, manifest: dict[str, Any]) -> tuple[ArchivedRows | None, str | None]:
        """The rows a Parquet body holds (key and clock), or why they do not match the manifest."""
        rows, problem = rows_in(body, key=self.rule.key, clock=self.rule.clock)
        if rows is None:
            return None, problem
        low, high = rows.key_range()
        if (len(rows), low, high) != (manifest["row_count"], manifest["min_key"], manifest["max_key"]):
            return None, (f"it holds {len(rows)} rows, keys {low}..{high}; the manifest says "
                          f"{manifest['row_count']} rows, keys {manifest['min_key']}..{manifest['max_key']}")
        return rows, None

    # -- step 5: the deletes -----------------------------------------------------------------------

    def _delete_rows(self, run: RuleRun, manifest: dict[str, Any], rows: ArchivedRows) -> None:
        delete = self._statement("delete_archived")
        retained = self._statement("record_retained")
        removed = 0
        for chunk in rows.chunks(self.settings.batch_size):

            def body(batch: Batch, chunk: ArchivedRows = chunk) -> None:
                params = self._params(**chunk.params(), manifest_id=manifest["manifest_id"])
                gone = run.conn.execute(delete, params).rowcount
                if gone < len(chunk):  # those still in the table a hold keeps (rows already gone are not recorded)
                    run.conn.execute(retained, params)
                batch.add(rows_archived=gone)

            # Asynchronous commits, as in the purge's block walk: the object's `complete` state commits
            # synchronously after them, which makes them durable; a crash before it leaves the object
            # `verified`, and the rerun deletes its rows again.
            removed += run.batch(body, tables=[self.source], step="delete archived rows",
                                 synchronous_commit="off")["rows_archived"]
        run.step = "complete archive object"
        with run.conn.transaction():
            self._set_state(run, manifest, "complete", rows_removed=removed)
            run.add_counts(objects_written=1)
        self.touched.append(manifest["manifest_id"])

    # -- reruns: open objects --------------------------------------------------------------------

    def _finish_open(self, run: RuleRun) -> None:
        """Objects an earlier run left between intent and complete: adopt, abandon or go on."""
        run.step = "finish open archive objects"
        rows = run.conn.execute(sql_text("archive/open_manifests.sql"),
                                {"rule": self.rule.name, "bucket": self.settings.archive_bucket}).fetchall()
        for manifest_id, key, version_id, state, sha256, rows_count, low, high, retain in rows:
            manifest = {"manifest_id": manifest_id, "bucket": self.settings.archive_bucket, "object_key": key,
                        "version_id": version_id, "sha256": sha256, "row_count": rows_count, "min_key": low,
                        "max_key": high, "retain_until": retain}
            if state == "intent":
                version_id = self._find_uploaded(manifest)
                if version_id is None:
                    log.warning("%s: archive intent %s found no object; abandoned, its rows stay in the table",
                                run.subject, key)
                    self._set_state(run, manifest, "abandoned")
                    continue
                manifest["version_id"] = version_id
                self._set_state(run, manifest, "uploaded", version_id=version_id)
                log.info("%s: adopted archive object %s uploaded by an earlier run", run.subject, key)
            self._verify_and_delete(run, manifest)

    def _find_uploaded(self, manifest: dict[str, Any]) -> str | None:
        """The version of the intent's key whose checksum is the intent's, if an earlier run uploaded it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            listing = self.s3.list_object_versions(Bucket=manifest["bucket"], Prefix=manifest["object_key"])
            for version in listing.get("Versions", []):
                if version["Key"] != manifest["object_key"]:
                    continue
                head = self.s3.head_object(Bucket=manifest["bucket"], Key=version["Key"],
                                           VersionId=version["VersionId"])
                if head.get("Metadata", {}).get("sha256") == manifest["sha256"]:
                    return version["VersionId"]
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveError(self._s3_failure(exc, "looking for", manifest)) from None
        return None

    # -- rows a hold kept ----------------------------------------------------------------------------

    def _date_retained(self, run: RuleRun) -> None:
        """Rows a hold kept that an earlier version recorded by key alone (archive_retained had no clock): each
        object holding some is read back and verified, and its rows of those keys still in the table recorded by
        key and clock in their place. Once, on the first run after the upgrade; a rerun finds none."""
        from psycopg.rows import dict_row

        run.step = "date rows kept back"
        with run.conn.cursor(row_factory=dict_row) as cur:
            undated = cur.execute(sql_text("archive/undated_retained.sql"),
                                  {"rule": self.rule.name, "bucket": self.settings.archive_bucket}).fetchall()
        record = self._statement("record_retained")
        for manifest in undated:
            rows = self.verify(run, manifest)

            def body(batch: Batch, manifest: dict[str, Any] = manifest, rows: ArchivedRows = rows) -> None:
                keys = [row[0] for row in run.conn.execute(sql_text("archive/forget_undated.sql"),
                                                           {"manifest_id": manifest["manifest_id"]})]
                run.conn.execute(record, self._params(**rows.with_keys(keys).params(),
                                                      manifest_id=manifest["manifest_id"]))

            run.batch(body, tables=[self.source], step="date rows kept back")
            log.info("%s: rows kept back in archive object %s recorded by key and clock", run.subject,
                     manifest["object_key"])

    def _delete_released(self, run: RuleRun) -> None:
        """Archived rows a legal hold kept in the table, whose hold is released: deleted now."""
        select = self._statement("released_retained")
        delete = self._statement("delete_archived")
        forget = self._statement("forget_retained")
        while True:
            def body(batch: Batch) -> None:
                released = ArchivedRows.of(run.conn.execute(select, self._params(limit=self.settings.batch_size)))
                if len(released):
                    params = self._params(**released.params())
                    gone = run.conn.execute(delete, params).rowcount
                    run.conn.execute(forget, params)
                    batch.add(rows_archived=gone)

            if not run.batch(body, tables=[self.source], step="delete released archived rows")["rows_archived"]:
                return

    # -- expiry -----------------------------------------------------------------------------------

    def _expire(self, run: RuleRun) -> None:
        """Objects past their retain-until, and under no legal hold, deleted by version id; one ledger entry each."""
        from botocore.exceptions import BotoCoreError, ClientError

        run.step = "expire archive objects"
        due = run.conn.execute(sql_text("archive/expirable.sql"), {
            "rule": self.rule.name, "bucket": self.settings.archive_bucket, "cutoff": self.settings.run_cutoff,
        }).fetchall()
        for manifest_id, key, version_id, rows, retain_until in due:
            try:
                self.s3.delete_object(Bucket=self.settings.archive_bucket, Key=key, VersionId=version_id)
            except (BotoCoreError, ClientError) as exc:
                raise ArchiveError(self._s3_failure(exc, "expiring", {"object_key": key})) from None
            with run.conn.transaction():
                self._set_state(run, {"manifest_id": manifest_id}, "expired")
                run.add_counts(objects_expired=1)
                ledger.append(run.conn, ledger.LedgerEntry(
                    workflow=self.rule.workflow, action="archive_object_expired", run_id=self.settings.run_id,
                    rule=self.rule.name, target_table=self.source, policy_sha256=self.policy.sha256,
                    counts={"rows": rows}, details={"bucket": self.settings.archive_bucket, "object_key": key,
                                                    "version_id": version_id or "",
                                                    "retain_until": retain_until.isoformat()}))
            self.touched.append(manifest_id)

    # -- legal holds --------------------------------------------------------------------------------

    def _follow_legal_holds(self, run: RuleRun) -> None:
        """S3 legal holds on the objects that hold events of people under a legal hold, and off again after."""
        from botocore.exceptions import BotoCoreError, ClientError

        run.step = "follow legal holds"
        held = [row[0] for row in run.conn.execute(sql_text("archive/held_people.sql"))]
        hashes = [subject_hash(pseudonym(self.key, self.policy.model.subject.table, person)) for person in held]
        changes = run.conn.execute(sql_text("archive/legal_hold_changes.sql"), {
            "hashes": hashes, "rule": self.rule.name, "bucket": self.settings.archive_bucket}).fetchall()
        for manifest_id, key, version_id, hold in changes:
            try:
                self.s3.put_object_legal_hold(Bucket=self.settings.archive_bucket, Key=key, VersionId=version_id,
                                              LegalHold={"Status": "ON" if hold else "OFF"})
            except (BotoCoreError, ClientError) as exc:
                raise ArchiveError(self._s3_failure(exc, "setting the legal hold of", {"object_key": key})) from None
            counter = "objects_legal_held" if hold else "objects_legal_hold_released"
            with run.conn.transaction():
                run.conn.execute(sql_text("archive/set_legal_hold.sql"), {"manifest_id": manifest_id, "hold": hold})
                run.add_counts(**{counter: 1})
            self.touched.append(manifest_id)

    # -- the run's manifest file --------------------------------------------------------------------

    def objects(self, conn: psycopg.Connection) -> list[dict[str, Any]]:
        """Every object this run wrote, adopted, expired or put under (or out of) a legal hold."""
        rows = conn.execute(sql_text("archive/run_manifests.sql"), {
            "rule": self.rule.name, "run_id": self.settings.run_id, "touched": self.touched})
        names = ("manifest_id", "partition_key", "object_key", "version_id", "state", "sha256", "row_count",
                 "min_key", "max_key", "retain_until", "legal_hold", "rows_removed")
        return [dict(zip(names, row, strict=True)) for row in rows]


def write_run_manifest(s3: Any, *, bucket: str, prefix: str, run_id: str, rule: str,
                       objects: list[dict[str, Any]]) -> str | None:
    """The JSON manifest of a run's objects, beside them in the archive bucket and locked as long as they are."""
    if not objects:
        return None
    document = {"rule": rule, "run_id": run_id, "written_at": datetime.now(UTC).isoformat(), "objects": objects}
    body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(body)
    retain_until = max(obj["retain_until"] for obj in objects if obj["retain_until"])
    key = f"{prefix}/manifests/{safe_path_part(run_id)}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", ObjectLockMode="COMPLIANCE",
                  ObjectLockRetainUntilDate=retain_until, ChecksumAlgorithm="SHA256",
                  ChecksumSHA256=base64.b64encode(digest.digest()).decode(), Metadata={"sha256": digest.hexdigest()})
    return key


def due_by_month(conn: psycopg.Connection, *, policy: Loaded[RetentionPolicy], rule: str,
                 run_cutoff: datetime) -> dict[str, dict[str, int]]:
    """A delete rule's due and held rows by event month ("YYYY-MM"), before it runs."""
    chosen = policy.model.rule(rule)
    statements = RuleStatements(policy.model, chosen, run_cutoff)
    rows = conn.execute(statements.statement("due_by_month", clock=sql.Identifier(chosen.clock)), statements.params)
    return {f"{month:%Y-%m}": {"due": due, "held": held} for month, due, held in rows}


def archive_rule(conn: psycopg.Connection, s3: Any, *, policy: Loaded[RetentionPolicy], rule: str,
                 settings: ArchiveSettings) -> tuple[RunOutcome, list[dict[str, Any]]]:
    """Run one archive rule (or preview it) on the run lifecycle; its outcome and the objects it touched."""
    work = ArchiveRule(s3, policy, rule, settings)
    outcome = RuleRun(conn, work.identity(), timeouts=settings.timeouts).execute(work, dry_run=settings.dry_run)
    return outcome, ([] if settings.dry_run else work.objects(conn))

