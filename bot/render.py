"""Text of the balance card and its explanation, in the user's language (HTML)."""

from __future__ import annotations

from html import escape
from typing import TypeVar

from bot.i18n import N_, Translator
from domain.model import ClosureStage, WithdrawalStatus
from domain.money import Money
from domain.required import CountedCategory, RequiredExplanation
from domain.status import Restriction, Snapshot

MARKETS = {
    "GB": N_("United Kingdom"), "US": N_("United States"), "SG": N_("Singapore"),
    "MY": N_("Malaysia"), "TH": N_("Thailand"), "PH": N_("Philippines"), "VN": N_("Vietnam"),
}
TIERS = {"standard": N_("standard"), "elevated": N_("elevated"), "high_risk": N_("high risk")}
ARREARS_KINDS = {"commission": N_("affiliate commission"), "invoice": N_("platform invoices"),
                 "deposit": N_("deposit arrears")}
CATEGORIES = {"home_goods": N_("Home goods"), "apparel": N_("Apparel"), "beauty": N_("Beauty"),
              "jewellery": N_("Jewellery"), "electronics": N_("Electronics"),
              "supplements": N_("Supplements")}
MAX_ORDERS_SHOWN = 3
T = TypeVar("T")


def category_label(t: Translator, category: str) -> str:
    """A known category's translated name; an unknown one as the platform sent it."""
    known = CATEGORIES.get(category)
    return t.gettext(known) if known else escape(category)


def market_name(t: Translator, market: str) -> str:
    """A market's name in the user's language (the code when it is not known)."""
    return t.gettext(MARKETS.get(market, market))


def in_rows(buttons: list[T], per_row: int = 2) -> list[list[T]]:
    """Buttons a few to a row, so labels stay readable on a phone."""
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def shop_title(t: Translator, shop_id: str, entity_name: str, market: str) -> str:
    """'Acme Ltd · United Kingdom shop (S-GB-1)' — every card names shop and market."""
    return t.gettext("{entity} · {market} shop ({shop_id})").format(
        entity=escape(entity_name), market=t.gettext(MARKETS.get(market, market)),
        shop_id=escape(shop_id))


def balance_card(snap: Snapshot, t: Translator) -> str:
    """The deposit page of SPEC §1: figures, why required, holds, arrears, state."""
    shop = snap.facts.shop
    if snap.restriction is Restriction.CLOSED:
        return closed_card(snap, t)
    lines = [f"<b>{shop_title(t, shop.shop_id, shop.entity_name, shop.market)}</b>",
             t.gettext("Settlement currency: {currency}").format(currency=shop.currency), "",
             t.gettext("Balance: {amount}").format(amount=t.money(snap.balance)),
             t.gettext("Required: {amount}").format(amount=t.money(snap.required.amount)),
             t.gettext("Shortfall: {amount}").format(amount=t.money(snap.shortfall)),
             t.gettext("In withdrawal: {amount}").format(amount=t.money(snap.in_withdrawal))]
    if snap.withdrawable.is_positive:
        lines.append(t.gettext("Withdrawable: {amount}").format(
            amount=t.money(snap.withdrawable)))
    lines += _arrears(snap, t) + hold_lines(snap, t) + _pending(snap, t)
    lines += ["", explanation(snap.required, t, shop.timezone), "",
              *restriction_lines(snap, t)]
    return "\n".join(lines + closure_lines(snap, t))


def closed_card(snap: Snapshot, t: Translator) -> str:
    """A closed shop: its state, when it may reopen, and nothing that asks for money."""
    shop = snap.facts.shop
    lines = [f"<b>{shop_title(t, shop.shop_id, shop.entity_name, shop.market)}</b>", ""]
    if shop.closed_at is not None:
        lines.append(t.gettext("This shop is closed (since {date}).").format(
            date=t.date(shop.closed_at, shop.timezone)))
    else:
        lines.append(t.gettext("Status: closed."))
    if snap.balance.is_positive:
        lines.append(t.gettext("Balance: {amount}").format(amount=t.money(snap.balance)))
    lines += _arrears(snap, t) + reopen_lines(snap, t)
    return "\n".join(lines)


def reopen_lines(snap: Snapshot, t: Translator) -> list[str]:
    """When a closed shop can reopen with the original account."""
    tz = snap.facts.shop.timezone
    if snap.reopen_from is None:
        return []
    if snap.now >= snap.reopen_from:
        return [t.gettext("You can reopen it now with the original account: send /reopen.")]
    return [t.gettext("You can reopen it with the original account from {date} (/reopen).")
            .format(date=t.date(snap.reopen_from, tz))]


OPEN_CLOSURE_STEPS = {ClosureStage.STARTED: N_("step 2 of 7: identity"),
                      ClosureStage.VERIFIED: N_("step 3 of 7: closing conditions")}


def closure_lines(snap: Snapshot, t: Translator) -> list[str]:
    """An open closing application: where it stands and how to go on or stop."""
    closure = snap.facts.closure
    if closure is None:
        return []
    if closure.stage in {ClosureStage.SIGNED, ClosureStage.REFUNDING}:
        return [t.gettext("Closing: the closure agreement is signed; the whole balance "
                          "comes back as the full refund (/close).")]
    step = OPEN_CLOSURE_STEPS.get(closure.stage)
    if step is None:
        return []
    return ["", t.gettext("An application to close this shop is open ({step}), started on "
                          "{date}. Send /close to continue it or cancel it.").format(
        step=t.gettext(step), date=t.date(closure.started_at, snap.facts.shop.timezone))]


