"""Reading a request body under a limit: shared by the API's routes and Telegram's webhook."""

from __future__ import annotations

from fastapi import Request

from bot.http.errors import ApiError


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes limit bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"body larger than {limit} bytes")
    return bytes(body)
