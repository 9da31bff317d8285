"""Verification channels: where the closure's one-time code goes."""

from __future__ import annotations

import logging
from typing import TextIO

log = logging.getLogger(__name__)


class PrintedChannel:
    """The sandbox's channel: the code is printed where the person at the keyboard sees it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        self.out.write(f"code> verification code for shop {shop_id} (user {user_id}): {code}\n")
        self.out.flush()


class LoggedChannel:
    """Until a real SMS/e-mail channel is configured: the code goes to the operator log."""

    async def send_code(self, shop_id: str, user_id: int, code: str) -> None:
        log.warning("verification code for shop %s (user %s): %s", shop_id, user_id, code)
