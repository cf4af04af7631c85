"""Backends build a profile's clients from typed settings; only the local one rehearses.

The registry knows the built-in cloud backend and the local one registered by the package's
entry point; a real backend refuses simulated work with one sentence; a malformed profile is
a sentence naming the file and key; the local backend's clients work against the real stack;
and assembling nothing does no I/O (a campaign's constructor contacts no service)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from iglu_lib.backends import CloudBackend, NoRehearsal, backend_class, registry
from iglu_lib.config import ConfigError, load_profile
from iglu_lib.paths import params_dir

#: A local stack's state whose every endpoint is a port nobody listens on.
UNREACHABLE = {
    "mturk_endpoint_url": "http://127.0.0.1:9",
    "s3_endpoint_url": "http://127.0.0.1:9",
    "azure_storage_connection_string": (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    ),
    "worker_id_salt": "salt",
}


def test_the_registry_names_the_cloud_and_the_local_backend():
    from iglu_lib.local.backend import LocalBackend

    assert {"cloud", "local"} <= set(registry())
    assert backend_class("cloud") is CloudBackend and backend_class("local") is LocalBackend
    assert type(load_profile("sandbox", env={}).backend) is CloudBackend
    assert type(load_profile("local", env={}, stack_state={}).backend) is LocalBackend
    with pytest.raises(ConfigError, match="unknown backend 'azure-only' .*known: cloud, local"):
        backend_class("azure-only")


def test_a_real_backend_refuses_every_rehearsal_with_one_sentence():
    backend = load_profile("production", env={}).backend
    with pytest.raises(NoRehearsal) as refused:
        backend.rehearsal("set simulate_crowd: false")
    assert str(refused.value) == (
        "profile 'production' runs against real services; simulated work (crowd, platform, generated logs) "
        "exists only in the local profile; set simulate_crowd: false"
    )
    assert backend.requires_https and backend.crowd_script_url() is None
    assert "https://www.mturk.com" in backend.worker_submit_origins()


def test_loading_a_profile_does_not_import_the_local_stack():
    code = ("import sys; from iglu_lib.config import load_profile; load_profile('sandbox', env={}); "
            "print(sorted(m for m in sys.modules if m.startswith('iglu_lib.local')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder whose profiles a test writes (a copy of the sandbox one to start from)."""
    import yaml

    sandbox = yaml.safe_load((params_dir() / "profiles" / "sandbox.yaml").read_text())
    root = tmp_path / "project"
    (root / "params" / "profiles").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    monkeypatch.setenv("IGLU_PROJECT_ROOT", str(root))

    def write(name: str, change) -> str:
        document = json.loads(json.dumps(sandbox))
        change(document)
        path = root / "params" / "profiles" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document))
        return str(path)

    return write


def test_a_missing_or_malformed_hit_setting_names_the_file_and_the_key(project):
    path = project("noreward", lambda d: d["hit"].pop("reward"))
    with pytest.raises(ConfigError) as missing:
        load_profile("noreward", env={})
    assert str(missing.value) == f'{path}: hit.reward is missing; allowed: dollars from "0" to "1000", such as "0.50"'
    project("soon", lambda d: d["hit"].update(lifetime_seconds="soon"))
    with pytest.raises(ConfigError, match=r"soon.yaml: hit.lifetime_seconds is 'soon', not allowed .*allowed: a whole number from 0 to 31536000"):
        load_profile("soon", env={})
    project("dear", lambda d: d["hit"].update(reward="a lot"))
    with pytest.raises(ConfigError, match=r"dear.yaml: hit.reward is 'a lot', not allowed .*allowed: dollars"):
        load_profile("dear", env={})
    project("notable", lambda d: d["storage"].pop("records_table"))
    with pytest.raises(ConfigError, match=r"notable.yaml: storage.records_table is missing"):
        load_profile("notable", env={})
    project("nohit", lambda d: d.pop("hit"))
    with pytest.raises(ConfigError, match=r"nohit.yaml: hit is missing"):
        load_profile("nohit", env={})


def test_settings_are_typed_and_frozen():
    from dataclasses import FrozenInstanceError

    profile = load_profile("production", env={})
    assert profile.hit.reward == "1.00" and profile.hit.lifetime_seconds == 86400
    assert profile.hit.keywords[:2] == ("minecraft", "game") and len(profile.hit.qualification_requirements) == 3
    assert profile.storage.records_table == "gamerecords" and profile.s3.logs_bucket == "iglu-interaction-logs"
    with pytest.raises(FrozenInstanceError):
        profile.hit.reward = "9.99"  # type: ignore[misc]
    assert profile.with_hit(question_mode="external").hit.question_mode == "external"
    assert profile.hit.question_mode == "html"


