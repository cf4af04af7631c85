"""The Prolific provider against the stack's emulator: studies from draft to stopped with places
that only grow, participants (simulated through the emulator's control API) whose submissions are
approved and rejected, bonuses in two steps that pay again when paid again, groups as blocks and
capabilities, messages, balance and preflight; bad input as one-line errors before any call; and
retries on a tiny local server that fails on purpose."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from iglu_lib.prolific.client import Backoff, ProlificClient, ProlificError
from iglu_lib.prolific.provider import (
    BLOCKED_GROUP,
    MIN_HOURLY_REWARD,
    ProlificProvider,
    SpendingRefused,
    completion_url,
)
from iglu_lib.providers import Bonus, CrowdProvider, WorkSpec, open_provider
from iglu_lib.settings import ConfigError

LONG_REASON = ("Your submission did not contain the answers the study asked for: the game fields were empty "
               "and no completion step was recorded by our task server.")


def pid() -> str:
    return secrets.token_hex(12)


class Participants:
    """The emulator's control API: what simulated participants do."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, **body: object) -> dict:
        response = requests.request(method, f"{self.url}/_local/{path}", json=body or None, timeout=10)
        assert response.ok, response.text
        return response.json()

    def open_studies(self, participant: str) -> set[str]:
        return {s["id"] for s in self.call("GET", f"studies?participant_id={participant}")["results"]}

    def start(self, study_id: str, participant: str) -> dict:
        return self.call("POST", f"studies/{study_id}/start", participant_id=participant)

    def complete(self, submission_id: str, code: str) -> dict:
        return self.call("POST", f"submissions/{submission_id}/complete", code=code)


@pytest.fixture
def provider(local_profile) -> ProlificProvider:
    return ProlificProvider.open(local_profile)


@pytest.fixture
def participants(local_profile) -> Participants:
    return Participants(local_profile.backend.prolific_base_url())


def draft(provider: ProlificProvider, name: str, places: int = 1, **options: object):
    settings = {"title": "Build with an AI", "description": "Play one game.", "url": "http://127.0.0.1:9/study",
                "reward": Decimal("2.00"), "places": places, "estimated_minutes": 10, **options}
    return provider.create_draft(name, **settings)  # type: ignore[arg-type]


def finished(provider, participants, study, participant: str | None = None) -> str:
    """A participant starts the study and finishes with its completion code; the submission id."""
    started = participants.start(study.id, participant or pid())
    participants.complete(started["submission_id"], study.completion_code)
    return started["submission_id"]


def test_a_study_goes_from_draft_to_stopped_and_its_places_only_grow(provider, unique_name):
    name = unique_name("camp") + ":batch-1"
    study = draft(provider, name)
    assert study.status == "UNPUBLISHED" and study.places == 1 and study.reward == Decimal("2.00")
    url = study.raw["external_study_url"]
    assert url.startswith("http://127.0.0.1:9/study?")
    for placeholder in ("PROLIFIC_PID={{%PROLIFIC_PID%}}", "STUDY_ID={{%STUDY_ID%}}", "SESSION_ID={{%SESSION_ID%}}"):
        assert placeholder in url
    assert study.raw["completion_codes"][0]["actions"] == [{"action": "MANUALLY_REVIEW"}]
    assert draft(provider, name).id == study.id  # found again by internal name, not made twice
    assert provider.publish(study.id).status == "ACTIVE"
    assert provider.grow_places(study.id, 3).places == 3
    with pytest.raises(ProlificError, match="has 3 places and Prolific never lowers them; 2 would shrink it"):
        provider.grow_places(study.id, 2)
    assert provider.pause(study.id).status == "PAUSED"
    assert provider.resume(study.id).status == "ACTIVE"
    assert provider.stop(study.id).status in ("AWAITING REVIEW", "COMPLETED")
    assert provider.stop(study.id).status in ("AWAITING REVIEW", "COMPLETED")  # stopping again is harmless
    assert [w.work_id for w in provider.reconcile(name.split(":")[0])] == [study.id]
    assert provider.reconcile(unique_name("other")) == []


