"""The support desk's storage: topics, header posts, claims, SLA flags, ratings, stats."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.storage.db import Database, dt, ts
from bot.storage.support import LIVE, Ticket, _ticket


@dataclass(frozen=True)
class Rating:
    """What a seller said of one resolution: helped or not, and an optional comment."""

    ticket_id: int
    round: int
    helped: bool
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Timing:
    """One ticket's timestamps, for /queue stats and the /metrics gauges."""

    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    helped: bool | None  # the newest rating, None when not rated


class Desk:
    """Queries of the desk on the tickets table (no telegram imports here)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def set_thread(self, ticket_id: int, thread_id: int) -> None:
        """The forum topic the ticket lives in."""
        await self._write("UPDATE tickets SET thread_id = ? WHERE ticket_id = ?",
                          thread_id, ticket_id)

    async def set_header(self, ticket_id: int, message_id: int) -> None:
        """The group post with the seller's context and the desk's buttons."""
        await self._write("UPDATE tickets SET header_message_id = ? WHERE ticket_id = ?",
                          message_id, ticket_id)

    async def by_thread(self, thread_id: int) -> Ticket | None:
        """The ticket whose forum topic this is."""
        rows = await self._all("SELECT * FROM tickets WHERE thread_id = ? "
                               "ORDER BY ticket_id DESC LIMIT 1", thread_id)
        return _ticket(rows[0]) if rows else None

    async def claim(self, ticket_id: int, user_id: int, name: str) -> bool:
        """Assign a live ticket to one agent; False when another agent holds it."""
        return await self._write(
            "UPDATE tickets SET claimed_by = ?, claimed_name = ? WHERE ticket_id = ? "
            "AND (claimed_by IS NULL OR claimed_by = ?)", user_id, name, ticket_id,
            user_id) == 1

    async def queue(self, limit: int = 30) -> list[Ticket]:
        """Live tickets, oldest first."""
        rows = await self._all("SELECT * FROM tickets WHERE status IN (?, ?) "
                               "ORDER BY created_at, ticket_id LIMIT ?", *LIVE, limit)
        return [_ticket(r) for r in rows]

    async def overdue_flags(self, ticket_id: int) -> tuple[bool, bool]:
        """Whether the first-response and the resolution overdue flags were posted."""
        rows = await self._all("SELECT response_flagged_at, resolution_flagged_at FROM tickets "
                               "WHERE ticket_id = ?", ticket_id)
        return (rows[0][0] is not None, rows[0][1] is not None) if rows else (True, True)

    async def flag(self, ticket_id: int, which: str, now: datetime) -> bool:
        """Mark one overdue flag as posted; False when it already was (flagged once)."""
        column = {"response": "response_flagged_at",
                  "resolution": "resolution_flagged_at"}[which]
        return await self._write(f"UPDATE tickets SET {column} = ? WHERE ticket_id = ? AND "
                                 f"{column} IS NULL", ts(now), ticket_id) == 1

    async def rate(self, ticket_id: int, round_: int, seller_id: int, helped: bool,
                   now: datetime) -> bool:
        """Store a rating once per resolution; False when this one was already rated."""
        return await self._write(
            "INSERT INTO ticket_ratings (ticket_id, rating_round, seller_id, helped, at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ticket_id, rating_round) DO NOTHING",
            ticket_id, round_, seller_id, int(helped), ts(now)) == 1

    async def comment(self, ticket_id: int, round_: int, text: str) -> bool:
        """The seller's optional comment on a rating (kept once)."""
        return await self._write(
            "UPDATE ticket_ratings SET comment = ? WHERE ticket_id = ? AND rating_round = ? "
            "AND comment IS NULL", text, ticket_id, round_) == 1

    async def ratings(self, ticket_id: int) -> list[Rating]:
        """A ticket's ratings, oldest first."""
        rows = await self._all("SELECT * FROM ticket_ratings WHERE ticket_id = ? "
                               "ORDER BY rating_round", ticket_id)
        return [Rating(r["ticket_id"], r["rating_round"], bool(r["helped"]), r["comment"],
                       dt(r["at"])) for r in rows]  # type: ignore[arg-type]

    async def timings(self, since: datetime) -> list[Timing]:
        """Every ticket opened since a moment, with its newest rating (computed in Python)."""
        rows = await self._all("SELECT ticket_id, created_at, first_response_at, resolved_at "
                               "FROM tickets WHERE created_at >= ? ORDER BY ticket_id",
                               ts(since))
        rated = await self._all("SELECT ticket_id, rating_round, helped FROM ticket_ratings "
                                "WHERE ticket_id IN (SELECT ticket_id FROM tickets WHERE "
                                "created_at >= ?) ORDER BY ticket_id, rating_round", ts(since))
        newest = {int(r[0]): bool(r[2]) for r in rated}
        return [Timing(dt(r[1]), dt(r[2]), dt(r[3]),  # type: ignore[arg-type]
                       newest.get(int(r[0]))) for r in rows]

    async def open_since(self) -> list[datetime]:
        """When each live ticket was opened (for the oldest-wait gauge)."""
        rows = await self._all("SELECT created_at FROM tickets WHERE status IN (?, ?)", *LIVE)
        return [dt(r[0]) for r in rows]  # type: ignore[misc]

    async def _write(self, sql: str, *args: Any) -> int:
        async with self.db.lock:
            cur = await self.db.conn.execute(sql, args)
            count = cur.rowcount
            await cur.close()
            return int(count)

    async def _all(self, sql: str, *args: Any) -> list[Any]:
        async with self.db.lock:
            cur = await self.db.conn.execute(sql, args)
            rows = await cur.fetchall()
            await cur.close()
            return list(rows)


async def desk_gauges(db: Database, now: datetime) -> dict[str, tuple[str, float]]:
    """/metrics: open tickets, the oldest one's wait, median first response and resolution
    of the tickets opened in the last 7 days (medians computed here, not in SQL)."""
    desk = Desk(db)
    opened = await desk.open_since()
    week = await desk.timings(now - timedelta(days=7))
    first = [(x.first_response_at - x.created_at).total_seconds() for x in week
             if x.first_response_at is not None]
    done = [(x.resolved_at - x.created_at).total_seconds() for x in week
            if x.resolved_at is not None]
    return {
        "deposit_tickets_open": ("Support tickets not resolved", len(opened)),
        "deposit_tickets_oldest_wait_seconds": (
            "Age of the oldest open support ticket",
            max(((now - x).total_seconds() for x in opened), default=0)),
        "deposit_tickets_first_response_seconds": (
            "Median first-response time of tickets opened in the last 7 days",
            statistics.median(first) if first else 0),
        "deposit_tickets_resolution_seconds": (
            "Median resolution time of tickets opened in the last 7 days",
            statistics.median(done) if done else 0),
    }
