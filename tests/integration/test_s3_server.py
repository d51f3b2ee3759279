"""The local S3 server (scripts/s3_server.py): what a bucket held before `make stop` is there after
`make services`, Object Lock still holds, a state file that does not load only warns, and each checkout
uses only its own servers. Real servers throughout: launchers of the tests' own on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from scripts import stack
from scripts.s3_server import STATE_FILE
from tests.dags.conftest import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class Launched:
    """One run of the launcher: its URL, an S3 client for it, what it says of itself, its log."""

    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process, self.port, self.log_path = process, port, log_path
        self.url = f"http://127.0.0.1:{port}"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1")

    def owner(self) -> dict:
        with urllib.request.urlopen(self.url + stack.S3_OWNER_PATH, timeout=5) as response:
            return json.loads(response.read())

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


@contextlib.contextmanager
def launched(state_dir: Path, log_path: Path, *options: str, root: Path = ROOT, port: int | None = None,
             argv: list[str] | None = None):
    """Start the launcher with OPTIONS (or ARGV, listening on PORT) and wait until /moto-api/ answers; kill it on
    leaving."""
    port = port or free_port()
    argv = argv or [sys.executable, str(ROOT / "scripts" / "s3_server.py"), "-p", str(port),
                    "--state-dir", str(state_dir), "--root", str(root), *options]
    with log_path.open("a") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the S3 server did not start:\n{log_path.read_text()[-3000:]}") from None
            time.sleep(0.1)
    try:
        yield Launched(process, port, log_path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def versions(s3, bucket: str) -> list[tuple]:
    listing = s3.list_object_versions(Bucket=bucket)
    return sorted([(v["Key"], v["VersionId"], v["IsLatest"], "object") for v in listing.get("Versions", [])]
                  + [(m["Key"], m["VersionId"], m["IsLatest"], "marker") for m in listing.get("DeleteMarkers", [])])


def test_buckets_versions_and_object_lock_survive_a_restart(tmp_path):
    state, log = tmp_path / "s3", tmp_path / "s3.log"
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    with launched(state, log) as first:
        s3 = first.client()
        s3.create_bucket(Bucket="archive", ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(Bucket="archive", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}})
        locked = s3.put_object(Bucket="archive", Key="moderation/a.parquet", Body=b"first",
                               ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
        held = s3.put_object(Bucket="archive", Key="moderation/a.parquet", Body=b"second",
                             Metadata={"sha256": "abc"})["VersionId"]
        s3.put_object_legal_hold(Bucket="archive", Key="moderation/a.parquet", VersionId=held,
                                 LegalHold={"Status": "ON"})
        s3.create_bucket(Bucket="exports")
        s3.put_bucket_versioning(Bucket="exports", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="exports", Key="bundle.zip", Body=b"zip")
        s3.delete_object(Bucket="exports", Key="bundle.zip")  # a delete marker over the version
        s3.create_bucket(Bucket="media")
        s3.put_object(Bucket="media", Key="generations/1/1.png", Body=b"png", Tagging="kind=image")
        before = {bucket: versions(s3, bucket) for bucket in ("archive", "exports", "media")}
        lock_before = s3.get_object_lock_configuration(Bucket="archive")["ObjectLockConfiguration"]
        assert len(before["archive"]) == 2
        assert first.stop() == 0
    assert (state / STATE_FILE).is_file()
    assert not list(state.glob("*.tmp"))  # written to a temporary file, then renamed
    assert "saved 5 object versions" in log.read_text()

    with launched(state, log) as second:
        s3 = second.client()
        assert second.owner()["restored"] is True
        assert {bucket: versions(s3, bucket) for bucket in before} == before
        assert s3.get_object(Bucket="archive", Key="moderation/a.parquet", VersionId=locked)["Body"].read() == b"first"
        newest = s3.get_object(Bucket="archive", Key="moderation/a.parquet")
        assert (newest["Body"].read(), newest["Metadata"]) == (b"second", {"sha256": "abc"})
        # (moto's GetObjectRetention fails with a version id, restored or not: HeadObject says the same.)
        retained = s3.head_object(Bucket="archive", Key="moderation/a.parquet", VersionId=locked)
        assert (retained["ObjectLockMode"], retained["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
        assert s3.get_object_legal_hold(Bucket="archive", Key="moderation/a.parquet",
                                        VersionId=held)["LegalHold"]["Status"] == "ON"
        lock = s3.get_object_lock_configuration(Bucket="archive")["ObjectLockConfiguration"]
        assert lock == lock_before
        assert lock["Rule"]["DefaultRetention"]["Days"] == 2
        assert s3.get_bucket_versioning(Bucket="exports")["Status"] == "Enabled"
        assert s3.get_object_tagging(Bucket="media", Key="generations/1/1.png")["TagSet"] == [
            {"Key": "kind", "Value": "image"}]
        # Object Lock still holds: neither the retained version nor the held one can be deleted.
        for version in (locked, held):
            with pytest.raises(ClientError, match="AccessDenied"):
                s3.delete_object(Bucket="archive", Key="moderation/a.parquet", VersionId=version)
        # The restored server is a working one: creating a bucket again (as `make services` may) keeps what it
        # holds (the bucket namespace came back too), and new writes work.
        s3.create_bucket(Bucket="media")
        s3.put_object(Bucket="media", Key="uploads/1/2.jpg", Body=b"jpg")
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="media")["Contents"]] == ["generations/1/1.png",
                                                                                      "uploads/1/2.jpg"]
        assert second.stop() == 0


def test_a_killed_server_keeps_only_what_the_last_clean_stop_saved(tmp_path):
    state, log = tmp_path / "s3", tmp_path / "s3.log"
    with launched(state, log) as server:
        server.client().create_bucket(Bucket="media")
        server.client().put_object(Bucket="media", Key="saved", Body=b"1")
        server.stop()
    with launched(state, log) as server:
        server.client().put_object(Bucket="media", Key="lost", Body=b"2")
        server.stop(signal.SIGKILL)
    with launched(state, log) as server:
        assert [o["Key"] for o in server.client().list_objects_v2(Bucket="media")["Contents"]] == ["saved"]


def test_only_the_buckets_named_are_kept(tmp_path):
    """The stack keeps its own four buckets; those tests and benchmarks make for themselves do not pile up."""
    state, log = tmp_path / "s3", tmp_path / "s3.log"
    with launched(state, log, "--keep-bucket", "clipia-media") as server:
        s3 = server.client()
        for bucket in ("clipia-media", "media-test-1234"):
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="k", Body=b"v", Tagging="a=b")
        server.stop()
    with launched(state, log) as server:
        s3 = server.client()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["clipia-media"]
        assert s3.get_object_tagging(Bucket="clipia-media", Key="k")["TagSet"] == [{"Key": "a", "Value": "b"}]
        s3.create_bucket(Bucket="media-test-1234")  # its name is free again, and it starts empty
        assert "Contents" not in s3.list_objects_v2(Bucket="media-test-1234")


@pytest.mark.parametrize(("content", "reason"), [
    (b"not a pickle at all", "UnpicklingError"),
    (pickle.dumps({"format": 1, "moto": "4.0.0", "backends": {}, "bucket_accounts": {}}),
     "written by moto 4.0.0, this is moto 5.2.5"),
])
def test_a_state_file_that_does_not_load_warns_and_the_server_starts_empty(tmp_path, content, reason):
    state, log = tmp_path / "s3", tmp_path / "s3.log"
    state.mkdir()
    (state / STATE_FILE).write_bytes(content)
    with launched(state, log) as server:
        warning = server.owner()["warning"]
        assert reason in warning
        assert "starting with empty buckets" in warning
        assert f"WARNING: the S3 state in {state / STATE_FILE} could not be loaded" in log.read_text()
        assert server.client().list_buckets()["Buckets"] == []
        assert (state / f"{STATE_FILE}.unloadable").read_bytes() == content  # kept aside, never overwritten
        server.stop()
    assert pickle.loads((state / STATE_FILE).read_bytes())["moto"] == "5.2.5"


# -- one checkout, its own servers ---------------------------------------------------------------------


def test_up_refuses_another_checkouts_s3_server(tmp_path):
    other = tmp_path / "other-checkout"
    with launched(tmp_path / "s3", tmp_path / "s3.log", root=other) as foreign, pytest.raises(SystemExit) as refused:
        stack.start_s3(stack.StackSettings(s3_port=foreign.port))
    assert str(refused.value) == (f"port {foreign.port} is taken by the S3 server of {other}; "
                                  "set GOVERNANCE_S3_PORT to a free port for this checkout")


def test_up_refuses_an_s3_server_that_does_not_name_its_checkout(tmp_path):
    port = free_port()
    moto_server = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with launched(tmp_path, tmp_path / "moto.log", port=port, argv=moto_server), pytest.raises(SystemExit) as refused:
        stack.start_s3(stack.StackSettings(s3_port=port))
    assert f"port {port} is taken by an S3 server" in str(refused.value)
    assert "set GOVERNANCE_S3_PORT" in str(refused.value)


def test_up_refuses_a_postgresql_of_another_data_directory(stack_env, tmp_path, monkeypatch):
    """Seen from a checkout whose .local/pgdata is elsewhere, the running PostgreSQL is another checkout's."""
    monkeypatch.setattr(stack, "PGDATA", tmp_path / "pgdata")
    with pytest.raises(SystemExit) as refused:
        stack.start_postgres(stack.SETTINGS)
    assert str(refused.value) == (f"port {stack.SETTINGS.pg_port} is taken by the PostgreSQL of "
                                  f"{ROOT / '.local' / 'pgdata'}; set GOVERNANCE_PG_PORT to a free port for this "
                                  "checkout")


