"""Benchmarks: `make bench` (or `python -m bench`) measures, prints and writes docs/benchmarks.md."""
