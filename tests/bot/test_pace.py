"""The even pace of pushes: slots on a fixed grid, late wake-ups caught up, never a burst."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace

import pytest

from bot.notify import pace
from bot.notify.pace import EvenPace, rate_limiter


class FakeLoop:
    """A clock that moves only when the pace sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.late = 0.0
        self.slept: list[float] = []
        self.sent: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds + self.late


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch) -> FakeLoop:
    fake = FakeLoop()
    monkeypatch.setattr(pace, "asyncio", SimpleNamespace(get_running_loop=lambda: fake,
                                                         sleep=fake.sleep, Lock=asyncio.Lock))
    return fake


async def send(p: EvenPace, loop: FakeLoop, count: int) -> None:
    for _ in range(count):
        async with p:
            loop.sent.append(round(loop.now, 6))


async def test_messages_leave_one_spacing_apart(loop: FakeLoop) -> None:
    await send(EvenPace(10), loop, 4)
    assert loop.sent == [100.0, 100.1, 100.2, 100.3]


async def test_a_slightly_late_wake_up_is_caught_up_by_the_next_message(
        loop: FakeLoop) -> None:
    p = EvenPace(10)
    await send(p, loop, 1)
    loop.late = 0.02  # within a quarter of the spacing
    await send(p, loop, 1)
    loop.late = 0.0
    await send(p, loop, 1)
    assert loop.sent == [100.0, 100.12, 100.2]


async def test_a_stall_moves_the_grid_instead_of_bursting_behind_it(loop: FakeLoop) -> None:
    p = EvenPace(10)
    await send(p, loop, 1)
    loop.late = 0.3  # the loop was busy: woke at 100.4 instead of 100.1
    await send(p, loop, 1)
    loop.late = 0.0
    await send(p, loop, 2)
    assert loop.sent == [100.0, 100.4, 100.475, 100.575]  # not 100.4, 100.4, 100.4


async def test_an_idle_spell_restarts_the_grid_without_a_burst(loop: FakeLoop) -> None:
    p = EvenPace(10)
    await send(p, loop, 2)
    loop.now += 5
    await send(p, loop, 3)
    assert loop.sent[2:] == [105.1, 105.2, 105.3]


async def test_no_second_holds_more_than_the_rate(loop: FakeLoop) -> None:
    p = EvenPace(30 * (1 - pace.PUSH_HEADROOM))
    loop.late = 0.008
    await send(p, loop, 200)
    worst = max(sum(1 for t in loop.sent if start <= t < start + 1) for start in loop.sent)
    assert worst <= 30


def test_the_limiter_paces_under_the_configured_rate() -> None:
    limiter = rate_limiter(30, 2)
    assert isinstance(limiter._base_limiter, EvenPace)
    assert limiter._base_limiter.spacing == pytest.approx(1 / (30 * (1 - pace.PUSH_HEADROOM)))


SPACING_AT_20 = 1 / (20 * (1 - pace.PUSH_HEADROOM))  # rate_limiter(20, …)'s pace


async def one_429(count: int, refused: int, *, before: float = 0.0,
                  after: float = 0.0) -> tuple[list[float], float]:
    """`count` requests through rate_limiter(20, 2), Telegram answering `before` seconds
    after a request arrives and holding the connection `after` more for the ones it
    accepts; request `refused` is answered 429 (retry after 1 s) once. The arrival times
    and the moment of the 429."""
    from datetime import timedelta

    from telegram.error import RetryAfter

    limiter = rate_limiter(20, 2)
    loop = asyncio.get_running_loop()
    called: list[float] = []
    flood: list[float] = []

    async def call(n: int) -> bool:
        called.append(loop.time())
        if before:
            await asyncio.sleep(before)
        if n == refused and not flood:
            flood.append(loop.time())
            raise RetryAfter(timedelta(seconds=1))
        if after:
            await asyncio.sleep(after)
        return True

    await asyncio.gather(*(limiter.process_request(call, (n,), {}, "sendMessage",
                                                   {"chat_id": 1000 + n}, None)
                           for n in range(count)))
    return called, flood[0]


async def test_requests_queued_during_a_flood_wait_resume_on_the_pace_not_in_a_burst() -> None:
    """A 429 makes PTB's limiter hold every request for retry_after; the ones that took their
    slot meanwhile used to go at once when it ended, the burst Telegram answered with the
    next 429, every two seconds (bench/pushes.py against the asyncio stand-in)."""
    called, _ = await one_429(6, 0)

    after = sorted(called[1:])  # the 429's retry and the ones held behind it
    assert len(after) == 6
    assert all(b - a >= SPACING_AT_20 / 2 for a, b in itertools.pairwise(after)), after


async def test_a_request_finishing_during_a_flood_wait_does_not_reopen_the_pace() -> None:
    """PTB's limiter sets its flood-wait event again after every attempt, a success included:
    with requests in flight when the 429 lands (Telegram answers after a round trip), the
    first of them to finish reopened the gate tens of milliseconds into a one-second wait,
    and slots went out during the flood, two of them back to back (the review's reproduction
    with 100 ms answers)."""
    # 0, 1 and 2 are still waiting for their answers when 3 is refused
    called, start = await one_429(12, 3, after=0.1)

    during = [t for t in called if start < t < start + 1.0]
    assert during == [], [round(t - start, 3) for t in during]
    after = sorted(t for t in called if t >= start + 1.0)
    assert all(b - a >= SPACING_AT_20 / 2 for a, b in itertools.pairwise(after)), after


async def test_a_slot_waited_for_when_the_flood_began_waits_the_flood_out_too() -> None:
    """The next message was already sleeping towards its slot when the 429 came back (a
    round trip after its request): it used to leave at its slot, then wait in PTB's own
    flood wait and go when that ended, together with the first message the pace let out
    after the flood — two at once, the 31st of a second, the next 429 (bench/pushes.py's
    cascade: a 429 every 2.1 s, each flood's end holding two arrivals 1 ms apart)."""
    called, start = await one_429(8, 2, before=0.005)  # answered after a round trip

    assert [t for t in called if start < t < start + 1.0] == []
    after = sorted(t for t in called if t >= start + 1.0)
    assert all(b - a >= SPACING_AT_20 / 2 for a, b in itertools.pairwise(after)), \
        [round(b - a, 4) for a, b in itertools.pairwise(after)]
