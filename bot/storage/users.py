"""The chat shell's own per-user state: chosen language and current shop."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from bot.storage.db import Database
from bot.storage.repos import _shop
from bot.storage.support import LIVE
from bot.storage.visits import Visit, _visit, forget_visit
from domain.model import Shop

log = logging.getLogger(__name__)

# An update's first statement (bot/handlers/updates.py drop_seen): whether it was handled
# before, and its user's languages, shops, chosen shop and roles, in one read instead of
# four. Handlers of the same update use it until anything is written: any commit of the
# update (bot/commits.py) or a write to the users table makes them read afresh.
_FIRST_READ = (
    "SELECT EXISTS (SELECT 1 FROM seen_updates WHERE update_id = ?2) AS update_seen, "
    "u.language AS user_language, u.seen_language AS user_seen_language, "
    "u.current_shop AS chosen_shop, m.role AS member_role, "
    "EXISTS (SELECT 1 FROM tickets WHERE seller_id = q.uid AND status IN (?3, ?4)) "
    "AS live_ticket, s.* "
    "FROM (SELECT CAST(?1 AS INTEGER) AS uid) q "
    "LEFT JOIN users u ON u.telegram_user_id = q.uid "
    "LEFT JOIN members m ON m.telegram_user_id = q.uid "
    "LEFT JOIN shops s ON s.shop_id = m.shop_id "
    "ORDER BY s.opened_at, s.shop_id")


_SEEN = ("INSERT INTO users (telegram_user_id, seen_language) VALUES (?, ?) "
         "ON CONFLICT (telegram_user_id) DO UPDATE SET seen_language = excluded.seen_language")
# PostgreSQL: the same, committed without waiting for its WAL flush (as the handled mark,
# bot/storage/updates.py): a server crash may forget it, and the user's next update writes it
# again.
_SEEN_PG = ("WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) "
            "INSERT INTO users (telegram_user_id, seen_language) SELECT ?, ? FROM quick "
            "ON CONFLICT (telegram_user_id) DO UPDATE SET seen_language = excluded.seen_language")


class Users:
    """Reads and writes the users table outside the core's unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _row(self, sql: str, *args: Any) -> Any:
        """One statement, one trip to aiosqlite's thread; the first row or None."""
        return next(iter(await self._read(sql, args)), None)

    async def _read(self, sql: str, args: Any) -> list[Any]:
        """Rows of a read outside any transaction: on a SQLite file the reader connection
        (this thread; it never waits behind a writer or the main connection's lock)."""
        if self.db.reader is not None and not self.db.reader_lock.locked():
            with contextlib.suppress(sqlite3.OperationalError):  # busy: the usual way
                return list(await self.db.reader.execute_fetchall(sql, args))
        async with self.db.lock:
            return list(await self.db.conn.execute_fetchall(sql, args))

    async def first_read(self, update: object, update_id: int, user_id: int) -> bool:
        """Whether the update was handled before; the user's languages, shops and roles are
        kept for the update's handlers (`visit_of`)."""
        params = (user_id, update_id, *LIVE)
        rows = None
        if self.db.reader is not None and not self.db.reader_lock.locked():  # SQLite: here
            with contextlib.suppress(sqlite3.OperationalError):  # busy: the usual way
                rows = list(await self.db.reader.execute_fetchall(_FIRST_READ, params))
        if rows is None:
            async with self.db.lock:
                rows = list(await self.db.conn.execute_fetchall(_FIRST_READ, params))
        first = rows[0]
        shops = [_shop(r) for r in rows if r["shop_id"] is not None]
        roles = {str(r["shop_id"]): str(r["member_role"]) for r in rows
                 if r["shop_id"] is not None}
        seen = self.db.pending_seen.get(user_id, first["user_seen_language"])
        _visit.set(Visit(update, user_id, (first["user_language"], seen),
                         shops, first["chosen_shop"], roles, bool(first["live_ticket"])))
        return bool(first["update_seen"])

    async def get(self, user_id: int) -> tuple[str | None, str | None]:
        """(language, current_shop) of a user, None where unset."""
        row = await self._row("SELECT language, current_shop FROM users "
                              "WHERE telegram_user_id = ?", user_id)
        return (row[0], row[1]) if row else (None, None)

    async def languages(self, user_id: int) -> tuple[str | None, str | None]:
        """(chosen language, last Telegram language remembered) of a user."""
        row = await self._row("SELECT language, seen_language FROM users "
                              "WHERE telegram_user_id = ?", user_id)
        chosen, seen = (row[0], row[1]) if row else (None, None)
        return chosen, self.db.pending_seen.get(user_id, seen)

    async def shops(self, user_id: int) -> tuple[list[Shop], str | None]:
        """The user's shops (as ShopRepository.shops_of orders them) and their chosen one,
        in one read."""
        rows = await self._read(
            "SELECT s.*, (SELECT current_shop FROM users WHERE telegram_user_id = ?1) "
            "AS chosen_shop FROM shops s JOIN members m ON m.shop_id = s.shop_id "
            "WHERE m.telegram_user_id = ?1 ORDER BY s.opened_at, s.shop_id", (user_id,))
        return [_shop(r) for r in rows], (rows[0]["chosen_shop"] if rows else None)

    async def role(self, user_id: int, shop_id: str) -> str | None:
        """The user's role in the shop ("owner", "staff"), None for a non-member."""
        row = await self._row("SELECT role FROM members WHERE shop_id = ? "
                              "AND telegram_user_id = ?", shop_id, user_id)
        return row[0] if row else None

    async def push_language(self, user_id: int) -> str | None:
        """The language to push in: the chosen one, else the last Telegram one seen."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT coalesce(language, seen_language) FROM users "
                "WHERE telegram_user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def seen(self, user_id: int, language: str) -> None:
        """Remember the language Telegram reported for the user, for later pushes. On a
        SQLite file it is written at once without waiting for the lock (Database.marker);
        while another writer holds it (an import's batch), it is written in the background
        rather than holding the update up: it only matters to a later push. On PostgreSQL
        it is written in the background (the update reads on the reader connection
        meanwhile), without waiting for the disk (`_SEEN_PG`). Until a background write
        lands, the language waits in `Database.pending_seen`, which this process's reads of
        the user's languages prefer to the row."""
        marker = self.db.marker
        if marker is None and self.db.backend != "postgres":
            await self._upsert(user_id, "seen_language", language)
            return
        visit = _visit.get()
        if visit is not None and visit.user_id == user_id:  # only this column changed
            _visit.set(replace(visit, languages=(visit.languages[0], language)))
        else:
            forget_visit()
        if marker is None:  # PostgreSQL: while the update goes on (close() waits for it)
            self._later(user_id, language, self._seen_pg(user_id, language))
            return
        if user_id in self.db.pending_seen:  # behind the user's queued write, not before it
            self._later(user_id, language, self._upsert(user_id, "seen_language", language))
            return
        try:
            marker.execute(_SEEN, (user_id, language))
        except sqlite3.OperationalError:  # locked by another writer
            self._later(user_id, language, self._upsert(user_id, "seen_language", language))

    def _later(self, user_id: int, language: str, write: Coroutine[Any, Any, None]) -> None:
        """Leave the write to the background; the language is this process's answer for the
        user until it has landed (a later update without language_code reads it)."""
        self.db.pending_seen[user_id] = language

        async def then_forget() -> None:
            try:
                await write
            finally:  # landed, or logged as lost (the next update writes it again)
                if self.db.pending_seen.get(user_id) == language:
                    del self.db.pending_seen[user_id]

        self.db.later(then_forget())

    async def _seen_pg(self, user_id: int, language: str) -> None:
        try:
            async with self.db.lock:
                await self.db.conn.execute(_SEEN_PG, (user_id, language))
        except sqlite3.OperationalError:  # the connection was lost: the next update writes it
            log.warning("the language seen for user %d was not written", user_id,
                        exc_info=True)

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember the language a user chose."""
        await self._upsert(user_id, "language", language)

    async def set_current_shop(self, user_id: int, shop_id: str) -> None:
        """Remember which of a user's shops the commands act on."""
        await self._upsert(user_id, "current_shop", shop_id)

    async def _upsert(self, user_id: int, column: str, value: str) -> None:
        forget_visit()  # the update's first read no longer holds
        async with self.db.lock:
            await self.db.conn.execute(
                f"INSERT INTO users (telegram_user_id, {column}) VALUES (?, ?) "
                f"ON CONFLICT (telegram_user_id) DO UPDATE SET {column} = excluded.{column}",
                (user_id, value))
