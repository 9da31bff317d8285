"""An update that changes nothing writes only its seen_updates mark: no language, draft or
step is rewritten."""

from __future__ import annotations

from bot.i18n import resolve_language
from tests.bot.conftest import Chat, register


def changed(chat: Chat) -> int:
    """Rows the bot's writing connections changed so far, marks not included (on a SQLite
    file an update's own writes may go through the writer connection, bot/storage/db.py)."""
    db = chat.box.deps.db
    writer = getattr(db, "writer", None)
    return int(db.conn.total_changes) + (writer.total_changes if writer is not None else 0)


def written(chat: Chat) -> int:
    """Rows changed so far, the marks of handled updates included (on a SQLite file they
    are written by their own connection, bot/storage/updates.py)."""
    marker = getattr(chat.box.deps.db, "marker", None)
    return changed(chat) + (marker.total_changes if marker is not None else 0)


async def test_reading_commands_write_nothing(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/balance")
    before = written(chat)
    out = await chat.say("/balance", "/history", "/balance")
    assert "Deposit" in out or "deposit" in out
    assert written(chat) == before + 3  # one seen_updates row per update, nothing else


async def test_a_new_telegram_language_is_still_remembered(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en", "/balance")
    users = chat.box.deps.users
    assert await users.push_language(501) == resolve_language("en")
    chat.box.languages[501] = "zh-hant"  # the client's language changed, nothing else
    await chat.say("/balance")
    assert await users.push_language(501) == resolve_language("zh-hant")
    before = written(chat)
    await chat.say("/balance")
    assert written(chat) == before + 1  # its seen_updates row


async def test_a_draft_that_changed_is_written(chat: Chat) -> None:
    await register(chat)
    await chat.say("!as 501 en")
    before = changed(chat)
    await chat.say("/withdraw")  # a conversation step: its state is persisted
    assert changed(chat) > before  # (marks are not counted here)


async def test_history_reads_while_another_writer_holds_the_lock(chat: Chat) -> None:
    """/history only reads: it takes no writer lock, so a long write elsewhere (an import's
    batch) does not hold the page up. The other writer keeps its lock until the page is out."""
    import asyncio
    import sqlite3

    from bot.storage.pg import WRITER_LOCK

    await register(chat)
    await chat.say("!as 501 en", "/balance")
    db = chat.box.deps.db
    if db.backend == "postgres":
        import asyncpg

        other = await asyncpg.connect(db.path)
        await other.execute("BEGIN")
        await other.execute("SELECT pg_advisory_xact_lock($1)", WRITER_LOCK)
    else:
        lite = sqlite3.connect(db.path, isolation_level=None)
        lite.execute("BEGIN IMMEDIATE")
    sent = len(chat.calls("sendMessage"))
    update = asyncio.create_task(chat.say("/history"))
    try:  # the guard only stops a hang: the page comes at once, or never before the fix
        async with asyncio.timeout(60):
            while len(chat.calls("sendMessage")) == sent and not update.done():
                await asyncio.sleep(0.01)
        pages = [c["text"] for c in chat.calls("sendMessage")[sent:]]
    finally:
        if db.backend == "postgres":
            await other.execute("ROLLBACK")
            await other.close()
        else:
            lite.execute("ROLLBACK")
            lite.close()
        await update
    assert any("(S-GB)</b>" in text for text in pages), pages  # the page, not an error


async def test_an_update_handled_while_another_writer_holds_the_lock_is_still_dropped_again(
        chat: Chat) -> None:
    """On a SQLite file the mark of a handled update does not wait for another writer: it
    is kept in memory meanwhile, a resent copy is dropped all the same, and it is written
    once the lock is free."""
    import sqlite3

    from telegram import Update

    from bot.storage.updates import SeenUpdates

    await register(chat)
    await chat.say("!as 501 en", "/balance")
    db = chat.box.deps.db
    if db.marker is None:
        return  # PostgreSQL: the mark takes no writer lock (tests/bot/test_duplicates.py)
    lite = sqlite3.connect(db.path, isolation_level=None)
    lite.execute("BEGIN IMMEDIATE")
    box = chat.box
    data = {"update_id": 900_001, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 501, "type": "private"},
        "from": {"id": 501, "is_bot": False, "first_name": "S", "language_code": "en"},
        "text": "/balance", "entities": [{"type": "bot_command", "offset": 0, "length": 8}]}}
    try:
        await box.app.process_update(Update.de_json(data, box.app.bot))
        sent = len(chat.calls("sendMessage"))
        assert 900_001 in db.pending_marks
        await box.app.process_update(Update.de_json(data, box.app.bot))  # Telegram resends
        assert len(chat.calls("sendMessage")) == sent  # dropped: no second card
    finally:
        lite.execute("ROLLBACK")
        lite.close()
    await SeenUpdates(db).flush()
    assert not db.pending_marks
    assert await SeenUpdates(db).completed(900_001)


