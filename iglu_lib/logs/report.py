"""What notebook 08 checks and keeps of a run: where its folders are, whether the processing
found exactly the counts the generator injected, and the run's summary file.

The check lives here rather than in a notebook cell so that the notebook, the tests and
anyone replaying a run compare the same counts the same way, and a mismatch names the
counts that differ instead of dumping two dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_lib import paths
from iglu_lib.errors import IgluError

#: The counts of a processing summary that a generated corpus fixes in advance, in table order.
COUNTS = ("archives", "members_read", "rows_in", "duplicates_removed", "malformed_rows", "rows_out")


class CountsMismatch(IgluError):
    """The processing summary differs from the counts the generator injected."""


@dataclass(frozen=True)
class RunFolders:
    """The folders of one run: `mirror/` (the synced objects) and `table/` (the outputs)."""

    root: Path

    @property
    def mirror(self) -> Path:
        return self.root / "mirror"

    @property
    def table(self) -> Path:
        return self.root / "table"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"


def run_folders(output_dir: str | Path) -> RunFolders:
    """`output_dir` as given when absolute, else relative to the project root (not to the
    working directory, which is `notebooks/` when papermill runs the notebook)."""
    folder = Path(output_dir)
    return RunFolders(folder if folder.is_absolute() else paths.project_root() / folder)


def expected_counts(truth: Any, kind: str, prefix: str) -> dict[str, Any]:
    """The summary a correct run reports for a generated corpus (`CorpusTruth`), with the
    unreadable archives named as the sync of `prefix` names them locally."""
    from iglu_lib.logs.sync import local_name

    expected = truth.summary(kind)
    expected["bad_archives"] = sorted(local_name(prefix, key) for key in expected["bad_archives"])
    return expected


def compare_counts(summary: dict[str, Any], expected: dict[str, Any] | None = None) -> Any:
    """A table of the counts (`found`, and `expected` when given), one row per count.

    Raises CountsMismatch naming every count, and the unreadable archives, that differ."""
    import pandas as pd

    found = {key: summary[key] for key in COUNTS}
    if expected is None:
        return pd.DataFrame({"found": found})
    wanted = {key: expected[key] for key in COUNTS}
    problems = [f"{key}: expected {wanted[key]}, found {found[key]}"
                for key in COUNTS if wanted[key] != found[key]]
    bad_found, bad_wanted = sorted(summary["bad_archives"]), sorted(expected["bad_archives"])
    if bad_found != bad_wanted:
        problems.append(f"bad_archives: expected {bad_wanted}, found {bad_found}")
    if problems:
        raise CountsMismatch("processing does not match the generated logs: " + "; ".join(problems))
    return pd.DataFrame({"expected": wanted, "found": found})


def save_run(path: str | Path, **sections: Any) -> Path:
    """Write the run's sections (sync, process, expected, ...) as one JSON file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(sections, indent=2))
    return target


def sync_table(*runs: dict[str, Any], names: tuple[str, ...] = ("first run", "second run")) -> Any:
    """The counts of sync runs side by side (failures are listed by the sync, not counted here)."""
    import pandas as pd

    return pd.DataFrame(dict(zip(names, runs, strict=False))).drop("failed")


def bad_archives_table(summary: dict[str, Any]) -> Any:
    """The archives the processing could not read, with the error for each."""
    import pandas as pd

    return pd.DataFrame(list(summary["bad_archive_errors"].items()),
                        columns=["unreadable archive", "error"])


def read_table(summary: dict[str, Any]) -> Any:
    """The collated table the processing wrote (from its Parquet file, every column a string)."""
    import pandas as pd

    return pd.read_parquet(summary["outputs"]["parquet"])


def read_rejects(summary: dict[str, Any]) -> Any:
    """The rejected rows the processing wrote, every field a string as it was found."""
    return read_csv_table(summary["outputs"]["rejects"])


def read_csv_table(path: str | Path) -> Any:
    """A CSV file `iglu logs process` wrote, every field a string as it was found: the
    spreadsheet escape of formula-leading cells (`iglu_lib.spreadsheet`) is undone, so the
    result equals the Parquet file's table whether or not the CSV was written `raw`."""
    import pandas as pd

    from iglu_lib.spreadsheet import unescape_frame

    return unescape_frame(pd.read_csv(path, sep="|", dtype=str, keep_default_na=False))
