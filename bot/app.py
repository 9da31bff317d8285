"""The one composition root: build_application(...) wires handlers to the core."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot import commits, metrics
from bot.application import DepositApplication
from bot.cluster.leader import Leadership
from bot.cluster.state import STATE_GROUP, load_update_state
from bot.context import Deps
from bot.conversations import close, flow
from bot.conversations.close import build_close
from bot.conversations.topup import build_topup
from bot.conversations.withdraw import build_withdraw
from bot.faq import handlers as faq
from bot.handlers import (
    balance,
    deduct,
    desk,
    fallback,
    history,
    lookup,
    operator,
    private,
    ratings,
    shops,
    start,
    tickets,
    updates,
)
from bot.handlers.commands import Commands, Presses
from bot.i18n import N_, translator
from bot.limits import FittingBuilder
from bot.notify.pace import paid_pace, rate_limiter
from bot.notify.sender import (
    PaidBroadcast,
    Pause,
    Sender,
    SendPolicy,
    sender_of,
    sleep_then_go_on,
)
from bot.storage.persistence import SqlitePersistence
from bot.transport import AiohttpRequest, HttpClient, ignored_proxy, redact_proxy
from domain.jobs import JobReport, run_due

log = logging.getLogger(__name__)
# Text steps and button steps share conversations, so per_message stays False (PTB-NOTES).
warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)
COMMANDS = (
    ("balance", N_("Deposit balance, required amount and why")),
    ("topup", N_("Top up the deposit")),
    ("withdraw", N_("Withdraw what is above the required amount")),
    ("history", N_("Top-ups, deductions and payouts")),
    ("close", N_("Close the shop and get the deposit back")),
    ("reopen", N_("Reopen a closed shop")),
    ("shops", N_("Choose which shop to act on")),
    ("faq", N_("Frequently asked questions")),
    ("support", N_("Ask a person from support")),
    ("language", N_("Choose your language")),
    ("cancel", N_("Cancel the current step")),
    ("help", N_("What the bot can do")),
    ("start", N_("Welcome and your shops")),
)
# Telegram takes two-letter codes only: "zh" gets Simplified; zh-hant users see it too and
# can switch the bot's own language with /language. None is the default menu (English).
MENUS = ((None, "en"), ("en", "en"), ("zh", "zh_Hans"))
PUSH_GROUP = 100  # after every handler of an update: send what it queued


def register(app: Application, *, shared: bool = False) -> None:  # type: ignore[type-arg]
    """Every handler, in the order PTB should try them; `shared`: several instances."""
    flow.bind(app)
    # What runs before every update's handlers, in this order, as one handler of one group
    # (each group of its own cost PTB a pass of its loop per update; same outcome: a step
    # that stops the update stops the rest, an error goes to the error handlers and the
    # next step runs, as PTB does between groups).
    steps: list[Step] = [commits.start_update]
    if shared:  # another instance may have moved this user's conversation on
        steps.append(load_update_state)
    steps += [updates.drop_seen, count_update, flow.track]
    app.add_handler(TypeHandler(Update, before_update(steps)), group=STATE_GROUP - 1)
    app.add_handler(private.handler())
    app.add_handler(build_close())
    app.add_handler(build_topup())
    app.add_handler(build_withdraw())
    # The one-shot commands in their order, checked as one handler (bot/handlers/commands.py);
    # the button handlers registered among them never match a message, nor they a press.
    later: list[BaseHandler] = []  # type: ignore[type-arg]
    later.append(CommandHandler("reopen", close.reopen))
    later.append(CommandHandler("start", start.start))
    later.append(CommandHandler("help", start.help_command))
    later.append(CommandHandler("language", start.language))
    later.append(CommandHandler("balance", balance.balance))
    later.append(CommandHandler("shops", shops.shops))
    later.append(CommandHandler("history", history.history))
    later.append(CommandHandler("faq", faq.faq_command))
    later.extend(support_handlers())
    later.append(CommandHandler("cancel", tickets.cancel_request))
    app.add_handler(Commands([h for h in later if isinstance(h, CommandHandler)]))
    # The button handlers in their order, checked as one (a message skips them at once).
    presses = [h for h in later if not isinstance(h, CommandHandler)]
    presses += [CallbackQueryHandler(start.language_chosen, pattern=r"^lang:"),
                CallbackQueryHandler(balance.balance_button, pattern=r"^bal:"),
                CallbackQueryHandler(shops.shop_chosen, pattern=r"^sh:"),
                CallbackQueryHandler(history.history_button, pattern=r"^hi:"),
                CallbackQueryHandler(faq.faq_button, pattern=r"^faq:"),
                CallbackQueryHandler(fallback.stale_button)]
    app.add_handler(Presses(presses))
    app.add_handler(MessageHandler(filters.COMMAND, fallback.unknown_command))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & ~filters.COMMAND & (
        filters.TEXT | filters.PHOTO | filters.Document.ALL), desk.group_message))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & (
        filters.PHOTO | filters.Document.ALL), tickets.seller_media))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, faq.free_text))
    app.add_handler(TypeHandler(Update, after_update), group=PUSH_GROUP)
    app.add_error_handler(fallback.on_error)


def support_handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Tickets, and the staff commands (not in the public menu; refused like unknown ones)."""
    private = filters.ChatType.PRIVATE
    found: list[BaseHandler] = [  # type: ignore[type-arg]
        CommandHandler("support", tickets.support, filters=private),
        CommandHandler("tickets", tickets.tickets_command),
        CommandHandler("resolve", tickets.resolve),
        CallbackQueryHandler(tickets.support_button, pattern=r"^sup:new$"),
        CommandHandler("queue", desk.queue),
        CommandHandler("kb", desk.kb_command),
        CallbackQueryHandler(desk.desk_button, pattern=r"^dk:"),
        CallbackQueryHandler(ratings.rating_button, pattern=r"^rt:"),
        CommandHandler("lookup", lookup.lookup)]
    for name, callback in (("credit", operator.credit), ("deduct", deduct.deduct),
                           ("fx", operator.fx), ("remind", operator.remind),
                           ("link", operator.link), ("grant", operator.grant),
                           ("revoke", operator.revoke)):
        found.append(CommandHandler(name, callback))
    found.append(CallbackQueryHandler(deduct.deduct_button, pattern=r"^dd:(ok|no):"))
    return found


