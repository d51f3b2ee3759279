"""The export bundle of a data-subject access or portability request (GDPR Art. 15 and 20).

Every table of the data map is read for the person, in one REPEATABLE READ transaction (one
consistent moment), through a server-side cursor a few thousand rows at a time. Each category
goes to a JSON file and a CSV file on local disk as the rows stream, and is hashed as it is
written; the person's archived critical moderation events are read from the Parquet archive in
place (only the objects that hold them, from archive_subjects); their media objects are listed
with presigned links that expire. A README explains every field, SHA256SUMS and manifest.json
list the files, and all of it is zipped and uploaded to the exports bucket, then read back and
its SHA-256 matched. Memory stays bounded whatever the person's row count: nothing is held but
one batch of rows.

The bundle holds only rows whose subject column is the person (or, from the archive, whose
pseudonym is theirs): nothing about anyone else.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from governance.archive_retrieval import person_in_archive
from governance.data_map import DataMap, MappedTable
from governance.db import sql_text
from governance.dsr import Subject, SubjectRightsPolicy
from governance.errors import GovernanceError, PermanentError
from governance.policy import RetentionPolicy

if TYPE_CHECKING:
    import psycopg

ROWS_PER_FETCH = 5_000
READ_CHUNK = 1 << 20


class IncompleteDataMap(PermanentError):
    """A table names people but is not in the data map, or the map describes a column that is not there."""


class BundleWriteError(GovernanceError):
    """The bundle did not read back from the exports bucket with the checksum it was written with."""


def plain(value: Any) -> Any:
    """A database value as JSON has it: timestamps in ISO 8601 (UTC), exact decimals as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    return str(value)  # uuid, inet, interval, time, ...: their text form


class HashingFile:
    """A file written through SHA-256 and a byte count."""

    def __init__(self, path: Path) -> None:
        self.path, self.size = path, 0
        self._file: IO[bytes] = path.open("wb")
        self._digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self.size += len(data)
        self._file.write(data)

    def close(self) -> str:
        self._file.close()
        return self._digest.hexdigest()


@dataclass
class CategoryFiles:
    """The JSON and CSV file of one category, written row by row."""

    category: str
    title: str
    source: str
    columns: list[str]
    descriptions: dict[str, str]
    directory: Path
    rows: int = 0
    sha256: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._json = HashingFile(self.directory / f"{self.category}.json")
        self._csv = HashingFile(self.directory / f"{self.category}.csv")
        head = {"category": self.category, "title": self.title, "source": self.source,
                "fields": {name: self.descriptions.get(name) for name in self.columns}}
        opening = json.dumps(head, indent=2, ensure_ascii=False)
        self._json.write((opening[:-2] + ',\n  "rows": [').encode())
        self._csv_text = io.StringIO()
        self._csv_writer = csv.writer(self._csv_text, lineterminator="\n")
        self._csv_line(self.columns)

    def _csv_line(self, values: Sequence[Any]) -> None:
        self._csv_writer.writerow(["" if value is None else json.dumps(value, ensure_ascii=False)
                                   if isinstance(value, dict | list) else value for value in values])
        self._csv.write(self._csv_text.getvalue().encode())
        self._csv_text.seek(0)
        self._csv_text.truncate()

    def add(self, values: Sequence[Any]) -> None:
        converted = [plain(value) for value in values]
        record = json.dumps(dict(zip(self.columns, converted, strict=True)), ensure_ascii=False, sort_keys=False)
        self._json.write((("\n    " if not self.rows else ",\n    ") + record).encode())
        self._csv_line(converted)
        self.rows += 1

    def close(self) -> None:
        self._json.write(("\n  ]\n}\n" if self.rows else "]\n}\n").encode())
        for kind, writer in (("json", self._json), ("csv", self._csv)):
            self.sha256[f"data/{self.category}.{kind}"] = writer.close()
            self.sizes[f"data/{self.category}.{kind}"] = writer.size


@dataclass(frozen=True)
class ExportSettings:
    request_id: str
    generated_at: datetime  # the run's moment: what the README and the link expiry count from
    media_bucket: str
    archive_bucket: str
    link_expires_after: timedelta
    bundle_expires_at: datetime


@dataclass
class Bundle:
    path: Path
    sha256: str
    size_bytes: int
    counts: dict[str, int]  # rows per category
    files: dict[str, str]  # file in the zip -> SHA-256


