"""`iglu records list|export`: look at a campaign's game records and export them.

A top-level command module (found by `iglu_lib.cli` as `storage_cli`): the export joins
storage and the platform's published format (`iglu_lib.collection.export`), which the
storage package itself never imports."""

from __future__ import annotations

import argparse
from typing import Any

#: Columns `iglu records list` shows (worker ids stay out of listings).
LISTED = (
    "RowKey",
    "Status",
    "Verdict",
    "AgentName",
    "TaskName",
    "HitId",
    "AssignmentId",
    "GameMinecraftId",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    records = subparsers.add_parser("records", help="game records of a campaign (Azure Tables)")
    commands = records.add_subparsers(dest="records_command", metavar="ACTION")
    records.set_defaults(handler=lambda args: _help(records))

    listing = commands.add_parser(
        "list", help="list a campaign's game records, optionally filtered"
    )
    _common(listing)
    listing.add_argument(
        "--status", action="append", default=[], help="only this status (repeatable)"
    )
    listing.add_argument("--hit", help="only the games of this HIT id")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)

    export = commands.add_parser(
        "export", help="write records in the published feedback format (worker ids hashed)"
    )
    _common(export)
    export.add_argument("--out", required=True, help="CSV file to write")
    export.add_argument(
        "--status",
        action="append",
        default=[],
        help="export games in this status (repeatable; default: approved); a game is "
        "exported with its own verdict, so the rejected game of a partial HIT is 'rejected'",
    )
    export.add_argument(
        "--extra-columns", action="store_true", help="also write the workbench's own columns"
    )
    export.add_argument(
        "--raw",
        action="store_true",
        help="write cells as they are, for machine pipelines (default: a cell starting with "
        "= + - @ tab or CR gets a leading ' so that spreadsheets do not run it as a formula)",
    )
    export.add_argument("--json", action="store_true", help="print JSON")
    export.set_defaults(handler=export_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaign", required=True, help="campaign name (the table partition)")
    parser.add_argument("--profile", default="local", help="configuration profile (default: local)")
    parser.add_argument("--table", help="table name (default: the profile's storage.records_table)")


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _records(args: argparse.Namespace) -> Any:
    from iglu_lib.config import load_profile
    from iglu_lib.storage import GameRecords

    return GameRecords.open(load_profile(args.profile), args.campaign, table_name=args.table)


def list_command(args: argparse.Namespace) -> int:
    from collections import Counter

    from iglu_lib.console import print_json
    from iglu_lib.storage import RecordStatus

    statuses = {RecordStatus.parse(s) for s in args.status}
    records = _records(args)
    if args.hit:
        found = [r for r in records.by_hit(args.hit) if not statuses or r.status in statuses]
    else:
        found = records.by_status(*statuses) if statuses else records.all()
    rows = records.dataframe(found)[list(LISTED)].to_dict(orient="records")
    counts = Counter(r.status.value for r in found)
    if args.json:
        print_json(
            {"campaign": records.campaign, "counts": dict(sorted(counts.items())), "records": rows}
        )
        return 0
    from tabulate import tabulate

    if not rows:
        print(f"campaign {records.campaign!r}: no records")
        return 0
    print(tabulate(rows, headers="keys"))
    print(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    return 0


def export_command(args: argparse.Namespace) -> int:
    from iglu_lib.collection.export import export_records, select_games
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.storage import GameRecords

    profile = load_profile(args.profile)
    records = GameRecords.open(profile, args.campaign, table_name=args.table)
    statuses = args.status or ["approved"]
    # per game: a game rejected inside a paid (`partial`) HIT exports as rejected
    found = select_games(records, statuses)
    path = export_records(
        found,
        args.out,
        salt=profile.backend.worker_id_salt(),
        extra_columns=args.extra_columns,
        raw=args.raw,
    )
    summary = {
        "campaign": records.campaign,
        "statuses": statuses,
        "path": str(path),
        "rows": len(found),
    }
    if args.json:
        print_json(summary)
    else:
        print(f"wrote {summary['rows']} game records of {records.campaign!r} to {path}")
    return 0
