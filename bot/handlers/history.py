"""/history: the shop's ledger entries, 10 a page, with filters, a CSV statement and a chart."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape, unescape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.context import deps
from bot.handlers.common import current_shop, member_shop, reply, shop_token, translator_for
from bot.i18n import N_, Translator
from bot.notify.render import DEDUCTION_REASONS
from bot.render import ARREARS_KINDS, MARKETS, shop_title
from domain.ledger import (
    REFUND_NOTE,
    Transfer,
    TransferKind,
    arrears_account,
    deposit_account,
)
from domain.model import Shop
from domain.money import Money
from domain.services import get_snapshot

K = TransferKind
PAGE = 10
EVERYTHING = 1_000_000  # the repository pages; a statement and the balances need the period whole
MAX_NOTE, MAX_REF = 200, 64  # shown in chat (10 entries fit one message); CSV has all
KINDS = {"all": (), "top": (K.TOPUP, K.ARREARS_PAYMENT),
         "ded": (K.DEDUCTION, K.DEDUCTION_ARREARS, K.ARREARS_OFFSET, K.ARREARS_SETTLED,
                 K.ARREARS_CARRIED),
         "pay": (K.PAYOUT,)}
KIND_NAMES = {"all": N_("All"), "top": N_("Top-ups"), "ded": N_("Deductions"),
              "pay": N_("Payouts")}
PERIODS = {"30": 30, "90": 90, "all": None}
PERIOD_NAMES = {"30": N_("30 days"), "90": N_("90 days"), "all": N_("All time")}
# These move only what the shop owes (the arrears account), never the balance.
ARREARS_ONLY = frozenset({K.ARREARS_PAYMENT, K.DEDUCTION_ARREARS, K.ARREARS_CARRIED})
ENTRY_NAMES = {
    K.TOPUP: N_("Top-up"),
    K.ARREARS_PAYMENT: N_("Arrears paid by a top-up"),
    K.DEDUCTION: N_("Deduction"),
    K.DEDUCTION_ARREARS: N_("Deduction the balance did not cover, owed as arrears"),
    K.PAYOUT: N_("Payout of a withdrawal"),
    K.ARREARS_OFFSET: N_("Arrears offset from the deposit at closure"),
    K.ARREARS_CARRIED: N_("Arrears still owed after the closure failed"),
    K.ARREARS_SETTLED: N_("Deposit arrears paid from the deposit at closure"),
}
# Over a whole statement (filter All) the balance changes sum to the last balance after and
# the arrears owed changes to what is owed now; an arrears-only entry changes only the latter.
CSV_COLUMNS = (N_("Time"), N_("Entry"), N_("Balance change"), N_("Balance after"),
               N_("Arrears owed change"), N_("Currency"), N_("Reference"), N_("Note"))
_DATA = re.compile(r"hi:(p|csv|ch):([0-9a-f]{12}):(all|top|ded|pay):(30|90|all):([0-9]{1,5})")


@dataclass(frozen=True)
class View:
    """What the seller is looking at: which shop (as a token), filters and page."""

    token: str
    kind: str = "all"
    period: str = "all"
    page: int = 0

    def data(self, action: str, **changes: object) -> str:
        """Callback data for an action on this view (or a changed copy): under 64 bytes."""
        v = replace(self, **changes)  # type: ignore[arg-type]
        return f"hi:{action}:{v.token}:{v.kind}:{v.period}:{v.page}"


@dataclass(frozen=True)
class Row:
    """One ledger entry as the seller reads it."""

    transfer: Transfer
    change: Money  # signed: on the balance, or on arrears owed for arrears-only kinds
    balance_after: Money

    @property
    def arrears_only(self) -> bool:
        """True when the entry moved only what the shop owes, not the balance."""
        return self.transfer.kind in ARREARS_ONLY


@dataclass(frozen=True)
class Ledger:
    """The period's entries, newest first, with the balance before the oldest and now."""

    rows: list[Row]
    opening: Money
    closing: Money
    since: datetime | None

    def filtered(self, kind: str) -> list[Row]:
        """The rows of one kind filter."""
        wanted = KINDS[kind]
        return [r for r in self.rows if not wanted or r.transfer.kind in wanted]


