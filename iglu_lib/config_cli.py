"""`iglu config show`: the resolved profile, secrets masked."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    config = subparsers.add_parser("config", help="show the resolved configuration of a profile")
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the resolved profile with secrets masked")
    show.add_argument("--profile", default="local")
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    import yaml

    from iglu_lib.config import load_profile

    print(yaml.safe_dump(load_profile(args.profile).shown(), sort_keys=False), end="")
    return 0
