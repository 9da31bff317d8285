"""`deposit-bot`: chat (the offline sandbox), run (Telegram, optionally the HTTP API), link,
migrate, check, import, demo-data, backup, faq-eval, faq-misses."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from bot import redact
from bot.channels import PrintedChannel
from bot.clock import ManualClock
from bot.config import Settings, db_location
from bot.context import Deps
from bot.ops import add_commands
from bot.runner import staff
from bot.startup import (
    CONFIG,
    DAMAGED,
    UNUSABLE,
    closing,
    database_failure,
    fail,
    guarded,
    open_database,
)
from bot.storage.db import Database, shown
from domain.ids import seeded_ids
from domain.policy import load_policy

log = logging.getLogger("deposit-bot")


class _Parser(argparse.ArgumentParser):
    """A bad option is one line on stderr and exit status 2, before anything is opened."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _moment(text: str) -> datetime:
    """--now: an ISO 8601 moment with its UTC offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO moment with an offset, e.g. 2026-11-21T10:00+08:00")
    return moment


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deposit-bot", description=__doc__)
    # --db also before the subcommand; a subcommand's own --db (SUPPRESS) never resets it
    parser.add_argument("--db", type=db_location,
                        help="database file or postgresql:// URL (default: DEPOSIT_DB)")
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="talk to the bot offline (SPEC §10 transcript protocol)")
    _db_option(chat, "database file or postgresql:// URL (default: a fresh empty one)")
    chat.add_argument("--demo", action="store_true", help="fill an empty database with demo shops")
    chat.add_argument("--now", type=_moment,
                      help="start the sandbox clock at this ISO moment with its offset, "
                           "e.g. 2026-11-21T10:00+08:00")
    chat.add_argument("--files", type=Path, metavar="DIR",
                      help="also save every document and photo the bot sends (CSV, PNG) here")
    run = sub.add_parser("run", help="connect to Telegram (long polling; --http adds the HTTP API)")
    _db_option(run)
    run.add_argument("--demo", action="store_true", help="fill an empty database with demo shops")
    run.add_argument("--http", metavar="HOST:PORT", help="also serve the HTTP API (README)")
    run.add_argument("--webhook-url", metavar="URL",
                     help="with --http: take Telegram updates by webhook at this URL")
    link = sub.add_parser("link", help="print a one-time link that binds a Telegram user to a shop",
                          epilog="example: deposit-bot link DEMO-GB --role staff --db demo/demo.db",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    link.add_argument("shop_id", help="the shop the link binds to, as in shop.registered")
    link.add_argument("--role", choices=("owner", "staff"), default="owner",
                      help="the role the user gets (default: owner)")
    _db_option(link)
    migrate = sub.add_parser("migrate", help="create or upgrade the database, then exit")
    _db_option(migrate)
    check = sub.add_parser("check", help="full database integrity check (exit 65 if damaged)")
    _db_option(check)
    faq_eval = sub.add_parser("faq-eval", help="top-1 accuracy, wrong-confident rate and "
                              "handoff recall of the FAQ on a JSONL file")
    faq_eval.add_argument("file", type=Path, help="JSONL: lang, q, all, any, handoff, human")
    misses = sub.add_parser("faq-misses", help="list the questions the FAQ was not sure of")
    misses.add_argument("--limit", type=int, default=50, help="how many, newest first")
    _db_option(misses)
    add_commands(sub)
    return parser


def _db_option(command: argparse.ArgumentParser,
               text: str = "database file or postgresql:// URL (default: DEPOSIT_DB)") -> None:
    """--db after the subcommand too (the top-level one stays when this one is absent)."""
    command.add_argument("--db", type=db_location, default=argparse.SUPPRESS, help=text)


async def _chat(args: argparse.Namespace, settings: Settings) -> None:
    from bot.sandbox.chat import Sandbox, input_lines
    from bot.sandbox.demo import GUIDE, seed_demo

    with tempfile.TemporaryDirectory(prefix="deposit-chat-") as scratch:
        path = args.db or Path(scratch) / "chat.db"
        clock = ManualClock(args.now or datetime.now(UTC))
        try:
            db = await Database.open(path)
        except (OSError, sqlite3.Error) as err:
            raise SystemExit(f"deposit-bot chat: cannot open the database {path}: {err}") from None
        try:
            deps = Deps(db, load_policy(settings.policy), clock, PrintedChannel(sys.stdout),
                        settings.default_language,
                        ids=seeded_ids(f"{clock.now().isoformat()}/{await _history_size(db)}"),
                        **staff(settings))
            if args.demo:
                created = await seed_demo(deps)
                sys.stderr.write((f"Created the demo database {shown(path)}.\n" if created else
                                  f"Reusing the demo database {shown(path)} (delete it to start "
                                  f"over).\n") + GUIDE)
            box = Sandbox(deps, clock, sys.stdout, files=args.files)
            await box.run(input_lines(sys.stdin, sys.stdin.isatty()))
        finally:
            await db.close()


async def _history_size(db: Database) -> int:
    """How much a reused database already holds: reseeds the sandbox's identifiers."""
    from bot.storage.ops import history_size

    return await history_size(db)