def test_a_study_just_read_is_published_and_grown_without_reading_it_again(provider, participants, unique_name):
    """What a campaign's loop relies on to keep its requests few: `known=` saves the read, and
    the study's counters (`places_taken`, `number_of_submissions`) come with every answer."""
    study = draft(provider, unique_name("known") + ":study")
    made = provider.client.counts
    before = dict(made)
    study = provider.publish(study.id, known=study)
    study = provider.grow_places(study.id, 2, known=study)
    assert study.status == "ACTIVE" and study.places == 2
    assert {k: made[k] - before.get(k, 0) for k in made if made[k] != before.get(k, 0)} == {
        "POST studies/{id}/transition/": 1, "PATCH studies/{id}/": 1}
    finished(provider, participants, study)
    participants.start(study.id, pid())
    study = provider.study(study.id)
    assert (study.places_taken, study.number_of_submissions) == (2, 2)
    with pytest.raises(ProlificError, match="never lowers"):
        provider.grow_places(study.id, 1, known=study)


def test_requests_are_counted_by_kind_without_their_ids():
    from iglu_lib.prolific.client import request_kind

    some = "0123456789abcdef01234567"
    assert request_kind("GET", f"https://api.prolific.com/api/v1/studies/{some}/") == "GET studies/{id}/"
    assert request_kind("GET", f"http://127.0.0.1:1/api/v1/submissions/?study={some}") == "GET submissions/"
    assert request_kind("POST", f"http://h/api/v1/bulk-bonus-payments/{some}/pay/") == "POST bulk-bonus-payments/{id}/pay/"


def test_participants_submit_and_the_researcher_approves_and_rejects(provider, participants, unique_name):
    study = draft(provider, unique_name("review"), places=2)
    provider.publish(study.id)
    first, second = pid(), pid()
    started = participants.start(study.id, first)
    assert f"PROLIFIC_PID={first}" in started["url"] and f"STUDY_ID={study.id}" in started["url"]
    assert f"SESSION_ID={started['submission_id']}" in started["url"]
    assert [s.status for s in provider.submissions(study.id)] == ["ACTIVE"]
    participants.complete(started["submission_id"], study.completion_code)
    other = finished(provider, participants, study, second)
    listed = {s.participant_id: s for s in provider.submissions(study.id)}
    assert listed[first].needs_review and listed[second].needs_review
    detail = provider.submission(started["submission_id"])
    assert detail.study_id == study.id and detail.entered_code == study.completion_code

    before = provider.balance()
    provider.approve(started["submission_id"])
    provider.approve(started["submission_id"])  # repeated: Prolific ignores it, pays once
    assert provider.submission(started["submission_id"]).status == "APPROVED"
    assert provider.balance() == before  # the reward was locked at publishing; paying released the lock

    with pytest.raises(ProlificError, match=r"at least 100 characters \(this one has 9\)"):
        provider.reject(other, "too short")
    with pytest.raises(ProlificError, match="rejection category 'LAZY' is not one of Prolific's"):
        provider.reject(other, LONG_REASON, "LAZY")
    assert provider.submission(other).status == "AWAITING REVIEW"  # refused before any call
    provider.reject(other, LONG_REASON, "NO_DATA")
    assert provider.submission(other).status == "REJECTED"
    assert {s.submission_id: s.needs_review for s in provider.submitted(study.id)} == {
        started["submission_id"]: False, other: False}


def test_a_bonus_is_set_up_then_paid_and_paying_the_same_set_up_again_pays_again(provider, participants, unique_name):
    study = draft(provider, unique_name("bonus"))
    provider.publish(study.id)
    worker = pid()
    submission = finished(provider, participants, study, worker)
    payments = lambda: participants.call("GET", f"bonus-payments?study_id={study.id}")["results"]  # noqa: E731
    setup = provider.set_up_bonus(study.id, [(worker, Decimal("0.75"))])
    assert setup.amount == Decimal("0.75") and setup.total > setup.amount and payments() == []
    provider.pay_bonus(setup.id)
    assert [p["amount"] for p in payments()] == [75]
    provider.pay_bonus(setup.id)  # Prolific documents this: the ledger, not the service, prevents it
    assert [p["amount"] for p in payments()] == [75, 75]
    receipt = provider.send_bonus(Bonus(worker, submission, study.id, Decimal("0.10"), "well done", "ledger-1"))
    assert receipt and [p["amount"] for p in payments()] == [75, 75, 10]
    with pytest.raises(ProlificError, match="bonus amount '0.001' is not a positive amount of dollars and cents"):
        provider.set_up_bonus(study.id, [(worker, "0.001")])
    with pytest.raises(ProlificError, match=r"set up bonuses for study .* failed: HTTP 400: csv_bonuses: did not take part"):
        provider.set_up_bonus(study.id, [(pid(), Decimal("1.00"))])


