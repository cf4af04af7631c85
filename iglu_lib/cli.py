"""`iglu`: every stage of the workbench from the command line.

Commands live next to the code they drive: each package that offers commands has a
`cli.py` with `register(subparsers)`, or a top-level `<name>_cli.py` when its commands join
packages that may not import each other (packages depend downward only). This module only
finds those modules (the registry below), so adding a command never touches this file beyond
one name. Handlers import their
heavy libraries when they run, which keeps `iglu --help` fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

from iglu_lib.errors import IgluError

#: Packages of `iglu_lib` whose `cli` module adds commands, in the order of a campaign.
COMMAND_PACKAGES = (
    "local",
    "config",
    "params",
    "notebooks",
    "tasks",
    "encoding",
    "mturk",
    "prolific",
    "platform",
    "storage",
    "collection",
    "crowd",
    "logs",
    "analysis",
    "demo",
    "workers",
    "lab",
    "report",
    "scheduling",
)


def _command_modules() -> list[Any]:
    modules = []
    for name in COMMAND_PACKAGES:
        for candidate in (f"iglu_lib.{name}.cli", f"iglu_lib.{name}_cli"):
            if _module_exists(candidate):
                modules.append(importlib.import_module(candidate))
                break
    return modules


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iglu",
        description="iglu-workbench: run human evaluations of IGLU builder agents.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        result = handler(args)
    except KeyboardInterrupt:
        print("iglu: interrupted", file=sys.stderr)
        return 130
    except IgluError as err:
        print(f"iglu {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
