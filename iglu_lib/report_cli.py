"""`iglu report`: the analysis as one self-contained leaderboard page to share."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="write the leaderboard page: one self-contained HTML file to share",
        description="Analyse an export (default: the bundled IGLU human evaluation) or a campaign's records "
        "and write one HTML file: a headline, the leaderboard with intervals, the next step, figures, "
        "agreement, worker quality, sensitivity views and the full tables as CSV downloads, all embedded.")
    source = report.add_mutually_exclusive_group()
    source.add_argument("--input", help="export file in the published format (default: the bundled real export)")
    source.add_argument("--campaign", help="campaign whose game records to read from storage")
    report.add_argument("--profile", default="local", help="profile for --campaign (default: local)")
    report.add_argument("--summaries", help="CSV of per-game summaries keyed by GameMinecraftId (optional)")
    report.add_argument("--html", required=True, help="the HTML file to write")
    report.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (default 1000)")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from iglu_lib.analysis.share import render_page
    from iglu_lib.console import CommandError

    if args.replicates < 1:
        raise CommandError(f"--replicates must be at least 1, got {args.replicates}")
    path = render_page(args.html, input_file=args.input, campaign=args.campaign, profile_name=args.profile,
                       summaries_file=args.summaries, replicates=args.replicates, seed=args.seed)
    print(f"wrote {path}")
    return 0
