"""The study page a rehearsal's Prolific participants are sent to: `iglu crowd serve`, run as
its own process on the loopback address the campaign's `study_url` names, for as long as the
campaign runs beside it.

A process rather than the server in this one, for two reasons: it is what a researcher runs
(`iglu crowd serve` beside `iglu collect`, sharing the study's slot file), and the rehearsal
(`iglu_lib.local`) reads Prolific with its own eyes only, so it imports none of the provider's
code that the page is built on.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from iglu_lib.settings import ConfigError

log = logging.getLogger(__name__)

#: How long the page may take to answer after its process started.
START_SECONDS = 60.0
LOOPBACK = ("127.0.0.1", "localhost")


def _address(study_url: str) -> tuple[str, int]:
    parts = urlsplit(study_url)
    if parts.hostname not in LOOPBACK or not parts.port:
        raise ConfigError(f"study_url {study_url}: a rehearsal serves the study page itself, on a loopback address "
                          "with a port (e.g. http://127.0.0.1:8790)")
    return parts.hostname, parts.port


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


@contextmanager
def study_page(study_url: str, *, profile: str, stack_dir: Path) -> Iterator[str]:
    """`iglu crowd serve` at `study_url` (the stack of `stack_dir`, the profile named) while the
    block runs; stopped afterwards whatever happens. Its output goes to `study_page.log` there."""
    host, port = _address(study_url)
    if _port_taken(host, port):
        raise ConfigError(f"study_url {study_url}: port {port} is taken by another program; stop it, or give the "
                          "campaign another study_url (a free loopback port)")
    command = [sys.executable, "-m", "iglu_lib.cli", "crowd", "serve", "--profile", profile,
               "--host", host, "--port", str(port)]
    stack_dir.mkdir(parents=True, exist_ok=True)
    log_path = stack_dir / "study_page.log"
    with log_path.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "IGLU_STACK_DIR": str(stack_dir)})
    try:
        _wait_until_answers(process, f"{study_url.rstrip('/')}/healthz", log_path)
        log.info("the study page answers at %s (process %s)", study_url, process.pid)
        yield study_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answers(process: subprocess.Popen[bytes], health: str, log_path: Path) -> None:
    import requests as http

    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = " | ".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-3:])
            raise ConfigError(f"`iglu crowd serve` for the study page stopped at once: {tail[-400:]}")
        try:
            if http.get(health, timeout=2).status_code == 200:
                return
        except http.RequestException:
            pass
        time.sleep(0.2)
    raise ConfigError(f"the study page did not answer at {health} within {START_SECONDS:.0f} s; see {log_path}")
