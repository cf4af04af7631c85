"""Realistic droidlet-style interaction logs, for the demo, the tests and the benchmark.

A droidlet crowd task uploads one tar archive per HIT to S3, under
`<prefix>/<batch>/<turk_log_id>/logs.tar.gz` (`.tgz` and plain `.tar` occur too). Inside, one
folder per log, `<turk_log_id>/`, holds `|`-separated CSV files written by the agent's
loggers, and a small `job_metadata.json`:

* `nsp_outputs.csv` — one row per command the worker typed and what the semantic parser made
  of it: `command|action_dict|source|agent|time` (`action_dict` is the Python repr of the
  logical form, `source` is `model` or `ground_truth`, `agent` the agent's class name,
  `time` seconds since the epoch).
* `error_details.csv` — commands the agent failed on:
  `command|action_dict|time|parser_error|other_error|other_error_description`.

Fields holding `|`, `"` or a leading space are quoted the CSV way (`"a | b"`, `""` for a
quote), one record per line. Real logs are dirtier than their loggers intend, so the
generator adds, at seeded rates: exact duplicate rows (a logger flushed twice), stray
whitespace around fields, CRLF line endings (logs written on Windows), rows with a field
missing or one too many (a crash mid-write), hostile text (quotes, `|` inside quoted fields,
markup and entities, spreadsheet formulas), a log uploaded twice under two batches, loose
already-extracted CSVs, and corrupt archives (truncated uploads, non-archives). It also
returns the ground truth a correct processor must find, per CSV kind.

Everything is a pure function of the spec and its seed: a log is built from
`(spec.seed, log index)` alone, so logs can be built in parallel and give the same corpus.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import json
import math
import random
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NSP_COLUMNS = ("command", "action_dict", "source", "agent", "time")
ERROR_COLUMNS = ("command", "action_dict", "time", "parser_error", "other_error",
                 "other_error_description")
#: The CSV kinds a log holds, and their header.
KINDS: dict[str, tuple[str, ...]] = {"nsp_outputs": NSP_COLUMNS, "error_details": ERROR_COLUMNS}
ARCHIVE_NAMES = ("logs.tar.gz", "logs.tgz", "logs.tar")

_COLOURS = ("red", "blue", "green", "yellow", "purple", "orange", "white", "black", "gold")
_SHAPES = ("cube", "tower", "house", "wall", "bridge", "pyramid", "arch", "circle", "sphere")
_PLACES = ("next to me", "over there", "on top of the house", "behind the tree",
           "to the left of the tower", "where I am looking", "in front of you", "near the lake")
_ANIMALS = ("cow", "pig", "sheep", "chicken", "rabbit")
_HOSTILE = (
    'build a "really big" tower',
    "copy that | then paste it here",
    'say "hello | world"',
    "<b>dance</b> &amp; spin <script>alert(1)</script>",
    "=HYPERLINK(\"http://example.test\",\"click\")",
    "make it &lt;bigger&gt; &#x27;now&#x27;",
    "   build a house with  double  spaces   ",
)
#: Per-row context in a logical form: the speaker's memory id and position, filled per row.
_CONTEXT = {"speaker_memid": "@MEMID@", "speaker_pos": "@POS@"}
_SPECIAL = ("|", '"', "\n", "\r")


@dataclass(frozen=True)
class CorpusSpec:
    """What to generate. Rates are per row; shares are per log."""

    batches: int = 2
    logs_per_batch: int = 4
    rows_per_log: int = 30
    seed: int = 0
    duplicate_rate: float = 0.05
    malformed_rate: float = 0.03
    whitespace_rate: float = 0.08
    hostile_rate: float = 0.03
    crlf_share: float = 0.3
    corrupt_archives: int = 2
    loose_logs: int = 1
    reuploaded_logs: int = 1
    compresslevel: int = 6
    prefix: str = "turk_logs"
    archive_names: tuple[str, ...] = ARCHIVE_NAMES


@dataclass
class KindTruth:
    """What a correct processor reports for one CSV kind."""

    members_read: int = 0
    rows_in: int = 0
    duplicates_removed: int = 0
    malformed_rows: int = 0

    @property
    def rows_out(self) -> int:
        return self.rows_in - self.duplicates_removed - self.malformed_rows

    def add(self, other: KindTruth, *, all_duplicates: bool = False) -> None:
        self.members_read += other.members_read
        self.rows_in += other.rows_in
        self.malformed_rows += other.malformed_rows
        self.duplicates_removed += other.rows_in - other.malformed_rows if all_duplicates \
            else other.duplicates_removed


@dataclass
class CorpusTruth:
    """The ground truth of a generated corpus: objects written and expected counts."""

    archives: int = 0
    bad_archives: list[str] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, KindTruth] = field(default_factory=lambda: {k: KindTruth() for k in KINDS})

    @property
    def compressed_bytes(self) -> int:
        return sum(self.objects.values())

    def table(self) -> Any:
        """What the generator injected: one column per CSV kind, one row per count."""
        import pandas as pd

        return pd.DataFrame({kind: self.summary(kind) for kind in self.kinds}).drop("bad_archives")

    def summary(self, kind: str) -> dict[str, Any]:
        """The `iglu logs process --json` summary a correct processor prints for `kind`."""
        truth = self.kinds[kind]
        return {
            "archives": self.archives,
            "members_read": truth.members_read,
            "rows_in": truth.rows_in,
            "duplicates_removed": truth.duplicates_removed,
            "malformed_rows": truth.malformed_rows,
            "rows_out": truth.rows_out,
            "bad_archives": sorted(self.bad_archives),
        }


@dataclass(frozen=True)
class GeneratedLog:
    """One log's CSV files (already serialised) and the truth about each."""

    turk_log_id: str
    files: dict[str, bytes]
    truths: dict[str, KindTruth]