def test_groups_block_and_grant_on_published_studies_at_once(provider, participants, unique_name):
    capability = unique_name("passed")
    open_study = draft(provider, unique_name("open"))
    gated = draft(provider, unique_name("gated"), required_groups=[capability])
    for study in (open_study, gated):
        provider.publish(study.id)
    worker = pid()
    assert participants.open_studies(worker) >= {open_study.id} and gated.id not in participants.open_studies(worker)
    provider.grant(capability, worker)
    assert capability and worker in provider.group_members(capability)
    assert {open_study.id, gated.id} <= participants.open_studies(worker)
    provider.block(worker, "hostile answers")
    assert worker in provider.group_members(BLOCKED_GROUP)
    assert not {open_study.id, gated.id} & participants.open_studies(worker)
    provider.unblock(worker, "appeal accepted")
    provider.revoke(capability, worker)
    visible = participants.open_studies(worker)
    assert open_study.id in visible and gated.id not in visible
    fresh = ProlificProvider(provider.client, provider.settings)  # found again by name, not made twice
    assert fresh.group_id(capability) == provider.group_id(capability)


def test_a_message_reaches_the_participant(provider, participants, unique_name):
    study = draft(provider, unique_name("msg"))
    provider.publish(study.id)
    worker = pid()
    finished(provider, participants, study, worker)
    provider.message(worker, "Your bonus is on its way.", work_id=study.id, subject="Thank you")
    bodies = [m["body"] for m in participants.call("GET", f"messages?participant_id={worker}")["results"]]
    assert bodies == ["Thank you\n\nYour bonus is on its way."]


def test_preflight_checks_token_workspace_project_balance_and_reward(provider, local_profile, unique_name):
    spec = WorkSpec(unique_name("pre"), "t", "d", "http://127.0.0.1:9/", Decimal("2.00"), places=5, estimated_minutes=10)
    provider.project_id()  # the project exists once anything was made in it
    checks = {c.name: c for c in provider.preflight(spec)}
    assert [c.name for c in checks.values()] == ["token", "workspace", "project", "balance", "reward"]
    assert all(c.ok for c in checks.values()), checks
    poor = {c.name: c for c in provider.preflight(replace(spec, places=100_000))}
    assert not poor["balance"].ok and "add funds to the workspace" in poor["balance"].detail
    cheap = {c.name: c for c in provider.preflight(replace(spec, reward=Decimal("0.50")))}
    assert not cheap["reward"].ok and f"below Prolific's minimum of ${MIN_HOURLY_REWARD} an hour" in cheap["reward"].detail
    lost = ProlificProvider(provider.client, replace(provider.settings, workspace="Nowhere"), profile_name="local")
    found = lost.preflight(spec)
    assert [c.ok for c in found] == [True, False] and "workspace 'Nowhere'" in found[-1].detail
    unnamed = ProlificProvider(provider.client, replace(provider.settings, project="Not yet " + unique_name("p")),
                               profile_name="local")
    noted = {c.name: c for c in unnamed.preflight(spec)}
    assert noted["project"].ok and "does not exist yet" in noted["project"].detail and "check the name" in noted["project"].detail


