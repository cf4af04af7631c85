"""A restarted emulator keeps its identity: `up` after a service died restarts only that one,
on its port, with its data, the stack's account key and worker-id salt; the other services
are left alone; `down` then stops exactly what runs. A stack of its own in a temporary folder,
so killing its services never disturbs the session's stack."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iglu_lib.local import stack as local_stack
from iglu_lib.platform.privacy import pseudonym

PERSIST_TIMEOUT_SECONDS = 60.0
HTML_QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<html><body>work</body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"""


def _alive(pid: int) -> bool:
    """Running, or dead but left as a zombie (which `down` must not leave behind either)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return local_stack._start_time(pid) is not None


def _wait_until_on_disk(database: Path, marker: str) -> None:
    """Azurite saves its database file a few seconds after a write; kill it only once the
    write is in that file (a condition, not a sleep: it fails only if Azurite never saves)."""
    deadline = time.monotonic() + PERSIST_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if database.is_file() and marker.encode() in database.read_bytes():
            return
        time.sleep(0.2)
    raise AssertionError(f"Azurite never wrote {marker} to {database}")


def _wait_until_saved_after(database: Path, moment: float) -> None:
    """Wait until Azurite saved `database` (a database it saves only when changed) after `moment`."""
    deadline = time.monotonic() + PERSIST_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if database.is_file() and database.stat().st_mtime > moment:
            return
        time.sleep(0.2)
    raise AssertionError(f"Azurite never saved {database}")


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        local_stack._reap(pid)
        time.sleep(0.05)


@pytest.fixture
def own_stack(tmp_path):
    state_dir = tmp_path / "stack"
    yield state_dir
    local_stack.down(state_dir)


def _write_row_and_blob(connection_string: str, marker: str) -> None:
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient

    table = TableServiceClient.from_connection_string(connection_string).create_table("restart")
    table.create_entity({"PartitionKey": "campaign", "RowKey": marker, "WorkerId": "A1B2C3D4E5F6G7"})
    container = BlobServiceClient.from_connection_string(connection_string).create_container("restart")
    container.upload_blob(f"games/{marker}.json", json.dumps({"marker": marker}).encode())


def _read_row_and_blob(connection_string: str, marker: str) -> tuple[str, dict]:
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient

    table = TableServiceClient.from_connection_string(connection_string).get_table_client("restart")
    row = table.get_entity("campaign", marker)
    container = BlobServiceClient.from_connection_string(connection_string).get_container_client("restart")
    return row["WorkerId"], json.loads(container.download_blob(f"games/{marker}.json").readall())


def test_up_after_azurite_was_killed_restarts_only_it_with_the_same_identity(own_stack):
    first = local_stack.up(own_stack)
    secret = local_stack.read_state(own_stack)
    marker = "row" + os.urandom(6).hex()
    before = time.time() - 1  # file times may be coarser than the clock
    _write_row_and_blob(first["azure_storage_connection_string"], marker)
    _wait_until_saved_after(own_stack / "azurite-blob" / "__azurite_db_blob_extent__.json", before)
    _wait_until_on_disk(own_stack / "azurite-table" / "__azurite_db_table__.json", marker)
    _wait_until_on_disk(own_stack / "azurite-blob" / "__azurite_db_blob__.json", marker)

    killed = ("azurite-table", "azurite-blob")
    for name in killed:
        _kill(first["services"][name]["pid"])
    assert not local_stack.is_running(own_stack)

    second = local_stack.up(own_stack)
    again = local_stack.read_state(own_stack)
    assert sorted(first["started"]) == sorted(first["services"])
    assert sorted(second["started"]) == sorted(killed)
    assert {n: s["url"] for n, s in second["services"].items()} == {n: s["url"] for n, s in first["services"].items()}
    assert second["azure_storage_connection_string"] == first["azure_storage_connection_string"]
    assert again["azurite_account_key"] == secret["azurite_account_key"]
    assert again["worker_id_salt"] == secret["worker_id_salt"]
    for name, service in first["services"].items():
        if name in killed:
            assert second["services"][name]["pid"] != service["pid"]
        else:
            assert second["services"][name]["pid"] == service["pid"], name
    assert local_stack.is_running(own_stack)
    assert _read_row_and_blob(second["azure_storage_connection_string"], marker) == ("A1B2C3D4E5F6G7", {"marker": marker})

    stopped = local_stack.down(own_stack)
    assert sorted(stopped) == sorted(first["services"])
    assert not any(_alive(s["pid"]) for s in second["services"].values())


def test_down_then_up_keeps_key_salt_ports_and_data(own_stack):
    first = local_stack.up(own_stack)
    salt = local_stack.read_state(own_stack)["worker_id_salt"]
    marker = "row" + os.urandom(6).hex()
    _write_row_and_blob(first["azure_storage_connection_string"], marker)
    local_stack.down(own_stack)  # a clean stop: Azurite saves on SIGTERM
    assert local_stack.read_state(own_stack) is None
    identity = own_stack / "identity.json"
    assert stat.S_IMODE(identity.stat().st_mode) == 0o600

    second = local_stack.up(own_stack)
    assert local_stack.read_state(own_stack)["worker_id_salt"] == salt
    assert pseudonym("A1B2C3D4E5F6G7", local_stack.read_state(own_stack)["worker_id_salt"]) == pseudonym("A1B2C3D4E5F6G7", salt)
    assert second["azure_storage_connection_string"] == first["azure_storage_connection_string"]  # ports were free
    assert _read_row_and_blob(second["azure_storage_connection_string"], marker)[0] == "A1B2C3D4E5F6G7"
    assert stat.S_IMODE(local_stack.state_file(own_stack).stat().st_mode) == 0o600


def test_cli_up_restarts_a_killed_mturk_server_with_its_hits(tmp_path):
    """The command a researcher types: `iglu stack up` again after the MTurk server died."""
    import boto3

    env = {**os.environ, "IGLU_STACK_DIR": str(tmp_path / "stack")}

    def iglu(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "iglu_lib.cli", *args], env=env,
                              capture_output=True, text=True, timeout=240)

    try:
        up = iglu("stack", "up", "--json")
        assert up.returncode == 0, up.stderr
        first = json.loads(up.stdout)
        mturk = boto3.client("mturk", endpoint_url=first["mturk_endpoint_url"], region_name="us-east-1",
                             aws_access_key_id="local", aws_secret_access_key="local")
        hit_id = mturk.create_hit(
            Title="kept", Description="d", Reward="0.50", LifetimeInSeconds=3600,
            AssignmentDurationInSeconds=600, Question=HTML_QUESTION,
        )["HIT"]["HITId"]
        os.kill(first["services"]["mturk"]["pid"], signal.SIGKILL)
        status = iglu("stack", "status")
        assert status.returncode == 1 and "stopped" in status.stdout

        again = iglu("stack", "up", "--json")
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout)
        assert second["mturk_endpoint_url"] == first["mturk_endpoint_url"]
        assert second["azure_storage_connection_string"] == first["azure_storage_connection_string"]
        assert second["services"]["mturk"]["pid"] != first["services"]["mturk"]["pid"]
        assert {n: s["pid"] for n, s in second["services"].items() if n != "mturk"} == {
            n: s["pid"] for n, s in first["services"].items() if n != "mturk"
        }
        assert mturk.get_hit(HITId=hit_id)["HIT"]["Title"] == "kept"
        assert second["started"] == ["mturk"]
        third = iglu("stack", "up")
        assert third.returncode == 0 and "every service was already running" in third.stdout
    finally:
        down = iglu("stack", "down")
    assert down.returncode == 0, down.stderr
    assert "mturk" in down.stdout and "azurite-blob" in down.stdout
