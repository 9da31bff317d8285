"""Delivers outbox notices to every member of the shop, in each member's language."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.context import Deps
from bot.i18n import translator
from bot.notify.render import render_notice
from bot.storage.repos import SqliteOutbox, SqliteShops

log = logging.getLogger(__name__)


async def deliver_pending(bot: Bot, d: Deps, limit: int = 100) -> int:
    """Send queued pushes in order; a notice is marked sent once every member was tried."""
    async with d.db.lock:
        pending = await SqliteOutbox(d.db.conn).pending(limit)
    sent = 0
    for notice_id, notice in pending:
        async with d.db.lock:
            shops = SqliteShops(d.db.conn)
            shop = await shops.get(notice.shop_id)
            members = await shops.members(notice.shop_id)
        if shop is None:
            continue
        for member in members:
            language = await d.users.push_language(member.telegram_user_id)
            text = render_notice(notice, shop, translator(language or d.default_language))
            try:
                await bot.send_message(member.telegram_user_id, text)
                sent += 1
            except Forbidden:
                log.warning("member %s blocked the bot; push %s skipped",
                            member.telegram_user_id, notice.key)
            except TelegramError:
                log.exception("push %s not delivered; it stays queued", notice.key)
                return sent
        async with d.db.lock:
            await SqliteOutbox(d.db.conn).mark_sent(notice_id, d.clock.now())
    return sent
