"""`external`-mode campaign HITs on the real local stack: the HIT carries only a page id; the
task server's `/hit` page shows join codes only to a claim on a HIT the service shows accepted,
each claim with its own codes; a racing stranger neither shuts the worker out nor sees his
codes, a returned HIT's next worker gets codes at once, a claim never submitted is flagged, and
a flood of stranger requests costs a handful of requester calls. `html` mode stays as it was
(with the warning `iglu collect` prints)."""

from __future__ import annotations

import http.client
import re
import time
import uuid
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import pytest
import requests

from iglu_lib.config import load_profile
from iglu_lib.crowd.page_guard import ClientLimiter, HitStates, Throttle
from iglu_lib.crowd.server import RETRY_SECONDS, TaskServer
from iglu_lib.crowd.session import campaign_pages
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.mturk import HitManager
from iglu_lib.mturk.hit_pages import keep_off_flagged
from iglu_lib.mturk.manager import MTurkError
from iglu_lib.mturk.work_checks import WorkHolding
from iglu_lib.pages.store import DUE_GRACE_SECONDS, SUBMITTED, UNSUBMITTED
from iglu_lib.pages.templates import TemplateError, preview_exposes_codes

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
def requester_calls(pages_server, monkeypatch):
    """The requester operations the HIT pages call, in order (a counting wrapper on its manager)."""
    manager, calls = pages_server.campaign_pages.crowd.manager, []
    real = manager.call

    def counted(operation, **arguments):
        calls.append(operation)
        return real(operation, **arguments)

    monkeypatch.setattr(manager, "call", counted)
    return calls


@pytest.fixture
def external_hit(local_profile, tmp_path, pages_server, unique_name):
    profile = external_profile(local_profile, tmp_path, pages_server.url)
    manager = HitManager.open(profile, hit_type="pairwise", campaign=unique_name("external"))
    return manager, manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)


def frame_url(manager, hit) -> str:
    question = manager.call("get_hit", HITId=hit.hit_id)["HIT"]["Question"]
    return ElementTree.fromstring(question).find("{*}ExternalURL").text


def _codes_in(text: str) -> list[str]:
    return [code for code in [JOIN, *SECRET_IDS] if code in text]


def shown_join_codes(text: str) -> list[str]:
    """The full join codes (with their expiry) a HIT page shows."""
    return sorted(set(re.findall(re.escape(JOIN) + r":inst-secret-[ab]:[0-9]+", text)))


