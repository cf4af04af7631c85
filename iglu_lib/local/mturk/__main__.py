"""`python -m iglu_lib.local.mturk --host H --port P --data-dir D`: run the local MTurk server."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from werkzeug.serving import make_server

from iglu_lib.local.mturk.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iglu_lib.local.mturk", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder of the SQLite state")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(args.data_dir)
    server = make_server(args.host, args.port, app, threaded=True)
    # `iglu stack down` sends SIGTERM: leave serve_forever so the database closes cleanly.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"local MTurk server on http://{args.host}:{args.port} (state in {args.data_dir})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.extensions["mturk"].store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
