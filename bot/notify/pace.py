"""An even pace for the Bot API: one message per slot, evenly spaced, never a burst."""

from __future__ import annotations

import asyncio
from types import TracebackType

from telegram.ext import AIORateLimiter

# Messages leave on the grid but reach Telegram with network jitter; at exactly the limit a
# message arriving a little early is the 31st of its second. 3% of the rate is kept in hand.
PUSH_HEADROOM = 0.03


class EvenPace:
    """`async with pace:` lets one message go per slot, `1/rate` seconds apart, in order.

    With `hold` (AIORateLimiter's flood-wait event), no slot is given while a 429's
    retry_after holds the bot: PTB takes the slot before it waits for the flood to end, so the
    requests that took theirs during the wait used to go all at once when it ended, a burst
    Telegram answers with the next 429 (a 429 every two seconds at 30 msg/s).

    A waiter that wakes a little late (up to `slack` of a spacing) is caught up by the next
    message, so scheduling noise does not cost rate; one that wakes later (the loop was
    stalled) moves the grid instead, so the messages queued behind it never leave in a
    burst. Any one second holds at most 1 + rate × (1 + slack spacing) messages; with the
    headroom that is the rate. aiolimiter's bucket of `rate` tokens gives no such bound.
    """

    def __init__(self, rate: float, slack: float = 0.25,
                 hold: asyncio.Event | None = None) -> None:
        self.spacing = 1 / rate
        self.slack = slack * self.spacing
        self.hold = hold  # set unless a flood wait (429) holds every request
        self._slot = 0.0
        self._turn = asyncio.Lock()  # FIFO: waiters take their slots in arrival order

    async def __aenter__(self) -> None:
        async with self._turn:
            if self.hold is not None:  # no slot during a flood wait: after it, on the grid
                await self.hold.wait()
            loop = asyncio.get_running_loop()
            wait = self._slot - loop.time()
            if wait <= 0:  # idle: the grid starts again now
                self._slot = loop.time() + self.spacing
                return
            await asyncio.sleep(wait)
            self._slot = max(self._slot, loop.time() - self.slack) + self.spacing

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


def paid_pace(limiter: AIORateLimiter, rate: float) -> None:
    """Paid broadcasts (allow_paid_broadcast) on their own even pace of `rate` a second minus
    the headroom; PTB's own is a bucket of 1,000 that lets the whole second go at once."""
    limiter._apb_limiter = EvenPace(  # type: ignore[assignment]
        rate * (1 - PUSH_HEADROOM), hold=limiter._retry_after_event)


def rate_limiter(push_rate: float, flood_retries: int) -> AIORateLimiter:
    """Telegram's limits: `push_rate` messages a second overall on an even pace (minus the
    headroom), 20 a minute per group; a 429 pauses every request for its retry_after,
    `flood_retries` times, before the sender reschedules the push."""
    limiter = AIORateLimiter(overall_max_rate=push_rate, overall_time_period=1,
                             max_retries=flood_retries)
    # AIORateLimiter's overall bucket holds push_rate tokens: a burst of that many at once,
    # then the next a moment later, which Telegram answers with 429. Its overall limit is
    # an async context manager; the even pace takes its place (PTB 22.x, pinned < 23).
    limiter._base_limiter = EvenPace(  # type: ignore[assignment]
        push_rate * (1 - PUSH_HEADROOM), hold=limiter._retry_after_event)
    return limiter