def test_bad_input_is_one_line_naming_the_setting(provider, local_profile, unique_name):
    from iglu_lib.config import load_profile

    errors = []
    with pytest.raises(ConfigError, match="needs PROLIFIC_TOKEN") as missing:
        ProlificClient.open(load_profile("sandbox", env={}).backend)
    errors.append(missing.value)
    bad_token = ProlificClient(provider.client.base_url, "wrong", backoff=Backoff(sleep=lambda _: None))
    with pytest.raises(ProlificError, match=r"check token \(users/me\) failed: HTTP 401: No valid token was provided; check PROLIFIC_TOKEN") as refused:
        bad_token.me()
    errors.append(refused.value)
    lost = ProlificProvider(provider.client, replace(provider.settings, workspace="Nowhere"), profile_name="local")
    with pytest.raises(ProlificError, match=r"workspace 'Nowhere' \(prolific.workspace of profile 'local'\) does not exist") as unknown:
        lost.workspace_id  # noqa: B018
    errors.append(unknown.value)
    with pytest.raises(ProlificError, match=r"reward \$0.50 for 10 minutes is \$3.00 an hour, below .*pay at least \$1.33") as cheap:
        draft(provider, unique_name("cheap"), reward=Decimal("0.50"))
    errors.append(cheap.value)
    assert provider.studies(unique_name("cheap")) == []  # refused before any call
    assert all("\n" not in str(err) and len(str(err)) < 300 for err in errors)


def test_paying_calls_are_refused_where_money_is_real(frugal_profile, unique_name):
    frugal = frugal_profile
    careful = ProlificProvider.open(frugal)
    study = draft(careful, unique_name("frugal"))  # a draft costs nothing
    with pytest.raises(SpendingRefused, match="publishing study .* spends real money and profile 'local' has spend_money: false"):
        careful.publish(study.id)
    assert careful.study(study.id).status == "UNPUBLISHED"
    assert careful.publish(study.id, allow_spending=True).status == "ACTIVE"


def test_the_provider_is_a_crowd_provider_found_in_the_registry(local_profile):
    found = open_provider("prolific", local_profile)
    assert isinstance(found, ProlificProvider) and isinstance(found, CrowdProvider)
    assert completion_url("AB12") == "https://app.prolific.com/submissions/complete?cc=AB12"


# -- retries, on a tiny server that fails on purpose -------------------------------------------


class Flaky:
    """A loopback HTTP server answering from a script of (status, body) per request, recording paths."""

    def __init__(self, script: list[tuple[int, object]]) -> None:
        self.script, self.seen = list(script), []
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                flaky.seen.append((self.command, self.path))
                status, body = flaky.script.pop(0) if flaky.script else (200, {})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self) -> ProlificClient:
        return ProlificClient(self.url, "t", backoff=Backoff(max_attempts=3, sleep=lambda _: None))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_read_is_retried_after_a_5xx_and_a_rate_limit():
    flaky = Flaky([(503, {"error": {"detail": "busy"}}), (429, {}), (200, {"id": "me", "email": "r@x"})])
    try:
        client = flaky.client()
        assert client.me()["id"] == "me"
        assert client.requests == 3 and client.backoff.retries == 2
    finally:
        flaky.close()


def test_retries_are_bounded_and_the_error_names_the_operation_and_detail():
    flaky = Flaky([(502, {"error": {"status": 502, "detail": "upstream down"}})] * 3)
    try:
        with pytest.raises(ProlificError, match=r"^Prolific read study s1 failed: HTTP 502: upstream down$"):
            flaky.client().study("s1")
        assert len(flaky.seen) == 3
    finally:
        flaky.close()


def test_a_bonus_payment_is_never_repeated_after_a_5xx():
    flaky = Flaky([(500, {"error": {"detail": "oops"}}), (202, "paid")])
    try:
        with pytest.raises(ProlificError, match=r"pay bonuses b1 failed: HTTP 500: oops \(it may have been done all the same"):
            flaky.client().pay_bonuses("b1")
        assert flaky.seen == [("POST", "/api/v1/bulk-bonus-payments/b1/pay/")]  # it may have paid: not sent again
    finally:
        flaky.close()


def test_an_unreachable_service_is_one_line_after_bounded_attempts():
    flaky = Flaky([])
    flaky.close()  # nothing listens there any more
    client = flaky.client()
    with pytest.raises(ProlificError, match=r"read balance failed: cannot reach .* after 3 attempt\(s\); is the endpoint reachable\?"):
        client.balance("w1")


# -- settings and the token as a secret --------------------------------------------------------


