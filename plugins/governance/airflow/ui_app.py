"""The Governance view: a FastAPI app that Airflow's API server mounts at /governance
(plugins/governance_ui.py), behind Airflow's own login.

- Every route needs a user who may see plugin views (401 without a login, 403 without the right).
- Writes (placing and releasing legal holds) need a user who may edit DAG runs, take JSON only
  (a form post answers 415, so a cross-site form cannot use the login cookie), and append a
  ledger entry with each change.
- Reports are streamed from the reports bucket by their id in the report index: no object key
  is ever taken from a request; one whose object is gone answers 410 with a plain sentence.
  No page shows an email or an IP; user ids only in the legal holds, to users who may edit.
"""

# No `from __future__ import annotations`: FastAPI must see the dependency types (GetUserDep),
# imported inside the functions that declare the routes, as objects, not as names to resolve.
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse

log = logging.getLogger(__name__)

WORKFLOWS = ("retention_purge", "moderation_log_archival", "moderation_archive_retrieval",
             "cross_border_transfer_report", "data_quality_checks", "data_quality_remediation", "dsr_export",
             "dsr_erasure", "dsr_deadlines", "audit_ledger_verification")


def _last_dag_runs() -> dict[str, dict[str, Any]]:
    """The newest run of each governance DAG, from Airflow's metadata database."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    found = {}
    with create_session() as session:
        for dag_id in WORKFLOWS:
            run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)
                                  .order_by(DagRun.run_after.desc()).limit(1)).first()
            if run is not None:
                found[dag_id] = {"run_id": run.run_id, "state": str(getattr(run.state, "value", run.state)),
                                 "when": run.end_date or run.start_date or run.run_after}
    return found


def _page(template: str, **context: Any) -> HTMLResponse:
    from governance.reports import render_html

    return HTMLResponse(render_html(f"ui/{template}", page=template.split(".")[0], **context))


def _may_edit(user: Any) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    return get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.RUN, user=user)


async def _json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; anything else is refused (415 for another content type)."""
    from fastapi import HTTPException

    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "send JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def create_app() -> FastAPI:
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view

    app = FastAPI(title="Governance", dependencies=[Depends(requires_access_view(AccessView.PLUGINS))])
    _error_handlers(app)
    _read_routes(app)
    _hold_routes(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    from governance import governance_view as view
    from governance.errors import GovernanceError, error_code
    from governance.holds import HoldRefused

    @app.exception_handler(view.BadRequest)
    async def bad_request(request: Request, exc: view.BadRequest) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(view.NotFound)
    async def not_found(request: Request, exc: view.NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(view.Gone)
    async def gone(request: Request, exc: view.Gone) -> PlainTextResponse:
        # A download link's answer, read by a person in the browser: one plain sentence, not a 500.
        log.warning("governance view: %s: %s", request.url.path, exc)
        return PlainTextResponse(f"{exc}\n", status_code=410)

    @app.exception_handler(HoldRefused)
    async def hold_refused(request: Request, exc: HoldRefused) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "field": exc.field}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        # A database or S3 message can quote row values: only the class and code leave the server.
        reason = str(exc) if isinstance(exc, GovernanceError) else type(exc).__name__
        code = error_code(exc)
        log.error("governance view: %s %s failed: %s%s", request.method, request.url.path, reason,
                  f" ({code})" if code else "")
        return JSONResponse({"detail": f"{reason}{f' ({code})' if code else ''}"}, status_code=500)


def _read_routes(app: FastAPI) -> None:
    from airflow.api_fastapi.core_api.security import GetUserDep

    from governance import governance_view as view
    from governance.airflow.connections import s3_client, view_database
    from governance.holds import holds

    @app.get("/", response_class=HTMLResponse)
    def promises_page(user: GetUserDep) -> HTMLResponse:
        with view_database() as conn:
            rows = view.promise_rows(conn, _last_dag_runs())
            verification = view.last_verification(conn)
        return _page("promises.html.j2", rows=rows, verification=verification, user=user.get_name())

    @app.get("/api/promises")
    def promises_json() -> list[dict[str, Any]]:
        with view_database() as conn:
            return view.promise_rows(conn, _last_dag_runs())

    @app.get("/reports", response_class=HTMLResponse)
    def reports_page(workflow: str | None = None, period_start: str | None = None,
                     period_end: str | None = None, page: int = 1) -> HTMLResponse:
        window = view.period(period_start, period_end, required=False)
        with view_database() as conn:
            found = view.report_list(conn, workflow=workflow, window=window, page=page)
        return _page("reports.html.j2", found=found, workflow=workflow or "",
                     period_start=period_start or "", period_end=period_end or "")

    @app.get("/reports/{report_id}")
    def report_download(report_id: int, download: bool = False) -> StreamingResponse:
        with view_database() as conn:
            found = view.report_object(conn, report_id)
        name = found["object_key"].rsplit("/", 1)[-1]
        disposition = "attachment" if download else "inline"
        chunks = view.stream_object(s3_client(), found)  # before the response: a gone object answers 410
        return StreamingResponse(chunks, media_type=found["content_type"],
                                 headers={"Content-Disposition": f'{disposition}; filename="{name}"',
                                          "Content-Length": str(found["size_bytes"]),
                                          "X-Content-SHA256": found["sha256"]})

    @app.get("/ledger", response_class=HTMLResponse)
    def ledger_page(page: int = 1) -> HTMLResponse:
        with view_database() as conn:
            found = view.ledger_page(conn, page)
            verification = view.last_verification(conn)
        return _page("ledger.html.j2", found=found, verification=verification)

    @app.get("/holds", response_class=HTMLResponse)
    def holds_page(user: GetUserDep) -> HTMLResponse:
        editor = _may_edit(user)
        with view_database() as conn:
            found = holds(conn)
        return _page("holds.html.j2", holds=found, editor=editor)

    @app.get("/evidence", response_class=HTMLResponse)
    def evidence_page() -> HTMLResponse:
        return _page("evidence.html.j2")

    @app.get("/evidence.zip")
    def evidence_download(request: Request, user: GetUserDep, period_start: str | None = None,
                          period_end: str | None = None) -> StreamingResponse:
        window = view.period(period_start, period_end, required=True)
        with view_database() as conn:
            pack = view.evidence_pack(conn, s3_client(), window, who=user.get_name(),
                                      where=str(request.base_url), written=datetime.now(UTC))
        name = f"evidence-{window[0]:%Y-%m-%d}_{window[1]:%Y-%m-%d}.zip"
        return StreamingResponse(view.iter_file(pack), media_type="application/zip",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _hold_routes(app: FastAPI) -> None:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
    from starlette.concurrency import run_in_threadpool

    from governance.airflow.connections import view_database
    from governance.holds import HoldRefused, place_hold, release_hold

    # SimpleAuthManager's custom-view check ignores the method: writes check the right to edit DAG runs.
    may_edit_runs = Depends(requires_access_dag("PUT", DagAccessEntity.RUN))

    @app.post("/holds", dependencies=[may_edit_runs], status_code=201)
    async def place(request: Request, user: GetUserDep) -> dict[str, Any]:
        body = await _json_body(request)
        unknown = sorted(set(body) - {"user_id", "reason", "reference"})
        if unknown:
            raise HoldRefused(unknown[0], "is not a field of a hold (user_id, reason, reference)")

        def write() -> Any:  # blocking database work: off the event loop
            with view_database() as conn:
                return place_hold(conn, user_id=body.get("user_id"), reason=body.get("reason"),
                                  reference=body.get("reference"), placed_by=user.get_name())

        hold = await run_in_threadpool(write)
        log.info("legal hold %d placed by %s (%s)", hold.hold_id, user.get_name(), hold.reference)
        return {"hold_id": hold.hold_id, "placed_at": hold.placed_at.isoformat()}

    @app.post("/holds/{hold_id}/release", dependencies=[may_edit_runs])
    async def release(hold_id: int, request: Request, user: GetUserDep) -> dict[str, Any]:
        body = await _json_body(request)

        def write() -> int:
            with view_database() as conn:
                return release_hold(conn, hold_id=hold_id, reason=body.get("reason"),
                                    reference=body.get("reference"), released_by=user.get_name())

        await run_in_threadpool(write)
        log.info("legal hold %d released by %s", hold_id, user.get_name())
        return {"hold_id": hold_id, "released": True}