def test_the_local_backend_builds_working_clients_against_the_stack(stack, local_profile, unique_name):
    backend = local_profile.backend
    assert not backend.real_services and not backend.requires_https
    assert backend.endpoint("mturk") == stack["mturk_endpoint_url"]
    assert float(backend.mturk_client().get_account_balance()["AvailableBalance"]) >= 0
    bucket = unique_name("bk")
    s3 = backend.s3_client()
    s3.create_bucket(Bucket=bucket)
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    container = unique_name("ct")
    backend.blob_service().create_container(container)
    assert backend.blob_service().get_container_client(container).exists()
    table = unique_name("tb")
    backend.table_service().create_table(table)
    assert table in {t.name for t in backend.table_service().query_tables(f"TableName eq '{table}'")}
    backend.table_service().delete_table(table)
    assert backend.worker_id_salt()
    assert backend.crowd_script_url().startswith(stack["mturk_endpoint_url"])


def test_the_stack_folder_is_passed_explicitly(stack, tmp_path):
    """The demo's notebooks get their stack's folder without changing the parent's os.environ."""
    import os

    elsewhere = load_profile("local", env={}, stack_dir=tmp_path)  # nothing started there
    with pytest.raises(ConfigError, match="local stack, which is not running"):
        elsewhere.backend.endpoint("mturk")
    here = load_profile("local", env={}, stack_dir=os.environ["IGLU_STACK_DIR"])
    assert here.backend.endpoint("mturk") == stack["mturk_endpoint_url"]


def test_a_campaign_is_assembled_without_io_until_used(tmp_path):
    """Every service of the campaign points at a closed port: building it succeeds, and only
    the first call fails, with the manager's readable error."""
    from iglu_lib.collection import Campaign, CampaignParams
    from iglu_lib.mturk import HitManager, MTurkError
    from iglu_lib.platform.client import GameDataClient
    from iglu_lib.scheduling import Scheduler
    from iglu_lib.storage import GameRecords

    join_codes = tmp_path / "join_codes.json"
    join_codes.write_text(json.dumps({"task-a": {"task_join_code": "/plaiground:join-task-with-agent T:C:TA",
                                                 "task_id": "TA"}}))
    instances = tmp_path / "agent_instances.json"
    instances.write_text(json.dumps({name: [{"agent_instance_id": f"{name}-1", "agent_instance_name": name}]
                                     for name in ("Alpha", "Beta")}))
    params = CampaignParams.from_mapping({"campaign": "noio", "join_codes": str(join_codes),
                                          "agent_instances": str(instances)})
    profile = load_profile("local", env={}, stack_state=UNREACHABLE)
    campaign = Campaign(
        params,
        profile=profile,
        manager=HitManager.open(profile, hit_type=params.hit_type, campaign=params.campaign),
        records=GameRecords(profile.backend.table_service().get_table_client("gamerecords"), params.campaign),
        game_client=GameDataClient.open(profile),
        scheduler=Scheduler.from_files(join_codes, instances, params.k, params.seed),
    )
    assert campaign.cost_per_hit > 0 and not campaign.started
    with pytest.raises(MTurkError, match="is the endpoint reachable"):
        campaign.manager.balance()


def test_a_notebook_kernel_gets_its_stack_folder_without_changing_this_process(tmp_path):
    """How the demo hands its own stack to the notebooks: through the kernel's environment."""
    import os

    import nbformat

    from iglu_lib.notebooks import run_notebook

    parameters = nbformat.v4.new_code_cell("x = 1")
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [parameters, nbformat.v4.new_code_cell("import os\nprint(os.environ['IGLU_STACK_DIR'])")]
    nbformat.write(notebook, tmp_path / "stackdir.ipynb")
    before = os.environ.get("IGLU_STACK_DIR")
    executed = run_notebook(tmp_path / "stackdir.ipynb", output=tmp_path / "out.ipynb", progress=False,
                            env={"IGLU_STACK_DIR": str(tmp_path / "demo-stack")})
    printed = [output.get("text", "") for cell in nbformat.read(executed, 4).cells for output in cell.get("outputs", [])]
    assert printed == [f"{tmp_path / 'demo-stack'}\n"]
    assert os.environ.get("IGLU_STACK_DIR") == before
