"""The chat shell's own per-user state: chosen language and current shop."""

from __future__ import annotations

from typing import Any

from bot.storage.db import Database
from bot.storage.repos import _shop
from domain.model import Shop


class Users:
    """Reads and writes the users table outside the core's unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _row(self, sql: str, *args: Any) -> Any:
        """One statement, one trip to aiosqlite's thread; the first row or None."""
        async with self.db.lock:
            rows = await self.db.conn.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def get(self, user_id: int) -> tuple[str | None, str | None]:
        """(language, current_shop) of a user, None where unset."""
        row = await self._row("SELECT language, current_shop FROM users "
                              "WHERE telegram_user_id = ?", user_id)
        return (row[0], row[1]) if row else (None, None)

    async def languages(self, user_id: int) -> tuple[str | None, str | None]:
        """(chosen language, last Telegram language remembered) of a user."""
        row = await self._row("SELECT language, seen_language FROM users "
                              "WHERE telegram_user_id = ?", user_id)
        return (row[0], row[1]) if row else (None, None)

    async def shops(self, user_id: int) -> tuple[list[Shop], str | None]:
        """The user's shops (as ShopRepository.shops_of orders them) and their chosen one,
        in one read."""
        async with self.db.lock:
            rows = await self.db.conn.execute_fetchall(
                "SELECT s.*, (SELECT current_shop FROM users WHERE telegram_user_id = ?1) "
                "AS chosen_shop FROM shops s JOIN members m ON m.shop_id = s.shop_id "
                "WHERE m.telegram_user_id = ?1 ORDER BY s.opened_at, s.shop_id", (user_id,))
        rows = list(rows)
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
        """Remember the language Telegram reported for the user, for later pushes."""
        await self._upsert(user_id, "seen_language", language)

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember the language a user chose."""
        await self._upsert(user_id, "language", language)

    async def set_current_shop(self, user_id: int, shop_id: str) -> None:
        """Remember which of a user's shops the commands act on."""
        await self._upsert(user_id, "current_shop", shop_id)

    async def _upsert(self, user_id: int, column: str, value: str) -> None:
        async with self.db.lock:
            await self.db.conn.execute(
                f"INSERT INTO users (telegram_user_id, {column}) VALUES (?, ?) "
                f"ON CONFLICT (telegram_user_id) DO UPDATE SET {column} = excluded.{column}",
                (user_id, value))
