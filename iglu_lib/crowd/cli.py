"""`iglu crowd ...`: validate, serve, launch, follow and review static crowd tasks, and check
onboarding answers. Heavy libraries are imported inside the handlers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from iglu_lib.console import CommandError

if TYPE_CHECKING:
    from iglu_lib.crowd.onboarding import OnboardingRules
    from iglu_lib.crowd.server import CampaignPages, TaskServer
    from iglu_lib.crowd.session import TaskRun


def register(subparsers: argparse._SubParsersAction) -> None:
    crowd = subparsers.add_parser("crowd", help="static HTML crowd tasks with onboarding (droidlet kind)")
    commands = crowd.add_subparsers(dest="crowd_command", metavar="SUBCOMMAND")
    crowd.set_defaults(handler=lambda args: _help(crowd))

    check = commands.add_parser("check-onboarding", help="judge an onboarding answer (one command per line)")
    check.add_argument("--answer-file", required=True, help="text file with the worker's answer")
    _rule_options(check)
    check.add_argument("--json", action="store_true", help='print {"passed", "reasons", "commands"}')
    check.set_defaults(handler=_check_onboarding)

    validate = commands.add_parser("validate", help="load a task folder and list every problem")
    _task_options(validate, profile=False)
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=_validate)

    serve = commands.add_parser(
        "serve", help="run the task server in the foreground (SIGTERM or Ctrl-C stops it); "
        "without TASK_DIR it serves only the pages of external-mode campaign HITs")
    serve.add_argument("task_dir", metavar="TASK_DIR", nargs="?", help="task folder (conf/, server_files/, data.csv)")
    serve.add_argument("--conf", help="configuration name in TASK_DIR/conf/ (without .yaml); needed with TASK_DIR")
    serve.add_argument("--profile", default="local", help="profile (default: local)")
    serve.add_argument("--db", help="SQLite records (default: outputs/crowd/<task name>.sqlite)")
    _provider_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one, printed)")
    _rule_options(serve)
    serve.set_defaults(handler=_serve)

    launch = commands.add_parser("launch", help="create one ExternalQuestion HIT per unit of a task run")
    _task_options(launch)
    launch.add_argument("--task-run", help="task run id (default: the newest run of the task)")
    launch.add_argument("--public-url", help="address workers reach the task server at (default: the run's server)")
    launch.add_argument("--spend-money", action="store_true", help="allow paying on a profile with spend_money: false")
    launch.add_argument("--estimated-minutes", type=int,
                        help="Prolific: minutes the task takes (shown to participants; the reward must reach the hourly minimum)")
    launch.add_argument("--json", action="store_true")
    launch.set_defaults(handler=_launch)

    for name, handler, text in (
        ("status", _status, "each unit's HIT and assignments on the crowd platform"),
        ("review", _review, "approve work the server recorded, reject work it never received"),
    ):
        sub = commands.add_parser(name, help=text)
        _task_options(sub)
        sub.add_argument("--task-run", help="task run id (default: the newest run of the task)")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(handler=handler)
        if name == "review":
            sub.add_argument("--spend-money", action="store_true", help="allow paying on a profile with spend_money: false")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _task_options(parser: argparse.ArgumentParser, profile: bool = True) -> None:
    parser.add_argument("task_dir", metavar="TASK_DIR", help="task folder (conf/, server_files/, data.csv)")
    parser.add_argument("--conf", required=True, help="configuration name in TASK_DIR/conf/ (without .yaml)")
    if profile:
        parser.add_argument("--profile", default="local", help="profile (default: local)")
        parser.add_argument("--db", help="SQLite records (default: outputs/crowd/<task name>.sqlite)")
        _provider_option(parser)


def _provider_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", choices=("mturk", "prolific"), default="mturk",
                        help="crowd: mturk (one HIT per unit, default) or prolific (one study per unit)")


def _rule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-commands", type=int, default=3, help="fewest commands to pass (default 3)")
    parser.add_argument("--min-average-words", type=float, default=2.0, help="fewest words per command on average (default 2)")


def _rules(args: argparse.Namespace) -> OnboardingRules:
    from iglu_lib.crowd.onboarding import OnboardingRules

    return OnboardingRules(args.min_commands, args.min_average_words)


def _check_onboarding(args: argparse.Namespace) -> int:
    from pathlib import Path

    from iglu_lib.console import print_json
    from iglu_lib.crowd.onboarding import REASON_TEXT, check_onboarding

    path = Path(args.answer_file)
    if not path.is_file():
        raise CommandError(f"{path}: answer file not found; give a text file with one command per line")
    try:
        answer = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text; save the answer as UTF-8") from None
    result = check_onboarding(answer, _rules(args))
    if args.json:
        print_json(result.as_dict())
    else:
        verdict = "passed" if result.passed else "failed: " + "; ".join(REASON_TEXT[r] + f" ({r})" for r in result.reasons)
        print(f"{result.commands} commands, {verdict}")
    return 0 if result.passed else 1


def _validate(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.crowd.task import load_task

    task = load_task(args.task_dir, args.conf)
    summary: dict[str, Any] = {"task_name": task.name, "units": len(task.units), "onboarding": task.config.has_onboarding,
               "columns": list(task.units[0].values)}
    if args.json:
        print_json(summary)
    else:
        print(f"{task.name}: {summary['units']} units, columns {', '.join(summary['columns'])}, "
              f"onboarding {'on' if summary['onboarding'] else 'off'}")
    return 0


def _open(args: argparse.Namespace) -> TaskRun:
    from iglu_lib.config import load_profile
    from iglu_lib.crowd.session import open_task_run

    return open_task_run(args.task_dir, args.conf, load_profile(args.profile), args.db, provider=args.provider,
                         estimated_minutes=getattr(args, "estimated_minutes", None))


def _serve(args: argparse.Namespace) -> int:
    if args.task_dir is None:
        server, pages = _hit_pages_server(args)
        print(f"serving the pages of external-mode campaign HITs from {pages.store.path}; "
              "SIGTERM or Ctrl-C stops", flush=True)
    else:
        if not args.conf:
            raise CommandError("--conf is required with TASK_DIR (a configuration name in TASK_DIR/conf/)")
        run = _open(args)
        server = run.make_server(host=args.host, port=args.port, rules=_rules(args))
        print(f"task run {server.task_run_id}: serving '{run.task.name}' ({len(run.task.units)} units); "
              f"records in {run.db.path}; SIGTERM or Ctrl-C stops", flush=True)
    server.serve_forever(announce=lambda url: print(f"task server at {url}", flush=True))
    print("task server stopped", flush=True)
    return 0


def _hit_pages_server(args: argparse.Namespace) -> tuple[TaskServer, CampaignPages]:
    """The server of campaign HIT pages (and Prolific study pages), and the pages it serves."""
    from iglu_lib.config import load_profile
    from iglu_lib.crowd.server import TaskServer
    from iglu_lib.crowd.session import campaign_pages
    from iglu_lib.crowd.study_pages import study_pages
    from iglu_lib.errors import IgluError

    profile = load_profile(args.profile)
    try:
        studies = study_pages(profile)  # Prolific campaigns' `/study` (needs the profile's Prolific token)
    except IgluError as err:
        print(f"no study pages for Prolific campaigns: {err}", flush=True)
        studies = None
    pages = campaign_pages(profile)
    return TaskServer(None, None, host=args.host, port=args.port, campaign_pages=pages, study_pages=studies), pages


def _launch(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json

    run = _open(args)
    launched = run.launch(args.task_run, args.public_url, allow_spending=args.spend_money)
    if args.json:
        print_json({"task_run_id": run.run_id(args.task_run), "launched": launched})
    else:
        for hit in launched:
            print(f"unit {hit['unit_id']}: HIT {hit['hit_id']} -> {hit['url']}")
        print(f"{len(launched)} HITs created")
    return 0


def _status(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json

    run = _open(args)
    rows = run.provider.status(run.run_id(args.task_run))
    if args.json:
        print_json(rows)
    else:
        _table(rows, ["unit_id", "hit_id", "hit_status", "available", "pending", "completed"])
    return 0


def _review(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json

    run = _open(args)
    decisions = run.review(args.task_run, allow_spending=args.spend_money)
    if args.json:
        print_json(decisions)
    else:
        _table(decisions, ["unit_id", "assignment_id", "worker_id", "decision", "reason"])
        print(f"{len(decisions)} assignments settled")
    return 0


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    from tabulate import tabulate

    print(tabulate([[row.get(c) for c in columns] for row in rows], headers=columns))
