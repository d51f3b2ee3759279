"""Data-quality checks (data_quality_checks): GX Core suites that run inside PostgreSQL and never
repeat a value they find.

A suite is a GX suite file, expectations/NAME.json, that an auditor can read. Each expectation
names in `meta.batch` the kind of batch it checks (governance.quality_batches), and says in
`meta.check` and `meta.explain` what it proves, in plain words. A run:

1. builds the suite's batches: temporary views on one connection, which the GX data source
   shares (a GX query asset would run its query whole once just to learn its column names);
2. validates each batch with GX under `BOOLEAN_ONLY`, so no result holds a value; GX bundles the
   expectations of a batch into one query, one pass over the rows;
3. for each failed expectation, runs a second pass of only the failed ones under `SUMMARY` with
   `exclude_unexpected_values` and no index query: counts, and for map expectations the keys of
   the offending rows; then reads, for those keys, the SHA-256 of the offending value from the
   view (computed in PostgreSQL: the value never reaches Python);
4. records one row per expectation and batch in governance.dq_results;
5. writes GX Data Docs of the first pass, with any error reduced to its class and SQLSTATE;
6. advances the watermark of each incremental batch that passed.

An expectation that GX cannot evaluate (a database error) fails, recorded by error class and
SQLSTATE: GX's own exception text can quote a row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from governance import settings
from governance.db import sql_text
from governance.errors import PermanentError
from governance.quality_batches import BUILDERS, Batch, BatchContext, build_batches, key_record
from governance.reports import readable_time

if TYPE_CHECKING:
    import psycopg

    from governance.data_map import DataMap
    from governance.policy import Loaded, RetentionPolicy

log = logging.getLogger(__name__)
# GX logs hundreds of INFO lines about its own internals per suite (its docs decorators, batch slices,
# data sources): in a task log they bury the lines a user reads. Its warnings still show.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

SUITES = ("no_raw_prompts", "hashed_ips", "retention_compliance", "archive_integrity")
SAMPLE_LIMIT = 1000  # offending rows recorded per result: enough to remediate, bounded for the table
SEVERITIES = ("fail", "warn")
NO_VALUES = {
    "result_format": "SUMMARY",
    "exclude_unexpected_values": True,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": SAMPLE_LIMIT,
}


class SuiteFileError(PermanentError):
    """A suite file that cannot be run: the message names the file, the expectation and the field."""


class DataQualityFailed(PermanentError):
    """A suite found what the policy says must not be there (or could not check it)."""


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict[str, Any]
    batch: str
    check: str
    explain: str
    severity: str = "fail"

    @property
    def maps_rows(self) -> bool:
        """A map expectation: it tests each row, so its failures have row keys."""
        return self.type.startswith(("expect_column_values_", "expect_column_pair_values_"))

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column") or self.kwargs.get("column_A")

    def configuration(self) -> Any:
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        return ExpectationConfiguration(type=self.type, kwargs=dict(self.kwargs),
                                        meta={"check": self.check, "explain": self.explain})


@dataclass(frozen=True)
class Suite:
    name: str
    meta: dict[str, Any]
    expectations: tuple[Expectation, ...]
    sha256: str

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(expectation.batch for expectation in self.expectations))


def load_suite(name: str, directory: Path | None = None) -> Suite:
    """Read and check expectations/NAME.json; a bad file raises SuiteFileError naming what is wrong."""
    path = (directory or settings.expectations_dir()) / f"{name}.json"
    where = str(path)
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
    except FileNotFoundError:
        raise SuiteFileError(f"{where}: no such suite file") from None
    except json.JSONDecodeError as exc:
        raise SuiteFileError(f"{where}: not JSON (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(document, dict) or document.get("name") != name:
        raise SuiteFileError(f"{where}: 'name' must be {name!r}, the file's name")
    items = document.get("expectations")
    if not isinstance(items, list) or not items:
        raise SuiteFileError(f"{where}: 'expectations' must be a non-empty list")
    expectations = [_expectation(f"{where}: expectations[{index}]", item) for index, item in enumerate(items)]
    return Suite(name, document.get("meta", {}), tuple(expectations), hashlib.sha256(raw).hexdigest())


def _expectation(at: str, item: Any) -> Expectation:
    meta = item.get("meta", {}) if isinstance(item, dict) else None
    if not isinstance(meta, dict) or not isinstance(item.get("type"), str):
        raise SuiteFileError(f"{at}: needs 'type' and a 'meta' object")
    if meta.get("batch") not in BUILDERS:
        raise SuiteFileError(f"{at}: meta.batch {meta.get('batch')!r} is not one of {', '.join(BUILDERS)}")
    for text in ("check", "explain"):
        if not isinstance(meta.get(text), str) or not meta[text].strip():
            raise SuiteFileError(f"{at}: meta.{text} must say in words what the expectation checks")
    if meta.get("severity", "fail") not in SEVERITIES:
        raise SuiteFileError(f"{at}: meta.severity must be one of {', '.join(SEVERITIES)}")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SuiteFileError(f"{at}: 'kwargs' must be an object")
    return Expectation(item["type"], kwargs, meta["batch"], meta["check"], meta["explain"],
                       meta.get("severity", "fail"))


def load_canaries(path: Path | None = None) -> list[str]:
    lines = (path or settings.canaries_file()).read_text().splitlines()
    return [line for line in lines if line.strip()]


# -- results ------------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    """One expectation on one batch: what it found, by count, keys and hashes, never by value."""

    suite: str
    check: str
    expectation: str
    explain: str
    severity: str
    batch: Batch
    success: bool
    unexpected_count: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    result_id: int | None = None
    checked_column: str | None = None  # the view column the expectation reads
    found_nothing: bool = False  # a check that must find something (the canaries' hashes) found nothing

    @property
    def column(self) -> str | None:
        return self.batch.column_of(self.checked_column)

    @property
    def target(self) -> str:
        return self.batch.target(self.column)

    def summary(self) -> str:
        if self.error:
            return (f"'{self.check}' could not be checked on {self.target} ({self.error['class']}"
                    f"{', SQLSTATE ' + self.error['sqlstate'] if self.error.get('sqlstate') else ''})")
        if self.found_nothing:
            return f"'{self.check}' failed on {self.target}: none found"
        rows = "row" if self.unexpected_count == 1 else "rows"
        return f"'{self.check}' failed on {self.target}: {self.unexpected_count} {rows}"

    def as_dict(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "suite": self.suite, "check": self.check,
                "expectation": self.expectation, "target": self.target, "table": self.batch.table,
                "column": self.column, "success": self.success, "severity": self.severity,
                "unexpected_count": self.unexpected_count, "sampled": len(self.sample),
                "scope": self.batch.scope, "error": self.error, "explain": self.explain}


@dataclass
class SuiteOutcome:
    suite: str
    run_id: str
    full_scan: bool
    results: list[CheckResult] = field(default_factory=list)
    data_docs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[CheckResult]:
        return [result for result in self.results if not result.success and result.severity == "fail"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [result for result in self.results if not result.success and result.severity == "warn"]

    def line(self) -> str:
        passed = sum(result.success for result in self.results)
        incremental = any(r.batch.scope.get("mode") == "incremental" for r in self.results)
        scan = ("full scan" if self.full_scan else "incremental" if incremental
                else "incremental, but no watermark yet: whole tables")
        return (f"{self.suite} ({scan}): {passed} of {len(self.results)} checks passed"
                f"{f', {len(self.failed)} failed' if self.failed else ''} in {self.seconds:.1f} s")

    def failure_message(self) -> str:
        where = f"; Data Docs: {self.data_docs[0]}" if self.data_docs else ""
        details = "; ".join(f"{result.summary()} (governance.dq_results result_id {result.result_id})"
                            for result in self.failed)
        return f"{self.line()}: {details}{where}"

    def as_dict(self) -> dict[str, Any]:
        return {"suite": self.suite, "run_id": self.run_id, "full_scan": self.full_scan,
                "checks": len(self.results), "passed": sum(r.success for r in self.results),
                "failed": len(self.failed), "warnings": len(self.warnings), "seconds": round(self.seconds, 2),
                "data_docs": self.data_docs, "line": self.line(),
                "failures": [result.summary() for result in self.failed]}


# -- GX ---------------------------------------------------------------------------------------------

_PSYCOPG_ERROR = re.compile(r"psycopg\.errors\.([A-Za-z]+)")
_ANY_ERROR = re.compile(r"\b([A-Z][A-Za-z]+(?:Error|Exception))\b")


def error_of(exception_info: Any) -> dict[str, Any] | None:
    """The class and SQLSTATE of the error GX caught, read from its traceback text; never the message."""
    infos = [exception_info] if isinstance(exception_info, dict) and "raised_exception" in exception_info \
        else list((exception_info or {}).values())
    for info in infos:
        if not isinstance(info, dict) or not (info.get("raised_exception") or info.get("exception_traceback")):
            continue
        text = str(info.get("exception_traceback") or "")
        found = _PSYCOPG_ERROR.findall(text)
        if found:
            import psycopg.errors

            sqlstate = getattr(getattr(psycopg.errors, found[-1], None), "sqlstate", None)
            return {"class": found[-1], "sqlstate": sqlstate}
        names = _ANY_ERROR.findall(text)
        return {"class": names[-1] if names else "Error", "sqlstate": None}
    return None


class GreatExpectations:
    """An ephemeral GX context whose Postgres data source validates on one given connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        os.environ["GX_ANALYTICS_ENABLED"] = "False"
        import great_expectations as gx
        from sqlalchemy.pool import StaticPool

        self.gx = gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        # No progress bars: in a task log they are hundreds of lines of noise.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        info = conn.info
        # The URL names the server for GX's records; connections come from `creator`, this one.
        url = f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{info.dbname}"
        self.source = self.context.data_sources.add_postgres(
            "app", connection_string=url, kwargs={"poolclass": StaticPool, "creator": lambda: conn})
        self._definitions: dict[str, Any] = {}

    def validate(self, batch: Batch, expectations: list[Expectation], result_format: Any, name: str) -> list[Any]:
        gx = self.gx
        if batch.view not in self._definitions:
            asset = self.source.add_table_asset(batch.view, table_name=batch.view)
            self._definitions[batch.view] = asset.add_batch_definition_whole_table(batch.view)
        suite = self.context.suites.add(gx.ExpectationSuite(name=name))
        for expectation in expectations:
            suite.add_expectation(expectation.configuration().to_domain_obj())
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=self._definitions[batch.view], suite=suite))
        return list(definition.run(result_format=result_format).results)

    def forget_results_since(self, keys: set[Any]) -> None:
        """Drop the stored results of the second passes: Data Docs show the first pass only."""
        store = self.context.validation_results_store
        for key in set(store.list_keys()) - keys:
            store.remove_key(key)

    def result_keys(self) -> set[Any]:
        return set(self.context.validation_results_store.list_keys())

    def write_data_docs(self, directory: Path) -> list[Path]:
        """Data Docs (HTML) of the stored results, each error cut to its class and SQLSTATE."""
        store = self.context.validation_results_store
        for key in store.list_keys():
            result = store.get(key)
            for item in result.results:
                error = error_of(item.exception_info)
                if error or (item.exception_info or {}).get("exception_traceback"):
                    item.exception_info = {"raised_exception": True, "exception_traceback": None,
                                           "exception_message": f"{(error or {}).get('class', 'Error')}"
                                                                f" (SQLSTATE {(error or {}).get('sqlstate')})"}
            store.set(key, result)
        self.context.add_data_docs_site(site_name="governance", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        self.context.build_data_docs(site_names=["governance"])
        return sorted(path for path in directory.rglob("*.html") if path.is_file())


# -- a run of one suite --------------------------------------------------------------------------------

@dataclass
class SuiteRun:
    """Everything one suite's run needs; `run` does the work."""

    connect: Callable[[], psycopg.Connection]  # a new autocommit connection: GX's, with the views
    conn: psycopg.Connection  # results and watermarks
    retention: Loaded[RetentionPolicy]
    data_map: DataMap
    suite: Suite
    run_id: str
    run_cutoff: datetime
    full_scan: bool
    s3: Any = None
    media_bucket: str | None = None
    canaries: list[str] = field(default_factory=list)
    publish_docs: Callable[[list[tuple[str, bytes]]], list[str]] | None = None

    def run(self) -> SuiteOutcome:
        started = time.monotonic()
        outcome = SuiteOutcome(self.suite.name, self.run_id, self.full_scan)
        with self.connect() as gx_conn:
            gx_conn.autocommit = True
            context = BatchContext(gx_conn, self.suite.name, self.suite.meta, self.retention, self.data_map,
                                   self.run_cutoff, self.full_scan, self._watermark, s3=self.s3,
                                   media_bucket=self.media_bucket, canaries=self.canaries)
            engine = GreatExpectations(gx_conn)
            batches = build_batches(context, self.suite.kinds())
            log.info("%s: %d batches: %s", self.suite.name, len(batches),
                     "; ".join(f"{b.target(b.column)} ({scope_words(b.scope)})" for b in batches) or "none")
            for batch in batches:
                outcome.results += self._validate(engine, gx_conn, batch)
            outcome.data_docs = self._data_docs(engine)
        self._record(outcome)
        self._advance_watermarks(outcome)
        outcome.seconds = time.monotonic() - started
        log.info("%s", outcome.line())
        for result in outcome.failed + outcome.warnings:
            log.warning("%s: %s", self.suite.name, result.summary())
        return outcome

    def _watermark(self, table_name: str) -> int | None:
        row = self.conn.execute(sql_text("quality/watermark.sql"),
                                {"suite": self.suite.name, "table_name": table_name}).fetchone()
        return int(row[0]) if row else None

    def _validate(self, engine: GreatExpectations, gx_conn: psycopg.Connection, batch: Batch) -> list[CheckResult]:
        expectations = [e for e in self.suite.expectations if e.batch in batch.kinds]
        first = engine.validate(batch, expectations, "BOOLEAN_ONLY", f"{self.suite.name}.{batch.view}")
        results = []
        for expectation, outcome in zip(expectations, first, strict=True):
            results.append(CheckResult(self.suite.name, expectation.check, expectation.type, expectation.explain,
                                       expectation.severity, batch, bool(outcome.success),
                                       error=error_of(outcome.exception_info), checked_column=expectation.column))
        failed = [(expectation, result) for expectation, result in zip(expectations, results, strict=True)
                  if not result.success and not result.error]
        if failed:
            stored = engine.result_keys()
            second = engine.validate(batch, [expectation for expectation, _ in failed],
                                     {**NO_VALUES, "unexpected_index_column_names": [k for k, _ in batch.keys]},
                                     f"{self.suite.name}.{batch.view}.keys")
            engine.forget_results_since(stored)
            for (expectation, result), detail in zip(failed, second, strict=True):
                self._describe(gx_conn, batch, expectation, result, detail.result or {})
        return results

    def _describe(self, gx_conn: psycopg.Connection, batch: Batch, expectation: Expectation, result: CheckResult,
                  detail: dict[str, Any]) -> None:
        """Count, keys and value hashes of what a failed expectation found."""
        if expectation.maps_rows:
            result.unexpected_count = int(detail.get("unexpected_count") or 0)
            keys = _index_rows(detail.get("partial_unexpected_index_list") or [], [k for k, _ in batch.keys])
            result.sample = _sample(gx_conn, batch, keys, batch.hash_column_for(expectation.column))
        else:
            observed = detail.get("observed_value")
            if int(expectation.kwargs.get("value", 0)) == 0:  # the view lists what must not be there
                result.unexpected_count = int(observed) if isinstance(observed, int) else 0
                result.sample = _sample(gx_conn, batch, None, batch.hash_column_for(None))
            else:  # the view must find something, and found nothing
                result.found_nothing = True

    def _data_docs(self, engine: GreatExpectations) -> list[str]:
        if self.publish_docs is None:
            return []
        with tempfile.TemporaryDirectory(prefix="gx-docs-") as directory:
            root = Path(directory)
            pages = engine.write_data_docs(root)
            index = [page for page in pages if page.name == "index.html" and page.parent == root]
            ordered = index + [page for page in pages if page not in index]
            return self.publish_docs([(str(page.relative_to(root)), page.read_bytes()) for page in ordered])

    def _record(self, outcome: SuiteOutcome) -> None:
        from psycopg.types.json import Jsonb

        with self.conn.transaction():
            self.conn.execute(sql_text("quality/forget_run.sql"), {"run_id": self.run_id, "suite": self.suite.name})
            for result in outcome.results:
                result.result_id = self.conn.execute(sql_text("quality/record_result.sql"), {
                    "run_id": self.run_id, "suite": self.suite.name, "expectation": result.expectation,
                    "check_name": result.check, "target": result.target, "table_name": result.batch.table,
                    "column_name": result.column, "success": result.success, "severity": result.severity,
                    "unexpected_count": result.unexpected_count, "sample_keys": Jsonb(result.sample),
                    "scope": Jsonb(result.batch.scope), "error": Jsonb(result.error) if result.error else None,
                }).fetchone()[0]

    def _advance_watermarks(self, outcome: SuiteOutcome) -> None:
        failed_views = {result.batch.view for result in outcome.results if not result.success}
        marks: dict[str, tuple[str, int]] = {}
        blocked: set[str] = set()
        for result in outcome.results:
            mark = result.batch.watermark
            if mark is None:
                continue
            if result.batch.view in failed_views:
                blocked.add(mark.table_name)  # the next night reads these rows again
            marks[mark.table_name] = (mark.key_column, mark.high_key)
        for table_name, (key_column, high_key) in marks.items():
            if table_name in blocked:
                continue
            self.conn.execute(sql_text("quality/set_watermark.sql"), {
                "suite": self.suite.name, "table_name": table_name, "key_column": key_column,
                "high_key": high_key, "run_id": self.run_id})


def scope_words(scope: dict[str, Any]) -> str:
    """What a batch read, in words for its log line and its report row (scopes come from quality_batches)."""
    if "objects_checked" in scope:  # the archive's objects: every one checked, the new ones read in full
        new = f" (manifests after {scope['bytes_read_after']})" if "bytes_read_after" in scope else ""
        return f"{scope['objects_checked']} objects checked, {scope['objects_read']} read{new}"
    if "objects_listed" in scope:
        return f"{scope['objects_listed']} objects listed"
    if scope.get("mode") == "incremental":
        if scope["through"] <= scope["after"]:
            return f"no {scope['key']} above {scope['after']} (nothing new since the last run)"
        return f"{scope['key']} from {scope['after'] + 1} to {scope['through']} (new since the last run)"
    if "cutoff" in scope:
        return (f"all rows; each rule's period counted back from {readable_time(scope['cutoff'])}, this run's "
                f"cutoff less a grace period for the purge ({scope['grace_period']})")
    return f"all rows ({scope['why']})" if "why" in scope else "all rows"


def _index_rows(index_list: list[Any], key_names: list[str]) -> list[dict[str, Any]]:
    """GX's partial_unexpected_index_list as rows of keys (it comes as rows, or as one column-wise dict)."""
    rows: list[dict[str, Any]] = []
    for item in index_list:
        if not isinstance(item, dict):
            continue
        if item and all(isinstance(value, list) for value in item.values()):
            columns = [item.get(name, []) for name in key_names]
            rows += [dict(zip(key_names, values, strict=True)) for values in zip(*columns, strict=False)]
        else:
            rows.append({name: item.get(name) for name in key_names})
    return rows[:SAMPLE_LIMIT]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _sample(gx_conn: psycopg.Connection, batch: Batch, keys: list[dict[str, Any]] | None,
            hash_column: str) -> list[dict[str, Any]]:
    """The rows' keys and the SHA-256 of their offending value (from the view), up to SAMPLE_LIMIT."""
    from psycopg import sql
    from psycopg.types.json import Jsonb

    names = [name for name, _ in batch.keys]
    columns = sql.SQL(", ").join([*(sql.Identifier(n) for n in names),
                                  *(sql.Identifier(c) for c in batch.detail_columns),
                                  sql.Identifier(hash_column)])
    order = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    if keys is None:
        statement = sql.SQL(sql_text("quality/sample_rows.sql")).format(
            columns=columns, view=sql.Identifier(batch.view), order=order, limit=sql.Literal(SAMPLE_LIMIT))
        rows = gx_conn.execute(statement).fetchall()
    elif not keys:
        return []
    else:
        statement = sql.SQL(sql_text("quality/sample_keys.sql")).format(
            columns=columns, view=sql.Identifier(batch.view), order=order, **key_record(batch.keys))
        rows = gx_conn.execute(statement, (Jsonb([{n: _plain(k.get(n)) for n in names} for k in keys]),)).fetchall()
    sample = []
    for row in rows:
        entry: dict[str, Any] = {"key": {n: _plain(v) for n, v in zip(names, row, strict=False)}}
        for offset, column in enumerate(batch.detail_columns, start=len(names)):
            if row[offset] is not None:  # a view shared by several checks: found_in only for the scan's
                entry[column] = row[offset]
        if row[-1] is not None:
            entry["value_sha256"] = row[-1]
        sample.append(entry)
    return sample


def results_of_run(conn: psycopg.Connection, run_id: str) -> Iterator[dict[str, Any]]:
    cur = conn.execute(sql_text("quality/run_results.sql"), {"run_id": run_id})
    names = [column.name for column in cur.description]
    for row in cur:
        yield dict(zip(names, row, strict=True))


__all__ = ["SUITES", "CheckResult", "DataQualityFailed", "Suite", "SuiteOutcome", "SuiteRun",
           "load_canaries", "load_suite", "results_of_run"]
