"""Reports: written to the reports bucket, read back and checked, and indexed in
governance.report_index with their SHA-256, so an auditor can find and verify each one."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from governance import settings
from governance.db import sql_text

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".pdf": "application/pdf",
}


class ReportWriteError(RuntimeError):
    """A report object did not read back with the checksum it was written with."""


@dataclass(frozen=True)
class PublishedReport:
    bucket: str
    object_key: str
    sha256: str
    size_bytes: int
    report_id: int


def safe_path_part(text: str) -> str:
    """A run id or name made safe for an object key (run ids hold ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "_"


def report_prefix(workflow: str, run_day: date, run_id: str) -> str:
    return f"{workflow}/{run_day.isoformat()}/{safe_path_part(run_id)}"


def to_json_bytes(document: Any) -> bytes:
    """Stable, readable JSON: sorted keys, ISO timestamps."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"cannot put {type(value).__name__} in a report")

    return (json.dumps(document, indent=2, sort_keys=True, default=default, ensure_ascii=False) + "\n").encode()


def to_csv_bytes(fields: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    """CSV with a header row, in FIELDS order; None is empty, booleans are true/false, dates ISO. The
    same rows give the same bytes."""

    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime | date):
            return value.isoformat()
        return value

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        unknown = set(row) - set(fields)
        if unknown:
            raise ValueError(f"CSV row has fields the header lacks: {', '.join(sorted(unknown))}")
        writer.writerow([cell(row.get(name)) for name in fields])
    return out.getvalue().encode()


def html_to_pdf(html: bytes) -> bytes | None:
    """The HTML printed to PDF by WeasyPrint (which fetches nothing: reports are self-contained), or None
    where WeasyPrint or the Pango library it needs is missing."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        log.warning("no PDF: WeasyPrint cannot load (%s); install it and Pango (see the README)", type(exc).__name__)
        return None
    return HTML(string=html.decode(), url_fetcher=_no_fetching).write_pdf()


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError("reports are self-contained: nothing is fetched")


def readable_time(value: datetime | date | str | None) -> str:
    """A moment as every report writes it, to the second and in UTC: "2026-12-01 02:00:00 UTC".

    Takes a datetime (a naive one is taken to be UTC already), an ISO 8601 string as the JSON
    documents hold them, or a date, which stays a date ("2026-12-01"); None is a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return value.isoformat()
    moment = value.astimezone(UTC) if value.tzinfo else value
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """A count with its noun, as reports say it: "1 row", "12,345 rows", "2 people"."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def render_html(template_name: str, **context: Any) -> bytes:
    """Render include/templates/TEMPLATE_NAME with autoescaping on, and the filters every report uses
    (`readable_time`, `counted`), so that all of them write times and counts the same way."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(settings.include_dir() / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(readable_time=readable_time, counted=counted)
    return environment.get_template(template_name).render(**context).encode()


def publish(conn: psycopg.Connection, s3: Any, *, workflow: str, run_id: str, report_type: str, object_key: str,
            body: bytes, summary: dict[str, Any], period_start: datetime | None = None,
            period_end: datetime | None = None, bucket: str | None = None) -> PublishedReport:
    """Put one report object, check it reads back intact, and index it (committed)."""
    from psycopg.types.json import Jsonb

    bucket = bucket or settings.reports_bucket()
    digest = hashlib.sha256(body).hexdigest()
    suffix = object_key[object_key.rfind(".") :]
    put = s3.put_object(
        Bucket=bucket,
        Key=object_key,
        Body=body,
        ContentType=CONTENT_TYPES.get(suffix, "application/octet-stream"),
        ChecksumAlgorithm="SHA256",
        Metadata={"sha256": digest, "workflow": workflow},
    )
    version_id = put.get("VersionId")
    read = {"VersionId": version_id} if version_id else {}
    stored = s3.get_object(Bucket=bucket, Key=object_key, **read)["Body"].read()
    if hashlib.sha256(stored).hexdigest() != digest:
        raise ReportWriteError(f"s3://{bucket}/{object_key} did not read back with SHA-256 {digest}")
    params = {
        "workflow": workflow, "run_id": run_id, "report_type": report_type, "period_start": period_start,
        "period_end": period_end, "bucket": bucket, "object_key": object_key, "version_id": version_id,
        "content_type": CONTENT_TYPES.get(suffix, "application/octet-stream"), "sha256": digest,
        "size_bytes": len(body), "summary": Jsonb(summary),
    }
    with conn.transaction():
        row = conn.execute(sql_text("reports/index.sql"), params).fetchone()
        report_id = row[0] if row else conn.execute(sql_text("reports/indexed.sql"), params).fetchone()[0]
    return PublishedReport(bucket, object_key, digest, len(body), report_id)


def publish_document(conn: psycopg.Connection, s3: Any, *, workflow: str, run_id: str, report_type: str,
                     prefix: str, document: dict[str, Any], template: str, summary: dict[str, Any],
                     period_start: datetime | None = None, period_end: datetime | None = None,
                     csv_table: tuple[Sequence[str], Sequence[Mapping[str, Any]]] | None = None,
                     pdf: bool = False) -> list[str]:
    """Publish a report document as PREFIX/REPORT_TYPE.json and, rendered, as .html; with `csv_table`
    (fields, rows) also as .csv, and with `pdf` the same HTML printed as .pdf. Returns the keys."""
    html = render_html(template, report=document)
    bodies = {f"{prefix}/{report_type}.json": to_json_bytes(document), f"{prefix}/{report_type}.html": html}
    if csv_table is not None:
        bodies[f"{prefix}/{report_type}.csv"] = to_csv_bytes(*csv_table)
    if pdf and (printed := html_to_pdf(html)) is not None:
        bodies[f"{prefix}/{report_type}.pdf"] = printed
    for key, body in bodies.items():
        publish(conn, s3, workflow=workflow, run_id=run_id, report_type=report_type, object_key=key, body=body,
                summary=summary, period_start=period_start, period_end=period_end)
    return list(bodies)
