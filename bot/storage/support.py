"""Support tickets and their messages (no telegram imports here)."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot import commits
from bot.storage.db import Database, dt, ts
from bot.storage.visits import forget_visit


class TicketStatus(enum.StrEnum):
    OPEN = "open"  # waiting for support
    ANSWERED = "answered"  # support replied; waiting for the seller
    RESOLVED = "resolved"


LIVE = (TicketStatus.OPEN.value, TicketStatus.ANSWERED.value)


@dataclass(frozen=True)
class Ticket:
    """One seller's request for a human, tied to the shop they acted on (if any)."""

    ticket_id: int
    shop_id: str | None
    seller_id: int
    status: TicketStatus
    created_at: datetime
    updated_at: datetime
    resolved_by: int | None = None
    thread_id: int | None = None  # its forum topic in the support group, if it has one
    header_message_id: int | None = None  # the post with the seller's context and buttons
    question: str = ""  # what the seller first wrote
    faq_given: tuple[str, ...] = ()  # FAQ entries the bot answered before the ticket
    claimed_by: int | None = None
    claimed_name: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolutions: int = 0  # how many times it was resolved (a rating round each)
    seller_label: str = ""  # name, @username and id as agents see them (HTML)

    @property
    def live(self) -> bool:
        """Open or answered: the seller's messages still thread into it."""
        return self.status is not TicketStatus.RESOLVED


@dataclass(frozen=True)
class TicketMessage:
    """A seller's or an agent's words in a ticket."""

    ticket_id: int
    author: str  # "seller", "agent" or "note" (the bot's own line in the group)
    user_id: int
    text: str
    at: datetime


