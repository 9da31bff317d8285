"""Whether the update in hand committed anything, so a failure after the commit is reported as
what it is (done, see /balance) and never as "nothing was changed".

Every transaction of the storage layer calls `note()` right after its COMMIT (so this module
imports nothing of telegram). The list lives in a ContextVar that `start_update` (the first
handler of every update) replaces: PTB handles an
update's handlers and its error handlers in one task, so they all see the same list, while
jobs and HTTP requests (other tasks) never touch it.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

_commits: ContextVar[list[int] | None] = ContextVar("deposit_commits", default=None)
# The task handling the update in hand (None once its last handler ran): its transactions are
# small (one user's), so on a SQLite file they may run on the loop's thread (uow.py).
_handling: ContextVar[asyncio.Task[object] | None] = ContextVar("deposit_handling",
                                                               default=None)


def note() -> None:
    """A transaction of the current update committed."""
    found = _commits.get()
    if found is not None:
        found.append(1)


def committed() -> bool:
    """Whether the current update committed any transaction so far."""
    return bool(_commits.get())


def handling_update() -> bool:
    """Whether this code runs in the task of an update's handlers, before its last one (not
    in a job, an HTTP request, or a task the update started)."""
    task = _handling.get()
    return task is not None and task is asyncio.current_task()


def end_update() -> None:
    """The update's handlers are done (what runs next in this task is not the update's)."""
    _handling.set(None)


async def start_update(update: object, context: object) -> None:
    """Before any other handler: nothing of this update is committed yet."""
    _commits.set([])
    _handling.set(asyncio.current_task())
