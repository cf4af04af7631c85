"""`python -m benchmarks [NAME ...]`: run the benchmarks, write outputs/bench/bench.json."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys

import benchmarks
from iglu_lib import paths


def discover(selected: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    return [n for n in names if not selected or any(s in n for s in selected)]


def met(entry: dict) -> bool:
    """Whether the entry reaches its target; an entry without one (reported for information,
    its noise being larger than any target worth setting) never fails the run."""
    if entry.get("target") is None:
        return True
    if entry["better"] == "lower":
        return entry["ratio"] <= entry["target"]
    return entry["ratio"] >= entry["target"]


def describe(entry: dict) -> str:
    """One line of the report: value, baseline, ratio against the target, peak memory."""
    if entry.get("target") is None:
        verdict = "(report only, no target)"
    else:
        sign = "<=" if entry["better"] == "lower" else ">="
        verdict = f"(target {sign} {entry['target']}) {'ok' if entry['met'] else 'MISSED'}"
    line = (f"{entry['name']}: {entry['value']:.4g} {entry['unit']} vs baseline {entry['baseline']:.4g} "
            f"-> ratio {entry['ratio']:.3g} {verdict}")
    if "peak_memory_mb" in entry:
        line += f"; peak memory {entry['peak_memory_mb']:.0f} MB"
        if "baseline_peak_memory_mb" in entry:
            line += f" (baseline {entry['baseline_peak_memory_mb']:.0f} MB)"
    return line


def main(argv: list[str]) -> int:
    entries = []
    for name in discover(argv):
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", flush=True)
        for entry in module.run():
            entry["met"] = met(entry)
            entries.append(entry)
            print(f"  {describe(entry)}", flush=True)
    out = paths.outputs_dir() / "bench" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(entries, indent=2))
    print(f"wrote {out}")
    return 0 if all(e["met"] for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
