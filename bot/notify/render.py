"""Text of each push kind, in the member's language (HTML)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from html import escape

from bot.i18n import N_, Translator
from bot.render import due_split, shop_title
from domain.model import Shop
from domain.money import Money
from domain.notices import Notice

DEDUCTION_REASONS = {
    "fraud": N_("fraud or abuse of promotions, coupons or subsidies"),
    "consumer_compensation": N_("compensation to consumers for the shop's faults"),
    "off_platform": N_("an off-platform trade with written evidence"),
    "platform_advance": N_("losses or advances the platform covered (e.g. shipping fees)"),
}


def _m(n: Notice, key: str) -> Money:
    return Money.of(n.data[key], n.data[f"{key}_currency"])


def _figures(n: Notice, t: Translator) -> list[str]:
    lines = [t.gettext("New balance: {amount}").format(amount=t.money(_m(n, "balance")))]
    shortfall = _m(n, "shortfall")
    if shortfall.is_positive:
        lines += _to_clear(n, t, shortfall)
    owed, first = _m(n, "arrears_total"), _optional(n, "arrears_first")
    if owed.is_positive and (first is None or first == owed):
        lines.append(t.gettext("Arrears owed: {amount} — your next top-ups pay this first.")
                     .format(amount=t.money(owed)))
    elif owed.is_positive and first is not None and first.is_positive:
        lines.append(t.gettext("Arrears owed: {amount} — your next top-ups pay the deposit "
                               "arrears of {first} first.").format(
            amount=t.money(owed), first=t.money(first)))
    elif owed.is_positive:
        lines.append(t.gettext("Arrears owed: {amount}").format(amount=t.money(owed)))
    return lines


def _to_clear(n: Notice, t: Translator, shortfall: Money) -> list[str]:
    """The top-up that lifts the restriction: deposit arrears first, then the shortfall."""
    total = _optional(n, "due_total") or shortfall
    if total == shortfall:
        return [t.gettext("Shortfall: {amount} — top up to avoid restrictions.").format(
            amount=t.money(shortfall))]
    return [t.gettext("Shortfall: {shortfall} — top up {amount} to lift the restrictions.")
            .format(shortfall=t.money(shortfall), amount=t.money(total)),
            *due_split(t, total - shortfall, shortfall)]


def _optional(n: Notice, key: str) -> Money | None:
    """A money field that notices queued before it existed do not carry."""
    return _m(n, key) if key in n.data else None


def _payment_confirmed(n: Notice, t: Translator) -> list[str]:
    lines = [t.gettext("Top-up received: {amount} (reference {ref}).").format(
        amount=t.money(_m(n, "amount")), ref=escape(n.data["payment_ref"]))]
    if _m(n, "to_arrears").is_positive:
        lines.append(t.gettext("{amount} of it paid arrears first.").format(
            amount=t.money(_m(n, "to_arrears"))))
    return lines + _figures(n, t)


def _payment_failed(n: Notice, t: Translator) -> list[str]:
    return [t.gettext("Payment {ref} failed: {reason}").format(
        ref=escape(n.data["payment_ref"]), reason=escape(n.data["reason"])),
        t.gettext("Nothing was credited. Check that the payer is your registered entity and "
                  "try again, or choose another payment method.")]


def _deduction(n: Notice, t: Translator) -> list[str]:
    reason = t.gettext(DEDUCTION_REASONS.get(n.data["reason"], n.data["reason"]))
    lines = [t.gettext("The platform deducted {amount} from your deposit.").format(
        amount=t.money(_m(n, "amount"))), t.gettext("Reason: {reason}").format(reason=reason)]
    if n.data.get("note"):
        lines.append(t.gettext("Note: {note}").format(note=escape(n.data["note"])))
    if _m(n, "released").is_positive:
        lines.append(t.gettext("Your unconfirmed withdrawal of {amount} was cancelled.").format(
            amount=t.money(_m(n, "released"))))
    if _m(n, "to_arrears").is_positive:
        lines.append(t.gettext("Your balance did not cover {amount}; it is now owed as "
                               "deposit arrears.").format(amount=t.money(_m(n, "to_arrears"))))
    return lines + _figures(n, t)


def _withdrawal_paid(n: Notice, t: Translator) -> list[str]:
    if n.data.get("kind") == "refund":
        return _refund_paid(n, t)
    return [t.gettext("Withdrawal {ref} of {amount} has been paid out.").format(
        ref=escape(n.data["withdrawal_id"]), amount=t.money(_m(n, "amount")))] + _figures(n, t)


def _refund_paid(n: Notice, t: Translator) -> list[str]:
    """The closure's end: the full refund is paid and the shop is closed (SPEC §7.6–7)."""
    lines = [t.gettext("Your closing refund of {amount} has been paid out.").format(
        amount=t.money(_m(n, "amount")))]
    if "reopen_from" not in n.data:
        return lines + _figures(n, t)
    return lines + [t.gettext("The shop is now closed."), t.gettext(
        "You can reopen it with the original account from {date} (/reopen).").format(
        date=t.date(date.fromisoformat(n.data["reopen_from"])))]


