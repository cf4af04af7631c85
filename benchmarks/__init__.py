"""Benchmarks of `make bench`: each `bench_*.py` measures its subject beside a baseline in the
same run and returns entries `{"name", "value", "unit", "baseline", "ratio", "target", "better"}`.

`ratio` is value / baseline. `better` says which way is good: with "higher" the ratio must
reach at least `target` (throughput), with "lower" it must stay at most `target` (cost).
A target must stand clear of the entry's run-to-run noise, so that `make bench` fails only
on a real regression; an entry whose noise is as large as any useful target has
`"target": None` and is reported for information only (it never fails the run). An entry may
add `peak_memory_mb` (and `baseline_peak_memory_mb`), which the report prints."""
