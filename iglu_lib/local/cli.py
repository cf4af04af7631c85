"""`iglu stack up|down|status`: the local stack of emulators; `iglu stack generate-logs`
fills its S3 (or a folder) with droidlet-style logs to rehearse `iglu logs sync|process`."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    stack = subparsers.add_parser("stack", help="start, check or stop the local stack of emulators")
    actions = stack.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start every local service and wait until each answers")
    up.add_argument("--profile", default="local", help="profile whose stack.ports to use (default: local)")
    up.add_argument("--json", action="store_true", help="print the endpoints as one JSON object")
    up.set_defaults(handler=_up)
    down = actions.add_parser("down", help="stop exactly the processes `up` started")
    down.set_defaults(handler=_down)
    status = actions.add_parser("status", help="each service and whether it answers")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    generate = actions.add_parser(
        "generate-logs", help="fill a bucket of the local stack (or a folder) with generated droidlet-style logs")
    target = generate.add_mutually_exclusive_group(required=True)
    target.add_argument("--bucket", help="bucket to fill (created if missing)")
    target.add_argument("--dest", help="folder to write the corpus into instead")
    generate.add_argument("--batches", type=int, default=2)
    generate.add_argument("--logs-per-batch", type=int, default=4)
    generate.add_argument("--rows-per-log", type=int, default=30)
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--min-mb", type=float, help="add batches until the objects weigh at least this much")
    generate.add_argument("--profile", default="local", help="profile to use (default: local)")
    generate.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    generate.set_defaults(handler=_generate_logs)


def _up(args: argparse.Namespace) -> int:
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.local import stack

    profile = load_profile(args.profile, stack_state={})
    state = stack.up(ports=dict(profile.settings.stack_ports))
    if args.json:
        print_json(state)
    else:
        for name, service in state["services"].items():
            print(f"{name:16} {service['url']:28} pid {service['pid']}")
        restarted = state.get("started", [])
        if not restarted:
            print("every service was already running")
        elif len(restarted) < len(state["services"]):
            print(f"restarted: {', '.join(restarted)} (same ports, data, key and salt)")
        print(f"state: {state['state_dir']}/state.json")
    return 0


def _down(args: argparse.Namespace) -> int:
    from iglu_lib.local import stack

    stopped = stack.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "no stack was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.local import stack

    report = stack.status()
    if args.json:
        print_json(report)
        return 0 if report and all(s["healthy"] for s in report.values()) else 1
    if not report:
        print("no stack is running; start it with `iglu stack up`")
        return 1
    for name, service in report.items():
        state = "healthy" if service["healthy"] else ("running, not answering" if service["running"] else "stopped")
        print(f"{name:16} {service['url']:28} {state}")
    return 0 if all(s["healthy"] for s in report.values()) else 1


def _generate_logs(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.local.droidlet_logs import CorpusSpec, sized, write_corpus

    spec = CorpusSpec(batches=args.batches, logs_per_batch=args.logs_per_batch,
                      rows_per_log=args.rows_per_log, seed=args.seed)
    if args.min_mb:
        spec = sized(spec, int(args.min_mb * 1e6))
    if args.dest:
        truth = write_corpus(args.dest, spec)
    else:
        from iglu_lib.config import load_profile

        rehearsal = load_profile(args.profile).backend.rehearsal("use --profile local or --dest FOLDER")
        truth = rehearsal.upload_logs(args.bucket, spec, progress=not args.json)
    report = {"objects": len(truth.objects), "bytes": truth.compressed_bytes,
              "expected": {kind: truth.summary(kind) for kind in truth.kinds}}
    if args.json:
        print_json(report)
    else:
        print(f"wrote {report['objects']} objects ({report['bytes']} bytes) under {spec.prefix}/")
    return 0
