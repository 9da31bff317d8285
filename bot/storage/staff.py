"""Role grants, the staff audit log and operator actions waiting for a confirm button."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.storage.db import Database, dt, ts
from bot.storage.support import transaction

PENDING_VALIDITY = timedelta(minutes=15)


class Grants:
    """Roles operators grant and revoke; a revoked grant stays on record."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def active(self, user_id: int) -> set[str]:
        """The roles granted to a user and not revoked."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT DISTINCT role FROM role_grants WHERE user_id = ? AND revoked_at IS NULL",
                (user_id,)) as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    async def grant(self, user_id: int, role: str, by: int, now: datetime) -> bool:
        """Grant a role; False when the user already holds that grant."""
        async with transaction(self.db) as conn:
            async with conn.execute("SELECT 1 FROM role_grants WHERE user_id = ? AND role = ? "
                                    "AND revoked_at IS NULL", (user_id, role)) as cur:
                if await cur.fetchone() is not None:
                    return False
            await conn.execute("INSERT INTO role_grants (user_id, role, granted_by, granted_at) "
                               "VALUES (?, ?, ?, ?)", (user_id, role, by, ts(now)))
            return True

    async def revoke(self, user_id: int, role: str, by: int, now: datetime) -> bool:
        """Revoke a granted role; False when there was no such grant."""
        async with self.db.lock, self.db.conn.execute(
                "UPDATE role_grants SET revoked_by = ?, revoked_at = ? WHERE user_id = ? AND "
                "role = ? AND revoked_at IS NULL", (by, ts(now), user_id, role)) as cur:
            return cur.rowcount > 0


@dataclass(frozen=True)
class AuditEntry:
    """One staff command: who, as what, when, with which arguments, and what came of it."""

    audit_id: int
    user_id: int
    role: str | None
    at: datetime
    command: str
    arguments: str
    outcome: str


class Audit:
    """The append-only record of staff commands (outcome filled in when they finish)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, user_id: int, role: str | None, command: str, arguments: str,
                    now: datetime, outcome: str = "started") -> int:
        """Record a command as it starts; its id names the events it causes."""
        async with self.db.lock, self.db.conn.execute(
                "INSERT INTO audit_log (user_id, role, at, command, arguments, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, role, ts(now), command, arguments, outcome)) as cur:
            return int(cur.lastrowid or 0)

    async def finish(self, audit_id: int, outcome: str) -> None:
        """What came of the command."""
        async with self.db.lock:
            await self.db.conn.execute("UPDATE audit_log SET outcome = ? WHERE audit_id = ?",
                                       (outcome, audit_id))

    async def entries(self, limit: int = 100) -> list[AuditEntry]:
        """The newest entries first."""
        async with self.db.lock, self.db.conn.execute(
                "SELECT * FROM audit_log ORDER BY audit_id DESC LIMIT ?", (limit,)) as cur:
            rows = await cur.fetchall()
        return [AuditEntry(r["audit_id"], r["user_id"], r["role"], dt(r["at"]),  # type: ignore[arg-type]
                           r["command"], r["arguments"], r["outcome"]) for r in rows]


@dataclass(frozen=True)
class PendingAction:
    """An operator action shown with Confirm/Cancel; its token is in the buttons."""

    action_id: int
    token: str
    user_id: int
    kind: str
    payload: dict[str, Any]


class PendingActions:
    """Create an action waiting for confirmation and take it exactly once."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, user_id: int, kind: str, payload: dict[str, Any],
                     now: datetime) -> PendingAction:
        """A new pending action with an unguessable token."""
        token = secrets.token_urlsafe(12)
        async with self.db.lock, self.db.conn.execute(
                "INSERT INTO pending_actions (token, user_id, kind, payload, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (token, user_id, kind, json.dumps(payload), ts(now),
                 ts(now + PENDING_VALIDITY))) as cur:
            action_id = int(cur.lastrowid or 0)
        return PendingAction(action_id, token, user_id, kind, payload)

    async def take(self, token: str, user_id: int, outcome: str,
                   now: datetime) -> PendingAction | None:
        """The action, marked used, if this user created it and it is unused and unexpired."""
        async with transaction(self.db) as conn:
            async with conn.execute(
                    "SELECT * FROM pending_actions WHERE token = ? AND user_id = ? AND "
                    "used_at IS NULL AND expires_at > ?", (token, user_id, ts(now))) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("UPDATE pending_actions SET used_at = ?, outcome = ? "
                               "WHERE action_id = ?", (ts(now), outcome, row["action_id"]))
        return PendingAction(row["action_id"], row["token"], row["user_id"], row["kind"],
                             json.loads(row["payload"]))
