"""The local stack's ports: each can be set, the chosen ones are remembered in .local/ports.json, and
Airflow's API server listens on loopback on its port."""

from __future__ import annotations

import json

import pytest

from scripts import stack


@pytest.fixture
def ports_file(tmp_path, monkeypatch):
    path = tmp_path / "ports.json"
    monkeypatch.setattr(stack, "PORTS_FILE", path)
    for variable, _ in stack.PORTS.values():
        monkeypatch.delenv(variable, raising=False)
    return path


def test_defaults_then_the_remembered_ports_then_the_variables(ports_file, monkeypatch):
    assert (stack.StackSettings().pg_port, stack.StackSettings().airflow_port) == (54329, 8080)
    monkeypatch.setenv("GOVERNANCE_AIRFLOW_PORT", "18080")
    monkeypatch.setenv("GOVERNANCE_PG_PORT", "55329")
    stack.StackSettings().remember_ports()
    monkeypatch.delenv("GOVERNANCE_AIRFLOW_PORT")
    monkeypatch.delenv("GOVERNANCE_PG_PORT")
    remembered = stack.StackSettings()  # a later `make status` or `make test`, without the variables
    assert (remembered.pg_port, remembered.airflow_port, remembered.s3_port) == (55329, 18080, 59000)
    assert json.loads(ports_file.read_text())["airflow_port"] == 18080
    monkeypatch.setenv("GOVERNANCE_AIRFLOW_PORT", "18081")
    assert stack.StackSettings().airflow_port == 18081


def test_airflow_listens_on_loopback_on_the_stack_s_port_and_opens_no_log_server(ports_file, monkeypatch):
    """The UI and API on 127.0.0.1; the scheduler's and triggerer's log servers, which bind every interface
    whatever is set, are not started (the API server reads the task logs from their files)."""
    from scripts.local_airflow import COMPONENTS

    monkeypatch.setenv("GOVERNANCE_AIRFLOW_PORT", "18090")
    env = stack.environment(stack.StackSettings())
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "18090")
    assert env["AIRFLOW__API__BASE_URL"] == "http://localhost:18090"
    assert {command[0] for command in COMPONENTS.values()} == {"api-server", "scheduler", "dag-processor", "triggerer"}
    for command in COMPONENTS.values():
        assert command[0] not in ("scheduler", "triggerer") or "--skip-serve-logs" in command, command


@pytest.mark.parametrize(("value", "message"), [("http", "'http' is not a port number"),
                                                ("80", "80 must be between 1024 and 65535")])
def test_a_bad_port_is_refused_in_one_line_naming_the_variable(ports_file, monkeypatch, value, message):
    monkeypatch.setenv("GOVERNANCE_S3_PORT", value)
    with pytest.raises(SystemExit, match=f"^GOVERNANCE_S3_PORT: {message}$"):
        stack.StackSettings()
