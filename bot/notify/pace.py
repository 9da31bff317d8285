"""An even pace for the Bot API: one message per slot on a fixed grid, never a burst."""

from __future__ import annotations

import asyncio
from types import TracebackType

from telegram.ext import AIORateLimiter

# Messages leave on the grid but reach Telegram with network jitter; at exactly the limit a
# message arriving a little early is the 31st of its second. 3% of the rate is kept in hand.
PUSH_HEADROOM = 0.03


class EvenPace:
    """`async with pace:` waits for the next free slot, `1/rate` seconds after the last one.

    Slots follow the grid, not the moment the previous waiter woke up, so a late wake-up is
    caught up by the next message instead of lost; an idle spell restarts the grid at now,
    so no backlog of slots is ever spent at once. Any one second therefore holds at most
    ceil(rate) slots — the guarantee aiolimiter's bucket of `rate` tokens cannot give.
    """

    def __init__(self, rate: float) -> None:
        self.spacing = 1 / rate
        self._next = 0.0

    async def __aenter__(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self.spacing  # taken before waiting: the next caller queues after
        if slot > now:
            await asyncio.sleep(slot - now)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


def rate_limiter(push_rate: float, flood_retries: int) -> AIORateLimiter:
    """Telegram's limits: `push_rate` messages a second overall on an even pace (minus the
    headroom), 20 a minute per group; a 429 pauses every request for its retry_after,
    `flood_retries` times, before the sender reschedules the push."""
    limiter = AIORateLimiter(overall_max_rate=push_rate, overall_time_period=1,
                             max_retries=flood_retries)
    # AIORateLimiter's overall bucket holds push_rate tokens: a burst of that many at once,
    # then the next a moment later, which Telegram answers with 429. Its overall limit is
    # an async context manager; the even pace takes its place (PTB 22.x, pinned < 23).
    limiter._base_limiter = EvenPace(push_rate * (1 - PUSH_HEADROOM))  # type: ignore[assignment]
    return limiter
