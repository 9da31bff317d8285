"""Every refusal of the HTTP API as JSON: {"error": code, "message": sentence}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from bot import metrics
from bot.http.models import Problem

log = logging.getLogger(__name__)
_CODES = {400: "malformed", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
          422: "invalid", 500: "internal"}


class ApiError(Exception):
    """A refusal with its HTTP status and a clear message."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")


def problem(status: int, message: str, code: str | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON answer for a refusal."""
    body = Problem(error=code or _CODES.get(status, "error"), message=message)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for refusals."""
    return {s: {"model": Problem, "description": _CODES.get(s, "error")} for s in statuses}


def install(app: FastAPI) -> None:
    """Route ApiError, HTTPException and validation failures to `problem`."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        metrics.inc("deposit_http_refused_total")
        log.info("%s %s refused (%d): %s", request.method, request.url.path, exc.status,
                 exc.message)
        return problem(exc.status, exc.message, exc.code)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(422, f"{where}: {first.get('msg', 'invalid request')}")

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal error; nothing of this request was applied unless its "
                            "answer says so, and it can be sent again as it was", "internal")

    app.add_exception_handler(Exception, internal)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