def parse(data: str) -> tuple[str, View] | None:
    """The action and view of valid history callback data; None for anything else."""
    found = _DATA.fullmatch(data)
    if found is None:
        return None
    action, token, kind, period, page = found.groups()
    return action, View(token, kind, period, int(page))


async def load(context: ContextTypes.DEFAULT_TYPE, shop: Shop, period: str) -> Ledger:
    """The entries of a period with the balance after each, walking back from today's."""
    d = deps(context)
    days = PERIODS[period]
    since = d.clock.now() - timedelta(days=days) if days else None
    account, owed = deposit_account(shop.shop_id), arrears_account(shop.shop_id)
    uow = d.uow()
    async with uow.reading():  # no writer lock: nothing is written (no wait behind an import)
        after = await uow.ledger.balance(account, shop.currency)
        entries = await uow.ledger.entries(shop.shop_id, limit=EVERYTHING, since=since)
    closing, rows = after, []
    for e in entries:  # newest first; no `until`, so every later entry is in the list
        arrears = e.kind in ARREARS_ONLY
        rows.append(Row(e, -e.signed_for(owed) if arrears else e.signed_for(account), after))
        after = after - e.signed_for(account)
    return Ledger(rows, after, closing, since)


def describe(t: Translator, e: Transfer) -> tuple[str, str]:
    """The entry's kind in words (with its reason) and its free-text note."""
    name, note = t.gettext(ENTRY_NAMES.get(e.kind, e.kind.value)), e.note
    detail = None
    if e.kind in (K.DEDUCTION, K.DEDUCTION_ARREARS):  # the domain stores "reason: note"
        reason, _, rest = e.note.partition(": ")
        if reason in DEDUCTION_REASONS:
            detail, note = DEDUCTION_REASONS[reason], rest
    elif e.kind is K.ARREARS_OFFSET:
        detail, note = ARREARS_KINDS.get(e.note), "" if e.note in ARREARS_KINDS else e.note
    elif e.kind is K.ARREARS_CARRIED:
        note = ""  # a fixed marker of the domain; the kind already says it
    elif e.kind is K.PAYOUT and e.note == REFUND_NOTE:
        return t.gettext("Full refund at closure"), ""
    if detail is None:
        return name, note
    return t.gettext("{kind}: {reason}").format(kind=name, reason=t.gettext(detail)), note


def entry_text(t: Translator, row: Row, timezone: str) -> str:
    """Three lines at most: when and what, the amounts, a note."""
    e = row.transfer
    kind, note = describe(t, e)
    if row.arrears_only:
        amounts = t.gettext("arrears owed {change} · balance unchanged at {balance}")
    else:
        amounts = t.gettext("{change} · balance after {balance}")
    lines = [t.gettext("<b>{time}</b> · {kind}").format(time=t.datetime(e.at, timezone),
                                                          kind=escape(kind)),
             amounts.format(change=("+" if row.change.is_positive else "") + t.money(row.change),
                            balance=t.money(row.balance_after))
             + " · " + t.gettext("ref {ref}").format(ref=escape(_short(e.ref, MAX_REF)))]
    if note:
        lines.append(t.gettext("Note: {note}").format(note=escape(_short(note, MAX_NOTE))))
    return "\n".join(lines)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def page_text(t: Translator, shop: Shop, view: View, rows: list[Row]) -> str:
    """The header, the filter in force and one page of entries."""
    head = [f"<b>{shop_title(t, shop.shop_id, shop.entity_name, shop.market)}</b>",
            t.gettext("<b>Deposit history</b> · {kind} · {period}").format(
                kind=t.gettext(KIND_NAMES[view.kind]),
                period=t.gettext(PERIOD_NAMES[view.period]))]
    if not rows:
        return "\n".join([*head, "", t.gettext("No entries match this filter and period.")])
    first = view.page * PAGE
    shown = rows[first:first + PAGE]
    count = t.ngettext("{n} entry", "{n} entries", len(rows)).format(n=len(rows))
    where = (t.gettext("showing {first}–{last}, newest first").format(
        first=first + 1, last=first + len(shown)) if len(rows) > PAGE
        else t.gettext("newest first"))
    body = [entry_text(t, r, shop.timezone) for r in shown]
    return "\n".join([*head, f"{count} · {where}", "", "\n\n".join(body)])


