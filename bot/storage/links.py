"""One-time shop links: issued by an operator, redeemed once by the seller's /start."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from bot.storage.db import Database, dt, ts
from bot.storage.uow import SqliteUnitOfWork
from domain.errors import UnknownShop
from domain.model import Member, Shop

VALIDITY = timedelta(days=7)


class Redemption(enum.StrEnum):
    LINKED = "linked"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class Links:
    """Issue and redeem link tokens; redemption adds the member in the same transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def issue(self, shop_id: str, role: str, now: datetime) -> str:
        """A fresh token for a shop, valid for 7 days."""
        token = secrets.token_urlsafe(18)
        uow = SqliteUnitOfWork(self.db)
        async with uow:
            if await uow.shops.get(shop_id) is None:
                raise UnknownShop(shop_id)
            await uow.conn.execute(
                "INSERT INTO link_tokens (token, shop_id, role, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)", (token, shop_id, role, ts(now), ts(now + VALIDITY)))
            await uow.commit()
        return token

    async def redeem(self, token: str, user_id: int,
                     now: datetime) -> tuple[Redemption, Shop | None]:
        """Bind the user to the token's shop once; a used or expired token binds nothing."""
        uow = SqliteUnitOfWork(self.db)
        async with uow:
            async with uow.conn.execute(
                    "SELECT shop_id, role, expires_at, used_by FROM link_tokens WHERE token = ?",
                    (token,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return Redemption.UNKNOWN, None
            shop = await uow.shops.get(row[0])
            if row[3] is not None:
                return (Redemption.LINKED if row[3] == user_id else Redemption.USED), shop
            expires = dt(row[2])
            if shop is None or expires is None or now >= expires:
                return Redemption.EXPIRED, None
            await uow.shops.add_member(Member(shop.shop_id, user_id, row[1]))
            await uow.conn.execute("UPDATE link_tokens SET used_by = ?, used_at = ? "
                                       "WHERE token = ?", (user_id, ts(now), token))
            await uow.commit()
            return Redemption.LINKED, shop
