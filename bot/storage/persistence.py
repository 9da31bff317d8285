"""A python-telegram-bot persistence in the bot's own SQLite database.

Only conversation positions and user_data drafts are kept; bot_data holds the application's
collaborators and is never persisted. Writes go straight to the database, and only when they
change something: PTB hands over every user of every update, and most updates leave the
user's data as it was.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.storage.db import Database
from bot.storage.pg import unflushed

CallbackData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]


class SqlitePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    """Conversations and user drafts survive a restart; nothing else is stored."""

    def __init__(self, db: Database, update_interval: float = 5) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False,
                                                     user_data=True, callback_data=False),
                         update_interval=update_interval)
        self.db = db
        self._stored: dict[int, str] = {}  # user_id -> JSON in ptb_user_data; absent is "{}"

    async def _execute(self, sql: str, *args: Any) -> None:
        if self.db.backend == "postgres":  # a flow's place, not money: no wait for the disk
            sql = unflushed(sql)
        await self.db.write(sql, args)

    async def _rows(self, sql: str, *args: Any) -> list[Any]:
        async with self.db.lock, self.db.conn.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        rows = await self._rows("SELECT user_id, data FROM ptb_user_data")
        self._stored = {int(r[0]): r[1] for r in rows}
        return {int(r[0]): json.loads(r[1]) for r in rows}

    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def get_callback_data(self) -> CallbackData | None:
        return None

    async def get_conversations(self, name: str) -> MutableMapping[tuple[int | str, ...], object]:
        rows = await self._rows("SELECT key, state FROM ptb_conversations WHERE name = ?", name)
        return {tuple(json.loads(r[0])): json.loads(r[1]) for r in rows}

    async def update_conversation(self, name: str, key: tuple[int | str, ...],
                                  new_state: object | None) -> None:
        encoded = json.dumps(list(key))
        if new_state is None:
            await self._execute("DELETE FROM ptb_conversations WHERE name = ? AND key = ?",
                                name, encoded)
            return
        await self._execute(
            "INSERT INTO ptb_conversations (name, key, state) VALUES (?, ?, ?) "
            "ON CONFLICT (name, key) DO UPDATE SET state = excluded.state",
            name, encoded, json.dumps(new_state))

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        encoded = json.dumps(data, default=str)
        if self._stored.get(user_id, "{}") == encoded:
            return
        await self._execute(
            "INSERT INTO ptb_user_data (user_id, data) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET data = excluded.data", user_id, encoded)
        self._stored[user_id] = encoded

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def update_callback_data(self, data: CallbackData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        await self._execute("DELETE FROM ptb_user_data WHERE user_id = ?", user_id)
        self._stored.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        return None

    async def states_for(self, key: tuple[int | str, ...]) -> dict[str, object]:
        """Every conversation's stored state for one key (name -> state), read now."""
        rows = await self._rows("SELECT name, state FROM ptb_conversations WHERE key = ?",
                                json.dumps(list(key)))
        return {r[0]: json.loads(r[1]) for r in rows}

    async def user_data_for(self, user_id: int) -> dict[str, Any]:
        """One user's stored data, read now; the write cache learns it too."""
        rows = await self._rows("SELECT data FROM ptb_user_data WHERE user_id = ?", user_id)
        encoded = rows[0][0] if rows else "{}"
        self._stored[user_id] = encoded
        loaded: dict[str, Any] = json.loads(encoded)
        return loaded

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
