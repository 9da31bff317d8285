"""What every benchmark shares: a result row, medians, memory readings, the machine."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"


@dataclass
class Row:
    """One line of the table: the figure, its reference, the target and whether it is met."""

    name: str
    figure: str
    reference: str
    target: str
    ok: bool | None  # None: informational, no target
    method: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "—" if self.ok is None else ("PASS" if self.ok else "MISS")


def median(values: list[float]) -> float:
    """The median of repeated runs."""
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def status_kb(pid: int | str = "self", key: str = "VmRSS") -> int:
    """A /proc/PID/status memory line (VmRSS, VmHWM) in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def machine() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python and SQLite versions (read from /proc and the runtime)."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    return {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} logical ({len(os.sched_getaffinity(0))} usable)",
        "RAM": _mem_total(),
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "load average at start": " ".join(load),
    }
