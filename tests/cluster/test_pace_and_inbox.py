"""The shared send pace and the webhook inbox on a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.cluster.inbox import Inbox, user_key
from bot.cluster.pace import SharedPace


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[Any]:
    import asyncpg

    created = await asyncpg.create_pool(pg_url, min_size=1, max_size=8)
    yield created
    await created.close()


async def test_two_instances_share_one_send_rate(pool: Any) -> None:
    """The slots two instances take are one grid at 29.1/s (30 minus the headroom): no two
    closer than 1/29.1 s, at most 30 in any second. Slots, not wake-up times: a process
    descheduled past its slot (a loaded machine) wakes late, which is not the grid's doing."""
    first, second = SharedPace(pool, rate=30), SharedPace(pool, rate=30)
    slots: list[int] = []
    stamps: list[float] = []

    def recording(pace: SharedPace) -> SharedPace:
        take = pace.take

        async def recorded() -> tuple[int, float]:
            slot, wait = await take()
            slots.append(slot)
            return slot, wait
        pace.take = recorded  # type: ignore[method-assign]
        return pace

    async def send(pace: SharedPace) -> None:
        async with pace:
            stamps.append(time.monotonic())

    recording(first), recording(second)
    await asyncio.gather(*(send(first if n % 2 else second) for n in range(45)))

    slots.sort()
    assert len(slots) == len(set(slots)) == 45
    assert min(b - a for a, b in itertools.pairwise(slots)) >= first.spacing
    assert max(sum(1 for s in slots if t <= s < t + 1_000_000) for t in slots) <= 30
    assert max(stamps) - min(stamps) >= 44 / 30  # nobody went before its slot


async def test_a_flood_wait_seen_by_one_instance_pauses_the_other(pool: Any) -> None:
    first, second = SharedPace(pool, rate=50), SharedPace(pool, rate=50)

    await first.pause(0.6)
    started = time.monotonic()
    async with second:
        waited = time.monotonic() - started

    assert waited >= 0.5


def _message(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text, "from": {"id": user, "is_bot": False,
                                                                    "first_name": "S"},
        "chat": {"id": user, "type": "private"}}}


async def test_an_update_delivered_to_two_instances_is_handled_once_in_order(pool: Any) -> None:
    handled: list[tuple[int, int]] = []

    async def handle(data: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)  # a handler that takes a while: the copies overlap
        handled.append((user_key(data), data["update_id"]))

    a, b = Inbox(pool, handle, "a"), Inbox(pool, handle, "b")
    updates = [_message(n, 1001 + n % 2, f"m{n}") for n in range(1, 21)]

    async def user(who: int) -> None:  # Telegram sends a user's next update after the answer
        for u in updates:
            if user_key(u) == who:
                await asyncio.gather(a.receive(u), b.receive(u))

    await asyncio.gather(user(1001), user(1002))

    assert sorted(handled) == sorted({(user_key(u), u["update_id"]) for u in updates})
    for user in (1001, 1002):
        ids = [n for who, n in handled if who == user]
        assert ids == sorted(ids)


async def test_the_leader_sweeps_an_update_its_receiver_never_handled(pool: Any) -> None:
    handled: list[int] = []

    async def handle(data: dict[str, Any]) -> None:
        handled.append(data["update_id"])

    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO tg_inbox (update_id, user_key, body, received_at) "
                           "VALUES (7, 5, $1, '2026-01-01T00:00:00.000000+00:00')",
                           '{"update_id": 7}')

    ran = await Inbox(pool, handle, "leader").sweep()

    assert ran == 1 and handled == [7]
