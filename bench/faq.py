"""FAQ latency: what the FAQ pass adds to one message (target: p99 ≤ 5 ms).

Every question of the well-formed and dev sets (tests/faq/*.jsonl except the untouched
holdout, and the shared sample) goes through `Faq.ask` — the person-request check, the
topic gate, BM25, the character n-gram similarity, the calibration and the veto — three
rounds, the ranker's and the Faq's per-question memos cleared before each call so that every
call pays the whole pass. The knowledge base is built once, before timing (as at start-up).
Run alone: `.venv/bin/python -m bench.faq` (or `python -m bench --only faq --no-write`).
"""

from __future__ import annotations

import json
import time

from bench.common import ROOT, Row, percentile
from bot.faq.engine import faq_for
from domain.policy import load_policy

ROUNDS = 3
TARGET_MS = 5.0


def questions() -> list[str]:
    """The questions of every eval set but the holdout (never opened)."""
    files = sorted(p for p in (ROOT / "tests" / "faq").glob("*.jsonl")
                   if "holdout" not in p.name)
    found = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.append(str(json.loads(line)["q"]))
    return found


def measure() -> tuple[list[float], int]:
    """Milliseconds per call over ROUNDS rounds, and the number of questions."""
    faq = faq_for(load_policy())
    asked = questions()
    faq.ask("warm up")
    timings = []
    for _ in range(ROUNDS):
        for question in asked:
            faq.ranker._seen.clear()  # the memos would hide the real cost
            faq._replies.clear()
            start = time.perf_counter()
            faq.ask(question)
            timings.append((time.perf_counter() - start) * 1000)
    return timings, len(asked)


def run() -> list[Row]:
    timings, count = measure()
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    method = (f"`Faq.ask` on the {count} questions of tests/faq (holdout excluded), "
              f"{ROUNDS} rounds, memo cleared before each call; max {max(timings):.2f} ms")
    return [Row("FAQ pass per message, p99", f"{p99:.2f} ms", f"p50 {p50:.2f} ms",
                f"≤ {TARGET_MS:g} ms", p99 <= TARGET_MS, method)]


if __name__ == "__main__":
    for row in run():
        print(f"{row.name}: {row.figure} ({row.reference}; target {row.target}) {row.verdict}")
        print(f"  {row.method}")
