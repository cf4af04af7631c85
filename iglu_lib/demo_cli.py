"""`iglu demo`: the full local rehearsal (what `make demo` runs)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="run the whole rehearsal on a fresh local stack, through the notebooks")
    demo.add_argument("--plan", help="stages file (default params/demo.yaml)")
    demo.add_argument("--keep-stack", action="store_true",
                      help="leave the demo's stack running (IGLU_STACK_DIR=outputs/demo/stack) to look around")
    demo.set_defaults(handler=_demo)


#: How a campaign's end reads (`stopped_by` of its summary).
ENDED_BY = {"target": "its target reached", "ranking_confident": "the full order settled at 95%",
            "budget": "its budget spent"}


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from iglu_lib.demo import campaigns_run, demo_dir, final_report, report_path, run_demo

    executed = run_demo(Path(args.plan) if args.plan else None, keep_stack=args.keep_stack)
    campaigns = campaigns_run()
    for campaign in campaigns:
        _print_campaign(final_report(provider=campaign.provider), campaign.provider)
    print("\nexecuted notebooks:")
    for path in executed:
        print(f"  {path}")
    print(f"files (tasks, exports, join codes, records export, analysis): {demo_dir()}")
    if report_path().is_file():
        print(f"the analysis as a page to share (no code): {report_path()}")
    stack_dir = demo_dir() / "stack"
    looks = [f"IGLU_STACK_DIR={stack_dir} iglu campaign status --params {c.params}" for c in campaigns]
    look = "; ".join(looks)
    if args.keep_stack:
        print(f"the demo's stack is still running; e.g. {look}; stop it with IGLU_STACK_DIR={stack_dir} iglu stack down")
    else:
        print(f"to look at the campaigns again: IGLU_STACK_DIR={stack_dir} iglu stack up, then {look}")
    return 0


def _service_line(service: dict[str, Any]) -> str:
    """A Prolific study (status, places, sessions and slots by state) or MTurk's HITs by status."""
    if "study" in service:
        sessions = ", ".join(f"{k} {v}" for k, v in sorted(service.get("sessions", {}).items()))
        slots = ", ".join(f"{k} {v}" for k, v in sorted(service.get("slots", {}).items()))
        return (f"study {service.get('name')} {service.get('status')}, {service.get('places')} places; "
                f"sessions: {sessions or 'none'}; slots: {slots or 'none'}")
    hits = ", ".join(f"{k} {v}" for k, v in sorted(service.get("hits", {}).items()))
    return f"HITs: {hits or 'none listed'}"


def _print_campaign(report: dict[str, Any], provider: str) -> None:
    """One campaign's summary, what was caught, and its ranking beside the truth."""
    campaign = report["campaign"]
    ended = ENDED_BY.get(str(campaign.get("stopped_by")), str(campaign.get("stopped_by")))
    print(f"\ncampaign {campaign['campaign']}: {campaign['good_hits']}/{campaign['target']} good HITs, "
          f"{campaign['paid_hits']} paid, ${campaign['spent']} of ${campaign['budget']}, "
          f"{campaign['blocked_workers']} workers blocked, cells within {report['cell_spread']} of each other "
          f"(on {provider}; ended: {ended})")
    print(f"on the crowd service: {_service_line(report['on_service'])}")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report["games_by_reason"].items())) or "none"
    print(f"games flagged by reason: {reasons}")
    caught = ", ".join(f"{what} {n}" for what, n in report["hostile_caught"].items())
    print(f"hostile submissions caught (games): {caught}")
    print(f"workers the cap keeps out (max_hits_per_worker reached): {report['workers_at_cap']}")
    for decision in report["manual_decisions"]:
        print(f"by hand: {decision.get('action')} of HIT {decision.get('hit_id')} ({decision.get('worker')}): "
              f"{decision.get('outcome')}, reason: {decision.get('reason')}")
    choices = report["choices"]
    if choices:
        print(f"choices in the good HITs: {choices['decisive']} decisive, {choices['ties']} ties "
              f"({choices['tie_good']} both good, {choices['tie_bad']} both bad), "
              f"{choices['no_decision']} without decision; the ranking counts a tie as half a win each")
    print(f"agents ranked by the collected preferences: {' > '.join(report['collected_order']) or report['ranking_problem']}")
    print(f"true order of the simulated agents:         {' > '.join(report['true_order'])}")
