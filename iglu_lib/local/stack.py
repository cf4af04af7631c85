"""Start, check and stop the local stack of real emulators.

`up` starts every service of the registry (`services.SERVICES`) on a loopback port, waits
until each answers a real request and writes the endpoints to `state.json` after every
step, so that `down` can stop exactly the processes it started (by process id and start
time, never by name) even when `up` was interrupted half-way.

A stack keeps its identity: `up` on a stack where one service died restarts only that one,
on its stored port, with its data folder and the stack's account key and worker-id salt, so
connection strings stay valid and pseudonyms never change between exports. The key, the salt
and the ports also outlive `down` (in `identity.json`, readable only by the user), so the
next `up` serves the same data under the same names.
"""

from __future__ import annotations

import json
import logging
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

#: Values made once per stack and kept for its whole life (restarts and `down`/`up` included).
SHARED_KEYS = ("azurite_account_key", "worker_id_salt", "prolific_token")

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0
log = logging.getLogger(__name__)


def state_file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def read_state(state_dir: Path | None = None) -> dict[str, Any] | None:
    path = state_file(state_dir or paths.stack_dir())
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def identity_file(state_dir: Path) -> Path:
    return state_dir / "identity.json"


def _write_private(path: Path, value: Mapping[str, Any]) -> None:
    """Write JSON readable only by the user, atomically (the file holds the account key)."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(value, indent=2))
    tmp.replace(path)


def _write_state(state_dir: Path, state: Mapping[str, Any]) -> None:
    _write_private(state_file(state_dir), state)
    _remember_identity(state_dir, state)


def _remember_identity(state_dir: Path, state: Mapping[str, Any]) -> None:
    """Keep the key, salt and ports beside the data they belong to, past `down`."""
    known = _read_identity(state_dir)
    identity = {key: state[key] for key in SHARED_KEYS if key in state}
    identity["ports"] = {
        **known.get("ports", {}),
        **{name: entry["port"] for name, entry in state.get("services", {}).items()},
    }
    if identity != known:
        _write_private(identity_file(state_dir), identity)


def _read_identity(state_dir: Path) -> dict[str, Any]:
    path = identity_file(state_dir)
    if not path.is_file():
        return {}
    try:
        identity = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return identity if isinstance(identity, dict) else {}


# -- processes ------------------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process: tells our process from a later one with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _is_ours(entry: Mapping[str, Any]) -> bool:
    """The process we started is still running (a zombie, dead but never reaped because its
    parent `iglu` exited, is not)."""
    return (
        entry.get("pid") is not None
        and _start_time(entry["pid"]) == entry.get("start_time")
        and not _is_zombie(entry["pid"])
    )


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _stop_process(entry: Mapping[str, Any], stop_signal: int = signal.SIGTERM, grace_seconds: float = 10.0) -> None:
    """Ask the process group to stop with the service's own stop signal (on which it saves
    its data), SIGKILL it after `grace_seconds`, and return once the process is gone."""
    if not _is_ours(entry):
        return
    pgid = entry["pid"]  # started with start_new_session: the group id is the pid
    try:
        os.killpg(pgid, stop_signal)
    except ProcessLookupError:
        return
    if not _wait_until_stopped(entry, grace_seconds):
        log.warning("pid %s did not stop within %.0fs; sending SIGKILL", entry["pid"], grace_seconds)
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        _wait_until_stopped(entry, grace_seconds)
    _wait_until_gone(entry, grace_seconds)


def _wait_until_stopped(entry: Mapping[str, Any], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _is_ours(entry):
            _reap(entry["pid"])  # our own child leaves no zombie behind
            return True
        time.sleep(0.1)
    return False


def _wait_until_gone(entry: Mapping[str, Any], seconds: float) -> None:
    """A stopped process whose parent (an earlier `iglu`) exited stays a zombie until init
    reaps it; wait for that briefly, so that `down` returns with the process gone."""
    deadline = time.monotonic() + seconds
    while _start_time(entry["pid"]) == entry.get("start_time") and time.monotonic() < deadline:
        _reap(entry["pid"])
        time.sleep(0.05)


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
        # As the servers themselves do: a port whose last server died (connections left in
        # TIME_WAIT) is free; one another process listens on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


def _stop_signal(name: str) -> int:
    spec = _spec(name)
    return spec.stop_signal if spec else signal.SIGTERM


def is_running(state_dir: Path | None = None) -> bool:
    report = status(state_dir)
    return bool(report) and all(entry["healthy"] for entry in report.values())


def up(
    state_dir: Path | None = None,
    ports: Mapping[str, int] | None = None,
    services: Iterable[ServiceSpec] = SERVICES,
) -> dict[str, Any]:
    """Start the stack (or return the running one) and wait until every service answers.

    Services still running are kept as they are; a service that died is started again on
    its stored port with its data folder, the stack's account key and salt. The result's
    `started` names the services this call started.
    """
    state_dir = Path(state_dir or paths.stack_dir())
    ports = dict(ports or {})
    services = tuple(services)
    previous = read_state(state_dir)
    if previous and _all_healthy(previous, services):
        _check_same_ports(previous, ports)
        return {**public_state(previous), "started": []}
    for spec in services:
        spec.requires()
    state_dir.mkdir(parents=True, exist_ok=True)
    state = _resumed_state(state_dir, previous)
    _check_same_ports(state, ports)
    wanted = _wanted_ports(state_dir, previous, ports)
    started: list[str] = []
    try:
        for spec in services:
            if not _is_ours(state["services"].get(spec.name, {})):
                port, required = wanted.get(spec.name, (None, False))
                if port and not required and not _port_is_free(port):
                    port = None
                _start_service(spec, state_dir, state, port)
                started.append(spec.name)
        for spec in services:
            _wait_until_answers(spec, state_dir, state)
    except BaseException:
        _stop_started(state_dir, state, started)
        raise
    if {"azure_blob_endpoint", "azure_table_endpoint"} <= state.keys():
        state["azure_storage_connection_string"] = azure_connection_string(state)
    _write_state(state_dir, state)
    if previous and started:
        log.warning("restarted %s (the other services kept running)", ", ".join(started))
    return {**public_state(state), "started": started}


def _all_healthy(state: Mapping[str, Any], services: tuple[ServiceSpec, ...]) -> bool:
    entries = state.get("services", {})
    return all(
        spec.name in entries and _is_ours(entries[spec.name]) and spec.answers(entries[spec.name]["url"])
        for spec in services
    )


def _resumed_state(state_dir: Path, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The state to (re)start from: the running services' entries, the stack's key and salt.

    A dead service's entry is dropped; a zombie child is reaped first so that it no longer
    counts as running. The key and salt come from the state, else from the identity an
    earlier stack in this folder left, else they are made now.
    """
    state = dict(previous or {})
    alive = {}
    for name, entry in state.get("services", {}).items():
        if entry.get("pid") is not None:
            _reap(entry["pid"])
        if _is_ours(entry):
            alive[name] = {**entry, "healthy": False}
    identity = _read_identity(state_dir)
    fresh = shared_values()
    for key in SHARED_KEYS:
        state[key] = state.get(key) or identity.get(key) or fresh[key]
    state.update(services=alive, state_dir=str(state_dir))
    _write_state(state_dir, state)
    return state


