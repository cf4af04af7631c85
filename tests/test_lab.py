"""`make lab` (`iglu lab`): JupyterLab on notebooks/ with a fresh token, the URL printed, the
local stack up for the local profile; Ctrl-C stops JupyterLab and leaves a stack it did not start."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from iglu_lib.lab import free_port, lab_command, lab_environment, start_lab


def test_lab_command_listens_on_loopback_only_without_a_browser_or_a_token(tmp_path):
    command = lab_command(tmp_path, 8999)
    assert "--no-browser" in command and "--ServerApp.ip=127.0.0.1" in command
    assert f"--ServerApp.root_dir={tmp_path}" in command
    assert not any("token" in part.lower() for part in command)


def test_lab_environment_names_the_token_file_and_drops_a_token_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "inherited")
    environment = lab_environment(tmp_path / "t.token", {"EXTRA": "1"})
    assert environment["JUPYTER_TOKEN_FILE"] == str(tmp_path / "t.token") and environment["EXTRA"] == "1"
    assert "JUPYTER_TOKEN" not in environment


def processes_showing(secret: str, part: str = "cmdline") -> list[str]:
    """Every process (of any user) whose /proc/<pid>/<part> contains `secret`, as `pid: command`;
    processes that ended meanwhile or that this user may not read are skipped."""
    showing = []
    for folder in Path("/proc").iterdir():
        if not folder.name.isdigit():
            continue
        try:
            text = (folder / part).read_bytes()
            command = (folder / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if secret.encode() in text:
            showing.append(f"{folder.name}: {command[:200]}")
    return showing


def test_the_token_is_on_no_command_line_nor_in_the_servers_or_a_kernels_environment(tmp_path):
    lab = start_lab(tmp_path, log_file=tmp_path / "lab.log")
    try:
        headers = {"Authorization": f"token {lab.token}"}
        assert requests.get(f"{lab.base_url}/api/contents", headers=headers, timeout=10).ok
        assert requests.get(f"{lab.base_url}/api/contents", timeout=10).status_code == 403
        kernel = requests.post(f"{lab.base_url}/api/kernels", headers=headers, json={}, timeout=60).json()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not lab_children(lab.process.pid):
            time.sleep(0.3)
        assert lab_children(lab.process.pid), "the kernel process started"
        assert processes_showing(lab.token) == []
        assert processes_showing(lab.token, "environ") == []
        token_file = Path((Path("/proc") / str(lab.process.pid) / "environ").read_bytes().split(
            b"JUPYTER_TOKEN_FILE=")[1].split(b"\0")[0].decode())
        assert not token_file.exists() and not token_file.parent.exists(), "the token file is gone once read"
        requests.delete(f"{lab.base_url}/api/kernels/{kernel['id']}", headers=headers, timeout=30)
    finally:
        lab.stop()
    assert lab.token not in (tmp_path / "lab.log").read_text(), "the server's log masks the token"


def lab_children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (the kernels of a JupyterLab server)."""
    import psutil

    return [child.pid for child in psutil.Process(pid).children()]


def test_iglu_lab_serves_the_notebooks_and_stops_on_ctrl_c(stack):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "iglu_lib.cli", "lab", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "token=" in line or not line:
                break
        url = re.search(r"http://127\.0\.0\.1:(\d+)/lab\?token=(\w+)", "".join(lines))
        assert url, "".join(lines)
        assert int(url.group(1)) == port and len(url.group(2)) >= 32
        assert processes_showing(url.group(2)) == [], "the token is on no process's command line"
        base = f"http://127.0.0.1:{port}"
        listed = requests.get(f"{base}/api/contents", params={"token": url.group(2)}, timeout=10)
        assert listed.ok and "03_collect.ipynb" in {item["name"] for item in listed.json()["content"]}
        assert requests.get(f"{base}/api/contents", timeout=10).status_code == 403, "no token, no notebooks"
    finally:
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=60)[0]
    assert process.returncode == 0, rest
    assert "stopped the local stack" not in rest, "a stack lab did not start is left running"
    from iglu_lib.local import stack as local_stack

    assert all(service["healthy"] for service in local_stack.status().values())
