"""Conversations across instances: the update's state comes from the database first.

PTB loads conversation states and user_data once, at start. With several instances a
seller's next update may reach another instance, whose memory holds an old step and an old
draft. On PostgreSQL this handler runs before every other one (group -4): it reads the
conversation state of the update's key for every persistent conversation and the user's
user_data, and puts them in place without marking them changed. `after_update` (app.py)
writes them back once the update was handled; the webhook inbox handles one user's updates
one at a time, so nothing is written between the read and the write by anyone else.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, ConversationHandler

from bot.storage.persistence import SqlitePersistence

STATE_GROUP = -4


async def load_update_state(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Conversation states and user_data of this update, as the database has them now."""
    app = context.application
    persistence = app.persistence
    if not isinstance(persistence, SqlitePersistence) or update.effective_user is None:
        return
    handlers = _conversations(app)
    if handlers and update.effective_chat is not None:
        key = next(iter(handlers.values()))._get_key(update)
        stored = await persistence.states_for(key)
        for name in handlers:
            tracked = app._conversation_handler_conversations.get(name)
            if tracked is None:
                continue
            if name in stored:
                tracked.update_no_track({key: stored[name]})
            else:
                tracked.data.pop(key, None)
    user_id = update.effective_user.id
    fresh = await persistence.user_data_for(user_id)
    data = app._user_data[user_id]
    data.clear()
    data.update(fresh)


def _conversations(app: Any) -> dict[str, ConversationHandler[Any]]:
    """The persistent conversations by name (all keyed per chat and user)."""
    return {h.name: h for group in app.handlers.values() for h in group
            if isinstance(h, ConversationHandler) and h.persistent and h.name}
