"""`iglu prolific ...`: look at and steer the profile's Prolific workspace (preflight, balance,
studies, submissions, pause, stop). Heavy work happens in `iglu_lib.prolific.provider`."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from iglu_lib.console import CommandError

if TYPE_CHECKING:
    from iglu_lib.prolific.provider import ProlificProvider


def register(subparsers: argparse._SubParsersAction) -> None:
    prolific = subparsers.add_parser("prolific", help="the profile's Prolific workspace: preflight, studies, submissions")
    commands = prolific.add_subparsers(dest="prolific_command", metavar="SUBCOMMAND")
    prolific.set_defaults(handler=lambda args: _help(prolific))

    preflight = commands.add_parser("preflight", help="token, workspace, project, balance and reward of a study")
    _common(preflight)
    preflight.add_argument("--reward", default="2.00", help="reward per place in dollars (default 2.00)")
    preflight.add_argument("--places", type=int, default=1, help="places of the study (default 1)")
    preflight.add_argument("--minutes", type=int, default=10, help="estimated minutes (default 10)")
    preflight.set_defaults(handler=_preflight)

    balance = commands.add_parser("balance", help="the workspace's available balance in dollars")
    _common(balance)
    balance.set_defaults(handler=_balance)

    studies = commands.add_parser("studies", help="the project's studies (internal name, status, places)")
    _common(studies)
    studies.add_argument("--prefix", default="", help="only internal names starting with this (a campaign's)")
    studies.set_defaults(handler=_studies)

    submissions = commands.add_parser("submissions", help="a study's submissions")
    _common(submissions)
    submissions.add_argument("study_id", metavar="STUDY_ID")
    submissions.set_defaults(handler=_submissions)

    for name, text in (("pause", "pause a study (START resumes it)"), ("stop", "stop a study for good")):
        sub = commands.add_parser(name, help=text)
        _common(sub)
        sub.add_argument("study_id", metavar="STUDY_ID")
        sub.set_defaults(handler=_transition, action=name)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="local", help="profile (default: local)")
    parser.add_argument("--json", action="store_true")


def _provider(args: argparse.Namespace) -> ProlificProvider:
    from iglu_lib.config import load_profile
    from iglu_lib.prolific.provider import ProlificProvider

    return ProlificProvider.open(load_profile(args.profile))


def _preflight(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.providers import WorkSpec

    try:
        reward = Decimal(args.reward)
    except InvalidOperation:
        raise CommandError(f"--reward {args.reward!r} is not an amount of dollars such as 2.00") from None
    spec = WorkSpec("preflight", "preflight", "preflight", "https://example.org", reward, args.places, args.minutes)
    checks = _provider(args).preflight(spec)
    if args.json:
        print_json([{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks])
    else:
        for check in checks:
            print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


def _balance(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json

    available = _provider(args).balance()
    if args.json:
        print_json({"available": str(available)})
    else:
        print(f"${available} available")
    return 0


def _studies(args: argparse.Namespace) -> int:
    rows = [{"id": s.id, "internal_name": s.internal_name, "status": s.status, "places": s.places,
             "places_taken": s.places_taken, "reward": str(s.reward)} for s in _provider(args).studies(args.prefix)]
    _show(args, rows, ["id", "internal_name", "status", "places", "places_taken", "reward"])
    return 0


def _submissions(args: argparse.Namespace) -> int:
    rows = [{"id": s.id, "participant_id": s.participant_id, "status": s.status, "started_at": s.started_at,
             "completed_at": s.completed_at} for s in _provider(args).submissions(args.study_id)]
    _show(args, rows, ["id", "participant_id", "status", "started_at", "completed_at"])
    return 0


def _transition(args: argparse.Namespace) -> int:
    provider = _provider(args)
    study = provider.pause(args.study_id) if args.action == "pause" else provider.stop(args.study_id)
    _show(args, [{"id": study.id, "status": study.status}], ["id", "status"])
    return 0


def _show(args: argparse.Namespace, rows: list[dict[str, Any]], columns: list[str]) -> None:
    from iglu_lib.console import print_json

    if args.json:
        print_json(rows)
        return
    from tabulate import tabulate

    print(tabulate([[row.get(c) for c in columns] for row in rows], headers=columns))
