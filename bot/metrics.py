"""In-process counters for /metrics (Prometheus text format)."""

from __future__ import annotations

from collections import Counter

COUNTERS: Counter[str] = Counter()


def inc(name: str, n: int = 1) -> None:
    """Add n to a counter."""
    COUNTERS[name] += n
