"""An update without language_code keeps the language remembered for the user (issue 14.16)."""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine
from typing import Any

from tests.bot.conftest import Chat, register


async def test_a_button_press_without_language_code_keeps_the_seller_in_chinese(
        chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 zh-hans", "/balance")
    chat.box.languages.pop(501)  # Telegram omits language_code on this update

    out = await chat.say("/balance")

    assert "保证金" in out
    assert "Balance" not in out


async def test_a_user_never_seen_with_a_language_gets_the_default(chat: Chat) -> None:
    await register(chat)

    out = await chat.say("!as 501", "/balance")

    assert "Balance" in out


async def test_a_language_seen_but_not_yet_written_is_the_one_used_next(
        chat: Chat, monkeypatch: Any) -> None:
    """The seen language may be written in the background (PostgreSQL always; SQLite while
    another writer holds the lock): an update arriving before that write lands, without a
    language_code, still speaks the language Telegram reported last."""
    await register(chat)
    db = chat.box.deps.db
    held: list[Coroutine[Any, Any, Any]] = []
    monkeypatch.setattr(db, "later", held.append)  # the background writes have not landed
    if db.marker is not None:  # SQLite file: another writer holds the lock
        monkeypatch.setattr(db, "marker", _Locked(db.marker))
    await chat.say("!as 501 zh-hans", "/balance")
    chat.box.languages.pop(501)  # Telegram omits language_code on this update

    out = await chat.say("/balance")

    assert "保证金" in out
    assert "Balance" not in out
    for write in held:
        await write
    assert await chat.box.deps.users.languages(501) == (None, "zh_Hans")
    assert not db.pending_seen


class _Locked:
    """A marker connection whose writes find the database locked by another writer."""

    def __init__(self, marker: sqlite3.Connection) -> None:
        self.marker = marker

    def execute(self, *args: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.marker, name)


async def test_an_older_seen_language_left_to_the_background_does_not_win(
        chat: Chat, monkeypatch: Any) -> None:
    """A seen language queued behind another writer, then a newer one: the newer one is the
    row's in the end (SQLite: the newer one no longer skips the queue on the marker)."""
    await register(chat)
    db = chat.box.deps.db
    held: list[Coroutine[Any, Any, Any]] = []
    monkeypatch.setattr(db, "later", held.append)
    marker = db.marker
    if marker is not None:  # SQLite file: an import holds the lock for the first one
        monkeypatch.setattr(db, "marker", _Locked(marker))
    await chat.say("!as 501 en", "/balance")
    if marker is not None:  # the import committed: the marker could write at once now
        monkeypatch.setattr(db, "marker", marker)
    await chat.say("!as 501 zh-hans", "/balance")
    for write in held:  # the queued writes land in their order
        await write

    assert await chat.box.deps.users.languages(501) == (None, "zh_Hans")
    assert not db.pending_seen