def stranger_get(url: str, params: dict[str, str], address: str = "127.0.0.2") -> tuple[int, str]:
    """GET `url` with `params` from another loopback address (another client to the server)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=(address, 0))
    try:
        connection.request("GET", f"{parts.path}?{parts.query}&{urlencode(params)}")
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def opened(url: str, params: dict[str, str]) -> requests.Response:
    """The page as a worker's browser ends up with it: a refusal that reloads itself (409: the
    service was last seen with nobody working, a moment ago) is loaded again, as its meta
    refresh does, a few times."""
    page = requests.get(url, params=params, timeout=30)
    for _ in range(3):
        if page.status_code != 409:
            break
        assert f'http-equiv="refresh" content="{RETRY_SECONDS}"' in page.text
        time.sleep(RETRY_SECONDS)
        page = requests.get(url, params=params, timeout=30)
    return page


def accepted(mturk: str, hit_id: str, worker: str) -> str:
    control = LocalMTurkControl(mturk)
    control.set_worker(worker)
    return control.accept(hit_id, worker)["assignment_id"]


def own_params(mturk: str, hit_id: str, assignment: str, worker: str) -> dict[str, str]:
    return {"assignmentId": assignment, "hitId": hit_id, "workerId": worker, "turkSubmitTo": mturk}


def test_the_hit_carries_a_page_id_not_the_codes(external_hit, pages_server):
    manager, hit = external_hit
    url = frame_url(manager, hit)
    assert url.startswith(f"{pages_server.url}/hit?page=")
    question = manager.call("get_hit", HITId=hit.hit_id)["HIT"]["Question"]
    assert _codes_in(question) == [] and "ExternalQuestion" in question
    stored = manager.page_store.get(url.split("page=")[1])
    assert stored.hit_id == hit.hit_id and stored.variables["agent_instance_ids"] == SECRET_IDS


def test_preview_and_unverified_requests_get_no_join_code(external_hit, stack, unique_name):
    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = frame_url(manager, hit)
    preview = requests.get(url, params={"assignmentId": PREVIEW, "hitId": hit.hit_id, "workerId": "W1",
                                        "turkSubmitTo": mturk}, timeout=30)
    assert preview.status_code == 200 and preview.headers["X-Crowd-Page"] == "preview"
    assert "Blue tower" in preview.text and _codes_in(preview.text) == []
    assert 'id="work"' not in preview.text and 'class="completion-code"' not in preview.text
    # Made-up assignments while nobody accepted: the page without codes (it reloads itself), no claim.
    for made_up in ("A" * 30, "MADEUP1", "x'; DROP TABLE hit_pages;--"):
        page = requests.get(url, params={"assignmentId": made_up, "hitId": hit.hit_id, "workerId": "W1",
                                         "turkSubmitTo": mturk}, timeout=30)
        assert page.status_code in (400, 409) and _codes_in(page.text) == [], page.text
    assert manager.page_store.claims() == 0
    worker = unique_name("WEXT").upper()
    own = own_params(mturk, hit.hit_id, accepted(mturk, hit.hit_id, worker), worker)
    shown = opened(url, own)
    assert shown.headers["X-Crowd-Page"] == "hit" and _codes_in(shown.text) == [JOIN, *SECRET_IDS]
    [first, second] = shown_join_codes(shown.text)
    assert first.startswith(f"{JOIN}:inst-secret-a:") and second.startswith(f"{JOIN}:inst-secret-b:")
    # The claim's codes expire with the assignment's time, not the page's (2030).
    expiry = int(first.rsplit(":", 1)[1]) / 1000
    assert time.time() < expiry <= time.time() + manager.settings.assignment_duration_seconds + 5
    assert shown_join_codes(requests.get(url, params=own, timeout=30).text) == [first, second]  # a reload: same codes
    for attempt in ({**own, "workerId": "SOMEONEELSE"}, {**own, "turkSubmitTo": "https://evil.example"},
                    {**own, "hitId": "OTHERHIT"}, {**own, "assignmentId": "x" * 65}):
        refused = requests.get(url, params=attempt, timeout=30)
        assert refused.status_code in (400, 403) and _codes_in(refused.text) == [], attempt
    assert manager.page_store.claims() == 1


def test_a_racing_stranger_neither_shuts_the_worker_out_nor_gets_his_codes(external_hit, stack, unique_name,
                                                                          pages_server, requester_calls):
    """Stranger first, worker second: both are claims (the service cannot tell them apart before
    a submission); the worker gets codes, the stranger's codes are his claim's own, the service
    refuses the stranger's submission, and once the worker's submission is in and the stranger's
    claim is past its time, the stranger's claim is flagged and his worker id gets no more pages."""
    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = frame_url(manager, hit)
    worker = unique_name("WHONEST").upper()
    own = own_params(mturk, hit.hit_id, accepted(mturk, hit.hit_id, worker), worker)
    stranger = {**own, "assignmentId": "3" + uuid.uuid4().hex[:29].upper(), "workerId": "ASTRANGER0001"}

    status, stranger_page = stranger_get(url, stranger)
    honest = requests.get(url, params=own, timeout=30)
    assert status == 200 and honest.status_code == 200 and honest.headers["X-Crowd-Page"] == "hit"
    honest_codes, stranger_codes = shown_join_codes(honest.text), shown_join_codes(stranger_page)
    assert len(honest_codes) == 2 and len(stranger_codes) == 2
    assert set(honest_codes).isdisjoint(stranger_codes)  # the worker's codes never reach the stranger
    assert "not-verified" not in honest.text

    # The stranger cannot submit under his made-up id; the worker submits his own codes.
    sent = requests.post(f"{mturk}/mturk/externalSubmit", data={"assignmentId": stranger["assignmentId"],
                                                               "joinCode1": stranger_codes[0]}, timeout=30)
    assert sent.status_code >= 400
    LocalMTurkControl(mturk).submit(own["assignmentId"], {
        "joinCode1": honest_codes[0], "joinCode2": honest_codes[1], "best_agent": "agent1"})
    [submission] = manager.submitted_assignments(hit.hit_id)
    assert submission.worker_id == worker and submission.answers.fields["joinCode1"] in honest_codes
    store = manager.page_store
    assert store.claim_of(own["assignmentId"]).outcome == SUBMITTED  # the worker's claim won

    # Past the claims' time, the stranger's next claim makes the server settle his old one (one
    # listing of the HIT): it never became a submission, so it is flagged and he is kept off.
    later = time.time() + manager.settings.assignment_duration_seconds + DUE_GRACE_SECONDS + 120
    pages_server.campaign_pages.store.clock = lambda: later
    other = manager.create_hit(VARIABLES, unique_request_token=uuid.uuid4().hex)
    accepted(mturk, other.hit_id, unique_name("WNEXT").upper())
    again = {**stranger, "hitId": other.hit_id, "assignmentId": "3" + uuid.uuid4().hex[:29].upper()}
    del requester_calls[:]
    status, refused = stranger_get(frame_url(manager, other), again)
    assert status == 403 and _codes_in(refused) == [] and "no more HITs" in refused
    assert requester_calls == ["list_assignments_for_hit"]
    assert store.claim_of(stranger["assignmentId"]).outcome == UNSUBMITTED
    assert [c.worker_id for c in store.flagged()] == ["ASTRANGER0001"]
    status, reopened = stranger_get(url, stranger)  # his old claim is closed too
    assert status == 403 and _codes_in(reopened) == []


