"""`deposit-bot faq-misses`: the questions the FAQ was not sure of, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from bot.storage.db import Database
from bot.storage.faq_misses import FaqMisses, Miss


def line(miss: Miss) -> str:
    """One miss on one line: when, what kind, language, question, best candidates."""
    best = ", ".join(f"{key} {confidence:.2f}" for key, confidence in miss.candidates) or "-"
    question = " ".join(miss.question.split())
    return (f"{miss.at:%Y-%m-%d %H:%M} {miss.kind:<20} {miss.language:<7} {question}"
            f"  [{best}]")


async def list_misses(path: Path, limit: int, out: TextIO) -> int:
    """Print the newest misses; the count printed."""
    db = await Database.open(path)
    try:
        misses = await FaqMisses(db).recent(limit)
    finally:
        await db.close()
    for miss in misses:
        out.write(line(miss) + "\n")
    if not misses:
        out.write("no FAQ misses logged\n")
    return len(misses)
