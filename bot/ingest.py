"""Platform events (SPEC §9) into the core: one path for the sandbox, HTTP and import."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable
from typing import Any

from bot import metrics
from bot.context import Deps
from bot.storage.batch import Batch
from domain.apply import EventResult, Outcome, apply_event
from domain.events import loads

_COUNTER = {
    Outcome.APPLIED: "deposit_events_applied_total",
    Outcome.DUPLICATE: "deposit_events_duplicate_total",
    Outcome.CONFLICT: "deposit_events_conflict_total",
    Outcome.REJECTED: "deposit_events_rejected_total",
}


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_line(text: str) -> Any:
    """The JSON value of one line (numbers as Decimal); malformed JSON becomes a `BadLine`."""
    try:
        raw = loads(text)
    except json.JSONDecodeError as exc:
        return BadLine(str(exc))  # "Expecting value: line 1 column 1 (char 0)"
    except ValueError:  # a number too long to convert: no Python internals in the answer
        return BadLine("not valid JSON (a number has too many digits)")
    except RecursionError:
        return BadLine("nested too deeply")
    if _ESCAPED_SURROGATE.search(text) and not _encodable(raw):
        return BadLine("a \\u escape is half of a surrogate pair (not a character)")
    return raw


def _encodable(raw: Any) -> bool:
    """A lone surrogate (JSON "\\ud800") decodes but cannot be stored or answered in UTF-8."""
    try:
        json.dumps(raw, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BadLine:
    """A line that is not one JSON object: rejected without reaching the core."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        self.reason = f"not valid JSON: {detail}"

    def result(self) -> EventResult:
        """The rejection the caller reports."""
        return EventResult(None, Outcome.REJECTED, None, "event", self.reason)


def count(result: EventResult) -> EventResult:
    """Count an outcome for /metrics and hand it back."""
    metrics.inc(_COUNTER[result.outcome])
    return result


async def apply_one(d: Deps, raw: Any) -> EventResult:
    """One event in its own transaction, at the clock's now."""
    if isinstance(raw, BadLine):
        return count(raw.result())
    return count(await apply_event(d.uow(), raw, d.clock.now(), d.policy))


# A batch commits every CHUNK_EVENTS events or CHUNK_SECONDS, whichever comes first, and then
# yields: the database lock is FIFO, so a seller's update (or /healthz, or an importer in
# another process) waiting for it goes next instead of waiting out the whole request.
CHUNK_EVENTS = 100
CHUNK_SECONDS = 0.2


async def apply_batch(d: Deps, raws: Iterable[Any]) -> list[EventResult]:
    """Many events in bounded transactions; a rejected one is undone alone, the rest commits."""
    results: list[EventResult] = []
    now = d.clock.now()
    pending = list(raws)
    while pending:
        done = await _chunk(d, pending, now, results)
        pending = pending[done:]
        await asyncio.sleep(0)  # let whoever waits for the lock in
    return results


async def _chunk(d: Deps, raws: list[Any], now: Any, results: list[EventResult]) -> int:
    """Apply events from the front of raws in one transaction until a bound; how many."""
    deadline = time.monotonic() + CHUNK_SECONDS
    taken = 0
    async with Batch(d.db) as batch:
        for raw in raws[:CHUNK_EVENTS]:
            taken += 1
            if isinstance(raw, BadLine):
                results.append(count(raw.result()))
            else:
                results.append(count(await apply_event(batch.uow(), raw, now, d.policy)))
            if time.monotonic() > deadline:
                break
    return taken
