"""A tiny in-process counter registry rendered in the Prometheus text format.

prometheus_client would pull in a global registry and its own HTTP server; the bot needs a
handful of counters and a few gauges read from SQLite at scrape time, so a dict will do.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

# name -> help text; every counter is listed at 0 before its first increment.
COUNTERS: dict[str, str] = {
    "deposit_updates_handled_total": "Telegram updates handled by the application",
    "deposit_handler_errors_total": "Telegram updates whose handler raised",
    "deposit_updates_duplicate_total": "Telegram updates dropped as already handled (resent)",
    "deposit_pushes_sent_total": "Push messages delivered to Telegram",
    "deposit_pushes_failed_total": "Push messages given up after their last attempt",
    "deposit_pushes_undeliverable_total": "Push messages to chats that blocked the bot",
    "deposit_pushes_retrying_total": "Push attempts rescheduled (429 or network error)",
    "deposit_pushes_obsolete_total": "Reminders dropped because the shortfall was covered",
    "deposit_pushes_paid_total": "Reminder messages sent with paid broadcast (Telegram Stars)",
    "deposit_events_applied_total": "Platform events applied",
    "deposit_events_duplicate_total": "Platform events acknowledged as already applied",
    "deposit_events_conflict_total": "Events refused as a conflict (same id, other content)",
    "deposit_events_rejected_total": "Platform events rejected (nothing of them applied)",
    "deposit_http_refused_total": "HTTP requests refused (authentication, size, format)",
}
_lock = threading.Lock()
_values: dict[str, int] = dict.fromkeys(COUNTERS, 0)


def inc(name: str, n: int = 1) -> None:
    """Add n to a counter (an unknown name is registered on first use)."""
    with _lock:
        _values[name] = _values.get(name, 0) + n


def value(name: str) -> int:
    """A counter's current value."""
    with _lock:
        return _values.get(name, 0)


def reset() -> None:
    """Every counter back to 0 (tests)."""
    with _lock:
        for name in _values:
            _values[name] = 0


def render(gauges: Mapping[str, tuple[str, float]] | None = None) -> str:
    """Counters, then gauges given as name -> (help, value), in the Prometheus text format."""
    with _lock:
        counters = dict(_values)
    lines: list[str] = []
    for name, number in counters.items():
        lines += [f"# HELP {name} {COUNTERS.get(name, name)}", f"# TYPE {name} counter",
                  f"{name} {number}"]
    for name, (text, number) in (gauges or {}).items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {number:g}"]
    return "\n".join(lines) + "\n"
