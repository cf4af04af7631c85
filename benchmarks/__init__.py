"""Benchmarks of `make bench`: each `bench_*.py` measures its subject beside a baseline in the
same run and returns entries `{"name", "value", "unit", "baseline", "ratio", "target", "better"}`.

`ratio` is value / baseline. `better` says which way is good: with "higher" the ratio must
reach at least `target` (throughput), with "lower" it must stay at most `target` (cost)."""
