"""`iglu run` and `iglu batch`: notebooks headless with papermill."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="execute a notebook headless with a parameters file")
    run.add_argument("notebook", help="path or name in notebooks/ (e.g. 01_encode_tasks)")
    run.add_argument("-p", "--params", help="YAML file of parameters")
    run.add_argument("-o", "--output", help="executed copy (default outputs/notebooks/NAME.ipynb)")
    run.set_defaults(handler=_run)
    batch = subparsers.add_parser("batch", help="run a list of (notebook, parameters) pairs, several at once")
    batch.add_argument("batch_file", help="YAML file: {workers: N, runs: [{notebook, parameters, output}]}")
    batch.add_argument("--workers", type=int, help="how many notebooks run at once (default: the file's, or 2)")
    batch.set_defaults(handler=_batch)


def _run(args: argparse.Namespace) -> int:
    from iglu_lib.notebooks import run_notebook

    output = run_notebook(args.notebook, args.params, output=args.output)
    print(f"executed: {output}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from iglu_lib.notebooks import run_batch, summary_table

    results = run_batch(args.batch_file, workers=args.workers)
    print(summary_table(results))
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
