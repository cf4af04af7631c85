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
    if entry["better"] == "lower":
        return entry["ratio"] <= entry["target"]
    return entry["ratio"] >= entry["target"]


def main(argv: list[str]) -> int:
    entries = []
    for name in discover(argv):
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", flush=True)
        for entry in module.run():
            entry["met"] = met(entry)
            entries.append(entry)
            print(
                f"  {entry['name']}: {entry['value']:.4g} {entry['unit']} vs baseline {entry['baseline']:.4g} "
                f"-> ratio {entry['ratio']:.3g} (target {'<=' if entry['better'] == 'lower' else '>='} "
                f"{entry['target']}) {'ok' if entry['met'] else 'MISSED'}",
                flush=True,
            )
    out = paths.outputs_dir() / "bench" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(entries, indent=2))
    print(f"wrote {out}")
    return 0 if all(e["met"] for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
