"""Step 1 of /close: the steps and cautions (or why the last application failed), and
what a closed shop is told."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.common import END, FLOW, State, buttons, title
from bot.conversations.flow import drop_draft, say
from bot.i18n import N_, Translator
from domain.closure_service import ClosureView
from domain.model import Shop


async def intro(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                shop: Shop, flow: dict[str, Any]) -> State:
    """Step 1: the steps and cautions, with Continue and Cancel."""
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
        shop=title(t, shop), days=policy.arrears_offset_days, months=policy.reopen_months),
        buttons(t, shop, ((N_("Continue"), "go"), (N_("Cancel"), "cancel"))))
    return State.INTRO


async def failed(update: Update, t: Translator, shop: Shop, view: ClosureView,
                 flow: dict[str, Any]) -> State:
    """The last application failed (the deposit did not cover the arrears): start anew."""
    flow.clear()
    flow["shop"], flow["step"] = shop.shop_id, "intro"
    await say(update, t.gettext(
        "<b>Your last closing application failed.</b>\n{shop}\nThe deposit did not cover the "
        "arrears, so the whole deposit was deducted. Arrears still owed: {amount}. Every "
        "top-up pays them first. Once they are paid you can apply to close again.").format(
        shop=title(t, shop), amount=t.money(view.arrears)),
        buttons(t, shop, ((N_("Start a new application"), "go"),)))
    return State.INTRO


async def closed_shop(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Translator,
                      shop: Shop, view: ClosureView | None) -> int:
    """A closed shop: when it closed and from when it can be reopened."""
    drop_draft(context, FLOW)
    lines = [t.gettext("{shop} is closed.").format(shop=title(t, shop))]
    if shop.closed_at is not None:
        lines.append(t.gettext("Closed on {date}.").format(
            date=t.date(shop.closed_at, shop.timezone)))
    if view is not None and view.reopen_from is not None:
        lines.append(t.gettext("You can reopen it with the original account from {date}: "
                               "send /reopen then.").format(
            date=t.date(view.reopen_from, shop.timezone)))
    await say(update, "\n".join(lines))
    return END
