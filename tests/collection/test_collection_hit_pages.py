"""A campaign with its own HIT pages and a required qualifier score, on the local stack: it
refuses to start while the template lacks something (here, the server address placeholder),
and every HIT it creates shows the campaign's page and carries the requirement, which the
local MTurk server enforces: a worker without the score, or who did not consent, cannot
accept; one who consented and passed can."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from iglu_lib.collection import Campaign
from iglu_lib.local.mturk.control_client import LocalMTurkControl, WorkerRefused
from iglu_lib.mturk import HitManager
from iglu_lib.mturk.qualifications import QualificationTest, create_qualification_type
from iglu_lib.pages.templates import TemplateIncomplete

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "params" / "templates" / "iglu-minecraft"
QUALIFIER = ROOT / "params" / "examples" / "qualifier"
SET = {"minecraft_server": "mc.example.org:25565", "contact": "Jane Doe, study@example.org"}
RIGHT = {"role": "assistant", "instruction": "precise", "completion": "code"}


def test_campaign_refuses_to_start_with_an_incomplete_template(rehearsal, local_profile, unique_name):
    name = unique_name("tpl")
    campaign = Campaign.open(rehearsal.params(name, hit_template=str(EXAMPLE)))  # placeholders left in
    with pytest.raises(TemplateIncomplete, match="minecraft_server"):
        campaign.start()
    assert list(HitManager.open(local_profile, hit_type="pairwise", campaign=name).hits()) == []


def test_campaign_hits_show_the_own_page_and_require_the_qualifier(rehearsal, local_profile, stack, unique_name):
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    manager = HitManager.open(local_profile)
    qualifier = f"IGLU architect {secrets.token_hex(4)}"
    test = QualificationTest.from_files(qualifier, "Consent and the building game", QUALIFIER / "test.xml",
                                        QUALIFIER / "answer_key.xml", retry_delay_seconds=0)
    type_id = create_qualification_type(manager, test)
    passed, refused, unqualified = (f"W{label}{secrets.token_hex(4).upper()}" for label in ("PASS", "NOCONSENT", "NONE"))
    assert control.request_qualification(type_id, passed, {"consent": "agree", **RIGHT})["value"] == 100
    assert control.request_qualification(type_id, refused, {"consent": "disagree", **RIGHT})["value"] == 0

    name = unique_name("tpl")
    campaign = Campaign.open(rehearsal.params(
        name, hit_template=str(EXAMPLE), hit_variables=SET, target_approved_hits=2,
        qualification_requirements=[{"type": qualifier, "min_score": 100}]))
    campaign.start()
    campaign.turn()
    hits = campaign.manager.open_hits()
    assert len(hits) == 2
    mturk = local_profile.backend.mturk_client()
    try:
        for hit in hits:
            raw = mturk.get_hit(HITId=hit.hit_id)["HIT"]
            assert {"QualificationTypeId": type_id, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [100],
                    "ActionsGuarded": "Accept"} in raw["QualificationRequirements"]
            assert "mc.example.org:25565" in raw["Question"] and "/finish-game" in raw["Question"]
        hit_id = hits[0].hit_id
        for worker in (refused, unqualified):
            with pytest.raises(WorkerRefused) as info:
                control.accept(hit_id, worker)
            assert info.value.code == "QualificationRequirementNotMet"
        accepted = control.accept(hit_id, passed)
        control.return_assignment(accepted["assignment_id"])
    finally:
        for hit in hits:
            campaign.manager.expire(hit.hit_id)


def test_a_required_qualification_the_account_lacks_stops_the_campaign(rehearsal, local_profile, unique_name):
    from iglu_lib.errors import CampaignStopped

    missing = f"no such qualifier {secrets.token_hex(4)}"
    campaign = Campaign.open(rehearsal.params(unique_name("tpl"), max_turns=3,
                                         qualification_requirements=[{"type": missing, "min_score": 1}]))
    with pytest.raises(CampaignStopped, match=missing):
        campaign.run(progress=False)
    assert campaign.manager.open_hits() == []


def test_requirements_name_a_type_by_id_too(local_profile):
    from iglu_lib.mturk.qualifications import campaign_requirements, requirement

    manager = HitManager.open(local_profile)
    type_id = manager.call("create_qualification_type", Name=f"pilot {secrets.token_hex(4)}", Description="d",
                           QualificationTypeStatus="Active")["QualificationType"]["QualificationTypeId"]
    assert campaign_requirements(manager, [{"type": type_id, "min_score": 5}]) == [requirement(type_id, 5)]
