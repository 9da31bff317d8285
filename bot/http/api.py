"""create_api(deps, secret): the FastAPI app of SPEC §9 over HTTP, metrics and the webhook.

FastAPI rather than bare Starlette: the response models below are the OpenAPI document,
so the contract the platform reads and the code cannot drift apart.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import BackgroundTasks, FastAPI, Request, Security
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader

from bot import metrics
from bot.cluster.leader import Leadership
from bot.context import Deps
from bot.http import errors
from bot.http.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, AuthError, verify
from bot.http.body import read_body
from bot.http.errors import ApiError, documented
from bot.http.models import EventOutcome, Health, IngestAnswer, ShopStatus
from bot.http.status import shop_status
from bot.http.webhook import Webhook, add_webhook
from bot.ingest import BadLine, apply_batch, parse_line
from bot.storage.ops import forget_signature, gauges, remember_signature
from domain.apply import EventResult
from domain.errors import UnknownShop
from domain.services import get_snapshot

log = logging.getLogger(__name__)
MiB = 1 << 20
JSON_TYPES = {"", "application/json"}
NDJSON_TYPES = {"application/x-ndjson", "application/jsonl", "application/ndjson"}
_timestamp = APIKeyHeader(name=TIMESTAMP_HEADER, scheme_name="timestamp", auto_error=False,
                          description="unix seconds when the request was signed")
_signature = APIKeyHeader(name=SIGNATURE_HEADER, scheme_name="signature", auto_error=False,
                          description="sha256=HEX of HMAC-SHA256(secret, "
                                      "TIMESTAMP.METHOD.PATH.BODY)")
Stamp = Annotated[str | None, Security(_timestamp)]
Signature = Annotated[str | None, Security(_signature)]
EVENT_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["type", "event_id", "occurred_at"],
        "properties": {"type": {"type": "string"}, "event_id": {"type": "string"},
                       "occurred_at": {"type": "string", "format": "date-time"},
                       "shop_id": {"type": "string"}},
        "additionalProperties": True, "description": "one SPEC §9 event"}},
    "application/x-ndjson": {"schema": {"type": "string",
                                        "description": "one SPEC §9 event per line"}}}}}


def signed_path(request: Request) -> str:
    """The path as the client sent it (percent-encoded), with ?query when there is one."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


class Api:
    """The routes' shared state: deps, the shared secret, the body limit."""

    def __init__(self, d: Deps, secret: str, max_body: int,
                 after_events: Callable[[], Awaitable[None]] | None) -> None:
        self.d, self.secret, self.max_body = d, secret, max_body
        self.after_events = after_events
        self.leadership = Leadership()  # one process; create_api passes the cluster's
        self.schema_version: int | None = None

    async def run_after_events(self) -> None:
        """After the answer went out: deliver the pushes the events queued; never raises."""
        if self.after_events is None:
            return
        try:
            await self.after_events()
        except Exception:
            log.exception("delivering pushes after HTTP events failed; the jobs will retry")

    async def authenticate(self, request: Request, stamp: str | None, signature: str | None,
                           body: bytes) -> str:
        """401 unless signed with the shared secret, fresh, and not seen before."""
        now = self.d.clock.now()
        try:
            seen = verify(self.secret, stamp, signature, request.method, signed_path(request),
                          body, now)
        except AuthError as exc:
            raise ApiError(401, exc.reason) from None
        if not await remember_signature(self.d.db, seen.signature, seen.expires_at, now):
            raise ApiError(401, "replayed request: this signature was already used")
        return seen.signature

    async def events(self, request: Request, background: BackgroundTasks, stamp: Stamp = None,
                     signature: Signature = None) -> IngestAnswer:
        """One event (JSON) or many (NDJSON), each applied or refused on its own."""
        body = await read_body(request, self.max_body)
        seen = await self.authenticate(request, stamp, signature, body)
        try:
            return await self._events(request, background, body)
        except BaseException:  # nothing committed: the same request may be sent again
            await forget_signature(self.d.db, seen)
            raise

    async def _events(self, request: Request, background: BackgroundTasks,
                      body: bytes) -> IngestAnswer:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in JSON_TYPES | NDJSON_TYPES:
            raise ApiError(415, "send application/json (one event) or application/x-ndjson")
        lines = _lines(body, ndjson=kind in NDJSON_TYPES)
        raws = [parse_line(text) for _, text in lines]
        if kind in JSON_TYPES and isinstance(raws[0], BadLine):
            raise ApiError(400, f"body is {raws[0].reason}")
        results = await apply_batch(self.d, raws)
        if any(r.outcome.value == "applied" for r in results):
            background.add_task(self.run_after_events)
        return _answer(lines, results)

    async def status(self, request: Request, shop_id: str, stamp: Stamp = None,
                     signature: Signature = None) -> ShopStatus:
        """Balance, required and why, shortfall, holds, arrears, restriction and effects."""
        await read_body(request, self.max_body)
        seen = await self.authenticate(request, stamp, signature, b"")
        try:
            return await self._status(shop_id)
        except BaseException:  # a read: the same request may be sent again
            await forget_signature(self.d.db, seen)
            raise

    async def _status(self, shop_id: str) -> ShopStatus:
        try:
            snap = await get_snapshot(self.d.uow(), shop_id, self.d.clock.now(), self.d.policy)
        except UnknownShop:
            raise ApiError(404, f"unknown shop {shop_id!r}") from None
        return shop_status(snap)

    async def health(self) -> Health:
        """Up, and the database answers: its backend, schema version, integrity, and whether
        this instance leads. While a writer holds the lock, the version read last (a health
        check never waits on a batch)."""
        if not (self.d.db.lock.locked() and self.schema_version is not None):
            self.schema_version = await self.d.db.schema_version()
        return Health(status="ok", backend=self.d.db.backend, schema_version=self.schema_version,
                      leader=self.leadership.is_leader, instance=self.leadership.instance,
                      integrity=self.d.db.checked)

    async def metrics(self) -> PlainTextResponse:
        """Counters and gauges in the Prometheus text format. Gauges read from the shared
        database come from the leader only, so summing over instances counts them once."""
        leading = self.leadership.is_leader
        shared = await gauges(self.d.db, self.d.clock.now()) if leading else {}
        text = metrics.render({**shared, "deposit_leader": (
            "1 on the instance that runs the jobs and sends the pushes", float(leading))})
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


