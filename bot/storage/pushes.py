"""The outbox, its per-member deliveries and the reminder scanner's SQL (no telegram here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.db import dt, ts
from bot.storage.repos import _Repo
from domain.notices import Notice
from domain.reminders import KIND, PAUSING_STAGES, PRIORITY, Rules, epoch

# Every member of the shop at the time of the cause gets the push: one notice's deliveries,
# by the id its own INSERT returned (never "every id above a max(id) read earlier", which two
# writers on PostgreSQL would both fan out, and a sequence assigns out of commit order).
_DELIVERIES_OF = ("INSERT INTO push_deliveries (outbox_id, telegram_user_id) "
                  "SELECT ?, m.telegram_user_id FROM members m WHERE m.shop_id = ?")
# A notice nobody can receive (no members yet, or shown in the chat) is done when written.
_DONE_AT = "CASE WHEN ? OR NOT EXISTS (SELECT 1 FROM members m WHERE m.shop_id = ?) " \
           "THEN ? END"
# The reminder scan's bulk fan-out. It runs on the leader only (one scan at a time in the
# deployment) and, on SQLite, under the write lock, so the ids above the scan's starting
# point are exactly the notices it added.
_DELIVERIES = ("INSERT INTO push_deliveries (outbox_id, telegram_user_id) "
               "SELECT o.id, m.telegram_user_id FROM outbox o "
               "JOIN members m ON m.shop_id = o.shop_id WHERE o.id > ? AND o.sent_at IS NULL")
_NOBODY = ("UPDATE outbox SET sent_at = ? WHERE id > ? AND sent_at IS NULL AND NOT EXISTS "
           "(SELECT 1 FROM push_deliveries d WHERE d.outbox_id = outbox.id)")


class SqliteOutbox(_Repo):
    """Notices written in the cause's transaction, each with its members' deliveries."""

    async def add(self, notice: Notice) -> bool:
        """Queue a notice once per dedup key; False when the key was already used."""
        created = ts(notice.created_at)
        row = await self._one(
            "INSERT INTO outbox (shop_id, kind, dedup_key, created_at, data, sent_at) "
            f"VALUES (?, ?, ?, ?, ?, {_DONE_AT}) ON CONFLICT (dedup_key) DO NOTHING "
            "RETURNING id, sent_at",
            notice.shop_id, notice.kind, notice.key, created,
            json.dumps(notice.data, ensure_ascii=False),
            bool(notice.data.get("in_chat")), notice.shop_id, created)
        if row is None:
            return False
        if row["sent_at"] is None:  # the chat showed it otherwise: recorded, not pushed
            await self._run(_DELIVERIES_OF, row["id"], notice.shop_id)
        return True

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
class Result:
    """One attempt's outcome for one copy, as the sender records it."""

    delivery: Delivery
    status: str  # sent, pending (again later), failed, undeliverable, obsolete
    error: str | None = None
    message_id: int | None = None
    retry_at: datetime | None = None
    attempted: bool = True  # counts toward max_attempts


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

    _CLAIM = ("UPDATE push_deliveries SET claimed_at = ? "
              "WHERE outbox_id = ? AND telegram_user_id = ?")
    _RECORD = ("UPDATE push_deliveries SET status = ?, attempts = attempts + ?, "
               "last_error = ?, sent_at = ?, message_id = ?, next_attempt_at = ?, "
               "claimed_at = NULL WHERE outbox_id = ? AND telegram_user_id = ?")
    _DONE = ("UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL AND NOT EXISTS "
             "(SELECT 1 FROM push_deliveries WHERE outbox_id = ? AND status = 'pending')")

    def writes(self, results: Sequence[Result], claims: Sequence[Delivery], now: datetime
               ) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The statements (each with its parameter sets) that record the attempts' results
        (a notice is done once no member's copy is pending) and mark `claims` as being sent,
        for one transaction of the caller's."""
        at, writes = ts(now), []
        if results:
            writes.append((self._RECORD, [
                (r.status, int(r.attempted), r.error, at if r.status == "sent" else None,
                 r.message_id, ts(r.retry_at) if r.retry_at else "", r.delivery.outbox_id,
                 r.delivery.user_id) for r in results]))
            notices = dict.fromkeys(r.delivery.outbox_id for r in results)
            writes.append((self._DONE, [(at, n, n) for n in notices]))
        if claims:
            writes.append((self._CLAIM, [(at, d.outbox_id, d.user_id) for d in claims]))
        return writes

    async def languages(self, users: Sequence[int]) -> dict[int, str | None]:
        """Each member's push language: the chosen one, else the last Telegram one seen."""
        if not users:
            return {}
        marks = ", ".join("?" * len(users))
        rows = await self._all("SELECT telegram_user_id, coalesce(language, seen_language) "
                               f"FROM users WHERE telegram_user_id IN ({marks})", *users)
        return {int(r[0]): r[1] for r in rows}

    async def wave_mates(self, due: list[Delivery], now: datetime) -> list[Delivery]:
        """The other pending, due reminder copies of the members and waves (one scan's
        `created_at`) of the reminders in `due`: one member's reminders of one wave go out
        as one digest, however the batch cut them."""
        waves = _waves(due)
        if not waves:
            return []
        mates, args = _mates(waves, now)
        rows = await self._all(
            "SELECT d.outbox_id, d.telegram_user_id, d.attempts, d.claimed_at, o.* "
            "FROM push_deliveries d JOIN outbox o ON o.id = d.outbox_id "
            f"WHERE (d.outbox_id, d.telegram_user_id) IN ({mates}) "
            "ORDER BY d.outbox_id, d.telegram_user_id", *args)
        return _others(due, rows)

    async def spend_paid(self, day: str, block: int, ceiling: int) -> int:
        """Take up to `block` paid-broadcast messages of `day`'s ceiling; how many were taken
        (0 once the ceiling is reached or another sender took the same ones first)."""
        await self._run("INSERT INTO paid_broadcast_days (day, messages) VALUES (?, 0) "
                        "ON CONFLICT (day) DO NOTHING", day)
        row = await self._one("SELECT messages FROM paid_broadcast_days WHERE day = ?", day)
        used = int(row[0]) if row else 0
        grant = min(block, ceiling - used)
        if grant <= 0:
            return 0
        took = await self._one("UPDATE paid_broadcast_days SET messages = ? "
                               "WHERE day = ? AND messages = ? RETURNING messages",
                               used + grant, day, used)
        return grant if took is not None else 0

    async def counts(self) -> PushCounts:
        """Deliveries by status."""
        rows = await self._all("SELECT status, count(*) FROM push_deliveries GROUP BY status")
        return PushCounts(**{r[0]: r[1] for r in rows})

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery may be tried."""
        row = await self._one("SELECT min(next_attempt_at) FROM push_deliveries "
                              "WHERE status = 'pending'")
        return dt(row[0] or None) if row and row[0] else None


def _waves(due: list[Delivery]) -> list[tuple[int, str]]:
    """(member, wave) of every reminder copy in `due`, once each."""
    return list(dict.fromkeys((d.user_id, str(ts(d.notice.created_at))) for d in due
                              if d.notice.kind == KIND))


# One member's pending reminder copies of one wave: the member's shops (members_by_user),
# each shop's reminders by the range of their dedup keys ('reminder:<shop>:…', the unique
# index), the member's copy by its primary key. No index of its own is needed.
_MATE = ("SELECT d.outbox_id, d.telegram_user_id FROM members m "
         f"JOIN outbox o ON o.dedup_key > '{KIND}:' || m.shop_id || ':' "
         f"AND o.dedup_key < '{KIND}:' || m.shop_id || ';' AND o.shop_id = m.shop_id "
         "JOIN push_deliveries d ON d.outbox_id = o.id "
         "AND d.telegram_user_id = m.telegram_user_id "
         f"WHERE m.telegram_user_id = ? AND o.created_at = ? AND o.kind = '{KIND}' "
         "AND d.status = 'pending' AND d.next_attempt_at <= ?")


def _mates(waves: list[tuple[int, str]], now: datetime) -> tuple[str, list[object]]:
    """The subquery of every wave's copies, and its arguments."""
    args: list[object] = []
    for user, created in waves:
        args += [user, created, ts(now)]
    return " UNION ALL ".join([_MATE] * len(waves)), args


def _others(due: list[Delivery], rows: Sequence[object]) -> list[Delivery]:
    """The rows' copies that `due` does not hold already."""
    have = {(d.outbox_id, d.user_id) for d in due}
    found = [Delivery(r["outbox_id"], r["telegram_user_id"], r["attempts"],  # type: ignore[index]
                      _notice(r), r["claimed_at"] is not None)  # type: ignore[index]
             for r in rows]
    return [d for d in found if (d.outbox_id, d.user_id) not in have]


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


# PostgreSQL: the same decision, and the fan-out in the same statement (issue #16.3 d). The
# notices' INSERT … RETURNING feeds the deliveries' INSERT directly, and a notice nobody can
# receive is written done, so there is no second pass over the new notices (an index scan of
# outbox_pending joined to members), no UPDATE of them and no count afterwards; PostgreSQL
# cannot run a data-modifying WITH inside SQLite's dialect, hence two texts of one rule.
_INSERT = _MOMENTS[_MOMENTS.index("INSERT INTO outbox"):]
_PG_MOMENTS = _MOMENTS.replace(_INSERT, f"""
, ins AS (
  INSERT INTO outbox (shop_id, kind, dedup_key, created_at, data, sent_at)
  SELECT shop_id, '{KIND}', '{KIND}:' || shop_id || ':' || stage || ':' || moment, :created,
         json_object('stage', stage, 'moment', CAST(moment AS TEXT)),
         CASE WHEN EXISTS (SELECT 1 FROM members m WHERE m.shop_id = due.shop_id) THEN NULL
              ELSE :created END
  FROM due WHERE true
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING id, shop_id, sent_at
), fan AS (
  INSERT INTO push_deliveries (outbox_id, telegram_user_id)
  SELECT ins.id, m.telegram_user_id FROM ins JOIN members m ON m.shop_id = ins.shop_id
  WHERE ins.sent_at IS NULL
)
SELECT count(*) FROM ins
""")


class SqliteReminders(SqliteOutbox):
    """The reminder scanner: one statement decides and queues for every shop."""

    async def enqueue_due(self, now: datetime, rules: Rules) -> int:
        """Queue the due stage of every shop not yet pushed for its moment; the count queued."""
        params = {"now": epoch(now), "repeat": rules.repeat, "overdue": rules.overdue,
                  "clearing": rules.clearing, "warning": rules.clearing_warning,
                  "created": ts(now)}
        if type(self.conn).__name__ == "PgConnection":
            # JIT compiles the statement for its row estimate (tens of ms) and wins nothing
            await self.conn.execute("SET LOCAL jit = off")
            counted = next(iter(await self.conn.execute_fetchall(_PG_MOMENTS, params)))
            return int(counted[0])
        last = await self._last_id()
        await self.conn.execute(_MOMENTS, params)
        row = await self._one("SELECT count(*) FROM outbox WHERE id > ?", last)
        queued = int(row[0]) if row else 0  # (rowcount is -1 for a WITH … INSERT)
        if queued:
            await self._fan_out(last, now)
        return queued


# PostgreSQL, several instances: a batch is picked with FOR UPDATE SKIP LOCKED and marked as
# this claimant's, so two senders never take the same copy. A copy held by another claimant
# is left alone while that claimant's backend lives; once it is gone the copy is picked again,
# and flagged uncertain when its claimant had started the Bot API call (claimed_at). The
# claim and the outbox rows come back in one statement; `{where}` says which copies.
_CLAIM = """
WITH picked AS (
  SELECT d.outbox_id, d.telegram_user_id FROM push_deliveries d
  WHERE {where}
    AND (d.claimed_by IS NULL OR d.claimed_by = ? OR NOT EXISTS (
         SELECT 1 FROM pg_stat_activity a
         WHERE a.pid || '@' || extract(epoch FROM a.backend_start) = d.claimed_by))
  {limit}
  FOR UPDATE OF d SKIP LOCKED
), mine AS (
  UPDATE push_deliveries d SET claimed_by = ?
  FROM picked p WHERE d.outbox_id = p.outbox_id AND d.telegram_user_id = p.telegram_user_id
  RETURNING d.outbox_id, d.telegram_user_id, d.attempts, d.claimed_at
)
SELECT m.outbox_id, m.telegram_user_id, m.attempts, m.claimed_at, o.*
FROM mine m JOIN outbox o ON o.id = m.outbox_id
ORDER BY m.outbox_id, m.telegram_user_id
"""
# a batch of due deliveries
_PICK = _CLAIM.format(where="d.status = 'pending' AND d.next_attempt_at <= ?",
                      limit="ORDER BY d.outbox_id, d.telegram_user_id LIMIT ?")
# a member's other reminder copies of the same waves ({mates} filled in per call)
_PICK_MATES = _CLAIM.format(where="(d.outbox_id, d.telegram_user_id) IN ({mates})", limit="")


class PgPushes(SqlitePushes):
    """The sender's reads and records when several instances share the outbox."""

    def __init__(self, conn: object, claimant: str) -> None:
        super().__init__(conn)  # type: ignore[arg-type]
        self.claimant = claimant

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Claim up to `limit` due copies for this claimant, in the order of their causes."""
        rows = await self._all(_PICK, ts(now), self.claimant, limit, self.claimant)
        return [Delivery(r["outbox_id"], r["telegram_user_id"], r["attempts"], _notice(r),
                         r["claimed_at"] is not None) for r in rows]

    async def wave_mates(self, due: list[Delivery], now: datetime) -> list[Delivery]:
        """As on SQLite, claimed for this claimant like the batch itself."""
        waves = _waves(due)
        if not waves:
            return []
        mates, args = _mates(waves, now)
        rows = await self._all(_PICK_MATES.format(mates=mates), *args, self.claimant,
                               self.claimant)
        return _others(due, rows)

    # as on SQLite, and the copy is nobody's any more
    _RECORD = SqlitePushes._RECORD.replace("claimed_at = NULL", "claimed_at = NULL, "
                                           "claimed_by = NULL")
