"""`iglu mturk ...`: the MTurk operations a researcher does by hand.

balance, hits, assignments, approve, reject, block (and unblock) and qualify, each against the
profile given with `--profile` (local by default, so nothing is paid by accident); and preview,
which writes the page a campaign's HITs would show, from its parameters, to look at.

A top-level command module (found by `iglu_lib.cli` as `mturk_cli`): preview reads a
campaign's parameters (`iglu_lib.collection.params`), which the mturk package never imports.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iglu_lib.ledger.book import Ledger
    from iglu_lib.mturk.manager import HitManager


def register(subparsers: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", default="local", help="profile to use (default: local)")
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    tagged = argparse.ArgumentParser(add_help=False)
    tagged.add_argument("--type", default="pairwise", dest="hit_type",
                        help="HIT type tag: single, pairwise, multi or a custom tag (default: pairwise)")
    tagged.add_argument("--campaign", default="default", help="campaign tag (default: default)")

    mturk = subparsers.add_parser("mturk", help="MTurk by hand: balance, HITs, assignments, review, qualify")
    actions = mturk.add_subparsers(dest="mturk_command", metavar="ACTION", required=True)

    balance = actions.add_parser("balance", parents=[common], help="the account's available balance")
    balance.set_defaults(handler=_balance)

    hits = actions.add_parser("hits", parents=[common, tagged], help="HITs of a type and campaign")
    hits.add_argument("--reviewable", action="store_true", help="only HITs ready for review")
    hits.add_argument("--open", action="store_true", help="only HITs workers can still take or work on")
    hits.set_defaults(handler=_hits)

    assignments = actions.add_parser("assignments", parents=[common, tagged],
                                     help="a HIT's assignments with their answers")
    assignments.add_argument("hit_id")
    assignments.add_argument("--status", action="append", choices=["Submitted", "Approved", "Rejected"],
                             help="statuses to list (repeatable; default: Submitted)")
    assignments.add_argument("--agents", type=int, default=2, help="games per HIT (for missing-field checks)")
    assignments.set_defaults(handler=_assignments)

    approve = actions.add_parser("approve", parents=[common], help="approve (and pay) an assignment")
    approve.add_argument("assignment_id")
    approve.add_argument("--feedback", help="message to the worker")
    approve.add_argument("--override-rejection", action="store_true", help="approve a rejected assignment")
    approve.add_argument("--allow-spending", action="store_true", help="needed where the profile pays real money")
    approve.set_defaults(handler=_approve)

    reject = actions.add_parser("reject", parents=[common], help="reject an assignment with a reason")
    reject.add_argument("assignment_id")
    reject.add_argument("--reason", required=True, help="what the worker reads")
    reject.set_defaults(handler=_reject)

    block = actions.add_parser("block", parents=[common], help="block (or --undo: unblock) a worker")
    block.add_argument("worker_id")
    block.add_argument("--reason", required=True, help="why (kept by MTurk)")
    block.add_argument("--undo", action="store_true", help="remove the block instead")
    block.set_defaults(handler=_block)

    qualify = actions.add_parser("qualify", parents=[common],
                                 help="create a qualification type with a test and answer key")
    qualify.add_argument("--name", required=True)
    qualify.add_argument("--description", required=True)
    qualify.add_argument("--test", required=True, help="QuestionForm XML file")
    qualify.add_argument("--answer-key", required=True, help="AnswerKey XML file")
    qualify.add_argument("--keywords", default="")
    qualify.add_argument("--duration", type=int, default=600, help="seconds a worker has for the test")
    qualify.add_argument("--retry-delay", type=int, help="seconds before a worker may retake the test")
    qualify.add_argument("--consent-question", default="consent",
                         help="QuestionIdentifier of the consent question (default: consent)")
    qualify.add_argument("--no-consent", action="store_true",
                         help="the test asks no consent (consent was collected elsewhere)")
    qualify.set_defaults(handler=_qualify)

    preview = actions.add_parser("preview", help="write the HIT page of a campaign (sample join codes) to a file")
    preview.add_argument("--params", required=True, help="campaign parameters (YAML)")
    preview.add_argument("--out", required=True, help="HTML file to write")
    preview.add_argument("--json", action="store_true", help="print the result as JSON")
    preview.set_defaults(handler=_preview)


def _manager(args: argparse.Namespace) -> Any:
    from iglu_lib.config import load_profile
    from iglu_lib.mturk.manager import HitManager

    return HitManager.open(
        load_profile(args.profile),
        hit_type=getattr(args, "hit_type", "pairwise"),
        campaign=getattr(args, "campaign", "default"),
        allow_spending=getattr(args, "allow_spending", False),
    )


def _emit(args: argparse.Namespace, value: Any, text: str) -> int:
    from iglu_lib.console import print_json

    if args.json:
        print_json(value)
    else:
        print(text)
    return 0


def _balance(args: argparse.Namespace) -> int:
    balance = _manager(args).balance()
    return _emit(args, {"available_balance": balance}, f"available balance: ${balance}")


def _hits(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    manager = _manager(args)
    if args.reviewable:
        hits = manager.reviewable_hits()
    elif args.open:
        hits = manager.open_hits()
    else:
        hits = list(manager.hits())
    rows = [
        {"hit_id": h.hit_id, "status": h.status, "available": h.available, "pending": h.pending,
         "completed": h.completed, "expiration": h.expiration, "token": h.annotation.token}
        for h in hits
    ]
    table = tabulate(rows, headers="keys") if rows else "no HITs of this type and campaign"
    return _emit(args, rows, table)


def _assignments(args: argparse.Namespace) -> int:
    from iglu_lib.mturk.review import assignment_row

    manager = _manager(args)
    found = manager.assignments(args.hit_id, tuple(args.status or ["Submitted"]), agents=args.agents)
    rows = [assignment_row(a) for a in found]
    lines = [
        f"{r['assignment_id']}  worker {r['worker_id']}  {r['status']}"
        + "".join(f"\n    {k}: {v}" for k, v in r.items() if k not in ("assignment_id", "worker_id", "status"))
        for r in rows
    ]
    return _emit(args, rows, "\n".join(lines) or f"no assignments of HIT {args.hit_id} with those statuses")


def _approve(args: argparse.Namespace) -> int:
    return _decide(args, "approve", args.feedback or "")


def _reject(args: argparse.Namespace) -> int:
    return _decide(args, "reject", args.reason)


def _decide(args: argparse.Namespace, action: str, reason: str) -> int:
    """Approve or reject one assignment through the ledger of its HIT's campaign (the `unfiled`
    partition for a HIT the workbench did not make), so a campaign's spend counts it and a
    repeat, here or from `iglu campaign review`, does nothing twice."""
    from iglu_lib.console import CommandError
    from iglu_lib.mturk.review import Decision, act_on_assignments

    manager = _manager(args)
    if action == "approve" and not (manager.spend_money or manager.allow_spending):
        raise CommandError(f"approving spends real money and profile '{manager.profile_name}' has "
                           "spend_money: false; pass --allow-spending to do it on purpose")
    assignment = manager.get_assignment(args.assignment_id)
    if action == "approve" and assignment.status == "Rejected" and not args.override_rejection:
        raise CommandError(f"assignment {args.assignment_id} was rejected; add --override-rejection to approve it")
    ledger = _ledger(args, manager, assignment.hit_id)
    [result] = act_on_assignments(manager, [Decision(args.assignment_id, action, reason)], ledger=ledger)
    if result["outcome"].startswith("error"):
        raise CommandError(f"assignment {args.assignment_id}: {result['outcome']}")
    done = {"approve": "approved", "reject": "rejected"}[action]
    return _emit(args, {done: args.assignment_id, "outcome": result["outcome"], "campaign": ledger.campaign},
                 f"{done} {args.assignment_id} ({result['outcome']}; booked in campaign {ledger.campaign})")


def _ledger(args: argparse.Namespace, manager: HitManager, hit_id: str) -> Ledger:
    from iglu_lib.config import load_profile
    from iglu_lib.ledger.book import Ledger
    from iglu_lib.workers.actions import campaign_of

    return Ledger.open(load_profile(args.profile), campaign_of(manager, hit_id), manager, source="mturk")


def _block(args: argparse.Namespace) -> int:
    """Block (booked in the ledger's `unfiled` partition: a block is the worker's, not one
    campaign's) or unblock a worker."""
    from iglu_lib.ledger.book import Kind

    manager = _manager(args)
    if args.undo:
        manager.unblock(args.worker_id, args.reason)
        return _emit(args, {"unblocked": args.worker_id}, f"unblocked {args.worker_id}")
    ledger = _ledger(args, manager, "")
    ledger.block(Kind.HARD_BLOCK, worker_id=args.worker_id, reason=args.reason,
                 call=lambda: manager.block(args.worker_id, args.reason))
    return _emit(args, {"blocked": args.worker_id}, f"blocked {args.worker_id}")


def _qualify(args: argparse.Namespace) -> int:
    from iglu_lib.mturk.qualifications import QualificationTest, create_qualification_type

    test = QualificationTest.from_files(
        args.name, args.description, args.test, args.answer_key,
        keywords=args.keywords, test_duration_seconds=args.duration, retry_delay_seconds=args.retry_delay,
        consent_question=None if args.no_consent else args.consent_question,
    )
    type_id = create_qualification_type(_manager(args), test)
    return _emit(args, {"qualification_type_id": type_id}, f"qualification type {type_id} ({args.name})")


def _preview(args: argparse.Namespace) -> int:
    """Render one page as a worker who accepted would see it (sample join codes), and list what
    the page lacks; exits 1 when something is missing, so a script can check a template."""
    from pathlib import Path

    from iglu_lib.collection.params import CampaignParams
    from iglu_lib.pages.templates import check_template, render_folder, render_hit, sample_variables

    params = CampaignParams.from_file(args.params)
    variables = {**params.page_variables, **sample_variables(params.k)}
    if params.hit_template:
        folder = params.path(params.hit_template)  # relative to the project root, as the loop reads it
        page = render_folder(folder, params.hit_type, variables)
        missing = check_template(folder, params.hit_type, params.k, params.page_variables)
    else:
        page, missing = render_hit(params.hit_type, variables), []
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    template = params.hit_template or "package templates"
    lines = [f"wrote {out} ({params.hit_type}, {params.k} game(s), {template}); open it with "
             "?assignmentId=preview after the file name to see the work view"]
    lines += [f"missing: {item}" for item in missing]
    _emit(args, {"out": str(out), "template": template, "missing": missing}, "\n".join(lines))
    return 1 if missing else 0
