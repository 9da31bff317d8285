"""An even pace for the Bot API: one message per slot, evenly spaced, never a burst."""

from __future__ import annotations

import asyncio
import warnings
from contextvars import ContextVar
from datetime import timedelta
from types import TracebackType
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter
from telegram.warnings import PTBDeprecationWarning

# Messages leave on the grid but reach Telegram with network jitter; at exactly the limit a
# message arriving a little early is the 31st of its second. 3% of the rate is kept in hand.
PUSH_HEADROOM = 0.03


class EvenPace:
    """`async with pace:` lets one message go per slot, `1/rate` seconds apart, in order.

    With `flood` (the limiter's Flood), no slot is given while a 429's retry_after holds the
    bot: PTB takes the slot before it waits for the flood to end, so the requests that took
    theirs during the wait used to go all at once when it ended, a burst Telegram answers
    with the next 429 (a 429 every two seconds at 30 msg/s). The flood's end is a moment of
    our own: PTB's flood-wait event is set again after every attempt, so any request that
    finished during the wait reopened it.

    A waiter that wakes a little late (up to `slack` of a spacing) is caught up by the next
    message, so scheduling noise does not cost rate; one that wakes later (the loop was
    stalled) moves the grid instead, so the messages queued behind it never leave in a
    burst. Any one second holds at most 1 + rate × (1 + slack spacing) messages; with the
    headroom that is the rate. aiolimiter's bucket of `rate` tokens gives no such bound.
    """

    def __init__(self, rate: float, slack: float = 0.25, flood: Flood | None = None) -> None:
        self.spacing = 1 / rate
        self.slack = slack * self.spacing
        self.flood = flood
        self._slot = 0.0
        self._turn = asyncio.Lock()  # FIFO: waiters take their slots in arrival order

    async def __aenter__(self) -> None:
        async with self._turn:
            loop = asyncio.get_running_loop()
            await self._flood_out(loop)
            wait = self._slot - loop.time()
            if wait <= 0:  # idle: the grid starts again now
                self._slot = loop.time() + self.spacing
                return
            await asyncio.sleep(wait)
            if await self._flood_out(loop):  # a 429 came back while this slot was awaited:
                self._slot = loop.time() + self.spacing  # it is void; the grid starts again
                return
            self._slot = max(self._slot, loop.time() - self.slack) + self.spacing

    async def _flood_out(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Wait while a flood wait holds the bot; whether one did."""
        held = False
        while self.flood is not None and (left := self.flood.until - loop.time()) > 0:
            held = True
            await asyncio.sleep(left)
        return held

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after is an int in PTB 22 (a timedelta with PTB_TIMEDELTA=1)."""
    with warnings.catch_warnings():  # the int form is deprecated; either form is read
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


class Flood:
    """When the last 429's retry_after ends (the event loop's clock; 0: no flood wait)."""

    def __init__(self) -> None:
        self.until = 0.0

    def note(self, exc: RetryAfter) -> float:
        """A 429 arrived: no slot until its retry_after (and PTB's 0.1 s) is over; the wait."""
        wait = retry_seconds(exc) + 0.1  # PTB waits retry_after + 0.1 s before its retry
        self.until = max(self.until, asyncio.get_running_loop().time() + wait)
        return wait


_retries_left: ContextVar[list[int]] = ContextVar("retries_left")


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter that also notes when a 429's wait ends, for the paces to wait it out:
    when PTB waits retry_after before retrying the request (its last attempt's 429 goes to
    the caller, which decides, as the sender does, and holds nobody up)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flood = Flood()

    async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        left = _retries_left.set([rate_limit_args or self._max_retries])
        try:
            return await super().process_request(callback, args, kwargs, endpoint, data,
                                                 rate_limit_args)
        finally:
            _retries_left.reset(left)

    async def _run_request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super()._run_request(*args, **kwargs)
        except RetryAfter as exc:
            left = _retries_left.get([0])
            if left[0] > 0:  # PTB waits it out, then retries
                left[0] -= 1
                self.flood.note(exc)
            raise


def paid_pace(limiter: AIORateLimiter, rate: float) -> None:
    """Paid broadcasts (allow_paid_broadcast) on their own even pace of `rate` a second minus
    the headroom; PTB's own is a bucket of 1,000 that lets the whole second go at once."""
    limiter._apb_limiter = EvenPace(  # type: ignore[assignment]
        rate * (1 - PUSH_HEADROOM), flood=getattr(limiter, "flood", None))


def rate_limiter(push_rate: float, flood_retries: int) -> AIORateLimiter:
    """Telegram's limits: `push_rate` messages a second overall on an even pace (minus the
    headroom), 20 a minute per group; a 429 pauses every request for its retry_after,
    `flood_retries` times, before the sender reschedules the push."""
    limiter = FloodLimiter(overall_max_rate=push_rate, overall_time_period=1,
                           max_retries=flood_retries)
    # AIORateLimiter's overall bucket holds push_rate tokens: a burst of that many at once,
    # then the next a moment later, which Telegram answers with 429. Its overall limit is
    # an async context manager; the even pace takes its place (PTB 22.x, pinned < 23).
    limiter._base_limiter = EvenPace(  # type: ignore[assignment]
        push_rate * (1 - PUSH_HEADROOM), flood=limiter.flood)
    return limiter
