"""The Flask application: requester API, local control API, worker pages and their assets."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, jsonify

from iglu_lib.local.mturk import control, pages, requester
from iglu_lib.local.mturk.server_state import ServerState


def create_app(data_dir: Path) -> Flask:
    """A server keeping its state in `data_dir/mturk.sqlite3`."""
    app = Flask(__name__, static_folder="static", static_url_path="/_local/static")
    app.extensions["mturk"] = ServerState.open(Path(data_dir))
    app.register_blueprint(requester.blueprint)
    app.register_blueprint(control.blueprint)
    app.register_blueprint(pages.blueprint)

    @app.errorhandler(404)
    def _not_found(error: Exception) -> tuple[Response, int]:
        return jsonify({"error": "NotFound", "message": "no such path on the local MTurk server"}), 404

    @app.errorhandler(405)
    def _not_allowed(error: Exception) -> tuple[Response, int]:
        return jsonify({"error": "MethodNotAllowed", "message": "this path takes another method"}), 405

    return app
