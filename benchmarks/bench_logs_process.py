"""How fast `iglu logs process` collates a big corpus of droidlet logs, in compressed megabytes
per second, against (a) merely decompressing the same archives with `gzip -dc` and (b) the way
the droidlet scripts did it: extract every archive to disk, then read the CSVs with pandas one
at a time, concatenate, drop duplicates and write. Each runs in a fresh child process, so the
times include interpreter start-up and the peak memory (largest resident set of the child or
any process it started) is that run's own.

The corpus (>= 200 MB of `.tar.gz`/`.tgz` archives, realistic dirt included, gzip level 1 as
fast log shippers write it) is generated once in a process pool (about 20 s on 2 cores) and
cached under `outputs/bench/logs_corpus/`.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from iglu_lib import paths
from iglu_lib.local.droidlet_logs import CorpusSpec, sized, write_corpus

MIN_COMPRESSED_BYTES = 200 * 1024 * 1024
KIND = "nsp_outputs"
SPEC = CorpusSpec(
    batches=1, logs_per_batch=40, rows_per_log=3000, seed=2026, duplicate_rate=0.02,
    malformed_rate=0.005, whitespace_rate=0.01, hostile_rate=0.01, crlf_share=0.2,
    corrupt_archives=2, loose_logs=0, reuploaded_logs=2, compresslevel=1,
    archive_names=("logs.tar.gz", "logs.tgz"),
)


def corpus() -> tuple[Path, list[Path]]:
    """The cached corpus folder and its archives (generated on first use)."""
    spec = sized(SPEC, MIN_COMPRESSED_BYTES)
    key = f"{spec.seed}-{spec.batches}x{spec.logs_per_batch}x{spec.rows_per_log}"
    folder = paths.outputs_dir() / "bench" / "logs_corpus" / key
    done = folder / "truth.json"
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            truth = write_corpus(folder / "logs", spec, lambda fn, items: pool.imap(fn, items, 4))
        done.write_text(json.dumps({"spec": asdict(spec), "bytes": truth.compressed_bytes,
                                    "expected": truth.summary(KIND)}, indent=1))
    return folder / "logs", sorted((folder / "logs").rglob("*.t*gz"))


def extract_and_concat(src: str, out: str, kind: str = KIND) -> int:
    """Baseline (b): extract each archive to disk, read each CSV with pandas, concatenate."""
    import tarfile

    import pandas as pd

    with tempfile.TemporaryDirectory(dir=out) as scratch:
        for archive in sorted(Path(src).rglob("*.t*gz")):
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(Path(scratch) / archive.parent.name, filter="data")
            except (tarfile.TarError, EOFError, OSError):
                continue
        frames = []
        for path in sorted(Path(scratch).rglob(f"{kind}.csv")):
            frame = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False, on_bad_lines="skip")
            frame["turk_log_id"] = path.parent.name
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True).drop_duplicates()
    table.to_csv(Path(out) / f"{kind}.csv", sep="|", index=False)
    table.to_parquet(Path(out) / f"{kind}.parquet")
    return len(table)


def _child(code: str) -> tuple[float, float, dict]:
    """Run `code` in a fresh interpreter; seconds, peak resident MB, and what it printed."""
    wrapped = (f"import json, resource\n{code}\n"
               "peak = max(resource.getrusage(w).ru_maxrss for w in "
               "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
               "print(json.dumps({'peak_kb': peak, 'result': result}))")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True,
                          cwd=paths.project_root(), check=True)
    seconds = time.perf_counter() - start
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, report["peak_kb"] / 1024, report["result"]


def _gzip_seconds(archives: list[Path]) -> float:
    start = time.perf_counter()
    subprocess.run(["gzip", "-dc", *map(str, archives)], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def run() -> list[dict]:
    src, archives = corpus()
    megabytes = sum(a.stat().st_size for a in archives) / 1e6
    _gzip_seconds(archives)  # the corpus into the page cache, so that no run pays for the disk
    gzip_seconds = _gzip_seconds(archives)
    with tempfile.TemporaryDirectory() as scratch:
        ours, ours_peak, summary = _child(
            "from iglu_lib.logs.process import process_logs\n"
            f"result = process_logs({str(src)!r}, {KIND!r}, {scratch!r} + '/ours', date='bench', "
            "progress=False)")
        os.sync()  # our output's write-back must not slow the next run down
        Path(scratch, "pandas").mkdir()
        pandas_seconds, pandas_peak, pandas_rows = _child(
            "from benchmarks.bench_logs_process import extract_and_concat\n"
            f"result = extract_and_concat({str(src)!r}, {scratch!r} + '/pandas')")
    value = megabytes / ours
    common = {"name": "", "value": value, "unit": "compressed MB/s", "better": "higher",
              "corpus_mb": round(megabytes, 1), "rows_out": summary["rows_out"],
              "peak_memory_mb": round(ours_peak, 1)}
    return [
        {**common, "name": "logs_process_vs_gzip", "baseline": megabytes / gzip_seconds,
         "ratio": gzip_seconds / ours, "target": 0.5},
        {**common, "name": "logs_process_vs_extract_pandas", "baseline": megabytes / pandas_seconds,
         "ratio": pandas_seconds / ours, "target": 3,
         "baseline_peak_memory_mb": round(pandas_peak, 1), "baseline_rows_out": pandas_rows},
    ]
