"""The local stack talks for real: tables and blobs in Azurite, objects in moto's S3 server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from iglu_lib.config import ConfigError, load_profile
from iglu_lib.local import stack as local_stack
from iglu_lib.local.services import StackError


def test_table_blob_and_s3_round_trip_on_printed_endpoints(stack, unique_name):
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient

    tables = TableServiceClient.from_connection_string(stack["azure_storage_connection_string"])
    table = tables.create_table(unique_name("tbl"))
    table.create_entity({"PartitionKey": "campaign", "RowKey": "game-1", "AgentName": "MHB"})
    assert table.get_entity("campaign", "game-1")["AgentName"] == "MHB"

    blobs = BlobServiceClient.from_connection_string(stack["azure_storage_connection_string"])
    container = blobs.create_container(unique_name("ctr"))
    container.upload_blob("tasks/a.json", b'{"ok": true}')
    assert json.loads(container.download_blob("tasks/a.json").readall()) == {"ok": True}

    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=stack["s3_endpoint_url"], region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )
    bucket = unique_name("bkt")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="logs/a.csv", Body=b"a|b\n")
    assert s3.get_object(Bucket=bucket, Key="logs/a.csv")["Body"].read() == b"a|b\n"


def test_local_profile_clients_reach_the_stack(local_profile, unique_name):
    s3 = local_profile.backend.s3_client()
    s3.create_bucket(Bucket=unique_name("bkt"))
    assert any(b["Name"].startswith("bkt") for b in s3.list_buckets()["Buckets"])
    table = local_profile.backend.table_service().create_table(unique_name("tbl"))
    assert table.table_name.startswith("tbl")


def test_up_is_idempotent_and_status_reports_every_service(stack):
    # compared with the stack as it runs now: a fault test may have restarted a service before
    first = local_stack.up()
    again = local_stack.up()
    assert again["services"].keys() == first["services"].keys() == stack["services"].keys()
    assert {name: s["pid"] for name, s in again["services"].items()} == {
        name: s["pid"] for name, s in first["services"].items()
    }
    report = local_stack.status()
    assert report and all(entry["healthy"] for entry in report.values())


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cli_up_json_then_down_leaves_no_process_or_port(tmp_path):
    env = {**os.environ, "IGLU_STACK_DIR": str(tmp_path / "stack")}
    up = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "stack", "up", "--json"],
                        env=env, capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    assert {"azure_storage_connection_string", "s3_endpoint_url", "services"} <= state.keys()
    ports = [int(s["url"].rsplit(":", 1)[1]) for s in state["services"].values()]
    pids = [s["pid"] for s in state["services"].values()]
    assert all(_listening(p) for p in ports)

    down = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "stack", "down"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert not any(_alive(pid) for pid in pids)
    assert not any(_listening(p) for p in ports)
    again = subprocess.run([sys.executable, "-m", "iglu_lib.cli", "stack", "down"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "no stack" in again.stdout


def test_interrupted_up_is_cleaned_by_down(tmp_path):
    """A stack whose `up` died after starting processes is still stopped by `down`."""
    from iglu_lib.local.services import SERVICES

    state_dir = tmp_path / "stack"
    state_dir.mkdir()
    state = {"services": {}}
    mturk = next(spec for spec in SERVICES if spec.name == "mturk")  # one that needs no shared value
    local_stack._start_service(mturk, state_dir, state, None)  # started, never waited for
    pid = state["services"][mturk.name]["pid"]
    assert _alive(pid)
    assert local_stack.down(state_dir) == [mturk.name]
    assert not _alive(pid) or local_stack._start_time(pid) is None


def test_port_taken_by_another_process_is_one_clear_error(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} for s3 is taken"):
            local_stack.up(tmp_path / "stack", ports={"s3": port})
    assert local_stack.read_state(tmp_path / "stack") is None


def test_local_profile_without_stack_says_to_start_it(tmp_path, monkeypatch):
    monkeypatch.setenv("IGLU_STACK_DIR", str(tmp_path / "nothing"))
    profile = load_profile("local")
    with pytest.raises(ConfigError, match="iglu stack up"):
        profile.backend.azure_connection_string()