def _wanted_ports(
    state_dir: Path, previous: Mapping[str, Any] | None, ports: Mapping[str, int]
) -> dict[str, tuple[int, bool]]:
    """For each service, the port to start it on and whether it must be that one.

    The profile's port is required; so is the port a service had in this running stack (it
    died: its clients keep their endpoint); the port of an earlier stack in this folder is
    taken when free.
    """
    wanted = {name: (port, False) for name, port in _read_identity(state_dir).get("ports", {}).items()}
    for name, entry in (previous or {}).get("services", {}).items():
        if entry.get("port"):
            wanted[name] = (entry["port"], True)
    wanted.update({name: (port, True) for name, port in ports.items() if port})
    return wanted


def _port_is_free(port: int) -> bool:
    try:
        _check_port_free("", port)
    except StackError:
        return False
    return True


def _stop_started(state_dir: Path, state: dict[str, Any], started: Iterable[str]) -> None:
    """Undo a failed `up`: stop what this call started; forget the stack if nothing runs."""
    for name in started:
        entry = state["services"].pop(name, None)
        if entry:
            _stop_process(entry, _stop_signal(name))
    if any(_is_ours(entry) for entry in state["services"].values()):
        _write_state(state_dir, state)
    else:
        down(state_dir)


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
            _stop_process(entry, _stop_signal(name))
            stopped.append(name)
    state_file(state_dir).unlink(missing_ok=True)
    return stopped


def public_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """What `iglu stack up --json` prints: endpoints, connection strings and services."""
    hidden = {"azurite_account_key", "prolific_token", "services"}
    result = {k: v for k, v in state.items() if k not in hidden}
    result["services"] = {
        name: {"url": e["url"], "pid": e["pid"], "healthy": e["healthy"]} for name, e in state["services"].items()
    }
    return result
