"""`deposit-bot run`: the Application's life, and a poller that acknowledges an update only
after its handlers ran.

PTB's own updater confirms a batch of updates (the next getUpdates' offset) as soon as it has
queued them, before they are handled: a crash in between loses them, and Telegram never sends
them again. Here the offset moves past an update only once `process_update` returned, so a
crash means Telegram sends it again, and the `seen_updates` guard (app.py) drops any update that
was already handled to the end: every update is handled once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.config import Settings
from bot.context import Deps
from bot.notify.pace import retry_seconds
from bot.storage.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")
EventLoop = Literal["uvloop", "asyncio"]
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates open
MAX_BACKOFF = 30.0


def run_loop(main: Coroutine[Any, Any, T], loop: EventLoop = "uvloop") -> T:
    """asyncio.run on uvloop (DEPOSIT_EVENT_LOOP): its loop and sockets are written in C,
    0.5 ms of CPU less per push at a paid broadcast's rate (bench/fixes.md, "#16 send"),
    or on asyncio's own loop. PTB, aiohttp, aiosqlite and asyncpg run on either."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not built for this platform (Windows): Python's own loop
            log.warning("uvloop is not installed here: running on asyncio's own event loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def staff(settings: Settings) -> dict[str, Any]:
    """The support group and the staff ids, for Deps."""
    return {"support_chat_id": settings.support_chat_id,
            "support_language": settings.support_language,
            "support_topics": settings.support_topics,
            "support_agent_names": settings.support_agent_names,
            "operators": settings.operators, "agents": settings.agents}


def deps_for(settings: Settings, db: Database, **kwargs: Any) -> Deps:
    """The production Deps: policy, real clock, the configured verification channel, staff."""
    from bot.channels import channel_for
    from bot.clock import SystemClock
    from domain.policy import load_policy

    channel = channel_for(settings.verification, settings.verification_url,
                          settings.verification_secret, settings.smtp(), db,
                          settings.default_language)
    return Deps(db, load_policy(settings.policy), SystemClock(), channel,
                settings.default_language, **staff(settings), **kwargs)


async def poll(app: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """Fetch, handle one by one, and only then acknowledge (the next call's offset)."""
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            updates = await _fetch(app, offset, stop)
        except RetryAfter as exc:
            await _wait(stop, retry_seconds(exc))
            continue
        except TimedOut:
            continue
        except (InvalidToken, Conflict):
            raise
        except NetworkError as exc:
            log.warning("getUpdates failed (%s); trying again in %.0f s", exc, backoff)
            await _wait(stop, backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            continue
        backoff = 1.0
        for update in updates:
            await handle(app, update)
            offset = update.update_id + 1


async def _fetch(app: Application, offset: int | None,  # type: ignore[type-arg]
                 stop: asyncio.Event) -> tuple[Update, ...]:
    """One long poll, abandoned (nothing acknowledged) as soon as a stop is asked for."""
    fetch = asyncio.ensure_future(app.bot.get_updates(
        offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not fetch.done():
        fetch.cancel()
        return ()
    return fetch.result()


async def handle(app: Application, update: Update) -> None:  # type: ignore[type-arg]
    """One update through every handler; an error is the error handler's, never the poller's."""
    try:
        await app.process_update(update)
    except Exception:  # process_update reports to the error handlers; this is the last guard
        log.exception("update %s could not be handled", update.update_id)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


async def start(app: Application) -> None:  # type: ignore[type-arg]
    """What run_polling does before polling: initialize, post_init, start."""
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()


async def stop(app: Application) -> None:  # type: ignore[type-arg]
    """Stop, shut down, post_shutdown (PTB writes persistence on the way)."""
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


def stop_on_signals(event: asyncio.Event) -> None:
    """SIGINT and SIGTERM end the poller after the update in hand."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)


async def run_polling(app: Application) -> None:  # type: ignore[type-arg]
    """The bot by long polling until SIGINT or SIGTERM."""
    done = asyncio.Event()
    stop_on_signals(done)
    await start(app)
    try:
        await app.bot.delete_webhook()
        await poll(app, done)
    finally:
        await stop(app)
