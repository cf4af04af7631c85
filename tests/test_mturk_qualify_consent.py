"""`iglu mturk qualify` on the local stack: the example qualifier (with its consent question) is
created and scores a worker who does not consent 0 whatever else they answer; a test without a
consent question is refused with a readable reason unless `--no-consent` says so."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from iglu_lib.local.mturk.control_client import LocalMTurkControl

ROOT = Path(__file__).resolve().parents[1]
QUALIFIER = ROOT / "params" / "examples" / "qualifier"
RIGHT = {"role": "assistant", "instruction": "precise", "completion": "code"}


def qualify(*extra: str, test: Path = QUALIFIER / "test.xml", key: Path = QUALIFIER / "answer_key.xml"):
    command = [sys.executable, "-m", "iglu_lib.cli", "mturk", "qualify", "--profile", "local", "--json",
               "--name", f"IGLU architect {secrets.token_hex(4)}", "--description", "consent and the game",
               "--test", str(test), "--answer-key", str(key), "--retry-delay", "0", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_qualify_creates_a_consenting_qualifier(stack):
    done = qualify()
    assert done.returncode == 0, done.stderr
    type_id = json.loads(done.stdout)["qualification_type_id"]
    control = LocalMTurkControl(stack["mturk_endpoint_url"])
    worker = "WCONSENT" + secrets.token_hex(4).upper()
    assert control.request_qualification(type_id, worker, {"consent": "disagree", **RIGHT})["value"] == 0
    assert control.request_qualification(type_id, worker, RIGHT)["value"] == 0  # consent left unanswered
    assert control.request_qualification(type_id, worker, {"consent": "agree", **RIGHT})["value"] == 100
    half = {"consent": "agree", "role": "me", "instruction": "precise", "completion": "code"}
    assert control.request_qualification(type_id, worker, half)["value"] == 67


def test_qualify_refuses_a_test_without_consent(stack, tmp_path):
    test = (QUALIFIER / "test.xml").read_text()
    key = (QUALIFIER / "answer_key.xml").read_text()
    marker = "  <Question>\n    <QuestionIdentifier>"
    for name, text in (("test.xml", test), ("key.xml", key)):
        start = text.index(marker + "consent")
        (tmp_path / name).write_text(text[:start] + text[text.index(marker + "role"):])
    refused = qualify(test=tmp_path / "test.xml", key=tmp_path / "key.xml")
    assert refused.returncode == 2 and "no consent question 'consent'" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = qualify("--no-consent", test=tmp_path / "test.xml", key=tmp_path / "key.xml")
    assert allowed.returncode == 0, allowed.stderr