@contextlib.asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE … COMMIT under the database lock; ROLLBACK on any error."""
    async with db.lock:
        await db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db.conn
        except BaseException:
            await db.conn.execute("ROLLBACK")
            raise
        await db.conn.execute("COMMIT")
        commits.note()


def _ticket(r: Any) -> Ticket:
    return Ticket(r["ticket_id"], r["shop_id"], r["seller_id"], TicketStatus(r["status"]),
                  dt(r["created_at"]), dt(r["updated_at"]),  # type: ignore[arg-type]
                  r["resolved_by"], r["thread_id"], r["header_message_id"], r["question"] or "",
                  tuple(x for x in (r["faq_given"] or "").split(",") if x), r["claimed_by"],
                  r["claimed_name"], dt(r["first_response_at"]), dt(r["resolved_at"]),
                  int(r["resolutions"] or 0), r["seller_label"] or "")


async def _returning(conn: Any, sql: str, params: tuple[Any, ...]) -> int:
    """The id an INSERT … RETURNING gave back (portable; no lastrowid)."""
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    await cur.close()
    return int(row[0])


class Tickets:
    """Open, thread, answer and resolve tickets; map support-group posts to tickets."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, shop_id: str | None, seller_id: int, text: str, now: datetime,
                   faq_given: tuple[str, ...] = (), label: str = "") -> tuple[Ticket, int]:
        """A new open ticket with the seller's first message (and that message's id)."""
        async with transaction(self.db) as conn:
            ticket_id = await _returning(conn, (
                "INSERT INTO tickets (shop_id, seller_id, status, created_at, updated_at, "
                "question, faq_given, seller_label) VALUES (?, ?, 'open', ?, ?, ?, ?, ?) "
                "RETURNING ticket_id"),
                (shop_id, seller_id, ts(now), ts(now), text, ",".join(faq_given), label))
            message_id = await _returning(conn, (
                "INSERT INTO ticket_messages (ticket_id, author, user_id, text, at) "
                "VALUES (?, 'seller', ?, ?, ?) RETURNING message_id"),
                (ticket_id, seller_id, text, ts(now)))
        return Ticket(ticket_id, shop_id, seller_id, TicketStatus.OPEN, now, now,
                      question=text, faq_given=faq_given, seller_label=label), message_id

    async def add_message(self, ticket_id: int, author: str, user_id: int, text: str,
                          now: datetime, name: str | None = None) -> int:
        """Record a message; a seller's reopens the ticket for support, an agent's answers it."""
        status = "answered" if author == "agent" else "open"
        async with transaction(self.db) as conn:
            message_id = await _returning(conn, (
                "INSERT INTO ticket_messages (ticket_id, author, user_id, text, at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING message_id"),
                (ticket_id, author, user_id, text, ts(now)))
            await conn.execute("UPDATE tickets SET status = ?, updated_at = ? "
                               "WHERE ticket_id = ? AND status != 'resolved'",
                               (status, ts(now), ticket_id))
            if author == "agent":  # the first answer claims an unclaimed ticket
                await conn.execute(
                    "UPDATE tickets SET first_response_at = coalesce(first_response_at, ?), "
                    "claimed_name = CASE WHEN claimed_by IS NULL THEN ? ELSE claimed_name END, "
                    "claimed_by = coalesce(claimed_by, ?) WHERE ticket_id = ?",
                    (ts(now), name, user_id, ticket_id))
            return message_id

    async def note(self, ticket_id: int, text: str, now: datetime) -> int:
        """The bot's own line about a ticket (it changes no status)."""
        async with self.db.lock:
            return await _returning(self.db.conn, (
                "INSERT INTO ticket_messages (ticket_id, author, user_id, text, at) "
                "VALUES (?, 'note', 0, ?, ?) RETURNING message_id"), (ticket_id, text, ts(now)))

    async def posted(self, message_id: int, chat_id: int, group_message_id: int) -> None:
        """Remember which support-group message carries a ticket message."""
        async with self.db.lock:
            await self.db.conn.execute(
                "UPDATE ticket_messages SET group_chat_id = ?, group_message_id = ? "
                "WHERE message_id = ?", (chat_id, group_message_id, message_id))

    async def group_post(self, ticket_id: int) -> int | None:
        """The support-group message that opened the ticket (replies thread under it)."""
        row = await self._one(
            "SELECT group_message_id FROM ticket_messages WHERE ticket_id = ? AND "
            "group_message_id IS NOT NULL ORDER BY message_id LIMIT 1", ticket_id)
        return int(row[0]) if row else None

    async def by_group_message(self, chat_id: int, group_message_id: int) -> Ticket | None:
        """The ticket a support-group message belongs to."""
        row = await self._one(
            "SELECT t.* FROM tickets t JOIN ticket_messages m USING (ticket_id) "
            "WHERE m.group_chat_id = ? AND m.group_message_id = ?", chat_id, group_message_id)
        return _ticket(row) if row else None

    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self._one("SELECT * FROM tickets WHERE ticket_id = ?", ticket_id)
        return _ticket(row) if row else None

    async def live_of(self, seller_id: int) -> Ticket | None:
        """The seller's newest ticket that is not resolved."""
        row = await self._one(
            "SELECT * FROM tickets WHERE seller_id = ? AND status IN (?, ?) "
            "ORDER BY ticket_id DESC LIMIT 1", seller_id, *LIVE)
        return _ticket(row) if row else None

    async def of_seller(self, seller_id: int, limit: int = 5) -> list[Ticket]:
        """The seller's newest tickets, any status."""
        rows = await self._all("SELECT * FROM tickets WHERE seller_id = ? "
                               "ORDER BY ticket_id DESC LIMIT ?", seller_id, limit)
        return [_ticket(r) for r in rows]

    async def live(self, shop_id: str | None = None, limit: int = 30) -> list[Ticket]:
        """Tickets not yet resolved, oldest activity first (of one shop when given)."""
        where = "status IN (?, ?)" + (" AND shop_id = ?" if shop_id is not None else "")
        args: list[Any] = [*LIVE] + ([shop_id] if shop_id is not None else [])
        rows = await self._all(f"SELECT * FROM tickets WHERE {where} "
                               "ORDER BY updated_at, ticket_id LIMIT ?", *args, limit)
        return [_ticket(r) for r in rows]

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        rows = await self._all("SELECT * FROM ticket_messages WHERE ticket_id = ? "
                               "ORDER BY message_id", ticket_id)
        return [TicketMessage(r["ticket_id"], r["author"], r["user_id"], r["text"],
                              dt(r["at"])) for r in rows]  # type: ignore[arg-type]

    async def resolve(self, ticket_id: int, by: int, now: datetime) -> bool:
        """Close a live ticket; False when it was already resolved (or unknown)."""
        async with self.db.lock, self.db.conn.execute(
                "UPDATE tickets SET status = 'resolved', resolved_by = ?, updated_at = ?, "
                "resolved_at = ?, resolutions = resolutions + 1 "
                "WHERE ticket_id = ? AND status != 'resolved'",
                (by, ts(now), ts(now), ticket_id)) as cur:
            return cur.rowcount == 1

    async def reopen(self, ticket_id: int, now: datetime) -> bool:
        """A resolved ticket open again (new SLA clock for its resolution); False if live."""
        forget_visit()  # the update's first read found this seller without a live ticket
        async with self.db.lock, self.db.conn.execute(
                "UPDATE tickets SET status = 'open', updated_at = ?, resolved_at = NULL, "
                "resolution_flagged_at = NULL WHERE ticket_id = ? AND status = 'resolved'",
                (ts(now), ticket_id)) as cur:
            return cur.rowcount == 1

    async def newest_of(self, seller_id: int) -> Ticket | None:
        """The seller's newest ticket, any status."""
        found = await self.of_seller(seller_id, 1)
        return found[0] if found else None

    async def _one(self, sql: str, *args: Any) -> Any:
        return next(iter(await self._all(sql, *args)), None)

    async def _all(self, sql: str, *args: Any) -> list[Any]:
        """One trip to aiosqlite's thread (execute and fetch together), not three."""
        async with self.db.lock:
            return list(await self.db.conn.execute_fetchall(sql, args))
