"""`external`-mode campaign HITs on the real local stack: the HIT carries only a page id, the
task server's `/hit` page shows the join codes only to an assignment of that HIT the service
confirms, and `html` mode stays as it was (with the warning `iglu collect` prints)."""

from __future__ import annotations

import uuid
from xml.etree import ElementTree

import pytest
import requests

from iglu_lib.config import load_profile
from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.session import campaign_pages
from iglu_lib.local.crowd_workers import SimulatedWorkers
from iglu_lib.mturk import HitManager
from iglu_lib.mturk.manager import MTurkError
from iglu_lib.mturk.templates import TemplateError, preview_exposes_codes

JOIN = "/plaiground:join-task-with-agent T1:C1:TASK1"
SECRET_IDS = ["inst-secret-a", "inst-secret-b"]
VARIABLES = {"task_name": "Blue tower", "task_join_code": JOIN, "agent_instance_ids": SECRET_IDS,
             "join_code_suffix": ":1893456000000"}
PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"


def external_profile(profile, tmp_path, url: str = "http://127.0.0.1:1"):
    return profile.with_hit(question_mode="external", external_url=url,
                            external_store=str(tmp_path / "hit_pages.sqlite"))


@pytest.fixture
def pages_server(local_profile, tmp_path):
    server = TaskServer(None, None, campaign_pages=campaign_pages(external_profile(local_profile, tmp_path))).start()
    yield server
    server.stop()


@pytest.fixture
def external_hit(local_profile, tmp_path, pages_server, unique_name):
    profile = external_profile(local_profile, tmp_path, pages_server.url)
    manager = HitManager.open(profile, hit_type="pairwise", campaign=unique_name("external"))
    return manager, manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)


def _frame_url(manager, hit) -> str:
    question = manager.call("get_hit", HITId=hit.hit_id)["HIT"]["Question"]
    return ElementTree.fromstring(question).find("{*}ExternalURL").text


def _codes_in(text: str) -> list[str]:
    return [code for code in [JOIN, *SECRET_IDS, "1893456000000"] if code in text]


def test_the_hit_carries_a_page_id_not_the_codes(external_hit, pages_server):
    manager, hit = external_hit
    url = _frame_url(manager, hit)
    assert url.startswith(f"{pages_server.url}/hit?page=")
    question = manager.call("get_hit", HITId=hit.hit_id)["HIT"]["Question"]
    assert _codes_in(question) == [] and "ExternalQuestion" in question
    stored = manager.page_store.get(url.split("page=")[1])
    assert stored.hit_id == hit.hit_id and stored.variables["agent_instance_ids"] == SECRET_IDS


def test_preview_and_unverified_requests_get_no_join_code(external_hit, stack, unique_name):
    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = _frame_url(manager, hit)
    preview = requests.get(url, params={"assignmentId": PREVIEW, "hitId": hit.hit_id, "workerId": "W1",
                                        "turkSubmitTo": mturk}, timeout=30)
    assert preview.status_code == 200 and preview.headers["X-Crowd-Page"] == "preview"
    assert "Blue tower" in preview.text and _codes_in(preview.text) == []
    assert 'id="work"' not in preview.text and 'class="completion-code"' not in preview.text
    # Made-up assignments while nobody accepted, and after someone did: preview, no rows.
    for made_up in ("A" * 30, "MADEUP1", "x'; DROP TABLE hit_pages;--"):
        page = requests.get(url, params={"assignmentId": made_up, "hitId": hit.hit_id, "workerId": "W1",
                                         "turkSubmitTo": mturk}, timeout=30)
        assert page.status_code in (400, 403) and _codes_in(page.text) == [], page.text
    worker = unique_name("WEXT").upper()
    SimulatedWorkers(mturk).register(worker)
    assignment = requests.post(f"{mturk}/_local/hits/{hit.hit_id}/accept", json={"worker_id": worker}, timeout=30).json()["assignment_id"]
    own = {"assignmentId": assignment, "hitId": hit.hit_id, "workerId": worker, "turkSubmitTo": mturk}
    shown = requests.get(url, params=own, timeout=30)
    assert shown.headers["X-Crowd-Page"] == "hit" and _codes_in(shown.text) == [JOIN, *SECRET_IDS, "1893456000000"]
    assert f"{JOIN}:inst-secret-a:1893456000000" in shown.text
    for attempt in ({**own, "assignmentId": "MADEUP2"}, {**own, "workerId": "SOMEONEELSE"},
                    {**own, "turkSubmitTo": "https://evil.example"}, {**own, "hitId": "OTHERHIT"}):
        refused = requests.get(url, params=attempt, timeout=30)
        assert refused.status_code in (400, 403) and _codes_in(refused.text) == [], attempt
    assert manager.page_store.claims() == 1


def test_html_mode_stays_and_warns_while_external_does_not():
    assert "previewers can read the join codes of html-mode HITs" in preview_exposes_codes("html")
    assert preview_exposes_codes("external") is None
    with pytest.raises(TemplateError, match="known: html, external"):
        preview_exposes_codes("iframe")


def test_external_mode_needs_an_address_and_https_outside_the_local_profile(local_profile, tmp_path, unique_name):
    profile = external_profile(local_profile, tmp_path, "")
    with pytest.raises(MTurkError, match="no hit.external_url"):
        HitManager.open(profile, hit_type="pairwise", campaign=unique_name("c")).create_hit(VARIABLES)
    production = external_profile(load_profile("production", env={}), tmp_path, "http://plain.example")
    with pytest.raises(MTurkError, match="only over HTTPS"):
        HitManager.open(production, hit_type="pairwise", campaign="c", allow_spending=True).external_base_url()


def test_serve_without_a_task_folder_serves_the_hit_pages_and_stops_on_sigterm(stack, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen([sys.executable, "-m", "iglu_lib.cli", "crowd", "serve", "--profile", "local"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
                               preexec_fn=ignore_sigint)  # noqa: PLW1509 - a parent that ignores SIGINT
    try:
        assert "external-mode campaign HITs" in process.stdout.readline()
        url = process.stdout.readline().strip().removeprefix("task server at ")
        assert requests.get(f"{url}/healthz", timeout=30).json()["hit_pages"] is True
        assert requests.get(f"{url}/hit", params={"page": "0" * 32}, timeout=30).status_code == 404
        assert requests.get(f"{url}/task", timeout=30).status_code == 404
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0 and "task server stopped" in out, err


def test_a_returned_campaign_hit_is_freed_when_previewed(external_hit, stack, unique_name):
    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = _frame_url(manager, hit)
    workers = SimulatedWorkers(mturk)

    def open_as(worker: str) -> requests.Response:
        workers.register(worker)
        assignment = requests.post(f"{mturk}/_local/hits/{hit.hit_id}/accept", json={"worker_id": worker}, timeout=30).json()["assignment_id"]
        page = requests.get(url, params={"assignmentId": assignment, "hitId": hit.hit_id, "workerId": worker,
                                         "turkSubmitTo": mturk}, timeout=30)
        requests.post(f"{mturk}/_local/assignments/{assignment}/return", json={}, timeout=30)
        return page

    assert _codes_in(open_as(unique_name("WA").upper()).text) != []
    requests.get(url, params={"assignmentId": PREVIEW, "hitId": hit.hit_id, "turkSubmitTo": mturk}, timeout=30)
    assert _codes_in(open_as(unique_name("WB").upper()).text) != []  # the preview freed the returned slot
    assert manager.page_store.claims() == 1
