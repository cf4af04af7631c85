"""`iglu encode-tasks`, `iglu join-codes` and `iglu agents check`.

Handlers import the library when they run, so `iglu --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from iglu_lib.console import CommandError, print_json

if TYPE_CHECKING:
    from iglu_lib.encoding.join_codes import JoinCodeReport


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_encode(subparsers)
    _register_join_codes(subparsers)
    _register_agents(subparsers)


def _register_encode(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "encode-tasks",
        help="encode IGLU tasks into the platform's task JSON, one file per task",
        description="Load IGLU single-turn tasks, choose some, and write one platform task file per task.",
    )
    parser.add_argument("--source", default="sample", help="single-turn dataset folder, or 'sample' (default)")
    parser.add_argument("--csv", default="clarifying_questions_train.csv", help="CSV of the dataset folder")
    parser.add_argument("--select", default="all", help="task ids (comma-separated), a file of ids, or 'all'")
    parser.add_argument("--architect-role-id", required=True, help="the platform's architect role id")
    parser.add_argument("--builder-role-id", required=True, help="the platform's builder role id")
    parser.add_argument("--out", required=True, help="folder for the task files")
    parser.add_argument("--empty-start-copies", action="store_true",
                        help="also write each task from an empty world, without dialogue (<name>-empty-start)")
    parser.add_argument("--max-duration-seconds", type=int, default=3600)
    parser.add_argument("--max-turns", type=int, default=None)
    parser.add_argument("--turn-limit", action="append", default=[], metavar="ROLE=SECONDS",
                        help="longest turn of a role (architect, builder or a role id); repeatable")
    parser.add_argument("--state", default="Published", choices=["Published", "Draft"])
    parser.add_argument("--template", default=None, help="a Jinja2 template to use instead of the packaged one")
    parser.add_argument("--json", action="store_true", help="print {written, skipped, out} as JSON")
    parser.set_defaults(handler=_encode_tasks)


def _register_join_codes(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "join-codes",
        help="build the join-code file from the platform's two exports",
        description="Turn the task-id mapping and join-command exports into one join-code file.",
    )
    parser.add_argument("--task-id-mapping", required=True, help="export one: {taskIdNamesList: [{id, name}]}")
    parser.add_argument("--join-codes", required=True, help="export two: {info, commands}")
    parser.add_argument("--out", required=True, help="join-code file to write")
    parser.add_argument("--agents-out", default=None, help="also write an agent-instances file (one per agent)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_join_codes)


def _register_agents(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("agents", help="agent-instances files")
    commands = parser.add_subparsers(dest="agents_command", metavar="SUBCOMMAND")
    check = commands.add_parser("check", help="validate an agent-instances file and print its instances")
    check.add_argument("file", help="agent-instances JSON file")
    check.add_argument("--json", action="store_true", help="print the instances as JSON")
    check.set_defaults(handler=_agents_check)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _encode_tasks(args: argparse.Namespace) -> int:
    from iglu_lib.encoding.batch import encode_tasks
    from iglu_lib.tasks.selection import select_tasks
    from iglu_lib.tasks.singleturn import load_source

    tasks, report = load_source(args.source, csv_name=args.csv)
    chosen = select_tasks(tasks, args.select)
    result = encode_tasks(
        chosen,
        args.out,
        architect_role_id=args.architect_role_id,
        builder_role_id=args.builder_role_id,
        empty_start_copies=args.empty_start_copies,
        skipped=[{"task": row.game_id, "reason": row.reason} for row in report.skipped],
        task_state=args.state,
        max_duration_seconds=args.max_duration_seconds,
        max_turns=args.max_turns,
        turn_limits=parse_turn_limits(args.turn_limit),
        template=args.template,
    )
    if args.json:
        print_json(result.as_dict())
    else:
        print(f"wrote {len(result.files)} task files to {result.out}; skipped {len(result.skipped)} rows")
        for reason, count in report.reasons().most_common():
            print(f"  {count} skipped: {reason}")
    return 0


def parse_turn_limits(values: list[str]) -> dict[str, int]:
    """`ROLE=SECONDS` pairs as a mapping."""
    limits = {}
    for value in values:
        role, _, seconds = value.partition("=")
        if not role or not seconds.isdigit():
            raise CommandError(f"--turn-limit {value!r}: expected ROLE=SECONDS, e.g. builder=120")
        limits[role] = int(seconds)
    return limits


def _join_codes(args: argparse.Namespace) -> int:
    from iglu_lib.encoding.agents import agent_instances_from_export
    from iglu_lib.encoding.join_codes import join_codes_from_files, write_json_file

    join_codes, report = join_codes_from_files(args.task_id_mapping, args.join_codes)
    if report.usable:
        instances = agent_instances_from_export(report.agents)  # checked before anything is written
        write_json_file(args.out, join_codes)
        if args.agents_out:
            write_json_file(args.agents_out, instances)
    if args.json:
        print_json({**report.as_dict(), "out": args.out if report.usable else None})
    else:
        _print_join_code_report(report, args.out)
    return 0 if report.usable else 1


def _print_join_code_report(report: JoinCodeReport, out: str) -> None:
    stream = sys.stdout if report.usable else sys.stderr
    if report.usable:
        print(f"wrote join codes of {report.tasks} tasks ({len(report.agents)} agents) to {out}", file=stream)
    else:
        print("no task has a usable join code; nothing written", file=stream)
    details = {
        "duplicate_names": list(report.duplicate_names),
        "unknown_task_ids": report.unknown_task_ids,
        "tasks_without_command": report.tasks_without_command,
        "malformed_commands": report.malformed_commands,
        "conflicting_join_codes": list(report.conflicting_join_codes),
    }
    for problem, names in details.items():
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            print(f"  {len(names)} {problem.replace('_', ' ')}: {shown}", file=stream)


def _agents_check(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from iglu_lib.encoding.agents import instances_table, load_agent_instances

    instances = load_agent_instances(args.file)
    if args.json:
        print_json(instances)
    else:
        print(tabulate(instances_table(instances), headers="keys"))
        total = sum(len(entries) for entries in instances.values())
        print(f"{len(instances)} agents, {total} instances, ids unique")
    return 0
