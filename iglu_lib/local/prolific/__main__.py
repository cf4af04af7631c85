"""`python -m iglu_lib.local.prolific --host H --port P --data-dir D`: run the local Prolific
emulator; its API token comes from `IGLU_PROLIFIC_TOKEN` (never from the command line, which
every local user can read)."""

from __future__ import annotations

import os

from iglu_lib.local.prolific.app import create_app
from iglu_lib.local.serving import emulator_arguments, serve


def main(argv: list[str] | None = None) -> int:
    args = emulator_arguments("python -m iglu_lib.local.prolific", __doc__, argv)
    token = os.environ.get("IGLU_PROLIFIC_TOKEN", "")
    if not token:
        raise SystemExit("set IGLU_PROLIFIC_TOKEN: the token researcher requests must carry")
    return serve(create_app(args.data_dir, token), args, "local Prolific emulator")


if __name__ == "__main__":
    raise SystemExit(main())