def test_after_a_return_the_next_worker_gets_codes_at_once(external_hit, stack, unique_name, requester_calls):
    """Worker A opens the page and returns the HIT; worker B accepts straight away (no preview
    between): B's page shows codes at once, with codes of B's own claim."""
    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = frame_url(manager, hit)
    first = unique_name("WA").upper()
    own_a = own_params(mturk, hit.hit_id, accepted(mturk, hit.hit_id, first), first)
    page_a = requests.get(url, params=own_a, timeout=30)
    assert page_a.headers["X-Crowd-Page"] == "hit"
    LocalMTurkControl(mturk).return_assignment(own_a["assignmentId"])
    second = unique_name("WB").upper()
    own_b = own_params(mturk, hit.hit_id, accepted(mturk, hit.hit_id, second), second)
    page_b = requests.get(url, params=own_b, timeout=30)
    assert page_b.status_code == 200 and page_b.headers["X-Crowd-Page"] == "hit"
    assert _codes_in(page_b.text) == [JOIN, *SECRET_IDS]
    assert set(shown_join_codes(page_b.text)).isdisjoint(shown_join_codes(page_a.text))
    assert manager.page_store.claims() == 2
    assert requester_calls == ["get_hit"]  # B's claim reused the answer A's claim got


def test_fifty_stranger_requests_cost_a_handful_of_requester_calls(external_hit, stack, unique_name, requester_calls):
    """25 requests with made-up ids before anyone accepted and 25 after, from two addresses: a
    handful of GetHIT calls in all (none per request), each address stops at its limit of new
    claims, and the worker who accepted still gets codes of his own."""
    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = frame_url(manager, hit)

    def flood(address: str) -> list[int]:
        return [stranger_get(url, {"assignmentId": f"MADEUP{address[-1]}{n:03d}", "hitId": hit.hit_id,
                                   "workerId": f"ASTRANGER{n:04d}", "turkSubmitTo": mturk}, address)[0]
                for n in range(25)]

    before = flood("127.0.0.2")
    assert set(before) <= {409, 429} and manager.page_store.claims() == 0
    worker = unique_name("WHONEST").upper()
    own = own_params(mturk, hit.hit_id, accepted(mturk, hit.hit_id, worker), worker)
    time.sleep(RETRY_SECONDS)  # past the "nobody working" answer's few seconds
    after = flood("127.0.0.3")
    assert after == [200] * 20 + [429] * 5  # claims of their own, 20 per address and window
    honest = opened(url, own)
    assert honest.headers["X-Crowd-Page"] == "hit" and _codes_in(honest.text) == [JOIN, *SECRET_IDS]
    strangers = {code for claim_page in (stranger_get(url, {**own, "assignmentId": f"MADEUP3{n:03d}",
                                                            "workerId": f"ASTRANGER{n:04d}"}, "127.0.0.3")[1]
                                         for n in range(20)) for code in shown_join_codes(claim_page)}
    assert len(strangers) == 40 and strangers.isdisjoint(shown_join_codes(honest.text))
    assert set(requester_calls) == {"get_hit"} and len(requester_calls) <= 5, requester_calls


