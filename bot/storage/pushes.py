"""The outbox, its per-member deliveries and the reminder scanner's SQL (no telegram here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import dt, ts
from bot.storage.repos import _Repo
from domain.notices import Notice
from domain.reminders import KIND, PAUSING_STAGES, PRIORITY, Rules, epoch

# Every member of the shop at the time of the cause gets the push.
_DELIVERIES = ("INSERT INTO push_deliveries (outbox_id, telegram_user_id) "
               "SELECT o.id, m.telegram_user_id FROM outbox o "
               "JOIN members m ON m.shop_id = o.shop_id WHERE o.id > ?")
# A notice nobody can receive (no members yet) is done at once.
_NOBODY = ("UPDATE outbox SET sent_at = ? WHERE id > ? AND sent_at IS NULL AND NOT EXISTS "
           "(SELECT 1 FROM push_deliveries d WHERE d.outbox_id = outbox.id)")


class SqliteOutbox(_Repo):
    """Notices written in the cause's transaction, each with its members' deliveries."""

    async def add(self, notice: Notice) -> bool:
        """Queue a notice once per dedup key; False when the key was already used."""
        last = await self._last_id()
        async with self.conn.execute(
            "INSERT INTO outbox (shop_id, kind, dedup_key, created_at, data) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
            (notice.shop_id, notice.kind, notice.key, ts(notice.created_at),
             json.dumps(notice.data, ensure_ascii=False))) as cur:
            added = cur.rowcount == 1
        if added and notice.data.get("in_chat"):  # the chat showed it: recorded, not pushed
            await self._run(_NOBODY, ts(notice.created_at), last)
        elif added:
            await self._fan_out(last, notice.created_at)
        return added

    async def _last_id(self) -> int:
        row = await self._one("SELECT coalesce(max(id), 0) FROM outbox")
        return int(row[0]) if row else 0

    async def _fan_out(self, after: int, now: datetime) -> None:
        await self._run(_DELIVERIES, after)
        await self._run(_NOBODY, ts(now), after)

    async def pending(self, limit: int = 100) -> list[tuple[int, Notice]]:
        """Notices not yet done, oldest first."""
        rows = await self._all("SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?",
                               limit)
        return [(r["id"], _notice(r)) for r in rows]


def _notice(r: object) -> Notice:
    row = r  # aiosqlite.Row
    return Notice(row["shop_id"], row["kind"], row["dedup_key"],  # type: ignore[index]
                  dt(row["created_at"]),  # type: ignore[index, arg-type]
                  json.loads(row["data"]))  # type: ignore[index]


@dataclass(frozen=True)
class Delivery:
    """One member's copy of one notice."""

    outbox_id: int
    user_id: int
    attempts: int
    notice: Notice
    uncertain: bool = False  # claimed by a process that died during the call


@dataclass(frozen=True)
class PushCounts:
    """Deliveries by status, for /metrics and the logs."""

    pending: int = 0
    sent: int = 0
    failed: int = 0
    undeliverable: int = 0
    obsolete: int = 0


class SqlitePushes(_Repo):
    """What the sender reads and records; each call is its own short transaction."""

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose time has come, in the order their causes happened."""
        rows = await self._all(
            "SELECT d.outbox_id, d.telegram_user_id, d.attempts, d.claimed_at, o.* "
            "FROM push_deliveries d "
            "JOIN outbox o ON o.id = d.outbox_id WHERE d.status = 'pending' "
            "AND d.next_attempt_at <= ? ORDER BY d.outbox_id, d.telegram_user_id LIMIT ?",
            ts(now), limit)
        return [Delivery(r["outbox_id"], r["telegram_user_id"], r["attempts"], _notice(r),
                         r["claimed_at"] is not None) for r in rows]

    async def claim(self, d: Delivery, now: datetime) -> None:
        """Mark the copy as being sent (one autocommitted statement, before the call)."""
        await self._run("UPDATE push_deliveries SET claimed_at = ? "
                        "WHERE outbox_id = ? AND telegram_user_id = ?", ts(now),
                        d.outbox_id, d.user_id)

    async def record(self, d: Delivery, status: str, now: datetime, *,
                     error: str | None = None, message_id: int | None = None,
                     retry_at: datetime | None = None, attempted: bool = True) -> None:
        """One attempt's result; the notice is done once no member's copy is pending."""
        await self._run(
            "UPDATE push_deliveries SET status = ?, attempts = attempts + ?, last_error = ?, "
            "sent_at = ?, message_id = ?, next_attempt_at = ?, claimed_at = NULL "
            "WHERE outbox_id = ? AND telegram_user_id = ?",
            status, int(attempted), error, ts(now) if status == "sent" else None, message_id,
            ts(retry_at) if retry_at else "", d.outbox_id, d.user_id)
        await self._run(
            "UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM push_deliveries WHERE outbox_id = ? AND status = 'pending')",
            ts(now), d.outbox_id, d.outbox_id)

    async def counts(self) -> PushCounts:
        """Deliveries by status."""
        rows = await self._all("SELECT status, count(*) FROM push_deliveries GROUP BY status")
        return PushCounts(**{r[0]: r[1] for r in rows})

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery may be tried."""
        row = await self._one("SELECT min(next_attempt_at) FROM push_deliveries "
                              "WHERE status = 'pending'")
        return dt(row[0] or None) if row and row[0] else None


