"""Start, check and stop the local stack of real emulators.

`up` starts every service of the registry (`services.SERVICES`) on a loopback port, waits
until each answers a real request and writes the endpoints to `state.json` after every
step, so that `down` can stop exactly the processes it started (by process id and start
time, never by name) even when `up` was interrupted half-way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.local.services import (
    SERVICES,
    Launch,
    ServiceSpec,
    StackError,
    azure_connection_string,
    shared_values,
)

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0


def state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def read_state(state_dir: Path | None = None) -> dict[str, Any] | None:
    path = state_file(state_dir or paths.stack_dir())
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _write_state(state_dir: Path, state: Mapping[str, Any]) -> None:
    path = state_file(state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


# -- processes ------------------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process: tells our process from a later one with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _is_ours(entry: Mapping[str, Any]) -> bool:
    return entry.get("pid") is not None and _start_time(entry["pid"]) == entry.get("start_time")


def _stop_process(entry: Mapping[str, Any], grace_seconds: float = 10.0) -> None:
    if not _is_ours(entry):
        return
    pgid = entry["pid"]  # started with start_new_session: the group id is the pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        _reap(entry["pid"])
        if not _is_ours(entry):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(entry["pid"])


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# -- ports ------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _check_port_free(name: str, port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise StackError(
                f"port {port} for {name} is taken by another process; free it or change "
                f"stack.ports.{name} in the profile"
            ) from None


# -- the stack ---------------------------------------------------------------------------
def status(state_dir: Path | None = None) -> dict[str, Any]:
    """Each service of the running stack, and whether it answers now."""
    state = read_state(state_dir) or {}
    report = {}
    for name, entry in state.get("services", {}).items():
        spec = _spec(name)
        alive = _is_ours(entry)
        report[name] = {
            "url": entry.get("url"),
            "pid": entry.get("pid"),
            "running": alive,
            "healthy": bool(alive and spec and spec.answers(entry["url"])),
        }
    return report


def status_frame(state_dir: Path | None = None) -> Any:
    """The status as a DataFrame, for notebooks."""
    import pandas as pd

    rows = [{"service": name, **entry} for name, entry in status(state_dir).items()]
    return pd.DataFrame(rows, columns=["service", "url", "pid", "running", "healthy"])


def _spec(name: str) -> ServiceSpec | None:
    return next((spec for spec in SERVICES if spec.name == name), None)


def is_running(state_dir: Path | None = None) -> bool:
    report = status(state_dir)
    return bool(report) and all(entry["healthy"] for entry in report.values())


def up(
    state_dir: Path | None = None,
    ports: Mapping[str, int] | None = None,
    services: Iterable[ServiceSpec] = SERVICES,
) -> dict[str, Any]:
    """Start the stack (or return the running one) and wait until every service answers."""
    state_dir = Path(state_dir or paths.stack_dir())
    ports = dict(ports or {})
    services = tuple(services)
    running = read_state(state_dir)
    if running and is_running(state_dir):
        _check_same_ports(running, ports)
        return public_state(running)
    if running:
        down(state_dir)  # a stale or half-started stack: clear it first
    for spec in services:
        spec.requires()
    state_dir.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {**shared_values(), "services": {}, "state_dir": str(state_dir)}
    _write_state(state_dir, state)
    try:
        for spec in services:
            _start_service(spec, state_dir, state, ports.get(spec.name))
        for spec in services:
            _wait_until_answers(spec, state_dir, state)
    except BaseException:
        down(state_dir)
        raise
    if {"azure_blob_endpoint", "azure_table_endpoint"} <= state.keys():
        state["azure_storage_connection_string"] = azure_connection_string(state)
    _write_state(state_dir, state)
    return public_state(state)


def _check_same_ports(state: Mapping[str, Any], ports: Mapping[str, int]) -> None:
    for name, port in ports.items():
        entry = state["services"].get(name)
        if entry and entry.get("port") != port:
            raise StackError(
                f"a stack is already running with {name} on port {entry.get('port')}, not {port}; "
                "run `iglu stack down` first"
            )


def _start_service(spec: ServiceSpec, state_dir: Path, state: dict[str, Any], port: int | None) -> None:
    if port:
        _check_port_free(spec.name, port)
    port = port or _free_port()
    data_dir = state_dir / spec.name
    data_dir.mkdir(parents=True, exist_ok=True)
    launch = Launch(host=HOST, port=port, data_dir=data_dir, shared=state)
    log_dir = state_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    with open(log_dir / f"{spec.name}.log", "ab") as log:
        process = subprocess.Popen(
            spec.command(launch),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **spec.environment(launch)},
            cwd=paths.project_root(),
        )
    url = spec.url(HOST, port)
    state["services"][spec.name] = {
        "url": url,
        "port": port,
        "pid": process.pid,
        "start_time": _start_time(process.pid),
        "healthy": False,
    }
    state.update(spec.state_keys(url, launch))
    _write_state(state_dir, state)


def _wait_until_answers(spec: ServiceSpec, state_dir: Path, state: dict[str, Any]) -> None:
    entry = state["services"][spec.name]
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _is_ours(entry) or _exited(entry["pid"]):
            raise StackError(f"{spec.name} exited while starting: {_log_tail(state_dir, spec.name)}")
        if spec.answers(entry["url"]):
            entry["healthy"] = True
            _write_state(state_dir, state)
            return
        time.sleep(0.2)
    raise StackError(
        f"{spec.name} did not answer at {entry['url']} within {START_TIMEOUT_SECONDS:.0f}s; "
        f"see {state_dir / 'logs' / (spec.name + '.log')}"
    )


def _exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False  # not our child (another command started it): rely on _is_ours
    return done == pid


def _log_tail(state_dir: Path, name: str, lines: int = 5) -> str:
    log = state_dir / "logs" / f"{name}.log"
    if not log.is_file():
        return "(no log)"
    tail = log.read_text(errors="replace").strip().splitlines()[-lines:]
    return " | ".join(tail) or "(empty log)"


def down(state_dir: Path | None = None) -> list[str]:
    """Stop exactly the processes this stack started; a no-op when nothing runs."""
    state_dir = Path(state_dir or paths.stack_dir())
    state = read_state(state_dir)
    if not state:
        return []
    stopped = []
    for name, entry in state.get("services", {}).items():
        if _is_ours(entry):
            _stop_process(entry)
            stopped.append(name)
    state_file(state_dir).unlink(missing_ok=True)
    return stopped


def public_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """What `iglu stack up --json` prints: endpoints, connection strings and services."""
    hidden = {"azurite_account_key", "services"}
    result = {k: v for k, v in state.items() if k not in hidden}
    result["services"] = {
        name: {"url": e["url"], "pid": e["pid"], "healthy": e["healthy"]} for name, e in state["services"].items()
    }
    return result
