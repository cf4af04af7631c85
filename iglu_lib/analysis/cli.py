"""`iglu analyze`: preferences, rankings with uncertainty and quality tables from an export
or a campaign's records, as CSV, Markdown and PNG files (and JSON on stdout)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from iglu_lib.analysis.report import Analysis


def register(subparsers: argparse._SubParsersAction) -> None:
    analyze = subparsers.add_parser(
        "analyze",
        help="analyse pairwise human evaluations: preferences, Bradley-Terry ranking, quality",
        description="Analyse an export in the published format (default: the bundled IGLU human "
        "evaluation) or a campaign's game records; writes tables (CSV, Markdown) and plots (PNG).",
    )
    source = analyze.add_mutually_exclusive_group()
    source.add_argument("--input", help="export file in the published format (default: the bundled real export)")
    source.add_argument("--campaign", help="campaign whose game records to read from storage")
    analyze.add_argument("--profile", default="local", help="profile for --campaign (default: local)")
    analyze.add_argument("--summaries", help="CSV of per-game summaries keyed by GameMinecraftId (optional)")
    analyze.add_argument("--out", required=True, help="folder for the tables and plots")
    analyze.add_argument("--agents", nargs="+", help="agents under evaluation (others are excluded as unknown)")
    analyze.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (default 1000)")
    analyze.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    analyze.add_argument("--leave-out-ties", action="store_true",
                         help="leave tie HITs out of the fits (default: a tie counts as half a win for "
                         "each agent, Arena's convention); ties are still counted")
    analyze.add_argument("--json", action="store_true", help="print counts, per-agent figures, the ranking, "
                         "agreement (Krippendorff's alpha), the judge test and the unsettled pairs")
    analyze.add_argument("--follow-up", metavar="F",
                         help="write a campaign parameter file F for an adaptive follow-up of the unsettled pairs "
                         "(run it with `iglu collect --params F`)")
    analyze.add_argument("--follow-up-from", metavar="PARAMS",
                         help="the campaign parameter file the follow-up starts from (join codes, instances, "
                         "validation; default: params/campaigns/demo-adaptive.yaml)")
    analyze.add_argument("--latex", metavar="DIR",
                         help="also write the leaderboard and sensitivity tables as LaTeX and Markdown and the "
                         "figures as vector PDF and 300-dpi PNG into DIR, for a paper")
    analyze.add_argument("--raw", action="store_true",
                         help="write the CSV tables as they are, for machine pipelines (default: text "
                         "cells starting with = + - @ tab or CR get a leading ' for spreadsheets)")
    analyze.set_defaults(handler=_analyze)


def _analyze(args: argparse.Namespace) -> int:
    from pathlib import Path

    from iglu_lib.analysis.loading import load_input
    from iglu_lib.analysis.report import analyze, write_outputs
    from iglu_lib.console import CommandError, print_json

    if args.replicates < 1:
        raise CommandError(f"--replicates must be at least 1, got {args.replicates}")
    games = load_input(args.input, campaign=args.campaign, profile_name=args.profile,
                       summaries_file=args.summaries, root=Path.cwd())
    analysis = analyze(games, agents=args.agents, replicates=args.replicates, seed=args.seed,
                       ties=not args.leave_out_ties)
    written = write_outputs(analysis, args.out, raw=args.raw)
    extra: dict[str, str] = {}
    if args.latex:
        from iglu_lib.analysis.paper import write_paper_files

        written += write_paper_files(analysis, args.latex)
        extra["paper"] = str(args.latex)
    if args.follow_up:
        extra["follow_up"] = str(_follow_up(analysis, args))
    if args.json:
        print_json({**analysis.summary(), "outputs": str(args.out), **extra})
    else:
        _print_overview(analysis, len(written), args.out)
        if "follow_up" in extra:
            print(f"wrote the follow-up parameters {extra['follow_up']}: iglu collect --params {extra['follow_up']}")
    return 0


def workers_line(workers: dict[str, int]) -> str:
    """How many workers the ranking rests on, for a person."""
    if not workers["hits"]:
        return "the ranking rests on no judgement"
    if workers["hits_without_worker"] == workers["hits"]:
        return f"the ranking rests on {workers['hits']} HITs whose workers the input does not name"
    unnamed = workers["hits_without_worker"]
    return (f"the ranking rests on {workers['workers']} worker{'s' if workers['workers'] != 1 else ''} "
            f"({workers['hits']} HITs, at most {workers['most_hits_by_one_worker']} by one worker"
            + (f", {unnamed} without a worker id" if unnamed else "") + ")")


def _follow_up(analysis: Analysis, args: argparse.Namespace) -> Path:
    from pathlib import Path

    from iglu_lib.analysis.follow_up import FollowUpError, write_follow_up

    if analysis.next_step is None:
        raise FollowUpError(f"no follow-up: {analysis.next_step_note}")
    counts = analysis.comparisons.counts()
    share = int(counts["decisive"]) / max(int(counts["complete_comparisons"]), 1)  # type: ignore[call-overload]
    return write_follow_up(args.follow_up, analysis.next_step, decisive_share=share,
                           base_file=args.follow_up_from, campaign=args.campaign, root=Path.cwd())


def _print_overview(analysis: Analysis, files: int, out: str) -> None:
    """A few lines for a person at a terminal (the JSON is for scripts)."""
    counts = analysis.comparisons.counts()
    print(f"{counts['hits']} HITs, {counts['complete_comparisons']} complete comparisons "
          f"({counts['decisive']} decisive, {counts['ties']} ties: {counts['ties_both_good']} both good, "
          f"{counts['ties_both_bad']} both bad, {counts['no_decision']} without decision)")
    if counts["ties"]:
        print(f"  ties {'count as half a win each' if analysis.ties_in_fit else 'are left out of the fit'}")
    print(f"  {workers_line(analysis.workers())}")
    if analysis.ranking.problem:
        print(f"  no ranking: {analysis.ranking.problem}")
    else:
        for row in analysis.ranking.table.itertuples():
            print(f"  {row.rank}. {row.agent}: strength {row.strength:+.3f} "
                  f"[{row.strength_low:+.3f}, {row.strength_high:+.3f}], P(best) {row.p_best:.2f}")
    if analysis.alpha is not None:
        alpha = analysis.alpha
        print(f"  Krippendorff's alpha {alpha.alpha:.2f} [{alpha.low:.2f}, {alpha.high:.2f}] over {alpha.units} "
              "repeated units" if alpha.note is None else f"  Krippendorff's alpha: {alpha.note}")
    step = analysis.next_step
    for pair in step.pairs if step is not None else []:
        needed = pair.needed if pair.needed is not None else f"more than {step.cap if step else ''}"
        print(f"  not settled: {pair.leader} > {pair.other}; about {needed} more decisive comparisons")
    print(f"wrote {files} files to {out}")
