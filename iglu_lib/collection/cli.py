"""`iglu collect` runs a campaign; `iglu campaign status` reports where one stands."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iglu_lib.collection.campaign import Campaign
    from iglu_lib.collection.params import CampaignParams


def register(subparsers: argparse._SubParsersAction) -> None:
    collect = subparsers.add_parser("collect", help="run a campaign until enough good HITs exist")
    collect.add_argument("--params", required=True, help="campaign parameters (YAML), e.g. params/03_collect.yaml")
    collect.add_argument("--resume", action="store_true",
                         help="carry on a stopped campaign (running again does the same: records decide)")
    collect.add_argument("--json", action="store_true", help="print the final summary as JSON")
    collect.set_defaults(handler=_collect)
    campaign = subparsers.add_parser("campaign", help="campaign reports")
    actions = campaign.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="games per task x combination, open HITs, verdicts, spend")
    status.add_argument("--campaign", help="the campaign's name (default: the --params file's)")
    status.add_argument("--profile", help="the profile of the records (default: the --params file's, else local)")
    status.add_argument("--params", help="the campaign's parameters: adds cells still empty and the spend")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)


def _collect(args: argparse.Namespace) -> int:
    import signal

    from iglu_lib.cli import print_json
    from iglu_lib.collection.logfile import campaign_logging
    from iglu_lib.collection.params import CampaignParams

    params = CampaignParams.from_file(args.params)
    with campaign_logging(params.campaign) as log_path:
        print(f"iglu collect: campaign {params.campaign}, log in {log_path}", file=sys.stderr)
        campaign = _open_campaign(params)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: campaign.stop())
        summary = campaign.run(progress=not args.json)
    if args.json:
        print_json(summary)
    else:
        print(" ".join(f"{key}={value}" for key, value in summary.items()))
    return 0


def _open_campaign(params: CampaignParams) -> Campaign:
    """The campaign, or `CampaignStopped` with a sentence when a service refuses or is down."""
    from iglu_lib.collection.campaign import Campaign
    from iglu_lib.collection.faults import Fault, classify
    from iglu_lib.errors import CampaignStopped

    try:
        return Campaign(params)
    except Exception as err:
        fault = classify(err)
        if fault is Fault.UNEXPECTED:
            raise
        advice = ("start the services (`iglu stack up` for the local profile) and run again"
                  if fault is Fault.TRANSIENT else
                  "check the profile's credentials, storage names and endpoints, then run again")
        raise CampaignStopped(f"campaign {params.campaign} could not start: "
                              f"{type(err).__name__}: {str(err).splitlines()[0][:300]}; {advice}") from err


def _status(args: argparse.Namespace) -> int:
    from iglu_lib.cli import print_json
    from iglu_lib.collection.status import campaign_status
    from iglu_lib.config import load_profile
    from iglu_lib.storage import GameRecords

    params = None
    if args.params:
        from iglu_lib.collection.params import CampaignParams

        params = CampaignParams.from_file(args.params)
    profile = load_profile(args.profile or (params.profile if params else "local"))
    cells, cost = (), None
    if params:
        from iglu_lib.scheduling import Inventory

        inventory = Inventory.from_files(params.path(params.join_codes), params.path(params.agent_instances))
        cells = [(task, combo) for task in inventory.tasks for combo in inventory.combinations(params.k)]
        cost = params.cost_per_hit(profile.get("hit.reward"))
    name = args.campaign or (params.campaign if params else None)
    if not name:
        from iglu_lib.errors import IgluError

        raise IgluError("campaign status needs --campaign NAME or --params FILE")
    status = campaign_status(GameRecords.open(profile, name).all(), cost_per_hit=cost, cells=cells)
    if args.json:
        print_json(status)
        return 0
    for key, value in status.items():
        if key != "cells":
            print(f"{key}: {value}")
    for cell in status["cells"]:
        print(f"  {cell['task']:40} {cell['combination']:30} {cell['good_hits']}")
    return 0
