"""What the first read of one update found about its user, kept for that update's handlers.

bot/storage/users.py makes it (`Users.first_read`); handlers read it through `visit_of`
until anything is written; a write the first read cannot see coming (a ticket reopened,
bot/storage/support.py) forgets it. Its own module so that both may import it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from bot import commits
from domain.model import Shop


@dataclass(frozen=True)
class Visit:
    """What the first read of one update found about its user."""

    update: object  # the Update it belongs to (compared by identity)
    user_id: int
    languages: tuple[str | None, str | None]
    shops: list[Shop]
    chosen: str | None
    roles: dict[str, str]
    live_ticket: bool  # whether the user has a support ticket not yet resolved


_visit: ContextVar[Visit | None] = ContextVar("deposit_visit", default=None)


def forget_visit() -> None:
    """A write the first read cannot see coming (a ticket reopened): handlers read afresh."""
    _visit.set(None)


def visit_of(update: object, user_id: int) -> Visit | None:
    """The first read of this update, while nothing has been written since."""
    found = _visit.get()
    if (found is None or found.update is not update or found.user_id != user_id
            or commits.committed()):
        return None
    return found
