"""`python -m bench [--only NAME,…] [--no-write]`: run, print the table, write the doc."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from datetime import UTC, datetime

from bench.common import ROOT, Row, machine
from bench.dataset import cached_path, database

BENCHMARKS = ("updates", "reminders", "pushes", "importing", "startup", "cluster", "faq",
              "waves")
DOC = ROOT / "docs" / "benchmarks.md"
FIXES = ROOT / "bench" / "fixes.md"


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = ["| figure | measured | reference | ratio or target | result |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.name} | {r.figure} | {r.reference} | {r.target} | {r.verdict} |"
              for r in rows]
    return "\n".join(lines)


def document(rows: list[Row], seconds: dict[str, float], command: str) -> str:
    """docs/benchmarks.md: machine, command, table, method of each figure, the fixes."""
    facts = "\n".join(f"- **{k}**: {v}" for k, v in machine().items())
    methods = "\n".join(f"- **{r.name}**: {r.method}" for r in rows)
    timings = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    modules = "\n".join(
        f"### {name}\n\n{(importlib.import_module(f'bench.{name}').__doc__ or '').strip()}\n"
        for name in seconds)
    return (f"# Benchmarks\n\nProduced by `{command}` on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC (wall time per benchmark: {timings}).\n"
            "Every ratio compares two figures measured in the same run; single figures are "
            "medians of repeated runs. These machines are noisy: compare ratios, not raw "
            "rates, between runs.\n\n## Machine\n\n"
            f"{facts}\n\n## Results\n\n{table(rows)}\n\n## How each figure is measured\n\n"
            f"{methods}\n\n{modules}\n### The 100,000-shop database\n\n"
            f"{(importlib.import_module('bench.dataset').__doc__ or '').strip()}\n\n"
            f"{FIXES.read_text(encoding='utf-8') if FIXES.exists() else ''}")


def main() -> int:
    """Run the chosen benchmarks (all by default)."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--no-write", action="store_true", help="do not write the doc")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if not cached_path().exists():
        print("building the 100,000-shop database (once per schema version)…", flush=True)
    database()
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for name in chosen:
        print(f"running {name}…", flush=True)
        start = time.perf_counter()
        rows += importlib.import_module(f"bench.{name}").run()
        seconds[name] = time.perf_counter() - start
    print(table(rows))
    if not args.no_write and not args.only:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(document(rows, seconds, "make bench"), encoding="utf-8")
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0  # a MISS is a finding to read in the table, not a failed command


if __name__ == "__main__":
    sys.exit(main())
