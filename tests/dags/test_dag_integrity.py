"""DAG policy: every workflow parses cleanly and carries what the scheduler and on-call rely on."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_no_import_errors(dagbag):
    """Every file in dags/ imports without error."""
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG was found"


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    """Each DAG is tagged, owned, retried and documented, so it can be found and triaged in the UI."""
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert "governance" in dag.tags, dag_id
        assert len(dag.doc_md or "") > 200, dag_id
        assert dag.description, f"{dag_id} has no one-line description for the DAG list"
        for task in dag.tasks:
            assert task.owner not in ("", None, "airflow"), f"{dag_id}.{task.task_id}"
        assert dag.default_args.get("retries", 0) >= 1, dag_id
        assert dag.default_args.get("on_failure_callback"), f"{dag_id} raises no alert when a task fails"


def test_scheduled_dags_do_not_catch_up(dagbag):
    """A scheduled DAG has catchup=False and an aware start_date: a new deployment never replays months of purges."""
    for dag_id, dag in dagbag.dags.items():
        if dag.timetable.can_be_scheduled:
            assert dag.catchup is False, dag_id
        assert dag.start_date is None or dag.start_date.tzinfo is not None, dag_id


# Fields a request cannot do without: the form rightly marks them required.
REQUIRED_FIELDS = {("dsr_export", "request_id"), ("dsr_erasure", "request_id"),
                   ("data_quality_remediation", "result_ids")}


def test_form_fields_with_a_default_are_optional_and_no_number_is_clamped(dagbag):
    """In Airflow's Trigger form a field is marked required, and blocks the button when empty, unless its type
    admits null; and a number past an inclusive minimum or maximum is silently set to the bound. So every field
    but the few a request needs admits null, and no field has a top-level bound (governance.airflow.forms)."""
    for dag_id, dag in dagbag.dags.items():
        for name, param in dag.params.items():
            schema = param.schema
            assert not {"minimum", "maximum"} & set(schema), f"{dag_id}.{name}: the form clamps it"
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            optional = (dag_id, name) not in REQUIRED_FIELDS
            assert ("null" in kinds) == optional, f"{dag_id}.{name}: optional={optional}, type {kinds}"


def test_retention_purge_shape(dagbag):
    """retention_purge runs at 02:00 UTC, has the form fields scripts rely on, and maps one task per rule."""
    dag = dagbag.dags["retention_purge"]
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timetable.timezone) == "UTC"
    assert {"dry_run", "rules", "batch_size", "max_rows_per_rule"} <= set(dag.params)
    assert dag.params["dry_run"] is True
    assert {task.task_id for task in dag.tasks} == {"capture_transfers", "plan", "purge", "report", "verdict",
                                                    "completed"}
    # Transfers are counted before the purge deletes the rows that record them.
    assert dag.get_task("plan").upstream_task_ids == {"capture_transfers"}
    # The asset the data-quality checks wait on is updated by the last task only, after the verdict passed.
    assert [task.task_id for task in dag.tasks if task.outlets] == ["completed"]
    assert dag.get_task("completed").upstream_task_ids == {"verdict"}


def test_parsing_imports_no_heavy_libraries():
    """Parsing dags/ imports neither pandas, pyarrow nor great_expectations (Airflow parses files constantly)."""
    code = (
        "import os, sys; os.environ['AIRFLOW__CORE__LOAD_EXAMPLES']='False'\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "print(sorted(m for m in ('pandas', 'pyarrow', 'great_expectations') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": str(Path(sys.executable).parent)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_each_dag_file_defines_the_dag_named_after_it(dagbag):
    """dags/NAME.py defines the DAG NAME: the demo and the docs find workflows by file name."""
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id
    assert {path.stem for path in (ROOT / "dags").glob("*.py")} == set(dagbag.dags)


def import_errors_with(include: Path) -> dict[str, str]:
    """The import errors of dags/ when the policy files come from `include` (parsed in a fresh interpreter)."""
    code = (
        "import os, sys, json; os.environ['AIRFLOW__CORE__LOAD_EXAMPLES']='False'\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "print(json.dumps(bag.import_errors))\n"
    )
    env = {"PYTHONPATH": str(ROOT / "plugins"), "PATH": str(Path(sys.executable).parent),
           "GOVERNANCE_INCLUDE_DIR": str(include)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bad_policy_file_is_an_import_error_naming_file_key_and_reason(tmp_path):
    """A broken retention.yaml shows in the UI as an import error that says which file, which key and why."""
    include = tmp_path / "include"
    shutil.copytree(ROOT / "include", include)
    policy = include / "policy" / "retention.yaml"
    policy.write_text(policy.read_text().replace("period: P13M", "period: thirteen months", 1))
    errors = import_errors_with(include)
    # Every DAG that builds its form from the policy fails to import; the verification DAG, which does not, stays.
    names = ("dsr_erasure.py", "dsr_export.py", "moderation_archive_retrieval.py", "moderation_log_archival.py",
             "retention_purge.py")
    assert sorted(errors) == [str(ROOT / "dags" / name) for name in names]
    message = errors[str(ROOT / "dags" / "retention_purge.py")]
    assert (f"PolicyError: {policy}: rules[5] (sessions).period: 'thirteen months' is not a non-negative ISO 8601 "
            "period") in message


def test_a_bad_register_is_an_import_error_naming_the_entry_and_the_field(tmp_path):
    """A destination with an unknown ISO country code: the transfer report does not import, and says where."""
    include = tmp_path / "include"
    shutil.copytree(ROOT / "include", include)
    register = include / "policy" / "transfers.yaml"
    register.write_text(register.read_text().replace("      - country: SG\n", "      - country: XS\n", 1))
    errors = import_errors_with(include)
    assert sorted(errors) == [str(ROOT / "dags" / "cross_border_transfer_report.py")]
    assert (f"{register}: recipients[4] (kling_ai).destinations[0].country: 'XS' is not an ISO 3166-1 alpha-2 "
            "country code") in errors[str(ROOT / "dags" / "cross_border_transfer_report.py")]


def test_cross_border_transfer_report_shape(dagbag):
    """Monthly on the 1st, with a form of two optional dates; the verdict runs whatever the report did."""
    dag = dagbag.dags["cross_border_transfer_report"]
    assert dag.timetable.expression == "0 5 1 * *"
    fields = {name: dag.params.get_param(name) for name in dag.params}
    assert set(fields) == {"period_start", "period_end"}
    # Neither is required: both empty means the previous month.
    assert all("null" in field.schema["type"] and field.schema["format"] == "date" for field in fields.values())
    assert dag.get_task("report").upstream_task_ids == {"capture"}
    assert dag.get_task("verdict").trigger_rule == "all_done"


def test_a_data_map_that_misses_a_table_of_the_erasure_is_an_import_error_naming_it(tmp_path):
    """The export reads the data map, the erasure the cascade: when they disagree (here the map lost the
    disclosures), the data-subject DAGs do not import, and the error names the table and why."""
    include = tmp_path / "include"
    shutil.copytree(ROOT / "include", include)
    data_map = include / "policy" / "data_map.yaml"
    text = data_map.read_text()
    start = text.index("  - category: disclosures")
    data_map.write_text(text[:start] + text[text.index("# Critical moderation events older"):])
    errors = import_errors_with(include)
    assert sorted(errors) == [str(ROOT / "dags" / name) for name in ("dsr_erasure.py", "dsr_export.py")]
    assert ("table 'disclosures' is in the cascade of rule 'deleted_accounts' but not in the data map: an export "
            "would miss it") in errors[str(ROOT / "dags" / "dsr_export.py")]


def test_data_subject_dags_shape(dagbag):
    """The request DAGs are manual, with the fields scripts rely on; the request id has no default, so the form
    requires it, and every other field has one. The deadline check runs daily and fails through its verdict."""
    for dag_id, tasks in (("dsr_export", {"register", "export"}),
                          ("dsr_erasure", {"register", "capture_transfers", "erase", "certify"})):
        dag = dagbag.dags[dag_id]
        assert dag.timetable.can_be_scheduled is False, dag_id
        assert {"request_id", "user_id", "email"} <= set(dag.params), dag_id
        assert {task.task_id for task in dag.tasks} == tasks
        fields = {name: dag.params.get_param(name) for name in dag.params}
        assert not fields["request_id"].has_value
        required = [name for name, field in fields.items()
                    if not field.has_value and "null" not in field.schema.get("type", [])]
        assert required == ["request_id"], dag_id
    assert dagbag.dags["dsr_erasure"].get_task("erase").upstream_task_ids == {"capture_transfers"}
    deadlines = dagbag.dags["dsr_deadlines"]
    assert deadlines.timetable.expression == "0 6 * * *"
    assert deadlines.get_task("verdict").upstream_task_ids == {"check", "expire_exports"}


def test_moderation_log_archival_shape(dagbag):
    """The archival runs nightly after the purge, with the form fields scripts rely on, one mapped task per rule of
    its workflow, and the Asset updated by its last task only."""
    dag = dagbag.dags["moderation_log_archival"]
    assert dag.timetable.expression == "30 2 * * *"
    assert {"dry_run", "cutoff"} <= set(dag.params)
    assert dag.params["dry_run"] is True
    assert {task.task_id for task in dag.tasks} == {"plan", "archive", "report", "verdict", "completed"}
    assert [task.task_id for task in dag.tasks if task.outlets] == ["completed"]


def test_the_archival_runs_its_rules_one_at_a_time_archiving_first_then_the_longest_delete(dagbag):
    """A month of partitioned moderation events is dropped whole the same night only if its critical events were
    archived (and those past 7 years deleted) before the standard rule looks at it."""
    from governance.airflow.archive_tasks import night_order
    from governance.policy import load_retention_policy

    dag = dagbag.dags["moderation_log_archival"]
    assert dag.get_task("archive").max_active_tis_per_dagrun == 1
    policy = load_retention_policy().model
    assert [rule.name for rule in night_order(policy.rules_for("moderation_log_archival"))] == [
        "moderation_logs_critical", "moderation_logs_critical_expired", "moderation_logs_standard"]
