"""The local Prolific emulator in the stack: the researcher API's shapes checked against the
public OpenAPI description (pyrolific's generated models), token authentication, studies that
publish, pause and stop with places that only grow, submissions moved by simulated participants
and by the researcher, bonuses that pay again when paid again (as Prolific documents), groups
as allow and block lists, messages, and a balance that follows every payment."""

from __future__ import annotations

import pytest
import requests
from pyrolific.models import (
    BulkBonus,
    ParticipantGroup,
    ParticipantGroupMembershipListResponse,
    Study,
    StudyShort,
    SubmissionDetail,
    SubmissionShort,
    User,
    WorkspaceBalance,
)

PARTICIPANT = "a" * 24
OTHER = "b" * 24


class Api:
    """A researcher's client of the emulator (token auth) and a participant's control calls."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.session = url, requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, expect: int = 200, **kw):
        response = self.session.request(method, f"{self.url}/api/v1/{path}", timeout=10, **kw)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def control(self, method: str, path: str, expect: int = 200, **kw):
        response = requests.request(method, f"{self.url}/_local/{path}", timeout=10, **kw)
        assert response.status_code == expect, response.text
        return response.json()


@pytest.fixture
def api(local_profile) -> Api:
    backend = local_profile.backend
    return Api(backend.endpoint("prolific"), backend.prolific_token())


def _open_to(api: Api, participant: str) -> set[str]:
    """The studies a participant may start now (other tests' studies may be open too)."""
    return {s["id"] for s in api.control("GET", f"studies?participant_id={participant}")["results"]}


def _study(api: Api, **overrides) -> dict:
    workspace = api.call("GET", "workspaces/")["results"][0]["id"]
    project = api.call("POST", f"workspaces/{workspace}/projects/", 201, json={"title": "iglu"})
    body = {"name": "Build with an AI", "description": "Play one game.", "project": project["id"],
            "external_study_url": "http://127.0.0.1:9/hit?pid={{%PROLIFIC_PID%}}&study={{%STUDY_ID%}}"
                                  "&session={{%SESSION_ID%}}",
            "prolific_id_option": "url_parameters", "estimated_completion_time": 10, "reward": 200,
            "total_available_places": 1,
            "completion_codes": [{"code": "DONE1", "code_type": "COMPLETED",
                                  "actions": [{"action": "MANUALLY_REVIEW"}]}],
            **overrides}
    study = api.call("POST", "studies/", 201, json=body)
    Study.from_dict(study)
    return study


def test_requests_without_the_token_are_refused(api):
    response = requests.get(f"{api.url}/api/v1/users/me/", headers={"Authorization": "Token wrong"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["detail"] == "No valid token was provided"
    User.from_dict(api.call("GET", "users/me/"))


def test_a_study_runs_from_draft_to_completed_in_prolifics_shapes(api):
    study = _study(api)
    assert study["status"] == "UNPUBLISHED"
    workspace = api.call("GET", "workspaces/")["results"][0]["id"]
    before = WorkspaceBalance.from_dict(api.call("GET", f"workspaces/{workspace}/balance/"))
    published = api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PUBLISH"})
    assert Study.from_dict(published).status.value == "ACTIVE"
    locked = api.call("GET", f"workspaces/{workspace}/balance/")
    assert locked["available_balance"] == before.available_balance - (200 + 67), "reward and fee held"
    started = api.control("POST", f"studies/{study['id']}/start", json={"participant_id": PARTICIPANT})
    assert started["url"].endswith(f"pid={PARTICIPANT}&study={study['id']}&session={started['submission_id']}")
    assert study["id"] not in _open_to(api, OTHER), "the one place is taken"
    api.control("POST", f"submissions/{started['submission_id']}/complete", json={"code": "DONE1"})
    listed = api.call("GET", f"submissions/?study={study['id']}")["results"]
    assert [SubmissionShort.from_dict(s).status.value for s in listed] == ["AWAITING REVIEW"]
    assert api.call("GET", f"studies/{study['id']}/")["status"] == "AWAITING REVIEW", "full: awaiting review"
    detail = api.call("POST", f"submissions/{started['submission_id']}/transition/", json={"action": "APPROVE"})
    assert SubmissionDetail.from_dict(detail).status.value == "APPROVED" and detail["entered_code"] == "DONE1"
    again = api.call("POST", f"submissions/{started['submission_id']}/transition/", json={"action": "APPROVE"})
    assert again["status"] == "APPROVED", "a repeated transition is ignored"
    after = api.call("GET", f"workspaces/{workspace}/balance/")
    assert after["total_balance"] == before.total_balance - 267, "reward and fee paid"
    assert after["available_balance"] == before.available_balance - 267, "and no longer held"
    StudyShort.from_dict(api.call("GET", "studies/")["results"][-1])
    assert api.call("GET", f"studies/{study['id']}/")["status"] == "COMPLETED"


def test_published_studies_only_grow(api):
    study = _study(api)
    api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PUBLISH"})
    refused = api.call("PATCH", f"studies/{study['id']}/", 400, json={"reward": 100})
    assert "cannot be changed once the study is published" in refused["error"]["detail"]
    assert "only be increased" in api.call("PATCH", f"studies/{study['id']}/", 400,
                                           json={"total_available_places": 0})["error"]["detail"]
    grown = api.call("PATCH", f"studies/{study['id']}/", json={"total_available_places": 3})
    assert grown["total_available_places"] == 3
    api.call("DELETE", f"studies/{study['id']}/", 400)
    paused = api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PAUSE"})
    assert paused["status"] == "PAUSED"
    assert study["id"] not in _open_to(api, PARTICIPANT), "a paused study takes nobody"
    stopped = api.call("POST", f"studies/{study['id']}/transition/", json={"action": "STOP"})
    assert stopped["status"] in ("AWAITING REVIEW", "COMPLETED")


def test_bad_studies_and_rejections_are_refused_with_a_reason(api):
    cheap = api.call("POST", "studies/", 400, json={**_study(api), "reward": 10, "project": None})
    assert "minimum hourly reward" in cheap["error"]["detail"]
    missing = api.call("POST", "studies/", 400, json={"name": "x"})
    assert "completion_codes: This field is required." in missing["error"]["detail"]
    study = _study(api, total_available_places=2)
    api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PUBLISH"})
    sub = api.control("POST", f"studies/{study['id']}/start", json={"participant_id": PARTICIPANT})["submission_id"]
    api.control("POST", f"submissions/{sub}/complete", json={"code": "NOT-OURS"})
    short = api.call("POST", f"submissions/{sub}/transition/", 400,
                     json={"action": "REJECT", "message": "Too short.", "rejection_category": "BAD_CODE"})
    assert "at least 100 characters" in short["error"]["detail"]
    rejected = api.call("POST", f"submissions/{sub}/transition/", json={
        "action": "REJECT", "rejection_category": "BAD_CODE",
        "message": "The completion code you entered does not belong to this study; " * 2})
    assert rejected["status"] == "REJECTED" and rejected["entered_code"] == "NOT-OURS"
    assert study["id"] in _open_to(api, OTHER), "a rejection reopens the place"


def test_returns_and_time_outs_give_the_place_back(api):
    study = _study(api, maximum_allowed_time=30)
    api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PUBLISH"})
    first = api.control("POST", f"studies/{study['id']}/start", json={"participant_id": PARTICIPANT})
    api.control("POST", f"submissions/{first['submission_id']}/return")
    second = api.control("POST", f"studies/{study['id']}/start", json={"participant_id": OTHER})
    api.control("POST", "clock", json={"advance_seconds": 31 * 60})
    statuses = {s["id"]: s["status"] for s in api.call("GET", f"studies/{study['id']}/submissions/")["results"]}
    assert statuses == {first["submission_id"]: "RETURNED", second["submission_id"]: "TIMED-OUT"}
    assert api.call("GET", f"studies/{study['id']}/")["places_taken"] == 0


def test_a_bonus_paid_twice_is_paid_twice(api):
    """Prolific's pay endpoint is not idempotent: the emulator pays again, so only the client's
    ledger can keep a second payment from happening, and a rehearsal shows it if it does not."""
    study = _study(api)
    api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PUBLISH"})
    sub = api.control("POST", f"studies/{study['id']}/start", json={"participant_id": PARTICIPANT})["submission_id"]
    api.control("POST", f"submissions/{sub}/complete", json={"code": "DONE1"})
    api.call("POST", "submissions/bonus-payments/", 400, json={"study_id": study["id"], "csv_bonuses": f"{OTHER},1.00"})
    bulk = BulkBonus.from_dict(api.call("POST", "submissions/bonus-payments/", 201,
                                        json={"study_id": study["id"], "csv_bonuses": f"{PARTICIPANT},0.50\n"}))
    assert bulk.amount == 50, "dollars in the CSV, cents in the answer"
    assert api.control("GET", f"bonus-payments?study_id={study['id']}")["results"] == [], "set up pays nothing"
    for _ in range(2):
        assert api.call("POST", f"bulk-bonus-payments/{bulk.id}/pay/", 202) == "Successfully processed bonus payments."
    paid = api.control("GET", f"bonus-payments?study_id={study['id']}")["results"]
    assert [p["amount"] for p in paid] == [50, 50]
    assert api.call("GET", f"submissions/{sub}/")["bonus_payments"] == [50, 50]


def test_groups_allow_and_block_participants_and_messages_reach_them(api):
    workspace = api.call("GET", "workspaces/")["results"][0]["id"]
    group = api.call("POST", "participant-groups/", 201, json={"workspace_id": workspace, "name": "passed"})
    ParticipantGroup.from_dict(group)
    members = api.call("POST", f"participant-groups/{group['id']}/participants/",
                       json={"participant_ids": [PARTICIPANT]})
    ParticipantGroupMembershipListResponse.from_dict(members)
    allow = _study(api, filters=[{"filter_id": "participant_group_allowlist", "selected_values": [group["id"]]}])
    block = _study(api, filters=[{"filter_id": "participant_group_blocklist", "selected_values": [group["id"]]}])
    for study in (allow, block):
        api.call("POST", f"studies/{study['id']}/transition/", json={"action": "PUBLISH"})
    open_to = {who: {s["id"] for s in api.control("GET", f"studies?participant_id={who}")["results"]}
               for who in (PARTICIPANT, OTHER)}
    assert allow["id"] in open_to[PARTICIPANT] and block["id"] not in open_to[PARTICIPANT]
    assert allow["id"] not in open_to[OTHER] and block["id"] in open_to[OTHER]
    api.call("POST", "messages/", 204, json={"recipient_id": PARTICIPANT, "body": "Thanks!", "study_id": allow["id"]})
    received = api.control("GET", f"messages?participant_id={PARTICIPANT}")["results"]
    assert [m["body"] for m in received][-1] == "Thanks!"
    assert api.call("GET", f"messages/?user_id={PARTICIPANT}")["results"][-1]["body"] == "Thanks!"
