"""`iglu workers notify|bonus`: message or pay one worker by hand.

The worker is given raw (`A1B2...`) or as the export's pseudonym (`worker-<16 hex>`). Bonuses
spend money: a profile with `spend_money: false` (production) refuses without
`--allow-spending`. The local profile is the default, so nothing is sent or paid by accident.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", default="local", help="profile to use (default: local)")
    common.add_argument("--json", action="store_true", help="print the result as JSON")

    workers = subparsers.add_parser("workers", help="message or pay a worker by hand (raw id or pseudonym)")
    actions = workers.add_subparsers(dest="workers_command", metavar="ACTION", required=True)

    notify = actions.add_parser("notify", parents=[common], help="send a worker a message (NotifyWorkers)")
    notify.add_argument("--worker", action="append", required=True, metavar="W",
                        help="raw worker id or pseudonym (repeatable, up to 100)")
    notify.add_argument("--subject", required=True, help="at most 200 characters")
    notify.add_argument("--message", required=True, help="at most 4096 characters")
    notify.add_argument("--campaign", help="look pseudonyms up in this campaign's game records first")
    notify.set_defaults(handler=_notify)

    bonus = actions.add_parser("bonus", parents=[common], help="pay a worker a bonus for an assignment (SendBonus)")
    bonus.add_argument("--worker", required=True, metavar="W", help="raw worker id or pseudonym of the assignment's worker")
    bonus.add_argument("--assignment", required=True, help="the assignment the bonus is for")
    bonus.add_argument("--amount", required=True, help="dollars and cents, e.g. 0.50")
    bonus.add_argument("--reason", required=True, help="what the worker reads")
    bonus.add_argument("--token", help="the service request's idempotency token (default: the ledger's key of "
                                       "assignment, amount and reason; the ledger, not the token, keeps it paid once)")
    bonus.add_argument("--allow-spending", action="store_true", help="needed where the profile pays real money")
    bonus.set_defaults(handler=_bonus)


def _notify(args: argparse.Namespace) -> int:
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.workers import actions

    result = actions.notify(load_profile(args.profile), args.worker, args.subject, args.message,
                            campaign=args.campaign)
    if args.json:
        print_json(result)
    else:
        for shown in result["sent"]:
            print(f"sent to {shown}")
        for failure in result["failed"]:
            print(f"not sent to {failure['worker']}: {failure['code']}: {failure['reason']}")
    return 1 if result["failed"] else 0


def _bonus(args: argparse.Namespace) -> int:
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.workers import actions

    result = actions.bonus(load_profile(args.profile), args.worker, args.assignment, args.amount, args.reason,
                           token=args.token, allow_spending=args.allow_spending)
    if args.json:
        print_json(result)
    elif result["paid_now"]:
        print(f"paid {result['amount']} to {result['worker']} for assignment {result['assignment_id']}")
    else:
        print(f"already paid: the ledger of campaign {result['campaign']} has this bonus for assignment "
              f"{result['assignment_id']} (nothing paid again)")
    return 0