# Each stage's moment, encoded as moment * 8 + priority: the largest code is the newest
# moment, ties going to the more serious stage, with no sort and no window over the shops.
_PAUSING = ", ".join(f"'{stage}'" for stage in PAUSING_STAGES)
_STAGES = " ".join(f"WHEN {i} THEN '{stage}'" for i, stage in enumerate(PRIORITY))
_MOMENTS = f"""
WITH c AS MATERIALIZED (
  SELECT s.shop_id,
         CAST(strftime('%s', s.opened_at) AS INTEGER) AS opened,
         CAST(strftime('%s', s.shortfall_since) AS INTEGER) AS since,
         s.first_paid_at IS NULL AS never_paid
  FROM shops s
  WHERE s.status != 'closed' AND (s.shortfall_since IS NOT NULL OR s.first_paid_at IS NULL)
    AND NOT EXISTS (SELECT 1 FROM closures k WHERE k.shop_id = s.shop_id
                    AND k.stage IN ({_PAUSING}))
), best AS MATERIALIZED (
  SELECT shop_id, max(
    CASE WHEN since IS NOT NULL AND :now >= since THEN since * 8 + 0 ELSE -1 END,
    CASE WHEN since IS NOT NULL AND :now - since >= :repeat
              AND (NOT never_paid
                   OR since + ((:now - since) / :repeat) * :repeat < opened + :clearing)
         THEN (since + ((:now - since) / :repeat) * :repeat) * 8 + 1 ELSE -1 END,
    CASE WHEN since IS NOT NULL AND NOT never_paid AND :now >= since + :overdue
         THEN (since + :overdue) * 8 + 2 ELSE -1 END,
    CASE WHEN never_paid AND :warning > 0 AND :clearing >= :warning
              AND opened + :clearing - :warning <= :now
         THEN (opened + :clearing - :warning) * 8 + 3 ELSE -1 END,
    CASE WHEN never_paid AND :now >= opened + :clearing
         THEN (opened + :clearing) * 8 + 4 ELSE -1 END) AS code
  FROM c
), due AS (
  SELECT shop_id, code / 8 AS moment, CASE code % 8 {_STAGES} END AS stage
  FROM best WHERE code >= 0
)
INSERT INTO outbox (shop_id, kind, dedup_key, created_at, data)
SELECT shop_id, '{KIND}', '{KIND}:' || shop_id || ':' || stage || ':' || moment, :created,
       json_object('stage', stage, 'moment', CAST(moment AS TEXT))
FROM due WHERE true
ON CONFLICT (dedup_key) DO NOTHING
"""


class SqliteReminders(SqliteOutbox):
    """The reminder scanner: one statement decides and queues for every shop."""

    async def enqueue_due(self, now: datetime, rules: Rules) -> int:
        """Queue the due stage of every shop not yet pushed for its moment; the count queued."""
        last = await self._last_id()
        params = {"now": epoch(now), "repeat": rules.repeat, "overdue": rules.overdue,
                  "clearing": rules.clearing, "warning": rules.clearing_warning,
                  "created": ts(now)}
        await self.conn.execute(_MOMENTS, params)
        row = await self._one("SELECT count(*) FROM outbox WHERE id > ?", last)
        queued = int(row[0]) if row else 0  # (rowcount is -1 for a WITH … INSERT)
        if queued:
            await self._fan_out(last, now)
        return queued