def _choice(t: Translator, label: str, active: bool) -> str:
    return t.gettext("• {label}").format(label=t.gettext(label)) if active else t.gettext(label)


def keyboard(t: Translator, view: View, total: int) -> InlineKeyboardMarkup:
    """Paging when there is more, the two filters, the statement and the chart."""
    rows, nav = [], []
    if view.page > 0:
        nav.append(InlineKeyboardButton(t.gettext("◀ Newer"),
                                        callback_data=view.data("p", page=view.page - 1)))
    if (view.page + 1) * PAGE < total:
        nav.append(InlineKeyboardButton(t.gettext("Older ▶"),
                                        callback_data=view.data("p", page=view.page + 1)))
    if nav:
        rows.append(nav)
    rows.append([InlineKeyboardButton(_choice(t, label, key == view.kind),
                                      callback_data=view.data("p", kind=key, page=0))
                 for key, label in KIND_NAMES.items()])
    rows.append([InlineKeyboardButton(_choice(t, label, key == view.period),
                                      callback_data=view.data("p", period=key, page=0))
                 for key, label in PERIOD_NAMES.items()])
    rows.append([InlineKeyboardButton(t.gettext("CSV statement"), callback_data=view.data("csv")),
                 InlineKeyboardButton(t.gettext("Chart"), callback_data=view.data("ch"))])
    return InlineKeyboardMarkup(rows)


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the current shop's newest ledger entries with paging, filters and exports."""
    t = await translator_for(update, context)
    shop, _ = await current_shop(update, context, t)
    if shop is None:
        return
    view = View(shop_token(shop.shop_id))
    rows = (await load(context, shop, view.period)).rows
    if not rows:
        await reply(update, "\n".join([
            f"<b>{shop_title(t, shop.shop_id, shop.entity_name, shop.market)}</b>",
            t.gettext("Nothing is recorded for this shop yet: no top-ups, deductions or "
                      "payouts. Top up your deposit with /topup; every movement will then "
                      "be listed here.")]))
        return
    await reply(update, page_text(t, shop, view, rows), keyboard(t, view, len(rows)))


async def history_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """hi:ACTION:TOKEN:KIND:PERIOD:PAGE — page, filter, statement or chart of an own shop."""
    query = update.callback_query
    assert query is not None
    t = await translator_for(update, context)
    parsed = parse(query.data or "")
    shop = (await member_shop(update, context, parsed[1].token))[0] if parsed else None
    if parsed is None or shop is None:
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return
    await query.answer()
    action, view = parsed
    ledger = await load(context, shop, view.period)
    if action == "csv":
        await send_statement(update, context, t, shop, view, ledger)
    elif action == "ch":
        await send_chart(update, context, t, shop, view, ledger)
    else:
        await show_page(update, t, shop, view, ledger.filtered(view.kind))