def check_data_map(conn: psycopg.Connection, data_map: DataMap, retention: RetentionPolicy) -> None:
    """Refuse an export that would be incomplete (a table names people but is not mapped) or that
    describes columns the database does not have."""
    unmapped = data_map.unmapped_tables(conn, retention.subject.key)
    if unmapped:
        names = ", ".join(f"{data_map.database_schema}.{table}" for table in unmapped)
        raise IncompleteDataMap(f"{names} {'has' if len(unmapped) == 1 else 'have'} a {retention.subject.key} "
                                "column but are not in data_map.yaml: an export would miss them. Add them to the "
                                "data map (and to the erasure's cascade in retention.yaml).")
    columns: dict[str, set[str]] = {}
    for table, column, *_ in conn.execute(sql_text("policy/columns.sql"), {"schema": data_map.database_schema}):
        columns.setdefault(table, set()).add(column)
    problems = []
    for entry in data_map.categories:
        present = columns.get(entry.table)
        if present is None:
            problems.append(f"{entry.category}: table {data_map.database_schema}.{entry.table} does not exist")
            continue
        missing = sorted(set(entry.fields) - present)
        named = {entry.subject_column, entry.key, entry.media_column} - {None}
        missing += sorted(name for name in named - present if name not in missing)
        if missing:
            problems.append(f"{entry.category}: {data_map.database_schema}.{entry.table} has no column "
                            f"{', '.join(missing)}")
    if problems:
        raise IncompleteDataMap("data_map.yaml does not match the database: " + "; ".join(problems))


def _rows_statement(data_map: DataMap, entry: MappedTable) -> Any:
    from psycopg import sql

    return sql.SQL(sql_text("dsr/export_rows.sql")).format(
        schema=sql.Identifier(data_map.database_schema), table=sql.Identifier(entry.table),
        subject_column=sql.Identifier(entry.subject_column),
        order=sql.Identifier(entry.key) if entry.key else sql.SQL("1"))


def write_bundle(conn: psycopg.Connection, presigner: Any, filesystem: Any, *, data_map: DataMap,
                 retention: RetentionPolicy, subject: Subject, settings: ExportSettings, work_dir: Path) -> Bundle:
    """Write the person's bundle to `work_dir`/bundle.zip; see the module docstring. `presigner` is an S3
    client that signs the media links (Signature Version 4)."""
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    check_data_map(conn, data_map, retention)
    written: list[CategoryFiles] = []
    media = CategoryFiles(category=data_map.media.category, title=data_map.media.title, source=settings.media_bucket,
                          columns=list(data_map.media.fields), descriptions=data_map.media.fields, directory=data_dir)
    expires = settings.generated_at + settings.link_expires_after
    with conn.transaction():
        # One snapshot for every table: the bundle shows the person's data at one moment.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for entry in data_map.categories:
            with conn.cursor(name=f"dsr_export_{entry.category}") as cursor:
                cursor.itersize = ROWS_PER_FETCH
                cursor.execute(_rows_statement(data_map, entry), {"subject": subject.user_id})
                columns = [column.name for column in cursor.description]
                files = CategoryFiles(category=entry.category, title=entry.title,
                                      source=f"{data_map.database_schema}.{entry.table}", columns=columns,
                                      descriptions=entry.fields, directory=data_dir)
                media_at = columns.index(entry.media_column) if entry.media_column else None
                key_at = columns.index(entry.key) if entry.key else None
                for row in cursor:
                    files.add(row)
                    if media_at is not None and row[media_at]:
                        url = presigner.generate_presigned_url(
                            "get_object", Params={"Bucket": settings.media_bucket, "Key": row[media_at]},
                            ExpiresIn=int(settings.link_expires_after.total_seconds()))
                        media.add([entry.category, row[key_at], row[media_at], url, expires])
                files.close()
                written.append(files)
        if data_map.archived:  # in the same snapshot, to leave out the rows the table showed already
            written.append(_archived(conn, filesystem, data_map, retention, subject, settings, data_dir))
    media.close()
    written.append(media)
    return _zip(work_dir, written, data_map, settings)


def _archived(conn: psycopg.Connection, filesystem: Any, data_map: DataMap, retention: RetentionPolicy,
              subject: Subject, settings: ExportSettings, data_dir: Path) -> CategoryFiles:
    """The person's events in the archive, read in place a batch at a time, leaving out any still in the
    table (asked per batch, so memory does not grow with the person's events)."""
    from psycopg import sql

    from governance.archive import PSEUDONYM_FIELD

    archived = data_map.archived
    rule = retention.rule(archived.rule)
    columns = [*rule.archive.columns, PSEUDONYM_FIELD]
    files = CategoryFiles(category=archived.category, title=archived.title,
                          source=f"s3://{settings.archive_bucket}/{rule.archive.prefix}", columns=columns,
                          descriptions=archived.fields, directory=data_dir)
    still_in_table = sql.SQL(sql_text("dsr/still_in_table.sql")).format(
        key=sql.Identifier(rule.key), schema=sql.Identifier(retention.database_schema),
        table=sql.Identifier(rule.table))
    found = person_in_archive(conn, rule=rule.name, bucket=settings.archive_bucket, pseudonym_value=subject.pseudonym)
    for batch in found.batches(filesystem, bucket=settings.archive_bucket, pseudonym_value=subject.pseudonym):
        records = batch.select(columns).to_pylist()
        shown = {row[0] for row in conn.execute(still_in_table, {"keys": [record[rule.key] for record in records]})}
        for record in records:
            if record[rule.key] not in shown:
                files.add([record[name] for name in columns])
    files.close()
    return files


