"""How the stack's emulators run as processes: one command line and one serving loop, shared by
the local MTurk server and the local Prolific emulator (`python -m iglu_lib.local.<service>`)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server


def emulator_arguments(prog: str, description: str | None, argv: list[str] | None) -> argparse.Namespace:
    """`--host`, `--port` and `--data-dir` (the folder of the emulator's SQLite state)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of the SQLite state")
    return parser.parse_args(argv)


def serve(app: Any, args: argparse.Namespace, name: str, on_close: Callable[[], None] = lambda: None) -> int:
    """Serve `app` until SIGTERM or Ctrl-C, then close the server and `on_close` (its store).

    `iglu stack down` sends SIGTERM: leaving `serve_forever` through `sys.exit` lets the
    database close cleanly."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"{name} on http://{args.host}:{args.port} (state in {args.data_dir})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        on_close()
    return 0
