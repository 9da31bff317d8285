"""`deposit-bot run --http HOST:PORT [--webhook-url URL]`: the bot and the API on one loop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import secrets
import signal
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, drain_or_wake, run_jobs
from bot.cluster.leader import is_postgres
from bot.cluster.node import POLLING_REFUSED, SECRET_REQUIRED, Node, db_target
from bot.config import Settings
from bot.http.api import create_api
from bot.http.webhook import Webhook
from bot.notify.sender import sender_of
from bot.runner import ALLOWED_UPDATES, deps_for, handle, poll, run_loop, start, stop
from bot.startup import CONFIG, UNAVAILABLE, closing, fail, open_database
from bot.storage.db import Database, shown

log = logging.getLogger(__name__)
RESERVED = ("/v1/", "/healthz", "/metrics", "/openapi.json")
MIN_SECRET = 32  # bytes: an HMAC key or webhook token shorter than this is guessable offline
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the bot's loop stops it, then stops PTB."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def address(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 in brackets: [::1]:8080); :PORT binds 127.0.0.1 only."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        fail(CONFIG, f"--http needs HOST:PORT, e.g. 127.0.0.1:8080 (got {text!r})")
    return host.strip("[]") or "127.0.0.1", int(port)  # ":8080" stays on this machine


def check(settings: Settings, webhook_url: str | None, target: str = "") -> str:
    """Refuse to start without what the HTTP mode needs; the webhook secret to use (on
    PostgreSQL several instances take the webhook: they must share one)."""
    if webhook_url and is_postgres(target) and not settings.telegram_webhook_secret:
        raise SystemExit(SECRET_REQUIRED)
    if not settings.telegram_bot_token:
        fail(CONFIG, "TELEGRAM_BOT_TOKEN is not set (see README: Configuration)")
    if not settings.http_secret:
        fail(CONFIG, "DEPOSIT_HTTP_SECRET is not set: the HTTP API refuses to run "
                         "unsigned (see README: HTTP API)")
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        fail(CONFIG, "--webhook-url must be an http(s) URL")
    path = urlsplit(webhook_url or "").path
    if webhook_url and (path.startswith(RESERVED) or path in {"", "/"}):
        fail(CONFIG, "--webhook-url needs a path of its own, e.g. https://HOST/tg/updates")
    if len(settings.http_secret.encode()) < MIN_SECRET:
        fail(CONFIG, f"DEPOSIT_HTTP_SECRET is shorter than {MIN_SECRET} bytes: use e.g. "
                     "`openssl rand -hex 32`")
    secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
    if len(secret.encode()) < MIN_SECRET:
        fail(CONFIG, f"TELEGRAM_WEBHOOK_SECRET is shorter than {MIN_SECRET} bytes: use e.g. "
                     "`openssl rand -hex 32`")
    if not _TELEGRAM_SECRET.fullmatch(secret):
        fail(CONFIG, "TELEGRAM_WEBHOOK_SECRET: 1-256 characters A-Z, a-z, 0-9, _ and -")
    return secret


def run_http(args: argparse.Namespace, settings: Settings) -> None:
    """Entry of `run --http`: checks, then one asyncio loop for PTB and uvicorn."""
    host, port = address(args.http)
    webhook_secret = check(settings, args.webhook_url, db_target(args.db or settings.db))
    run_loop(_serve(args, settings, host, port, webhook_secret), settings.event_loop)


async def _serve(args: argparse.Namespace, settings: Settings, host: str, port: int,
                 webhook_secret: str) -> None:
    listening = listen(host, port)  # before Telegram: a taken port fails at once
    try:
        db = await open_database(args.db or settings.db)
        await closing(db.close, _serve_with(db, args, settings, listening, webhook_secret))
    finally:
        listening.close()


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, or a start-up failure saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        fail(UNAVAILABLE, f"cannot listen on {host}:{port}: {exc.strerror or exc}")


async def _serve_with(db: Database, args: argparse.Namespace, settings: Settings,
                      listening: socket.socket, webhook_secret: str) -> None:
    host, port = listening.getsockname()[:2]
    target = db_target(args.db or settings.db)
    d = deps_for(settings, db)
    node = await Node.open(target, settings.job_interval_seconds)
    if args.demo:
        from bot.sandbox.demo import seed_demo

        await seed_demo(d)
    assert settings.telegram_bot_token and settings.http_secret
    app = build_application(d, settings.telegram_bot_token,
                            base_url=settings.telegram_api_base_url,
                            job_interval=settings.job_interval_seconds,
                            push_rate=settings.push_rate, flood_retries=settings.flood_retries,
                            leadership=node.leadership,
                            limiter=node.limiter(settings.push_rate, settings.flood_retries),
                            paid=settings.paid(), http_client=settings.http_client)
    hook = None
    if args.webhook_url:
        deliver = _queue(app)
        inbox = node.inbox(deliver)
        if inbox is not None:  # several instances: stored first, in order per user
            app.bot_data["inbox"] = inbox
            deliver = inbox.receive
        hook = Webhook.for_url(args.webhook_url, webhook_secret, deliver)

    async def pushes() -> None:
        await drain_or_wake(app)

    api = create_api(d, settings.http_secret, max_body=settings.http_max_body, webhook=hook,
                     metrics_access=settings.http_metrics, openapi_access=settings.http_openapi,
                     after_events=pushes, leadership=node.leadership)
    server = _Server(uvicorn.Config(api, host=host, port=port, log_config=None,
                                    lifespan="off", access_log=False))
    stopping = asyncio.Event()
    try:
        poller = await _start(app, node, args.webhook_url, webhook_secret, stopping)
    except BaseException:
        await node.close()
        await stop(app)
        raise
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _exit, server)
    log.info("HTTP API on %s:%d, Telegram by %s, database %s, instance %s", host, port,
             "webhook" if hook else "long polling", shown(db.path), node.leadership.instance)
    try:
        await server.serve(sockets=[listening])
    finally:
        await node.close()
        await _stop(app, poller, stopping)


def _exit(server: uvicorn.Server) -> None:
    server.should_exit = True


def _queue(app: Application) -> Any:  # type: ignore[type-arg]
    async def deliver(data: dict[str, Any]) -> None:
        """Handled before Telegram gets its 200: a crash means Telegram sends it again."""
        await handle(app, Update.de_json(data, app.bot))
    return deliver


async def _start(app: Application, node: Node,  # type: ignore[type-arg]
                 webhook_url: str | None, webhook_secret: str,
                 stopping: asyncio.Event) -> asyncio.Task[None] | None:
    """The Application started, the leadership sought (the leader sets the webhook, runs the
    jobs at once and drains); else the acknowledge-after-handling poller."""
    await start(app)
    leadership = node.leadership

    async def set_webhook() -> None:
        await app.bot.set_webhook(webhook_url, secret_token=webhook_secret,
                                  allowed_updates=ALLOWED_UPDATES)

    async def lead() -> None:
        if app.job_queue is not None:
            app.job_queue.run_once(run_jobs, 0, name="jobs-on-leadership")
        app.create_task(sender_of(app.bot_data).drain(app.bot), name="push-drain")

    if webhook_url:
        leadership.on_gain(set_webhook)
    leadership.on_gain(lead)
    leadership.on_wake(lambda: app.create_task(drain_or_wake(app), name="push-drain"))
    await leadership.start()
    if webhook_url:
        return None
    if not leadership.is_leader:
        raise SystemExit(POLLING_REFUSED)
    await app.bot.delete_webhook()
    return asyncio.create_task(poll(app, stopping), name="telegram-poller")


async def _stop(app: Application, poller: asyncio.Task[None] | None,  # type: ignore[type-arg]
                stopping: asyncio.Event) -> None:
    stopping.set()
    if poller is not None:
        with contextlib.suppress(Exception):
            await poller
    await stop(app)
