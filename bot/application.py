"""The Application class of the bot: PTB's, with a persistence pass that costs an update less.

PTB's `update_persistence` (after every update: `after_update`, and the sandbox) deep-copies
every marked user's data and runs one task per write under `asyncio.gather`, so that a store
that awaits cannot see the data change under it. `SqlitePersistence` encodes what it is given
before its first await, so the copy is not needed, and its writes (mostly none: unchanged data
is not written) go one after the other without tasks. Same writes in the same cases as PTB's
pass (user data marked for an update or a drop, conversation states a handler set, a pending
non-blocking state written as its old state and checked again next time), errors handed to
the error handlers as PTB does. Issue #16 item 1.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from telegram.ext import Application
from telegram.ext._handlers.conversationhandler import PendingState
from telegram.ext._utils.trackingdict import TrackingDict

from bot.storage.persistence import SqlitePersistence


class DepositApplication(Application):  # type: ignore[type-arg]
    """Application whose persistence pass writes SqlitePersistence's data in place."""

    async def update_persistence(self) -> None:
        persistence = self.persistence
        if not isinstance(persistence, SqlitePersistence) or persistence.store_data.chat_data \
                or persistence.store_data.bot_data or persistence.store_data.callback_data:
            await super().update_persistence()
            return
        lock: asyncio.Lock = self._Application__update_persistence_lock  # PTB's own lock
        async with lock:
            await self._write_persistence(persistence)

    async def _write_persistence(self, persistence: SqlitePersistence) -> None:
        errors: list[Exception] = []
        if persistence.store_data.user_data:
            update_ids = self._user_ids_to_be_updated_in_persistence
            self._user_ids_to_be_updated_in_persistence = set()
            delete_ids = self._user_ids_to_be_deleted_in_persistence
            self._user_ids_to_be_deleted_in_persistence = set()
            update_ids -= delete_ids
            for user_id in update_ids:
                await _collect(errors, persistence.update_user_data(user_id,
                                                                    self.user_data[user_id]))
            for user_id in delete_ids:
                await _collect(errors, persistence.drop_user_data(user_id))
        conversations = self._conversation_handler_conversations
        for name, (key, new_state) in list(itertools.chain.from_iterable(
                zip(itertools.repeat(name), states.pop_accessed_write_items())
                for name, states in conversations.items())):
            result: Any = new_state
            if isinstance(new_state, PendingState):  # as PTB: the old state until resolved
                if not new_state.done():
                    result = new_state.old_state
                    conversations[name].mark_as_accessed(key)
                else:
                    result = new_state.resolve()
            state = None if result is TrackingDict.DELETED else result
            await _collect(errors, persistence.update_conversation(name=name, key=key,
                                                                   new_state=state))
        for error in errors:
            await self.process_error(error=error, update=None)


async def _collect(errors: list[Exception], write: Any) -> None:
    try:
        await write
    except Exception as exc:  # as PTB's gather(return_exceptions=True): reported after
        errors.append(exc)
