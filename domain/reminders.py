"""Shortfall reminders of SPEC §6: which stage is due, decided for every shop at once.

Each stage has a moment: the first reminder when the shortfall appears, a repeat every
`reminder_repeat` after it, the overdue escalation `overdue_after` after it (only for a shop
that has paid at some time), and for a shop never paid a clearing warning before
`clearing_after` and the clearing notice at it, which is its escalation instead. At any
time the stage whose moment is the latest one not after now is due; its dedup key names that
moment, so each moment is pushed once, and a scanner that was down for a week sends only the
newest stage instead of a burst. Nothing is due once the shortfall is covered.

`due_reminder` is the rule for one shop; the storage adapter decides the same for all shops
in one SQL statement, and a property test holds the two equal. The use cases that queue
reminders (`scan`, `remind_now`) are in domain/reminder_service.py: these rules sit below
the ports and the services, which both read them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.model import ShopStatus
from domain.policy import Policy
from domain.status import Restriction, Snapshot

KIND = "reminder"
# Ties between moments go to the more serious stage.
PRIORITY = ("first", "repeat", "overdue", "clearing_warning", "cleared")
# A closure pauses reminders once the seller is past identity (checklist, signed, refund):
# one left at its first step is no reason to stop telling a short shop (issue #14.3).
PAUSING_STAGES = ("verified", "signed", "refunding")


class Stage(enum.StrEnum):
    FIRST = "first"
    REPEAT = "repeat"
    OVERDUE = "overdue"
    CLEARING_WARNING = "clearing_warning"
    CLEARED = "cleared"
    MANUAL = "manual"  # an operator's /remind


@dataclass(frozen=True)
class Rules:
    """The reminder periods, in whole seconds (the scanner's SQL works in epoch seconds)."""

    repeat: int
    overdue: int
    clearing: int
    clearing_warning: int

    @classmethod
    def of(cls, policy: Policy) -> Rules:
        """The periods the policy sets."""
        return cls(_seconds(policy.reminder_repeat), _seconds(policy.overdue_after),
                   _seconds(policy.clearing_after), _seconds(policy.clearing_warning))


@dataclass(frozen=True)
class Candidate:
    """What the scanner reads of one shop."""

    shop_id: str
    opened_at: datetime
    shortfall_since: datetime | None
    first_paid_at: datetime | None
    closed: bool = False
    closing: bool = False  # a closure past its first step (PAUSING_STAGES): no nagging


@dataclass(frozen=True)
class Due:
    """One reminder to queue."""

    shop_id: str
    stage: Stage
    moment: int  # epoch seconds

    @property
    def key(self) -> str:
        """The outbox dedup key: one push per shop, stage and moment."""
        return f"{KIND}:{self.shop_id}:{self.stage.value}:{self.moment}"


def epoch(moment: datetime) -> int:
    """Whole epoch seconds, as SQLite's unixepoch() gives them."""
    return int(moment.astimezone(UTC).timestamp())


def _seconds(period: timedelta) -> int:
    return int(period.total_seconds())


def moments(c: Candidate, now: int, rules: Rules) -> list[tuple[int, Stage]]:
    """Every stage whose moment has come, with that moment."""
    found: list[tuple[int, Stage]] = []
    if c.shortfall_since is not None:
        since = epoch(c.shortfall_since)
        if now >= since:
            found.append((since, Stage.FIRST))
            cycles = (now - since) // rules.repeat
            repeat = since + cycles * rules.repeat
            # For a shop never paid the clearing notice is the last word: no repeat after it.
            cleared_on = epoch(c.opened_at) + rules.clearing
            if cycles >= 1 and (c.first_paid_at is not None or repeat < cleared_on):
                found.append((repeat, Stage.REPEAT))
            if now >= since + rules.overdue and c.first_paid_at is not None:
                # a shop never paid escalates to clearing instead (issue #14.13)
                found.append((since + rules.overdue, Stage.OVERDUE))
    if c.first_paid_at is None:
        opened = epoch(c.opened_at)
        warn = opened + rules.clearing - rules.clearing_warning
        if rules.clearing_warning > 0 and opened <= warn <= now:
            found.append((warn, Stage.CLEARING_WARNING))
        if now >= opened + rules.clearing:
            found.append((opened + rules.clearing, Stage.CLEARED))
    return found


def due_reminder(c: Candidate, now: datetime, rules: Rules) -> Due | None:
    """The stage whose moment is the latest one not after now, or None."""
    if c.closed or c.closing:
        return None
    found = moments(c, epoch(now), rules)
    if not found:
        return None
    moment, stage = max(found, key=lambda m: (m[0], PRIORITY.index(m[1].value)))
    return Due(c.shop_id, stage, moment)


def still_due(stage: str, snap: Snapshot) -> bool:
    """At send time: a reminder whose cause has gone (paid, covered, closed) is not sent."""
    shop = snap.facts.shop
    if shop.status is ShopStatus.CLOSED or snap.restriction is Restriction.CLOSED:
        return False
    if stage in {Stage.CLEARING_WARNING, Stage.CLEARED}:
        return shop.first_paid_at is None
    return snap.shortfall.is_positive