# -- one log ---------------------------------------------------------------------------------
def build_log(spec: CorpusSpec, index: int) -> GeneratedLog:
    """The CSV files of log number `index`: a pure function of the spec's seed and the index."""
    rng = random.Random(f"{spec.seed}:{index}")
    turk_log_id = f"{rng.getrandbits(64):016x}-{index:06d}"
    start = 1_633_000_000.0 + rng.uniform(0, 30_000_000)
    crlf = rng.random() < spec.crlf_share
    files, truths = {}, {}
    for kind, columns in KINDS.items():
        rows = spec.rows_per_log if kind == "nsp_outputs" else max(1, spec.rows_per_log // 4)
        text, truth = _kind_file(rng, spec, columns, rows, start)
        files[f"{kind}.csv"] = (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")
        truths[kind] = truth
    metadata = {"turk_log_id": turk_log_id, "batch": index // max(1, spec.logs_per_batch),
                "created": start, "agent": "craftassist_agent"}
    files["job_metadata.json"] = json.dumps(metadata).encode("utf-8")
    return GeneratedLog(turk_log_id, files, truths)


def _kind_file(rng: random.Random, spec: CorpusSpec, columns: tuple[str, ...], rows: int,
               start: float) -> tuple[str, KindTruth]:
    commands = [_command(rng) for _ in range(min(rows, 48))]
    lines = ["|".join(columns)]
    truth = KindTruth(members_read=1)
    clock = start
    for _ in range(rows):
        clock += rng.uniform(0.5, 40.0)
        command = _hostile_command(rng) if rng.random() < spec.hostile_rate else rng.choice(commands)
        values = _row_values(rng, columns, command, clock)
        line = _serialise(values)
        if rng.random() < spec.whitespace_rate:
            line = _pad(rng, values)
        lines.append(line)
        truth.rows_in += 1
        if rng.random() < spec.duplicate_rate:
            lines.append(_pad(rng, values) if rng.random() < 0.3 else line)
            truth.rows_in += 1
            truth.duplicates_removed += 1
        if rng.random() < spec.malformed_rate:
            lines.append(_malformed(rng, values))
            truth.rows_in += 1
            truth.malformed_rows += 1
    return "\n".join(lines) + "\n", truth


def _hostile_command(rng: random.Random) -> tuple[str, str]:
    text = rng.choice(_HOSTILE)
    return text, repr({"dialogue_type": "NOOP", "text": text.strip(), "context": _CONTEXT})


def _command(rng: random.Random) -> tuple[str, str]:
    verb = rng.choice(("BUILD", "DESTROY", "DIG", "COPY", "MOVE", "SPAWN", "DANCE", "GET_MEMORY"))
    colour, shape, place = rng.choice(_COLOURS), rng.choice(_SHAPES), rng.choice(_PLACES)
    text = {
        "BUILD": f"build a {colour} {shape} {place}",
        "DESTROY": f"destroy the {shape} {place}",
        "DIG": f"dig a hole {rng.randint(1, 9)} by {rng.randint(1, 9)} {place}",
        "COPY": f"make a copy of the {colour} {shape} {place}",
        "MOVE": f"come {place}",
        "SPAWN": f"spawn {rng.randint(2, 6)} {rng.choice(_ANIMALS)}s {place}",
        "DANCE": "dance" if rng.random() < 0.5 else f"dance around the {shape}",
        "GET_MEMORY": f"how many {colour} {shape}s are there",
    }[verb]
    return text, repr({**_logical_form(verb, text, colour, shape), "context": _CONTEXT})


def _logical_form(verb: str, text: str, colour: str, shape: str) -> dict[str, Any]:
    words = text.split()
    span = [0, [len(words) - 2, len(words) - 1]]
    if verb == "GET_MEMORY":
        return {"dialogue_type": "GET_MEMORY", "filters": {
            "output": "COUNT", "where_clause": {"AND": [
                {"pred_text": "has_colour", "obj_text": [0, [2, 2]]},
                {"pred_text": "has_name", "obj_text": [0, [3, 3]]}]}}}
    action: dict[str, Any] = {"action_type": verb}
    if verb in ("BUILD", "COPY", "DESTROY"):
        action["reference_object" if verb != "BUILD" else "schematic"] = {
            "filters": {"where_clause": {"AND": [
                {"pred_text": "has_colour", "obj_text": [0, [2, 2]], "value": colour},
                {"pred_text": "has_name", "obj_text": [0, [3, 3]], "value": shape}]}},
            "text_span": span}
    action["location"] = {"reference_object": {"special_reference": "SPEAKER"},
                          "text_span": span, "relative_direction": "AWAY"}
    return {"dialogue_type": "HUMAN_GIVE_COMMAND", "action_sequence": [action]}


def _row_values(rng: random.Random, columns: tuple[str, ...], command: tuple[str, str],
                clock: float) -> list[str]:
    text, action_dict = command
    stamp = f"{clock:.4f}"
    position = f"[{rng.uniform(-64, 64):.2f}, {rng.randint(60, 70)}, {rng.uniform(-64, 64):.2f}]"
    action_dict = action_dict.replace("@MEMID@", f"{rng.getrandbits(128):032x}").replace(
        "'@POS@'", position)
    if columns == NSP_COLUMNS:
        source = "ground_truth" if rng.random() < 0.15 else "model"
        return [text, action_dict, source, "craftassist_agent", stamp]
    error = rng.choice(("", "KeyError: 'schematic'", "timeout in perception"))
    return [text, action_dict, stamp, str(not error), str(bool(error)), error]


def _serialise(values: list[str]) -> str:
    """One CSV record the way `csv.writer(delimiter="|")` writes it (quoted only if needed)."""
    return "|".join(['"' + v.replace('"', '""') + '"' if any(c in v for c in _SPECIAL) else v
                     for v in values])


def _pad(rng: random.Random, values: list[str]) -> str:
    """The same row with spaces and tabs around its (unquoted) fields."""
    padded = []
    for value in values:
        cell = _serialise([value.strip()])
        if cell.startswith('"'):
            padded.append(cell)
        else:
            padded.append(rng.choice(("", " ", "  ", "\t")) + cell + rng.choice(("", " ", "\t ")))
    return "|".join(padded)


def _malformed(rng: random.Random, values: list[str]) -> str:
    if rng.random() < 0.5:
        return _serialise(values[:-1])
    return _serialise([*values, "truncated write"])


# -- the corpus --------------------------------------------------------------------------------
def tar_log(log: GeneratedLog, archive_name: str, compresslevel: int = 6) -> bytes:
    """The log as a tar archive, gzip-compressed unless the name ends in `.tar`; byte for byte
    the same on every run (fixed times in the tar and gzip headers)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in log.files.items():
            info = tarfile.TarInfo(f"{log.turk_log_id}/{name}")
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    if archive_name.endswith(".tar"):
        return buffer.getvalue()
    return gzip.compress(buffer.getvalue(), compresslevel=compresslevel, mtime=0)


@dataclass(frozen=True)
class PackedLog:
    """One log as it is uploaded: its archive (`archive_name`), or loose files when it has none."""

    turk_log_id: str
    truths: dict[str, KindTruth]
    archive_name: str | None
    objects: dict[str, bytes]


def pack_log(spec: CorpusSpec, index: int) -> PackedLog:
    """Log number `index`, archived (or loose for the first `spec.loose_logs`): pure, so a
    process pool can build and compress many at once."""
    log = build_log(spec, index)
    if index < spec.loose_logs:
        return PackedLog(log.turk_log_id, log.truths, None, dict(log.files))
    name = spec.archive_names[index % len(spec.archive_names)]
    return PackedLog(log.turk_log_id, log.truths, name, {name: tar_log(log, name, spec.compresslevel)})


def sized(spec: CorpusSpec, min_compressed_bytes: int) -> CorpusSpec:
    """`spec` with enough batches for at least `min_compressed_bytes` of objects: the size of a
    log is estimated from one cycle of archive kinds, with 5% to spare, and the logs that come
    out loose or corrupt are not counted on."""
    sample = range(spec.loose_logs, spec.loose_logs + 2 * len(spec.archive_names))
    per_log = sum(len(data) for i in sample for data in pack_log(spec, i).objects.values()) / len(sample)
    logs = math.ceil(min_compressed_bytes * 1.05 / per_log) + spec.loose_logs + spec.corrupt_archives
    return dataclasses.replace(spec, batches=max(1, math.ceil(logs / spec.logs_per_batch)))


def iter_corpus(spec: CorpusSpec, truth: CorpusTruth, map_fn: Callable[..., Iterable[Any]] = map
                ) -> Iterator[tuple[str, bytes]]:
    """Yield `(key, bytes)` for every object of the corpus, updating `truth` as it goes.

    `map_fn` maps `pack_log` over the log indexes, in order (`map`, or a pool's `imap`).
    """
    total = spec.batches * spec.logs_per_batch
    reuploads: list[PackedLog] = []
    for index, packed in enumerate(map_fn(functools.partial(pack_log, spec), range(total))):
        folder = f"{spec.prefix}/batch-{index // spec.logs_per_batch:03d}/{packed.turk_log_id}"
        if packed.archive_name is None:
            _count(packed, truth, archive=False)
            for name, data in packed.objects.items():
                truth.objects[f"{folder}/{name}"] = len(data)
                yield f"{folder}/{name}", data
            continue
        archive = packed.objects[packed.archive_name]
        if index >= total - spec.corrupt_archives:
            yield _corrupt(f"{folder}/{packed.archive_name}", archive, index, truth)
            continue
        _count(packed, truth)
        truth.objects[f"{folder}/{packed.archive_name}"] = len(archive)
        yield f"{folder}/{packed.archive_name}", archive
        if len(reuploads) < spec.reuploaded_logs:
            reuploads.append(packed)
    for packed in reuploads:
        key = f"{spec.prefix}/reupload/{packed.turk_log_id}/{packed.archive_name}"
        _count(packed, truth, reupload=True)
        archive = packed.objects[packed.archive_name or ""]
        truth.objects[key] = len(archive)
        yield key, archive


def _count(packed: PackedLog, truth: CorpusTruth, *, archive: bool = True, reupload: bool = False
           ) -> None:
    truth.archives += int(archive)
    for kind in KINDS:
        truth.kinds[kind].add(packed.truths[kind], all_duplicates=reupload)


def _corrupt(key: str, archive: bytes, index: int, truth: CorpusTruth) -> tuple[str, bytes]:
    """A truncated upload (even indexes) or a file that is no archive at all (odd ones)."""
    data = archive[: len(archive) * 3 // 5] if index % 2 == 0 else b"<html>503 Slow Down</html>\n" * 8
    truth.archives += 1
    truth.bad_archives.append(key)
    truth.objects[key] = len(data)
    return key, data


def write_corpus(folder: str | Path, spec: CorpusSpec,
                 map_fn: Callable[..., Iterable[Any]] = map) -> CorpusTruth:
    """Write the corpus under `folder` (keys become relative paths); return its truth."""
    truth = CorpusTruth()
    root = Path(folder)
    for key, data in iter_corpus(spec, truth, map_fn):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return truth


def upload_corpus(s3: Any, bucket: str, spec: CorpusSpec, *, create_bucket: bool = True,
                  progress: bool = False) -> CorpusTruth:
    """Fill `bucket` (created if missing) with the corpus through an S3 client; return its truth."""
    from tqdm.auto import tqdm

    if create_bucket:
        _ensure_bucket(s3, bucket)
    truth = CorpusTruth()
    for key, data in tqdm(iter_corpus(spec, truth), desc="upload logs",
                          unit="obj", disable=not progress):
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    return truth


def truth_table(truth: CorpusTruth) -> Any:
    """What the generator injected: one column per CSV kind, one row per count."""
    return truth.table()


def _ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