def test_airflow_does_not_start_on_a_port_another_process_holds(monkeypatch):
    import socket

    from scripts import local_airflow

    monkeypatch.setattr(local_airflow, "daemon_running", lambda name: False)  # as when no Airflow of ours runs
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as refused:
            local_airflow.start_airflow(stack.StackSettings(airflow_port=port))
    assert str(refused.value) == (f"port {port} is taken by a process this stack did not start; "
                                  "set GOVERNANCE_AIRFLOW_PORT to a free port for this checkout")


def test_down_stops_only_processes_of_this_checkout(tmp_path):
    """A pid file whose pid now names another checkout's process (pids are reused) stops nothing."""
    foreign = subprocess.Popen(["sleep", "60"], cwd=tmp_path, start_new_session=True)
    ours = subprocess.Popen(["sleep", "60"], cwd=ROOT, start_new_session=True)
    try:
        for name, process in (("foreign", foreign), ("ours", ours)):
            (tmp_path / f"{name}.pid").write_text(f"{process.pid}\n")
            stack.stop_pid(name, tmp_path / f"{name}.pid", timeout=10)
        assert foreign.poll() is None
        assert ours.wait(timeout=10) == -signal.SIGTERM
        assert not (tmp_path / "foreign.pid").exists()
    finally:
        for process in (foreign, ours):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