async def test_a_new_language_seen_while_another_writer_holds_the_lock_is_remembered_after(
        chat: Chat) -> None:
    """The Telegram language of a user is remembered for pushes without holding the update
    up behind another writer: the card is answered, and the language is written once the
    lock is free."""
    import asyncio
    import sqlite3

    await register(chat)
    await chat.say("!as 501 en", "/balance")
    db = chat.box.deps.db
    if db.marker is None:
        return  # PostgreSQL: test_a_new_telegram_language_is_still_remembered
    chat.box.languages[501] = "zh-hant"
    lite = sqlite3.connect(db.path, isolation_level=None)
    lite.execute("BEGIN IMMEDIATE")
    try:
        sent = len(chat.calls("sendMessage"))
        await chat.box._message("/balance")
        assert len(chat.calls("sendMessage")) == sent + 1  # the card, not an error
    finally:
        lite.execute("ROLLBACK")
        lite.close()
    await asyncio.gather(*db._later)
    assert await chat.box.deps.users.push_language(501) == resolve_language("zh-hant")


async def test_an_update_that_writes_waits_for_another_writer_off_the_loop(chat: Chat) -> None:
    """On a SQLite file an update's transaction and its step run on the loop's thread only
    when the write lock is free at once (bot/storage/uow.py): while another process holds
    it (an import's batch) they wait on aiosqlite's thread, the loop keeps running, and the
    quote and its step are written once the lock is free."""
    import asyncio
    import sqlite3

    from tests.bot.test_topup import rates

    await register(chat)
    await rates(chat)
    await chat.say("!as 501 en", "/balance")
    db = chat.box.deps.db
    if db.writer is None:
        return  # PostgreSQL: every statement goes over its connection (test_two_writers.py)
    lite = sqlite3.connect(db.path, isolation_level=None)
    lite.execute("BEGIN IMMEDIATE")
    sent = len(chat.calls("sendMessage"))
    update = asyncio.create_task(chat.say("/topup 100"))
    try:
        ticks = 0
        for _ in range(20):  # the loop is not blocked by the waiting transaction
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not update.done()
        assert len(chat.calls("sendMessage")) == sent  # no quote before the lock is free
    finally:
        lite.execute("ROLLBACK")
        lite.close()
    out = await update
    assert "Top-up quote" in out, out
    check = sqlite3.connect(db.path)
    assert check.execute("SELECT count(*) FROM quotes").fetchone()[0] == 1
    check.close()
    steps = await chat.box.app.persistence.get_conversations("topup")  # type: ignore[union-attr]
    assert steps  # the step the quote asked for was written too


async def test_the_background_checkpoint_holds_no_write_of_the_bot_up(chat: Chat) -> None:
    """The writer and mark connections never checkpoint; the checkpoint they leave to the
    background runs on a connection of its own, without the lock the bot's writes take (it
    syncs the file: tens of milliseconds during which every update that writes waited)."""
    import asyncio

    await register(chat)
    await chat.say("!as 501 en", "/balance")
    db = chat.box.deps.db
    if db.writer is None:
        return  # PostgreSQL checkpoints by itself
    async with db.lock:  # a transaction of the bot in progress
        async with asyncio.timeout(10):
            await db._checkpoint()  # done while the lock is held
