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
import json
import sys
from collections.abc import Sequence
from typing import Any

#: Packages of `iglu_lib` whose `cli` module adds commands, in the order of a campaign.
COMMAND_PACKAGES = (
    "local",
    "config",
    "notebooks",
    "tasks",
    "encoding",
    "mturk",
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


class CommandError(Exception):
    """A command failed for a reason the user can act on; printed as one line, exit 2."""


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


def print_json(value: Any) -> None:
    """Print one JSON document (the `--json` output of every command)."""
    print(json.dumps(value, indent=2, default=str))


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
    except Exception as err:  # noqa: BLE001 - one clear line for errors the user can act on
        if not _is_user_error(err):
            raise
        print(f"iglu {args.command}: {err}", file=sys.stderr)
        return int(getattr(err, "exit_code", 2))
    return int(result or 0)


def _is_user_error(err: Exception) -> bool:
    from iglu_lib.config import ConfigError
    from iglu_lib.local.services import StackError

    user_errors: tuple[type[Exception], ...] = (CommandError, ConfigError, StackError, FileNotFoundError)
    return isinstance(err, user_errors) or getattr(err, "user_error", False)


if __name__ == "__main__":
    # Under `python -m iglu_lib.cli` this module runs as __main__: dispatch through the package's
    # own copy so that handlers raising `iglu_lib.cli.CommandError` are recognised.
    from iglu_lib.cli import main as package_main

    sys.exit(package_main())