def test_the_token_is_a_secret_masked_in_show_and_refused_in_a_profile(tmp_path, monkeypatch):
    from iglu_lib.config import load_profile
    from iglu_lib.paths import params_dir

    root = tmp_path / "project"
    (root / "params" / "profiles").mkdir(parents=True)
    (root / "params" / "profiles" / "production.yaml").write_text(
        (params_dir() / "profiles" / "production.yaml").read_text())
    (root / "params" / "profiles" / "leaky.yaml").write_text("prolific:\n  prolific_token: abc\n")
    token = "prolific-" + secrets.token_hex(16)
    monkeypatch.setenv("IGLU_PROJECT_ROOT", str(root))
    monkeypatch.setenv("PROLIFIC_TOKEN", token)
    profile = load_profile("production")
    assert profile.backend.prolific_token() == token and profile.backend.prolific_base_url() == "https://api.prolific.com"
    assert profile.backend.prolific_settings().workspace == "IGLU"
    shown = json.dumps(profile.shown())
    assert "PROLIFIC_TOKEN" in shown and token not in shown
    with pytest.raises(ConfigError, match="secrets do not belong in profiles \\(prolific_token\\)"):
        load_profile("leaky")


def test_a_malformed_prolific_section_names_the_key(tmp_path):
    from iglu_lib.settings import parse_prolific

    with pytest.raises(ConfigError, match=r"p.yaml: prolific.base_url is 'api.prolific.com'.*allowed: an http\(s\) address"):
        parse_prolific(tmp_path / "p.yaml", {"prolific": {"base_url": "api.prolific.com"}})
    with pytest.raises(ConfigError, match="p.yaml: prolific is 'yes'.*allowed: a mapping"):
        parse_prolific(tmp_path / "p.yaml", {"prolific": "yes"})
    assert parse_prolific(tmp_path / "p.yaml", {}).base_url == "https://api.prolific.com"


# -- iglu prolific -------------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", "prolific", *args], capture_output=True, text=True,
                          timeout=120, env=env or {**os.environ})


def test_cli_preflight_studies_submissions_and_stop(provider, participants, unique_name):
    provider.project_id()
    ok = _cli("preflight", "--reward", "2.00", "--places", "3", "--minutes", "10")
    assert ok.returncode == 0, ok.stderr
    assert [line.split()[:2] for line in ok.stdout.splitlines()] == [
        ["ok", "token:"], ["ok", "workspace:"], ["ok", "project:"], ["ok", "balance:"], ["ok", "reward:"]]
    cheap = _cli("preflight", "--reward", "0.10", "--minutes", "10", "--json")
    assert cheap.returncode == 1 and {c["name"]: c["ok"] for c in json.loads(cheap.stdout)}["reward"] is False
    name = unique_name("clicamp")
    study = draft(provider, name)
    provider.publish(study.id)
    finished(provider, participants, study)
    listed = json.loads(_cli("studies", "--prefix", name, "--json").stdout)
    assert [(s["id"], s["places"]) for s in listed] == [(study.id, 1)]
    subs = json.loads(_cli("submissions", study.id, "--json").stdout)
    assert [s["status"] for s in subs] == ["AWAITING REVIEW"]
    stopped = _cli("stop", study.id)
    assert stopped.returncode == 0 and study.id in stopped.stdout
    assert _cli("balance").stdout.startswith("$")


def test_cli_without_a_token_is_one_line_naming_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "PROLIFIC_TOKEN"}
    result = _cli("balance", "--profile", "sandbox", env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "needs PROLIFIC_TOKEN" in result.stderr


def test_lists_follow_next_pages_on_prolific_only():
    flaky = Flaky([])
    try:
        flaky.script[:] = [(200, {"results": [{"id": "w1"}], "_links": {"next": {"href": f"{flaky.url}/api/v1/workspaces/?page=2"}}}),
                           (200, {"results": [{"id": "w2"}], "_links": {"next": {"href": None}}}),
                           (200, {"results": [], "_links": {"next": {"href": "https://elsewhere.example/steal"}}})]
        client = flaky.client()
        assert [w["id"] for w in client.workspaces()] == ["w1", "w2"]
        with pytest.raises(ProlificError, match="the next page is not on http://127.0.0.1"):
            client.workspaces()
    finally:
        flaky.close()
