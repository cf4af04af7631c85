"""A campaign in `external` mode on the local stack: its HITs carry only page ids, the task server
shows codes to claims, and the loop soft-blocks a stranger whose claim on one of its HIT pages
never became a submission, while the worker who submitted stays welcome."""

from __future__ import annotations

import re
import time
import uuid

import requests

from iglu_lib.collection import Campaign
from iglu_lib.collection.sanctions import CampaignQualification
from iglu_lib.crowd.server import TaskServer
from iglu_lib.crowd.session import campaign_pages
from iglu_lib.local.mturk.control_client import LocalMTurkControl
from iglu_lib.pages.store import DUE_GRACE_SECONDS
from tests.test_mturk_external_pages import frame_url, opened, stranger_get


def test_the_loop_soft_blocks_a_stranger_whose_page_claim_was_never_submitted(rehearsal, local_profile, stack,
                                                                             tmp_path, unique_name):
    mturk = stack["mturk_endpoint_url"]
    profile = local_profile.with_hit(question_mode="external", external_store=str(tmp_path / "hit_pages.sqlite"))
    server = TaskServer(None, None, campaign_pages=campaign_pages(profile)).start()
    campaign = Campaign.open(rehearsal.params(unique_name("ext"), target_approved_hits=1),
                             profile=profile.with_hit(external_url=server.url))
    try:
        campaign.start()
        campaign.turn()
        [hit] = campaign.manager.open_hits()
        url = frame_url(campaign.manager, hit)
        control = LocalMTurkControl(mturk)
        worker, stranger = unique_name("WHONEST").upper(), unique_name("ASTRANGER").upper()
        for someone in (worker, stranger):
            control.set_worker(someone)  # the stranger is a real worker who only previewed
        own = {"assignmentId": control.accept(hit.hit_id, worker)["assignment_id"], "hitId": hit.hit_id,
               "workerId": worker, "turkSubmitTo": mturk}
        status, stranger_page = stranger_get(url, {**own, "assignmentId": "3" + uuid.uuid4().hex[:29].upper(),
                                                   "workerId": stranger})
        page = opened(url, own)
        assert status == 200 and page.headers["X-Crowd-Page"] == "hit"
        honest_codes = shown_join_codes_any(page.text)
        assert len(honest_codes) == 2 and set(honest_codes).isdisjoint(shown_join_codes_any(stranger_page))
        control.submit(own["assignmentId"], {"joinCode1": honest_codes[0], "joinCode2": honest_codes[1]})

        store = campaign.manager.page_store
        store.clock = lambda: time.time() + profile.hit.assignment_duration_seconds + DUE_GRACE_SECONDS + 60
        campaign.turn()
        block = CampaignQualification.soft_block(campaign.manager, campaign.params.campaign)
        assert block.workers() == {stranger} and stranger in campaign.blocked
        assert [claim.worker_id for claim in store.flagged(campaign=campaign.params.campaign)] == [stranger]
        # the pages refuse him too, on every HIT page of the store
        refused = requests.get(url, params={**own, "assignmentId": "3" + uuid.uuid4().hex[:29].upper(),
                                            "workerId": stranger}, timeout=30)
        assert refused.status_code == 403 and shown_join_codes_any(refused.text) == []
    finally:
        for open_hit in campaign.manager.open_hits():
            campaign.manager.expire(open_hit.hit_id)
        server.stop()


def shown_join_codes_any(text: str) -> list[str]:
    """The campaign's join codes (`<task join code>:<instance>:<expiry>`) a page shows."""
    return sorted(set(re.findall(r"/plaiground:join-task-with-agent [^\s<\"]+:[0-9]{10,16}", text)))

