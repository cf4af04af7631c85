"""`make lab` (`iglu lab`): JupyterLab on notebooks/ with a fresh token, the URL printed, the
local stack up for the local profile; Ctrl-C stops JupyterLab and leaves a stack it did not start."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import requests

from iglu_lib.lab import free_port, lab_command


def test_lab_command_listens_on_loopback_only_without_a_browser(tmp_path):
    command = lab_command(tmp_path, 8999, "t0ken")
    assert "--no-browser" in command and "--ServerApp.ip=127.0.0.1" in command
    assert f"--ServerApp.root_dir={tmp_path}" in command and "--IdentityProvider.token=t0ken" in command


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
