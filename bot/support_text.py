"""Texts of support tickets: the post in the support group and what the seller reads (HTML)."""

from __future__ import annotations

from html import escape

from telegram import User

from bot.i18n import N_, Translator
from bot.render import restriction, shop_title
from bot.storage.support import Ticket, TicketStatus
from domain.model import Shop
from domain.status import Snapshot

MAX_SHOWN = 3000  # a Telegram message holds 4,096 characters; the database keeps all
STATUS_NAMES = {
    TicketStatus.OPEN: N_("open, waiting for support"),
    TicketStatus.ANSWERED: N_("answered, waiting for you"),
    TicketStatus.RESOLVED: N_("resolved"),
}
STAFF_STATUS_NAMES = {
    TicketStatus.OPEN: N_("waiting for an agent"),
    TicketStatus.ANSWERED: N_("answered, waiting for the seller"),
    TicketStatus.RESOLVED: N_("resolved"),
}
STAGES = {
    "started": N_("started (reading the steps)"), "verified": N_("identity verified"),
    "signed": N_("agreement signed"), "refunding": N_("full refund submitted"),
}


def words(text: str) -> str:
    """Someone's own words, safe inside an HTML message and short enough for one."""
    shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
    return escape(shown)


def who(user: User) -> str:
    """A seller as agents see them: name, @username and Telegram id."""
    handle = f" @{user.username}" if user.username else ""
    return f"{escape(user.full_name)}{handle} (id {user.id})"


def shop_context(t: Translator, snap: Snapshot, others: list[Shop]) -> list[str]:
    """What an agent needs at hand about the seller's shop."""
    shop = snap.facts.shop
    lines = [t.gettext("Shop: {title}").format(
        title=shop_title(t, shop.shop_id, shop.entity_name, shop.market)),
        t.gettext("Balance {balance} · required {required} · shortfall {shortfall}").format(
            balance=t.money(snap.balance), required=t.money(snap.required.amount),
            shortfall=t.money(snap.shortfall)),
        restriction(snap, t)]
    if snap.withdrawable.is_positive:
        lines.append(t.gettext("Withdrawable: {amount}").format(
            amount=t.money(snap.withdrawable)))
    if snap.holds:
        lines.append(t.ngettext("{n} withdrawal in progress, {amount} held",
                                "{n} withdrawals in progress, {amount} held",
                                len(snap.holds)).format(n=len(snap.holds),
                                                         amount=t.money(snap.in_withdrawal)))
    if snap.arrears_total.is_positive:
        lines.append(t.gettext("Arrears owed: {amount}").format(
            amount=t.money(snap.arrears_total)))
    closure = snap.facts.closure
    if closure is not None:
        lines.append(t.gettext("Closing the shop: {stage}").format(
            stage=t.gettext(STAGES.get(closure.stage.value, closure.stage.value))))
    if others:
        lines.append(t.gettext("Other shops: {shops}").format(
            shops=", ".join(escape(s.shop_id) for s in others)))
    return lines


def follow_up_post(t: Translator, ticket: Ticket, seller: User, text: str) -> str:
    """A later message of the seller, threaded under the ticket in the support group."""
    return "\n".join([t.gettext("<b>Ticket #{id}</b> · the seller wrote again").format(
        id=ticket.ticket_id), t.gettext("From: {seller}").format(seller=who(seller)), "",
        words(text)])


def replied_by(t: Translator, ticket: Ticket, name: str | None = None) -> str:
    """'Support replied (ticket #3):', or with the agent's first name when the desk opts in."""
    if name:
        return t.gettext("<b>{name} from support replied</b> (ticket #{id}):").format(
            name=escape(name), id=ticket.ticket_id)
    return t.gettext("<b>Support replied</b> (ticket #{id}):").format(id=ticket.ticket_id)


def agent_reply(t: Translator, ticket: Ticket, text: str, name: str | None = None,
                as_written: bool = True) -> str:
    """An agent's answer as the seller receives it: our frame, the agent's words as-is
    (or, for a knowledge-base answer, our own HTML)."""
    return "\n".join([replied_by(t, ticket, name), "", words(text) if as_written else text, "",
                      t.gettext("Write here to answer; /resolve closes the ticket.")])


def status_line(t: Translator, ticket: Ticket, timezone: str = "Asia/Shanghai") -> str:
    """'#3 · answered, waiting for you · since 21 Nov 2026 10:00'."""
    return t.gettext("#{id} · {status} · last activity {time}").format(
        id=ticket.ticket_id, status=t.gettext(STATUS_NAMES[ticket.status]),
        time=t.datetime(ticket.updated_at, timezone))


def staff_line(t: Translator, ticket: Ticket, timezone: str = "Asia/Shanghai") -> str:
    """One ticket in an agent's list: id, shop, seller, status and last activity."""
    shop = escape(ticket.shop_id) if ticket.shop_id else t.gettext("no shop")
    return t.gettext("#{id} · {shop} · seller {seller} · {status} · {time}").format(
        id=ticket.ticket_id, shop=shop, seller=ticket.seller_id,
        status=t.gettext(STAFF_STATUS_NAMES[ticket.status]),
        time=t.datetime(ticket.updated_at, timezone))
