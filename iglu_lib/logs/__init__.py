"""Droidlet interaction logs: mirror them from S3 and collate one kind of CSV file into a
clean table.

Modules: `sync` (incremental, parallel mirror of an S3 prefix), `sources` (archives read as
streams, loose files), `clean` (the row rules of one CSV file), `process` (the collation:
pool of readers, cross-file duplicates, CSV + Parquet + rejects), `report` (a run's folders,
the check of its counts against generated logs, its summary file), `plots` (the overview of a
collated table). Names below are imported on first use, so `import iglu_lib.logs` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iglu_lib.lazy import lazy_exports

if TYPE_CHECKING:  # the checker sees the real names; at run time they load on first use
    from iglu_lib.logs.clean import clean_file as clean_file
    from iglu_lib.logs.process import process_logs as process_logs
    from iglu_lib.logs.sources import find_sources as find_sources
    from iglu_lib.logs.sync import local_name as local_name
    from iglu_lib.logs.sync import sync_prefix as sync_prefix

_EXPORTS = {
    "sync_prefix": "sync",
    "local_name": "sync",
    "process_logs": "process",
    "find_sources": "sources",
    "clean_file": "clean",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
