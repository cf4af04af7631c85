"""Droidlet interaction logs: mirror them from S3 and collate one kind of CSV file into a
clean table.

Modules: `sync` (incremental, parallel mirror of an S3 prefix), `sources` (archives read as
streams, loose files), `clean` (the row rules of one CSV file), `process` (the collation:
pool of readers, cross-file duplicates, CSV + Parquet + rejects), `report` (a run's folders,
the check of its counts against generated logs, its summary file), `plots` (the overview of a
collated table). Names below are imported on first use, so `import iglu_lib.logs` stays light.
"""

from __future__ import annotations

from iglu_lib.lazy import lazy_exports

_EXPORTS = {
    "sync_prefix": "sync",
    "local_name": "sync",
    "process_logs": "process",
    "find_sources": "sources",
    "clean_file": "clean",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
