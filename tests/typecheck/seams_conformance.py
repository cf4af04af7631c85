"""Type-only proof that each implementation satisfies the protocol its callers are typed with.

Not a test module (pytest does not collect it): `tests/test_package_seams.py` runs mypy on it.
A protocol whose implementation drifts (a renamed method, another argument) fails here, even
where every caller still holds the implementation as `Any`."""

from __future__ import annotations

from azure.data.tables import TableClient

from iglu_lib.crowd.study_campaign import StudyCampaign
from iglu_lib.ledger.book import BonusService
from iglu_lib.mturk.manager import HitManager
from iglu_lib.mturk.provider import MTurkProvider
from iglu_lib.platform.client import GameDataClient, GameSource
from iglu_lib.prolific.provider import ProlificProvider
from iglu_lib.providers import AccountCrowd, CampaignCrowd, CrowdProvider, ReviewedCrowd
from iglu_lib.storage import EntityTable


def bonus_services(mturk: HitManager, prolific: StudyCampaign) -> list[BonusService]:
    return [mturk, prolific]


def crowd_providers(mturk: MTurkProvider, prolific: ProlificProvider) -> list[CrowdProvider]:
    return [mturk, prolific]


def game_sources(blob_storage: GameDataClient) -> list[GameSource]:
    return [blob_storage]


def entity_tables(azure: TableClient) -> list[EntityTable]:
    return [azure]


def campaign_crowds(mturk: HitManager, prolific: StudyCampaign) -> list[CampaignCrowd]:
    return [mturk, prolific]


def account_crowds(mturk: HitManager) -> list[AccountCrowd]:
    return [mturk]


def reviewed_crowds(mturk: HitManager, prolific: StudyCampaign) -> list[ReviewedCrowd]:
    return [mturk, prolific]