def readme(written: Iterable[CategoryFiles], data_map: DataMap, settings: ExportSettings) -> str:
    lines = [
        f"# Your data, as of {settings.generated_at:%Y-%m-%d %H:%M:%S} UTC",
        "",
        f"This is the copy of your personal data that you asked for (request {settings.request_id}), under",
        "the rights of access and portability (GDPR Art. 15 and 20). Each kind of data is in `data/`, twice:",
        "as JSON, and as CSV that a spreadsheet opens. Times are in UTC.",
        "",
        f"The download links in `data/{data_map.media.category}.*` stop working at "
        f"{settings.generated_at + settings.link_expires_after:%Y-%m-%d %H:%M:%S} UTC; this bundle itself is "
        f"deleted at {settings.bundle_expires_at:%Y-%m-%d %H:%M:%S} UTC. A link whose file we deleted (for "
        "example, content removed under our rules) returns an error.",
        "",
        "To check that no file was changed: `sha256sum -c SHA256SUMS` in this folder.",
        "",
    ]
    for files in written:
        lines += [f"## {files.title}", "",
                  f"`data/{files.category}.json` and `data/{files.category}.csv`: {files.rows} "
                  f"record{'s' if files.rows != 1 else ''}.", "", "| field | what it means |", "|---|---|"]
        for column in files.columns:
            meaning = files.descriptions.get(column) or "(not described in the data map yet)"
            lines.append(f"| `{column}` | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def _zip(work_dir: Path, written: list[CategoryFiles], data_map: DataMap, settings: ExportSettings) -> Bundle:
    files: dict[str, str] = {}
    for category in written:
        files.update(category.sha256)
    text_files = {
        "README.md": readme(written, data_map, settings).encode(),
        "manifest.json": (json.dumps({
            "request_id": settings.request_id, "generated_at": settings.generated_at.isoformat(),
            "bundle_expires_at": settings.bundle_expires_at.isoformat(),
            "categories": {c.category: {"records": c.rows, "source": c.source} for c in written},
            "files": dict(files)}, indent=2, sort_keys=True) + "\n").encode(),
    }
    for name, body in text_files.items():
        files[name] = hashlib.sha256(body).hexdigest()
    sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items())).encode()
    path = work_dir / "bundle.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in text_files.items():
            archive.writestr(name, body)
        archive.writestr("SHA256SUMS", sums)
        for category in written:
            for name in category.sha256:
                archive.write(work_dir / name, arcname=name)  # copied in chunks, not read whole
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(READ_CHUNK), b""):
            digest.update(chunk)
    return Bundle(path=path, sha256=digest.hexdigest(), size_bytes=path.stat().st_size,
                  counts={c.category: c.rows for c in written}, files=files)


def upload_bundle(s3: Any, bundle: Bundle, *, bucket: str, key: str, expires_at: datetime) -> str | None:
    """Upload the zip (multipart when large) with a SHA-256 checksum, read it back, match it; its version id."""
    from boto3.s3.transfer import TransferConfig

    s3.upload_file(str(bundle.path), bucket, key, Config=TransferConfig(multipart_chunksize=16 << 20),
                   ExtraArgs={"ChecksumAlgorithm": "SHA256", "ContentType": "application/zip",
                              "Expires": expires_at,
                              "Metadata": {"sha256": bundle.sha256, "expires-at": expires_at.isoformat()}})
    version_id = s3.head_object(Bucket=bucket, Key=key).get("VersionId")
    read = {"VersionId": version_id} if version_id else {}
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=key, **read)["Body"].iter_chunks(READ_CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != bundle.sha256:
        raise BundleWriteError(f"s3://{bucket}/{key} did not read back with SHA-256 {bundle.sha256}")
    return version_id


def export_key(rights: SubjectRightsPolicy, request_id: str) -> str:
    return f"{rights.export.prefix}/{request_id}/{request_id}.zip"