Step = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def before_update(steps: list[Step]) -> Step:
    """One callback running `steps` in order as PTB runs handlers of consecutive groups: an
    ApplicationHandlerStop ends the update; any other error goes to the error handlers, and
    the next step runs unless one of them stopped the update."""
    async def run_steps(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        for step in steps:
            try:
                await step(update, context)
            except ApplicationHandlerStop:
                raise
            except Exception as exc:
                if await context.application.process_error(update=update, error=exc):
                    raise ApplicationHandlerStop from None
    return run_steps


async def count_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every update, counted for /metrics."""
    metrics.inc("deposit_updates_handled_total")


async def set_menus(app: Application) -> None:  # type: ignore[type-arg]
    """Localized command menus; a refusal by the Bot API is logged, never fatal."""
    for code, language in MENUS:
        t = translator(language)
        commands = [BotCommand(name, t.gettext(text)) for name, text in COMMANDS]
        try:
            await app.bot.set_my_commands(commands, language_code=code)
        except TelegramError as exc:
            log.warning("set_my_commands(%s) refused: %s", language, exc)


async def close_database(app: Application) -> None:  # type: ignore[type-arg]
    """Resources opened for the application are closed with it."""
    d: Deps = app.bot_data["deps"]
    await d.db.close()


async def run_jobs(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The periodic job, on the leader only: due domain work (holds, offsets, reminders),
    updates another instance left unhandled, then pending pushes."""
    if not leadership_of(context.bot_data).is_leader:
        return
    d: Deps = context.bot_data["deps"]
    report = await run_due(d.uow(), d.clock.now(), d.policy)
    if report != JobReport():
        log.info("jobs: %s", report)
    await updates.prune(context)
    inbox = context.bot_data.get("inbox")
    if inbox is not None:
        await inbox.sweep()
    await desk.flag_overdue(context)
    await sender_of(context.bot_data).drain(context.bot)


def leadership_of(bot_data: dict[str, object]) -> Leadership:
    """The Application's leadership (always the leader on SQLite)."""
    found = bot_data["leadership"]
    assert isinstance(found, Leadership)
    return found


async def drain_or_wake(app: Application) -> None:  # type: ignore[type-arg]
    """The leader sends the pushes; any other instance tells the leader to."""
    leadership = leadership_of(app.bot_data)
    if leadership.is_leader:
        await sender_of(app.bot_data).drain(app.bot)
    else:
        await leadership.wake_leader()


async def after_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The step a conversation reached is written, then the update is marked handled (a
    resent copy is dropped); pushes it caused go out in the background."""
    app = context.application
    if app.running and update.effective_user is not None:
        # PTB writes persistence every few seconds: a kill -9 in between would forget a step
        # the user was just asked for. Written before the mark, so a kill between the two
        # means the update is handled again rather than its step lost.
        app.mark_data_for_update_persistence(user_ids=update.effective_user.id)
        await app.update_persistence()
    await updates.mark_completed(update, context)
    commits.end_update()
    if not app.running:  # the sandbox writes and drains after each line itself
        return
    app.create_task(drain_or_wake(app), update=update, name="push-drain")


def build_application(d: Deps, token: str, *, request: BaseRequest | None = None,
                      base_url: str | None = None, job_interval: float | None = None,
                      push_rate: float = 30, flood_retries: int = 2,
                      pause: Pause = sleep_then_go_on, push_lanes: int = 4,
                      leadership: Leadership | None = None,
                      limiter: BaseRateLimiter | None = None,  # type: ignore[type-arg]
                      paid: PaidBroadcast | None = None,
                      http_client: HttpClient = "aiohttp",
                      ) -> Application:  # type: ignore[type-arg]
    """The PTB Application with every handler; `request` replaces the network in tests;
    `leadership` and `limiter` are the cluster's on PostgreSQL; `paid` turns on paid
    broadcast for reminder waves; `http_client` is the Bot API's HTTP client (bot/transport.py)."""
    builder = (FittingBuilder().application_class(DepositApplication).token(token)
               .defaults(Defaults(parse_mode=ParseMode.HTML)))
    limiter = limiter or rate_limiter(push_rate, flood_retries)
    if paid is not None and isinstance(limiter, AIORateLimiter):
        paid_pace(limiter, paid.rate)
    builder = builder.rate_limiter(limiter)
    if request is None and http_client == "aiohttp" and (proxy := ignored_proxy()):
        log.warning("the proxy %s (environment) is one aiohttp does not use: the Bot API "
                    "goes through httpx instead (DEPOSIT_HTTP_CLIENT)", redact_proxy(proxy))
        http_client = "httpx"
    if request is None and http_client == "aiohttp":
        request = AiohttpRequest()  # the shutdown's last getUpdates gets its own pool
        builder = builder.get_updates_request(AiohttpRequest(connection_pool_size=2,
                                                             pool_timeout=5))
        builder = builder.request(request)
    elif request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:  # the shutdown's last getUpdates must not wait for the long poll's connection
        builder = builder.get_updates_connection_pool_size(2).get_updates_pool_timeout(5)
    if base_url:
        root = base_url.rstrip("/").removesuffix("/bot")
        builder = builder.base_url(root + "/bot").base_file_url(root + "/file/bot")
    if job_interval is None:
        builder = builder.job_queue(None)
    builder = builder.persistence(SqlitePersistence(d.db))
    app = builder.post_init(set_menus).post_shutdown(close_database).build()
    app.bot_data["deps"] = d
    app.bot_data["leadership"] = leadership = leadership or Leadership()
    claimant = (lambda: leadership.claimant) if leadership.shared else None
    lanes = push_lanes if paid is None else max(push_lanes, paid.lanes)
    app.bot_data["sender"] = Sender(d, SendPolicy(lanes=lanes), pause=pause,
                                    claimant=claimant, paid=paid)
    register(app, shared=leadership.shared)
    if job_interval is not None and app.job_queue is not None:
        app.job_queue.run_repeating(run_jobs, interval=job_interval, first=1)
    return app
