"""Mirror the objects under an S3 prefix to a folder, incrementally (`iglu logs sync`).

An object is downloaded when the folder has no file for it, or the file's size differs, or
the object's ETag differs from the one recorded when it was last downloaded: the ETags live
in a small manifest beside the files (`.iglu-sync.json`), because a file on disk has no ETag
of its own. Downloads run in a bounded thread pool (boto3 clients are thread-safe), go to a
temporary file in the folder's own `.iglu-sync-tmp/` first and are renamed when complete, so
an interrupted sync never leaves a half file that a later run would take for whole, and no
temporary name can be an object's name (a key `X.part` beside `X` is an ordinary file). A
single-part upload's ETag is the MD5 of its bytes, and is checked. Keys are mirrored
relative to the prefix up to its last `/` (`--prefix turk_logs/` drops `turk_logs/`,
`--prefix turk_logs` keeps it), like `aws s3 sync`.

A key that cannot be written is reported in `failed` with the reason, and the sync goes on
with the rest (the CLI then exits with 1): one that would land outside the folder (`..`,
absolute), a path component longer than the file system allows (255 bytes) or a path
longer than 4096 bytes, the manifest's or the temporary folder's name, a key landing on the
same file as another key, and any download that fails.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from iglu_lib.errors import IgluError

logger = logging.getLogger(__name__)

MANIFEST_NAME = ".iglu-sync.json"
#: Where downloads are written before they are renamed into place.
TEMPORARY_FOLDER = ".iglu-sync-tmp"
#: Names the sync writes itself, which no key may take.
RESERVED_NAMES = (MANIFEST_NAME, MANIFEST_NAME + ".part", TEMPORARY_FOLDER)
#: Longest file name (bytes) and relative path most file systems take (NAME_MAX, PATH_MAX).
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
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


class UnsafeKey(IgluError):
    """An object key that would be written outside the destination folder."""


class BucketNotFound(IgluError):
    """The bucket does not exist at the profile's endpoint."""



def sync_prefix(s3: Any, bucket: str, prefix: str, dest: str | Path, *, workers: int = 8,
                progress: bool = True) -> dict[str, Any]:
    """Mirror `s3://bucket/prefix` into `dest`; returns the summary (see `SyncSummary`)."""
    from tqdm.auto import tqdm

    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(root)
    summary = SyncSummary()
    todo: list[RemoteObject] = []
    for item in _without_clashes(list_objects(s3, bucket, prefix)):
        summary.listed += 1
        if isinstance(item, dict):
            summary.failed.append(item)
            continue
        try:
            current = _is_current(root, item, manifest)
        except OSError as err:  # e.g. a name the file system refuses
            summary.failed.append({"key": item.key, "error": f"{type(err).__name__}: {err}"})
            continue
        if current:
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
                logger.warning("s3://%s/%s not written: %s", bucket, item.key, err)
                continue
            summary.downloaded += 1
            summary.bytes += item.size
            manifest[item.relative] = {"key": item.key, "etag": item.etag, "size": item.size}
    _write_manifest(root, manifest)
    with contextlib.suppress(OSError):
        (root / TEMPORARY_FOLDER).rmdir()  # only when empty: nothing of a running sync is lost
    summary.failed.sort(key=lambda f: f["key"])
    return summary.as_dict()


def _without_clashes(items: Iterator[RemoteObject | dict[str, str]]) -> list[RemoteObject | dict[str, str]]:
    """The listing, with a key that lands on the same file as another key (`a//b` and `a/b`)
    turned into a failure entry, so that two downloads never race for one file. The key
    spelled as its file is kept (else the first in listing order)."""
    listed = list(items)
    keepers: dict[str, RemoteObject] = {}
    for item in listed:
        if isinstance(item, RemoteObject):
            best = keepers.setdefault(item.relative, item)
            if not best.key.endswith(best.relative) and item.key.endswith(item.relative):
                keepers[item.relative] = item
    result: list[RemoteObject | dict[str, str]] = []
    for item in listed:
        keeper = keepers.get(item.relative) if isinstance(item, RemoteObject) else None
        if isinstance(item, RemoteObject) and keeper is not None and keeper is not item:
            result.append({"key": item.key, "error": f"would be written to {item.relative!r}, as "
                                                     f"key {keeper.key!r} is; skipped"})
        else:
            result.append(item)
    return result


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
    """`name` as a relative path that stays inside the destination and that this sync can
    write (see the module docstring), or UnsafeKey saying why not."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or "\0" in name:
        raise UnsafeKey(f"key part {name!r} would be written outside the destination; skipped")
    relative = path.as_posix()
    if relative == ".":
        raise UnsafeKey(f"key part {name!r} names the destination folder itself; skipped")
    if path.parts[0] in RESERVED_NAMES:
        raise UnsafeKey(f"key part {name!r} would overwrite the sync's own {path.parts[0]!r}; skipped")
    longest = max(path.parts, key=lambda part: len(part.encode("utf-8")))
    if len(longest.encode("utf-8")) > MAX_NAME_BYTES:
        raise UnsafeKey(f"key part {name[:60]!r}... has a path component of "
                        f"{len(longest.encode('utf-8'))} bytes, longer than the {MAX_NAME_BYTES} "
                        "a file name may have; skipped")
    if len(relative.encode("utf-8")) > MAX_PATH_BYTES:
        raise UnsafeKey(f"key part {name[:60]!r}... is longer than the {MAX_PATH_BYTES} bytes a "
                        "path may have; skipped")
    return relative


def _is_current(root: Path, item: RemoteObject, manifest: dict[str, Any]) -> bool:
    local = root / item.relative
    known = manifest.get(item.relative, {})
    return local.is_file() and local.stat().st_size == item.size and known.get("etag") == item.etag


def _download(s3: Any, bucket: str, item: RemoteObject, root: Path) -> None:
    target = root / item.relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = root / TEMPORARY_FOLDER
    temporary.mkdir(exist_ok=True)
    part = temporary / f"{uuid.uuid4().hex}.part"
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
