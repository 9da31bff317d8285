"""Telegram's webhook on the API's server: the secret token checked in constant time."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot import metrics
from bot.http.body import read_body

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, the secret it must send, and who takes the update."""

    path: str
    secret: str
    deliver: Callable[[dict[str, Any]], Awaitable[None]]

    @classmethod
    def for_url(cls, url: str, secret: str,
                deliver: Callable[[dict[str, Any]], Awaitable[None]]) -> Webhook:
        """The route is the URL's path (`/` when it has none)."""
        return cls(urlsplit(url).path or "/", secret, deliver)


def add_webhook(app: FastAPI, hook: Webhook, max_body: int) -> None:
    """POST hook.path: 403 without the right secret, else the update goes to hook.deliver."""
    async def telegram_update(request: Request) -> JSONResponse:
        """One update from Telegram."""
        sent = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode(), hook.secret.encode()):
            metrics.inc("deposit_http_refused_total")
            log.warning("webhook call without the right secret token refused")
            return JSONResponse({"error": "forbidden", "message": "wrong secret token"}, 403)
        body = await read_body(request, max_body)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            # any answer but 200 makes Telegram send the same update again, forever
            log.warning("webhook: a malformed update was dropped (%d bytes)", len(body))
            return JSONResponse({"ok": True, "dropped": "malformed update"})
        try:
            await hook.deliver(data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("webhook: update %s could not be read and was dropped: %s",
                        data.get("update_id"), type(exc).__name__)
            return JSONResponse({"ok": True, "dropped": "malformed update"})
        return JSONResponse({"ok": True})

    app.add_api_route(hook.path, telegram_update, methods=["POST"], include_in_schema=False)
