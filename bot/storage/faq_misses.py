"""The FAQ misses log: questions the bot was not sure of, or answered to no avail.

Portable SQL (`?` placeholders, no SQLite-only functions); the id is made in Python so
no backend's autoincrement is needed. No user id is kept: only text, language, scores.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, dt, ts

UNSURE = "unsure"  # the bot said "not sure"
SUPPORT_AFTER_ANSWER = "support_after_answer"  # an answer, then Contact support


@dataclass(frozen=True)
class Miss:
    """One logged question with its best candidates (entry id, confidence)."""

    at: datetime
    kind: str
    question: str
    language: str
    candidates: tuple[tuple[str, float], ...]


class FaqMisses:
    """Record and list FAQ misses."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, miss: Miss) -> None:
        """Keep one miss (the question cut to 500 characters)."""
        await self.db.write(
            "INSERT INTO faq_misses (miss_id, at, kind, question, language, candidates) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (miss_id) DO NOTHING",
            (uuid.uuid4().hex, ts(miss.at), miss.kind, miss.question[:500], miss.language,
             json.dumps([[k, c] for k, c in miss.candidates])))

    async def recent(self, limit: int = 50) -> list[Miss]:
        """The newest misses first."""
        async with self.db.lock:
            rows = await self.db.conn.execute_fetchall(
                "SELECT at, kind, question, language, candidates FROM faq_misses "
                "ORDER BY at DESC, miss_id LIMIT ?", (limit,))
        return [Miss(dt(r["at"]), r["kind"], r["question"], r["language"],  # type: ignore[arg-type]
                     tuple((str(k), float(c)) for k, c in json.loads(r["candidates"])))
                for r in rows]