def _withdrawal_failed(n: Notice, t: Translator) -> list[str]:
    return [t.gettext("Withdrawal {ref} of {amount} failed: {reason}").format(
        ref=escape(n.data["withdrawal_id"]), amount=t.money(_m(n, "amount")),
        reason=escape(n.data["reason"])),
        t.gettext("The hold is released and the money is back in your withdrawable balance. "
                  "Check the destination account name matches your registered entity.")]


def _hold_expired(n: Notice, t: Translator) -> list[str]:
    hold = t.duration(timedelta(seconds=int(n.data.get("hold_seconds", "7200"))))
    if n.data.get("kind") == "refund":
        return [t.gettext("Your closing refund of {amount} was not confirmed within {hold}, "
                          "so the hold was released. Send /close to confirm the refund "
                          "again.").format(amount=t.money(_m(n, "amount")), hold=hold)]
    return [t.gettext("Your withdrawal of {amount} was not confirmed within {hold}, so the "
                      "hold was released. Start again with a new withdrawal if you still "
                      "want it.").format(amount=t.money(_m(n, "amount")), hold=hold)]


def _arrears_updated(n: Notice, t: Translator) -> list[str]:
    if "owed" not in n.data:  # queued before the checklist's figures were added
        return [t.gettext("Arrears updated during your closure: {amount} outstanding.").format(
            amount=t.money(_m(n, "amount")))] + _figures(n, t)
    owed = _m(n, "owed")
    if not owed.is_positive:
        return [t.gettext("Arrears updated during your closure: nothing is owed now.")]
    lines = [t.gettext("Arrears owed during your closure: {amount}.").format(
        amount=t.money(owed))]
    return lines + [_offset_line(n, t)]


def _offset_line(n: Notice, t: Translator) -> str:
    """The checklist's rule (SPEC §7.4): covered → deducted on a date; not → top up before it."""
    if not n.data.get("offset_at"):
        return t.gettext("Once you confirm your identity in /close, they are deducted from the "
                         "deposit {days} days later; if the balance does not cover them, top "
                         "up before then.").format(days=n.data.get("offset_days", "10"))
    due, tz = datetime.fromisoformat(n.data["offset_at"]), n.data["timezone"]
    balance, short = t.money(_m(n, "balance")), _m(n, "topup_needed")
    if not short.is_positive:
        return t.gettext("Your balance, {balance}, covers them: they are deducted from the "
                         "deposit on {date}, then you continue closing.").format(
            balance=balance, date=t.date(due, tz))
    return t.gettext("Your balance, {balance}, does not cover them: top up at least {amount} "
                     "before {time}; otherwise the whole deposit is deducted and the closure "
                     "fails.").format(balance=balance, amount=t.money(short),
                                      time=t.datetime(due, tz))


def _closure_settled(n: Notice, t: Translator) -> list[str]:
    return [t.gettext("Your arrears of {amount} were deducted from the deposit. You can "
                      "continue closing the shop.").format(amount=t.money(_m(n, "arrears")))]


def _closure_failed(n: Notice, t: Translator) -> list[str]:
    return [t.gettext("Your deposit did not cover the arrears, so the whole deposit was "
                      "deducted and the closure failed. Still owed: {amount}. Your next "
                      "top-ups pay it first.").format(amount=t.money(_m(n, "remaining")))] + (
        _figures(n, t) if "balance" in n.data else [])


def _closure_ready(n: Notice, t: Translator) -> list[str]:
    return [t.gettext("Every closing condition is now met. Send /close to sign the closure "
                      "agreement and get your deposit back.")]


def _withdrawable_now(n: Notice, t: Translator) -> list[str]:
    return [t.gettext("The required amount dropped from {before} to {after}.").format(
        before=t.money(_m(n, "required_before")), after=t.money(_m(n, "required"))),
        t.gettext("You can now withdraw up to {amount}.").format(
            amount=t.money(_m(n, "withdrawable")))]


RENDERERS: dict[str, Callable[[Notice, Translator], list[str]]] = {
    "payment_confirmed": _payment_confirmed,
    "payment_failed": _payment_failed,
    "deduction_posted": _deduction,
    "withdrawal_paid": _withdrawal_paid,
    "withdrawal_failed": _withdrawal_failed,
    "hold_expired": _hold_expired,
    "arrears_updated": _arrears_updated,
    "closure_arrears_settled": _closure_settled,
    "closure_failed": _closure_failed,
    "closure_ready": _closure_ready,
    "withdrawable_now": _withdrawable_now,
}


def title(shop: Shop, t: Translator) -> str:
    """Every push is headed by the shop and market it is about."""
    return f"<b>{shop_title(t, shop.shop_id, shop.entity_name, shop.market)}</b>"


def render_notice(notice: Notice, shop: Shop, t: Translator) -> str:
    """The push text, headed by the shop and market it is about."""
    return "\n".join([title(shop, t), *RENDERERS[notice.kind](notice, t)])
