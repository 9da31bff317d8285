"""The CSV statement: columns that sum to the balance and to the arrears owed, headers in
the user's language (issue 14.20)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests.bot.conftest import Chat, register
from tests.bot.test_history import deduct, last_upload, top_up


def table(chat: Chat) -> list[list[str]]:
    _, raw = last_upload(chat, "sendDocument", "document")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def csv_label(chat: Chat) -> str:
    return next(b["text"] for row in chat.box.shown[-1].keyboard for b in row
                if "CSV" in b["text"])


async def arrears_story(chat: Chat) -> None:
    """£100 paid, £150 deducted (£50 owed as arrears), £80 paid (£50 arrears first)."""
    await register(chat)
    await top_up(chat, "REF-1", "100")
    await deduct(chat, "DED-1", "150")
    await top_up(chat, "REF-2", "80")


async def test_the_balance_column_sums_to_the_balance_and_arrears_show_apart(
        chat: Chat) -> None:
    await arrears_story(chat)

    await chat.say("!as 501 en", "/history", "!press CSV statement")
    header, *rows = table(chat)
    col = {name: i for i, name in enumerate(header)}

    balance = sum(Decimal(r[col["Balance change"]]) for r in rows)
    owed = sum(Decimal(r[col["Arrears owed change"]] or "0") for r in rows)
    assert balance == Decimal(rows[-1][col["Balance after"]]) == Decimal("30.00")
    assert owed == Decimal("0")  # £50 owed, then paid by the second top-up
    uncovered = next(r for r in rows if "did not cover" in r[col["Entry"]])
    assert uncovered[col["Balance change"]] == "0.00"
    assert uncovered[col["Arrears owed change"]] == "50.00"


async def test_a_period_statement_starts_with_its_opening_balance(chat: Chat) -> None:
    await register(chat)
    await top_up(chat, "REF-1", "100")
    await chat.say("!clock +40d")
    await top_up(chat, "REF-2", "20")

    await chat.say("!as 501 en", "/history", "!press 30 days", "!press CSV statement")
    header, *rows = table(chat)
    col = {name: i for i, name in enumerate(header)}

    assert rows[0][col["Entry"]] == "Opening balance"
    assert sum(Decimal(r[col["Balance change"]]) for r in rows) == Decimal("120.00")


async def test_the_headers_are_in_the_users_language(chat: Chat) -> None:
    await arrears_story(chat)

    await chat.say("!as 501 zh-hans", "/history")
    await chat.say("!press " + csv_label(chat))
    hans = table(chat)[0]
    await chat.say("!as 501 zh-hant", "/history")
    await chat.say("!press " + csv_label(chat))
    hant = table(chat)[0]

    assert "余额变动" in hans and "余额变动" not in hant and "餘額變動" in hant
    assert not any(c.isascii() and c.isalpha() for c in "".join(hans).replace("CSV", ""))
