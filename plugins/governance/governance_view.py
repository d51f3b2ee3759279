"""What the Governance view shows, read from the governance schema and the policy files: the
promises and what their workflows last did, the report index, the ledger and its last check,
and the evidence pack of a period. Plain Python: the Airflow glue adds auth and HTTP."""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import IO, TYPE_CHECKING, Any

from governance.db import sql_text
from governance.errors import PermanentError
from governance.ledger_entry import HASHED_COLUMNS

if TYPE_CHECKING:
    import psycopg

PAGE_SIZE = 50
CHUNK = 1024 * 1024


class BadRequest(PermanentError, ValueError):
    """A query parameter that is malformed or out of range; the message names it."""


class NotFound(PermanentError, LookupError):
    """Nothing of that id is in the index."""


class Gone(PermanentError, LookupError):
    """The index has the report, its bucket no longer has the object (the message says which and since when)."""


@dataclass(frozen=True)
class Promise:
    promise: str
    source: str  # where the promise is quoted from
    workflow: str
    rule: str | None


def promises() -> list[Promise]:
    """One row per promise: each rule of retention.yaml, then the register, the checks, the rights and the ledger."""
    from governance.policy import load_retention_policy
    from governance.register import load_transfer_register

    rows = [Promise(rule.promise, f"retention.yaml: {rule.name}", rule.workflow, rule.name)
            for rule in load_retention_policy().model.rules]
    register = load_transfer_register().model
    rows += [
        Promise(f"Cross-border transfers only to the recipients, countries and legal bases of the "
                f"{register.document.title} ({len(register.recipients)} recipients)", "transfers.yaml",
                "cross_border_transfer_report", None),
        Promise("Prompts are stored only as SHA-256 hashes; IP addresses only hashed", "privacy policy §2.2, §4",
                "data_quality_checks", None),
        Promise("Right of access and portability: an export of the person's data", "privacy policy §6",
                "dsr_export", None),
        Promise("Right to erasure: the person's data deleted, what the law keeps pseudonymised", "privacy policy §6",
                "dsr_erasure", None),
        Promise("Every deletion accounted for in a hash-chained, signed ledger", "the evidence itself",
                "audit_ledger_verification", None),
    ]
    return rows


