"""`iglu games ...` and `iglu import feedback`: completion codes, game data and exports.

A top-level command module (found by `iglu_lib.cli` as `platform_cli`): `iglu games store`
reads and updates a campaign's records (`iglu_lib.collection.games`), which the platform
package itself never imports."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    games = subparsers.add_parser("games", help="completion codes and game data of the platform")
    games_commands = games.add_subparsers(dest="games_command", metavar="ACTION")
    games.set_defaults(handler=lambda args: _help(games))

    check = games_commands.add_parser(
        "check-code", help="decode a completion code and say whether it is usable"
    )
    check.add_argument("code", help="the completion code as the worker pasted it")
    check.add_argument("--join-code", help="the game's join code, to check task and agent")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(handler=check_code_command)

    fetch = games_commands.add_parser(
        "fetch", help="download games by completion code and summarise them"
    )
    fetch.add_argument("codes", nargs="+", help="completion codes")
    fetch.add_argument("--profile", default="local", help="configuration profile (default: local)")
    fetch.add_argument("--workers", type=int, default=16, help="parallel downloads (default: 16)")
    fetch.add_argument("--json", action="store_true", help="print JSON")
    fetch.set_defaults(handler=fetch_command)

    store = games_commands.add_parser(
        "store",
        help="copy a campaign's games: raw to the private container, scrubbed to the results container",
    )
    store.add_argument("campaign", help="campaign whose submitted games to store")
    store.add_argument("--profile", default="local", help="configuration profile (default: local)")
    store.add_argument("--workers", type=int, default=16, help="parallel downloads (default: 16)")
    store.add_argument("--json", action="store_true", help="print JSON")
    store.set_defaults(handler=store_command)

    imports = subparsers.add_parser("import", help="read exports back into the workbench")
    import_commands = imports.add_subparsers(dest="import_command", metavar="KIND")
    imports.set_defaults(handler=lambda args: _help(imports))
    feedback = import_commands.add_parser(
        "feedback",
        help="read a game-record export (human_agent_feedback.csv) and report its quality",
    )
    feedback.add_argument("file", help="CSV in the published format")
    feedback.add_argument(
        "--pseudonyms",
        metavar="PROFILE",
        help="also list the worker ids found as keyed pseudonyms, with this profile's salt",
    )
    feedback.add_argument("--json", action="store_true", help="print JSON")
    feedback.set_defaults(handler=import_feedback_command)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def check_code_command(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.platform.codes import check_code

    result = check_code(args.code, args.join_code)
    if args.json:
        print_json(result.as_json())
    elif result.ok:
        print("ok: " + ", ".join(f"{k}={v}" for k, v in result.fields.items()))
    else:
        print(f"{result.reason}: {result.message}")
    return 0 if result.ok else 1


def fetch_command(args: argparse.Namespace) -> int:
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.platform.client import GameDataClient

    client = GameDataClient.open(load_profile(args.profile))
    games = client.fetch_many(args.codes, workers=args.workers, progress=not args.json)
    rows = [game.summary_row() for game in games]
    if args.json:
        print_json(rows)
    else:
        from tabulate import tabulate

        print(tabulate(rows, headers="keys"))
    return 0 if all(game.ok for game in games) else 1


def store_command(args: argparse.Namespace) -> int:
    from iglu_lib.collection.games import campaign_codes, store_games
    from iglu_lib.config import load_profile
    from iglu_lib.console import print_json
    from iglu_lib.platform.client import GameDataClient

    profile = load_profile(args.profile)
    codes, join_codes = campaign_codes(profile, args.campaign)
    games = GameDataClient.open(profile).fetch_many(
        codes, join_codes=join_codes, workers=args.workers, progress=not args.json
    )
    rows = json.loads(store_games(games, profile, campaign=args.campaign).to_json(orient="records"))
    if args.json:
        print_json(rows)
    else:
        stored = sum(1 for row in rows if row["ResultGameDataPath"])
        print(f"stored {stored} of {len(rows)} submitted games of campaign {args.campaign}")
    return 0


def import_feedback_command(args: argparse.Namespace) -> int:
    from iglu_lib.console import print_json
    from iglu_lib.platform.feedback import feedback_report, read_feedback

    salt = None
    if args.pseudonyms:
        from iglu_lib.config import load_profile

        salt = load_profile(args.pseudonyms).backend.worker_id_salt()
    report = feedback_report(read_feedback(args.file), salt=salt)
    if args.json:
        print_json(report)
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0
