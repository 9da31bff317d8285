"""Each named domain refusal as a message in the user's language, saying what to do next."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.i18n import N_, Translator
from bot.parsing import AmountUnreadable
from domain import errors as e
from domain.withdrawals import ACCOUNT_DIGITS

METHODS = {
    "personal_online_banking": N_("Personal online banking"),
    "corporate_online_banking": N_("Corporate online banking"),
    "personal_alipay": N_("Personal Alipay"),
    "payoneer": N_("Payoneer"),
    "offline_transfer": N_("Offline bank transfer (recharge code)"),
    "paypal": N_("PayPal"),
    "debit_card": N_("Debit card"),
}
DESTINATIONS = {"corporate_bank": N_("Corporate bank account"), "paypal": N_("PayPal account")}
UNREADABLE = {
    "empty": N_("Please send an amount, for example 100 or 100.50."),
    "not_a_number": N_("That is not an amount I can read. Send a number such as 100, 100.50, "
                       "£100 or 100美元."),
    "decimal_comma": N_("Use a point for decimals, for example 100.50; a comma only "
                        "separates thousands, as in 1,000."),
    "unknown_currency": N_("I can read GBP (£, 英镑) and USD ($, 美元) only. Send the amount in "
                           "your shop's settlement currency."),
    "two_currencies": N_("That amount names two different currencies. Send one amount in your "
                         "shop's settlement currency."),
}
WHOLE = {  # a withdrawal is a whole number: never suggest 100.50 there
    "empty": N_("Please send a whole number, for example 100."),
    "not_a_number": N_("That is not an amount I can read. Send a whole number such as 100, "
                       "$100 or 100美元."),
    "decimal_comma": N_("Withdrawals are whole numbers: send, for example, 100 (commas only "
                        "separate thousands, as in 1,000)."),
}
INVALID = {
    "not_positive": N_("The amount must be more than zero."),
    "too_many_decimals": N_("Use at most two decimal places, for example 100.50."),
    "not_a_number": N_("That is not an amount I can read. Send a number such as 100."),
}


def method_name(t: Translator, method: str) -> str:
    """A payment method's name in the user's language."""
    return t.gettext(METHODS.get(method, method))


def destination_name(t: Translator, kind: str) -> str:
    """A withdrawal destination's name in the user's language."""
    return t.gettext(DESTINATIONS.get(kind, kind))


def _range(t: Translator, err: Any, problem: str) -> str:
    allowed = t.gettext("You can withdraw a whole number from {minimum} to {maximum}.").format(
        minimum=t.money(err.minimum), maximum=t.money(err.maximum))
    # two sentences: a space between them in English, none in Chinese
    return t.gettext("{problem} {allowed}").format(problem=problem, allowed=allowed)


def _nothing(t: Translator, err: e.NothingWithdrawable) -> str:
    return t.gettext("Nothing can be withdrawn now: withdrawable is {amount} and the minimum is "
                     "{minimum}. Below the minimum the deposit comes back only when you close "
                     "the shop (/close).").format(amount=t.money(err.withdrawable),
                                                  minimum=t.money(err.minimum))


_TEXTS: dict[type, Callable[[Translator, Any], str]] = {
    e.UnknownShop: lambda t, err: t.gettext("That shop is not linked to your account."),
    e.ShopClosed: lambda t, err: t.gettext("This shop is closed. Use /reopen when reopening "
                                           "is allowed."),
    e.InvalidAmount: lambda t, err: t.gettext(INVALID.get(err.reason, INVALID["not_a_number"])),
    e.TopUpTooLarge: lambda t, err: t.gettext(
        "A single top-up can be at most {maximum}. Split larger amounts.").format(
        maximum=t.money(err.maximum)),
    e.NoFxRate: lambda t, err: t.gettext(
        "No exchange rate {base}/{quote} is available right now, so no quote can be made. "
        "Please try again later.").format(base=err.base, quote=err.quote),
    e.PaymentMethodNotAllowed: lambda t, err: t.gettext(
        "Your company cannot pay with {method}: the payer must be your registered entity. "
        "Choose one of: {allowed}.").format(method=method_name(t, err.method),
                                           allowed=", ".join(method_name(t, m)
                                                             for m in err.allowed)),
    e.QuoteExpired: lambda t, err: t.gettext(
        "That quote has expired: quotes hold only for a short while because rates move. "
        "Start again with /topup for a quote at the current rate."),
    e.UnknownQuote: lambda t, err: t.gettext("That quote is no longer available. Start again "
                                             "with /topup."),
    e.WithdrawalNotWhole: lambda t, err: _range(
        t, err, t.gettext("Withdrawals are whole numbers only.")),
    e.BelowMinimumWithdrawal: lambda t, err: _range(
        t, err, t.gettext("That is below the minimum withdrawal.")),
    e.AboveWithdrawable: lambda t, err: _range(
        t, err, t.gettext("That is more than you can withdraw now.")),
    e.NothingWithdrawable: _nothing,
    e.HoldExpired: lambda t, err: t.gettext(
        "This withdrawal was not confirmed before its hold ended, so the hold was released "
        "and nothing was submitted. Start again with /withdraw."),
    e.UnknownWithdrawal: lambda t, err: t.gettext("That withdrawal is no longer open. Start "
                                                  "again with /withdraw."),
    e.WithdrawalNotPending: lambda t, err: t.gettext(
        "This withdrawal was already submitted or ended; nothing more was done."),
    e.DestinationNotAllowed: lambda t, err: t.gettext(
        "Your company can withdraw only to: {allowed}.").format(
        allowed=", ".join(destination_name(t, k) for k in err.allowed)),
    e.DestinationNameMismatch: lambda t, err: t.gettext(
        "The account holder must be your registered entity “{entity}”. A different name is "
        "refused before anything is submitted; send the account name exactly as registered.")
    .format(entity=err.entity_name),
    e.VerificationUnavailable: lambda t, err: t.gettext(
        "Identity checks for closing are not available for this shop: the platform registered "
        "no contact e-mail address for it, so no one-time code could be sent and the closure "
        "cannot go on. Nothing else was done. Send /support to reach a person from support, "
        "who can have the address added.") if err.kind == "no_contact" else t.gettext(
        "The e-mail with your one-time code could not be sent to {address}, so no code is "
        "valid and the closure cannot go on. Nothing else was done. Try /close again later, or "
        "send /support to reach a person from support.").format(
        address=err.to) if err.kind == "email" else t.gettext(
        "Identity checks for closing a shop are not available right now, so no one-time code "
        "could be sent and the closure cannot go on. Nothing else was done. Send /support to "
        "reach a person from support, or try /close again later."),
    e.IncompleteDestination: lambda t, err: t.gettext(
        "That is not an account the money can go to: a PayPal account is an e-mail address, "
        "a bank account has the bank's name and the account number. Nothing was submitted."),
    e.AccountUnreadable: lambda t, err: t.gettext(
        "That does not look like a PayPal account: send its e-mail address, for example "
        "finance@yourcompany.com.") if err.problem == "email" else t.gettext(
        "That does not look like a bank account: send the bank name and the account number "
        "({low}–{high} digits; spaces are fine), for example “Bank of China 6222 0000 1111 "
        "2222”.").format(low=ACCOUNT_DIGITS[0], high=ACCOUNT_DIGITS[1]),
    e.RefundNotWhole: lambda t, err: t.gettext(
        "The closing refund pays out the whole balance, {amount}.").format(
        amount=t.money(err.amount)),
    e.WrongVerificationCode: lambda t, err: t.ngettext(
        "That code is not right. {n} attempt left.", "That code is not right. {n} attempts "
        "left.", err.attempts_left).format(n=err.attempts_left),
    e.ReopenTooEarly: lambda t, err: t.gettext(
        "A closed shop can reopen with the original account 6 months after closing: from "
        "{date}.").format(date=t.date(err.allowed_from)),
}


def explain(t: Translator, err: Exception, whole: bool = False) -> str:
    """The user-facing text of a refusal (HTML-safe where it embeds user text); `whole`
    when a whole number is asked for (withdrawals)."""
    from html import escape

    if isinstance(err, AmountUnreadable):
        texts = {**UNREADABLE, **WHOLE} if whole else UNREADABLE
        return t.gettext(texts.get(err.reason, texts["not_a_number"]))
    if isinstance(err, e.DestinationNameMismatch):
        err = e.DestinationNameMismatch(escape(err.given), escape(err.entity_name))
    if isinstance(err, e.VerificationUnavailable) and err.to:
        err = e.VerificationUnavailable(err.reason, err.kind, escape(err.to))
    if isinstance(err, e.ClosureStepRefused):
        return closure_refusal(t, err)
    for kind in type(err).__mro__:
        if kind in _TEXTS:
            return _TEXTS[kind](t, err)
    return t.gettext("That cannot be done right now. Nothing was changed.")


def closure_refusal(t: Translator, err: e.ClosureStepRefused) -> str:
    """Why a closure step was refused."""
    texts = {
        "code_expired": N_("The verification code expired or was tried too often. Ask for a "
                           "new code."),
        "reason_missing": N_("Please give a reason for closing the shop."),
        "conditions_not_met": N_("Not every closing condition is met yet; see the checklist."),
        "agreement_not_signed": N_("The full refund starts after you sign the closure "
                                   "agreement (/close)."),
        "closure_signed": N_("You signed the closure agreement: the deposit comes back as the "
                             "full refund (/close)."),
        "not_started": N_("There is no closing application for this shop. Start one with "
                          "/close."),
        "not_closed": N_("This shop is not closed."),
    }
    return t.gettext(texts.get(err.reason, N_("That closing step is not available now. "
                                              "Send /close to see where you are.")))
