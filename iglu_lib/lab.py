"""JupyterLab as the workbench's front door (`make lab`, `iglu lab`).

Starts the JupyterLab of the project's virtual environment on `notebooks/` with a fresh token
on a free loopback port, brings the local stack up first when the profile is local (so the
notebooks' kernels, which inherit `IGLU_STACK_DIR`, talk to it), and prints the URL with its
token. The browser test starts JupyterLab through the same `start_lab`, so what it proves is
what a researcher gets.

The token never appears on a command line (`ps` shows every local user every process's
arguments, and the token is code execution with the researcher's cloud secrets) nor in an
environment the kernels inherit: JupyterLab reads it from a file only the user can read
(`JUPYTER_TOKEN_FILE`), which is deleted as soon as the server answers with it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from iglu_lib import paths
from iglu_lib.errors import IgluError

log = logging.getLogger(__name__)


class LabError(IgluError):
    """JupyterLab could not start; the message says why and what to do."""


@dataclass
class Lab:
    """A running JupyterLab server started by `start_lab`."""

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_file: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """What to open in a browser: the lab with its token."""
        return f"{self.base_url}/lab?token={self.token}"

    def stop(self, timeout: float = 15.0) -> None:
        """Stop exactly this server (and its kernels, which it shuts down itself)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_command(root_dir: Path, port: int) -> list[str]:
    """The JupyterLab command line: this interpreter's jupyter, loopback only, no browser, and no
    token (see `write_token_file`)."""
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.root_dir={root_dir}",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               # no calls home: no update checks, no extension index
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    return command


def write_token_file(token: str) -> Path:
    """The token in a new file readable only by this user (mode 0600, in a private folder), for
    JupyterLab's `JUPYTER_TOKEN_FILE`; the caller deletes it once the server has read it."""
    folder = Path(tempfile.mkdtemp(prefix="iglu-lab-"))  # mode 0700
    descriptor, name = tempfile.mkstemp(dir=folder, suffix=".token")  # mode 0600
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return Path(name)


def forget_token_file(token_file: Path) -> None:
    """Delete the token file and its private folder (the running server keeps the token)."""
    token_file.unlink(missing_ok=True)
    try:
        token_file.parent.rmdir()
    except OSError:
        log.warning("could not remove %s", token_file.parent)


def lab_environment(token_file: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's (and its kernels') environment: the caller's, `env` on top, the token file's
    path, and no `JUPYTER_TOKEN` (it would override the file and put the token in every kernel's
    environment)."""
    environment = {**os.environ, **(env or {}), "IGLU_PROJECT_ROOT": str(paths.project_root()),
                   "JUPYTER_TOKEN_FILE": str(token_file)}
    environment.pop("JUPYTER_TOKEN", None)
    return environment


def start_lab(
    root_dir: Path | None = None,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    log_file: Path | None = None,
    timeout: float = 90.0,
) -> Lab:
    """Start JupyterLab on `root_dir` (default `notebooks/`) and wait until it answers.

    `env` is the kernels' environment as well (e.g. `IGLU_STACK_DIR` of a test's stack); the
    server's output goes to `log_file` (default `outputs/lab/jupyterlab.log`).
    """
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        raise LabError("JupyterLab is not installed in this environment; run `make setup`")
    root = Path(root_dir or paths.project_root() / "notebooks").resolve()
    port = port or free_port()
    token = secrets.token_hex(24)
    log_file = Path(log_file or paths.outputs_dir() / "lab" / "jupyterlab.log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    token_file = write_token_file(token)
    try:
        with open(log_file, "ab") as sink:
            process = subprocess.Popen(lab_command(root, port), cwd=root, env=lab_environment(token_file, env),
                                       stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        lab = Lab(process, port, token, root, log_file)
        _wait_until_ready(lab, timeout)  # it answers with the token: it has read the file
    finally:
        forget_token_file(token_file)
    return lab


def _wait_until_ready(lab: Lab, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise LabError(f"JupyterLab exited with code {lab.process.returncode}; see {lab.log_file}")
        try:
            if requests.get(f"{lab.base_url}/api/status", params={"token": lab.token}, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    lab.stop()
    raise LabError(f"JupyterLab did not answer within {timeout:.0f} s; see {lab.log_file}")


def run_lab(profile_name: str = "local", root_dir: Path | None = None, port: int | None = None) -> int:
    """`make lab`: the local stack up when the profile is local, JupyterLab until Ctrl-C.

    A stack this command started is stopped again when JupyterLab stops; one that was already
    running is left as it was.
    """
    from iglu_lib.local import stack

    started_stack = False
    if profile_name == "local":
        was_running = bool(stack.read_state()) and all(s.get("healthy") for s in stack.status().values())
        print("bringing the local stack up (iglu stack up) ...", flush=True)
        stack.up()
        started_stack = not was_running
    try:
        lab = start_lab(root_dir, port=port)
    except BaseException:
        if started_stack:
            stack.down()
        raise
    print(f"JupyterLab on {lab.root_dir} (profile {profile_name}); open:\n\n    {lab.url}\n", flush=True)
    print(f"server log: {lab.log_file}; stop with Ctrl-C", flush=True)
    try:
        lab.process.wait()
    except KeyboardInterrupt:
        print("stopping JupyterLab ...", flush=True)
    finally:
        lab.stop()
        if started_stack:
            stack.down()
            print("stopped the local stack this command started", flush=True)
    return 0