def test_page_guards_bound_calls_and_new_claims_per_client():
    now = [1000.0]
    asked: list[str] = []

    def ask(hit_id: str) -> WorkHolding:
        asked.append(hit_id)
        return WorkHolding(True, 1 if now[0] >= 1010 else 0, 600)

    states = HitStates(ask, fresh_seconds=60, recheck_seconds=5, clock=lambda: now[0])
    assert [states.state("H").pending for _ in range(50)] == [0] * 50 and asked == ["H"]
    now[0] = 1010  # accepted; the "nobody" answer is re-asked after recheck_seconds
    assert states.state("H").pending == 1 and asked == ["H", "H"]
    now[0] = 1060  # a "working" answer lasts fresh_seconds
    assert states.state("H").duration_seconds == 600 and len(asked) == 2
    now[0] = 1075
    states.state("H")
    assert len(asked) == 3

    limiter = ClientLimiter(limit=3, window_seconds=60, clock=lambda: now[0])
    assert [limiter.allow("1.2.3.4", f"MADEUP{n}") for n in range(5)] == [True, True, True, False, False]
    assert limiter.allow("1.2.3.4", "MADEUP1")  # a page reloading itself is not a new event
    assert limiter.allow("5.6.7.8", "MADEUP4")
    now[0] += 61
    assert limiter.allow("1.2.3.4", "MADEUP4")

    settling = Throttle(60, clock=lambda: now[0])
    assert [settling.attempt("H"), settling.attempt("H"), settling.attempt("G")] == [True, False, True]
    now[0] += 60
    assert settling.attempt("H")


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


def test_flagged_claimants_are_soft_blocked_from_the_campaign_once(external_hit, stack, unique_name):
    """What the collection loop does each turn in external mode (`keep_off_flagged`): settle the
    campaign's HITs holding overdue claims, soft-block each flagged claimant once; the worker
    whose assignment was submitted is never among them."""
    from iglu_lib.mturk.qualifications import CampaignQualification

    manager, hit = external_hit
    mturk = stack["mturk_endpoint_url"]
    url = frame_url(manager, hit)
    worker, stranger = unique_name("WHONEST").upper(), unique_name("ASTRANGER").upper()
    own = own_params(mturk, hit.hit_id, accepted(mturk, hit.hit_id, worker), worker)
    assert opened(url, own).headers["X-Crowd-Page"] == "hit"
    assert stranger_get(url, {**own, "assignmentId": "3" + uuid.uuid4().hex[:29].upper(), "workerId": stranger})[0] == 200
    LocalMTurkControl(mturk).submit(own["assignmentId"], {"best_agent": "agent1"})
    store = manager.page_store
    block = CampaignQualification.soft_block(manager, manager.campaign)
    assert keep_off_flagged(manager, store, manager.campaign, block.grant) == []  # not overdue yet

    store.clock = lambda: time.time() + manager.settings.assignment_duration_seconds + DUE_GRACE_SECONDS + 60
    assert keep_off_flagged(manager, store, "another-campaign", block.grant) == []
    assert keep_off_flagged(manager, store, manager.campaign, block.grant) == [stranger]
    assert keep_off_flagged(manager, store, manager.campaign, block.grant) == []  # once
    assert block.workers() == {stranger}
    assert store.claim_of(own["assignmentId"]).outcome == SUBMITTED
