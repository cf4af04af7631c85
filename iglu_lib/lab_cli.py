"""`iglu lab`: JupyterLab on the notebooks (what `make lab` runs)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    lab = subparsers.add_parser(
        "lab", help="start JupyterLab on notebooks/ (the local stack first, for the local profile)",
        description="Start JupyterLab on notebooks/ with a fresh token on a free loopback port and "
        "print the URL to open; with the local profile the local stack is brought up first "
        "(and stopped again on exit if this command started it).")
    lab.add_argument("--profile", default="local", help="profile the notebooks use (default: local)")
    lab.add_argument("--port", type=int, help="port (default: a free one)")
    lab.add_argument("--root-dir", help="folder JupyterLab shows (default: notebooks/)")
    lab.set_defaults(handler=_lab)


def _lab(args: argparse.Namespace) -> int:
    from pathlib import Path

    from iglu_lib.lab import run_lab

    return run_lab(args.profile, Path(args.root_dir) if args.root_dir else None, args.port)