def _run(args: argparse.Namespace, settings: Settings) -> None:
    if settings.verification == "webhook" and not (
            settings.verification_url and len((settings.verification_secret or "").encode()) >= 32):
        fail(CONFIG, "DEPOSIT_VERIFICATION=webhook needs DEPOSIT_VERIFICATION_URL and a "
                     "DEPOSIT_VERIFICATION_SECRET of at least 32 bytes")
    if settings.verification == "email" and (problem := settings.email_problem()):
        fail(CONFIG, problem)
    if args.http:
        from bot.http.server import run_http

        return run_http(args, settings)
    if args.webhook_url:
        fail(CONFIG, "--webhook-url needs --http HOST:PORT (the webhook is served there)")
    if not settings.telegram_bot_token:
        fail(CONFIG, "TELEGRAM_BOT_TOKEN is not set (see README: Configuration)")
    from bot.runner import run_loop

    run_loop(_polling(args, settings, settings.telegram_bot_token), settings.event_loop)


async def _polling(args: argparse.Namespace, settings: Settings, token: str) -> None:
    db = await open_database(args.db or settings.db)
    await closing(db.close, _poll_with(db, args, settings, token))


async def _poll_with(db: Database, args: argparse.Namespace, settings: Settings,
                     token: str) -> None:
    from bot.app import build_application
    from bot.cluster.node import POLLING_REFUSED, Node, db_target
    from bot.runner import deps_for, run_polling

    target = db_target(args.db or settings.db)
    node = await Node.open(target, settings.job_interval_seconds)
    await node.leadership.start()
    if not node.leadership.is_leader:  # PostgreSQL: another instance leads (and may poll)
        await node.close()
        raise SystemExit(POLLING_REFUSED)
    deps = deps_for(settings, db)
    if args.demo:
        from bot.sandbox.demo import seed_demo

        if await seed_demo(deps):
            log.info("demo shops added to %s", shown(db.path))
    app = build_application(deps, token, base_url=settings.telegram_api_base_url,
                            job_interval=settings.job_interval_seconds,
                            push_rate=settings.push_rate, flood_retries=settings.flood_retries,
                            leadership=node.leadership,
                            limiter=node.limiter(settings.push_rate, settings.flood_retries),
                            paid=settings.paid(), http_client=settings.http_client)
    log.info("polling Telegram with database %s", shown(db.path))
    try:
        await run_polling(app)
    finally:
        await node.close()


async def _check(args: argparse.Namespace, settings: Settings) -> int:
    """`deposit-bot check`: the full integrity check; exit 0 when ok, 65 when not."""
    path = args.db or settings.db
    try:
        db = await Database.open(path)
    except UNUSABLE as exc:
        raise database_failure(path, exc) from exc
    try:
        found = await closing(db.close, db.integrity(full=True))
    except sqlite3.DatabaseError as exc:  # too damaged for the check to finish
        found = str(exc)
    print(f"database {path}: integrity {found}")
    return 0 if found == "ok" else DAMAGED


async def _link(args: argparse.Namespace, settings: Settings) -> None:
    from bot.storage.links import Links
    from domain.errors import UnknownShop

    db = await open_database(args.db or settings.db)
    try:
        token = await Links(db).issue(args.shop_id, args.role, datetime.now(UTC))
    except UnknownShop:
        raise SystemExit(f"unknown shop {args.shop_id!r}") from None
    finally:
        await db.close()
    if settings.telegram_bot_username:
        print(f"https://t.me/{settings.telegram_bot_username}?start={token}")
    else:
        print(f"/start {token}")
    print(f"one-time {args.role} link for shop {args.shop_id}, valid 7 days", file=sys.stderr)


async def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    db = await open_database(args.db or settings.db)
    version = await closing(db.close, db.migrate())
    print(f"database {shown(db.path)} at schema version {version}")


class _NoTraceback(logging.Formatter):
    """One line per problem on the terminal; the full trace goes to DEPOSIT_LOG_FILE."""

    def formatException(self, ei: object) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = ""
        text = super().format(record)
        return text.splitlines()[0] if text else text


def _logging(settings: Settings, *, quiet: bool) -> None:
    """Logs to stderr; the chat sandbox keeps tracebacks out of sight (and out of stdout)."""
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    console = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    console.setFormatter(_NoTraceback(fmt) if quiet else logging.Formatter(fmt))
    if quiet:
        console.setLevel(logging.WARNING)
    root.addHandler(console)
    if settings.log_file:
        file_handler = logging.FileHandler(settings.log_file, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(fmt))
        root.addHandler(file_handler)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ops import import_command

    return asyncio.run(import_command(args, settings))


def _demo_data(args: argparse.Namespace, settings: Settings) -> None:
    from bot.ops import demo_data_command

    demo_data_command(args, settings)


def _backup(args: argparse.Namespace, settings: Settings) -> None:
    from bot.ops import backup_command

    asyncio.run(backup_command(args, settings))


OPS = {"import": _import, "demo-data": _demo_data, "backup": _backup}


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    settings = Settings()
    _logging(settings, quiet=args.command == "chat")
    redact.install(settings.telegram_bot_token)
    if args.command == "chat":
        asyncio.run(_chat(args, settings))
    elif args.command == "run":
        guarded(lambda: _run(args, settings), settings.telegram_api_base_url)
    elif args.command == "link":
        guarded(lambda: asyncio.run(_link(args, settings)))
    elif args.command == "check":
        sys.exit(guarded(lambda: asyncio.run(_check(args, settings))))
    elif args.command == "faq-eval":
        from bot.faq.evaluate import main as faq_eval

        raise SystemExit(faq_eval(args.file, load_policy(settings.policy)))
    elif args.command == "faq-misses":
        from bot.faq.misses import list_misses

        asyncio.run(list_misses(args.db or settings.db, args.limit, sys.stdout))
    elif args.command in OPS:
        sys.exit(guarded(lambda: OPS[args.command](args, settings)))
    else:
        guarded(lambda: asyncio.run(_migrate(args, settings)))


if __name__ == "__main__":
    main()
