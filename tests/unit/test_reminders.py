"""The reminder stages of SPEC §6 as moments: the newest due moment wins, once each."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.policy import load_policy
from domain.reminders import Candidate, Rules, Stage, due_reminder

T0 = datetime.fromisoformat("2026-11-01T10:00:00+08:00")
RULES = Rules.of(load_policy())


def short(since: datetime = T0, paid: bool = True, **kw: object) -> Candidate:
    return Candidate("S", T0 - timedelta(days=100), since, T0 if paid else None, **kw)  # type: ignore[arg-type]


def stage_at(c: Candidate, **after: float) -> Stage | None:
    due = due_reminder(c, T0 + timedelta(**after), RULES)
    return due.stage if due else None


def test_the_first_reminder_is_due_the_moment_the_shortfall_appears() -> None:
    assert stage_at(short(), seconds=0) is Stage.FIRST
    assert stage_at(short(), seconds=-1) is None


def test_a_repeat_is_due_every_three_days_with_its_own_key() -> None:
    keys = {due_reminder(short(), T0 + timedelta(days=d, hours=1), RULES).key  # type: ignore[union-attr]
            for d in (3, 4, 5, 6)}

    assert stage_at(short(), days=2, hours=23) is Stage.FIRST
    assert stage_at(short(), days=3) is Stage.REPEAT
    assert len(keys) == 2  # day 3 and day 6


def test_overdue_wins_over_the_repeat_that_falls_on_the_same_moment() -> None:
    assert stage_at(short(), days=30) is Stage.OVERDUE
    assert stage_at(short(), days=32) is Stage.OVERDUE
    assert stage_at(short(), days=33) is Stage.REPEAT


def test_after_downtime_only_the_newest_stage_is_due() -> None:
    due = due_reminder(short(), T0 + timedelta(days=40), RULES)

    assert due is not None and due.stage is Stage.REPEAT
    assert due.moment == int((T0 + timedelta(days=39)).timestamp())


def test_nothing_is_due_without_a_shortfall_for_a_paid_shop() -> None:
    assert stage_at(short(since=None), days=100) is None  # type: ignore[arg-type]


def test_a_never_paid_shop_is_warned_seven_days_before_clearing_then_cleared() -> None:
    opened = T0
    c = Candidate("S", opened, opened, None)

    assert stage_at(c, days=22, hours=23) is Stage.REPEAT
    assert stage_at(c, days=23) is Stage.CLEARING_WARNING
    assert stage_at(c, days=30) is Stage.CLEARED
    assert stage_at(c, days=31) is Stage.CLEARED


def test_closed_and_closing_shops_get_no_reminders() -> None:
    assert stage_at(short(closed=True), days=3) is None
    assert stage_at(short(closing=True), days=3) is None


def test_a_never_paid_shop_is_never_overdue_its_escalation_is_clearing() -> None:
    opened = T0
    late = Candidate("S", opened, opened + timedelta(hours=1), None)  # shortfall seen later

    assert stage_at(late, days=30, hours=1) is Stage.CLEARED
    assert stage_at(late, days=30, hours=2) is Stage.CLEARED
