"""Leadership by advisory lock: one leader, and another takes over when it goes."""

from __future__ import annotations

from bot.cluster.leader import Leadership, PgLeadership


async def test_the_single_sqlite_process_is_always_the_leader() -> None:
    gained: list[bool] = []
    solo = Leadership()
    solo.on_gain(lambda: _note(gained))

    await solo.start()

    assert solo.is_leader and gained == [True]


async def _note(into: list[bool]) -> None:
    into.append(True)


async def test_exactly_one_of_three_instances_leads(pg_url: str) -> None:
    instances = [PgLeadership(pg_url, check=60) for _ in range(3)]

    for one in instances:
        await one.attempt()

    assert [one.is_leader for one in instances].count(True) == 1
    assert await instances[1].holder()
    for one in instances:
        await one.stop()


async def test_another_instance_leads_once_the_leader_is_gone(pg_url: str) -> None:
    first, second = PgLeadership(pg_url, check=60), PgLeadership(pg_url, check=60)
    await first.attempt()
    await second.attempt()
    gained: list[bool] = []
    second.on_gain(lambda: _note(gained))

    first._conn.terminate()  # the leader's process dies: its connection closes
    led = await _attempt_until(second)

    assert led and gained == [True] and not second.claimant.startswith("solo")
    assert not await first.attempt() or not second.is_leader
    await first.stop()
    await second.stop()


async def _attempt_until(one: PgLeadership, tries: int = 50) -> bool:
    import asyncio

    for _ in range(tries):
        if await one.attempt():
            return True
        await asyncio.sleep(0.05)
    return False
