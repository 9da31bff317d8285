"""Verification channels: where the closure's one-time code goes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from bot.http.auth import signed_headers
from domain.errors import VerificationUnavailable

log = logging.getLogger(__name__)


class PrintedChannel:
    """The sandbox's channel: the code is printed where the person at the keyboard sees it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        self.out.write(f"code> verification code for shop {shop_id} (user {user_id}): {code}\n")
        self.out.flush()


class LoggedChannel:
    """Development only (DEPOSIT_VERIFICATION=log): the code goes to the operator log."""

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        log.warning("DEVELOPMENT verification channel: code for shop %s (user %s): %s",
                    shop_id, user_id, code)


class UnavailableChannel:
    """No channel configured: closing says identity checks are unavailable (never pretends
    a code was sent)."""

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        raise VerificationUnavailable("no verification channel is configured")


class WebhookChannel:
    """A signed POST to the platform, which owns the contact details and sends the SMS or
    e-mail: {"type": "verification.code", "shop_id", "telegram_user_id", "code"}, signed like
    the /v1/ API (X-Deposit-Timestamp, X-Deposit-Signature over TIMESTAMP.POST.PATH.BODY)
    with DEPOSIT_VERIFICATION_SECRET. Anything but a 2xx within 10 s is a failure."""

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient | None = None) -> None:
        self.url, self.secret = url, secret
        self.client = client

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        body = json.dumps({"type": "verification.code", "shop_id": shop_id,
                           "telegram_user_id": user_id, "code": code}).encode()
        path = urlsplit(self.url).path or "/"
        headers = {"Content-Type": "application/json",
                   **signed_headers(self.secret, datetime.now(UTC), "POST", path, body)}
        try:
            if self.client is not None:
                answer = await self.client.post(self.url, content=body, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=10) as client:
                    answer = await client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("verification webhook failed: %s", type(exc).__name__)
            raise VerificationUnavailable("the verification webhook cannot be reached") from None
        if not answer.is_success:
            log.warning("verification webhook answered %d", answer.status_code)
            raise VerificationUnavailable(f"the verification webhook answered "
                                          f"{answer.status_code}")


def channel_for(mode: str | None, url: str | None, secret: str | None) -> Any:
    """The production channel DEPOSIT_VERIFICATION names: webhook, log (development) or none."""
    if mode == "webhook" and url and secret:
        return WebhookChannel(url, secret)
    if mode == "log":
        return LoggedChannel()
    return UnavailableChannel()