async def show_page(update: Update, t: Translator, shop: Shop, view: View,
                    rows: list[Row]) -> None:
    """Edit the history message in place to show another page or filter."""
    query = update.callback_query
    assert query is not None
    view = replace(view, page=min(view.page, max(0, (len(rows) - 1) // PAGE)))
    try:
        await query.edit_message_text(page_text(t, shop, view, rows),
                                      reply_markup=keyboard(t, view, len(rows)))
    except BadRequest as exc:  # pressing the filter already shown changes nothing
        if "not modified" not in str(exc).lower():
            raise


def _cell(text: str) -> str:
    # A note or reference starting like a formula must stay text when Excel opens the file.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def statement_csv(t: Translator, rows: list[Row], timezone: str,
                  opening: Money | None = None, opening_at: datetime | None = None) -> bytes:
    """Oldest first, times in the shop's timezone, headers in the user's language, UTF-8
    with a BOM for Excel; an opening row when the period starts on a balance."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t.gettext(c) for c in CSV_COLUMNS])
    if opening is not None and opening.amount and opening_at is not None:
        writer.writerow([_local(opening_at, timezone), t.gettext("Opening balance"),
                         str(opening.amount), str(opening.amount), "", opening.currency,
                         "", ""])
    for row in reversed(rows):
        e = row.transfer
        kind, note = describe(t, e)
        arrears = -e.signed_for(arrears_account(e.shop_id)).amount
        balance = Decimal(0) if row.arrears_only else row.change.amount
        writer.writerow([_local(e.at, timezone), kind, _money(balance),
                         str(row.balance_after.amount), _money(arrears) if arrears else "",
                         row.change.currency, _cell(e.ref), _cell(note)])
    return out.getvalue().encode("utf-8-sig")


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def file_name(shop: Shop, now: datetime, extension: str) -> str:
    """deposit-<shop_id>-<yyyymmdd>.<ext>, with the shop id made safe for a file name."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", shop.shop_id).strip("-") or "shop"
    day = now.astimezone(ZoneInfo(shop.timezone)).strftime("%Y%m%d")
    return f"deposit-{safe}-{day}.{extension}"


async def send_statement(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                         shop: Shop, view: View, ledger: Ledger) -> None:
    """Every entry of the filter and period as a CSV document."""
    rows = ledger.filtered(view.kind)
    caption = t.ngettext("Deposit statement: {n} entry ({kind} · {period}).",
                         "Deposit statement: {n} entries ({kind} · {period}).",
                         len(rows)).format(n=len(rows), kind=t.gettext(KIND_NAMES[view.kind]),
                                           period=t.gettext(PERIOD_NAMES[view.period]))
    chat = update.effective_chat
    assert chat is not None
    opening = ledger.opening if view.kind == "all" else None
    await chat.send_document(statement_csv(t, rows, shop.timezone, opening, ledger.since),
                             caption=caption,
                             filename=file_name(shop, deps(context).clock.now(), "csv"))


def steps(shop: Shop, ledger: Ledger, now: datetime) -> list[tuple[datetime, Money]]:
    """(moment, balance from then on), oldest first, from the period's start to now."""
    balance_rows = [r for r in reversed(ledger.rows) if not r.arrears_only]
    start = ledger.since or min([shop.opened_at, *(r.transfer.at for r in balance_rows)])
    return ([(start, ledger.opening)]
            + [(r.transfer.at, r.balance_after) for r in balance_rows]
            + [(now, ledger.closing)])


async def send_chart(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                     shop: Shop, view: View, ledger: Ledger) -> None:
    """Balance over the period as a step line against today's required amount."""
    from bot.charts import ChartText, balance_chart  # matplotlib: ~1 s, loaded on first use

    d = deps(context)
    now = d.clock.now()
    # Past required amounts are not stored, so the line is today's figure for the whole
    # period; the caption says so. The kind filter does not apply: a balance is all kinds.
    required = (await get_snapshot(d.uow(), shop.shop_id, now, d.policy)).required.amount
    text = ChartText(
        title=unescape(shop_title(t, shop.shop_id, shop.entity_name, shop.market)),
        x_label=t.gettext("Date ({timezone})").format(timezone=shop.timezone),
        y_label=t.gettext("Amount ({currency})").format(currency=shop.currency),
        balance=t.gettext("Balance"), required=t.gettext("Required now"), language=t.language,
        short_title=f"{t.gettext(MARKETS.get(shop.market, shop.market))} · {shop.shop_id}")
    png = await asyncio.to_thread(balance_chart, steps(shop, ledger, now), required, text,
                                  shop.timezone)
    caption = t.gettext("Balance ({period}) against the amount required now, {amount}. "
                        "Past required amounts are not stored, so the line shows today's "
                        "amount for the whole period."
                        ).format(period=t.gettext(PERIOD_NAMES[view.period]),
                                 amount=t.money(required))
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(png, caption=caption, filename=file_name(shop, now, "png"))
