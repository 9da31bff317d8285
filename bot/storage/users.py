"""The chat shell's own per-user state: chosen language and current shop."""

from __future__ import annotations

from bot.storage.db import Database


class Users:
    """Reads and writes the users table outside the core's unit of work."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: int) -> tuple[str | None, str | None]:
        """(language, current_shop) of a user, None where unset."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT language, current_shop FROM users WHERE telegram_user_id = ?",
                (user_id,)) as cur:
            row = await cur.fetchone()
        return (row[0], row[1]) if row else (None, None)

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
