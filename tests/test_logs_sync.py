"""`iglu logs sync` against moto's real S3 server: a mirror, incremental by size and ETag,
safe against hostile keys; then the CLI end to end (generate, sync, process) with --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from iglu_lib.local.droidlet_logs import CorpusSpec, upload_corpus
from iglu_lib.logs.sync import MANIFEST_NAME, sync_prefix

ROOT = Path(__file__).resolve().parents[1]
SPEC = CorpusSpec(batches=2, logs_per_batch=3, rows_per_log=20, seed=11)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != MANIFEST_NAME}


def test_sync_mirrors_then_skips_then_fetches_only_what_changed(local_profile, unique_name, tmp_path):
    s3 = local_profile.backend.s3_client()
    bucket = unique_name("logs")
    truth = upload_corpus(s3, bucket, SPEC)
    s3.put_object(Bucket=bucket, Key="elsewhere/other.csv", Body=b"not|mine\n")
    dest = tmp_path / "mirror"

    first = sync_prefix(s3, bucket, "turk_logs/", dest, workers=4, progress=False)
    assert first == {"listed": len(truth.objects), "downloaded": len(truth.objects), "skipped": 0,
                     "bytes": truth.compressed_bytes, "failed": []}
    mirrored = _files(dest)
    assert set(mirrored) == {key.removeprefix("turk_logs/") for key in truth.objects}
    for key in truth.objects:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert mirrored[key.removeprefix("turk_logs/")] == body

    second = sync_prefix(s3, bucket, "turk_logs/", dest, progress=False)
    assert (second["downloaded"], second["skipped"], second["bytes"]) == (0, len(truth.objects), 0)

    changed_key = sorted(truth.objects)[0]
    old = s3.get_object(Bucket=bucket, Key=changed_key)["Body"].read()
    new = bytes(b ^ 0xFF for b in old)  # same size, other bytes: only the ETag tells
    s3.put_object(Bucket=bucket, Key=changed_key, Body=new)
    (dest / sorted(truth.objects)[1].removeprefix("turk_logs/")).unlink()
    third = sync_prefix(s3, bucket, "turk_logs/", dest, progress=False)
    assert (third["downloaded"], third["skipped"]) == (2, len(truth.objects) - 2)
    assert (dest / changed_key.removeprefix("turk_logs/")).read_bytes() == new
    assert not list(dest.rglob("*.part"))


def test_prefix_without_slash_keeps_its_folder_and_hostile_keys_stay_inside(
        local_profile, unique_name, tmp_path):
    s3 = local_profile.backend.s3_client()
    bucket = unique_name("logs")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="turk_logs/b/1/logs.tar", Body=b"x")
    s3.put_object(Bucket=bucket, Key="turk_logs/../../escape.txt", Body=b"evil")
    s3.put_object(Bucket=bucket, Key="turk_logs/folder/", Body=b"")
    dest = tmp_path / "inside" / "mirror"
    summary = sync_prefix(s3, bucket, "turk_logs", dest, progress=False)
    assert (summary["listed"], summary["downloaded"]) == (2, 1)
    assert [f["key"] for f in summary["failed"]] == ["turk_logs/../../escape.txt"]
    assert "outside the destination" in summary["failed"][0]["error"]
    assert (dest / "turk_logs" / "b" / "1" / "logs.tar").read_bytes() == b"x"
    assert not list(tmp_path.rglob("escape.txt"))


def test_keys_that_cannot_be_written_are_reported_and_the_rest_is_downloaded(
        local_profile, unique_name, tmp_path):
    """A name too long for the file system, the manifest's and the temporary folder's names,
    two keys for one file: each is reported with its reason, every other key is mirrored
    (a key `X.part` beside `X` too), and the CLI exits with 1 without a traceback."""
    s3 = local_profile.backend.s3_client()
    bucket = unique_name("logs")
    s3.create_bucket(Bucket=bucket)
    good = {"logs/a/logs.tar.gz": b"first", "logs/a/logs.tar.gz.part": b"not a temporary file",
            "logs/b.part/x.csv": b"x|y\n", "logs/" + "\u00e9" * 127 + "/ok.csv": b"254 bytes: fine"}
    hostile = {"logs/" + "n" * 256 + "/logs.tar.gz": "longer than the 255",
               "logs/" + "/".join(["d" * 200] * 21): "longer than the 4096",
               f"logs/{MANIFEST_NAME}": "the sync's own",
               "logs/.iglu-sync-tmp/1.part": "the sync's own",
               "logs/a//logs.tar.gz": "as key 'logs/a/logs.tar.gz' is"}
    for key, body in good.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for key in hostile:
        s3.put_object(Bucket=bucket, Key=key, Body=b"hostile")
    dest = tmp_path / "mirror"
    summary = sync_prefix(s3, bucket, "logs/", dest, workers=4, progress=False)
    assert (summary["listed"], summary["downloaded"]) == (len(good) + len(hostile), len(good))
    assert {f["key"]: f["error"] for f in summary["failed"]}.keys() == hostile.keys()
    for failure in summary["failed"]:
        assert hostile[failure["key"]] in failure["error"], failure
    assert _files(dest) == {key.removeprefix("logs/"): body for key, body in good.items()}
    assert json.loads((dest / MANIFEST_NAME).read_text())["objects"].keys() == _files(dest).keys()
    again = sync_prefix(s3, bucket, "logs/", dest, progress=False)
    assert (again["downloaded"], again["skipped"], len(again["failed"])) == (0, len(good), len(hostile))

    cli = _iglu("logs", "sync", "--bucket", bucket, "--prefix", "logs/", "--dest", str(tmp_path / "cli"))
    assert cli.returncode == 1 and "Traceback" not in cli.stderr + cli.stdout
    assert f"downloaded {len(good)}" in cli.stdout and f"failed {len(hostile)}" in cli.stdout
    assert _files(tmp_path / "cli") == _files(dest)


def _iglu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iglu_lib.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_cli_generate_sync_process_print_json(stack, unique_name, tmp_path):
    bucket = unique_name("logs")
    generated = _iglu("stack", "generate-logs", "--bucket", bucket, "--batches", "2", "--logs-per-batch", "3",
                      "--rows-per-log", "25", "--seed", "5", "--json")
    assert generated.returncode == 0, generated.stderr
    expected = json.loads(generated.stdout)["expected"]

    mirror = tmp_path / "mirror"
    synced = _iglu("logs", "sync", "--bucket", bucket, "--prefix", "turk_logs", "--dest", str(mirror), "--json")
    assert synced.returncode == 0, synced.stderr
    sync_summary = json.loads(synced.stdout)
    assert sync_summary["downloaded"] == sync_summary["listed"] > 0 and sync_summary["failed"] == []
    again = json.loads(_iglu("logs", "sync", "--bucket", bucket, "--prefix", "turk_logs",
                             "--dest", str(mirror), "--json").stdout)
    assert (again["downloaded"], again["skipped"]) == (0, sync_summary["listed"])

    for kind in ("nsp_outputs", "error_details"):
        processed = _iglu("logs", "process", "--src", str(mirror), "--kind", kind,
                          "--out", str(tmp_path / "table"), "--date", "2026-02-03", "--json")
        assert processed.returncode == 0, processed.stderr
        summary = json.loads(processed.stdout)
        assert {key: summary[key] for key in expected[kind]} == expected[kind]
        assert Path(summary["outputs"]["csv"]).name == f"{kind}_2026-02-03.csv"

    missing = _iglu("logs", "process", "--src", str(tmp_path / "nope"), "--kind", "nsp_outputs",
                    "--out", str(tmp_path / "t"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    empty = _iglu("logs", "sync", "--bucket", unique_name("none"), "--dest", str(tmp_path / "e"), "--json")
    assert empty.returncode == 2 and "does not exist" in empty.stderr
    refused = _iglu("stack", "generate-logs", "--bucket", bucket, "--profile", "production")
    assert refused.returncode == 2 and "runs against real services" in refused.stderr
