"""/lookup SHOP for support agents: balance card, recent entries, closure checklist, tickets.

Read-only: nothing here writes to the ledger; the audit log records who looked.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.context import deps
from bot.conversations.close.checklist import condition_line
from bot.handlers.common import reply
from bot.handlers.history import entry_text, load
from bot.handlers.operator import find_shop, no_shop, title
from bot.i18n import N_, Translator
from bot.render import balance_card
from bot.roles import Act, Role, staff_command
from bot.storage.support import Tickets
from bot.support_text import STAGES, staff_line
from domain.closure import Condition, checklist
from domain.model import Shop
from domain.policy import Policy
from domain.services import get_snapshot
from domain.status import Snapshot

RECENT = 5
USAGE = N_("Usage: /lookup SHOP_ID — the shop's deposit card, recent entries, closure "
           "checklist and open tickets (read-only)")


@staff_command(Role.AGENT, "lookup")
async def lookup(update: Update, context: ContextTypes.DEFAULT_TYPE, act: Act) -> str:
    """Show an agent everything about one shop, changing nothing."""
    t, d = act.t, deps(context)
    if len(act.args) != 1:
        await reply(update, t.gettext(USAGE))
        return "usage"
    shop = await find_shop(d, act.args[0])
    if shop is None:
        return await no_shop(update, t, act.args[0])
    snap = await get_snapshot(d.uow(), shop.shop_id, d.clock.now(), d.policy)
    await reply(update, balance_card(snap, t))
    ledger = await load(context, shop, "all")
    entries = [entry_text(t, row, shop.timezone) for row in ledger.rows[:RECENT]]
    recent = ([t.gettext("<b>Recent entries</b>"), "\n\n".join(entries)] if entries else
              [t.gettext("No ledger entries yet.")])
    tickets = await Tickets(d.db).live(shop.shop_id)
    open_tickets = ([t.gettext("<b>Open tickets</b>")] + [staff_line(t, x) for x in tickets]
                    if tickets else [t.gettext("No open tickets for this shop.")])
    await reply(update, "\n".join([f"<b>{title(t, shop)}</b>", *recent, "",
                                   *closure_lines(t, shop, snap, d.policy), "",
                                   *open_tickets]))
    return "shown"


def closure_lines(t: Translator, shop: Shop, snap: Snapshot, policy: Policy) -> list[str]:
    """Where the closure stands and every condition of SPEC §7 step 3 as of now."""
    closure = snap.facts.closure
    stage = (t.gettext(STAGES.get(closure.stage.value, closure.stage.value))
             if closure is not None else t.gettext("not started"))
    days = {Condition.NOTICE: policy.announcement_days, Condition.ORDERS: policy.last_order_days}
    # the same lines the seller reads in /close, so agent and seller see one checklist
    return [t.gettext("<b>Closure checklist</b> (closing: {stage})").format(stage=stage)] + [
        condition_line(t, shop, c, days.get(c.condition, 0))
        for c in checklist(snap.facts, snap.now, policy)]
