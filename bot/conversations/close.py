"""/close: closing the shop and the full refund (SPEC §7), resumable at the step reached.

Steps: intro → code → reason → checklist (arrears) → agreement → destination → holder name →
account → confirm → submitted; the shop closes when the refund is paid out. Sending /close
again resumes: the closure's stage in the domain says where, and the draft's `step` (kept
with the conversation state) says which text the bot was waiting for. State diagram:
close.mmd beside this file.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Coroutine
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import deps
from bot.conversations.flow import (
    ActiveFlow,
    destination_of,
    draft,
    drop_draft,
    only_at,
    record_steps,
    say,
)
from bot.errors_text import destination_name, explain
from bot.handlers.common import (
    current_shop,
    is_owner,
    refuse_staff,
    shop_token,
    translator_for,
)
from bot.i18n import N_, Translator
from bot.render import ARREARS_KINDS, MARKETS, shop_title
from domain.closure import MAX_CODE_ATTEMPTS, Condition, ConditionStatus
from domain.closure_service import (
    ClosureView,
    cancel_closure,
    check_closure_code,
    closure_view,
    reopen_shop,
    sign_agreement,
    start_closure,
    verify_identity,
)
from domain.errors import (
    ClosureStepRefused,
    DepositError,
    HoldExpired,
    WithdrawalNotPending,
    WrongVerificationCode,
)
from domain.model import (
    ClosureStage,
    Shop,
    ShopStatus,
    Withdrawal,
    WithdrawalKind,
    WithdrawalStatus,
)
from domain.services import confirm_withdrawal, deliver_closure_code, start_refund, today_in
from domain.withdrawals import (
    check_account,
    check_account_name,
    minimum,
    payout_currency,
    payout_dates,
)

FLOW = "close"
MAX_TEXT = 64
END = ConversationHandler.END


class State(enum.StrEnum):
    INTRO = "close.intro"
    CODE = "close.code"
    REASON = "close.reason"
    CHECKLIST = "close.checklist"
    AGREEMENT = "close.agreement"
    DESTINATION = "close.destination"
    NAME = "close.name"
    ACCOUNT = "close.account"
    CONFIRM = "close.confirm"
    SUBMITTED = "close.submitted"


Step = State | int | None
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Step]]
NOT_SIGNED = {ClosureStage.STARTED, ClosureStage.VERIFIED}
CONDITIONS = {
    Condition.MARKETING: N_("All marketing activities stopped"),
    Condition.CREATORS: N_("All creator accounts unbound"),
    Condition.NOTICE: N_("Closure announcement on the shop's home page for {days} days"),
    Condition.ORDERS: N_("Every order completed or closed, the latest at least {days} days "
                         "ago"),
    Condition.COMMISSION: N_("No affiliate commission owed"),
    Condition.SETTLED: N_("All payments settled (deposit arrears, platform invoices)"),
}
Row = tuple[tuple[str, str], ...]


# ---- shared pieces --------------------------------------------------------------------


def refusals(step: Callback) -> Callback:
    """Any refusal of the core is explained in the user's language and the step is kept."""
    @functools.wraps(step)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
        try:
            return await step(update, context)
        except DepositError as err:
            await say(update, explain(await translator_for(update, context), err))
            return None
    return guarded


def _buttons(t: Translator, shop: Shop, *rows: Row) -> InlineKeyboardMarkup:
    """Rows of (label, action); the data is cl:ACTION:TOKEN (no shop id, under 64 bytes)."""
    token = shop_token(shop.shop_id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.gettext(label),
                                                       callback_data=f"cl:{action}:{token}")
                                  for label, action in row] for row in rows])


def _title(t: Translator, shop: Shop) -> str:
    return shop_title(t, shop.shop_id, shop.entity_name, shop.market)