def _lines(body: bytes, *, ndjson: bool) -> list[tuple[int, str]]:
    """(line number, text) of each event; blank lines are skipped."""
    if not ndjson:
        parts = [(1, body)]
    else:
        parts = [(n, part) for n, part in enumerate(body.split(b"\n"), 1) if part.strip()]
    if not parts or not parts[0][1].strip():
        raise ApiError(400, "body is empty: send one event or one per line")
    out = []
    for number, part in parts:
        try:
            out.append((number, part.decode("utf-8")))
        except UnicodeDecodeError:
            out.append((number, "\ufffd"))  # rejected below as not valid JSON
    return out


def _answer(lines: list[tuple[int, str]], results: list[EventResult]) -> IngestAnswer:
    outcomes = [EventOutcome(index=i, line=line, event_id=r.event_id, type=r.event_type,
                             outcome=r.outcome.value, field=r.field, reason=r.reason)
                for i, ((line, _), r) in enumerate(zip(lines, results, strict=True))]
    return IngestAnswer(results=outcomes, summary=dict(Counter(o.outcome for o in outcomes)))


def create_api(d: Deps, secret: str, *, max_body: int = MiB, webhook: Webhook | None = None,
               after_events: Callable[[], Awaitable[None]] | None = None,
               leadership: Leadership | None = None,
               metrics_access: str = "open", openapi_access: str = "open") -> FastAPI:
    """The ASGI app; `after_events` runs after a request applied something (pushes);
    /metrics and /openapi.json are "open", "signed" (like /v1/) or "off" (404)."""
    if not secret:
        raise ValueError("the HTTP API needs a shared secret (DEPOSIT_HTTP_SECRET)")
    api = Api(d, secret, max_body, after_events)
    api.leadership = leadership or api.leadership
    app = FastAPI(title="Store deposit desk", version="1", docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="SPEC §9 platform events in, shop deposit status out. "
                              "Requests are signed: see README, HTTP API.")
    errors.install(app)
    app.add_api_route("/v1/events", api.events, methods=["POST"], response_model=IngestAnswer,
                      openapi_extra=EVENT_BODY, summary="Apply platform events",
                      responses=documented(400, 401, 413, 415))
    app.add_api_route("/v1/shops/{shop_id}/status", api.status, methods=["GET"],
                      response_model=ShopStatus, summary="A shop's deposit status",
                      responses=documented(401, 404, 413, 422))
    app.add_api_route("/healthz", api.health, methods=["GET"], response_model=Health)
    if metrics_access != "off":
        app.add_api_route("/metrics", guarded(api, metrics_access, api.metrics), methods=["GET"],
                          response_class=PlainTextResponse, responses={200: {"content": {
                              "text/plain": {"schema": {"type": "string"}}}}})
    if openapi_access != "off":
        async def openapi() -> JSONResponse:
            return JSONResponse(app.openapi())
        app.add_api_route("/openapi.json", guarded(api, openapi_access, openapi),
                          methods=["GET"], include_in_schema=False)
    if webhook is not None:
        add_webhook(app, webhook, max_body)
    _both_headers(app)
    return app


def guarded(api: Api, access: str, route: Callable[[], Awaitable[Any]]
            ) -> Callable[..., Awaitable[Any]]:
    """The route as is ("open"), or behind the /v1/ request signature ("signed")."""
    if access != "signed":
        return route

    async def signed(request: Request, stamp: Stamp = None, signature: Signature = None) -> Any:
        await api.authenticate(request, stamp, signature, b"")
        return await route()
    signed.__doc__ = route.__doc__
    return signed


def _both_headers(app: FastAPI) -> None:
    """OpenAPI: the two headers are required together (FastAPI lists them as alternatives)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict) and operation.get("security"):
                        merged = {k: v for entry in operation["security"]
                                  for k, v in entry.items()}
                        operation["security"] = [merged]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
