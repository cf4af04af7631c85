"""`iglu demo`: the full local rehearsal (what `make demo` runs)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="run the whole rehearsal on the local stack, through the notebooks")
    demo.add_argument("--plan", help="stages file (default params/demo.yaml)")
    demo.add_argument("--keep-stack", action="store_true", help="leave the stack running afterwards")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from iglu_lib import paths
    from iglu_lib.demo import run_demo

    executed = run_demo(Path(args.plan) if args.plan else None, keep_stack=args.keep_stack)
    print("\nexecuted notebooks:")
    for path in executed:
        print(f"  {path}")
    print(f"artefacts: {paths.outputs_dir() / 'demo'}")
    return 0
