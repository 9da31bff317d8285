"""A service that cannot start exits at once, non-zero, with one clear line.

A supervisor (systemd, Kubernetes) restarts or alerts on the exit code; a process that prints
a traceback and stays alive with nothing listening is the worst of both. The codes follow
sysexits.h so a supervisor can tell "fix the configuration" from "try again later":

| code | meaning | examples |
| 78 | configuration | no or wrong bot token, no or short HTTP secret, bad --http |
| 69 | a service it needs is unavailable | the Bot API cannot be reached |
| 74 | the database cannot be used | not a database, read-only, directory not writable |
| 65 | the database is damaged | the integrity check at start failed |
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import asyncpg
from telegram.error import Conflict, InvalidToken, NetworkError

from bot.redact import redact
from bot.storage.db import Database

log = logging.getLogger("deposit-bot")
CONFIG, UNAVAILABLE, DATABASE, DAMAGED = 78, 69, 74, 65
T = TypeVar("T")


class StartupFailed(Exception):
    """Why the service cannot start, and the exit code that says so."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fail(code: int, message: str) -> NoReturn:
    """Stop starting with this code and line."""
    raise StartupFailed(code, message)


def database_failure(path: str | Path, exc: BaseException) -> StartupFailed:
    """An error opening or migrating the database file, as one line (65 when damaged)."""
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CORRUPT or \
            "malformed" in str(exc):
        return StartupFailed(DAMAGED, f"database {path} is damaged: {exc} (restore the latest "
                                      "backup; `deposit-bot check` for the full report)")
    from bot.storage.db import shown

    return StartupFailed(DATABASE, f"database {shown(path)} cannot be used: {exc}")


def telegram_failure(exc: BaseException, base_url: str | None) -> StartupFailed | None:
    """A Bot API error while starting, as one line (None: not a start-up failure)."""
    where = base_url or "https://api.telegram.org"
    if isinstance(exc, InvalidToken):
        return StartupFailed(CONFIG, "the Bot API refused TELEGRAM_BOT_TOKEN (wrong or revoked "
                                     "token)")
    if isinstance(exc, Conflict):
        return StartupFailed(UNAVAILABLE, "another process is already taking this bot's updates "
                                          "(only one may poll)")
    if isinstance(exc, NetworkError):
        return StartupFailed(UNAVAILABLE, f"cannot reach the Bot API at {where}: {exc}")
    return None


def classify(exc: BaseException, base_url: str | None = None) -> StartupFailed | None:
    """Any known start-up failure as a StartupFailed; None for a bug (keep its traceback)."""
    if isinstance(exc, StartupFailed):
        return exc
    if isinstance(exc, sqlite3.Error | PermissionError):
        return StartupFailed(DATABASE, f"the database cannot be used: {exc}")
    return telegram_failure(exc, base_url)


def guarded(run: Callable[[], T], base_url: str | None = None) -> T:
    """Run a command; a start-up failure becomes one line on stderr and its exit code."""
    try:
        return run()
    except Exception as exc:
        failure = classify(exc, base_url)
        if failure is None:
            raise
        log.debug("start-up failure", exc_info=exc)
        sys.stderr.write(f"deposit-bot: cannot start: {redact(failure.message)}\n")
        raise SystemExit(failure.code) from None


async def closing(db_close: Callable[[], Awaitable[None]], body: Awaitable[T]) -> T:
    """Await body; close the database whatever happens (aiosqlite's thread keeps a process
    alive while a connection is open)."""
    try:
        return await body
    finally:
        await db_close()


# what opening, migrating or first writing a database raises when it cannot be used: SQLite's
# errors, the file system's, and PostgreSQL's (a read-only server or role, a refused login)
UNUSABLE = (sqlite3.Error, OSError, asyncpg.PostgresError)


async def open_database(path: Path) -> Database:
    """The database, or a start-up failure naming the file and what is wrong with it."""
    try:
        db = await Database.open(path)
    except UNUSABLE as exc:
        raise database_failure(path, exc) from exc
    try:
        await db.ensure_writable()
        found = await db.integrity()
    except UNUSABLE as exc:
        await db.close()
        raise database_failure(path, exc) from exc
    if found != "ok":  # no money is served from a damaged ledger
        await db.close()
        fail(DAMAGED, f"database {path} failed its integrity check: {found} (restore the "
                      "latest backup; `deposit-bot check` for the full report)")
    return db