def _flow(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> dict[str, Any]:
    """The draft of this shop's closure; a draft left from another shop is dropped."""
    found = draft(context, FLOW)
    if found.get("shop") != shop.shop_id:
        found.clear()
        found["shop"] = shop.shop_id
    return found


def _text(update: Update) -> str:
    message = update.effective_message
    return ((message.text if message else "") or "").strip()


async def _view(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> ClosureView | None:
    d = deps(context)
    return await closure_view(d.uow(), shop.shop_id, d.clock.now(), d.policy)


async def _shop(update: Update, context: ContextTypes.DEFAULT_TYPE
                ) -> tuple[Translator, Shop | None]:
    """The translator and the user's current shop (told when there is none)."""
    t = await translator_for(update, context)
    shop, _ = await current_shop(update, context, t)
    return t, shop


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE
                   ) -> tuple[Translator, Shop | None, list[str]]:
    """A cl: button of the user's current shop: (t, shop, arguments); else refused."""
    query = update.callback_query
    assert query is not None
    t, shop = await _shop(update, context)
    parts = (query.data or "").split(":")
    if shop is None or len(parts) < 3 or parts[-1] != shop_token(shop.shop_id):
        await query.answer(t.gettext("That button is no longer valid."), show_alert=True)
        return t, None, []
    await query.answer()
    return t, shop, parts[2:-1]


# ---- entry and resume -----------------------------------------------------------------


@refusals
async def close(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """/close: store nothing new; resume at the step the closure reached (or show step 1)."""
    t, shop = await _shop(update, context)
    if shop is None:
        return END
    if not await is_owner(update, context, shop):
        await refuse_staff(update, t)
        return END
    return await _resume(update, context, t, shop)


async def _resume(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  shop: Shop) -> Step:
    view = await _view(context, shop)
    flow = _flow(context, shop)
    stage = view.closure.stage if view else None
    if shop.status is ShopStatus.CLOSED:
        return await _closed(update, context, t, shop, view)
    if view is None or stage in {ClosureStage.CANCELLED, ClosureStage.CLOSED}:
        return await _intro(update, context, t, shop, flow)
    if stage is ClosureStage.FAILED:
        return await _failed(update, t, shop, view, flow)
    if stage is ClosureStage.STARTED:
        return await _identity(update, context, t, shop, view, resend=False)
    if stage is ClosureStage.VERIFIED:
        return await _checklist(update, context, t, shop, view)
    if stage is ClosureStage.SIGNED:
        return await _refund_resume(update, context, t, shop, view, flow)
    return await _submitted(update, context, t, shop, view)


async def _intro(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                 shop: Shop, flow: dict[str, Any]) -> State:
    policy = deps(context).policy
    flow.clear()
    flow["shop"], flow["step"] = shop.shop_id, "intro"
    await say(update, t.gettext(
        "<b>Step 1 · Close the shop and get the deposit back</b>\n{shop}\n\n"
        "Steps:\n1. Read these steps and cautions.\n2. Confirm your identity with a one-time "
        "code and give a reason.\n3. Meet every closing condition (the checklist shows each "
        "one and when it will be met).\n4. Any arrears are deducted from the deposit after "
        "{days} days; if the deposit does not cover them, top up first.\n5. Sign the closure "
        "agreement.\n6. Receive the whole balance as a full refund.\n7. The shop closes once "
        "the refund is paid out.\n\nCautions:\n• You can cancel until you sign the "
        "agreement; after signing you cannot.\n• A closed shop can be reopened with the "
        "original account only {months} months after closing.").format(
        shop=_title(t, shop), days=policy.arrears_offset_days, months=policy.reopen_months),
        _buttons(t, shop, ((N_("Continue"), "go"), (N_("Cancel"), "cancel"))))
    return State.INTRO


async def _failed(update: Update, t: Translator, shop: Shop, view: ClosureView,
                  flow: dict[str, Any]) -> State:
    flow.clear()
    flow["shop"], flow["step"] = shop.shop_id, "intro"
    await say(update, t.gettext(
        "<b>Your last closing application failed.</b>\n{shop}\nThe deposit did not cover the "
        "arrears, so the whole deposit was deducted. Arrears still owed: {amount}. Every "
        "top-up pays them first. Once they are paid you can apply to close again.").format(
        shop=_title(t, shop), amount=t.money(view.arrears)),
        _buttons(t, shop, ((N_("Start a new application"), "go"),)))
    return State.INTRO


async def _closed(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  shop: Shop, view: ClosureView | None) -> int:
    drop_draft(context, FLOW)
    lines = [t.gettext("{shop} is closed.").format(shop=_title(t, shop))]
    if shop.closed_at is not None:
        lines.append(t.gettext("Closed on {date}.").format(
            date=t.date(shop.closed_at, shop.timezone)))
    if view is not None and view.reopen_from is not None:
        lines.append(t.gettext("You can reopen it with the original account from {date}: "
                               "send /reopen then.").format(
            date=t.date(view.reopen_from, shop.timezone)))
    await say(update, "\n".join(lines))
    return END


# ---- step 2: identity -----------------------------------------------------------------


@refusals
async def go(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Continue: open the application, send a one-time code and ask for it."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    d = deps(context)
    await start_closure(d.uow(), shop.shop_id, _user_id(update), d.clock.now())
    view = await _view(context, shop)
    assert view is not None
    return await _identity(update, context, t, shop, view, resend=True)


@refusals
async def new_code(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Send a new code: a fresh one-time code replaces the old one; ask for it."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    view = await _view(context, shop)
    if view is None or view.closure.stage is not ClosureStage.STARTED:
        return await _resume(update, context, t, shop)
    return await _identity(update, context, t, shop, view, resend=True)


async def _identity(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                    shop: Shop, view: ClosureView, resend: bool) -> Step:
    """Shop details and the code (a new one only when none is still usable)."""
    d, flow = deps(context), _flow(context, shop)
    current, now = view.closure, d.clock.now()
    if flow.get("step") == "reason" and flow.get("code") and not resend:
        return await _ask_reason(update, t)
    usable = current.code_digest is not None and current.code_expires_at is not None \
        and now < current.code_expires_at and current.code_attempts < MAX_CODE_ATTEMPTS
    if resend or not usable:
        current, sent = await deliver_closure_code(d.uow(), shop.shop_id, _user_id(update), now,
                                                   d.policy, d.channel, ids=d.ids)
        flow.pop("code", None)
        flow["sent"] = [sent.via, sent.to] if sent is not None else None
    flow["step"] = "code"
    assert current.code_expires_at is not None
    await say(update, "\n".join([
        t.gettext("<b>Step 2 · Confirm your identity</b>"),
        t.gettext("Shop: {shop}").format(shop=_title(t, shop)),
        t.gettext("Registered entity: {entity}").format(entity=escape(shop.entity_name)),
        t.gettext("Market: {market} (deposit in {currency})").format(
            market=t.gettext(MARKETS.get(shop.market, shop.market)), currency=shop.currency),
        "",
        t.gettext("If these details are wrong, do not continue: contact support (/support) "
                  "and cancel closing."),
        "",
        _sent_line(t, flow.get("sent"), t.datetime(current.code_expires_at, shop.timezone))]),
        _buttons(t, shop, ((N_("Send a new code"), "code"), (N_("Cancel closing"), "cancel"))))
    return State.CODE


def _sent_line(t: Translator, sent: Any, time: str) -> str:
    """Where the code truly went, as the channel reported it, and until when it holds."""
    via, to = sent if isinstance(sent, list | tuple) and len(sent) == 2 else (None, None)
    if via == "email" and to:
        return t.gettext("A one-time code was sent by e-mail to {address}. Send it here "
                         "before {time}.").format(address=escape(str(to)), time=time)
    if via == "log":
        return t.gettext("Development mode: the one-time code was written to the operator "
                         "log, not sent to anyone. Send it here before {time}.").format(time=time)
    return t.gettext("A one-time code was sent to the shop's registered contact. Send it here "
                     "before {time}.").format(time=time)


@refusals
async def code_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Check the typed code and store it; ask for the reason (or verify if one is known)."""
    t, shop = await _shop(update, context)
    if shop is None:
        return END
    flow, d, code = _flow(context, shop), deps(context), _text(update)[:MAX_TEXT]
    try:
        await check_closure_code(d.uow(), shop.shop_id, code, d.clock.now(), d.policy)
    except (WrongVerificationCode, ClosureStepRefused) as err:
        return await _code_refused(update, t, shop, flow, err)
    flow["code"] = code
    if flow.get("reason"):
        return await _verify(update, context, t, shop)
    flow["step"] = "reason"
    return await _ask_reason(update, t)


async def _ask_reason(update: Update, t: Translator) -> State:
    await say(update, t.gettext("The code is right. Now tell us in a few words why you are "
                                "closing the shop."))
    return State.REASON


@refusals
async def reason_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Store the reason and verify code and reason; then show the checklist."""
    t, shop = await _shop(update, context)
    if shop is None:
        return END
    _flow(context, shop)["reason"] = _text(update)[:500]
    return await _verify(update, context, t, shop)


async def _verify(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  shop: Shop) -> Step:
    d, flow = deps(context), _flow(context, shop)
    code, reason = str(flow.pop("code", "")), str(flow.get("reason", ""))
    try:
        await verify_identity(d.uow(), shop.shop_id, code, reason, d.clock.now(), d.policy)
    except (WrongVerificationCode, ClosureStepRefused) as err:
        return await _code_refused(update, t, shop, flow, err)
    except DepositError as err:
        await say(update, explain(t, err))
        return None
    flow["step"] = "checklist"
    await say(update, t.gettext("Identity confirmed."))
    view = await _view(context, shop)
    assert view is not None
    return await _checklist(update, context, t, shop, view)


async def _code_refused(update: Update, t: Translator, shop: Shop, flow: dict[str, Any],
                        err: DepositError) -> State:
    if isinstance(err, ClosureStepRefused) and err.reason == "reason_missing":
        flow["step"] = "reason"
        await say(update, explain(t, err))
        return State.REASON
    flow["step"] = "code"
    text = explain(t, err)
    if isinstance(err, WrongVerificationCode) and err.attempts_left > 0:
        text += "\n" + t.gettext("Send the code again.")
    await say(update, text, _buttons(t, shop, ((N_("Send a new code"), "code"),
                                               (N_("Cancel closing"), "cancel"))))
    return State.CODE


# ---- step 3–4: checklist and arrears --------------------------------------------------


@refusals
async def refresh(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Refresh checklist: show every condition again; nothing is stored."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    return await _resume(update, context, t, shop)


async def _checklist(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                     shop: Shop, view: ClosureView) -> State:
    policy = deps(context).policy
    days = {Condition.NOTICE: policy.announcement_days,
            Condition.ORDERS: policy.last_order_days}
    lines = [t.gettext("<b>Step 3 · Closing conditions</b>"), _title(t, shop), ""]
    lines += [_condition(t, shop, c, days.get(c.condition, 0)) for c in view.conditions]
    lines += _how_to(t, view, days)
    lines += ["", t.gettext("Balance: {amount}").format(amount=t.money(view.snapshot.balance))]
    lines += _arrears(t, shop, view)
    rows: list[Row] = [((N_("Refresh checklist"), "check"),)]
    if view.can_sign:
        lines += ["", t.gettext("Every condition is met: you can sign the closure agreement.")]
        rows.append(((N_("Sign agreement"), "sign"),))
    else:
        lines += ["", t.gettext("Not every condition is met yet. Come back when they are, or "
                                "press Refresh checklist.")]
    rows.append(((N_("Cancel closing"), "cancel"),))
    await say(update, "\n".join(lines), _buttons(t, shop, *rows))
    return State.CHECKLIST


def _condition(t: Translator, shop: Shop, c: ConditionStatus, days: int) -> str:
    """One line: ✅/⏳, the condition, and what is missing or when it will be met."""
    line = ("✅ " if c.met else "⏳ ") + t.gettext(CONDITIONS[c.condition]).format(days=days)
    detail = "" if c.met else _missing(t, shop, c)
    return f"{line} — {detail}" if detail else line


HOW_TO = {
    Condition.MARKETING: N_("End every active campaign (promotions, coupons, flash sales) in "
                            "the seller centre."),
    Condition.CREATORS: N_("Unbind every creator account from the shop in the seller centre."),
    Condition.NOTICE: N_("Post a closure announcement on the shop's home page and keep it up "
                         "for {days} days; the days count from when it went up."),
    Condition.ORDERS: N_("Complete or close every open order; the checklist is met {days} days "
                         "after the last one finished."),
    Condition.COMMISSION: N_("Pay the affiliate commission you owe creators."),
    Condition.SETTLED: N_("Pay the platform invoices and any deposit arrears (a top-up pays "
                          "deposit arrears first)."),
}


def _how_to(t: Translator, view: ClosureView, days: dict[Condition, int]) -> list[str]:
    """What the seller does to meet each open condition. Time-based ones just wait; money
    owed while an offset is scheduled is explained with the arrears below instead."""
    offset = view.closure.arrears_due_at is not None
    steps = [t.gettext(HOW_TO[c.condition]).format(days=days.get(c.condition, 0))
             for c in view.conditions if not c.met and c.met_on is None
             and not (offset and c.condition in {Condition.COMMISSION, Condition.SETTLED})]
    if not steps:
        return []
    return ["", t.gettext("How to meet the open conditions:"), *[f"• {s}" for s in steps]]


def _missing(t: Translator, shop: Shop, c: ConditionStatus) -> str:
    if c.condition is Condition.MARKETING:
        return t.ngettext("{n} campaign still active", "{n} campaigns still active",
                          c.count).format(n=c.count)
    if c.condition is Condition.CREATORS:
        return t.ngettext("{n} creator still bound", "{n} creators still bound",
                          c.count).format(n=c.count)
    if c.condition is Condition.ORDERS and c.count:
        return t.ngettext("{n} order still open", "{n} orders still open",
                          c.count).format(n=c.count)
    if c.amount is not None and c.amount.is_positive:
        return t.gettext("{amount} owed").format(amount=t.money(c.amount))
    if c.met_on is not None:
        return t.gettext("met on {date}").format(date=t.date(c.met_on, shop.timezone))
    if c.condition is Condition.NOTICE:
        return t.gettext("not posted yet")
    return ""


def _arrears(t: Translator, shop: Shop, view: ClosureView) -> list[str]:
    """SPEC §7.4: both branches, with the date the offset runs."""
    if not view.arrears.is_positive:
        return []
    parts = ", ".join(f"{t.gettext(ARREARS_KINDS.get(k, k))} {t.money(v)}"
                      for k, v in sorted(view.snapshot.arrears.items()))
    lines = [t.gettext("<b>Arrears owed: {amount}</b> ({parts})").format(
        amount=t.money(view.arrears), parts=parts)]
    due = view.closure.arrears_due_at
    if due is None:
        return lines
    balance = view.snapshot.balance
    day, moment = t.date(due, shop.timezone), t.datetime(due, shop.timezone)
    lines.append(t.gettext("• Balance at least the arrears: they are deducted from the deposit "
                           "on {date}, then you continue closing.").format(date=day))
    short = view.topup_needed
    below = (t.gettext("• Balance below the arrears: top up at least {amount} before {time}; "
                       "otherwise the whole deposit is deducted, the closure fails and later "
                       "top-ups pay the remaining arrears first.") if short.is_positive else
             t.gettext("• Balance below the arrears: top up to at least {arrears} before "
                       "{time}; otherwise the whole deposit is deducted, the closure fails and "
                       "later top-ups pay the remaining arrears first."))
    lines.append(below.format(amount=t.money(short), arrears=t.money(view.arrears),
                              time=moment))
    status = (t.gettext("Your balance, {balance}, covers the arrears now.")
              if not short.is_positive else
              t.gettext("Your balance, {balance}, does not cover the arrears now."))
    return [*lines, status.format(balance=t.money(balance))]


# ---- step 5: the agreement ------------------------------------------------------------


@only_at(FLOW, "close.checklist")
@refusals
async def sign(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Sign agreement: show what the agreement says; ask to agree and sign."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    view = await _view(context, shop)
    if view is None or not view.can_sign:
        if view is not None and view.closure.stage is ClosureStage.VERIFIED:
            await say(update, explain(t, ClosureStepRefused("sign", "conditions_not_met")))
        return await _resume(update, context, t, shop)
    policy = deps(context).policy
    low, high = policy.refund_business_days
    await say(update, t.gettext(
        "<b>Step 5 · Closure agreement</b>\n{shop}\n\nBy signing you agree that:\n"
        "• the shop closes and this application can no longer be cancelled;\n"
        "• the whole balance, {amount}, is refunded to an account of {entity}, with no "
        "minimum;\n• the refund is paid out in {low}–{high} business days and the shop is "
        "closed once it is paid;\n• the shop can be reopened with the original account "
        "{months} months after closing.\nYour Telegram account and the time of signing are "
        "recorded."
    ).format(shop=_title(t, shop), amount=t.money(view.snapshot.balance),
             entity=escape(shop.entity_name), low=low, high=high,
             months=policy.reopen_months),
        _buttons(t, shop, ((N_("I agree and sign"), "agree"),),
                 ((N_("Cancel closing"), "cancel"),)))
    return State.AGREEMENT


@only_at(FLOW, "close.agreement")
@refusals
async def agree(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """I agree and sign: record who and when; then the refund (or the shop closes at once)."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    d, user = deps(context), update.effective_user
    assert user is not None
    try:
        signed = await sign_agreement(d.uow(), shop.shop_id, user.id, d.clock.now(), d.policy)
    except DepositError as err:
        await say(update, explain(t, err))
        return await _resume(update, context, t, shop)
    assert signed.signed_at is not None
    await say(update, t.gettext("Agreement signed by {name} (Telegram ID {user_id}) at {time}."
                                ).format(name=escape(user.full_name), user_id=signed.signed_by,
                                         time=t.datetime(signed.signed_at, shop.timezone)))
    if signed.stage is ClosureStage.CLOSED:
        await say(update, t.gettext("There is no balance to refund, so the shop is closed now."))
    return await _resume(update, context, t, await _fresh(context, shop))


async def _fresh(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> Shop:
    uow = deps(context).uow()
    async with uow:
        found = await uow.shops.get(shop.shop_id)
    return found or shop


# ---- step 6: the full refund ----------------------------------------------------------


async def _refund_resume(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                         shop: Shop, view: ClosureView, flow: dict[str, Any]) -> Step:
    step = flow.get("step")
    if step == "name" and flow.get("kind"):
        return await _ask_name(update, t, shop)
    if step == "account" and flow.get("name"):
        return await _ask_account(update, t, shop, str(flow["kind"]))
    if step == "confirm" and flow.get("account"):
        return await _summary(update, context, t, shop)
    kinds = deps(context).policy.withdrawal_destinations[shop.company_region]
    await say(update, "\n".join([
        t.gettext("<b>Step 6 · Full refund</b>"), _title(t, shop),
        t.gettext("Amount: {amount}, the whole balance. The {minimum} minimum of normal "
                  "withdrawals does not apply.").format(
            amount=t.money(view.snapshot.balance),
            minimum=t.money(minimum(shop.currency, deps(context).policy,
                                    WithdrawalKind.NORMAL))),
        t.gettext("Your company can receive it to: {allowed}.").format(
            allowed=", ".join(destination_name(t, k) for k in kinds))]))
    if len(kinds) == 1:
        flow["kind"], flow["step"] = kinds[0], "name"
        return await _ask_name(update, t, shop)
    flow["step"] = "destination"
    await say(update, t.gettext("Where should the refund go?"), InlineKeyboardMarkup(
        [[InlineKeyboardButton(destination_name(t, k),
                               callback_data=f"cl:dest:{k}:{shop_token(shop.shop_id)}")]
         for k in kinds]))
    return State.DESTINATION


@refusals
async def destination(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """A destination button: store the kind; ask for the account holder's name."""
    t, shop, args = await _pressed(update, context)
    if shop is None:
        return None
    kinds = deps(context).policy.withdrawal_destinations[shop.company_region]
    if not args or args[0] not in kinds:
        await say(update, t.gettext("Your company can withdraw only to: {allowed}.").format(
            allowed=", ".join(destination_name(t, k) for k in kinds)))
        return None
    flow = _flow(context, shop)
    flow["kind"], flow["step"] = args[0], "name"
    return await _ask_name(update, t, shop)


async def _ask_name(update: Update, t: Translator, shop: Shop) -> State:
    await say(update, t.gettext("Send the account holder's name. It must be your registered "
                                "entity, “{entity}”.").format(entity=escape(shop.entity_name)))
    return State.NAME


@refusals
async def name_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Check the holder is the registered entity, store it; ask for the account."""
    t, shop = await _shop(update, context)
    if shop is None:
        return END
    name = _text(update)[:200]
    try:
        check_account_name(shop, name)
    except DepositError as err:
        await say(update, explain(t, err))
        return State.NAME
    flow = _flow(context, shop)
    flow["name"], flow["step"] = name, "account"
    return await _ask_account(update, t, shop, str(flow.get("kind")))


async def _ask_account(update: Update, t: Translator, shop: Shop, kind: str) -> State:
    prompt = (t.gettext("Send the PayPal account (e-mail) of “{entity}”.") if kind == "paypal"
              else t.gettext("Send the bank name and account number of “{entity}”."))
    await say(update, prompt.format(entity=escape(shop.entity_name)))
    return State.ACCOUNT


@refusals
async def account_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Store the account; hold the whole balance and show the summary; ask to confirm."""
    t, shop = await _shop(update, context)
    if shop is None:
        return END
    account = _text(update)
    if not account or len(account) > MAX_TEXT:
        await say(update, t.gettext("Send the account in one line of at most 64 characters."))
        return State.ACCOUNT
    flow = _flow(context, shop)
    account = check_account(str(flow.get("kind")), account)
    flow["account"], flow["step"] = account, "confirm"
    return await _summary(update, context, t, shop)


async def _summary(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                   shop: Shop) -> Step:
    d, flow = deps(context), _flow(context, shop)
    held = await _refund_hold(context, shop)
    flow["wid"] = held.withdrawal_id
    kind = str(flow.get("kind"))
    first, last = payout_dates(held, today_in(shop, d.clock.now()).date(), d.policy)
    await say(update, "\n".join([
        t.gettext("<b>Check and confirm the refund</b>"),
        t.gettext("Amount: {amount}").format(amount=t.money(held.amount)),
        t.gettext("To: {kind}, {name}, {account}").format(
            kind=destination_name(t, kind), name=escape(str(flow.get("name"))),
            account=escape(str(flow.get("account")))),
        t.gettext("Paid out in: {currency}").format(
            currency=payout_currency(shop, kind, d.policy)),
        t.gettext("If you confirm now it is expected between {first} and {last}.").format(
            first=t.date(first), last=t.date(last)),
        t.gettext("The amount is held until {time}; confirm before then.").format(
            time=t.datetime(held.expires_at, shop.timezone))]),
        _buttons(t, shop, ((N_("Confirm refund"), "ok"),), ((N_("Change account"), "change"),)))
    return State.CONFIRM


async def _refund_hold(context: ContextTypes.DEFAULT_TYPE, shop: Shop) -> Withdrawal:
    """The refund's 2-hour hold: the one still open, else a new one on the whole balance."""
    d = deps(context)
    view = await _view(context, shop)
    for w in view.snapshot.holds if view else ():
        if w.kind is WithdrawalKind.REFUND and w.status is WithdrawalStatus.HELD:
            return w
    return await start_refund(d.uow(), shop.shop_id, d.clock.now(), d.policy, d.ids)


@refusals
async def change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Change account: forget the account details; ask for the destination again."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    flow = _flow(context, shop)
    for key in ("kind", "name", "account", "step"):
        flow.pop(key, None)
    return await _resume(update, context, t, shop)


@only_at(FLOW, "close.confirm", "close.submitted")
@refusals
async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Confirm refund: submit once (a second tap changes nothing); show the payout dates."""
    t, shop, _ = await _pressed(update, context)
    if shop is None:
        return None
    d, flow = deps(context), _flow(context, shop)
    if not flow.get("wid") or not flow.get("account"):
        return await _resume(update, context, t, shop)
    destination_ = destination_of(flow)
    try:
        await confirm_withdrawal(d.uow(), shop.shop_id, str(flow["wid"]), destination_,
                                 d.clock.now(), d.policy)
    except WithdrawalNotPending as err:
        if err.status != WithdrawalStatus.RELEASED.value:
            await say(update, explain(t, err))
            return await _resume(update, context, t, shop)
        return await _hold_again(update, context, t, shop)
    except HoldExpired:
        return await _hold_again(update, context, t, shop)
    except DepositError as err:
        await say(update, explain(t, err))
        return None
    flow["step"] = "submitted"
    return await _resume(update, context, t, shop)


async def _hold_again(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      shop: Shop) -> Step:
    """The hold lapsed (released or past its 2 hours): hold the balance again, ask again."""
    await say(update, t.gettext("The 2-hour hold ran out before you confirmed, so nothing was "
                                "submitted. The whole balance is held again; please check and "
                                "confirm."))
    return await _summary(update, context, t, shop)


async def _submitted(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                     shop: Shop, view: ClosureView) -> Step:
    d = deps(context)
    wid = view.closure.refund_withdrawal_id
    w = next((h for h in view.snapshot.holds if h.withdrawal_id == wid), None)
    if w is None or w.destination is None:
        await say(update, t.gettext("Your full refund was submitted. The shop closes once it "
                                    "is paid out."))
        return State.SUBMITTED
    first, last = payout_dates(w, today_in(shop, w.confirmed_at or d.clock.now()).date(),
                               d.policy)
    await say(update, "\n".join([
        t.gettext("<b>Full refund {ref} submitted</b>").format(ref=escape(w.withdrawal_id)),
        _title(t, shop),
        t.gettext("{amount} to {kind}, {name}, {account}, paid out in {currency}.").format(
            amount=t.money(w.amount), kind=destination_name(t, w.destination.kind),
            name=escape(w.destination.account_name), account=escape(w.destination.account),
            currency=w.payout_currency or shop.currency),
        t.gettext("Expected between {first} and {last}. The shop is closed once the refund "
                  "is paid out; you will get a message.").format(first=t.date(first),
                                                                  last=t.date(last))]))
    return State.SUBMITTED


# ---- cancel and reopen ----------------------------------------------------------------


@refusals
async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """/cancel or Cancel: withdraw the application before signing; after, explain why not."""
    if update.callback_query is not None:
        t, shop, _ = await _pressed(update, context)
        if shop is None:
            return None
    else:
        t, shop = await _shop(update, context)
        if shop is None:
            return END
    d = deps(context)
    view = await _view(context, shop)
    stage = view.closure.stage if view else None
    if stage in {ClosureStage.SIGNED, ClosureStage.REFUNDING}:
        await say(update, t.gettext("You signed the closure agreement, so closing can no "
                                    "longer be cancelled. The full refund continues: send "
                                    "/close to see where it stands."))
        return None
    drop_draft(context, FLOW)
    if stage in NOT_SIGNED:
        try:
            await cancel_closure(d.uow(), shop.shop_id, d.clock.now())
        except DepositError as err:
            await say(update, explain(t, err))
            return END
    await say(update, t.gettext("Closing cancelled. Your shop stays open and nothing was "
                                "changed."))
    return END


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """A closing button from an earlier step: say so, keep the step."""
    query = update.callback_query
    assert query is not None
    t = await translator_for(update, context)
    await query.answer(t.gettext("That step is over. Send /close to continue where you are."),
                       show_alert=True)
    return None


@refusals
async def reopen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """/reopen: reopen the closed current shop once 6 months have passed since closing."""
    t, shop = await _shop(update, context)
    if shop is None:
        return None
    if not await is_owner(update, context, shop):
        await refuse_staff(update, t)
        return None
    d = deps(context)
    await reopen_shop(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    await say(update, t.gettext("{shop} is open again with your original account. Send "
                                "/balance to see the deposit it needs.").format(
        shop=_title(t, shop)))
    return None


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


def build_close(persistent: bool = True) -> ConversationHandler:  # type: ignore[type-arg]
    """The /close conversation (register before the app's catch-all handlers)."""
    text = filters.TEXT & ~filters.COMMAND & ActiveFlow("close")

    def button(callback: Any, action: str) -> CallbackQueryHandler:  # type: ignore[type-arg]
        return CallbackQueryHandler(callback, pattern=rf"^cl:{action}:")

    return record_steps(FLOW, ConversationHandler(
        entry_points=[CommandHandler("close", close)],
        states={
            State.INTRO: [button(go, "go")],
            State.CODE: [MessageHandler(text, code_sent), button(new_code, "code")],
            State.REASON: [MessageHandler(text, reason_sent), button(new_code, "code")],
            State.CHECKLIST: [button(refresh, "check"), button(sign, "sign")],
            State.AGREEMENT: [button(agree, "agree"), button(refresh, "check")],
            State.DESTINATION: [button(destination, "dest")],
            State.NAME: [MessageHandler(text, name_sent), button(destination, "dest")],
            State.ACCOUNT: [MessageHandler(text, account_sent), button(change, "change")],
            State.CONFIRM: [button(confirm, "ok"), button(change, "change")],
            State.SUBMITTED: [button(confirm, "ok"), button(refresh, "check")],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=ActiveFlow("close")),
                   button(cancel, "cancel"),
                   CallbackQueryHandler(stale, pattern=r"^cl:")],
        name="close", persistent=persistent, per_message=False, allow_reentry=True,
    ))
