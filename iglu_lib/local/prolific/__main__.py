"""`python -m iglu_lib.local.prolific --host H --port P --data-dir D`: run the local Prolific
emulator; its API token comes from `IGLU_PROLIFIC_TOKEN` (never from the command line, which
every local user can read)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from werkzeug.serving import make_server

from iglu_lib.local.prolific.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iglu_lib.local.prolific", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of the SQLite state")
    args = parser.parse_args(argv)
    token = os.environ.get("IGLU_PROLIFIC_TOKEN", "")
    if not token:
        parser.error("set IGLU_PROLIFIC_TOKEN: the token researcher requests must carry")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = make_server(args.host, args.port, create_app(args.data_dir, token), threaded=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"local Prolific emulator on http://{args.host}:{args.port} (state in {args.data_dir})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
