"""Telegram update dedup: an update already handled to the end is dropped whole.

Telegram resends an update the bot did not acknowledge: with long polling, the batch
fetched last before a crash (the offset is acknowledged by the next getUpdates); with a
webhook, any update whose answer did not arrive. The id is marked completed only after
every handler of the update ran (group 100, `mark_completed`), so a crash half-way through
handling lets the resent copy run again: at-least-once, never at-most-once. A handler that
moves money is itself idempotent (a confirmed withdrawal is not confirmed twice, an event
id is applied once), so running again costs at most a repeated reply.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import commits, metrics
from bot.context import deps
from bot.storage.updates import SeenUpdates

log = logging.getLogger(__name__)
KEEP = timedelta(days=2)  # Telegram keeps an unacknowledged update 24 hours at most


async def drop_seen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop every later handler when this update_id was handled before. With a user, the
    same statement reads the user's languages and shops for the handlers (Users.first_read)."""
    d, user = deps(context), update.effective_user
    if update.update_id in d.db.pending_marks:  # handled, its mark not yet written
        seen = True
    elif user is None:
        seen = await SeenUpdates(d.db).completed(update.update_id)
    else:
        seen = await d.users.first_read(update, update.update_id, user.id)
    if seen:
        metrics.inc("deposit_updates_duplicate_total")
        log.info("update %d was handled before; dropped", update.update_id)
        commits.end_update()
        raise ApplicationHandlerStop


async def mark_completed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every handler of this update ran: a resent copy is dropped from now on."""
    d = deps(context)
    await SeenUpdates(d.db).complete(update.update_id, d.clock.now())


async def prune(context: ContextTypes.DEFAULT_TYPE) -> int:
    """Forget update ids older than KEEP (called by the periodic job)."""
    d = deps(context)
    return await SeenUpdates(d.db).prune(d.clock.now() - KEEP)