def _arrears(snap: Snapshot, t: Translator) -> list[str]:
    if not snap.arrears:
        return []
    parts = ", ".join(f"{t.gettext(ARREARS_KINDS.get(k, k))} {t.money(v)}"
                      for k, v in sorted(snap.arrears.items()))
    return [t.gettext("Arrears owed: {amount} ({parts})").format(
        amount=t.money(snap.arrears_total), parts=parts)]


def hold_lines(snap: Snapshot, t: Translator) -> list[str]:
    """One line per withdrawal keeping money in withdrawal, and when it ends."""
    tz = snap.facts.shop.timezone
    out = []
    for w in snap.holds:
        if w.status is WithdrawalStatus.HELD:
            out.append(t.gettext("• {amount} held for a withdrawal you have not confirmed; "
                                 "released at {time}").format(
                amount=t.money(w.amount), time=t.datetime(w.expires_at, tz)))
        else:
            out.append(t.gettext("• {amount} confirmed for payout, waiting to be paid").format(
                amount=t.money(w.amount)))
    return out


def _pending(snap: Snapshot, t: Translator) -> list[str]:
    return [t.gettext("• Top-up {amount} pending (reference {ref}): credited when the "
                      "payment is confirmed").format(amount=t.money(q.amount), ref=escape(q.ref))
            for q in snap.facts.pending_quotes]


def _reasons(c: CountedCategory, t: Translator) -> str:
    parts = []
    if c.in_scope:
        parts.append(t.gettext("in your registered business scope"))
    if c.live_listings:
        parts.append(t.ngettext("{n} live listing", "{n} live listings",
                                c.live_listings).format(n=c.live_listings))
    if c.orders:
        ids = ", ".join(escape(o.order_id) for o in c.orders[:MAX_ORDERS_SHOWN])
        more = len(c.orders) - MAX_ORDERS_SHOWN
        if more > 0:
            ids += " " + t.ngettext("and {n} more", "and {n} more", more).format(n=more)
        parts.append(t.ngettext("{n} unfinished order ({ids})", "{n} unfinished orders ({ids})",
                                len(c.orders)).format(n=len(c.orders), ids=ids))
    return "; ".join(parts)


def explanation(req: RequiredExplanation, t: Translator, timezone: str) -> str:
    """Why the required amount is what it is, and when it is expected to drop."""
    head = t.gettext("<b>Why {amount} is required</b>").format(amount=t.money(req.amount))
    if req.by_default:
        return "\n".join([head, t.gettext(
            "No category counts for this shop yet, so the market's standard tier applies.")])
    lines = [head, t.gettext("The highest tier among your counted categories sets it "
                             "(one amount, not a sum): {tier} tier.").format(
        tier=t.gettext(TIERS.get(req.tier, req.tier)))]
    for c in req.setters:
        lines.append(t.gettext("• {category}: {reasons}").format(
            category=category_label(t, c.category), reasons=_reasons(c, t)))
    for name in req.unknown_categories:
        lines.append(t.gettext("• {category} is not in the tier table, so it counts as high "
                               "risk; support has been told.").format(category=escape(name)))
    lines.append(_drop(req, t, timezone))
    return "\n".join(lines)


def _drop(req: RequiredExplanation, t: Translator, timezone: str) -> str:
    if req.drops_on is not None and req.drops_to is not None:
        return t.gettext("Expected to drop to {amount} on {date}, when the last of these orders "
                         "ends its after-sales period (if no dispute opens).").format(
            amount=t.money(req.drops_to), date=t.date(req.drops_on, timezone))
    if all(c.pinned_by_orders_only for c in req.setters):
        return t.gettext("It drops once these orders are finished: completed or closed, "
                         "after-sales ended and no dispute open. No date can be given while "
                         "one is still open or disputed.")
    return t.gettext("It stays while the category is in your business scope or has live "
                     "listings. Delisting alone does not lower it while its orders are "
                     "unfinished.")


def due_split(t: Translator, arrears: Money, shortfall: Money) -> list[str]:
    """How a top-up is spent when deposit arrears come first; nothing when there are none."""
    if not arrears.is_positive:
        return []
    return [t.gettext("Of {total}, {arrears} pays your deposit arrears first (top-ups always "
                      "do), then {shortfall} covers the shortfall.").format(
        total=t.money(arrears + shortfall), arrears=t.money(arrears),
        shortfall=t.money(shortfall))]


def restriction_lines(snap: Snapshot, t: Translator) -> list[str]:
    """The restriction state, then how the amount it asks for is split."""
    due = snap.payment_due
    return [restriction(snap, t), *due_split(t, due.arrears, due.shortfall)]


def restriction(snap: Snapshot, t: Translator) -> str:
    """The restriction state and what the platform does about it (the amount that lifts it)."""
    short = t.money(snap.payment_due.total)
    texts = {
        Restriction.OK: t.gettext("Status: OK — no restrictions."),
        Restriction.SHORT: t.gettext("Status: short — you cannot publish new products until "
                                     "you top up {amount}.").format(amount=short),
        Restriction.NOT_PAID: t.gettext("Status: not paid — you cannot publish products or bind "
                                        "creators until you pay {amount}.").format(amount=short),
        Restriction.OVERDUE: t.gettext("Status: overdue — still short 30 days after the first "
                                       "reminder. Existing products may be delisted and your "
                                       "shops in other markets may face order limits and "
                                       "delisting. Top up {amount} now.").format(amount=short),
        Restriction.CLEARED: t.gettext("Status: never paid — this new shop faces clearing "
                                       "(清退). Pay {amount} now to keep it.").format(amount=short),
        Restriction.CLOSED: t.gettext("Status: closed."),
    }
    return texts[snap.restriction]
