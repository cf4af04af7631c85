"""`iglu collect` runs a campaign; `iglu campaign status` reports where one stands;
`iglu campaign preflight` checks before spending; `iglu campaign stop` winds one down;
`iglu campaign review` lists submissions by worker and takes a person's decisions."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal

    from iglu_lib.collection.campaign import Campaign
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.collection.winddown import WindDownReport
    from iglu_lib.config import Profile
    from iglu_lib.ledger.book import Spend
    from iglu_lib.providers import AccountCrowd
    from iglu_lib.storage import GameRecord


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
    status.add_argument("--service", action="store_true",
                        help="also count the campaign's HITs on MTurk by status (always with --params)")
    status.set_defaults(handler=_status)
    stop = actions.add_parser("stop", help="stop a running loop; --expire also expires, settles and deletes its HITs")
    stop.add_argument("--params", required=True, help="the campaign's parameters (YAML)")
    stop.add_argument("--expire", action="store_true",
                      help="expire every open HIT, settle what was submitted, free instances, report what is left")
    stop.add_argument("--delete-settled", action="store_true",
                      help="with --expire: also delete settled HITs on MTurk (records keep everything; "
                           "no manual review or reversal on the service afterwards)")
    stop.add_argument("--json", action="store_true")
    stop.set_defaults(handler=_stop)
    check = actions.add_parser("preflight", help="check credentials, balance, pages, qualifications, "
                                                 "join codes and storage before spending")
    check.add_argument("--params", required=True, help="the campaign's parameters (YAML)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_preflight)
    review = actions.add_parser("review", help="submissions by worker with their history; with --action, a "
                                               "decision with a reason (approve, reject, bonus, soft-block, "
                                               "hard-block, reverse) that the loop never overrides")
    review.add_argument("--params", required=True, help="the campaign's parameters (YAML)")
    review.add_argument("--worker", help="raw worker id or pseudonym (worker-...): only this worker")
    review.add_argument("--action", choices=("approve", "reject", "bonus", "soft-block", "hard-block", "reverse"))
    review.add_argument("--reason", help="why (required with --action; recorded, and read by the worker)")
    review.add_argument("--hit", help="the HIT a decision is about (needed when the worker has several)")
    review.add_argument("--amount", help="with --action bonus: dollars and cents, e.g. 0.50")
    review.add_argument("--allow-spending", action="store_true", help="needed where the profile pays real money")
    review.add_argument("--force", action="store_true",
                        help="with --action reverse: reverse a rejection for fraud (its fraud games still never count)")
    review.add_argument("--json", action="store_true")
    review.set_defaults(handler=_review)


def _collect(args: argparse.Namespace) -> int:
    import signal

    from iglu_lib.collection.logfile import campaign_logging
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json

    params = CampaignParams.from_file(args.params)
    load_profile(params.profile)  # its sections are checked too, as preflight checks them, before anything starts
    with campaign_logging(params.campaign) as log_path:
        print(f"iglu collect: campaign {params.campaign}, log in {log_path}", file=sys.stderr)
        _preflight_before_spending(params)
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
        return Campaign.open(params)
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
    from iglu_lib.collection.status import campaign_status
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.storage import GameRecords

    params = None
    if args.params:
        from iglu_lib.collection.params import CampaignParams

        params = CampaignParams.from_file(args.params)
    profile = load_profile(args.profile or (params.profile if params else "local"))
    cells: list[tuple[str, tuple[str, ...]]]
    cells, cost = [], None
    if params:
        from iglu_lib.scheduling import Inventory

        inventory = Inventory.from_files(params.path(params.join_codes), params.path(params.agent_instances))
        cells = [(task, combo) for task in inventory.tasks for combo in inventory.combinations(params.k, params.pairs or None)]
        cost = params.cost_per_hit(profile.hit.reward)
    name = args.campaign or (params.campaign if params else None)
    if not name:
        from iglu_lib.errors import IgluError

        raise IgluError("campaign status needs --campaign NAME or --params FILE")
    records = GameRecords.open(profile, name).all()
    status = campaign_status(records, cost_per_hit=cost, cells=cells,
                             max_hits_per_worker=params.max_hits_per_worker if params else 0,
                             spend=_spend(profile, name, params.fee_rate if params else 0),
                             evidence=params.evidence_rules if params else None)
    prolific = params is not None and params.provider == "prolific"
    if prolific and params is not None:
        status["study_on_service"] = _study_on_service(profile, params)
    elif params or args.service:
        status["hits_on_service"] = _service_counts(profile, params, name)
        status["bonuses_on_service"] = _bonuses_on_service(profile, name, records)
    from iglu_lib.collection.adoption import read_status, unaccounted_hits

    status["adoption"] = read_status(profile, name)  # HITs taken in from the service, or expired
    if (params or args.service) and not prolific:
        status["adoption"]["unaccounted_hits"] = unaccounted_hits(profile, params, name)
    if params and params.max_hits_per_worker:
        status["capped_on_service"] = _capped_on_service(profile, params)
    if args.json:
        print_json(status)
        return 0
    for key, value in status.items():
        if key != "cells":
            print(f"{key}: {value['summary'] if key == 'evidence' else value}")
    for cell in status["cells"]:
        print(f"  {cell['task']:40} {cell['combination']:30} {cell['good_hits']}")
    return 0


def _study_on_service(profile: Profile, params: CampaignParams) -> dict[str, Any]:
    """A Prolific campaign's study: status, places, sessions by state, slots by state."""
    from iglu_lib.collection.campaign import open_study_campaign

    status: dict[str, Any] = open_study_campaign(params, profile).service_status()
    return status


