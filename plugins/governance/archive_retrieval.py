"""Retrieval from the moderation-log archive for auditors: read the Parquet in place, nothing restored.

The objects to read come from the manifests (not expired, of the months in the period: Hive
month partitions pruned before anything is read); a pyarrow dataset over S3 reads them with the
filter pushed down (person by pseudonym, category, time range), a batch at a time, into a CSV.
The archive holds no user id: a user id is turned into its pseudonym with the pseudonym key.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from governance.archive import PSEUDONYM_FIELD
from governance.db import sql_text
from governance.errors import PermanentError
from governance.policy import Loaded, RetentionPolicy
from governance.pseudonyms import pseudonym
from governance.reports import counted

if TYPE_CHECKING:
    import psycopg

_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")


class InvalidRetrieval(PermanentError):
    """The retrieval's form is wrong: an unknown category, an inverted period, a malformed pseudonym."""


@dataclass(frozen=True)
class Retrieval:
    """What an auditor asked for: a period [start, end), and optionally one person and one category."""

    start: date
    end: date
    user_id: int | None = None
    pseudonym: str | None = None
    category: str | None = None

    def check(self, categories: list[str]) -> None:
        if self.end <= self.start:
            raise InvalidRetrieval(f"period: it ends ({self.end}) before it starts ({self.start}), or on the same day")
        if self.user_id is not None and self.pseudonym:
            raise InvalidRetrieval("give a user id or a pseudonym, not both")
        if self.pseudonym and not _PSEUDONYM.fullmatch(self.pseudonym):
            raise InvalidRetrieval("pseudonym: 64 lowercase hexadecimal characters expected")
        if self.category is not None and self.category not in categories:
            raise InvalidRetrieval(f"category: unknown {self.category!r}; choose from {', '.join(categories)}")


@dataclass
class Retrieved:
    rows: int
    objects_read: int
    by_month: dict[str, int]
    by_category: dict[str, int]


def retrieve(conn: psycopg.Connection, filesystem: Any, *, policy: Loaded[RetentionPolicy], rule: str, bucket: str,
             request: Retrieval, pseudonym_key: bytes, out_csv: Path) -> Retrieved:
    """Write the matching archived events to `out_csv`, reading only the objects of the period's months."""
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.dataset as ds

    chosen = policy.model.rule(rule)
    spec = chosen.archive
    request.check(spec.categories)
    months = conn.execute(sql_text("archive/retrievable.sql"), {
        "rule": rule, "bucket": bucket, "first_month": f"month={request.start:%Y-%m}",
        "last_month": f"month={request.end - timedelta(days=1):%Y-%m}"}).fetchall()
    paths = [f"{bucket}/{key}" for key, _, _ in months]
    person = request.pseudonym
    if request.user_id is not None:
        person = pseudonym(pseudonym_key, policy.model.subject.table, request.user_id)
    begin = datetime.combine(request.start, datetime.min.time(), tzinfo=UTC)
    finish = datetime.combine(request.end, datetime.min.time(), tzinfo=UTC)
    where = (ds.field(chosen.clock) >= begin) & (ds.field(chosen.clock) < finish)
    if person:
        where &= ds.field(PSEUDONYM_FIELD) == person
    if request.category:
        where &= ds.field("category") == request.category
    result = Retrieved(rows=0, objects_read=len(paths), by_month={}, by_category={})
    by_month: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    dataset = ds.dataset(paths, filesystem=filesystem, format="parquet") if paths else None
    writer = None
    try:
        for batch in (dataset.to_batches(filter=where, batch_size=65_536) if dataset else []):
            if writer is None:
                writer = pa_csv.CSVWriter(str(out_csv), batch.schema)
            if batch.num_rows:
                writer.write_batch(batch)
                result.rows += batch.num_rows
                months_of = pc.strftime(batch.column(chosen.clock), format="%Y-%m").to_pylist()
                by_month.update(months_of)
                by_category.update(batch.column("category").to_pylist())
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # no object, or none matched: a CSV with its header only
        out_csv.write_text(",".join(['"' + name + '"' for name in (*spec.columns, PSEUDONYM_FIELD)]) + "\n")
    result.by_month, result.by_category = dict(sorted(by_month.items())), dict(sorted(by_category.items()))
    return result


def retrieval_report(*, workflow: str, run_id: str, request: Retrieval, found: Retrieved,
                     csv_key: str) -> dict[str, Any]:
    """The retrieval's report document: what was asked for and what was found, counts only (never an event)."""
    document = {
        "report": workflow, "run_id": run_id, "generated_at": datetime.now(UTC).isoformat(),
        "request": {"start": request.start.isoformat(), "end": request.end.isoformat(),
                    "person": bool(request.user_id is not None or request.pseudonym), "category": request.category},
        "rows": found.rows, "objects_read": found.objects_read, "by_month": found.by_month,
        "by_category": found.by_category, "csv_key": csv_key,
    }
    document["summary"] = retrieval_summary(document)
    return document


def retrieval_summary(document: dict[str, Any]) -> str:
    """Two or three sentences: what was asked for, what was found, and that nothing was restored."""
    asked = document["request"]
    last_day = date.fromisoformat(asked["end"]) - timedelta(days=1)
    whose = "one person's" if asked["person"] else "everyone's"
    category = f" in category {asked['category']}" if asked["category"] else ""
    files = counted(document["objects_read"], "archive file")
    found = (f"{counted(document['rows'], 'event')} matched, read from {files} of those months; they are in the CSV "
             "file named below" if document["rows"] else f"No event matched, in {files} of those months")
    return (f"An auditor asked for {whose} critical moderation events{category} from {asked['start']} to {last_day} "
            f"(UTC, both days included). {found}. The events were read in place from the write-once archive: "
            "nothing was restored into the database, and the archive names people only by a keyed hash.")


@dataclass
class PersonInArchive:
    """One person's archived events: the objects that hold them, and until when those are locked."""

    objects: list[str]
    retain_until: datetime | None  # the latest retain-until among them

    def batches(self, filesystem: Any, *, bucket: str, pseudonym_value: str, batch_size: int = 65_536):
        """The person's events, a pyarrow RecordBatch at a time (never the whole archive in memory)."""
        import pyarrow.dataset as ds

        if not self.objects:
            return
        dataset = ds.dataset([f"{bucket}/{key}" for key in self.objects], filesystem=filesystem, format="parquet")
        for batch in dataset.to_batches(filter=ds.field(PSEUDONYM_FIELD) == pseudonym_value, batch_size=batch_size):
            if batch.num_rows:
                yield batch


def person_in_archive(conn: psycopg.Connection, *, rule: str, bucket: str, pseudonym_value: str) -> PersonInArchive:
    """Which archive objects of `rule` hold events of the person with this pseudonym (from archive_subjects)."""
    from governance.archive import subject_hash

    rows = conn.execute(sql_text("archive/objects_of_subject.sql"), {
        "rule": rule, "bucket": bucket, "subject_hash": subject_hash(pseudonym_value)}).fetchall()
    latest = max((until for _, until in rows), default=None)
    return PersonInArchive(objects=[key for key, _ in rows], retain_until=latest)
