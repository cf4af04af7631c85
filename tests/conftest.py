"""Shared fixtures: one real local stack (Azurite, moto's S3 server, the local MTurk server)
for the whole test session, in a temporary folder so it never touches a developer's own
stack. Areas with fixtures of their own keep them in `tests/<area>/conftest.py`."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Secrets the session's code may see: the session's end scans outputs/ for every one of them
# (`pytest_sessionfinish` below).
os.environ.setdefault("IGLU_WORKER_ID_SALT", "test-salt-" + secrets.token_hex(8))
os.environ.setdefault("IGLU_PROJECT_ROOT", str(ROOT))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory):
    """The running local stack's public state (endpoints, connection string, services)."""
    from iglu_lib.local import stack as local_stack

    state_dir = tmp_path_factory.mktemp("stack")
    previous = os.environ.get("IGLU_STACK_DIR")
    os.environ["IGLU_STACK_DIR"] = str(state_dir)
    state = local_stack.up(state_dir)
    _remember_stack_secrets(state_dir)
    yield state
    local_stack.down(state_dir)
    if previous is None:
        os.environ.pop("IGLU_STACK_DIR", None)
    else:
        os.environ["IGLU_STACK_DIR"] = previous


def mturk_client(url: str):
    """A boto3 MTurk client of the local MTurk server at `url` (any credentials do)."""
    import boto3

    return boto3.client("mturk", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


@pytest.fixture
def mturk(stack):
    """The requester API of the session's local MTurk server."""
    return mturk_client(stack["mturk_endpoint_url"])


@pytest.fixture
def control(stack):
    """The simulated workers' side of the session's local MTurk server."""
    from iglu_lib.local.mturk.control_client import LocalMTurkControl

    return LocalMTurkControl(stack["mturk_endpoint_url"])


@pytest.fixture
def local_profile(stack):
    """The local profile, its endpoints taken from the session's stack."""
    from iglu_lib.config import load_profile

    return load_profile("local")


@pytest.fixture
def frugal_profile(local_profile):
    """The local profile with `spend_money: false`, as a production profile is: every paying call
    needs `allow_spending`."""
    from dataclasses import replace

    return replace(local_profile, settings=replace(local_profile.settings, spend_money=False))


@pytest.fixture
def unique_name():
    """A fresh lowercase name for containers, tables and buckets, so tests never share state."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}{secrets.token_hex(6)}"

    return make


@pytest.fixture(scope="session")
def test_outputs() -> Path:
    """Where tests write executed notebooks and artefacts (scanned for secrets at the end)."""
    folder = ROOT / "outputs" / "tests"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: How the browser tests start Debian's Chromium headless (root, no sandbox, no network chatter).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_binary() -> str | None:
    import shutil

    default = Path("/usr/bin/chromium")
    if default.exists():
        return str(default)
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def page(browser):
    """A fresh browser page (its own context) with a 20 s default timeout."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def fresh_code():
    """Makes valid completion codes with fresh ids (any field can be fixed by keyword)."""
    import uuid

    from iglu_lib.platform.codes import make_completion_code

    def make(**fields: object) -> str:
        ids = {name: str(uuid.uuid4()) for name in
               ("tournament_id", "challenge_id", "task_id", "game_id", "role_id", "agent_service_id")}
        return make_completion_code(**{**ids, **fields})

    return make


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright; skips, saying why, only where none is installed."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary (/usr/bin/chromium, chromium or chromium-browser on PATH); "
                    "install Debian's chromium package (scripts/ensure-chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# -- the secret scan: the session's last act, whatever ran --------------------------------------
#: The stack's own key and salt, read when it starts (its state file is gone after `down`).
_STACK_SECRETS: set[str] = set()
#: Secret values shorter than this are not looked for (they would match by chance).
_MIN_SECRET_CHARS = 8


def _remember_stack_secrets(state_dir: Path) -> None:
    import json

    state_file = Path(state_dir) / "state.json"
    if state_file.is_file():
        state = json.loads(state_file.read_text())
        _STACK_SECRETS.update({state.get(key) or "" for key in ("azurite_account_key", "worker_id_salt", "prolific_token")})


def session_secrets() -> set[str]:
    """Every secret value the session could see: the variables of `iglu_lib.config.SECRETS` set
    in the environment, and the stack's own key and salt."""
    from iglu_lib.config import SECRETS

    values = {os.environ[name] for name in SECRETS if os.environ.get(name)} | _STACK_SECRETS
    return {value for value in values if len(value) >= _MIN_SECRET_CHARS}


def secret_leaks(folder: Path, secrets_: set[str]) -> list[str]:
    """Files under `folder` (executed notebooks, artefacts) holding any of `secrets_`."""
    leaks = set()
    for path in folder.rglob("*"):
        if not path.is_file() or ".stack" in path.parts or path.stat().st_size > 50_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if any(value in text for value in secrets_):
            leaks.add(str(path.relative_to(folder)))
    return sorted(leaks)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every test (and fixture teardown), outputs hold no secret; a leak fails the session
    (exit status 1) with the files named. `IGLU_SECRET_SCAN_DIR` points the scan elsewhere
    (the test of the scan itself plants a secret there)."""
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller scans once
        return
    folder = Path(os.environ.get("IGLU_SECRET_SCAN_DIR") or ROOT / "outputs")
    if not folder.is_dir():
        return
    leaks = secret_leaks(folder, session_secrets())
    if not leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"secret values found in outputs ({folder}): {', '.join(leaks)}"
    if reporter is not None:
        reporter.write_sep("=", "secret scan failed", red=True)
        reporter.write_line(message, red=True)
    else:
        print(message)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
