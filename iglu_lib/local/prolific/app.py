"""The Flask application of the local Prolific emulator: the researcher API and the control API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, jsonify

from iglu_lib.local.prolific import api, control
from iglu_lib.local.prolific.model import ApiError, Prolific
from iglu_lib.local.prolific.store import Store


def create_app(data_dir: Path, token: str) -> Flask:
    """An emulator keeping its state in `data_dir/prolific.sqlite3`, answering requests that
    carry `Authorization: Token <token>`."""
    if not token:
        raise ValueError("the emulator needs a token (IGLU_PROLIFIC_TOKEN)")
    app = Flask(__name__)
    app.config["PROLIFIC_TOKEN"] = token
    app.extensions["prolific"] = Prolific(Store(Path(data_dir) / "prolific.sqlite3"))
    app.register_blueprint(api.blueprint)
    app.register_blueprint(control.blueprint)

    @app.errorhandler(404)
    def _not_found(error: Exception) -> Any:
        return jsonify(ApiError(404, "Not found", "The resource does not exist").body()), 404

    @app.errorhandler(405)
    def _not_allowed(error: Exception) -> Any:
        return jsonify(ApiError(405, "Method not allowed", "This path takes another method").body()), 405

    return app
