"""`iglu tasks list`: the tasks of a single-turn dataset folder (or the bundled sample).

The handler imports the library when it runs, so `iglu --help` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from iglu_lib.console import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tasks", help="IGLU tasks: list a dataset or the bundled sample")
    commands = parser.add_subparsers(dest="tasks_command", metavar="SUBCOMMAND")
    listing = commands.add_parser("list", help="list tasks with their sizes and the rows skipped")
    listing.add_argument("--source", default="sample", help="single-turn dataset folder, or 'sample' (default)")
    listing.add_argument("--csv", default="clarifying_questions_train.csv", help="CSV of the dataset folder")
    listing.add_argument("--select", default="all", help="task ids (comma-separated), a file of ids, or 'all'")
    listing.add_argument("--json", action="store_true", help="print {tasks, report} as JSON")
    listing.set_defaults(handler=_list_tasks)
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)


def _list_tasks(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from iglu_lib.tasks.metrics import structure_f1
    from iglu_lib.tasks.selection import select_tasks
    from iglu_lib.tasks.singleturn import load_source

    loaded, report = load_source(args.source, csv_name=args.csv)
    rows: list[dict[str, Any]] = [
        {"task": t.task_id, "start_blocks": len(t.starting_grid), "target_blocks": len(t.target_blocks),
         "start_f1": round(structure_f1(t.starting_grid, t.target_grid), 3), "last_instruction": t.last_instruction}
        for t in select_tasks(loaded, args.select)
    ]
    if args.json:
        print_json({"tasks": rows, "report": report.as_dict()})
        return 0
    print(tabulate([{**r, "last_instruction": r["last_instruction"][:60]} for r in rows], headers="keys"))
    print(f"{len(rows)} tasks; {len(report.skipped)} of {report.rows} rows skipped")
    for reason, count in report.reasons().most_common():
        print(f"  {count} skipped: {reason}")
    return 0