def promise_rows(conn: psycopg.Connection, dag_runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The promises page: per promise, its workflow's last run (from Airflow: `dag_runs`), what that run
    or the rule's last run recorded (counts only), and the newest report as evidence."""
    reports = {row[1]: row for row in conn.execute(sql_text("ui/latest_reports.sql"), {})}
    rule_runs = {(row[0], row[1]): row for row in conn.execute(sql_text("ui/latest_rule_runs.sql"))}
    rows = []
    for promise in promises():
        report = reports.get(promise.workflow)
        run = rule_runs.get((promise.workflow, promise.rule)) if promise.rule else None
        if promise.rule:  # a rule's own last run; never the whole workflow's totals
            recorded = {name: value for name, value in ((run[6] if run else None) or {}).items() if value}
        elif report:
            recorded = _recorded(report[6] or {})
        else:
            recorded = {}
        rows.append({
            "promise": promise.promise, "source": promise.source, "workflow": promise.workflow, "rule": promise.rule,
            "last_run": dag_runs.get(promise.workflow),
            "rule_state": run[3] if run else None,
            "recorded": recorded,
            "evidence": {"report_id": report[0], "object_key": report[4], "created_at": report[5]} if report else None,
        })
    return rows


def _recorded(summary: dict[str, Any]) -> dict[str, Any]:
    """A report's summary as the promises page shows it: its totals (or itself), counts and states that
    are not zero, and nested counts (findings by severity) folded into one line."""
    recorded = {}
    for name, value in (summary.get("totals") or summary).items():
        if isinstance(value, dict):
            value = ", ".join(f"{key} {count}" for key, count in value.items() if isinstance(count, int) and count)
        if isinstance(value, int | float | str) and not isinstance(value, bool) and value not in (0, ""):
            recorded[name] = value
    return recorded


def _day(name: str, value: str | None) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: {value[:40]!r} is not a date such as 2026-11-01") from None


def period(period_start: str | None, period_end: str | None, *, required: bool) -> tuple[datetime, datetime] | None:
    """[start, end) as UTC midnights, from ISO dates; refused when malformed, half given or inverted."""
    start, end = _day("period_start", period_start), _day("period_end", period_end)
    if start is None and end is None:
        if required:
            raise BadRequest("period_start, period_end: give both dates (end exclusive)")
        return None
    if start is None or end is None:
        raise BadRequest("period_start, period_end: give both dates, or neither")
    if end <= start:
        raise BadRequest(f"period_end: {end} must be after period_start {start} (the end is exclusive)")
    return (datetime.combine(start, time.min, tzinfo=UTC), datetime.combine(end, time.min, tzinfo=UTC))


def report_list(conn: psycopg.Connection, *, workflow: str | None, window: tuple[datetime, datetime] | None,
                page: int) -> dict[str, Any]:
    workflows = [row[0] for row in conn.execute(sql_text("ui/workflows.sql"))]
    if workflow and workflow not in workflows:
        raise BadRequest(f"workflow: {workflow[:60]!r} has no reports; the workflows are {', '.join(workflows)}")
    if page < 1:
        raise BadRequest("page: must be 1 or more")
    since, until = window or (None, None)
    rows = conn.execute(sql_text("ui/reports.sql"), {"workflow": workflow or None, "since": since, "until": until,
                                                     "limit": PAGE_SIZE + 1, "offset": (page - 1) * PAGE_SIZE})
    columns = ("report_id", "workflow", "run_id", "report_type", "object_key", "content_type", "size_bytes", "sha256",
               "created_at", "period_start", "period_end", "missing_since")
    found = [dict(zip(columns, row, strict=True)) for row in rows]
    return {"workflows": workflows, "reports": found[:PAGE_SIZE], "page": page, "more": len(found) > PAGE_SIZE}


def report_object(conn: psycopg.Connection, report_id: int) -> dict[str, Any]:
    """An indexed report's place in the bucket; only ids of the index are ever read (no key from outside)."""
    row = conn.execute(sql_text("ui/report.sql"), {"report_id": report_id}).fetchone()
    if row is None:
        raise NotFound(f"report {report_id} is not in the report index")
    columns = ("report_id", "workflow", "bucket", "object_key", "version_id", "content_type", "size_bytes", "sha256",
               "missing_since")
    found = dict(zip(columns, row, strict=True))
    if found["missing_since"] is not None:
        raise Gone(f"report {report_id} ({found['object_key']}) is no longer in its bucket: "
                   f"found gone {found['missing_since']:%Y-%m-%d %H:%M} UTC")
    return found


GONE_CODES = {"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "404"}


def stream_object(s3: Any, found: dict[str, Any]) -> Iterator[bytes]:
    """The object's bytes in chunks, as stored (by version id where the index has one). The object is fetched
    now, not when the chunks are read: one that is gone raises Gone before a response has begun."""
    from botocore.exceptions import ClientError

    version = {"VersionId": found["version_id"]} if found["version_id"] else {}
    try:
        body = s3.get_object(Bucket=found["bucket"], Key=found["object_key"], **version)["Body"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in GONE_CODES:
            raise Gone(f"report {found['report_id']} ({found['object_key']}) is no longer in its bucket") from None
        raise
    return body.iter_chunks(CHUNK)


def ledger_page(conn: psycopg.Connection, page: int) -> dict[str, Any]:
    if page < 1:
        raise BadRequest("page: must be 1 or more")
    newest = conn.execute(sql_text("ui/ledger_count.sql")).fetchone()[0]
    below = newest - (page - 1) * PAGE_SIZE
    columns = ("seq", "recorded_at", "workflow", "run_id", "action", "rule", "target_table", "counts", "entry_hash")
    rows = [dict(zip(columns, row, strict=True))
            for row in conn.execute(sql_text("ui/ledger_page.sql"), {"below": below, "limit": PAGE_SIZE})]
    return {"entries": rows, "page": page, "newest": newest, "more": below - PAGE_SIZE > 0}


def last_verification(conn: psycopg.Connection) -> dict[str, Any] | None:
    """What the newest ledger verification found, from its indexed report (never re-verified here)."""
    rows = conn.execute(sql_text("ui/latest_reports.sql"), {}).fetchall()
    row = next((r for r in rows if r[1] == "audit_ledger_verification"), None)
    if row is None:
        return None
    summary = row[6] or {}
    head = summary.get("ledger_head") or {}
    status = summary.get("status")
    seq = head.get("seq") if isinstance(head, dict) else head
    text = (f"intact up to entry {seq} at {row[5]:%Y-%m-%d %H:%M:%S} UTC" if status == "ok"
            else f"broken at entry {summary.get('first_broken_seq', seq)}: {summary.get('reason')}")
    return {"status": status, "text": text, "report_id": row[0], "checked_at": row[5]}


# -- the evidence pack -------------------------------------------------------------------------

VERIFY_SCRIPT = '''"""Recompute the audit ledger's hash chain from ledger.jsonl: python3 verify_ledger.py"""
import hashlib, json, sys

HASHED = {hashed}
ok, previous = True, None
with open("ledger.jsonl", encoding="utf-8") as lines:
    for number, line in enumerate(lines, 1):
        entry = json.loads(line)
        document = {{name: entry[name] for name in HASHED}}
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((entry["prev_hash"] + canonical).encode("utf-8")).hexdigest()
        if digest != entry["entry_hash"]:
            print(f"entry {{entry['seq']}}: content changed (hash {{digest}} != {{entry['entry_hash']}})"); ok = False
        if previous is not None and entry["prev_hash"] != previous["entry_hash"]:
            print(f"entry {{entry['seq']}}: chain link broken (prev_hash does not match entry {{previous['seq']}})")
            ok = False
        if previous is not None and entry["seq"] != previous["seq"] + 1:
            print(f"entries {{previous['seq']}} to {{entry['seq']}}: a gap"); ok = False
        previous = entry
print("ledger extract intact" if ok else "ledger extract BROKEN")
sys.exit(0 if ok else 1)
'''

README = """# Evidence pack: {start} to {end} (end exclusive)

Written by the Governance view of {where} at {written} UTC, for {who}.

- `reports/`: every report the governance workflows wrote in the period, as stored in the
  reports bucket (the path is its object key).
- `missing_reports.json`: the reports indexed in the period whose object was gone from the bucket when
  the pack was made (an empty list when none): the index still names them and their SHA-256, but
  their bytes are lost.
- `manifests.json`: the archive manifests of the period (object, SHA-256, rows, id range, lock).
- `ledger.jsonl`: the audit-ledger entries recorded in the period, one JSON object per line,
  with every hashed column, `prev_hash` and `entry_hash`.
- `SHA256SUMS`: the SHA-256 of every other file.

## Verify it offline

    sha256sum -c SHA256SUMS       # every file is as it was written
    python3 verify_ledger.py      # the ledger entries chain: each hash recomputed from its row

`verify_ledger.py` recomputes each entry's hash as SHA-256(prev_hash + canonical JSON of its
hashed columns: sorted keys, no whitespace, UTF-8, timestamps as YYYY-MM-DDTHH:MM:SS.ffffffZ),
and checks that each entry links to the one before. The first entry's `prev_hash` is the hash
of the entry before the period, which the ledger verification report of that day names. The
signatures (HMAC with a key outside the database) can only be checked by the key's holder.
"""


def _ledger_line(row: tuple) -> str:
    columns = ("seq", "recorded_at", "workflow", "run_id", "action", "rule", "target_table", "cutoff",
               "policy_sha256", "counts", "details", "prev_hash", "entry_hash")
    entry = dict(zip(columns, row, strict=True))
    for name in ("recorded_at", "cutoff"):
        value = entry[name]
        if isinstance(value, datetime):
            entry[name] = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return json.dumps(entry, sort_keys=True, ensure_ascii=False)


def evidence_pack(conn: psycopg.Connection, s3: Any, window: tuple[datetime, datetime], *, who: str,
                  where: str, written: datetime) -> IO[bytes]:
    """A zip of the period's reports, manifests and ledger extract, with SHA256SUMS, a README and
    a verification script, in a temporary file (on disk beyond 16 MB) positioned at its start."""
    since, until = window
    params = {"since": since, "until": until}
    sums: list[tuple[str, str]] = []
    out = tempfile.SpooledTemporaryFile(max_size=16 * CHUNK)  # noqa: SIM115  (returned open, closed by iter_file)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:

        def add(name: str, chunks: Iterator[bytes]) -> None:
            digest = hashlib.sha256()
            with pack.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    digest.update(chunk)
                    member.write(chunk)
            sums.append((digest.hexdigest(), name))

        gone = []
        for report_id, _, bucket, key, version_id, sha256, _, created_at, missing_since in conn.execute(
                sql_text("ui/period_reports.sql"), params):
            try:
                if missing_since is not None:
                    raise Gone(key)
                chunks = stream_object(s3, {"bucket": bucket, "object_key": key, "version_id": version_id,
                                            "report_id": report_id})
            except Gone:  # listed, never silently left out: the auditor sees what evidence was lost
                gone.append({"report_id": report_id, "object_key": key, "version_id": version_id, "sha256": sha256,
                             "created_at": created_at, "missing_since": missing_since})
                continue
            add(f"reports/{key}", chunks)
        add("missing_reports.json", iter([json.dumps(gone, indent=2, default=str, sort_keys=True).encode() + b"\n"]))
        columns = ("manifest_id", "run_id", "source_table", "partition_key", "bucket", "object_key", "version_id",
                   "sha256", "row_count", "min_key", "max_key", "retain_until", "verified_at", "created_at")
        manifests = [dict(zip(columns, row, strict=True)) for row in conn.execute(sql_text("ui/period_manifests.sql"),
                                                                                  params)]
        add("manifests.json", iter([json.dumps(manifests, indent=2, default=str, sort_keys=True).encode() + b"\n"]))
        lines = "".join(_ledger_line(row) + "\n" for row in conn.execute(sql_text("ui/ledger_extract.sql"), params))
        add("ledger.jsonl", iter([lines.encode()]))
        add("verify_ledger.py", iter([VERIFY_SCRIPT.format(hashed=sorted(HASHED_COLUMNS)).encode()]))
        add("README.md", iter([README.format(start=since.date(), end=until.date(), where=where, who=who,
                                             written=f"{written:%Y-%m-%d %H:%M:%S}").encode()]))
        pack.writestr("SHA256SUMS", "".join(f"{digest}  {name}\n" for digest, name in sums))
    out.seek(0)
    return out


def iter_file(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()

