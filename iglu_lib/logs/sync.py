"""Mirror the objects under an S3 prefix to a folder, incrementally (`iglu logs sync`).

An object is downloaded when the folder has no file for it, or the file's size differs, or
the object's ETag differs from the one recorded when it was last downloaded: the ETags live
in a small manifest beside the files (`.iglu-sync.json`), because a file on disk has no ETag
of its own. Downloads run in a bounded thread pool (boto3 clients are thread-safe), go to a
`.part` file first and are renamed when complete, so an interrupted sync never leaves a
half file that a later run would take for whole. A single-part upload's ETag is the MD5 of
its bytes, and is checked. Keys are mirrored relative to the prefix up to its last `/`
(`--prefix turk_logs/` drops `turk_logs/`, `--prefix turk_logs` keeps it), like `aws s3 sync`;
a key that would land outside the folder (`..`, absolute) is refused and reported.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST_NAME = ".iglu-sync.json"
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteObject:
    key: str
    size: int
    etag: str
    relative: str


@dataclass
class SyncSummary:
    """What `iglu logs sync --json` prints."""

    listed: int = 0
    downloaded: int = 0
    skipped: int = 0
    bytes: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"listed": self.listed, "downloaded": self.downloaded, "skipped": self.skipped,
                "bytes": self.bytes, "failed": self.failed}


class UnsafeKey(Exception):
    """An object key that would be written outside the destination folder."""


class BucketNotFound(Exception):
    """The bucket does not exist at the profile's endpoint."""

    user_error = True


def sync_prefix(s3: Any, bucket: str, prefix: str, dest: str | Path, *, workers: int = 8,
                progress: bool = True) -> dict[str, Any]:
    """Mirror `s3://bucket/prefix` into `dest`; returns the summary (see `SyncSummary`)."""
    from tqdm.auto import tqdm

    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(root)
    summary = SyncSummary()
    todo: list[RemoteObject] = []
    for item in list_objects(s3, bucket, prefix):
        summary.listed += 1
        if isinstance(item, dict):
            summary.failed.append(item)
        elif _is_current(root, item, manifest):
            summary.skipped += 1
        else:
            todo.append(item)
    with tqdm(total=sum(o.size for o in todo), unit="B", unit_scale=True, desc="sync",
              disable=not progress) as bar, \
            concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(_download, s3, bucket, item, root): item for item in todo}
        for future in concurrent.futures.as_completed(futures):
            item = futures[future]
            bar.update(item.size)
            try:
                future.result()
            except Exception as err:  # noqa: BLE001 - every failure is reported, the rest go on
                summary.failed.append({"key": item.key, "error": f"{type(err).__name__}: {err}"})
                continue
            summary.downloaded += 1
            summary.bytes += item.size
            manifest[item.relative] = {"key": item.key, "etag": item.etag, "size": item.size}
    _write_manifest(root, manifest)
    summary.failed.sort(key=lambda f: f["key"])
    return summary.as_dict()


def list_objects(s3: Any, bucket: str, prefix: str) -> Iterator[RemoteObject | dict[str, str]]:
    """Every object under the prefix, or a failure entry for a key that is not safe to mirror."""
    paginator = s3.get_paginator("list_objects_v2")
    try:
        pages = list(paginator.paginate(Bucket=bucket, Prefix=prefix))
    except s3.exceptions.NoSuchBucket:
        raise BucketNotFound(f"bucket '{bucket}' does not exist at {s3.meta.endpoint_url}; check "
                             "--bucket and --profile") from None
    for page in pages:
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/"):
                continue
            try:
                relative = local_name(prefix, key)
            except UnsafeKey as err:
                yield {"key": key, "error": str(err)}
                continue
            yield RemoteObject(key, int(obj["Size"]), obj["ETag"].strip('"'), relative)


def local_name(prefix: str, key: str) -> str:
    """Where `key` lands under the destination: relative to `prefix` up to its last `/`."""
    base = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return safe_relative(key[len(base):])


def safe_relative(name: str) -> str:
    """`name` as a relative path that stays inside the destination, or UnsafeKey."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or "\0" in name:
        raise UnsafeKey(f"key part {name!r} would be written outside the destination; skipped")
    return path.as_posix()


def _is_current(root: Path, item: RemoteObject, manifest: dict[str, Any]) -> bool:
    local = root / item.relative
    known = manifest.get(item.relative, {})
    return local.is_file() and local.stat().st_size == item.size and known.get("etag") == item.etag


def _download(s3: Any, bucket: str, item: RemoteObject, root: Path) -> None:
    target = root / item.relative
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    body = s3.get_object(Bucket=bucket, Key=item.key)["Body"]
    try:
        with part.open("wb") as handle:
            for chunk in body.iter_chunks(_CHUNK):
                handle.write(chunk)
                digest.update(chunk)
        _check(item, part, digest.hexdigest())
        part.replace(target)
    finally:
        body.close()
        part.unlink(missing_ok=True)


def _check(item: RemoteObject, part: Path, md5: str) -> None:
    size = part.stat().st_size
    if size != item.size:
        raise OSError(f"got {size} bytes, the listing said {item.size}; run the sync again")
    if _MD5_ETAG.match(item.etag) and md5 != item.etag:
        raise OSError(f"MD5 {md5} does not match the ETag {item.etag}; run the sync again")


def _read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}  # a damaged manifest only costs a full download, never a wrong skip
    return loaded.get("objects", {}) if isinstance(loaded, dict) else {}


def _write_manifest(root: Path, objects: dict[str, Any]) -> None:
    path = root / MANIFEST_NAME
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps({"objects": dict(sorted(objects.items()))}, indent=1), encoding="utf-8")
    part.replace(path)