def _spend(profile: Profile, name: str, fee_rate: Decimal | str | float) -> Spend:
    """What the campaign's ledger booked, by kind (the fee needs --params)."""
    from iglu_lib.ledger.book import Ledger

    return Ledger.open(profile, name, manager=None).spend(fee_rate)


def _bonuses_on_service(profile: Profile, name: str, records: Sequence[GameRecord]) -> dict[str, Any] | str:
    """The service's own bonus payments for the campaign's HITs, or why they could not be listed."""
    from iglu_lib.collection.status import bonuses_on_service

    try:
        return bonuses_on_service(_mturk(profile, name), records)
    except Exception as err:  # noqa: BLE001 - the records' status is still worth printing
        return f"not listed: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"


def _service_counts(profile: Profile, params: CampaignParams | None, name: str) -> dict[str, int] | str:
    """The campaign's HITs on MTurk by status, or why they could not be listed."""
    from iglu_lib.collection.winddown import account_status, service_status

    try:
        if params is None:
            return account_status(_mturk(profile, name))
        return service_status(_mturk(profile, name, params.hit_type))
    except Exception as err:  # noqa: BLE001 - the records' status is still worth printing
        return f"not listed: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"


def _capped_on_service(profile: Profile, params: CampaignParams) -> int | str:
    """Workers the service keeps out of the campaign at their cap, or why they could not be counted."""
    from iglu_lib.collection.review import cap_holders

    try:
        return cap_holders(_mturk(profile, params.campaign, params.hit_type), params.campaign)
    except Exception as err:  # noqa: BLE001 - the records' status is still worth printing
        return f"not counted: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"


def _mturk(profile: Profile, campaign: str, kind: str = "pairwise") -> AccountCrowd:
    """A campaign's HIT manager, for the status lines only MTurk has (any-type listing, bonuses)."""
    from iglu_lib.providers import CrowdOptions, open_account_crowd

    return open_account_crowd(profile, CrowdOptions(campaign, kind=kind))


def _stop(args: argparse.Namespace) -> int:
    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.collection.winddown import report_lines, request_stop
    from iglu_lib.console import print_json

    params = CampaignParams.from_file(args.params)
    if not args.expire:
        path = request_stop(params.campaign)
        result = {"campaign": params.campaign, "stop_requested": True, "request": str(path)}
        if args.json:
            print_json(result)
        else:
            print(f"campaign {params.campaign}: stop requested ({path}); a running `iglu collect` stops after "
                  "its current step. Add --expire to expire and settle its HITs too.")
        return 0
    from iglu_lib.collection.logfile import campaign_logging

    with campaign_logging(params.campaign, program="iglu campaign stop"):  # what it did goes to collect.log
        report = _wind_down(params, args.delete_settled)
    if args.json:
        print_json(report.as_dict())
    else:
        print("\n".join(report_lines(report)))
    return 0


def _review(args: argparse.Namespace) -> int:
    from iglu_lib.collection.review import Review, ReviewRefused, review_lines
    from iglu_lib.console import print_json

    review = Review.from_file(args.params, allow_spending=args.allow_spending)
    if args.action:
        if not args.worker:
            raise ReviewRefused("--action needs --worker (a raw worker id or pseudonym)")
        result = review.act(args.worker, args.action, args.reason, hit=args.hit, amount=args.amount,
                            force=args.force)
        if args.json:
            print_json(result)
        else:
            print(" ".join(f"{key}={value}" for key, value in result.items() if key != "decision"))
        return 0
    workers = review.workers(args.worker)
    if args.json:
        print_json({"campaign": review.params.campaign, "workers": [w.as_dict() for w in workers]})
    else:
        print("\n".join(review_lines(workers, detail=bool(args.worker))))
    return 0


def _preflight(args: argparse.Namespace) -> int:
    from iglu_lib.collection.preflight import preflight_file
    from iglu_lib.console import print_json

    report = preflight_file(args.params)
    if args.json:
        print_json(report.as_dict())
    else:
        print("\n".join(report.lines()))
    return 0 if report.passed else 2


def _preflight_before_spending(params: CampaignParams) -> None:
    """On a profile that pays outside the local stack, refuse to start unless preflight passes."""
    from iglu_lib.config import load_profile

    profile = load_profile(params.profile)
    if not profile.backend.real_services or not profile.spend_money:
        return
    from iglu_lib.collection.preflight import preflight
    from iglu_lib.errors import CampaignStopped

    report = preflight(params, profile=profile)
    print("\n".join(report.lines()), file=sys.stderr)
    if not report.passed:
        names = ", ".join(check.name for check in report.failures)
        raise CampaignStopped(f"campaign {params.campaign} not started: preflight failed ({names}); fix what "
                              f"the checklist names, then run `iglu campaign preflight --params ...` again")


def _wind_down(params: CampaignParams, delete_settled: bool) -> WindDownReport:
    """`wind_down`, or `CampaignStopped` with a sentence when a service refuses or is down
    (the stop request is written first, so a running loop stops anyway)."""
    from iglu_lib.collection.faults import Fault, classify
    from iglu_lib.collection.winddown import wind_down
    from iglu_lib.errors import CampaignStopped, IgluError

    try:
        return wind_down(params, delete_settled=delete_settled)
    except IgluError:
        raise
    except Exception as err:
        if classify(err) is Fault.UNEXPECTED:
            raise
        raise CampaignStopped(f"campaign {params.campaign}: winding down stopped: {type(err).__name__}: "
                              f"{str(err).splitlines()[0][:300] if str(err) else ''}; the stop request is "
                              "written; when the services answer, run `iglu campaign stop --expire` again "
                              "(every step is safe to repeat)") from err
