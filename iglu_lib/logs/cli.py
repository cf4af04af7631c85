"""`iglu logs sync|process`: droidlet interaction logs from S3 to one clean table (generated
logs for the local stack: `iglu stack generate-logs`)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    logs = subparsers.add_parser("logs", help="sync droidlet interaction logs from S3 and collate them")
    actions = logs.add_subparsers(dest="logs_command", metavar="ACTION", required=True)

    sync = actions.add_parser("sync", help="mirror the objects under an S3 prefix to a folder, incrementally")
    sync.add_argument("--bucket", help="S3 bucket (default: the profile's s3.logs_bucket)")
    sync.add_argument("--prefix", default="", help="key prefix, e.g. turk_logs/ (default: the whole bucket)")
    sync.add_argument("--dest", required=True, help="folder to mirror into")
    sync.add_argument("--workers", type=int, default=8, help="parallel downloads (default: 8)")
    _common(sync)
    sync.set_defaults(handler=_sync)

    process = actions.add_parser("process", help="collate every NAME.csv of the logs into one table")
    process.add_argument("--src", required=True, help="folder of archives and loose logs (the sync's --dest)")
    process.add_argument("--kind", required=True, help="CSV name without .csv, e.g. nsp_outputs")
    process.add_argument("--out", required=True, help="folder for NAME_<date>.csv, .parquet and _rejects.csv")
    process.add_argument("--date", help="date in the output names (default: today, UTC)")
    process.add_argument("--workers", type=int, help="reading threads (default: one more than cores, at most 4)")
    process.add_argument("--raw", action="store_true",
                         help="write the CSV files as they are, for machine pipelines (default: a cell "
                         "starting with = + - @ tab or CR gets a leading ' so that spreadsheets do not "
                         "run it; the Parquet file is always raw)")
    process.add_argument("--max-ratio", type=float, default=200.0,
                         help="decompression-ratio guard: an archive inflating to more than this many "
                         "times its size is refused as a decompression bomb (default: 200; 0: off)")
    process.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    process.set_defaults(handler=_process)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="local", help="profile to use (default: local)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def _sync(args: argparse.Namespace) -> int:
    from iglu_lib.config import load_profile
    from iglu_lib.console import CommandError, print_json
    from iglu_lib.logs.sync import sync_prefix

    profile = load_profile(args.profile)
    bucket = args.bucket or profile.s3.logs_bucket
    if not bucket:
        raise CommandError(f"no --bucket given and profile '{args.profile}' has no s3.logs_bucket")
    summary = sync_prefix(profile.backend.s3_client(), bucket, args.prefix, args.dest,
                          workers=args.workers, progress=not args.json)
    if args.json:
        print_json(summary)
    else:
        print(f"listed {summary['listed']}, downloaded {summary['downloaded']} "
              f"({summary['bytes']} bytes), skipped {summary['skipped']}, failed {len(summary['failed'])}")
        for failure in summary["failed"]:
            print(f"  failed {failure['key']}: {failure['error']}")
    return 1 if summary["failed"] else 0


def _process(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.logs.process import process_logs

    summary = process_logs(args.src, args.kind, args.out, date=args.date, workers=args.workers,
                           progress=not args.json, raw=args.raw, max_ratio=args.max_ratio)
    if args.json:
        print_json(summary)
        return 0
    print(f"{summary['members_read']} files from {summary['archives']} archives: {summary['rows_in']} rows in, "
          f"{summary['duplicates_removed']} duplicates, {summary['malformed_rows']} malformed, "
          f"{summary['rows_out']} rows out")
    if summary["decompression_bombs"]:
        print(f"  {summary['decompression_bombs']} archive(s) refused as decompression bombs")
    for name, error in summary["bad_archive_errors"].items():
        print(f"  unreadable archive {name}: {error}")
    for kind, path in summary["outputs"].items():
        print(f"  {kind}: {path}")
    return 0
