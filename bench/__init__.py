"""Benchmarks: `make bench` (`python -m bench`) measures, prints, writes docs/benchmarks.md."""
