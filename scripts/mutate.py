"""Mutation testing of the modules that decide pay, sanctions and rank (`make mutate`).

For each module below, mutmut (3.x) makes small deliberate changes to its code (`<` to `<=`,
`+` to `-`, a string or constant changed, a call's argument dropped, ...) and runs the
module's fast tests against each change. A change no test notices ("survived") is a hole:
behaviour that could break without a test failing. The score is the share of mutants caught.

Each module runs in its own scratch folder (`outputs/mutate/<name>/`, with a `pyproject.toml`
that adds a `[tool.mutmut]` section to the repository's), so that mutmut mutates only that
module and selects only its fast tests, and so that runs never leave files in the work tree.

Add a module by adding a line to `MODULES`: its name, its source file, its fast tests (tests
that need no local stack) and the score it must reach. Survivors that cannot change behaviour
are marked in the source with `# pragma: no mutate` and a reason on the same line.

Usage: `python scripts/mutate.py [name ...] [--jobs N] [--diffs]`; exit status 1 when a
module is below its goal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "outputs" / "mutate"


@dataclass(frozen=True)
class Module:
    """One module under mutation: its source, the fast tests that hold it, its goal."""

    source: str
    tests: tuple[str, ...]
    goal: float = 0.90


#: The modules that decide pay, sanctions and rank, with their fast tests.
MODULES: dict[str, Module] = {
    "evidence": Module("iglu_lib/platform/evidence.py", (
        "tests/test_edges_evidence.py", "tests/test_platform_validation.py")),
    "validation": Module("iglu_lib/platform/validation.py", (
        "tests/test_edges_validation.py", "tests/test_platform_validation.py")),
    "collection_evidence": Module("iglu_lib/collection/evidence.py", ("tests/test_collection_evidence_rules.py",)),
    "judge": Module("iglu_lib/collection/judge.py", (
        "tests/test_edges_judge.py", "tests/test_judge_properties.py")),
    "strategy": Module("iglu_lib/scheduling/strategy.py", (
        "tests/test_edges_scheduling.py", "tests/test_scheduling_scheduler.py",
        "tests/test_scheduling_adaptive.py")),
    "scheduler": Module("iglu_lib/scheduling/scheduler.py", (
        "tests/test_edges_scheduling.py", "tests/test_scheduling_scheduler.py")),
    "choice": Module("iglu_lib/analysis/choice.py", (
        "tests/test_choice_reference.py", "tests/test_analysis_choice.py"), goal=0.80),
    "ledger": Module("iglu_lib/ledger/book.py", ("tests/test_ledger_rules.py",)),
    "judgements": Module("iglu_lib/analysis/judgements.py", ("tests/test_analysis_judgements.py",)),
}


def prepare(name: str, module: Module) -> Path:
    """A fresh scratch copy of the library and tests, with mutmut's settings for this module."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "iglu_lib", folder / "iglu_lib", ignore=ignore)
    shutil.copytree(ROOT / "tests", folder / "tests", ignore=ignore)
    settings = {
        "source_paths": ["iglu_lib"],
        "only_mutate": [module.source],
        "pytest_add_cli_args_test_selection": list(module.tests),
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q"],
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (folder / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + "\n".join(lines) + "\n")
    return folder


def mutmut(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run mutmut in a module's scratch folder; the scratch copy, not the work tree, is imported."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=folder, env=env,
                          capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class Score:
    """What one module's run found."""

    name: str
    caught: int
    total: int
    survivors: tuple[str, ...]
    seconds: float

    @property
    def share(self) -> float:
        return self.caught / self.total if self.total else 1.0


def run_module(name: str, module: Module, jobs: int) -> Score:
    """Mutate one module, run its fast tests against every mutant, and read the results."""
    started = time.monotonic()
    folder = prepare(name, module)
    done = mutmut(folder, "run", "--max-children", str(jobs))
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"mutmut failed on {name} (see above)")
    listed = mutmut(folder, "results", "--all", "true").stdout
    statuses = dict(re.findall(r"^\s+(\S+): (.+)$", listed, flags=re.MULTILINE))
    caught = sum(status in ("killed", "timeout", "caught by type check") for status in statuses.values())
    survivors = tuple(key for key, status in statuses.items() if status not in (
        "killed", "timeout", "caught by type check"))
    return Score(name, caught, len(statuses), survivors, time.monotonic() - started)


def describe(name: str, mutant: str, diffs: bool) -> str:
    """One line per surviving mutant (its status and changed line), or its whole diff."""
    shown = mutmut(WORK / name, "show", mutant).stdout
    if diffs:
        return shown
    status = shown.splitlines()[0].split(": ", 1)[-1] if shown else "?"
    changed = [line[1:].strip() for line in shown.splitlines()
               if line.startswith("+") and not line.startswith("+++")]
    return f"  {mutant} [{status}]: {' | '.join(changed)[:160]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"modules to mutate (default all: {', '.join(MODULES)})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run in parallel")
    parser.add_argument("--diffs", action="store_true", help="print each survivor's whole diff")
    options = parser.parse_args(argv)
    unknown = sorted(set(options.names) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(MODULES)}")
    scores = []
    for name in options.names or list(MODULES):
        score = run_module(name, MODULES[name], options.jobs)
        scores.append(score)
        print(f"\n== {name} ({MODULES[name].source}): {score.caught}/{score.total} caught "
              f"({score.share:.0%}) in {score.seconds:.0f} s; {len(score.survivors)} survived", flush=True)
        for mutant in score.survivors:
            print(describe(name, mutant, options.diffs), flush=True)
    print("\nmodule       caught   total   score   goal")
    failed = False
    for score in scores:
        goal = MODULES[score.name].goal
        failed |= score.share < goal
        mark = "" if score.share >= goal else "   BELOW GOAL"
        print(f"{score.name:<12} {score.caught:>6} {score.total:>7} {score.share:>7.0%} {goal:>6.0%}{mark}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
