"""`iglu params reference`: the parameter reference (docs/parameters.md) from the parameter models."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    params = subparsers.add_parser("params", help="the parameter models: write or check their reference page")
    actions = params.add_subparsers(dest="params_command", metavar="ACTION", required=True)
    reference = actions.add_parser("reference", help="write docs/parameters.md from the models")
    reference.add_argument("-o", "--output", help="where to write it (default docs/parameters.md)")
    reference.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 when the page differs from what the models say")
    reference.set_defaults(handler=_reference)


def _reference(args: argparse.Namespace) -> int:
    from pathlib import Path

    from iglu_lib.param_reference import default_path, reference, write

    target = Path(args.output) if args.output else default_path()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != reference():
            print(f"{target} is out of date: run `iglu params reference`")
            return 1
        print(f"{target} is up to date")
        return 0
    print(f"wrote {write(target)}")
    return 0
