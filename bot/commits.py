"""Whether the update in hand committed anything, so a failure after the commit is reported as
what it is (done, see /balance) and never as "nothing was changed".

Every transaction of the storage layer calls `note()` right after its COMMIT (so this module
imports nothing of telegram). The list lives in a ContextVar that `start_update` (the first
handler of every update) replaces: PTB handles an
update's handlers and its error handlers in one task, so they all see the same list, while
jobs and HTTP requests (other tasks) never touch it.
"""

from __future__ import annotations

from contextvars import ContextVar

_commits: ContextVar[list[int] | None] = ContextVar("deposit_commits", default=None)


def note() -> None:
    """A transaction of the current update committed."""
    found = _commits.get()
    if found is not None:
        found.append(1)


def committed() -> bool:
    """Whether the current update committed any transaction so far."""
    return bool(_commits.get())


async def start_update(update: object, context: object) -> None:
    """Before any other handler: nothing of this update is committed yet."""
    _commits.set([])
