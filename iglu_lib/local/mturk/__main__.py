"""`python -m iglu_lib.local.mturk --host H --port P --data-dir D`: run the local MTurk server."""

from __future__ import annotations

from iglu_lib.local.mturk.app import create_app
from iglu_lib.local.serving import emulator_arguments, serve


def main(argv: list[str] | None = None) -> int:
    args = emulator_arguments("python -m iglu_lib.local.mturk", __doc__, argv)
    app = create_app(args.data_dir)
    return serve(app, args, "local MTurk server", on_close=app.extensions["mturk"].store.close)


if __name__ == "__main__":
    raise SystemExit(main())
