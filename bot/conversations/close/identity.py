"""Step 2 of /close: Continue opens the application; a one-time code and a reason
confirm the identity, then the checklist is shown."""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.checklist import checklist
from bot.conversations.close.common import (
    END,
    MAX_TEXT,
    State,
    Step,
    buttons,
    draft_of,
    pressed,
    refusals,
    shop_of,
    text_of,
    title,
    view_of,
)
from bot.conversations.flow import say
from bot.errors_text import explain
from bot.i18n import N_, Translator
from bot.render import MARKETS
from domain.closure import MAX_CODE_ATTEMPTS
from domain.closure_service import ClosureView, check_closure_code, start_closure, verify_identity
from domain.errors import ClosureStepRefused, DepositError, WrongVerificationCode
from domain.model import Shop
from domain.services import deliver_closure_code


@refusals
async def go(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Continue: open the application, send a one-time code and ask for it."""
    t, shop, _ = await pressed(update, context)
    if shop is None:
        return None
    d = deps(context)
    await start_closure(d.uow(), shop.shop_id, _user_id(update), d.clock.now())
    view = await view_of(context, shop)
    assert view is not None
    return await identity(update, context, t, shop, view, resend=True)


async def identity(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                   shop: Shop, view: ClosureView, resend: bool) -> Step:
    """Shop details and the code (a new one only when none is still usable)."""
    d, flow = deps(context), draft_of(context, shop)
    current, now = view.closure, d.clock.now()
    if flow.get("step") == "reason" and flow.get("code") and not resend:
        return await ask_reason(update, t)
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
        t.gettext("Shop: {shop}").format(shop=title(t, shop)),
        t.gettext("Registered entity: {entity}").format(entity=escape(shop.entity_name)),
        t.gettext("Market: {market} (deposit in {currency})").format(
            market=t.gettext(MARKETS.get(shop.market, shop.market)), currency=shop.currency),
        "",
        t.gettext("If these details are wrong, do not continue: contact support (/support) "
                  "and cancel closing."),
        "",
        _sent_line(t, flow.get("sent"), t.datetime(current.code_expires_at, shop.timezone))]),
        buttons(t, shop, ((N_("Send a new code"), "code"), (N_("Cancel closing"), "cancel"))))
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
    t, shop = await shop_of(update, context)
    if shop is None:
        return END
    flow, d, code = draft_of(context, shop), deps(context), text_of(update)[:MAX_TEXT]
    try:
        await check_closure_code(d.uow(), shop.shop_id, code, d.clock.now(), d.policy)
    except (WrongVerificationCode, ClosureStepRefused) as err:
        return await _code_refused(update, t, shop, flow, err)
    flow["code"] = code
    if flow.get("reason"):
        return await _verify(update, context, t, shop)
    flow["step"] = "reason"
    return await ask_reason(update, t)


async def ask_reason(update: Update, t: Translator) -> State:
    """The code was right: ask why the shop is closing."""
    await say(update, t.gettext("The code is right. Now tell us in a few words why you are "
                                "closing the shop."))
    return State.REASON


@refusals
async def reason_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Step:
    """Store the reason and verify code and reason; then show the checklist."""
    t, shop = await shop_of(update, context)
    if shop is None:
        return END
    draft_of(context, shop)["reason"] = text_of(update)[:500]
    return await _verify(update, context, t, shop)


async def _verify(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                  shop: Shop) -> Step:
    d, flow = deps(context), draft_of(context, shop)
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
    view = await view_of(context, shop)
    assert view is not None
    return await checklist(update, context, t, shop, view)


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
    await say(update, text, buttons(t, shop, ((N_("Send a new code"), "code"),
                                               (N_("Cancel closing"), "cancel"))))
    return State.CODE


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id
